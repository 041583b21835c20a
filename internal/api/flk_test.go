package api_test

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/semdgen"
)

// TestFLKAtTheDoor: over HTTP, a document of each kind with an official
// schematron that breaks exactly one official rule is refused with 422
// FLK_FAILED naming that rule — its number, the location XPath and the rule's
// own Russian text — and nothing is stored, though it is well signed and its
// header passes the hub's own checks; the same document unbroken is accepted.
// The ФЛК comes before the signatures: signatures over other bytes get the
// same FLK_FAILED, not a signature refusal.
func TestFLKAtTheDoor(t *testing.T) {
	b := setupEnv(t, nil)
	b.recordOGRNs() // 76 carries its organisation's ОГРН nowhere
	const q = "/Q{urn:hl7-org:v3}"
	tests := []struct {
		kind   string
		mutate func(string) string
		rule   string
		path   string // the location, fn:path() as the schematron engine gives it
		text   string // the head of the rule's text
	}{
		{"121", func(x string) string {
			return strings.Replace(x, `codeSystem="1.2.643.5.1.13.13.99.2.285"`, `codeSystem="1.2.643.5.1.13.13.99.2.999"`, 1)
		}, "У1-16", q + "ClinicalDocument[1]" + q + "confidentialityCode[1]",
			"У1-16. Элемент ClinicalDocument/confidentialityCode должен иметь значение атрибута @codeSystem равное '1.2.643.5.1.13.13.99.2.285'"},
		{"58", func(x string) string { // the custodian without its name
			i, j := strings.Index(x, "<custodian>"), strings.Index(x, "</custodian>")
			if i < 0 || j < i {
				return x
			}
			return x[:i] + regexp.MustCompile(`<name>[^<]*</name>`).ReplaceAllString(x[i:j], "") + x[j:]
		}, "У1-16", q + "ClinicalDocument[1]" + q + "custodian[1]" + q + "assignedCustodian[1]" + q + "representedCustodianOrganization[1]",
			"У1-16. Элемент ClinicalDocument/custodian/assignedCustodian/representedCustodianOrganization должен иметь 1 элемент name."},
		{"59", func(x string) string {
			return strings.Replace(x, `codeSystem="1.2.643.5.1.13.13.11.1040"`, `codeSystem="1.2.643.5.1.13.13.99.2.999"`, 1)
		}, "У1-15", q + "ClinicalDocument[1]" + q + "recordTarget[1]" + q + "patientRole[1]" + q + "patient[1]" + q + "administrativeGenderCode[1]",
			"У1-15. Элемент ClinicalDocument/recordTarget/patientRole/patient/administrativeGenderCode должен иметь значение атрибута @codeSystem"},
		{"76", func(x string) string { // the author's position from another book
			return strings.Replace(x, `codeSystem="1.2.643.5.1.13.13.11.1002"`, `codeSystem="1.2.643.5.1.13.13.99.2.999"`, 1)
		}, "У1-34", q + "ClinicalDocument[1]" + q + "author[1]" + q + "assignedAuthor[1]" + q + "code[1]",
			"У1-34. Элемент ClinicalDocument/author/assignedAuthor/code должен иметь значение атрибута @codeSystem"},
	}
	accepted := 0
	for _, tc := range tests {
		t.Run(tc.kind, func(t *testing.T) {
			d := b.build(semdgen.Options{Kind: tc.kind})
			broken := []byte(tc.mutate(string(d.XML)))
			if string(broken) == string(d.XML) {
				t.Fatal("the mutation changed nothing")
			}
			signedOver := map[string][]byte{"the broken document": broken, "the original document": d.XML}
			for over, content := range signedOver {
				s := submission(d.Kind, d.ID, broken, mustSign(t, content, d.Signers.Doctor), mustSign(t, content, d.Signers.Org))
				r := b.do("POST", "/api/v1/documents", b.keyA, s)
				if r.Status != http.StatusUnprocessableEntity || r.Body["code"] != codes.FLKFailed {
					t.Fatalf("signed over %s: %d %s", over, r.Status, r.Raw)
				}
				if msg, _ := r.Body["message"].(string); !strings.Contains(msg, "fails 1 checks of the official schematron of kind "+tc.kind) || !strings.Contains(msg, tc.text) {
					t.Errorf("message: %s", r.Raw)
				}
				ds, _ := r.Body["details"].([]any)
				if len(ds) != 1 {
					t.Fatalf("want exactly the broken rule in the details: %s", r.Raw)
				}
				p, _ := ds[0].(map[string]any)
				if p["code"] != codes.FLKFailed || p["rule"] != tc.rule || p["path"] != tc.path || !strings.HasPrefix(p["message"].(string), tc.text) {
					t.Errorf("detail %v, want rule %s at %s: %q", p, tc.rule, tc.path, tc.text)
				}
			}
			if n := b.countDocuments(); n != accepted {
				t.Fatalf("a refused document was stored: %d rows, want %d", n, accepted)
			}
			if r := b.do("POST", "/api/v1/documents", b.keyA, d.Submission()); r.Status != http.StatusCreated {
				t.Fatalf("the unbroken document: %d %s", r.Status, r.Raw)
			}
			accepted = b.countDocuments()
		})
	}
}
