package workflow_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/emdhub/hub/internal/app"
	"github.com/emdhub/hub/internal/config"
	"github.com/emdhub/hub/internal/proccpu"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/testdb"
	"github.com/emdhub/hub/workflow"

	"github.com/emdhub/hub/internal/testtool"
)

// benchEnv is newEnv on a durable database (testdb.DurableURL: fsync,
// synchronous_commit and full_page_writes on, as in production; the fast
// cluster only with HUB_BENCH_FSYNC=off), and says which in the output so
// a figure is never read for what it is not (issue 16).
func benchEnv(b *testing.B, overrides map[string]string) *env {
	b.Helper()
	vals := map[string]string{"DATABASE_URL": testdb.DurableURL(b)}
	for k, v := range overrides {
		vals[k] = v
	}
	// River's settings from the environment, to compare them (docs/performance.md, "Third round").
	for _, k := range []string{"HUB_WORKERS_PER_QUEUE", "HUB_RIVER_FETCH_COOLDOWN", "HUB_RIVER_FETCH_POLL_INTERVAL"} {
		if v := os.Getenv(k); v != "" {
			vals[k] = v
			b.Logf("%s=%s", k, v)
		}
	}
	if testdb.Durable() {
		b.Log("database: durable (fsync on)")
	} else {
		b.Log("database: fsync OFF (HUB_BENCH_FSYNC=off): not a production figure")
	}
	return newEnv(b, vals)
}

// BenchmarkMSEFlows measures complete MSE flows per second: b.N referrals,
// each with N linked documents held by the provider (5, issue 16's goal of
// ≥ 300/s; 2 as before), submitted over HTTP and taken through fetch,
// assembly, sending, the result and its acknowledgement, with every peer
// simulated at zero latency over loopback HTTP and the real, durable
// database. Documents are generated before the clock starts.
//
//	go test ./workflow -run XXX -bench 'MSEFlows/links=5' -benchtime 300x
func BenchmarkMSEFlows(b *testing.B) {
	for _, n := range []int{5, 2} {
		b.Run(fmt.Sprintf("links=%d", n), func(b *testing.B) { benchMSEFlows(b, n) })
	}
}

func benchMSEFlows(b *testing.B, nLinks int) {
	e := benchEnv(b, map[string]string{"HUB_RESULTS_POLL_INTERVAL": "50ms", "HUB_STATUS_POLL_INTERVAL": "1h"})
	var subs []semdgen.Submission
	for i := 0; i < b.N; i++ {
		patient := semdgen.RandomPerson(e.rand, 77)
		links, docs := e.linked(nLinks, 0, &patient)
		e.sims.Provider.Add(0, docs...)
		subs = append(subs, semdgen.MustBuild(semdgen.Options{Kind: "121", Org: e.orgA, Patient: &patient, Links: links, Rand: e.rand}).Submission())
	}
	intake := e.submitPaused(b, subs, workflow.QueueFetch)
	defer e.trace(b, `SELECT state, count(*) FROM mse_referrals GROUP BY 1 ORDER BY 1`)()
	c0 := e.costs()
	s0 := e.stmtSnapshot()
	e.resume(b, workflow.QueueFetch)
	start := time.Now()
	polls := e.pollCount(`SELECT count(*) FROM mse_referrals WHERE state = 'result_received'`, b.N, func() bool { return e.sims.Bureau.Pending() == 0 })
	elapsed := time.Since(start)
	b.StopTimer()
	e.costs().since(b, c0, polls, b.N, "flow")
	if e.stmts != nil {
		e.stmts.report(b, s0, b.N, "flow")
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "flows/s")
	b.ReportMetric(intake, "intake-docs/s")
	if c := e.sims.Bureau.Counters()["SendReferral"]; c.Unique != b.N || c.Duplicates != 0 {
		b.Fatalf("bureau counters %+v for %d referrals", c, b.N)
	}
	if c := e.sims.Provider.Counters()["GetDocument"]; c.Unique != nLinks*b.N {
		b.Fatalf("provider counters %+v for %d links", c, nLinks*b.N)
	}
}

