// Package testtool holds the one rule for tests that need an outside tool
// (Saxon-HE, xmllint, chromium): under CI=true a missing tool fails the
// test, because CI installs every tool (.ci/run) and a skip there would pass
// what was never checked; elsewhere the test is skipped with what to install.
package testtool

import (
	"os"
	"testing"
)

// Require stops t when err says the tool is missing: t.Fatal under
// CI=true, t.Skip otherwise. A nil err lets the test go on.
func Require(t testing.TB, tool string, err error) {
	t.Helper()
	if err == nil {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true and %s is missing: %v", tool, err)
		return
	}
	t.Skipf("%s is not installed: %v", tool, err)
}
