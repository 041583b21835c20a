package signature

import (
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/gost"
)

func readCert(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("fixtures", name))
	if err != nil {
		t.Fatal(err)
	}
	cs, err := ParseCertificates(b)
	if err != nil || len(cs) != 1 {
		t.Fatalf("%s: %d certificates, %v", name, len(cs), err)
	}
	return cs[0]
}

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("fixtures", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var docTime = time.Date(2026, 6, 1, 10, 0, 0, 0, time.UTC)

// TestStreebogMatchesOpenSSL cross-checks our hash with the gost engine's
// digests recorded by make-fixtures.sh.
func TestStreebogMatchesOpenSSL(t *testing.T) {
	for _, line := range strings.Split(strings.TrimSpace(string(read(t, "digests.txt"))), "\n") {
		f := strings.Fields(line)
		data := read(t, f[0])
		if d := gost.Sum256(data); hex.EncodeToString(d[:]) != f[1] {
			t.Errorf("%s: Streebog-256 %x, openssl %s", f[0], d, f[1])
		}
		if d := gost.Sum512(data); hex.EncodeToString(d[:]) != f[2] {
			t.Errorf("%s: Streebog-512 %x, openssl %s", f[0], d, f[2])
		}
	}
}

func TestFixtures(t *testing.T) {
	doc := read(t, "doc.xml")
	tampered := append([]byte{}, doc...)
	tampered[len(tampered)/2] ^= 1
	now := time.Now()
	tests := []struct {
		name    string
		sig     string
		content []byte
		doc     time.Time
		code    string
		bits    int
	}{
		{"doctor 256-bit TC26-A", "doctor256.p7s", doc, docTime, "", 256},
		{"organisation 512-bit TC26-A", "org512.p7s", doc, docTime, "", 512},
		{"256-bit CryptoPro-B", "cpb256.p7s", doc, docTime, "", 256},
		{"512-bit TC26-B", "org512b.p7s", doc, docTime, "", 512},
		{"tampered document", "doctor256.p7s", tampered, docTime, CodeDigestMismatch, 0},
		{"expired before the document", "expired256.p7s", doc, docTime, CodeNotAfter, 0},
		{"expired now", "expired256.p7s", doc, time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC), CodeNotActualNow, 0},
		{"not yet valid", "notyet256.p7s", doc, docTime, CodeNotBefore, 0},
		{"wrong key usage", "wrongku256.p7s", doc, docTime, CodeKeyUsage, 0},
		{"two signers", "two-signers.p7s", doc, docTime, CodeMultipleSigners, 0},
		{"no certificate inside", "nocert256.p7s", doc, docTime, CodeNoCertificate, 0},
		{"ECDSA, not GOST", "ecdsa.p7s", doc, docTime, CodeUnknownAlgorithm, 0},
	}
	v := NewVerifier([]*x509.Certificate{readCert(t, "ca.pem")})
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := v.Verify(tt.content, read(t, tt.sig), tt.doc, now)
			if tt.code == "" {
				if err != nil {
					t.Fatal(err)
				}
				if res.KeyBits != tt.bits || res.Subject == "" || res.SigningTime.IsZero() {
					t.Fatalf("result: %+v", res)
				}
				return
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.code {
				t.Fatalf("want %s, got %v", tt.code, err)
			}
		})
	}
}