// BenchmarkCertificateDeliveries measures certificate deliveries per second:
// b.N death and birth certificates submitted over HTTP, each delivered to
// ЕГР ЗАГС and to ЕПГУ (2·b.N deliveries) by the real workers, on the
// durable database (issue 16's goal: ≥ 1,000 deliveries/s).
//
//	go test ./workflow -run XXX -bench CertificateDeliveries -benchtime 1000x
func BenchmarkCertificateDeliveries(b *testing.B) {
	e := benchEnv(b, nil)
	e.recordOGRNs() // 76 carries its organisation's ОГРН nowhere
	var subs []semdgen.Submission
	for i := 0; i < b.N; i++ {
		subs = append(subs, semdgen.MustBuild(semdgen.Options{Kind: []string{"58", "76"}[i%2], Org: e.orgA, Rand: e.rand}).Submission())
	}
	intake := e.submitPaused(b, subs, workflow.QueueZAGS, workflow.QueueEPGU)
	defer e.trace(b, `SELECT state, count(*) FROM deliveries GROUP BY 1 ORDER BY 1`)()
	c0 := e.costs()
	s0 := e.stmtSnapshot()
	e.resume(b, workflow.QueueZAGS, workflow.QueueEPGU)
	start := time.Now()
	polls := e.pollCount(`SELECT count(*) FROM deliveries WHERE state = 'delivered'`, 2*b.N, nil)
	elapsed := time.Since(start)
	b.StopTimer()
	e.costs().since(b, c0, polls, 2*b.N, "delivery")
	if e.stmts != nil {
		e.stmts.report(b, s0, 2*b.N, "delivery")
	}
	b.ReportMetric(float64(2*b.N)/elapsed.Seconds(), "deliveries/s")
	b.ReportMetric(intake, "intake-docs/s")
	z, p := e.sims.Registry.Counters()["SubmitMedicalCertificate"], e.sims.Portal.Counters()["SendNotification"]
	if z.Unique != b.N || p.Unique != b.N || z.Duplicates != 0 || p.Duplicates != 0 {
		b.Fatalf("zags %+v epgu %+v for %d certificates", z, p, b.N)
	}
}

// submitPaused submits subs with the flow's first queues paused and
// returns the intake's rate (intake-docs/s: another branch's subject, issue
// 16's first goal); resume then starts the workflow: the figure that
// follows is the workflow's alone, the intake having its own benchmark,
// and 2 cores shared between both would make each depend on the other.
func (e *env) submitPaused(b *testing.B, subs []semdgen.Submission, queues ...string) (intakeRate float64) {
	b.Helper()
	ctx := context.Background()
	for _, q := range queues {
		if err := e.app.Engine.River.QueuePause(ctx, q, nil); err != nil {
			b.Fatal(err)
		}
	}
	time.Sleep(time.Second) // the producers hear of the pause (LISTEN/NOTIFY) before the first job
	b.ResetTimer()
	start := time.Now()
	e.submitAll(subs)
	intakeRate = float64(len(subs)) / time.Since(start).Seconds()
	var queued int
	if err := e.app.Pool.QueryRow(ctx, benchSQL+`SELECT count(*) FROM river_job WHERE queue = ANY($1) AND state = 'available'`, queues).Scan(&queued); err != nil {
		b.Fatal(err)
	}
	if queued == 0 {
		b.Fatalf("no job waits on paused queues %v", queues)
	}
	return intakeRate
}

