package api_test

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/gost"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/signature"
	"github.com/emdhub/hub/internal/signature/fixtures"
	"github.com/emdhub/hub/internal/testpki"
)

// setupEnv is setup with extra environment for the configuration.
func setupEnv(t *testing.T, env map[string]string) *bundle {
	t.Helper()
	return newBundle(t, nil, env, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, 7)
}

func (b *bundle) count(query string, args ...any) int {
	b.t.Helper()
	var n int
	if err := b.app.Pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
		b.t.Fatal(err)
	}
	return n
}

// submission wraps content with the given CMS signatures (doctor first).
func submission(kind, localID string, content []byte, doctor, org []byte) semdgen.Submission {
	enc := base64.StdEncoding
	s := semdgen.Submission{Kind: kind, LocalID: localID, Document: enc.EncodeToString(content),
		Signatures: []semdgen.SubmissionSig{{Role: "doctor", CMS: enc.EncodeToString(doctor)}}}
	if org != nil {
		s.Signatures = append(s.Signatures, semdgen.SubmissionSig{Role: "organization", CMS: enc.EncodeToString(org)})
	}
	return s
}

func mustSign(t *testing.T, content []byte, s *semdgen.Signer, chain ...*x509.Certificate) []byte {
	t.Helper()
	cms, err := testpki.Sign(content, s.Cert, s.Key, time.Now(), chain...)
	if err != nil {
		t.Fatal(err)
	}
	return cms
}

// TestLinkDocsAtTheDoor: a referral linking more documents than
// HUB_MAX_LINKS is refused with TOO_MANY_LINKS and stores nothing; links
// listed several times are one link each.
func TestLinkDocsAtTheDoor(t *testing.T) {
	b := setup(t, 0)
	links := func(n int) []semdgen.Link {
		var out []semdgen.Link
		for i := 0; i < n; i++ {
			out = append(out, semdgen.Link{Kind: "119", ID: fmt.Sprintf("c-%d", i)})
		}
		return out
	}
	r := b.do("POST", "/api/v1/documents", b.keyA, b.build(semdgen.Options{Kind: "121", Links: links(51)}).Submission())
	if r.Status != 422 || r.Body["code"] != codes.TooManyLinks || !strings.Contains(r.Body["message"].(string), "51") {
		t.Fatalf("51 links: %d %s", r.Status, r.Raw)
	}
	if n := b.countDocuments() + b.count(`SELECT count(*) FROM mse_links`); n != 0 {
		t.Fatalf("refused referral left %d rows", n)
	}
	var dup []semdgen.Link
	for i := 0; i < 10; i++ {
		dup = append(dup, semdgen.Link{Kind: "119", ID: "c-1"}, semdgen.Link{Kind: "186", ID: "l-1"})
	}
	r = b.do("POST", "/api/v1/documents", b.keyA, b.build(semdgen.Options{Kind: "121", Links: dup}).Submission())
	if r.Status != 201 {
		t.Fatalf("duplicated links: %d %s", r.Status, r.Raw)
	}
	if n := b.count(`SELECT count(*) FROM mse_links`); n != 2 {
		t.Fatalf("%d link rows, want 2", n)
	}
	got := b.do("GET", r.Header.Get("Location"), b.keyA, nil)
	ld := got.Body["header"].(map[string]any)["link_docs"].([]any)
	if len(ld) != 2 || ld[0].(map[string]any)["ref"].(map[string]any)["extension"] != "c-1" {
		t.Fatalf("link_docs: %v", ld)
	}
}

// TestXMLLimitsAtTheDoor: documents over the XML structure limits are
// refused with 413 XML_LIMIT_EXCEEDED, naming where, before anything else
// is checked; nothing is stored. The limits come from the configuration.
func TestXMLLimitsAtTheDoor(t *testing.T) {
	b := setupEnv(t, map[string]string{"HUB_MAX_BODY_BYTES": "33554432", "HUB_XML_MAX_ATTRS": "16"})
	good := b.build(semdgen.Options{Kind: "119"})
	open := `<ClinicalDocument xmlns="urn:hl7-org:v3">`
	tests := []struct {
		name string
		doc  string
		path string
	}{
		{"100,000-deep nesting", open + strings.Repeat("<a>", 100_000) + strings.Repeat("</a>", 100_000) + `</ClinicalDocument>`, "ClinicalDocument" + strings.Repeat("/a", 64)},
		{"10 MB attribute", open + `<title value="` + strings.Repeat("x", 10<<20) + `"/></ClinicalDocument>`, "ClinicalDocument/title/@value"},
		{"17 attributes (HUB_XML_MAX_ATTRS=16)", open + `<title a="" b="" c="" d="" e="" f="" g="" h="" i="" j="" k="" l="" m="" n="" o="" p="" q=""/></ClinicalDocument>`, "ClinicalDocument/title"},
		{"200,001 elements", open + strings.Repeat("<b/>", 200_000) + `</ClinicalDocument>`, "ClinicalDocument/b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good.Submission()
			s.Document = base64.StdEncoding.EncodeToString([]byte(tt.doc))
			r := b.do("POST", "/api/v1/documents", b.keyA, s)
			if r.Status != 413 || r.Body["code"] != codes.XMLLimitExceeded {
				t.Fatalf("want 413 %s, got %d %.300s", codes.XMLLimitExceeded, r.Status, r.Raw)
			}
			d := r.Body["details"].([]any)[0].(map[string]any)
			if d["path"] != tt.path {
				t.Fatalf("path %v, want %s", d["path"], tt.path)
			}
		})
	}
	if n := b.countDocuments(); n != 0 {
		t.Fatalf("refused documents left %d rows", n)
	}
	if r := b.do("POST", "/api/v1/documents", b.keyA, good.Submission()); r.Status != 201 {
		t.Fatalf("a normal document: %d %s", r.Status, r.Raw)
	}
}

