package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"runtime/metrics"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/emdhub/hub/internal/db"
	"github.com/emdhub/hub/internal/pgcluster"
	"github.com/emdhub/hub/internal/proccpu"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/testdb"

	"github.com/emdhub/hub/internal/testtool"
)

// BenchmarkIntake measures documents taken in per second: generated СЭМД of
// the common kinds, submitted over real HTTP to the API, parsed, checked and
// stored in the real database (both GOST signatures verified: the
// organisation's keys are known after the first documents), from 8
// concurrent clients. Document generation and signing happen before the
// timer starts.
//
// The database is durable (fsync on, as in production) unless
// HUB_BENCH_FSYNC=off; the output says which (b.Log and the "durable"
// metric). HUB_BENCH_PGSS=1 runs on a durable private cluster with
// pg_stat_statements and logs the statements per document (issue 16's
// profile); TEST_DATABASE_URL is honoured otherwise.
//
// HUB_GROUP_COMMITTERS from the environment reaches the hub (0: one
// transaction per document); BenchmarkIntakeCommit compares the two.
//
//	go test ./internal/api -run XXX -bench 'Intake$' -benchtime 2000x
func BenchmarkIntake(b *testing.B) {
	benchIntake(b, map[string]string{"HUB_GROUP_COMMITTERS": os.Getenv("HUB_GROUP_COMMITTERS")})
}

// BenchmarkIntakeCommit is BenchmarkIntake with one transaction per
// document ("each", HUB_GROUP_COMMITTERS=0) and with group commit
// ("group", the default), interleaved when run with -count:
//
//	go test ./internal/api -run XXX -bench IntakeCommit -benchtime 1000x -count 4
func BenchmarkIntakeCommit(b *testing.B) {
	for _, mode := range []struct{ name, committers string }{{"each", "0"}, {"group", ""}} {
		b.Run(mode.name, func(b *testing.B) { benchIntake(b, map[string]string{"HUB_GROUP_COMMITTERS": mode.committers}) })
	}
}

