package cli

import (
	"bytes"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/cdaxsd"
	"github.com/emdhub/hub/internal/semdgen"
)

// TestValidateXSD: `hub validate` runs the kind's official XSD before the
// schematron, as the door does: a generated 121 passes it ("official XSD valid"); an
// unknown element is refused with XSD_INVALID first, one line per error
// with line:column and path; `-xsd FILE.xsd` checks against that schema
// instead (76's, which has no extension point for the ОГРН a 121 carries);
// a schema that is not there is a usage error (exit 2).
func TestValidateXSD(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	d := semdgen.MustBuild(semdgen.Options{Kind: "121", Org: semdgen.NewOrg(77, 5), Rand: rand.New(rand.NewPCG(4, 0))})
	code, out, errOut := validate(t, "-kind", "121", writeDoc(t, "ok.xml", d.XML))
	if code != 0 || !strings.HasPrefix(out, "OK: 121, official XSD valid, ") {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}

	bad := bytes.Replace(d.XML, []byte("<title>"), []byte("<nickname/><title>"), 1)
	line := bytes.Count(bad[:bytes.Index(bad, []byte("<nickname/>"))], []byte("\n")) + 1
	code, out, _ = validate(t, "-kind", "121", writeDoc(t, "bad.xml", bad))
	want := "XSD_INVALID " + strconv.Itoa(line) + ":"
	if code != 1 || !strings.HasPrefix(out, "REFUSED: kind 121: the door answers 422 XSD_INVALID\n") ||
		!strings.Contains(out, want) || !strings.Contains(out, " /ClinicalDocument/nickname: Element '{urn:hl7-org:v3}nickname': This element is not expected.") {
		t.Fatalf("exit %d, want a line starting %q:\n%s", code, want, out)
	}

	dir := t.TempDir()
	sub, _ := fs.Sub(cdaxsd.Bundled, "xsd/76")
	if err := os.CopyFS(dir, sub); err != nil {
		t.Fatal(err)
	}
	code, out, _ = validate(t, "-kind", "121", "-xsd", filepath.Join(dir, "CDA.xsd"), writeDoc(t, "ok.xml", d.XML))
	if code != 1 || !strings.Contains(out, "XSD_INVALID") || !strings.Contains(out, "identity}Props': This element is not expected") {
		t.Fatalf("-xsd of 76 over a 121: exit %d\n%s", code, out)
	}
	if code, _, errOut := validate(t, "-xsd", filepath.Join(dir, "nope.xsd"), writeDoc(t, "ok.xml", d.XML)); code != 2 {
		t.Fatalf("missing schema: exit %d %s", code, errOut)
	}
}
