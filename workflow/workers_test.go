package workflow_test

import (
	"context"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"
	"github.com/riverqueue/river/rivertest"
	"github.com/riverqueue/river/rivertype"

	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/store"
	"github.com/emdhub/hub/workflow"
)

// poolTx hands rivertest.Worker the pool as its "transaction". Each step
// commits its own transactions on the pool (state, exchange-log row, next
// job and its own completion together), so the job row rivertest works
// must be committed and visible to them, not held in a test transaction.
type poolTx struct {
	pgx.Tx // unused methods
	pool   *pgxpool.Pool
}

func (p poolTx) Begin(ctx context.Context) (pgx.Tx, error) { return p.pool.Begin(ctx) }
func (p poolTx) Commit(context.Context) error              { return nil }
func (p poolTx) Rollback(context.Context) error            { return nil }
func (p poolTx) Config() *pgxpool.Config                   { return p.pool.Config() }
func (p poolTx) Conn() *pgx.Conn                           { return nil }
func (p poolTx) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	return p.pool.Exec(ctx, sql, args...)
}
func (p poolTx) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	return p.pool.Query(ctx, sql, args...)
}
func (p poolTx) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return p.pool.QueryRow(ctx, sql, args...)
}
func (p poolTx) SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults {
	return p.pool.SendBatch(ctx, b)
}
func (p poolTx) CopyFrom(ctx context.Context, t pgx.Identifier, c []string, src pgx.CopyFromSource) (int64, error) {
	return p.pool.CopyFrom(ctx, t, c, src)
}

// stepper works the jobs an api-mode hub (which queues jobs but works none)
// leaves, one step at a time, each with rivertest.Worker.
type stepper struct {
	e   *env
	tx  poolTx
	cfg *river.Config
}

func newStepper(e *env) *stepper {
	return &stepper{e: e, tx: poolTx{pool: e.app.Pool}, cfg: &river.Config{}}
}

