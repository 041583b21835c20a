package zags_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/emdhub/hub/adapters/zags"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/sim"
	"github.com/emdhub/hub/internal/soapx"
)

// BenchmarkSubmitRoundTrip is one adapter round trip against its simulator
// over real HTTP on loopback: a 10 KB death certificate marshalled by the
// generated code, sent through the shared transport, parsed and registered by
// the simulator, and the receipt decoded. Every call is a new certificate
// (series+number and message id), so the simulator does the full work.
//
//	go test ./adapters/zags -run XXX -bench RoundTrip -benchmem
func BenchmarkSubmitRoundTrip(b *testing.B) {
	reg := sim.NewRegistry()
	srv := httptest.NewServer(reg)
	defer srv.Close()
	c := zags.New(srv.URL+"/soap", soapx.Options{CallTimeout: 10 * time.Second})
	tmpl := semdgen.MustBuild(semdgen.Options{Kind: "58"})
	certs := make([]zags.Certificate, b.N)
	for i := range certs {
		num := "1" + strconv.Itoa(10000000+i)
		d := semdgen.MustBuild(semdgen.Options{Kind: "58", Number: num, Series: tmpl.Series, Patient: &tmpl.Patient})
		certs[i] = zags.Certificate{MessageID: soapx.MessageID("bench", num), SenderOrgOID: semdgen.NewOrg(77, 1).OID, Type: zags.Death, Series: d.Series, Number: num, Document: d.Signed()}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for i := 0; i < b.N; i++ {
		if _, err := c.Submit(ctx, certs[i]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "calls/s")
}
