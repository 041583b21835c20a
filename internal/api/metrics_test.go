package api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/metrics"
	"github.com/emdhub/hub/internal/semdgen"
)

// scrape reads the hub's /metrics over HTTP as Prometheus would.
func (b *bundle) scrape() map[string]*dto.MetricFamily {
	b.t.Helper()
	return scrapeHandler(b.t, b.app.MetricsHandler())
}

// processCounters reads the process-wide observations alone: River's
// counts are cached a few seconds, so the "before" scrape must not go
// through the hub's registry.
func processCounters(t testing.TB) map[string]*dto.MetricFamily {
	return scrapeHandler(t, metrics.Handler(metrics.NewRegistry(metrics.Sources{}), nil))
}

func scrapeHandler(t testing.TB, h http.Handler) map[string]*dto.MetricFamily {
	t.Helper()
	srv := httptest.NewServer(h)
	defer srv.Close()
	res, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("scrape: %s", res.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(res.Body)
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	return fams
}

// sample is the value of the series of name with exactly labels (a
// histogram's count), 0 if absent; found says whether it was there.
func sample(fams map[string]*dto.MetricFamily, name string, labels map[string]string) (v float64, found bool) {
	f := fams[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		if len(m.Label) != len(labels) {
			continue
		}
		for _, l := range m.Label {
			if want, ok := labels[l.GetName()]; !ok || want != l.GetValue() {
				continue next
			}
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		}
	}
	return 0, false
}

// TestMetricsAfterSubmissionAndRefusal scrapes /metrics before and after
// one accepted referral and one refused document and checks that the
// door's counters, the signature and ФЛК timings, the queues and the
// pool moved with the right labels.
func TestMetricsAfterSubmissionAndRefusal(t *testing.T) {
	b := setup(t, 0)
	accepted := map[string]string{"outcome": "accepted", "code": "", "kind": "121"}
	refused := map[string]string{"outcome": "refused", "code": codes.InvalidSNILS, "kind": "121"}
	repeat := map[string]string{"outcome": "repeat", "code": "", "kind": "121"}
	sigOK := map[string]string{"result": "ok"}
	flk := map[string]string{"kind": "121"}
	before := processCounters(t)

	d := b.build(semdgen.Options{Kind: "121", Links: []semdgen.Link{{Kind: "119", ID: "c1"}, {Kind: "186", ID: "l1"}}})
	if r := b.do("POST", "/api/v1/documents", b.keyA, d.Submission()); r.Status != http.StatusCreated {
		t.Fatalf("submit: %d %s", r.Status, r.Raw)
	}
	if r := b.do("POST", "/api/v1/documents", b.keyA, d.Submission()); r.Status != http.StatusOK {
		t.Fatalf("repeat: %d %s", r.Status, r.Raw)
	}
	bad := b.build(semdgen.Options{Kind: "121", Defects: []semdgen.Defect{semdgen.DefectBadSNILS}})
	if r := b.do("POST", "/api/v1/documents", b.keyA, bad.Submission()); r.Status != http.StatusUnprocessableEntity || r.Body["code"] != codes.InvalidSNILS {
		t.Fatalf("refusal: %d %s", r.Status, r.Raw)
	}
	after := b.scrape()

	moved := []struct {
		name   string
		labels map[string]string
		delta  float64 // at least
		exact  bool
	}{
		{"hub_intake_total", accepted, 1, true},
		{"hub_intake_total", repeat, 1, true},
		{"hub_intake_total", refused, 1, true},
		// Two signatures verified for the new document; the repeat hits
		// the verifier's cache.
		{"hub_signature_verify_seconds", sigOK, 2, false},
		// The refused document fails its header checks before the ФЛК:
		// two schematron runs (new and repeat), not three.
		{"hub_schematron_seconds", flk, 2, true},
	}
	for _, m := range moved {
		v0, _ := sample(before, m.name, m.labels)
		v1, ok := sample(after, m.name, m.labels)
		if !ok {
			t.Errorf("%s%v: no such series after the submissions", m.name, m.labels)
			continue
		}
		if d := v1 - v0; d < m.delta || m.exact && d != m.delta {
			t.Errorf("%s%v moved by %v, want %v", m.name, m.labels, d, m.delta)
		}
	}
	// The referral's first jobs wait in the fetch queue (no workers run here).
	if v, ok := sample(after, "hub_queue_depth", map[string]string{"queue": "fetch"}); !ok || v < 2 {
		t.Errorf("hub_queue_depth{queue=fetch} = %v (found %v), want the 2 link fetches", v, ok)
	}
	if v, ok := sample(after, "hub_river_jobs", map[string]string{"queue": "fetch", "state": "available"}); !ok || v < 2 {
		t.Errorf("hub_river_jobs{fetch,available} = %v (found %v)", v, ok)
	}
	if v, ok := sample(after, "hub_river_jobs", map[string]string{"queue": "zags", "state": "completed"}); !ok || v != 0 {
		t.Errorf("an empty queue is reported as 0: hub_river_jobs{zags,completed} = %v (found %v)", v, ok)
	}
	if v, _ := sample(after, "hub_river_stats_up", map[string]string{}); v != 1 {
		t.Errorf("hub_river_stats_up = %v", v)
	}
	if v, ok := sample(after, "hub_db_pool_conns", map[string]string{"state": "max"}); !ok || v < 1 {
		t.Errorf("hub_db_pool_conns{max} = %v (found %v)", v, ok)
	}
	if v, ok := sample(after, "hub_breaker_open", map[string]string{"peer": "zags"}); !ok || v != 0 {
		t.Errorf("hub_breaker_open{zags} = %v (found %v), want a closed breaker reported", v, ok)
	}
	// The error code label keeps to the hub's codes, the kind to NSI shapes.
	for _, m := range after["hub_intake_total"].GetMetric() {
		for _, l := range m.Label {
			if l.GetName() == "kind" && len(l.GetValue()) > 5 {
				t.Errorf("unbounded kind label %q", l.GetValue())
			}
		}
	}
}
