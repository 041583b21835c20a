package workflow_test

import (
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/emdhub/hub/internal/metrics"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/sim"
)

// exchangeCounts sums hub_exchange_seconds' counts by peer and outcome.
func exchangeCounts(t *testing.T) map[[2]string]uint64 {
	t.Helper()
	fams, err := metrics.NewRegistry(metrics.Sources{}).Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[[2]string]uint64{}
	for _, f := range fams {
		if f.GetName() != "hub_exchange_seconds" {
			continue
		}
		for _, m := range f.Metric {
			out[[2]string{label(m, "peer"), label(m, "outcome")}] += m.GetHistogram().GetSampleCount()
		}
	}
	return out
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.Label {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

// TestDeliveriesObservedByPeerAndOutcome delivers a death certificate
// while ЕПГУ is down for a moment: the exchange metrics count ЕГР ЗАГС's
// success and ЕПГУ's failed and then successful calls under their peers.
func TestDeliveriesObservedByPeerAndOutcome(t *testing.T) {
	e := newEnv(t, nil)
	now := time.Now()
	e.sims.Portal.SetFaults(map[string]sim.Faults{"*": {Outages: []sim.Window{{Start: now, End: now.Add(500 * time.Millisecond)}}}})
	before := exchangeCounts(t)
	d := semdgen.MustBuild(semdgen.Options{Kind: "58", Org: e.orgA, Rand: e.rand})
	st, body := e.do("POST", "/api/v1/documents", e.keyA, d.Submission())
	if st != 201 {
		t.Fatalf("submit: %d %v", st, body)
	}
	id := body["id"].(string)
	e.waitFor("both deliveries", func() bool {
		_, body := e.do("GET", "/api/v1/documents/"+id+"/deliveries", e.keyA, nil)
		items, _ := body["items"].([]any)
		done := 0
		for _, it := range items {
			if it.(map[string]any)["state"] == "delivered" {
				done++
			}
		}
		return len(items) == 2 && done == 2
	})
	after := exchangeCounts(t)
	delta := func(peer, outcome string) uint64 {
		k := [2]string{peer, outcome}
		return after[k] - before[k]
	}
	if delta("zags", "ok") < 1 || delta("epgu", "ok") < 1 {
		t.Errorf("successful calls not counted: zags %d, epgu %d", delta("zags", "ok"), delta("epgu", "ok"))
	}
	failed := uint64(0)
	for k := range after {
		if k[0] == "epgu" && k[1] != "ok" {
			failed += delta(k[0], k[1])
		}
	}
	if failed < 1 {
		t.Errorf("ЕПГУ's calls during its outage not counted as failures: %v", after)
	}
}
