package cli

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/semdgen"
)

// TestValidateWithSchematronFile: `hub validate -schematron FILE.sch` checks
// the document against that file instead of the kind's official one: its
// failed rule is listed (exit 1), a file it passes gives OK with that file's
// rule count (exit 0), and a file that does not compile is a usage error
// naming file and line (exit 2).
func TestValidateWithSchematronFile(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	t.Setenv("HUB_NSI_CHECK", "false")
	d := semdgen.MustBuild(semdgen.Options{Kind: "121", Org: semdgen.NewOrg(77, 5), Rand: rand.New(rand.NewPCG(3, 0))})
	doc := writeDoc(t, "121.xml", d.XML)
	sch := func(body string) string {
		p := filepath.Join(t.TempDir(), "my.sch")
		s := `<schema xmlns="http://purl.oclc.org/dsdl/schematron" queryBinding="xslt2">
<pattern><rule context="ClinicalDocument">` + body + `</rule></pattern></schema>`
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	code, out, errOut := validate(t, "-schematron", sch(`<assert test="count(title)=2">X1-1. Два заголовка.</assert>`), doc)
	if code != 1 || !strings.Contains(out, "FLK_FAILED X1-1 /Q{urn:hl7-org:v3}ClinicalDocument[1]: X1-1. Два заголовка.") {
		t.Errorf("failing file: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = validate(t, "-schematron", sch(`<assert test="count(title)=1">X1-1.</assert><assert test="substring(title, 1, 0) = ''">X1-2.</assert>`), doc)
	if code != 0 || !strings.HasPrefix(out, "OK: 121, official XSD valid, 2 rules checked") {
		t.Errorf("passing file: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = validate(t, "-schematron", sch("\n"+`<assert test="for $x in title return 1">X</assert>`), doc)
	if code != 2 || !strings.Contains(errOut, "my.sch") || !strings.Contains(errOut, ":3: rule 1") {
		t.Errorf("broken file: exit %d\n%s%s", code, out, errOut)
	}
}