// resume resumes the queues submitPaused paused and restarts the timer:
// the workflow's phase begins. HUB_BENCH_CPUPROFILE=file profiles it
// alone (-cpuprofile would mix in the intake and the documents' generation).
func (e *env) resume(b *testing.B, queues ...string) {
	b.Helper()
	b.ResetTimer()
	if path := os.Getenv("HUB_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { pprof.StopCPUProfile(); f.Close() })
	}
	for _, q := range queues {
		if err := e.app.Engine.River.QueueResume(context.Background(), q, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// trace logs, every 500 ms while the flows run and HUB_BENCH_TRACE=1, the
// counts the query groups (states of a flow) and River's jobs by queue and
// state: where a run spends its time, read in the -v output. It returns
// the function that stops it.
func (e *env) trace(b *testing.B, query string) func() {
	if os.Getenv("HUB_BENCH_TRACE") != "1" {
		return func() {}
	}
	done := make(chan struct{})
	stopped := make(chan struct{})
	start := time.Now()
	go func() {
		defer close(stopped)
		t := time.NewTicker(500 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			var line []string
			for _, q := range []string{query, `SELECT queue || ':' || state, count(*) FROM river_job WHERE state <> 'completed' OR finalized_at > now() - interval '500 ms' GROUP BY 1 ORDER BY 1`} {
				rows, err := e.app.Pool.Query(context.Background(), benchSQL+q)
				if err != nil {
					return
				}
				for rows.Next() {
					var k string
					var n int
					if rows.Scan(&k, &n) == nil {
						line = append(line, fmt.Sprintf("%s=%d", k, n))
					}
				}
				rows.Close()
			}
			b.Logf("%6.1fs %s", time.Since(start).Seconds(), strings.Join(line, " "))
		}
	}()
	return func() { close(done); <-stopped }
}

// submitAll submits every document over HTTP from benchClients concurrent
// clients, as МИС do: one client in a loop would measure the intake's
// latency, not the workflow's throughput.
func (e *env) submitAll(subs []semdgen.Submission) {
	e.t.Helper()
	const benchClients = 8
	work := make(chan semdgen.Submission)
	errs := make(chan error, benchClients)
	for range benchClients {
		go func() {
			var err error
			for s := range work {
				if err != nil {
					continue
				}
				if st, body := e.post("/api/v1/documents", e.keyA, s); st != 201 {
					err = fmt.Errorf("submit: %d %v", st, body)
				}
			}
			errs <- err
		}()
	}
	for _, s := range subs {
		work <- s
	}
	close(work)
	for range benchClients {
		if err := <-errs; err != nil {
			e.t.Fatal(err)
		}
	}
}

// costs is what a run spends, noise-free where wall-clock figures are not:
// this process's CPU (hub and simulators: both run here), the database's
// commits and WAL flushes (pg_stat_database, pg_stat_wal) and River jobs.
type costs struct {
	cpu, pgCPU           time.Duration
	commits, syncs, jobs int64
	walBytes             float64
}

func (e *env) costs() costs {
	e.t.Helper()
	time.Sleep(600 * time.Millisecond) // backends report their statistics at most every 500 ms (PostgreSQL 15)
	var c costs
	c.cpu = testtool.CPUTime()
	ctx := context.Background()
	var dataDir string
	if err := e.app.Pool.QueryRow(ctx, benchSQL+`SHOW data_directory`).Scan(&dataDir); err != nil {
		e.t.Fatal(err)
	}
	// The server's CPU; -1 when it is not on this machine (a
	// TEST_DATABASE_URL elsewhere). The benchmarks of this binary share
	// its cluster one at a time.
	c.pgCPU = -1
	if d, err := proccpu.ServerOf(dataDir); err == nil {
		c.pgCPU = d
	}
	if err := e.app.Pool.QueryRow(ctx, benchSQL+`SELECT pg_stat_force_next_flush()`).Scan(new(any)); err != nil {
		e.t.Fatal(err)
	}
	if err := e.app.Pool.QueryRow(ctx, benchSQL+`SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()),
		(SELECT wal_sync FROM pg_stat_wal), (SELECT wal_bytes FROM pg_stat_wal), (SELECT count(*) FROM river_job)`).Scan(&c.commits, &c.syncs, &c.walBytes, &c.jobs); err != nil {
		e.t.Fatal(err)
	}
	return c
}

// since reports the costs from c0 to c per unit (n of them), less the
// polls' own read-only commits (and the two statistics queries'):
// cpu-ms/unit, commits/unit, walsyncs/unit (fsyncs: fewer than commits
// when commits group), wal-kB/unit, jobs/unit.
func (c costs) since(b *testing.B, c0 costs, polls, n int, unit string) {
	per := func(x float64) float64 { return x / float64(n) }
	b.ReportMetric(per(float64((c.cpu-c0.cpu).Microseconds())/1000), "cpu-ms/"+unit)
	if c.pgCPU >= 0 && c0.pgCPU >= 0 {
		b.ReportMetric(per(float64((c.pgCPU-c0.pgCPU).Microseconds())/1000), "pg-cpu-ms/"+unit)
	}
	b.ReportMetric(per(float64(c.commits-c0.commits-int64(polls)-3)), "commits/"+unit)
	b.ReportMetric(per(float64(c.syncs-c0.syncs)), "walsyncs/"+unit)
	b.ReportMetric(per((c.walBytes-c0.walBytes)/1024), "wal-kB/"+unit)
	b.ReportMetric(per(float64(c.jobs-c0.jobs)), "jobs/"+unit)
}

func (e *env) stmtSnapshot() map[string]int {
	if e.stmts == nil {
		return nil
	}
	return e.stmts.snapshot()
}

// stmtCounter counts the statements a pool runs by their sqlc name (the
// "-- name: X" line both the store's and River's queries begin with), or
// their first words: round trips per flow, and which (a pgx tracer, since
// the private cluster has no pg_stat_statements).
type stmtCounter struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *stmtCounter) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	name := strings.TrimSpace(d.SQL)
	if strings.HasPrefix(name, benchSQL) {
		return ctx // the benchmark's own polls and statistics, not the hub's
	}
	if rest, ok := strings.CutPrefix(name, "-- name: "); ok {
		name, _, _ = strings.Cut(rest, " ")
	} else if f := strings.Fields(name); len(f) > 2 {
		name = strings.Join(f[:2], " ")
	}
	c.mu.Lock()
	c.n[name]++
	c.mu.Unlock()
	return ctx
}

func (c *stmtCounter) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *stmtCounter) snapshot() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return maps.Clone(c.n)
}

