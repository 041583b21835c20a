package store_test

import (
	"os/exec"
	"testing"
)

// TestGeneratedCodeIsCurrent runs the pinned sqlc (go tool) over
// queries/*.sql and the migrations and fails if the committed dbsqlc code
// differs from what it generates: a query edited without `go generate
// ./internal/store/`, or a migration that changes a queried table.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	out, err := exec.Command("go", "tool", "sqlc", "diff", "-f", "../../sqlc.yaml").CombinedOutput()
	if err != nil {
		t.Fatalf("internal/store/dbsqlc is not what sqlc generates: run go generate ./internal/store/\n%s\n%v", out, err)
	}
}
