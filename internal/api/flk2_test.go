package api_test

import (
	"regexp"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/semdgen"
)

// heldVersions puts the versions the hub holds where today's generator
// writes others (НСИ 48 5.1, 206 7.1, 1002 8.4, 197 1.17: see README
// "ФЛК level 2"); the section codes of kind 121 are all in 197 v4.29.
func heldVersions(x []byte) []byte {
	return []byte(strings.NewReplacer(
		`codeSystem="1.2.643.5.1.13.13.99.2.48" codeSystemVersion="5.1"`, `codeSystem="1.2.643.5.1.13.13.99.2.48" codeSystemVersion="7.2"`,
		`codeSystem="1.2.643.5.1.13.13.99.2.206" codeSystemVersion="7.1"`, `codeSystem="1.2.643.5.1.13.13.99.2.206" codeSystemVersion="6.5"`,
		`codeSystem="1.2.643.5.1.13.13.11.1002" codeSystemVersion="8.4"`, `codeSystem="1.2.643.5.1.13.13.11.1002" codeSystemVersion="9.6"`,
		`codeSystem="1.2.643.5.1.13.13.99.2.197" codeSystemVersion="1.17"`, `codeSystem="1.2.643.5.1.13.13.99.2.197" codeSystemVersion="4.29"`,
	).Replace(string(x)))
}

// TestLevel2AtTheDoor: with HUB_NSI_CHECK on, the door refuses with 422 a
// document whose codes are not in their books, whose book versions are not
// held, or whose author's organisation is not registered, listing every
// problem in the details, before the signatures are checked; nothing is
// stored. A document whose codes are all in the books is accepted.
func TestLevel2AtTheDoor(t *testing.T) {
	b := setupEnv(t, map[string]string{"HUB_NSI_CHECK": "true"})
	submit := func(d semdgen.Doc, content []byte) resp {
		t.Helper()
		s := submission(d.Kind, d.ID, content, mustSign(t, content, d.Signers.Doctor), mustSign(t, content, d.Signers.Org))
		return b.do("POST", "/api/v1/documents", b.keyA, s)
	}
	details := func(r resp) []map[string]any {
		t.Helper()
		var out []map[string]any
		ds, _ := r.Body["details"].([]any)
		for _, d := range ds {
			out = append(out, d.(map[string]any))
		}
		return out
	}

	// Section codes given in a version of НСИ 99.2.197 the hub does not hold.
	d := b.build(semdgen.Options{Kind: "121"})
	unheld := strings.ReplaceAll(string(d.XML), `codeSystem="1.2.643.5.1.13.13.99.2.197" codeSystemVersion="4.29"`,
		`codeSystem="1.2.643.5.1.13.13.99.2.197" codeSystemVersion="1.17"`)
	r := submit(d, []byte(unheld))
	if r.Status != 422 || r.Body["code"] != codes.InvalidDictionaryVersion || len(details(r)) < 2 {
		t.Fatalf("unheld versions: %d %s", r.Status, r.Raw)
	}

	// A code absent from its book, in the header and in the patient: both listed, book, version and code named.
	d = b.build(semdgen.Options{Kind: "121"})
	bad := heldVersions(d.XML)
	bad = []byte(strings.Replace(string(bad), `<confidentialityCode code="N"`, `<confidentialityCode code="X"`, 1))
	bad = regexp.MustCompile(`administrativeGenderCode code="[12]"`).ReplaceAll(bad, []byte(`administrativeGenderCode code="9"`))
	r = submit(d, bad)
	ds := details(r)
	if r.Status != 422 || r.Body["code"] != codes.InvalidElementValueCode || len(ds) != 2 ||
		!strings.Contains(r.Body["message"].(string), `НСИ 1.2.643.5.1.13.13.99.2.285 «Уровень конфиденциальности медицинского документа», version 1.2, has no code "X"`) ||
		ds[1]["path"] != "/ClinicalDocument/recordTarget[1]/patientRole[1]/patient[1]/administrativeGenderCode[1]/@code" ||
		!strings.Contains(ds[1]["message"].(string), `1.2.643.5.1.13.13.11.1040 «Пол пациента», version 2.1, has no code "9"`) {
		t.Fatalf("absent codes: %d %s", r.Status, r.Raw)
	}

	// The author's organisation is not registered in the hub.
	d = b.build(semdgen.Options{Kind: "121"})
	author := `<representedOrganization classCode="ORG"><id root="` + b.orgA.OID + `"/>`
	unreg := strings.Replace(string(heldVersions(d.XML)), author, `<representedOrganization classCode="ORG"><id root="1.2.643.5.1.13.13.12.2.50.999"/>`, 1)
	r = submit(d, []byte(unreg))
	if r.Status != 422 || r.Body["code"] != "ORG_NOT_FOUND_IN_FRMO" || !strings.Contains(r.Body["message"].(string), "1.2.643.5.1.13.13.12.2.50.999") {
		t.Fatalf("unregistered organisation: %d %s", r.Status, r.Raw)
	}
	if n := b.countDocuments(); n != 0 {
		t.Fatalf("refused documents left %d rows", n)
	}

	// Codes all in their books, the author in a subdivision of the registered organisation: accepted.
	d = b.build(semdgen.Options{Kind: "121"})
	sub := strings.Replace(string(heldVersions(d.XML)), author, `<representedOrganization classCode="ORG"><id root="`+b.orgA.OID+`.0.5"/>`, 1)
	unchecked := map[string]string{"book": "1.2.643.5.1.13.13.99.2.991", "reason": "not held", "kind": "121"}
	before, _ := sample(processCounters(t), "hub_dictionary_unchecked_total", unchecked)
	if r = submit(d, []byte(sub)); r.Status != 201 {
		t.Fatalf("valid document: %d %s", r.Status, r.Raw)
	}
	// The book of ways to inform (НСИ 99.2.991) is not held: the accepted
	// answer says so, with the code, the OID and how many codes.
	ws, _ := r.Body["warnings"].([]any)
	if len(ws) != 1 {
		t.Fatalf("warnings: %s", r.Raw)
	}
	w := ws[0].(map[string]any)
	if w["code"] != codes.DictionaryNotChecked || w["oid"] != "1.2.643.5.1.13.13.99.2.991" || w["reason"] != "not held" || w["codes"] != 1.0 || r.Body["id"] == nil {
		t.Fatalf("warning: %s", r.Raw)
	}
	// … and the metric counts it, by book, reason and kind.
	if after, _ := sample(processCounters(t), "hub_dictionary_unchecked_total", unchecked); after != before+1 {
		t.Fatalf("hub_dictionary_unchecked_total%v went from %v to %v, want +1", unchecked, before, after)
	}
}
