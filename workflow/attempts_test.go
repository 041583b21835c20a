package workflow_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/sim"
	"github.com/emdhub/hub/internal/store"
	"github.com/emdhub/hub/workflow"
)

// submitCertificate submits a death certificate of МИС A and returns the id
// of its delivery to recipient.
func (e *env) submitCertificate(recipient string) uuid.UUID {
	e.t.Helper()
	d := semdgen.MustBuild(semdgen.Options{Kind: "58", Org: e.orgA, Rand: e.rand})
	st, body := e.do("POST", "/api/v1/documents", e.keyA, d.Submission())
	if st != 201 {
		e.t.Fatalf("submit certificate: %d %v", st, body)
	}
	var id uuid.UUID
	if err := e.app.Pool.QueryRow(context.Background(), `SELECT id FROM deliveries WHERE document_id = $1 AND recipient = $2`, body["id"], recipient).Scan(&id); err != nil {
		e.t.Fatal(err)
	}
	return id
}

type deliveryState struct {
	state, lastCode string
	attempts        int
}

func (e *env) delivery(id uuid.UUID) deliveryState {
	e.t.Helper()
	var d deliveryState
	if err := e.app.Pool.QueryRow(context.Background(), `SELECT state, coalesce(last_error_code, ''), attempts FROM deliveries WHERE id = $1`, id).
		Scan(&d.state, &d.lastCode, &d.attempts); err != nil {
		e.t.Fatal(err)
	}
	return d
}

