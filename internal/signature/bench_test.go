package signature

import (
	"crypto/x509"
	"runtime"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/testpki"

	"github.com/emdhub/hub/internal/testtool"
)

// BenchmarkVerify measures full verifications (digest of the document,
// signed attributes, GOST signature, certificate chain) per second on one
// goroutine, for 256- and 512-bit keys, as a running hub meets them:
//
//   - new-signer: a signature by a certificate never seen (its key parsed,
//     its chain to the trusted CA checked): the cold case;
//
//   - known-signer: a new signature by a certificate seen before (its chain
//     remembered, its key warm with a comb table);
//
//   - cached: the same signature over the same bytes again (a linked
//     document submitted earlier, a replay): answered from the cache.
//
//     go test ./internal/signature -run XXX -bench Verify -cpu 1
//
// scripts/bench-signatures runs this next to OpenSSL's gost engine.
func BenchmarkVerify(b *testing.B) {
	doc := read(b, "doc.xml")
	ca := readCert(b, "ca.pem")
	for _, tc := range []struct{ name, sig string }{{"256", "doctor256.p7s"}, {"512", "org512.p7s"}} {
		sig := read(b, tc.sig)
		b.Run(tc.name+"/new-signer", func(b *testing.B) {
			defer testtool.CPUPerOp(b)()
			v := NewVerifier([]*x509.Certificate{ca})
			for i := 0; i < b.N; i++ {
				v.mu.Lock()
				v.cache, v.edges, v.keys = map[[32]byte]cached{}, map[[64]byte]bool{}, map[[32]byte]*signer{}
				v.mu.Unlock()
				if _, err := v.Verify(doc, sig, docTime, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/known-signer", func(b *testing.B) {
			defer testtool.CPUPerOp(b)()
			v := NewVerifier([]*x509.Certificate{ca})
			for i := 0; i < b.N; i++ {
				v.mu.Lock()
				v.cache = map[[32]byte]cached{}
				v.mu.Unlock()
				if _, err := v.Verify(doc, sig, docTime, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(tc.name+"/cached", func(b *testing.B) {
			defer testtool.CPUPerOp(b)()
			v := NewVerifier([]*x509.Certificate{ca})
			for i := 0; i < b.N; i++ {
				if _, err := v.Verify(doc, sig, docTime, time.Now()); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkCacheFootprint reports the heap a cached verification keeps
// (bytes/entry): results of one signer share its certificate.
//
//	go test ./internal/signature -run XXX -bench CacheFootprint -benchtime 20000x
func BenchmarkCacheFootprint(b *testing.B) {
	doc := read(b, "doc.xml")
	cert := readCert(b, "doctor256.pem")
	key, err := testpki.ParsePrivateKey(read(b, "doctor256.key"))
	if err != nil {
		b.Fatal(err)
	}
	sigs := make([][]byte, b.N)
	for i := range sigs {
		if sigs[i], err = testpki.Sign(doc, cert, key, docTime.Add(time.Duration(i)*time.Second)); err != nil {
			b.Fatal(err)
		}
	}
	v := NewVerifier([]*x509.Certificate{readCert(b, "ca.pem")})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	b.ResetTimer()
	for _, sig := range sigs {
		if _, err := v.Verify(doc, sig, docTime, time.Now()); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(sigs) // counted in both readings, so not in the difference
	runtime.KeepAlive(v)
	b.ReportMetric(float64(int64(after.HeapAlloc)-int64(before.HeapAlloc))/float64(b.N), "bytes/entry")
}
