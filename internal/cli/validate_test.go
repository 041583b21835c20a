package cli

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/testdb"
)

// validate runs `hub validate args…` and returns its exit status and output.
func validate(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := Run(context.Background(), append([]string{"validate"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

func writeDoc(t *testing.T, name string, x []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, x, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

const (
	confCodeSystem = `codeSystem="1.2.643.5.1.13.13.99.2.285"`
	confPath       = "/Q{urn:hl7-org:v3}ClinicalDocument[1]/Q{urn:hl7-org:v3}confidentialityCode[1]"
)

// TestValidate: `hub validate` says what the door would of a document
// without a database: a generated document of each kind with a schematron
// passes (exit 0, the official rules counted, the kind found from the
// document); a wrong confidentiality code system fails rule У1-16 of the
// official schematron at its location, and a code absent from its book fails
// level 2 with INVALID_ELEMENT_VALUE_CODE (exit 1, one line per problem);
// with both, both stages are listed, the door's answer (ФЛК level 1) first;
// usage and I/O errors are exit 2.
func TestValidate(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	org := semdgen.NewOrg(77, 5)
	docs := map[string][]byte{}
	for _, kind := range []string{"121", "58", "59", "76"} {
		d := semdgen.MustBuild(semdgen.Options{Kind: kind, Org: org, Rand: rand.New(rand.NewPCG(3, 0))})
		docs[kind] = d.XML
		code, out, errOut := validate(t, writeDoc(t, kind+".xml", d.XML))
		if code != 0 || !strings.HasPrefix(out, "OK: "+kind+", ") || !strings.Contains(out, " rules checked (official schematron); level 2: ") {
			t.Errorf("%s: exit %d\n%s%s", kind, code, out, errOut)
		}
		if !strings.Contains(errOut, "DATABASE_URL is unset") {
			t.Errorf("%s: the skipped organisation check is not said: %s", kind, errOut)
		}
		// The books the reference set lacks are said, not passed: 121 names
		// НСИ 99.2.991, 58 and 59 name 1489; 76 names none.
		unheld := map[string]string{"121": "1.2.643.5.1.13.13.99.2.991", "58": "1.2.643.5.1.13.13.11.1489", "59": "1.2.643.5.1.13.13.11.1489"}[kind]
		warning := "WARNING DICTIONARY_NOT_CHECKED " + unheld + ": НСИ " + unheld
		if unheld != "" && !strings.Contains(out, warning) || unheld == "" && strings.Contains(out, "WARNING") {
			t.Errorf("%s: warnings:\n%s", kind, out)
		}
	}
	// A displayName that is not the book's: INVALID_ELEMENT_VALUE_NAME naming the book, code and expected name.
	badName := regexp.MustCompile(`(administrativeGenderCode code="2"[^>]*displayName=)"Женский"`).ReplaceAll(docs["121"], []byte(`$1"Ж"`))
	badName = regexp.MustCompile(`(administrativeGenderCode code="1"[^>]*displayName=)"Мужской"`).ReplaceAll(badName, []byte(`$1"М"`))
	if code, out, _ := validate(t, writeDoc(t, "name.xml", badName)); code != 1 ||
		!strings.Contains(out, "the door answers 422 INVALID_ELEMENT_VALUE_NAME") || !strings.Contains(out, "/administrativeGenderCode[1]/@displayName: НСИ 1.2.643.5.1.13.13.11.1040 «Пол пациента», version 2.1: code") {
		t.Errorf("wrong displayName: exit %d\n%s", code, out)
	}

	badSystem := bytes.Replace(docs["121"], []byte(confCodeSystem), []byte(`codeSystem="1.2.643.5.1.13.13.99.2.999"`), 1)
	badCode := bytes.Replace(docs["121"], []byte(`<confidentialityCode code="N"`), []byte(`<confidentialityCode code="X"`), 1)
	if bytes.Equal(badSystem, docs["121"]) || bytes.Equal(badCode, docs["121"]) {
		t.Fatal("the generated 121 has no confidentiality code N of НСИ 285 to break")
	}
	both := regexp.MustCompile(`administrativeGenderCode code="[12]"`).ReplaceAll(badSystem, []byte(`administrativeGenderCode code="9"`))
	flkLine := "FLK_FAILED У1-16 " + confPath + ": У1-16. Элемент ClinicalDocument/confidentialityCode должен иметь значение атрибута @codeSystem"
	codeLine := `INVALID_ELEMENT_VALUE_CODE - /ClinicalDocument/confidentialityCode[1]/@code: НСИ 1.2.643.5.1.13.13.99.2.285 «Уровень конфиденциальности медицинского документа», version 1.2, has no code "X"`
	genderLine := `INVALID_ELEMENT_VALUE_CODE - /ClinicalDocument/recordTarget[1]/patientRole[1]/patient[1]/administrativeGenderCode[1]/@code: НСИ 1.2.643.5.1.13.13.11.1040 «Пол пациента», version 2.1, has no code "9"`
	for _, tc := range []struct {
		name       string
		x          []byte
		first      string
		want, deny []string
	}{
		{"wrong code system", badSystem, "REFUSED: kind 121: the door answers 422 FLK_FAILED", []string{flkLine}, []string{"INVALID_ELEMENT_VALUE_CODE"}},
		{"code not in its book", badCode, "REFUSED: kind 121: the door answers 422 INVALID_ELEMENT_VALUE_CODE", []string{codeLine}, []string{"FLK_FAILED"}},
		{"both", both, "REFUSED: kind 121: the door answers 422 FLK_FAILED", []string{flkLine, genderLine}, nil},
	} {
		code, out, errOut := validate(t, writeDoc(t, "bad.xml", tc.x))
		lines := strings.Split(out, "\n")
		if code != 1 || lines[0] != tc.first {
			t.Errorf("%s: exit %d\n%s%s", tc.name, code, out, errOut)
		}
		for _, w := range tc.want {
			found := false
			for _, l := range lines {
				found = found || strings.HasPrefix(l, w)
			}
			if !found {
				t.Errorf("%s: no line %q in\n%s", tc.name, w, out)
			}
		}
		for _, d := range tc.deny {
			if strings.Contains(out, d) {
				t.Errorf("%s: unexpected %s in\n%s", tc.name, d, out)
			}
		}
	}

	// -kind overrides the kind read from the document: a 121 declared as 58
	// is refused by the header checks, as at the door.
	if code, out, _ := validate(t, "-kind", "58", writeDoc(t, "121.xml", docs["121"])); code != 1 || !strings.Contains(out, "the door answers 422 ATTRIBUTE_MISMATCH") {
		t.Errorf("-kind 58 over a 121: exit %d\n%s", code, out)
	}
	// An XML that is not well-formed is the door's 400.
	if code, out, _ := validate(t, writeDoc(t, "broken.xml", []byte("<ClinicalDocument"))); code != 1 || !strings.Contains(out, "the door answers 400 INVALID_CONTENT") {
		t.Errorf("broken XML: exit %d\n%s", code, out)
	}

	// A settings file that does not parse is a usage error, as it stops the hub at start.
	badSettings := writeDoc(t, "settings.json", []byte(`[{"oid": "1.2.643.5.1.13.13.11.1040", "mode": "skip"`))
	t.Setenv("HUB_NSI_SETTINGS", badSettings)
	if code, out, errOut := validate(t, writeDoc(t, "121.xml", docs["121"])); code != 2 || !strings.Contains(errOut, "HUB_NSI_SETTINGS") {
		t.Errorf("bad HUB_NSI_SETTINGS: exit %d\n%s%s", code, out, errOut)
	}
	// A skip setting makes the book a warning instead of a check.
	skip := writeDoc(t, "skip.json", []byte(`[{"oid": "1.2.643.5.1.13.13.11.1040", "mode": "skip"}]`))
	t.Setenv("HUB_NSI_SETTINGS", skip)
	if code, out, _ := validate(t, writeDoc(t, "name.xml", badName)); code != 0 || !strings.Contains(out, "WARNING DICTIONARY_NOT_CHECKED 1.2.643.5.1.13.13.11.1040: ") || !strings.Contains(out, "its setting is skip") {
		t.Errorf("skip setting: exit %d\n%s", code, out)
	}
	t.Setenv("HUB_NSI_SETTINGS", "")

	brokenSch := t.TempDir()
	if err := os.WriteFile(filepath.Join(brokenSch, "121.sch"), []byte("<schema"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{}, {"a.xml", "b.xml"}, {filepath.Join(t.TempDir(), "missing.xml")}, {"-nope", "x.xml"},
		{"-schematron-dir", brokenSch, writeDoc(t, "121.xml", docs["121"])}} {
		if code, out, errOut := validate(t, args...); code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s%s", args, code, out, errOut)
		}
	}
}

// TestValidateOrganisations: with DATABASE_URL the organisation check of
// level 2 runs against the hub's register: a document from an organisation
// the hub does not know is refused with ORG_NOT_FOUND_IN_FRMO, and passes
// once the organisation is registered.
func TestValidateOrganisations(t *testing.T) {
	t.Setenv("DATABASE_URL", testdb.URL(t))
	org := semdgen.NewOrg(50, 9)
	d := semdgen.MustBuild(semdgen.Options{Kind: "58", Org: org, Rand: rand.New(rand.NewPCG(4, 0))})
	doc := writeDoc(t, "58.xml", d.XML)
	code, out, errOut := validate(t, doc)
	if code != 1 || !strings.Contains(out, "the door answers 422 ORG_NOT_FOUND_IN_FRMO") || !strings.Contains(out, org.OID) ||
		strings.Contains(errOut, "DATABASE_URL is unset") {
		t.Fatalf("unregistered organisation: exit %d\n%s%s", code, out, errOut)
	}
	run(t, "register-system", "-org-oid", org.OID, "-org-name", org.Name, "-system", "МИС")
	if code, out, errOut := validate(t, doc); code != 0 || !strings.HasPrefix(out, "OK: 58, ") {
		t.Fatalf("registered organisation: exit %d\n%s%s", code, out, errOut)
	}
}

// TestValidateSignatures: with -doctor-sig and -org-sig the signatures are
// checked as at the door, after the document's own checks: the ones `hub
// generate -sign` wrote pass under its CA; an organisation's signature over
// another document is refused with the door's code for that signature; a
// signature with no CA to check it against is a usage error.
func TestValidateSignatures(t *testing.T) {
	t.Setenv("DATABASE_URL", "")
	t.Setenv("HUB_TRUSTED_CA_DIR", "")
	dir := t.TempDir()
	run(t, "generate", "-kind", "59", "-n", "2", "-seed", "5", "-out", dir, "-sign")
	name := func(i, suffix string) string { return filepath.Join(dir, "59-"+i+suffix) }
	code, out, errOut := validate(t, "-doctor-sig", name("1", ".doctor.p7s"), "-org-sig", name("1", ".org.p7s"), "-ca-dir", dir, name("1", ".xml"))
	if code != 0 || !strings.HasPrefix(out, "OK: 59, ") || !strings.Contains(out, "OK: 2 signature(s) verified as at the door") {
		t.Errorf("signed document: exit %d\n%s%s", code, out, errOut)
	}
	code, out, errOut = validate(t, "-doctor-sig", name("1", ".doctor.p7s"), "-org-sig", name("2", ".org.p7s"), "-ca-dir", dir, name("1", ".xml"))
	if code != 1 || !strings.HasPrefix(out, "REFUSED: kind 59: the door answers 422 INCONSISTENT_DIGESTS\n") ||
		!strings.Contains(out, "\nINCONSISTENT_DIGESTS - signatures[1] (organization): ") {
		t.Errorf("another document's signature: exit %d\n%s%s", code, out, errOut)
	}
	if code, out, errOut := validate(t, "-doctor-sig", name("1", ".doctor.p7s"), name("1", ".xml")); code != 2 {
		t.Errorf("no CA: exit %d\n%s%s", code, out, errOut)
	}
}