// queued returns the one job of kind still to run (the test fails if there is not exactly one).
func (s *stepper) queued(kind string) *rivertype.JobRow {
	s.e.t.Helper()
	rows, err := s.e.app.Pool.Query(context.Background(), `SELECT id FROM river_job WHERE kind = $1 AND state IN ('available', 'scheduled') ORDER BY id`, kind)
	if err != nil {
		s.e.t.Fatal(err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil || len(ids) == 0 {
		s.e.t.Fatalf("no %s job queued (%v)", kind, err)
	}
	job, err := s.e.app.Engine.River.JobGet(context.Background(), ids[0])
	if err != nil {
		s.e.t.Fatal(err)
	}
	return job
}

func (s *stepper) count(kind string) int {
	var n int
	if err := s.e.app.Pool.QueryRow(context.Background(), `SELECT count(*) FROM river_job WHERE kind = $1 AND state IN ('available', 'scheduled')`, kind).Scan(&n); err != nil {
		s.e.t.Fatal(err)
	}
	return n
}

// work runs job with w through rivertest and checks the event River records.
func work[T river.JobArgs](t *testing.T, s *stepper, w river.Worker[T], job *rivertype.JobRow, want river.EventKind) {
	t.Helper()
	res, err := rivertest.NewWorker(t, riverpgxv5.New(nil), s.cfg, w).WorkJob(context.Background(), t, s.tx, job)
	if err != nil {
		t.Fatalf("%s: %v", job.Kind, err)
	}
	if res.EventKind != want {
		t.Fatalf("%s: event %s, want %s (errors %v)", job.Kind, res.EventKind, want, res.Job.Errors)
	}
}

func (e *env) dbState(query string, args ...any) string {
	e.t.Helper()
	var s string
	if err := e.app.Pool.QueryRow(context.Background(), query, args...).Scan(&s); err != nil {
		e.t.Fatal(err)
	}
	return s
}

// TestWorkersStepByStep works every worker with rivertest.Worker, one step
// at a time in flow order, on an api-mode hub that queues jobs but works
// none: each step leaves its subject in the next state and queues the next
// step's job. Fetch ×2 (the last one assembles) → send → status → results; ЗАГС and ЕПГУ
// deliveries of a certificate; a callback of the notifications they made.
func TestWorkersStepByStep(t *testing.T) {
	over := map[string]string{"HUB_MODE": "api"}
	for k, v := range callbackAllow {
		over[k] = v
	}
	e := newEnv(t, over)
	eng := e.app.Engine
	s := newStepper(e)
	mis, got := receiver(t)
	if st, body := e.do("PUT", "/api/v1/me/callback", e.keyA, map[string]string{"url": mis.URL + "/hub"}); st != 200 {
		t.Fatalf("callback: %d %v", st, body)
	}
	patient := semdgen.RandomPerson(e.rand, 77)
	links, docs := e.linked(2, 0, &patient)
	e.sims.Provider.Add(0, docs...)
	doc := e.submitReferral(links, &patient)
	var ref uuid.UUID
	if err := e.app.Pool.QueryRow(context.Background(), `SELECT id FROM mse_referrals WHERE document_id = $1`, doc).Scan(&ref); err != nil {
		t.Fatal(err)
	}
	refState := func() string { return e.dbState(`SELECT state FROM mse_referrals WHERE id = $1`, ref) }

	for i := range 2 {
		if n := s.count("mse_assemble"); n != 0 {
			t.Fatalf("assembly queued with %d links unsettled", 2-i)
		}
		work(t, s, workflow.FetchWorker(eng), s.queued("mse_fetch_link"), river.EventKindJobCompleted)
	}
	if st := e.dbState(`SELECT string_agg(state, ',' ORDER BY ordinal) FROM mse_links WHERE referral_id = $1`, ref); st != "fetched,fetched" {
		t.Fatalf("links after their fetches: %s", st)
	}
	// The last fetch to settle assembled the package in its own
	// transaction: no assembly job, the send queued.
	if n := s.count("mse_assemble"); n != 0 {
		t.Fatalf("%d assembly jobs queued: the last fetch assembles", n)
	}
	if st := refState(); st != string(store.RefSending) {
		t.Fatalf("after the last fetch: %s", st)
	}
	work(t, s, workflow.SendReferralWorker(eng), s.queued("mse_send"), river.EventKindJobCompleted)
	if st := refState(); st != string(store.RefSent) {
		t.Fatalf("after the send: %s", st)
	}
	work(t, s, workflow.StatusWorker(eng), s.queued("mse_status"), river.EventKindJobSnoozed) // follows until a result
	if st := refState(); st != string(store.RefAccepted) && st != string(store.RefSent) {
		t.Fatalf("after the status: %s", st)
	}
	res, err := rivertest.NewWorker(t, riverpgxv5.New(nil), s.cfg, workflow.ResultsWorker(eng)).Work(context.Background(), t, s.tx, workflow.ResultsArgs{}, nil)
	if err != nil || res.EventKind != river.EventKindJobCompleted {
		t.Fatalf("results: %v %v", res, err)
	}
	if st := refState(); st != string(store.RefResultReceived) {
		t.Fatalf("after the results pull: %s", st)
	}
	if n := e.dbState(`SELECT count(*)::text FROM mse_results WHERE referral_id = $1 AND check_error IS NULL`, ref); n != "1" {
		t.Fatalf("%s results stored", n)
	}

	// The citizen is told of the referral's events (citizen_events.go): the
	// send's receipt and the result each queued one ЕПГУ delivery.
	if n := s.count("deliver_epgu"); n != 2 {
		t.Fatalf("%d ЕПГУ event deliveries queued, want 2", n)
	}
	for range 2 {
		work(t, s, workflow.EPGUWorker(eng), s.queued("deliver_epgu"), river.EventKindJobCompleted)
	}
	if evs := e.dbState(`SELECT string_agg(event || ' ' || state, ', ' ORDER BY event) FROM deliveries WHERE document_id =
		(SELECT document_id FROM mse_referrals WHERE id = $1)`, ref); evs != "MSE_REFERRAL_ACCEPTED delivered, MSE_RESULT_READY delivered" {
		t.Fatalf("the referral's ЕПГУ events: %s", evs)
	}

	zagsID := e.submitCertificate("zags") // and its delivery to ЕПГУ
	epguID := uuid.Nil
	if err := e.app.Pool.QueryRow(context.Background(), `SELECT id FROM deliveries WHERE recipient = 'epgu' AND document_id =
		(SELECT document_id FROM deliveries WHERE id = $1)`, zagsID).Scan(&epguID); err != nil {
		t.Fatal(err)
	}
	work(t, s, workflow.ZAGSWorker(eng), s.queued("deliver_zags"), river.EventKindJobCompleted)
	work(t, s, workflow.EPGUWorker(eng), s.queued("deliver_epgu"), river.EventKindJobCompleted)
	for _, id := range []uuid.UUID{zagsID, epguID} {
		if st := e.dbState(`SELECT state FROM deliveries WHERE id = $1`, id); st != string(store.DelDelivered) {
			t.Fatalf("delivery %s: %s", id, st)
		}
	}

	// The flow's notifications (sent, result ready) are queued for the callback.
	before := s.count("notify_mis")
	if before < 2 {
		t.Fatalf("%d callbacks queued", before)
	}
	work(t, s, workflow.NotifyWorker(eng), s.queued("notify_mis"), river.EventKindJobCompleted)
	next(t, got)
	if n := s.count("notify_mis"); n != before-1 {
		t.Fatalf("callbacks queued after one was delivered: %d, want %d", n, before-1)
	}
}

// TestWorkersHoldAnIncompletePackage: a link the provider does not have is
// settled unavailable by its fetch (a permanent answer: the job completes,
// not retried), and, the last link settled, the package is held as
// incomplete in the same transaction instead of a send being queued.
func TestWorkersHoldAnIncompletePackage(t *testing.T) {
	e := newEnv(t, map[string]string{"HUB_MODE": "api"})
	eng := e.app.Engine
	s := newStepper(e)
	patient := semdgen.RandomPerson(e.rand, 77)
	links, _ := e.linked(1, 0, &patient) // never given to the provider
	doc := e.submitReferral(links, &patient)
	work(t, s, workflow.FetchWorker(eng), s.queued("mse_fetch_link"), river.EventKindJobCompleted)
	if st := e.dbState(`SELECT l.state FROM mse_links l JOIN mse_referrals r ON r.id = l.referral_id WHERE r.document_id = $1`, doc); st != string(store.LinkUnavailable) {
		t.Fatalf("link of a document the provider lacks: %s", st)
	}
	// The fetch, the last to settle, judged the package.
	if st := e.dbState(`SELECT state FROM mse_referrals WHERE document_id = $1`, doc); st != string(store.RefIncomplete) {
		t.Fatalf("after the last fetch: %s", st)
	}
	if n := s.count("mse_send"); n != 0 {
		t.Fatalf("%d sends queued for an incomplete package", n)
	}
	// An assembly job (a refetch's, an operator's) finding it judged changes nothing.
	var ref uuid.UUID
	if err := e.app.Pool.QueryRow(context.Background(), `SELECT id FROM mse_referrals WHERE document_id = $1`, doc).Scan(&ref); err != nil {
		t.Fatal(err)
	}
	res, err := rivertest.NewWorker(t, riverpgxv5.New(nil), s.cfg, workflow.AssembleWorker(eng)).Work(context.Background(), t, s.tx, workflow.AssembleArgs{ReferralID: ref}, nil)
	if err != nil || res.EventKind != river.EventKindJobCompleted {
		t.Fatalf("assembly: %v %v", res, err)
	}
	if st := e.dbState(`SELECT state FROM mse_referrals WHERE id = $1`, ref); st != string(store.RefIncomplete) || s.count("mse_send") != 0 {
		t.Fatalf("after a second judgement: %s", st)
	}
}
