package api_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/semdgen"
)

// TestXSDAtTheDoor: over HTTP, a well-signed document of each kind with an
// official XSD whose header passes the hub's checks but whose body breaks
// the schema (an element the schema does not know) is refused with 422
// XSD_INVALID before the schematron, naming line, column, element, path
// and what the schema expected there, and nothing is stored; the same
// document unbroken is accepted.
func TestXSDAtTheDoor(t *testing.T) {
	b := setupEnv(t, nil)
	b.recordOGRNs()
	accepted := 0
	for _, kind := range []string{"121", "58", "59", "76"} {
		t.Run(kind, func(t *testing.T) {
			d := b.build(semdgen.Options{Kind: kind})
			at := bytes.Index(d.XML, []byte("<component>"))
			if at < 0 {
				t.Fatal("no <component> to break")
			}
			broken := append(append(append([]byte{}, d.XML[:at]...), "<remark>x</remark>"...), d.XML[at:]...)
			line := bytes.Count(broken[:at], []byte("\n")) + 1
			col := len([]rune(string(broken[bytes.LastIndexByte(broken[:at], '\n')+1:at]))) + 1
			s := submission(d.Kind, d.ID, broken, mustSign(t, broken, d.Signers.Doctor), mustSign(t, broken, d.Signers.Org))
			r := b.do("POST", "/api/v1/documents", b.keyA, s)
			if r.Status != http.StatusUnprocessableEntity || r.Body["code"] != codes.XSDInvalid {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
			if msg, _ := r.Body["message"].(string); !strings.Contains(msg, "the official XSD of kind "+kind) {
				t.Errorf("message: %s", r.Raw)
			}
			ds, _ := r.Body["details"].([]any)
			if len(ds) != 1 {
				t.Fatalf("want the one error in the details: %s", r.Raw)
			}
			p, _ := ds[0].(map[string]any)
			exp, _ := p["expected"].([]any)
			if p["code"] != codes.XSDInvalid || p["line"] != float64(line) || p["column"] != float64(col) || p["element"] != "remark" ||
				p["path"] != "/ClinicalDocument/remark" || len(exp) == 0 || !strings.Contains(p["message"].(string), "This element is not expected") {
				t.Errorf("detail %v, want line %d column %d", p, line, col)
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

// recordOGRNs records both test organisations' ОГРН, as an operator does
// (register-system -org-ogrn): a document of kind 76 carries its
// organisation's ОГРН nowhere its official XSD allows, so the organisation's
// signature is matched against the record.
func (b *bundle) recordOGRNs() {
	b.t.Helper()
	for _, o := range []semdgen.Org{b.orgA, b.orgB} {
		if _, err := b.app.Store.RecordOrganizationOGRN(context.Background(), o.OID, o.OGRN); err != nil {
			b.t.Fatal(err)
		}
	}
}
