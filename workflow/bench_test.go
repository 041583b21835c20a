package workflow_test

import (
	"context"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/semdgen"
)

// BenchmarkMSEFlows measures complete MSE flows per second: b.N referrals,
// each with 2 linked documents held by the provider, submitted over HTTP and
// taken through fetch, assembly, sending, the result and its acknowledgement,
// with every peer simulated at zero latency over loopback HTTP and the real
// database. Documents are generated before the clock starts.
//
//	go test ./workflow -run XXX -bench MSEFlows -benchtime 200x
func BenchmarkMSEFlows(b *testing.B) {
	e := newEnv(b, map[string]string{"HUB_RESULTS_POLL_INTERVAL": "50ms", "HUB_STATUS_POLL_INTERVAL": "1h"})
	var subs []semdgen.Submission
	for i := 0; i < b.N; i++ {
		patient := semdgen.RandomPerson(e.rand, 77)
		links, docs := e.linked(2, 0, &patient)
		e.sims.Provider.Add(0, docs...)
		subs = append(subs, semdgen.MustBuild(semdgen.Options{Kind: "121", Org: e.orgA, Patient: &patient, Links: links, Rand: e.rand}).Submission())
	}
	b.ResetTimer()
	start := time.Now()
	for _, s := range subs {
		if st, body := e.do("POST", "/api/v1/documents", e.keyA, s); st != 201 {
			b.Fatalf("submit: %d %v", st, body)
		}
	}
	e.pollCount(`SELECT count(*) FROM mse_referrals WHERE state = 'result_received'`, b.N, func() bool { return e.sims.Bureau.Pending() == 0 })
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "flows/s")
	if c := e.sims.Bureau.Counters()["SendReferral"]; c.Unique != b.N || c.Duplicates != 0 {
		b.Fatalf("bureau counters %+v for %d referrals", c, b.N)
	}
}

// BenchmarkCertificateDeliveries measures certificate deliveries per second:
// b.N death and birth certificates submitted over HTTP, each delivered to
// ЕГР ЗАГС and to ЕПГУ (2·b.N deliveries) by the real workers.
//
//	go test ./workflow -run XXX -bench CertificateDeliveries -benchtime 500x
func BenchmarkCertificateDeliveries(b *testing.B) {
	e := newEnv(b, nil)
	e.recordOGRNs() // 76 carries its organisation's ОГРН nowhere
	var subs []semdgen.Submission
	for i := 0; i < b.N; i++ {
		subs = append(subs, semdgen.MustBuild(semdgen.Options{Kind: []string{"58", "76"}[i%2], Org: e.orgA, Rand: e.rand}).Submission())
	}
	b.ResetTimer()
	start := time.Now()
	for _, s := range subs {
		if st, body := e.do("POST", "/api/v1/documents", e.keyA, s); st != 201 {
			b.Fatalf("submit: %d %v", st, body)
		}
	}
	e.pollCount(`SELECT count(*) FROM deliveries WHERE state = 'delivered'`, 2*b.N, nil)
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(2*b.N)/elapsed.Seconds(), "deliveries/s")
	z, p := e.sims.Registry.Counters()["SubmitMedicalCertificate"], e.sims.Portal.Counters()["SendNotification"]
	if z.Unique != b.N || p.Unique != b.N {
		b.Fatalf("zags %+v epgu %+v for %d certificates", z, p, b.N)
	}
}

// pollCount waits, polling every 5 ms (fine-grained: it ends a timed run),
// until the query counts want rows and more() holds.
func (e *env) pollCount(query string, want int, more func() bool, args ...any) {
	e.t.Helper()
	start := time.Now()
	for {
		var n int
		if err := e.app.Pool.QueryRow(context.Background(), query, args...).Scan(&n); err != nil {
			e.t.Fatal(err)
		}
		if n == want && (more == nil || more()) {
			return
		}
		if time.Since(start) > 5*time.Minute {
			e.t.Fatalf("gave up waiting: %q counts %d, want %d", query, n, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
