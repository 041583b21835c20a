package signature

import (
	"crypto/x509"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/gost"
	"github.com/emdhub/hub/internal/signature/fixtures"
	"github.com/emdhub/hub/internal/testpki"
)

func TestIssueAndVerify(t *testing.T) {
	ca := readCert(t, "ca.pem")
	caKey, err := testpki.ParsePrivateKey(fixtures.File("ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	doc := fixtures.File("doc.xml")
	for _, tc := range []struct {
		curve *gost.Curve
		ku    x509.KeyUsage
		code  string
	}{
		{gost.CurveTC26256A, 0, ""},
		{gost.CurveTC26512A, 0, ""},
		{gost.CurveCryptoProA, 0, ""},
		{gost.CurveTC26256A, x509.KeyUsageKeyEncipherment, CodeKeyUsage},
	} {
		t.Run(tc.curve.Name, func(t *testing.T) {
			key, err := gost.GenerateKey(tc.curve, nil)
			if err != nil {
				t.Fatal(err)
			}
			nb := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
			cert, err := testpki.Issue(testpki.Template{CommonName: "Тестов Тест", Organization: "ГБУЗ", OGRN: "1037739010891", SNILS: "11223344595",
				NotBefore: nb, NotAfter: nb.AddDate(5, 0, 0), KeyUsage: tc.ku}, key.Public(), ca, caKey)
			if err != nil {
				t.Fatal(err)
			}
			if OGRN(cert) != "1037739010891" || SNILS(cert) != "11223344595" || cert.Subject.CommonName != "Тестов Тест" {
				t.Fatalf("subject %v", cert.Subject)
			}
			if !cert.NotAfter.Equal(nb.AddDate(5, 0, 0)) {
				t.Fatalf("notAfter %v", cert.NotAfter)
			}
			sig, err := testpki.Sign(doc, cert, key, nb.AddDate(1, 0, 0))
			if err != nil {
				t.Fatal(err)
			}
			v := NewVerifier([]*x509.Certificate{ca})
			_, err = v.Verify(doc, sig, nb.AddDate(1, 0, 0), nb.AddDate(1, 0, 0))
			if (tc.code == "" && err != nil) || (tc.code != "" && !hasCode(err, tc.code)) {
				t.Fatalf("verify: %v, want code %q", err, tc.code)
			}
		})
	}
}

// TestIntermediateCA: a signer certified by an intermediate CA verifies when
// the container carries the intermediate, not without it, and not through
// an "intermediate" that is no CA.
func TestIntermediateCA(t *testing.T) {
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
	inter, interKey := issue(testpki.Template{CommonName: "Аккредитованный УЦ", Organization: "УЦ", IsCA: true}, ca, caKey)
	if !inter.IsCA || inter.KeyUsage&x509.KeyUsageCertSign == 0 {
		t.Fatalf("intermediate: CA %v, key usage %b", inter.IsCA, inter.KeyUsage)
	}
	leaf, leafKey := issue(testpki.Template{CommonName: "Врач", OGRN: "1037739010891"}, inter, interKey)
	notCA, notCAKey := issue(testpki.Template{CommonName: "Не УЦ"}, ca, caKey)
	leaf2, leaf2Key := issue(testpki.Template{CommonName: "Врач 2"}, notCA, notCAKey)

	doc := fixtures.File("doc.xml")
	at := nb.AddDate(1, 0, 0)
	for _, tc := range []struct {
		name  string
		cert  *x509.Certificate
		key   *gost.PrivateKey
		chain []*x509.Certificate
		code  string
	}{
		{"intermediate carried", leaf, leafKey, []*x509.Certificate{inter}, ""},
		{"intermediate missing", leaf, leafKey, nil, CodeNoChain},
		{"issuer is no CA", leaf2, leaf2Key, []*x509.Certificate{notCA}, CodeNoChain},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sig, err := testpki.Sign(doc, tc.cert, tc.key, at, tc.chain...)
			if err != nil {
				t.Fatal(err)
			}
			v := NewVerifier([]*x509.Certificate{ca})
			_, err = v.Verify(doc, sig, at, at)
			if (tc.code == "" && err != nil) || (tc.code != "" && !hasCode(err, tc.code)) {
				t.Fatalf("verify: %v, want %q", err, tc.code)
			}
		})
	}
}
