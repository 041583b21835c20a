package signature

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/gost"
	"github.com/emdhub/hub/internal/signature/fixtures"
	"github.com/emdhub/hub/internal/testpki"
)

// TestNoSignedAttributes: a CMS without signed attributes (RFC 5652 §5.4:
// the signature is over the content's digest) is accepted when that
// signature verifies — made by OpenSSL's gost engine (`cms -sign -noattr`,
// committed fixtures) or by SignWithoutAttributes — and refused with
// SIGNATURE_VERIFICATION_ERROR over other bytes or with a damaged value.
func TestNoSignedAttributes(t *testing.T) {
	doc := read(t, "doc.xml")
	other := append([]byte{' '}, doc...)
	v := NewVerifier([]*x509.Certificate{readCert(t, "ca.pem")})
	type sigCase struct {
		name string
		sig  []byte
		bits int
	}
	cases := []sigCase{
		{"openssl 256", read(t, "doctor256-noattr.p7s"), 256},
		{"openssl 512", read(t, "org512-noattr.p7s"), 512},
	}
	for _, name := range []string{"doctor256", "org512", "cpb256", "org512b"} {
		key, err := testpki.ParsePrivateKey(read(t, name+".key"))
		if err != nil {
			t.Fatal(err)
		}
		sig, err := testpki.SignWithoutAttributes(doc, readCert(t, name+".pem"), key)
		if err != nil {
			t.Fatal(err)
		}
		bits := 256
		if key.Curve.Size() == 64 {
			bits = 512
		}
		cases = append(cases, sigCase{"go " + name, sig, bits})
		if dir := os.Getenv("WRITE_GO_SIGNATURES"); dir != "" {
			_ = os.WriteFile(filepath.Join(dir, name+"-noattr.p7s"), sig, 0o644)
		}
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(tc.sig)
			if err != nil || !p.NoSignedAttrs {
				t.Fatalf("parse: %v, no signed attributes %v", err, p != nil && p.NoSignedAttrs)
			}
			res, err := v.Verify(doc, tc.sig, docTime, time.Now())
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if res.KeyBits != tc.bits || !res.SigningTime.IsZero() {
				t.Fatalf("result: %+v", res)
			}
			if _, err := v.Verify(other, tc.sig, docTime, time.Now()); !hasCode(err, CodeVerification) {
				t.Fatalf("other bytes: %v", err)
			}
			bad := append([]byte{}, tc.sig...)
			bad[len(bad)-1] ^= 0x01 // inside the signature value, the container's last element
			if _, err := v.Verify(doc, bad, docTime, time.Now()); !hasCode(err, CodeVerification) {
				t.Fatalf("damaged value: %v", err)
			}
		})
	}
}

// TestChainDoesNotDependOnHistory: the chain is built from what the
// container carries and the configured intermediates only. A leaf whose
// intermediate was carried once is refused when a later container of the
// same leaf lacks it (the old per-certificate chain cache let it pass), as is
// another leaf under the same intermediate; with the intermediate configured
// (HUB_INTERMEDIATE_CA_DIR) both pass without carrying it.
func TestChainDoesNotDependOnHistory(t *testing.T) {
	ca := readCert(t, "ca.pem")
	caKey, err := testpki.ParsePrivateKey(fixtures.File("ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	nb := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	issue := func(tmpl testpki.Template, issuer *x509.Certificate, issuerKey *gost.PrivateKey) (*x509.Certificate, *gost.PrivateKey) {
		key, err := gost.GenerateKey(gost.CurveTC26256A, nil)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.NotBefore, tmpl.NotAfter = nb, nb.AddDate(5, 0, 0)
		c, err := testpki.Issue(tmpl, key.Public(), issuer, issuerKey)
		if err != nil {
			t.Fatal(err)
		}
		return c, key
	}
	inter, interKey := issue(testpki.Template{CommonName: "Промежуточный УЦ", Organization: "УЦ", IsCA: true}, ca, caKey)
	leafA, keyA := issue(testpki.Template{CommonName: "Врач А"}, inter, interKey)
	leafB, keyB := issue(testpki.Template{CommonName: "Врач Б"}, inter, interKey)
	doc := fixtures.File("doc.xml")
	at := nb.AddDate(1, 0, 0)
	sign := func(content []byte, c *x509.Certificate, k *gost.PrivateKey, chain ...*x509.Certificate) []byte {
		s, err := testpki.Sign(content, c, k, at, chain...)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	v := NewVerifier([]*x509.Certificate{ca})
	docA2 := append(append([]byte{}, doc...), ' ') // every step signs other bytes: no cached result helps
	docA3 := append(append([]byte{}, doc...), '\n')
	steps := []struct {
		name    string
		content []byte
		sig     []byte
		code    string
	}{
		{"A with the intermediate carried", doc, sign(doc, leafA, keyA, inter), ""},
		{"A again, without it", docA2, sign(docA2, leafA, keyA), CodeNoChain},
		{"B under the same intermediate, without it", doc, sign(doc, leafB, keyB), CodeNoChain},
		{"A with it again", docA3, sign(docA3, leafA, keyA, inter), ""},
	}
	for _, s := range steps {
		_, err := v.Verify(s.content, s.sig, at, at)
		if (s.code == "" && err != nil) || (s.code != "" && !hasCode(err, s.code)) {
			t.Fatalf("%s: %v, want %q", s.name, err, s.code)
		}
	}

	// The intermediate configured: containers that lack it pass.
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "inter.cer"), inter.Raw, 0o644); err != nil {
		t.Fatal(err)
	}
	inters, err := LoadRoots(dir)
	if err != nil {
		t.Fatal(err)
	}
	vc := NewVerifier([]*x509.Certificate{ca})
	if n := vc.SetIntermediates(append(inters, leafA)); n != 1 { // a leaf is no intermediate
		t.Fatalf("kept %d intermediates, want 1", n)
	}
	for name, sig := range map[string][]byte{"A": sign(doc, leafA, keyA), "B": sign(doc, leafB, keyB)} {
		if _, err := vc.Verify(doc, sig, at, at); err != nil {
			t.Fatalf("%s with the intermediate configured: %v", name, err)
		}
	}
	// A configured leaf is not an issuer: a certificate it "signed" has no chain.
	rogue, rogueKey := issue(testpki.Template{CommonName: "Подделка"}, leafA, keyA)
	if _, err := vc.Verify(doc, sign(doc, rogue, rogueKey), at, at); !hasCode(err, CodeNoChain) {
		t.Fatalf("issued by a leaf: %v", err)
	}
}