func TestTamperedAndForeign(t *testing.T) {
	doc := read(t, "doc.xml")
	ca := readCert(t, "ca.pem")
	v := NewVerifier([]*x509.Certificate{ca})
	sig := read(t, "doctor256.p7s")
	bad := append([]byte{}, sig...)
	bad[len(bad)-1] ^= 0x01 // the last byte belongs to the signature value
	if _, err := v.Verify(doc, bad, docTime, time.Now()); !hasCode(err, CodeVerification) {
		t.Fatalf("tampered signature: %v", err)
	}
	// Wrong key: the doctor's signature checked against another signer's certificate.
	p, err := Parse(sig)
	if err != nil {
		t.Fatal(err)
	}
	p.Signer = readCert(t, "cpb256.pem")
	if _, err := v.verifyParsed(NewContent(doc), p); !hasCode(err, CodeVerification) {
		t.Fatalf("wrong key: %v", err)
	}
	// No trusted root: the CA is not configured.
	if _, err := NewVerifier(nil).Verify(doc, sig, docTime, time.Now()); !hasCode(err, CodeNoChain) {
		t.Fatalf("untrusted chain: %v", err)
	}
	// A CA whose name matches but whose key did not sign: another self-signed cert.
	if _, err := NewVerifier([]*x509.Certificate{readCert(t, "org512.pem")}).Verify(doc, sig, docTime, time.Now()); !hasCode(err, CodeNoChain) {
		t.Fatalf("foreign root: %v", err)
	}
	for _, garbage := range [][]byte{nil, []byte("hello"), {0x30, 0x03, 0x02, 0x01, 0x01}} {
		if _, err := v.Verify(doc, garbage, docTime, time.Now()); !hasCode(err, CodeDecoding) {
			t.Fatalf("garbage %x: %v", garbage, err)
		}
	}
}