// withoutCustodianOGRN removes the organisation's ОГРН from the document:
// the custodian carries none (the official schemas have no place for it),
// and the patient's providerOrganization, which stands for it, loses its own.
func withoutCustodianOGRN(t *testing.T, d semdgen.Doc, ogrn string) []byte {
	t.Helper()
	props := `<identity:Props><identity:Ogrn xsi:type="ST">` + ogrn + `</identity:Ogrn></identity:Props>`
	if strings.Count(string(d.XML), props) == 0 {
		t.Fatalf("the organisation's ОГРН is not in the document")
	}
	return []byte(strings.ReplaceAll(string(d.XML), props, ""))
}

// TestOrganisationSignatureWithoutCustodianOGRN: when the custodian carries
// no ОГРН, the organisation's signature must match the ОГРН the operator
// recorded for the organisation; with none recorded it is refused, never
// accepted with any organisation's certificate.
func TestOrganisationSignatureWithoutCustodianOGRN(t *testing.T) {
	b := setup(t, 0)
	d := b.build(semdgen.Options{Kind: "119"})
	content := withoutCustodianOGRN(t, d, b.orgA.OGRN)
	own, foreign := semdgen.TestSigners(b.orgA), semdgen.TestSigners(b.orgB)
	mine := submission("119", d.ID, content, mustSign(t, content, own.Doctor), mustSign(t, content, own.Org))
	theirs := submission("119", d.ID, content, mustSign(t, content, own.Doctor), mustSign(t, content, foreign.Org))

	// Nothing on record: refused, telling the operator what to do.
	r := b.do("POST", "/api/v1/documents", b.keyA, mine)
	if r.Status != 422 || r.Body["code"] != codes.SignerOrgMismatch || !strings.Contains(r.Body["message"].(string), "must record the organisation's ОГРН") {
		t.Fatalf("no ОГРН anywhere: %d %s", r.Status, r.Raw)
	}
	r = b.do("POST", "/api/v1/documents", b.keyA, theirs)
	if r.Status != 422 || r.Body["code"] != codes.SignerOrgMismatch {
		t.Fatalf("no ОГРН anywhere, foreign certificate: %d %s", r.Status, r.Raw)
	}

	// The operator records it (registering another system of the organisation).
	reg := map[string]string{"organization_oid": b.orgA.OID, "organization_name": b.orgA.Name, "system_name": "МИС А-2", "organization_ogrn": "1027700132196"}
	if r := b.do("POST", "/api/v1/ops/systems", b.keyOp, reg); r.Status != 422 || r.Body["code"] != codes.InvalidOGRN {
		t.Fatalf("bad control digit: %d %s", r.Status, r.Raw)
	}
	reg["organization_ogrn"] = b.orgA.OGRN
	r = b.do("POST", "/api/v1/ops/systems", b.keyOp, reg)
	if r.Status != 201 || r.Body["organization"].(map[string]any)["ogrn"] != b.orgA.OGRN {
		t.Fatalf("register with ОГРН: %d %s", r.Status, r.Raw)
	}
	reg["system_name"], reg["organization_ogrn"] = "МИС А-3", b.orgB.OGRN
	if r := b.do("POST", "/api/v1/ops/systems", b.keyOp, reg); r.Status != 409 {
		t.Fatalf("another ОГРН for the organisation: %d %s", r.Status, r.Raw)
	}

	// A foreign organisation's certificate is refused against the record...
	r = b.do("POST", "/api/v1/documents", b.keyA, theirs)
	if r.Status != 422 || r.Body["code"] != codes.SignerOrgMismatch || !strings.Contains(r.Body["message"].(string), "on record") {
		t.Fatalf("foreign certificate: %d %s", r.Status, r.Raw)
	}
	if n := b.countDocuments(); n != 0 {
		t.Fatalf("refused documents left %d rows", n)
	}
	// ...and the organisation's own accepted.
	if r := b.do("POST", "/api/v1/documents", b.keyA, mine); r.Status != 201 {
		t.Fatalf("own certificate, ОГРН on record: %d %s", r.Status, r.Raw)
	}
	// A custodian ОГРН still decides when present: the record does not override it.
	if r := b.do("POST", "/api/v1/documents", b.keyA, b.build(semdgen.Options{Kind: "119"}).Submission()); r.Status != 201 {
		t.Fatalf("custodian ОГРН: %d %s", r.Status, r.Raw)
	}
}

