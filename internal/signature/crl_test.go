package signature

import (
	"crypto/x509"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/gost"
	"github.com/emdhub/hub/internal/signature/fixtures"
	"github.com/emdhub/hub/internal/testpki"
)

func TestRevocation(t *testing.T) {
	ca := readCert(t, "ca.pem")
	caKey, err := testpki.ParsePrivateKey(fixtures.File("ca.key"))
	if err != nil {
		t.Fatal(err)
	}
	doctor := readCert(t, "doctor256.pem")
	now := time.Now()
	crl, err := testpki.IssueCRL(ca, caKey, []*big.Int{doctor.SerialNumber}, now.Add(-time.Hour), now.Add(-time.Hour), now.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "ca.crl"), crl, 0o644); err != nil {
		t.Fatal(err)
	}
	// The CA certificate itself in the same directory is skipped, not misread.
	if err := os.WriteFile(filepath.Join(dir, "ca.pem"), fixtures.File("ca.pem"), 0o644); err != nil {
		t.Fatal(err)
	}
	if os.Getenv("WRITE_GO_CRL") != "" { // make-fixtures.sh checks it with OpenSSL
		_ = os.WriteFile(os.Getenv("WRITE_GO_CRL"), crl, 0o644)
	}
	v := NewVerifier([]*x509.Certificate{ca})
	doc := read(t, "doc.xml")
	if _, err := v.Verify(doc, read(t, "doctor256.p7s"), docTime, now); err != nil {
		t.Fatalf("before the CRL: %v", err)
	}
	if n, err := v.LoadCRLs(dir); err != nil || n != 1 {
		t.Fatalf("LoadCRLs: %d, %v", n, err)
	}
	if _, err := v.Verify(doc, read(t, "doctor256.p7s"), docTime, now); !hasCode(err, CodeRevoked) {
		t.Fatalf("revoked certificate: %v", err)
	}
	if _, err := v.Verify(doc, read(t, "org512.p7s"), docTime, now); err != nil {
		t.Fatalf("another certificate: %v", err)
	}
	if stale := v.StaleCRLs(now); len(stale) != 0 {
		t.Fatalf("fresh CRL reported stale: %v", stale)
	}
	if stale := v.StaleCRLs(now.Add(48 * time.Hour)); len(stale) != 1 {
		t.Fatalf("stale CRLs two days on: %v", stale)
	}
	if _, ok := v.Revoked(doctor.RawIssuer, doctor.SerialNumber.Text(16), now); !ok {
		t.Fatal("Revoked does not see it")
	}
	if _, ok := v.Revoked(doctor.RawIssuer, doctor.SerialNumber.Text(16), now.Add(-2*time.Hour)); ok {
		t.Fatal("revoked before its revocation time")
	}
	// A CRL signed by a key no trusted CA holds is refused, not silently used.
	rogue, _ := gost.GenerateKey(caKey.Curve, nil)
	bad, _ := testpki.IssueCRL(ca, rogue, []*big.Int{big.NewInt(1)}, now, now, now.Add(time.Hour))
	if err := os.WriteFile(filepath.Join(dir, "rogue.crl"), bad, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := v.LoadCRLs(dir); err == nil {
		t.Fatal("a CRL not signed by a trusted CA was accepted")
	}
}
