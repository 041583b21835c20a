package wsdl

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestGeneratedCodeIsCurrent regenerates every adapter's SOAP package with
// the pinned gowsdl and compares it byte for byte with the committed file:
// the committed code is what `go generate ./...` makes, untouched.
func TestGeneratedCodeIsCurrent(t *testing.T) {
	for _, svc := range Services {
		t.Run(svc, func(t *testing.T) {
			dir := t.TempDir()
			pkg := svc + "soap"
			cmd := exec.Command("go", "tool", "gowsdl", "-d", dir, "-p", pkg, "-o", svc+".gen.go", filepath.Join(svc, svc+".wsdl"))
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("gowsdl: %v\n%s", err, out)
			}
			got, err := os.ReadFile(filepath.Join(dir, pkg, svc+".gen.go"))
			if err != nil {
				t.Fatal(err)
			}
			committed := filepath.Join("..", "adapters", svc, pkg, svc+".gen.go")
			want, err := os.ReadFile(committed)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s is not what gowsdl generates from %s.wsdl: run go generate ./adapters/%s", committed, svc, svc)
			}
		})
	}
}

// TestSchemasCompile makes sure every XSD compiles and every service has
// the common fault shape: a ServiceFault with a code and a message.
func TestSchemasCompile(t *testing.T) {
	for _, svc := range Services {
		fault := `<ServiceFault xmlns="urn:emdhub:` + svc + `:v1"><Code>INTERNAL_ERROR</Code><Message>x</Message></ServiceFault>`
		cmd := exec.Command("xmllint", "--noout", "--nonet", "--schema", filepath.Join(svc, svc+".xsd"), "-")
		cmd.Stdin = strings.NewReader(fault)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%s.xsd: %v\n%s", svc, err, out)
		}
	}
}

// TestAddressIsTheServedPath: each WSDL's soap:address is the path the
// simulators (and `hub sim`, on its default port) serve the service on, so
// a client built from the WSDL alone reaches it.
func TestAddressIsTheServedPath(t *testing.T) {
	ports := map[string]string{"mse": "9101", "zags": "9102", "epgu": "9103", "provider": "9104", "policy": "9105"}
	for _, svc := range Services {
		b, err := FS.ReadFile(svc + "/" + svc + ".wsdl")
		if err != nil {
			t.Fatal(err)
		}
		want := `<soap:address location="http://127.0.0.1:` + ports[svc] + `/soap"/>`
		if strings.Count(string(b), "<soap:address ") != 1 || !strings.Contains(string(b), want) {
			t.Errorf("%s.wsdl: want exactly one %s", svc, want)
		}
	}
}
