package workflow_test

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/sim"
	"github.com/emdhub/hub/workflow"
)

// eventDeliveries returns a document's ЕПГУ deliveries by event.
func (e *env) eventDeliveries(doc string) map[string]map[string]any {
	e.t.Helper()
	st, body := e.do("GET", "/api/v1/documents/"+doc+"/deliveries", e.keyA, nil)
	if st != 200 {
		e.t.Fatalf("deliveries: %d %v", st, body)
	}
	out := map[string]map[string]any{}
	items, _ := body["items"].([]any)
	for _, it := range items {
		m := it.(map[string]any)
		if m["recipient"] == "epgu" {
			out[m["event"].(string)] = m
		}
	}
	return out
}

// TestMSEEventsReachTheCitizenOnce: the bureau registers the referral
// (MSE_REFERRAL_ACCEPTED, raised by the send's receipt and again by the
// status poll), then decides (MSE_RESULT_READY); ЕПГУ is down
// at first, so both are retried until it is back; each reaches the portal
// once, is shown among the referral document's deliveries under its
// contract name, and raising an event again (a step re-run, a result
// fetched again) changes nothing.
func TestMSEEventsReachTheCitizenOnce(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.sims.Bureau.ResultDelay = 300 * time.Millisecond
	now := time.Now()
	e.sims.Portal.SetFaults(map[string]sim.Faults{"*": {Outages: []sim.Window{{Start: now, End: now.Add(1500 * time.Millisecond)}}}})
	patient := semdgen.RandomPerson(e.rand, 77)
	links, docs := e.linked(1, 0, &patient)
	e.sims.Provider.Add(0, docs...)
	id := e.submitReferral(links, &patient)
	e.waitState(id, "result_received")
	e.waitFor("both events delivered", func() bool {
		d := e.eventDeliveries(id)
		return len(d) == 2 && d["MSE_REFERRAL_ACCEPTED"]["state"] == "delivered" && d["MSE_RESULT_READY"]["state"] == "delivered"
	})
	p := e.sims.Portal.Counters()["SendNotification"]
	if p.Unique != 2 || p.Duplicates != 0 || p.Faults["outage"] == 0 {
		t.Fatalf("portal counters: %+v", p)
	}

	// Raised again, in a step's transaction: no second delivery, no job.
	var refID uuid.UUID
	if err := e.app.Pool.QueryRow(ctx, `SELECT id FROM mse_referrals WHERE document_id = $1`, id).Scan(&refID); err != nil {
		t.Fatal(err)
	}
	for _, ev := range []string{"MSE_REFERRAL_ACCEPTED", "MSE_RESULT_READY"} {
		if err := pgx.BeginFunc(ctx, e.app.Pool, func(tx pgx.Tx) error {
			return workflow.TellCitizenOfReferral(e.app.Engine, ctx, tx, refID, ev)
		}); err != nil {
			t.Fatal(err)
		}
	}
	var rows, jobs int
	_ = e.app.Pool.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE document_id = $1`, id).Scan(&rows)
	_ = e.app.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'deliver_epgu'`).Scan(&jobs)
	if rows != 2 || jobs != 2 {
		t.Fatalf("after raising the events again: %d deliveries, %d jobs", rows, jobs)
	}
	time.Sleep(300 * time.Millisecond)
	if p := e.sims.Portal.Counters()["SendNotification"]; p.Received-p.Faults["outage"] != 2 {
		t.Fatalf("portal counters after raising again: %+v", p)
	}
}

// TestMSEEventsOfCitizensWhoCannotBeTold: a citizen without an ЕПГУ
// account, and a referral naming no СНИЛС, are recorded as not notifiable
// with the reason, never retried and not among the troubles.
func TestMSEEventsOfCitizensWhoCannotBeTold(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	noAccount := semdgen.RandomPerson(e.rand, 77)
	e.sims.Portal.SetNoAccount(noAccount.SNILS)
	links, docs := e.linked(1, 0, &noAccount)
	e.sims.Provider.Add(0, docs...)
	refA := e.submitReferral(links, &noAccount)

	noSNILS := semdgen.RandomPerson(e.rand, 77)
	links2, docs2 := e.linked(1, 0, &noSNILS)
	e.sims.Provider.Add(0, docs2...)
	refB := e.submitReferral(links2, &noSNILS)
	// The hub knows no СНИЛС of this patient (the referral's header as stored).
	if _, err := e.app.Pool.Exec(ctx, `UPDATE documents SET patient_snils = NULL WHERE id = $1`, refB); err != nil {
		t.Fatal(err)
	}
	for ref, code := range map[string]string{refA: "NO_PORTAL_ACCOUNT", refB: "NO_RECIPIENT_SNILS"} {
		e.waitState(ref, "result_received")
		e.waitFor("events recorded as not notifiable", func() bool {
			d := e.eventDeliveries(ref)
			return len(d) == 2 && d["MSE_REFERRAL_ACCEPTED"]["state"] == "not_notifiable" && d["MSE_RESULT_READY"]["state"] == "not_notifiable"
		})
		for ev, d := range e.eventDeliveries(ref) {
			if d["last_error_code"] != code || d["last_error"] == nil {
				t.Fatalf("%s of %s: %v", ev, ref, d)
			}
		}
	}
	time.Sleep(400 * time.Millisecond) // several retry periods
	if p := e.sims.Portal.Counters()["SendNotification"]; p.Received != 2 {
		t.Fatalf("the portal was called %d times, want once per event of the citizen with a СНИЛС: %+v", p.Received, p)
	}
	_, tr := e.do("GET", "/api/v1/ops/troubles", e.keyOp, nil)
	if n := len(tr["deliveries"].([]any)); n != 0 {
		t.Fatalf("not-notifiable citizens listed as troubles: %v", tr)
	}
}

// TestMSEReturnToldToTheCitizen: the bureau returns a package (here one
// whose linked documents were lost on the way to it): the citizen is told
// MSE_REFERRAL_RETURNED, besides MSE_REFERRAL_ACCEPTED, once each.
func TestMSEReturnToldToTheCitizen(t *testing.T) {
	linked := regexp.MustCompile(`(?s)<LinkedDocument[ >].*?</LinkedDocument>`)
	e := newEnvWith(t, nil, func(peer string, h http.Handler) http.Handler {
		if peer != "mse" {
			return h
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			if bytes.Contains(b, []byte("SendReferralRequest")) {
				b = linked.ReplaceAll(b, nil)
			}
			r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(b)), int64(len(b))
			h.ServeHTTP(w, r)
		})
	})
	patient := semdgen.RandomPerson(e.rand, 77)
	links, docs := e.linked(1, 0, &patient)
	e.sims.Provider.Add(0, docs...)
	id := e.submitReferral(links, &patient)
	e.waitState(id, "returned")
	e.waitFor("the events delivered", func() bool {
		d := e.eventDeliveries(id)
		return len(d) == 2 && d["MSE_REFERRAL_ACCEPTED"]["state"] == "delivered" && d["MSE_REFERRAL_RETURNED"]["state"] == "delivered"
	})
	if p := e.sims.Portal.Counters()["SendNotification"]; p.Unique != 2 || p.Duplicates != 0 {
		t.Fatalf("portal counters: %+v", p)
	}
}
