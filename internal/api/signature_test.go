package api_test

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/gost"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/signature"
	"github.com/emdhub/hub/internal/signature/fixtures"
	"github.com/emdhub/hub/internal/testpki"
)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 10, 0, 0, 0, time.UTC) }

// issued makes a signer for org under the CA (caCert, caKey), valid from nb to na.
func issued(t *testing.T, org semdgen.Org, curve *gost.Curve, ogrn string, ku x509.KeyUsage, nb, na time.Time, caCert *x509.Certificate, caKey *gost.PrivateKey) *semdgen.Signer {
	t.Helper()
	key, err := gost.GenerateKey(curve, nil)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := testpki.Issue(testpki.Template{CommonName: org.Name, OGRN: ogrn, NotBefore: nb, NotAfter: na, KeyUsage: ku}, key.Public(), caCert, caKey)
	if err != nil {
		t.Fatal(err)
	}
	return &semdgen.Signer{Cert: cert, Key: key}
}

// TestSignatureChecksAtTheDoor submits documents whose signatures break one
// rule each and expects the registry's code for it; nothing is stored.
func TestSignatureChecksAtTheDoor(t *testing.T) {
	b := setup(t, 0)
	caKey, err := testpki.ParsePrivateKey(fixtures.File("ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	ca := semdgen.TestCA()
	std := semdgen.TestSigners(b.orgA)
	window := func(nb, na time.Time) *semdgen.Signers {
		s, err := semdgen.IssueSigners(b.orgA, semdgen.RandomPerson(b.rand, 77), nb, na)
		if err != nil {
			t.Fatal(err)
		}
		return &s
	}
	// A "CA" nobody trusts: the doctor's own certificate issuing another.
	rogue := &semdgen.Signers{Doctor: issued(t, b.orgA, gost.CurveTC26256A, b.orgA.OGRN, 0, date(2025, 1, 1), date(2035, 1, 1), std.Doctor.Cert, std.Doctor.Key), Org: std.Org}
	wrongKU := &semdgen.Signers{Doctor: std.Doctor, Org: issued(t, b.orgA, gost.CurveTC26512A, b.orgA.OGRN, x509.KeyUsageKeyEncipherment, date(2025, 1, 1), date(2035, 1, 1), ca, caKey)}
	noOGRN := &semdgen.Signers{Doctor: std.Doctor, Org: issued(t, b.orgA, gost.CurveTC26512A, "", 0, date(2025, 1, 1), date(2035, 1, 1), ca, caKey)}
	foreign := semdgen.TestSigners(b.orgB)
	otherOrg := &semdgen.Signers{Doctor: std.Doctor, Org: foreign.Org}
	doctorOnly := &semdgen.Signers{Doctor: std.Doctor}
	fixture := func(name string) func(s *semdgen.Submission) {
		return func(s *semdgen.Submission) {
			s.Signatures[0].CMS = base64.StdEncoding.EncodeToString(fixtures.File(name))
		}
	}

	tests := []struct {
		name      string
		opts      semdgen.Options
		mutate    func(s *semdgen.Submission)
		code      string
		wantIndex int
	}{
		{name: "signature value altered", opts: semdgen.Options{Kind: "119", Defects: []semdgen.Defect{semdgen.DefectTamperedSig}}, code: signature.CodeVerification},
		{name: "signed other bytes", opts: semdgen.Options{Kind: "119", Defects: []semdgen.Defect{semdgen.DefectSignedOther}}, code: signature.CodeDigestMismatch},
		{name: "one signature over other bytes", opts: semdgen.Options{Kind: "119"}, mutate: func(s *semdgen.Submission) {
			other, err := testpki.Sign([]byte("<other/>"), std.Org.Cert, std.Org.Key, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			s.Signatures[1].CMS = base64.StdEncoding.EncodeToString(other)
		}, code: codes.InconsistentDigests, wantIndex: 1},
		{name: "certificate expired since", opts: semdgen.Options{Kind: "119", Effective: date(2025, 3, 1), Signers: window(date(2025, 1, 1), date(2025, 6, 1))}, code: signature.CodeNotActualNow},
		{name: "document after the certificate's end", opts: semdgen.Options{Kind: "119", Effective: date(2025, 9, 1), Signers: window(date(2025, 1, 1), date(2025, 6, 1))}, code: signature.CodeNotAfter},
		{name: "document before the certificate's start", opts: semdgen.Options{Kind: "119", Effective: date(2025, 3, 1), Signers: window(date(2025, 6, 1), date(2035, 1, 1))}, code: signature.CodeNotBefore},
		{name: "no chain to a trusted CA", opts: semdgen.Options{Kind: "119", Signers: rogue}, code: signature.CodeNoChain},
		{name: "key usage without signing", opts: semdgen.Options{Kind: "119", Signers: wrongKU}, code: signature.CodeKeyUsage, wantIndex: 1},
		{name: "organisation certificate of another ОГРН", opts: semdgen.Options{Kind: "119", Signers: otherOrg}, code: codes.SignerOrgMismatch, wantIndex: 1},
		{name: "organisation certificate without ОГРН", opts: semdgen.Options{Kind: "119", Signers: noOGRN}, code: codes.SignerOrgMismatch, wantIndex: 1},
		{name: "organisation signature missing where the kind needs it", opts: semdgen.Options{Kind: "119", Signers: doctorOnly}, code: codes.OrgSignatureOccurrence},
		{name: "two signers in one container", opts: semdgen.Options{Kind: "119"}, mutate: fixture("two-signers.p7s"), code: signature.CodeMultipleSigners},
		{name: "no certificate in the container", opts: semdgen.Options{Kind: "119"}, mutate: fixture("nocert256.p7s"), code: signature.CodeNoCertificate},
		{name: "ECDSA instead of GOST", opts: semdgen.Options{Kind: "119"}, mutate: fixture("ecdsa.p7s"), code: signature.CodeUnknownAlgorithm},
		{name: "one signature twice", opts: semdgen.Options{Kind: "119"}, mutate: func(s *semdgen.Submission) {
			s.Signatures = append(s.Signatures, semdgen.SubmissionSig{Role: "doctor", CMS: s.Signatures[0].CMS})
		}, code: codes.SignatureDuplication, wantIndex: 2},
		{name: "doctor's certificate as the organisation's", opts: semdgen.Options{Kind: "119", Signers: &semdgen.Signers{Doctor: std.Doctor, Org: std.Doctor}},
			code: codes.SignatureDuplication, wantIndex: 1},
		{name: "garbage", opts: semdgen.Options{Kind: "119"}, mutate: func(s *semdgen.Submission) {
			s.Signatures[0].CMS = base64.StdEncoding.EncodeToString([]byte{0x30, 0x03, 0x02, 0x01})
		}, code: signature.CodeDecoding},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := b.build(tt.opts).Submission()
			if tt.mutate != nil {
				tt.mutate(&s)
			}
			r := b.do("POST", "/api/v1/documents", b.keyA, s)
			if r.Status != 422 || r.Body["code"] != tt.code {
				t.Fatalf("want 422 %s, got %d %s", tt.code, r.Status, r.Raw)
			}
			if details, ok := r.Body["details"].([]any); ok && len(details) > 0 {
				first := details[0].(map[string]any)
				if int(first["index"].(float64)) != tt.wantIndex {
					t.Fatalf("details name signature %v, want %d: %s", first["index"], tt.wantIndex, r.Raw)
				}
			}
		})
	}
	if n := b.countDocuments(); n != 0 {
		t.Fatalf("refused documents left %d rows behind", n)
	}

	// Accepted: the signer facts are kept and shown; base64 of PEM is read too.
	d := b.build(semdgen.Options{Kind: "119"})
	s := d.Submission()
	der, _ := base64.StdEncoding.DecodeString(s.Signatures[0].CMS)
	s.Signatures[0].CMS = base64.StdEncoding.EncodeToString(pem.EncodeToMemory(&pem.Block{Type: "CMS", Bytes: der}))
	r := b.do("POST", "/api/v1/documents", b.keyA, s)
	if r.Status != 201 {
		t.Fatalf("good document: %d %s", r.Status, r.Raw)
	}
	sigs := r.Body["signatures"].([]any)
	org := sigs[1].(map[string]any)["signer"].(map[string]any)
	if org["ogrn"] != b.orgA.OGRN || org["key_bits"].(float64) != 512 || org["not_after"] == "" {
		t.Fatalf("organisation signer: %v", org)
	}
}

// TestVerifyOnce: a signature met again (an idempotent resubmission) is not
// verified again.
func TestVerifyOnce(t *testing.T) {
	b := setup(t, 0)
	v := b.app.Intake.Signatures.Verifier
	d := b.build(semdgen.Options{Kind: "119"})
	before := v.Verifications()
	if r := b.do("POST", "/api/v1/documents", b.keyA, d.Submission()); r.Status != 201 {
		t.Fatalf("%d %s", r.Status, r.Raw)
	}
	if got := v.Verifications() - before; got != 2 {
		t.Fatalf("first submission verified %d signatures, want 2", got)
	}
	for i := 0; i < 3; i++ {
		if r := b.do("POST", "/api/v1/documents", b.keyA, d.Submission()); r.Status != 200 {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	}
	if got := v.Verifications() - before; got != 2 {
		t.Fatalf("after three repeats %d verifications, want still 2", got)
	}
}

func TestExpiringCertificates(t *testing.T) {
	b := setup(t, 0)
	now := time.Now()
	submit := func(org semdgen.Org, key string, expiresIn time.Duration, n int) {
		t.Helper()
		s, err := semdgen.IssueSigners(org, semdgen.RandomPerson(b.rand, 77), now.AddDate(0, -1, 0), now.Add(expiresIn))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < n; i++ {
			if r := b.do("POST", "/api/v1/documents", key, b.build(semdgen.Options{Kind: "119", Org: org, Signers: &s}).Submission()); r.Status != 201 {
				t.Fatalf("%d %s", r.Status, r.Raw)
			}
		}
	}
	submit(b.orgA, b.keyA, 10*24*time.Hour, 3)
	submit(b.orgA, b.keyA, 100*24*time.Hour, 1)
	submit(b.orgB, b.keyB, 5*24*time.Hour, 1)
	b.do("POST", "/api/v1/documents", b.keyA, b.build(semdgen.Options{Kind: "119"}).Submission()) // standing signers: 2035

	list := func(key, query string) []map[string]any {
		t.Helper()
		r := b.do("GET", "/api/v1/certificates/expiring"+query, key, nil)
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", query, r.Status, r.Raw)
		}
		var out []map[string]any
		for _, it := range r.Body["items"].([]any) {
			out = append(out, it.(map[string]any))
		}
		return out
	}
	a := list(b.keyA, "?days=30")
	if len(a) != 2 {
		t.Fatalf("МИС A, 30 days: %d items: %v", len(a), a)
	}
	for _, it := range a {
		org := it["organization"].(map[string]any)
		if org["oid"] != b.orgA.OID || it["documents"].(float64) != 3 || it["days_left"].(float64) < 9 || it["days_left"].(float64) > 10 {
			t.Fatalf("item %v", it)
		}
	}
	if n := len(list(b.keyA, "?days=365")); n != 4 {
		t.Fatalf("МИС A, a year: %d items, want 4", n)
	}
	if bItems := list(b.keyB, ""); len(bItems) != 2 || bItems[0]["organization"].(map[string]any)["oid"] != b.orgB.OID {
		t.Fatalf("МИС B sees %v", bItems)
	}
	all := list(b.keyOp, "?days=30")
	if len(all) != 4 || all[0]["organization"].(map[string]any)["oid"] != b.orgB.OID {
		t.Fatalf("operator, 30 days: %v", all)
	}
	if r := b.do("GET", "/api/v1/certificates/expiring?days=0", b.keyOp, nil); r.Status != 400 || r.Body["code"] != codes.BadRequest {
		t.Fatalf("days=0: %d %s", r.Status, r.Raw)
	}
	if r := b.do("GET", "/api/v1/certificates/expiring", "", nil); r.Status != 401 {
		t.Fatalf("anonymous: %d", r.Status)
	}
}

// TestRevokedAtTheDoor: a signer certificate on its CA's CRL is refused
// with CERTIFICATE_REVOKED; other signers of the same CA pass.
func TestRevokedAtTheDoor(t *testing.T) {
	b := setup(t, 0)
	s, err := semdgen.IssueSigners(b.orgA, semdgen.RandomPerson(b.rand, 77), date(2025, 1, 1), date(2035, 1, 1))
	if err != nil {
		t.Fatal(err)
	}
	crl, err := semdgen.TestCRL(s.Doctor.Cert)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "test-ca.crl"), crl, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := b.app.Intake.Signatures.Verifier.LoadCRLs(dir); err != nil {
		t.Fatal(err)
	}
	r := b.do("POST", "/api/v1/documents", b.keyA, b.build(semdgen.Options{Kind: "119", Signers: &s}).Submission())
	if r.Status != 422 || r.Body["code"] != signature.CodeRevoked {
		t.Fatalf("revoked: %d %s", r.Status, r.Raw)
	}
	if r := b.do("POST", "/api/v1/documents", b.keyA, b.build(semdgen.Options{Kind: "119"}).Submission()); r.Status != 201 {
		t.Fatalf("not revoked: %d %s", r.Status, r.Raw)
	}
}
