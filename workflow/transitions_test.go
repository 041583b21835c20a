package workflow_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/workflow"
)

// TestTransitionsTable applies every transition of every flow from every
// state of its table: from an allowed state it applies (and leads to its
// to-state), from any other it changes nothing and reports the lost race.
func TestTransitionsTable(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	patient := semdgen.RandomPerson(e.rand, 77)
	links, docs := e.linked(1, 0, &patient)
	e.sims.Provider.Add(0, docs...)
	refDoc := e.submitReferral(links, &patient)
	e.waitState(refDoc, workflow.RefResultReceived)
	cert := semdgen.MustBuild(semdgen.Options{Kind: "58", Org: e.orgA, Rand: e.rand})
	st, body := e.do("POST", "/api/v1/documents", e.keyA, cert.Submission())
	if st != 201 {
		t.Fatal(st, body)
	}
	certDoc := body["id"].(string)
	e.waitFor("both deliveries", func() bool {
		var n int
		_ = e.app.Pool.QueryRow(ctx, `SELECT count(*) FROM deliveries WHERE document_id = $1 AND state = 'delivered'`, certDoc).Scan(&n)
		return n == 2
	})

	type docSet struct {
		id, org   uuid.UUID
		root, ext string
		version   int
	}
	setOf := func(doc string) docSet {
		var s docSet
		if err := e.app.Pool.QueryRow(ctx, `SELECT id, organization_id, set_root, set_extension, version_number FROM documents WHERE id = $1`, doc).
			Scan(&s.id, &s.org, &s.root, &s.ext, &s.version); err != nil {
			t.Fatal(err)
		}
		return s
	}
	var refID, delID uuid.UUID
	if err := e.app.Pool.QueryRow(ctx, `SELECT id FROM mse_referrals WHERE document_id = $1`, refDoc).Scan(&refID); err != nil {
		t.Fatal(err)
	}
	if err := e.app.Pool.QueryRow(ctx, `SELECT id FROM deliveries WHERE document_id = $1 AND recipient = 'zags'`, certDoc).Scan(&delID); err != nil {
		t.Fatal(err)
	}
	rs, cs := setOf(refDoc), setOf(certDoc)
	// The row each table's transitions work on, how to put it in a state, and how to read it.
	rows := map[string]struct {
		key      []any
		set, get string
	}{
		"mse_referrals": {[]any{refID}, `UPDATE mse_referrals SET state = $2 WHERE id = $1`, `SELECT state FROM mse_referrals WHERE id = $1`},
		"mse_links":     {[]any{refID, 1}, `UPDATE mse_links SET state = $3 WHERE referral_id = $1 AND ordinal = $2`, `SELECT state FROM mse_links WHERE referral_id = $1 AND ordinal = $2`},
		"deliveries":    {[]any{delID}, `UPDATE deliveries SET state = $2 WHERE id = $1`, `SELECT state FROM deliveries WHERE id = $1`},
	}
	// The arguments of each transition after the key (bulk ones: all of them).
	args := map[string][]any{
		"referral.assembled":  {refID},
		"referral.incomplete": {refID, "1 linked document missing"},
		"referral.send_retry": {refID, "TIMEOUT", "no answer"},
		"referral.failed":     {refID, "VALIDATION_ERROR", "refused"},
		"referral.sent":       {refID, "CASE-1", "msg-1"},
		"referral.accepted":   {refID},
		"referral.result":     {refID, "CASE-1"},
		"referral.returned":   {refID, "CASE-1", "package incomplete"},
		"referral.blocked":    {refID, "CERTIFICATE_EXPIRED", "expired"},
		"referral.refetch":    {refID, time.Now().Add(time.Hour)},
		"referral.superseded": {rs.id, rs.org, rs.root, rs.ext, rs.version + 1},
		"link.retry":          {refID, 1, "TIMEOUT", "no answer"},
		"link.fetched":        {refID, 1, nil, 1, nil, nil},
		"link.unavailable":    {refID, 1, nil, 1, "NOT_FOUND", "gone"},
		"link.invalid":        {refID, 1, nil, 0, "DIGEST_MISMATCH", "bad"},
		"link.refetch":        {refID},
		"delivery.retry":      {delID, "TIMEOUT", "no answer"},
		"delivery.failed":     {delID, "REFUSED", "refused"},
		"delivery.delivered":  {delID, "R-1", false},
		"delivery.blocked":    {delID, "CERTIFICATE_EXPIRED", "expired"},
		"delivery.replay":     {delID},
		"delivery.superseded": {cs.id, cs.org, cs.root, cs.ext, cs.version + 1},
	}
	names := map[string]bool{}
	refused := 0
	for _, tr := range workflow.Transitions {
		if names[tr.Name] {
			t.Fatalf("transition %s listed twice", tr.Name)
		}
		names[tr.Name] = true
		a, ok := args[tr.Name]
		if !ok {
			t.Fatalf("transition %s has no test arguments", tr.Name)
		}
		row := rows[tr.Table]
		for _, from := range workflow.States[tr.Table] {
			t.Run(tr.Name+"/from_"+from, func(t *testing.T) {
				tx, err := e.app.Pool.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer func() { _ = tx.Rollback(ctx) }()
				if _, err := tx.Exec(ctx, row.set, append(slices.Clone(row.key), from)...); err != nil {
					t.Fatal(err)
				}
				n, err := e.app.Engine.ApplyTransition(ctx, tx, tr, a...)
				var now string
				if qerr := tx.QueryRow(ctx, row.get, row.key...).Scan(&now); qerr != nil {
					t.Fatal(qerr)
				}
				if slices.Contains(tr.From, from) {
					if err != nil || n != 1 || now != tr.To {
						t.Fatalf("allowed: got n=%d err=%v state %s, want 1 row to %s", n, err, now, tr.To)
					}
					return
				}
				refused++
				if n != 0 || now != from {
					t.Fatalf("refused: %d rows changed, state %s", n, now)
				}
				var se *workflow.StaleTransitionError
				if tr.Bulk {
					if err != nil {
						t.Fatalf("a bulk transition matching nothing is no race: %v", err)
					}
				} else if !errors.As(err, &se) || !errors.Is(err, workflow.ErrStaleTransition) || se.Found != from || se.Transition != tr.Name {
					t.Fatalf("want a stale transition finding %s, got %v", from, err)
				}
			})
		}
	}
	var wantStale int64
	for _, tr := range workflow.Transitions {
		if !tr.Bulk {
			wantStale += int64(len(workflow.States[tr.Table]) - len(tr.From))
		}
	}
	var got int64
	for _, n := range e.app.Engine.StaleTransitions() {
		got += n
	}
	if got != wantStale {
		t.Fatalf("%d lost races counted, want %d (refused %d incl. bulk)", got, wantStale, refused)
	}
}