// TestSlowAnswerIsATimeout: with HUB_SOAP_TIMEOUT=1s, an answer that takes
// 2.5 s is a timeout — on record, counted as an attempt — even though the
// job's own deadline (4 × 1 s + 5 s) would have waited for it.
func TestSlowAnswerIsATimeout(t *testing.T) {
	e := newEnv(t, map[string]string{"HUB_SOAP_TIMEOUT": "1s"})
	slow := sim.Duration(2500 * time.Millisecond)
	e.sims.Registry.SetFaults(map[string]sim.Faults{"SubmitMedicalCertificate": {LatencyMin: slow, LatencyMax: slow}})
	id := e.submitCertificate("zags")
	ctx := context.Background()
	e.waitFor("a timed-out attempt on record", func() bool {
		var n int
		_ = e.app.Pool.QueryRow(ctx, `SELECT count(*) FROM exchange_log WHERE subject_id = $1 AND outcome = 'timeout' AND code = 'TIMEOUT'
			AND http_status IS NULL AND duration_ms >= 1000`, id).Scan(&n)
		return n >= 1
	})
	if d := e.delivery(id); d.state == string(store.DelDelivered) || d.attempts < 1 {
		t.Fatalf("a slow answer was accepted, or its attempt not counted: %+v", d)
	}
	e.sims.Registry.SetFaults(nil)
	e.waitFor("the delivery once the registry is quick", func() bool { return e.delivery(id).state == string(store.DelDelivered) })
	var ok, status, logged, attempts int
	if err := e.app.Pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE outcome IN ('ok', 'duplicate')), max(http_status) FILTER (WHERE outcome IN ('ok', 'duplicate')), count(*)
		FROM exchange_log WHERE subject_id = $1`, id).Scan(&ok, &status, &logged); err != nil {
		t.Fatal(err)
	}
	attempts = e.delivery(id).attempts
	if ok != 1 || status != 200 || logged != attempts {
		t.Fatalf("exchange log: %d ok (HTTP %d), %d rows for %d attempts", ok, status, logged, attempts)
	}
}

// TestKilledCallIsOnRecord: a call its process never finished (a 'started'
// row left by an earlier run of the job) is settled as 'killed' when the
// job runs again and counted as an attempt of the delivery.
func TestKilledCallIsOnRecord(t *testing.T) {
	e := newEnv(t, nil)
	ctx := context.Background()
	e.sims.Registry.SetFaults(map[string]sim.Faults{"SubmitMedicalCertificate": {RateLimit: 1}})
	id := e.submitCertificate("zags")
	e.waitFor("a rate-limited attempt", func() bool { return e.delivery(id).attempts >= 1 })
	// River's snoozes do not count attempts: the job counts its rate limits itself.
	e.waitFor("rate limits counted in the job's metadata", func() bool {
		var n int
		_ = e.app.Pool.QueryRow(ctx, `SELECT coalesce((metadata->>'hub_rate_limited')::int, 0) FROM river_job WHERE kind = 'deliver_zags' AND args->>'delivery_id' = $1`, id.String()).Scan(&n)
		return n >= 2
	})
	var jobID int64
	if err := e.app.Pool.QueryRow(ctx, `SELECT id FROM river_job WHERE kind = 'deliver_zags' AND args->>'delivery_id' = $1`, id.String()).Scan(&jobID); err != nil {
		t.Fatal(err)
	}
	// The process that ran the job died during a call: its row says
	// 'started', and River's rescuer put the stuck run on the job's record
	// as an error (what tells the next run to reap, mayHaveDied).
	var killedRow int64
	if err := e.app.Pool.QueryRow(ctx, `INSERT INTO exchange_log (direction, peer, operation, subject_id, outcome, job_id, at)
		VALUES ('out', 'zags', 'SubmitMedicalCertificate', $1, 'started', $2, now() - interval '1 second') RETURNING id`, id, jobID).Scan(&killedRow); err != nil {
		t.Fatal(err)
	}
	if _, err := e.app.Pool.Exec(ctx, `UPDATE river_job SET errors = array_append(coalesce(errors, '{}'),
		jsonb_build_object('at', now(), 'attempt', 1, 'error', 'Stuck job rescued by Rescuer', 'trace', '')) WHERE id = $1`, jobID); err != nil {
		t.Fatal(err)
	}
	e.sims.Registry.SetFaults(nil)
	e.waitFor("the delivery", func() bool { return e.delivery(id).state == string(store.DelDelivered) })
	var outcome, code string
	var ms int
	if err := e.app.Pool.QueryRow(ctx, `SELECT outcome, coalesce(code, ''), duration_ms FROM exchange_log WHERE id = $1`, killedRow).Scan(&outcome, &code, &ms); err != nil {
		t.Fatal(err)
	}
	if outcome != workflow.OutcomeKilled || code != workflow.CodeKilled || ms < 1000 {
		t.Fatalf("the dead run's call is %s %s (%d ms), want killed", outcome, code, ms)
	}
	var logged, started int
	if err := e.app.Pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE outcome = 'started') FROM exchange_log WHERE subject_id = $1`, id).Scan(&logged, &started); err != nil {
		t.Fatal(err)
	}
	if d := e.delivery(id); logged != d.attempts || started != 0 {
		t.Fatalf("%d attempts counted for %d on record (%d still started)", d.attempts, logged, started)
	}
	// A call of a job that will never run again (discarded, deleted) is
	// settled by the periodic sweep.
	var orphan int64
	if err := e.app.Pool.QueryRow(ctx, `INSERT INTO exchange_log (direction, peer, operation, outcome, job_id)
		VALUES ('out', 'epgu', 'SendNotification', 'started', $1) RETURNING id`, jobID+1_000_000).Scan(&orphan); err != nil {
		t.Fatal(err)
	}
	e.waitFor("the orphaned call settled", func() bool {
		var o string
		_ = e.app.Pool.QueryRow(ctx, `SELECT outcome FROM exchange_log WHERE id = $1`, orphan).Scan(&o)
		return o == workflow.OutcomeKilled
	})
}

