package workflow_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/store"
)

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
	if state != string(store.RefResultReceived) {
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
