package testpki_test

import (
	"go/parser"
	"go/token"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServingPathHasNoTestPKI: no package on the hub's serving path
// depends, directly or not, on the test PKI (go list -deps, test files
// excluded): the hub verifies signatures, it never makes them or issues
// certificates.
func TestServingPathHasNoTestPKI(t *testing.T) {
	serving := []string{"api", "intake", "store", "signature"}
	args := []string{"list", "-deps", "-f", "{{.ImportPath}}", "github.com/emdhub/hub/workflow"}
	for _, p := range serving {
		args = append(args, "github.com/emdhub/hub/internal/"+p)
	}
	out, err := exec.Command("go", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 20 {
		t.Fatalf("go list listed only %d packages: %v", len(deps), deps)
	}
	for _, d := range deps {
		if d == "github.com/emdhub/hub/internal/testpki" || d == "github.com/emdhub/hub/internal/semdgen" {
			t.Errorf("the serving path (workflow, %s) depends on %s", strings.Join(serving, ", "), d)
		}
	}
}

// TestSignatureOnlyVerifies: the signature package (on the serving path)
// declares none of the test PKI's makers any more.
func TestSignatureOnlyVerifies(t *testing.T) {
	makers := map[string]bool{"Sign": true, "SignWithoutAttributes": true, "Issue": true, "IssueCRL": true, "ParsePrivateKey": true, "Template": true}
	files, err := filepath.Glob("../signature/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no signature sources: %v", err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(token.NewFileSet(), f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for name := range file.Scope.Objects {
			if makers[name] {
				t.Errorf("%s declares %s: test-only crypto belongs in internal/testpki", f, name)
			}
		}
	}
}
