// Package soaptest holds test helpers for the SOAP contracts: golden files
// validated against the service's XSD with xmllint (Debian's libxml2-utils;
// .ci/run installs it).
package soaptest

import (
	"bytes"
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Golden marshals payload as the generated code puts it on the wire, checks
// that it validates against xsd, and compares its indented form with
// testdata/<name>.xml (UPDATE_GOLDEN=1 rewrites the file).
func Golden(t *testing.T, name string, payload any, xsd string) {
	t.Helper()
	wire, err := xml.Marshal(payload)
	if err != nil {
		t.Fatalf("marshal %s: %v", name, err)
	}
	Validate(t, name+" (wire form)", wire, xsd)
	pretty, err := xml.MarshalIndent(payload, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	pretty = append(pretty, '\n')
	path := filepath.Join("testdata", name+".xml")
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, pretty, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run with UPDATE_GOLDEN=1 to create it, then review it)", path, err)
	}
	if !bytes.Equal(pretty, want) {
		t.Fatalf("%s differs from %s:\n--- got\n%s\n--- want\n%s", name, path, pretty, want)
	}
	Validate(t, path, want, xsd)
}

// Validate runs xmllint --schema on doc.
func Validate(t *testing.T, what string, doc []byte, xsd string) {
	t.Helper()
	bin, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatalf("xmllint is needed to validate against the XSD (apt-get install libxml2-utils): %v", err)
	}
	cmd := exec.Command(bin, "--noout", "--nonet", "--schema", xsd, "-")
	cmd.Stdin = bytes.NewReader(doc)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s does not validate against %s: %v\n%s\n%s", what, xsd, err, out, doc)
	}
}