// BenchmarkIntakeAtRate offers the documents at a fixed rate (open loop:
// each sent on its tick, whatever the answers before it) of
// HUB_BENCH_RATE documents per second (default 100) and reports the
// latency percentiles: issue 16's p99 at half the maximum throughput is
// this at half of BenchmarkIntake's docs/s. HUB_BENCH_LATLOG=file writes
// each request's planned send time and latency (seconds, ms) there.
//
//	HUB_BENCH_RATE=150 go test ./internal/api -run XXX -bench IntakeAtRate -benchtime 1000x
func BenchmarkIntakeAtRate(b *testing.B) {
	rate := 100.0
	if v := os.Getenv("HUB_BENCH_RATE"); v != "" {
		if _, err := fmt.Sscan(v, &rate); err != nil || rate <= 0 {
			b.Fatalf("HUB_BENCH_RATE=%q: want a positive number", v)
		}
	}
	// A warm-up second at the same rate, not counted: the first requests
	// open the HTTP and database connections and fill the signer and
	// certificate caches (a comb table is built on a key's first use), a
	// cost a running hub paid long ago. HUB_BENCH_WARMUP=0 counts them.
	warm := int(rate)
	if v := os.Getenv("HUB_BENCH_WARMUP"); v != "" {
		if _, err := fmt.Sscan(v, &warm); err != nil || warm < 0 {
			b.Fatalf("HUB_BENCH_WARMUP=%q: want a number of documents", v)
		}
	}
	bu := benchBundle(b, map[string]string{"HUB_GROUP_COMMITTERS": os.Getenv("HUB_GROUP_COMMITTERS")})
	all := intakeBodies(b, bu, warm+b.N)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	tick := time.Duration(float64(time.Second) / rate)
	offer(b, client, bu, all[:warm], tick)
	b.ResetTimer()
	start := time.Now()
	lat := offer(b, client, bu, all[warm:], tick)
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(rate, "offered/s")
	b.ReportMetric(float64(warm), "warmup-docs")
	if f := os.Getenv("HUB_BENCH_LATLOG"); f != "" {
		// Each request's planned send time and latency, to see whether the
		// tail is spread or comes in stalls (and when).
		var out bytes.Buffer
		for i, l := range lat {
			fmt.Fprintf(&out, "%.3f %.3f\n", (time.Duration(i) * tick).Seconds(), float64(l.Microseconds())/1000)
		}
		if err := os.WriteFile(f, out.Bytes(), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	reportIntake(b, bu, elapsed, lat, counters{}, counters{})
}

// offer posts bodies open loop, one every tick whatever the answers before
// it, waits for every answer and returns each request's latency; any answer
// but 201 fails the benchmark.
func offer(b *testing.B, client *http.Client, bu *bundle, bodies [][]byte, tick time.Duration) []time.Duration {
	lat := make([]time.Duration, len(bodies))
	var failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for i := range bodies {
		time.Sleep(time.Until(start.Add(time.Duration(i) * tick)))
		wg.Add(1)
		go func() {
			defer wg.Done()
			if !postOne(client, bu, bodies[i], &lat[i]) {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d submissions failed", n, len(bodies))
	}
	return lat
}

// intakeBodies are n submissions of the common kinds (a referral with
// five links among them), generated and signed before the timer starts.
func intakeBodies(b *testing.B, bu *bundle, n int) [][]byte {
	bu.recordOGRNs() // 76 carries its organisation's ОГРН nowhere
	kinds := []string{"119", "186", "174", "147", "58", "76", "121"}
	bodies := make([][]byte, n)
	for i := range bodies {
		o := semdgen.Options{Kind: kinds[i%len(kinds)]}
		if o.Kind == "121" {
			o.Links = []semdgen.Link{{Kind: "119", ID: "a"}, {Kind: "186", ID: "b"}, {Kind: "174", ID: "c"}, {Kind: "147", ID: "d"}, {Kind: "158", ID: "e"}}
		}
		j, err := json.Marshal(bu.build(o).Submission())
		if err != nil {
			b.Fatal(err)
		}
		bodies[i] = j
	}
	return bodies
}

func benchIntake(b *testing.B, env map[string]string) {
	if env["HUB_GROUP_COMMITTERS"] == "" {
		delete(env, "HUB_GROUP_COMMITTERS")
	}
	bu := benchBundle(b, env)
	bodies := intakeBodies(b, bu, b.N)
	before := dbCounters(b, bu.app.Pool, true)
	elapsed, lat := submitAll(b, bu, bodies)
	after := dbCounters(b, bu.app.Pool, false)
	reportIntake(b, bu, elapsed, lat, before, after)
	b.ReportMetric(float64(len(bodies[0])), "bytes/doc")
}

// benchBundle is setup on a durable database (testdb.DurableURL), or on a
// private durable cluster with pg_stat_statements when HUB_BENCH_PGSS=1.
func benchBundle(b *testing.B, env map[string]string) *bundle {
	b.Helper()
	ctx := context.Background()
	url := ""
	if os.Getenv("HUB_BENCH_PGSS") == "1" {
		c, err := pgcluster.Start(ctx, pgcluster.Options{Durable: true, Preload: "pg_stat_statements"})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(c.Stop)
		pool, err := db.Open(ctx, c.URL, "bench")
		if err != nil {
			b.Fatal(err)
		}
		defer pool.Close()
		if _, err := pool.Exec(ctx, `CREATE EXTENSION pg_stat_statements`); err != nil {
			b.Fatal(err)
		}
		if err := db.Migrate(ctx, pool, nil); err != nil {
			b.Fatal(err)
		}
		url = c.URL
		b.Log("database: private durable cluster with pg_stat_statements (fsync on)")
	} else {
		url = testdb.DurableURL(b)
		b.Logf("database: durable=%v (fsync %s; HUB_BENCH_FSYNC=off for the fast cluster)", testdb.Durable(), map[bool]string{true: "on", false: "off"}[testdb.Durable()])
	}
	pool, err := db.Open(ctx, url, "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	return newBundle(b, pool, env, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, 7)
}

// counters are the database's transaction and statement counts and the
// server's WAL flushes (pg_stat_wal.wal_sync: what a durable commit waits for).
type counters struct {
	commits, stmts, walSyncs int64
	cpu                      time.Duration // this process's user and system CPU: the hub's, and the clients'
	pgCPU                    time.Duration // the PostgreSQL server's (proccpu.Server); -1 when it runs elsewhere
	gcCPU                    float64       // the runtime's estimate of the CPU seconds its garbage collector took
	gcs                      uint64        // garbage collections completed
	pgss                     bool
}

// dbCounters reads them; before is true for the reading before the run,
// which also empties pg_stat_statements.
func dbCounters(b *testing.B, pool *pgxpool.Pool, before bool) counters {
	b.Helper()
	ctx := context.Background()
	var c counters
	c.cpu = testtool.CPUTime()
	c.gcCPU, c.gcs = gcCounters()
	c.pgCPU = -1
	var dataDir string
	if err := pool.QueryRow(ctx, `SELECT current_setting('data_directory')`).Scan(&dataDir); err == nil {
		if d, err := proccpu.ServerOf(dataDir); err == nil {
			c.pgCPU = d
		}
	}
	if before {
		_, _ = pool.Exec(ctx, `SELECT pg_stat_statements_reset()`) // the run's statements only, not the setup's; absent without HUB_BENCH_PGSS
	}
	if err := pool.QueryRow(ctx, `SELECT pg_stat_force_next_flush()`).Scan(new(any)); err != nil {
		b.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()`).Scan(&c.commits); err != nil {
		b.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT wal_sync FROM pg_stat_wal`).Scan(&c.walSyncs); err != nil {
		b.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())`).Scan(&c.stmts); err == nil {
		c.pgss = true
	}
	return c
}

// gcCounters are the garbage collector's CPU seconds so far (the
// runtime's estimate) and the collections completed.
func gcCounters() (float64, uint64) {
	ms := []metrics.Sample{{Name: "/cpu/classes/gc/total:cpu-seconds"}, {Name: "/gc/cycles/total:gc-cycles"}}
	metrics.Read(ms)
	return ms[0].Value.Float64(), ms[1].Value.Uint64()
}

// reportIntake reports docs/s, latency percentiles, durability and, per
// document, commits (of the whole database: the workers' too) and, with
// pg_stat_statements, statements and the top statements by total time.
func reportIntake(b *testing.B, bu *bundle, elapsed time.Duration, lat []time.Duration, before, after counters) {
	b.Helper()
	n := float64(b.N)
	b.ReportMetric(n/elapsed.Seconds(), "docs/s")
	b.ReportMetric(map[bool]float64{true: 1, false: 0}[testdb.Durable() || after.pgss], "durable")
	if after.commits > 0 { // counted
		// CPU per document is the figure a noisy machine disturbs least:
		// other processes slow the run, they do not add to its CPU.
		b.ReportMetric(float64((after.cpu-before.cpu).Microseconds())/1000/n, "cpu-ms/doc")
		if before.pgCPU >= 0 && after.pgCPU >= 0 {
			// The server's share (its ticks are 10 ms: a run of 1,000 documents
			// or more keeps the rounding under a hundredth of a millisecond).
			b.ReportMetric(float64((after.pgCPU-before.pgCPU).Microseconds())/1000/n, "pg-cpu-ms/doc")
		}
		b.ReportMetric(float64(after.commits-before.commits)/n, "commits/doc")
		b.ReportMetric(float64(after.walSyncs-before.walSyncs)/n, "walsyncs/doc") // the server's, all databases: WAL flushes to disk
		// The garbage collector's share of cpu-ms/doc (runtime/metrics'
		// estimate: its marking workers and assists, and the pauses), and
		// documents per collection: what GOGC trades against memory.
		b.ReportMetric((after.gcCPU-before.gcCPU)*1000/n, "gc-cpu-ms/doc")
		if gcs := after.gcs - before.gcs; gcs > 0 {
			b.ReportMetric(n/float64(gcs), "docs/gc")
		}
	}
	if c := bu.app.Intake.Batcher; c != nil {
		if docs, batches := c.Stats(); batches > 0 {
			b.ReportMetric(float64(docs)/float64(batches), "docs/batch")
		}
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if len(lat) > 0 {
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
	}
	if !after.pgss {
		return
	}
	b.ReportMetric(float64(after.stmts-before.stmts)/n, "stmts/doc")
	rows, err := bu.app.Pool.Query(context.Background(), `SELECT calls, total_exec_time, left(regexp_replace(query, '\s+', ' ', 'g'), 110)
		FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		ORDER BY total_exec_time DESC LIMIT 25`)
	if err != nil {
		b.Fatal(err)
	}
	defer rows.Close()
	out := fmt.Sprintf("%s: top statements of %d documents (calls, total ms, query):\n", b.Name(), b.N)
	for rows.Next() {
		var calls int64
		var total float64
		var q string
		if err := rows.Scan(&calls, &total, &q); err != nil {
			b.Fatal(err)
		}
		out += fmt.Sprintf("%8d %10.1f  %s\n", calls, total, q)
	}
	fmt.Fprint(os.Stderr, out) // b.Log would cut it to a few lines
}

// submitAll posts bodies as МИС A from 4 × GOMAXPROCS parallel clients,
// one body per benchmark op, timing only the posting, and fails the
// benchmark on any answer but 201. It returns the elapsed time and each
// request's latency.
func submitAll(b *testing.B, bu *bundle, bodies [][]byte) (time.Duration, []time.Duration) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var next, failed atomic.Int64
	lat := make([]time.Duration, len(bodies))
	b.SetParallelism(4)
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := next.Add(1) - 1
			if !postOne(client, bu, bodies[i], &lat[i]) {
				failed.Add(1)
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if n := failed.Load(); n > 0 {
		b.Fatalf("%d of %d submissions failed", n, b.N)
	}
	return elapsed, lat
}

// postOne submits one body as МИС A and tells whether it was accepted
// (201), filling lat with the round trip's time when an answer came.
func postOne(client *http.Client, bu *bundle, body []byte, lat *time.Duration) bool {
	t0 := time.Now()
	req, _ := http.NewRequest("POST", bu.srv.URL+"/api/v1/documents", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+bu.keyA)
	res, err := client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	*lat = time.Since(t0)
	return res.StatusCode == http.StatusCreated
}
