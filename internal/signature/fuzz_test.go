package signature

import (
	"crypto/x509"
	"testing"
	"time"
)

// FuzzVerify feeds arbitrary containers to the parser and the verifier:
// whatever arrives, the answer is a result or a coded *Error, never a panic.
//
//	go test ./internal/signature -run XXX -fuzz FuzzVerify -fuzztime 2m
func FuzzVerify(f *testing.F) {
	for _, name := range []string{"doctor256.p7s", "org512.p7s", "two-signers.p7s", "nocert256.p7s", "ecdsa.p7s", "cpb256.p7s", "doctor256-noattr.p7s"} {
		f.Add(read(f, name))
	}
	doc := read(f, "doc.xml")
	v := NewVerifier([]*x509.Certificate{readCert(f, "ca.pem")})
	f.Fuzz(func(t *testing.T, der []byte) {
		res, err := v.Verify(doc, der, docTime, time.Now())
		if err == nil && res == nil {
			t.Fatal("no result and no error")
		}
		if err != nil {
			if _, ok := err.(*Error); !ok {
				t.Fatalf("uncoded error %T: %v", err, err)
			}
		}
	})
}