// report logs statements per unit since before, the most frequent first.
func (c *stmtCounter) report(b *testing.B, before map[string]int, n int, unit string) {
	now := c.snapshot()
	type kv struct {
		k string
		v int
	}
	var all []kv
	total := 0
	for k, v := range now {
		if d := v - before[k]; d > 0 {
			all = append(all, kv{k, d})
			total += d
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].v > all[j].v })
	b.ReportMetric(float64(total)/float64(n), "stmts/"+unit)
	var lines []string
	for _, x := range all {
		lines = append(lines, fmt.Sprintf("%6.2f %s", float64(x.v)/float64(n), x.k))
	}
	b.Logf("statements per %s (%d of them):\n%s", unit, n, strings.Join(lines, "\n"))
}

// benchSQL marks the benchmark's own statements, which stmtCounter leaves out.
const benchSQL = "/* bench */ "

// traceStatements in newEnv's overrides counts the statements the hub
// runs (env.stmts), as HUB_BENCH_TRACE=1 does in a benchmark.
const traceStatements = "test:trace-statements"

// tracedApp is app.New with a statement counter on the pool.
func tracedApp(ctx context.Context, b testing.TB, cfg *config.Config, e *env) *app.App {
	pc, err := pgxpool.ParseConfig(cfg.DatabaseURL)
	if err != nil {
		b.Fatal(err)
	}
	e.stmts = &stmtCounter{n: map[string]int{}}
	pc.ConnConfig.Tracer = e.stmts
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		b.Fatal(err)
	}
	a, err := app.Build(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), pool)
	if err != nil {
		b.Fatal(err)
	}
	return a
}

// pollCount waits, polling every 5 ms (fine-grained: it ends a timed run),
// until the query counts want rows and more() holds; it returns how many
// queries it made.
func (e *env) pollCount(query string, want int, more func() bool, args ...any) (polls int) {
	e.t.Helper()
	start := time.Now()
	for {
		var n int
		polls++
		if err := e.app.Pool.QueryRow(context.Background(), benchSQL+query, args...).Scan(&n); err != nil {
			e.t.Fatal(err)
		}
		if n == want && (more == nil || more()) {
			return polls
		}
		if time.Since(start) > 5*time.Minute {
			e.t.Fatalf("gave up waiting: %q counts %d, want %d", query, n, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
