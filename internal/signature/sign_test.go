package signature

import (
	"crypto/x509"
	"os"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/gost"
	"github.com/emdhub/hub/internal/testpki"
)

// TestSignVerifies: a signature made by Sign verifies, for 256- and 512-bit
// keys, and is refused for other content. (make-fixtures.sh cross-checks Go
// signatures with `openssl cms -verify` when the gost engine is installed.)
func TestSignVerifies(t *testing.T) {
	doc := read(t, "doc.xml")
	v := NewVerifier([]*x509.Certificate{readCert(t, "ca.pem")})
	for _, name := range []string{"doctor256", "org512", "cpb256", "org512b"} {
		keyPEM := read(t, name+".key")
		key, err := testpki.ParsePrivateKey(keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		cert := readCert(t, name+".pem")
		if pub := key.Public(); pub.X.Cmp(mustPub(t, cert).X) != 0 {
			t.Fatalf("%s: key does not match the certificate", name)
		}
		sig, err := testpki.Sign(doc, cert, key, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		if _, err := v.Verify(doc, sig, docTime, time.Now()); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := v.Verify(append([]byte{' '}, doc...), sig, docTime, time.Now()); !hasCode(err, CodeDigestMismatch) {
			t.Fatalf("%s: other content: %v", name, err)
		}
		if os.Getenv("WRITE_GO_SIGNATURES") != "" {
			_ = os.WriteFile(os.Getenv("WRITE_GO_SIGNATURES")+"/"+name+".p7s", sig, 0o644)
		}
	}
}

func mustPub(t *testing.T, c *x509.Certificate) *gost.PublicKey {
	p, err := PublicKey(c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
