package workflow_test

import (
	"context"
	"testing"

	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/sim"
	"github.com/emdhub/hub/workflow"
)

// TestTroublesShowsEveryOverdueFlow: besides what is stopped, the troubles
// list shows flows still under way past their time — a referral sent with
// no result after HUB_RESULT_DEADLINE, a delivery snoozed again and again
// (its retries keep it "recent"), a referral whose links keep failing — each
// with its reason, age, attempts and last error.
func TestTroublesShowsEveryOverdueFlow(t *testing.T) {
	e := newEnv(t, map[string]string{"HUB_RESULT_DEADLINE": "1h"})
	ctx := context.Background()
	find := func(list []any, key, id string) map[string]any {
		for _, it := range list {
			if m := it.(map[string]any); m[key] == id {
				return m
			}
		}
		return nil
	}
	troubles := func(query string) map[string]any {
		st, tr := e.do("GET", "/api/v1/ops/troubles"+query, e.keyOp, nil)
		if st != 200 {
			t.Fatalf("troubles: %d %v", st, tr)
		}
		return tr
	}

	// A referral the bureau has (its results cannot be fetched): sent two hours ago.
	e.sims.Bureau.SetFaults(map[string]sim.Faults{"FetchResults": {Permanent: 1}})
	patient := semdgen.RandomPerson(e.rand, 77)
	links, docs := e.linked(1, 0, &patient)
	e.sims.Provider.Add(0, docs...)
	sent := e.submitReferral(links, &patient)
	e.waitFor("the referral sent", func() bool { s, _ := e.referralState(e.keyA, sent); return s == "sent" || s == "accepted" })
	if r := find(troubles("")["referrals"].([]any), "document_id", sent); r != nil {
		t.Fatalf("a referral sent just now is listed: %v", r)
	}
	if _, err := e.app.Pool.Exec(ctx, `UPDATE mse_referrals SET sent_at = now() - interval '2 hours' WHERE document_id = $1`, sent); err != nil {
		t.Fatal(err)
	}

	// A certificate the registry keeps rate-limiting.
	e.sims.Registry.SetFaults(map[string]sim.Faults{"SubmitMedicalCertificate": {RateLimit: 1}})
	del := e.submitCertificate("zags")
	e.waitFor("repeated snoozes", func() bool {
		var n int
		_ = e.app.Pool.QueryRow(ctx, `SELECT snoozes FROM deliveries WHERE id = $1`, del).Scan(&n)
		return n >= workflow.SnoozeTrouble
	})

	// A referral whose linked document the provider never gives.
	links2, docs2 := e.linked(1, 0, &patient)
	e.sims.Provider.Add(-1, docs2...)
	waiting := e.submitReferral(links2, &patient)
	e.waitFor("a link retrying", func() bool {
		_, v := e.referralState(e.keyA, waiting)
		l, _ := v["links"].([]any)
		return len(l) == 1 && l[0].(map[string]any)["state"] == "retrying"
	})

	tr := troubles("")
	r := find(tr["referrals"].([]any), "document_id", sent)
	if r == nil || r["reason"] != workflow.TroubleNoResult || r["age_seconds"].(float64) < 7200 || r["attempts"].(float64) != 1 {
		t.Fatalf("the referral without a result: %v", r)
	}
	d := find(tr["deliveries"].([]any), "id", del.String())
	if d == nil || d["reason"] != workflow.TroubleSnoozed || d["attempts"].(float64) < workflow.SnoozeTrouble || d["last_error_code"] != "RATE_LIMIT" {
		t.Fatalf("the delivery snoozed again and again: %v", d)
	}
	if w := find(tr["referrals"].([]any), "document_id", waiting); w != nil {
		t.Fatalf("a referral assembling for a moment is listed: %v", w)
	}
	w := find(troubles("?stuck_after=1ms")["referrals"].([]any), "document_id", waiting)
	if w == nil || w["reason"] != workflow.TroubleOverdue || w["state"] != "assembling" {
		t.Fatalf("the referral waiting on its link: %v", w)
	}
	l := w["links"].([]any)[0].(map[string]any)
	if l["attempts"].(float64) < 1 || l["last_error_code"] != "SERVICE_UNAVAILABLE" {
		t.Fatalf("its link: %v", l)
	}
}