func TestVerifyOnce(t *testing.T) {
	doc := read(t, "doc.xml")
	v := NewVerifier([]*x509.Certificate{readCert(t, "ca.pem")})
	for i := 0; i < 3; i++ {
		if _, err := v.Verify(doc, read(t, "doctor256.p7s"), docTime, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	if v.Verifications() != 1 {
		t.Fatalf("verified %d times, want once", v.Verifications())
	}
	// Date checks are not cached: the same signature checked for an old document fails.
	if _, err := v.Verify(doc, read(t, "doctor256.p7s"), time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC), time.Now()); !hasCode(err, CodeNotBefore) {
		t.Fatalf("cached result skipped the date check: %v", err)
	}
}

func hasCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

func TestParseBase64AndPEM(t *testing.T) {
	der := read(t, "doctor256.p7s")
	b64 := []byte(base64.StdEncoding.EncodeToString(der))
	armoured := pem.EncodeToMemory(&pem.Block{Type: "CMS", Bytes: der})
	for name, in := range map[string][]byte{"der": der, "base64": b64, "pem": armoured} {
		if _, err := Parse(in); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := Parse([]byte("not a signature")); !hasCode(err, CodeDecoding) {
		t.Errorf("garbage: %v", err)
	}
}

// TestCachedResultIsACopy: a cached verification answers with the same
// Result as the first one, and each caller gets its own copy, so what one
// caller changes never reaches the cache (the Result is built once per
// verified signature and shared by every hit).
func TestCachedResultIsACopy(t *testing.T) {
	doc := read(t, "doc.xml")
	v := NewVerifier([]*x509.Certificate{readCert(t, "ca.pem")})
	for _, name := range []string{"doctor256.p7s", "org512.p7s"} {
		first, err := v.Verify(doc, read(t, name), docTime, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		want := *first
		first.Subject, first.Serial, first.KeyBits = "changed", "changed", 1
		again, err := v.Verify(doc, read(t, name), docTime, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*again, want) {
			t.Fatalf("%s: cached result %+v, want %+v", name, *again, want)
		}
		if want.Subject == "" || want.Serial == "" || want.KeyBits == 0 {
			t.Fatalf("%s: empty result %+v", name, want)
		}
	}
	if n := v.Verifications(); n != 2 {
		t.Fatalf("%d cryptographic verifications, want 2", n)
	}
}

// TestCacheKeyBindsBoth: the cache key changes with any byte of the
// document or the signature and with the split between them, and a
// document changed after its signature was cached is refused, not answered
// from the cache.
func TestCacheKeyBindsBoth(t *testing.T) {
	doc, sig := read(t, "doc.xml"), read(t, "doctor256.p7s")
	v := NewVerifier([]*x509.Certificate{readCert(t, "ca.pem")})
	k := v.cacheKey(NewContent(doc), sig)
	if v.cacheKey(NewContent(doc), sig) != k {
		t.Fatal("the key of the same pair changed")
	}
	flip := func(b []byte, i int) []byte { c := append([]byte(nil), b...); c[i] ^= 1; return c }
	shifted := append(append([]byte(nil), sig...), doc[0])
	for name, other := range map[string][32]byte{
		"document's first byte": v.cacheKey(NewContent(flip(doc, 0)), sig),
		"document's last byte":  v.cacheKey(NewContent(flip(doc, len(doc)-1)), sig),
		"signature's last byte": v.cacheKey(NewContent(doc), flip(sig, len(sig)-1)),
		"split moved":           v.cacheKey(NewContent(doc[1:]), shifted),
		"document cut":          v.cacheKey(NewContent(doc[:len(doc)-1]), sig),
	} {
		if other == k {
			t.Fatalf("%s: same cache key", name)
		}
	}
	if NewVerifier(nil).cacheKey(NewContent(doc), sig) == k {
		t.Fatal("two verifiers share a fingerprint key")
	}
	if _, err := v.Verify(doc, sig, docTime, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(flip(doc, 100), sig, docTime, time.Now()); !hasCode(err, CodeDigestMismatch) {
		t.Fatalf("a changed document with a cached signature: %v", err)
	}
}

// TestContentDigestedOnce: the signatures of one document verified
// through one Content hash the document once per digest size, and each
// still gets its own verdict (a cached digest never stands in for another
// document's).
func TestContentDigestedOnce(t *testing.T) {
	doc := read(t, "doc.xml")
	v := NewVerifier([]*x509.Certificate{readCert(t, "ca.pem")})
	c := NewContent(doc)
	for _, sig := range []string{"doctor256.p7s", "cpb256.p7s", "doctor256-noattr.p7s", "org512.p7s", "org512b.p7s", "org512-noattr.p7s"} {
		if _, err := v.VerifyContent(c, read(t, sig), docTime, time.Now()); err != nil {
			t.Fatalf("%s: %v", sig, err)
		}
	}
	if n := v.ContentDigests(); n != 2 {
		t.Fatalf("%d digests of one document for six signatures (256 and 512 bits), want 2", n)
	}
	tampered := append([]byte{}, doc...)
	tampered[len(tampered)/2] ^= 1
	other := NewContent(tampered)
	for _, sig := range []string{"doctor256.p7s", "org512.p7s"} {
		if _, err := v.VerifyContent(other, read(t, sig), docTime, time.Now()); !hasCode(err, CodeDigestMismatch) {
			t.Fatalf("%s over other bytes: %v", sig, err)
		}
	}
	if n := v.ContentDigests(); n != 4 {
		t.Fatalf("%d digests after a second document, want 4", n)
	}
}

// TestSignerCertificateParsedOnce: a signer's certificate met again in
// another container is the one parsed before, not parsed again, and the
// signatures still verify (or fail) on their own.
func TestSignerCertificateParsedOnce(t *testing.T) {
	doc := read(t, "doc.xml")
	v := NewVerifier([]*x509.Certificate{readCert(t, "ca.pem")})
	if _, err := v.Verify(doc, read(t, "doctor256.p7s"), docTime, time.Now()); err != nil {
		t.Fatal(err)
	}
	parsed := v.parsedCerts.Load()
	if parsed == 0 {
		t.Fatal("no certificate parsed")
	}
	if _, err := v.Verify(doc, read(t, "doctor256-noattr.p7s"), docTime, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := v.parsedCerts.Load(); n != parsed {
		t.Fatalf("%d certificates parsed after the same signer's second container, want %d", n, parsed)
	}
	tampered := append([]byte{}, doc...)
	tampered[10] ^= 1
	if _, err := v.Verify(tampered, read(t, "doctor256-noattr.p7s"), docTime, time.Now()); !hasCode(err, CodeVerification) {
		t.Fatalf("the known signer over other bytes: %v", err)
	}
	if _, err := v.Verify(doc, read(t, "org512.p7s"), docTime, time.Now()); err != nil {
		t.Fatal(err)
	}
	if v.parsedCerts.Load() == parsed {
		t.Fatal("a new signer's certificate was not parsed")
	}
}