// TestValidationFaultWithHTTP200IsNotResent: a peer that answers a
// VALIDATION_ERROR ServiceFault with HTTP 200 and faultcode soap:Server
// gets exactly one request; the delivery fails with the peer's code.
func TestValidationFaultWithHTTP200IsNotResent(t *testing.T) {
	var requests atomic.Int32
	zags := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>refused</faultstring><detail><ServiceFault xmlns="urn:emdhub:zags:v1"><Code>VALIDATION_ERROR</Code><Message>certificate number already used by another certificate</Message></ServiceFault></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>`)
	}))
	defer zags.Close()
	e := newEnv(t, map[string]string{"HUB_ZAGS_URL": zags.URL + "/soap"})
	id := e.submitCertificate("zags")
	e.waitFor("the refusal", func() bool { return e.delivery(id).state == string(store.DelFailed) })
	time.Sleep(300 * time.Millisecond) // many retry periods (HUB_RETRY_MAX is 200ms here)
	if n := requests.Load(); n != 1 {
		t.Fatalf("a permanent refusal was sent %d times", n)
	}
	if d := e.delivery(id); d.lastCode != "VALIDATION_ERROR" || d.attempts != 1 {
		t.Fatalf("delivery: %+v", d)
	}
	var outcome string
	var status int
	if err := e.app.Pool.QueryRow(context.Background(), `SELECT outcome, http_status FROM exchange_log WHERE subject_id = $1`, id).Scan(&outcome, &status); err != nil {
		t.Fatal(err)
	}
	if outcome != "permanent" || status != 200 {
		t.Fatalf("exchange log: %s HTTP %d", outcome, status)
	}
}

// TestRetryAfterIsFollowed: a recipient answering HTTP 429 with
// Retry-After: 2 is asked again after those two seconds (HUB_RETRY_MAX is
// 200ms here, the old fixed snooze a minute), and both calls are on record
// with their HTTP status.
func TestRetryAfterIsFollowed(t *testing.T) {
	var requests atomic.Int32
	registry := sim.NewSet().Registry
	zags := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if requests.Add(1) == 1 {
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		registry.ServeHTTP(w, r)
	}))
	defer zags.Close()
	e := newEnv(t, map[string]string{"HUB_ZAGS_URL": zags.URL + "/soap"})
	id := e.submitCertificate("zags")
	e.waitFor("the delivery", func() bool { return e.delivery(id).state == string(store.DelDelivered) })
	rows, err := e.app.Pool.Query(context.Background(), `SELECT outcome, coalesce(http_status, 0), at FROM exchange_log WHERE subject_id = $1 ORDER BY id`, id)
	if err != nil {
		t.Fatal(err)
	}
	type call struct {
		outcome string
		status  int
		at      time.Time
	}
	var calls []call
	for rows.Next() {
		var c call
		if err := rows.Scan(&c.outcome, &c.status, &c.at); err != nil {
			t.Fatal(err)
		}
		calls = append(calls, c)
	}
	if len(calls) != 2 || calls[0].outcome != "rate_limited" || calls[0].status != 429 || calls[1].outcome != "ok" || calls[1].status != 200 {
		t.Fatalf("calls on record: %+v", calls)
	}
	if gap := calls[1].at.Sub(calls[0].at); gap < 2*time.Second {
		t.Fatalf("asked again after %s, before the peer's Retry-After of 2s", gap)
	}
}

// TestFirstRunsDoNotReap: a step's first run has no earlier run whose call
// could be left 'started', so it spends no statement looking for one (three
// per step before: begin, the update, commit); TestKilledCallIsOnRecord
// proves a run after a dead one still reaps.
func TestFirstRunsDoNotReap(t *testing.T) {
	e := newEnv(t, map[string]string{traceStatements: "1"})
	const certificates = 3
	for range certificates {
		e.submitCertificate("zags")
	}
	e.pollCount(`SELECT count(*) FROM deliveries WHERE state = 'delivered'`, 2*certificates, nil)
	n := e.stmts.snapshot()
	if n["DeliveryDelivered"] != 2*certificates {
		t.Fatalf("%d deliveries marked delivered through the traced pool, want %d", n["DeliveryDelivered"], 2*certificates)
	}
	if n["ReapKilled"] != 0 {
		t.Fatalf("%d ReapKilled statements for %d first runs, want none", n["ReapKilled"], 2*certificates)
	}
}