// TestIntermediateCAsAtTheDoor: a signer under an intermediate CA passes
// when the container carries the intermediate or HUB_INTERMEDIATE_CA_DIR
// holds it, and is refused otherwise — also after the same certificate was
// accepted with the intermediate carried.
func TestIntermediateCAsAtTheDoor(t *testing.T) {
	caKey, err := testpki.ParsePrivateKey(fixtures.File("ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	nb, na := date(2025, 1, 1), date(2035, 1, 1)
	interKey, err := gost.GenerateKey(gost.CurveTC26256A, nil)
	if err != nil {
		t.Fatal(err)
	}
	inter, err := testpki.Issue(testpki.Template{CommonName: "Промежуточный УЦ", IsCA: true, NotBefore: nb, NotAfter: na}, interKey.Public(), semdgen.TestCA(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	interDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(interDir, "inter.cer"), inter.Raw, 0o644); err != nil {
		t.Fatal(err)
	}

	plain := setup(t, 0)
	signers := semdgen.Signers{Doctor: issued(t, plain.orgA, gost.CurveTC26256A, plain.orgA.OGRN, 0, nb, na, inter, interKey),
		Org: issued(t, plain.orgA, gost.CurveTC26512A, plain.orgA.OGRN, 0, nb, na, inter, interKey)}
	sub := func(b *bundle, carry bool) semdgen.Submission {
		d := b.build(semdgen.Options{Kind: "119"})
		var chain []*x509.Certificate
		if carry {
			chain = append(chain, inter)
		}
		return submission("119", d.ID, d.XML, mustSign(t, d.XML, signers.Doctor, chain...), mustSign(t, d.XML, signers.Org, chain...))
	}
	if r := plain.do("POST", "/api/v1/documents", plain.keyA, sub(plain, true)); r.Status != 201 {
		t.Fatalf("intermediate carried: %d %s", r.Status, r.Raw)
	}
	if r := plain.do("POST", "/api/v1/documents", plain.keyA, sub(plain, false)); r.Status != 422 || r.Body["code"] != signature.CodeNoChain {
		t.Fatalf("same signers, intermediate not carried: %d %s", r.Status, r.Raw)
	}
	configured := setupEnv(t, map[string]string{"HUB_INTERMEDIATE_CA_DIR": interDir})
	if r := configured.do("POST", "/api/v1/documents", configured.keyA, sub(configured, false)); r.Status != 201 {
		t.Fatalf("intermediate configured: %d %s", r.Status, r.Raw)
	}
}

// TestNoSignedAttributesAtTheDoor: signatures without signed attributes
// (RFC 5652 §5.4) are accepted, and refused over other bytes.
func TestNoSignedAttributesAtTheDoor(t *testing.T) {
	b := setup(t, 0)
	d := b.build(semdgen.Options{Kind: "119"})
	s := semdgen.TestSigners(b.orgA)
	noattr := func(content []byte, sg *semdgen.Signer) []byte {
		cms, err := testpki.SignWithoutAttributes(content, sg.Cert, sg.Key)
		if err != nil {
			t.Fatal(err)
		}
		return cms
	}
	other := append([]byte{}, d.XML...)
	other = append(other, '\n')
	if r := b.do("POST", "/api/v1/documents", b.keyA, submission("119", d.ID, d.XML, noattr(other, s.Doctor), noattr(d.XML, s.Org))); r.Status != 422 || r.Body["code"] != signature.CodeVerification {
		t.Fatalf("over other bytes: %d %s", r.Status, r.Raw)
	}
	r := b.do("POST", "/api/v1/documents", b.keyA, submission("119", d.ID, d.XML, noattr(d.XML, s.Doctor), noattr(d.XML, s.Org)))
	if r.Status != 201 {
		t.Fatalf("no signed attributes: %d %s", r.Status, r.Raw)
	}
}
