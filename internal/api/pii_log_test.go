package api_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/ids"
	"github.com/emdhub/hub/internal/semdgen"
)

// TestNoPersonalDataInLogs runs the requests that carry a patient's СНИЛС or
// ЕНП (enrichment paths, list filters, documents with bad identifiers,
// mistyped routes) and asserts none of the identifiers appears in the log,
// in any spelling: plain digits, with separators, URL-escaped.
func TestNoPersonalDataInLogs(t *testing.T) {
	b, logs := setupWith(t, nil, nil, nil)
	patient := semdgen.RandomPerson(b.rand, 77)
	other := semdgen.RandomPerson(b.rand, 77)
	d := b.build(semdgen.Options{Kind: "119", Patient: &patient})
	if r := b.do("POST", "/api/v1/documents", b.keyA, d.Submission()); r.Status != 201 {
		t.Fatalf("submit: %d %s", r.Status, r.Raw)
	}
	// A refused document: its (wrong) СНИЛС is named in the answer, never in the log.
	bad := b.build(semdgen.Options{Kind: "119", Patient: &other, Defects: []semdgen.Defect{semdgen.DefectBadSNILS}})
	if r := b.do("POST", "/api/v1/documents", b.keyA, bad.Submission()); r.Status != 422 {
		t.Fatalf("bad snils: %d %s", r.Status, r.Raw)
	}
	snilsForms := func(s string) []string {
		f := ids.FormatSNILS(s)
		return []string{s, f, url.PathEscape(f), url.QueryEscape(f), strings.ReplaceAll(f, "-", "")}
	}
	requests := []struct{ method, path string }{}
	for _, s := range []string{patient.SNILS, other.SNILS} {
		for _, form := range snilsForms(s) {
			requests = append(requests,
				struct{ method, path string }{"GET", "/api/v1/enrichment/snils/" + url.PathEscape(form)},
				struct{ method, path string }{"GET", "/api/v1/documents?patient_snils=" + url.QueryEscape(form)},
				struct{ method, path string }{"GET", "/api/v1/enrichment/snilz/" + url.PathEscape(form)},  // no such route
				struct{ method, path string }{"POST", "/api/v1/enrichment/snils/" + url.PathEscape(form)}, // no such method
			)
		}
	}
	broken := patient.SNILS[:10] + string('0'+(patient.SNILS[10]-'0'+1)%10) // wrong control number
	requests = append(requests,
		struct{ method, path string }{"GET", "/api/v1/enrichment/snils/" + broken},
		struct{ method, path string }{"GET", "/api/v1/documents?patient_snils=" + broken},
		struct{ method, path string }{"GET", "/api/v1/enrichment/enp/" + patient.ENP},
		struct{ method, path string }{"GET", "/api/v1/enrichment/enp/" + other.ENP[:15] + "x"},
		struct{ method, path string }{"GET", "/api/v1/enrichment/enp/" + patient.ENP + "/x"},
	)
	for _, rq := range requests {
		r := b.do(rq.method, rq.path, b.keyA, nil)
		if r.Status >= 500 {
			t.Fatalf("%s %s: %d %s", rq.method, rq.path, r.Status, r.Raw)
		}
	}
	out := logs.String()
	if !strings.Contains(out, "/api/v1/enrichment/snils/") || !strings.Contains(out, `"route":"/api/v1/documents"`) {
		t.Fatalf("the requests were not logged at all: %s", out)
	}
	// Digits only, every separator removed, so no spelling escapes.
	digits := strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' || r == '\n' || r == '"' {
			return r
		}
		return -1
	}, strings.NewReplacer("%20", "", "%2520", "", "\\u0020", "").Replace(out))
	for _, id := range []string{patient.SNILS, other.SNILS, broken, patient.ENP, other.ENP, other.ENP[:15]} {
		for _, form := range append(snilsForms(id), id[:9]) {
			if strings.Contains(out, form) {
				t.Fatalf("identifier %q appears in the log:\n%s", form, out)
			}
		}
		if strings.Contains(digits, id[:9]) {
			t.Fatalf("identifier %s appears in the log once separators are removed:\n%s", id, out)
		}
	}
}