// TestResultBeforeSendCompletionIsKept: the bureau's result is stored and
// linked while the answer to SendReferral is still on its way (held here
// until the result is in the database); the send's completion commits after
// it and must not take the referral back to "sent".
func TestResultBeforeSendCompletionIsKept(t *testing.T) {
	var e *env
	release := make(chan struct{})
	e = newEnvWith(t, map[string]string{"HUB_SOAP_TIMEOUT": "20s"}, func(peer string, h http.Handler) http.Handler {
		if peer != "mse" {
			return h
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !strings.Contains(r.Header.Get("SOAPAction"), "SendReferral") {
				h.ServeHTTP(w, r)
				return
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			<-release // the result has been stored and linked
			for k, v := range rec.Header() {
				w.Header()[k] = v
			}
			w.WriteHeader(rec.Code)
			_, _ = w.Write(rec.Body.Bytes())
		})
	})
	ctx := context.Background()
	patient := semdgen.RandomPerson(e.rand, 77)
	links, docs := e.linked(1, 0, &patient)
	e.sims.Provider.Add(0, docs...)
	id := e.submitReferral(links, &patient)
	e.waitFor("the result stored while the send is unanswered", func() bool {
		var n int
		_ = e.app.Pool.QueryRow(ctx, `SELECT count(*) FROM mse_results res JOIN mse_referrals r ON r.id = res.referral_id
			WHERE r.document_id = $1 AND r.state = 'result_received'`, id).Scan(&n)
		return n == 1
	})
	close(release)
	e.waitFor("the send's completion", func() bool {
		var n int
		_ = e.app.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'mse_send' AND state = 'completed'`).Scan(&n)
		return n == 1
	})
	state, view := e.referralState(e.keyA, id)
	if state != workflow.RefResultReceived {
		t.Fatalf("the referral went back to %s after its result was taken: %v", state, view)
	}
	if view["case_id"] == nil || view["timeline"].(map[string]any)["sent"] == nil {
		t.Fatalf("what the send told is lost: %v", view)
	}
	if st, res := e.do("GET", "/api/v1/mse/referrals/"+id+"/result", e.keyA, nil); st != 200 || res["type"] != "RESULT" {
		t.Fatalf("the МИС cannot read its result: %d %v", st, res)
	}
	if n := e.app.Engine.StaleTransitions()["referral.sent"]; n != 1 {
		t.Fatalf("lost races of referral.sent: %d, want 1", n)
	}
	var outcome string
	if err := e.app.Pool.QueryRow(ctx, `SELECT outcome FROM exchange_log WHERE operation = 'SendReferral'`).Scan(&outcome); err != nil || outcome != "ok" {
		t.Fatalf("the send is not on record: %q %v", outcome, err)
	}
	var statusJobs int
	_ = e.app.Pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind = 'mse_status'`).Scan(&statusJobs)
	if statusJobs != 0 {
		t.Fatalf("a settled referral's status is followed (%d jobs)", statusJobs)
	}
}
