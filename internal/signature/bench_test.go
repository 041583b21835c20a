package signature

import (
	"crypto/x509"
	"testing"
	"time"
)

// BenchmarkVerify measures full verifications (digest of the document,
// signed attributes, GOST signature, certificate chain) per second on one
// goroutine, cold (cache bypassed) and cached, for 256- and 512-bit keys.
//
//	go test ./internal/signature -run XXX -bench Verify -cpu 1
func BenchmarkVerify(b *testing.B) {
	doc := read(b, "doc.xml")
	ca := readCert(b, "ca.pem")
	for _, tc := range []struct{ name, sig string }{{"256", "doctor256.p7s"}, {"512", "org512.p7s"}} {
		sig := read(b, tc.sig)
		b.Run(tc.name+"/cold", func(b *testing.B) { // nothing cached: signature and chain
			for i := 0; i < b.N; i++ {
				v := NewVerifier([]*x509.Certificate{ca})
				if _, err := v.Verify(doc, sig, docTime, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/known-certificate", func(b *testing.B) { // a new signature by a known signer
			v := NewVerifier([]*x509.Certificate{ca})
			for i := 0; i < b.N; i++ {
				if _, err := v.Verify(doc, sig, docTime, time.Now()); err != nil {
					b.Fatal(err)
				}
				v.mu.Lock()
				v.cache = map[[32]byte]cached{}
				v.mu.Unlock()
			}
		})
		b.Run(tc.name+"/cached", func(b *testing.B) {
			v := NewVerifier([]*x509.Certificate{ca})
			for i := 0; i < b.N; i++ {
				if _, err := v.Verify(doc, sig, docTime, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
