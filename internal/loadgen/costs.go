package loadgen

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/emdhub/hub/internal/pgcluster"
	"github.com/emdhub/hub/internal/proccpu"
)

// pgTicks is the cluster's CPU (proccpu.Server); 0 when unknown.
func (sc *selfContained) pgTicks() int64 {
	if sc.pgPID == 0 {
		return 0
	}
	t, _ := proccpu.Server(sc.pgPID)
	return t
}

// snapshot reads the counters costs are computed from. PostgreSQL's
// statistics are flushed by backends at most once a second, so it waits
// for that first.
func (sc *selfContained) snapshot(ctx context.Context, s *snapshot) error {
	time.Sleep(1100 * time.Millisecond)
	s.at = time.Now()
	s.hubTicks, s.procTicks = 0, nil
	for _, p := range sc.procs {
		t, err := proccpu.Ticks(p.Process.Pid, false)
		if err != nil {
			return fmt.Errorf("loadgen: CPU of hub pid %d: %w", p.Process.Pid, err)
		}
		s.hubTicks += t
		s.procTicks = append(s.procTicks, t)
	}
	s.pgTicks = sc.pgTicks()
	if sc.r.cfg.PGSS && s == &sc.before {
		// The load's statements only, not the set-up's or pgbench's.
		if _, err := sc.pool.Exec(ctx, `SELECT pg_stat_statements_reset()`); err != nil {
			return fmt.Errorf("loadgen: reset pg_stat_statements: %w", err)
		}
	}
	_, _ = sc.pool.Exec(ctx, `SELECT pg_stat_clear_snapshot()`)
	err := sc.pool.QueryRow(ctx, `SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()),
			(SELECT wal_bytes::bigint FROM pg_stat_wal), (SELECT wal_sync FROM pg_stat_wal), (SELECT count(*) FROM documents)`).
		Scan(&s.commits, &s.walBytes, &s.walSyncs, &s.documents)
	if err != nil {
		return fmt.Errorf("loadgen: read pg_stat_database and pg_stat_wal: %w", err)
	}
	return nil
}

// costs puts the per-document costs between the snapshots in the report.
func (sc *selfContained) costs(rep *Report) {
	b, a := sc.before, sc.after
	docs := rep.Intake.Accepted
	c := &Costs{Documents: docs, StoredDocuments: int(a.documents - b.documents),
		HubCPUSeconds: float64(a.hubTicks-b.hubTicks) / proccpu.ClockTicks, PGCPUSeconds: float64(a.pgTicks-b.pgTicks) / proccpu.ClockTicks,
		Commits: a.commits - b.commits, WALBytes: a.walBytes - b.walBytes, WALSyncs: a.walSyncs - b.walSyncs,
		WallSeconds: round1(a.at.Sub(b.at).Seconds())}
	c.HubCPUPerDocMs = round2(PerDoc(c.HubCPUSeconds*1000, docs))
	c.ProcCPUPerDocMs = map[string]float64{}
	for i, name := range sc.names {
		c.ProcCPUPerDocMs[name] = round2(PerDoc(float64(a.procTicks[i]-b.procTicks[i])/proccpu.ClockTicks*1000, docs))
	}
	c.PGCPUPerDocMs = round2(PerDoc(c.PGCPUSeconds*1000, docs))
	c.CommitsPerDoc = round2(PerDoc(float64(c.Commits), docs))
	c.WALBytesPerDoc = float64(int64(PerDoc(float64(c.WALBytes), docs)))
	c.WALSyncsPerDoc = round2(PerDoc(float64(c.WALSyncs), docs))
	if c.WallSeconds > 0 {
		c.Cores = round2((c.HubCPUSeconds + c.PGCPUSeconds) / c.WallSeconds)
	}
	rep.Costs = c
}

func round2(x float64) float64 { return float64(int64(x*100+0.5)) / 100 }

// pgbenchScript inserts one 10 KB row per transaction. The column is
// stored EXTERNAL (out of line, uncompressed), so each row really writes
// 10 KB, as a document does; the rows go into a table of their own,
// dropped afterwards.
const pgbenchScript = "INSERT INTO loadgen_pgbench (payload) VALUES (repeat(md5(random()::text), 320));\n"

var tpsLine = regexp.MustCompile(`(?m)^tps = ([0-9.]+)`)

// pgbench runs PostgreSQL's pgbench against the run's cluster before the
// load: 8 clients, each transaction one 10 KB insert, for PGBenchDuration.
func (sc *selfContained) pgbench(ctx context.Context) (*PGBench, error) {
	bin := os.Getenv("HUB_PG_BIN")
	if bin == "" {
		bin = pgcluster.DefaultBinDir
	}
	if _, err := sc.pool.Exec(ctx, `CREATE TABLE loadgen_pgbench (id bigserial PRIMARY KEY, at timestamptz NOT NULL DEFAULT now(), payload text NOT NULL);
		ALTER TABLE loadgen_pgbench ALTER payload SET STORAGE EXTERNAL`); err != nil {
		return nil, fmt.Errorf("loadgen: pgbench table: %w", err)
	}
	defer func() { _, _ = sc.pool.Exec(context.WithoutCancel(ctx), `DROP TABLE loadgen_pgbench`) }()
	script := filepath.Join(sc.r.cfg.WorkDir, "pgbench-10k.sql")
	if err := os.WriteFile(script, []byte(pgbenchScript), 0o644); err != nil {
		return nil, err
	}
	secs := int(sc.r.cfg.PGBenchDuration.Round(time.Second).Seconds())
	args := []string{"-h", "127.0.0.1", "-p", strconv.Itoa(sc.cluster.Port), "-U", "postgres", "-n", "-c", "8", "-j", "2",
		"-T", strconv.Itoa(max(secs, 1)), "-f", script, "hub"}
	cmdline := "pgbench " + strings.Join(args, " ")
	sc.r.say("▸ pgbench on the same cluster before the load: %s", cmdline)
	var before, after snapshot
	if err := sc.snapshot(ctx, &before); err != nil {
		return nil, err
	}
	out, err := exec.CommandContext(ctx, filepath.Join(bin, "pgbench"), args...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("loadgen: pgbench: %w: %s", err, out)
	}
	if err := sc.snapshot(ctx, &after); err != nil {
		return nil, err
	}
	m := tpsLine.FindSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("loadgen: no tps in pgbench's output: %s", out)
	}
	tps, _ := strconv.ParseFloat(string(m[1]), 64)
	secsRun := after.at.Sub(before.at).Seconds() - 1.1 // snapshot waits 1.1 s for the statistics
	pb := &PGBench{Command: cmdline, TPS: tps, WALSyncsPerS: round1(float64(after.walSyncs-before.walSyncs) / secsRun),
		PGCPUPerTxMs: round2(PerDoc(float64(after.pgTicks-before.pgTicks)/proccpu.ClockTicks*1000, int(tps*float64(secs))))}
	sc.r.say("  pgbench: %.0f tps, %.0f WAL syncs/s, postgres CPU %.2f ms a transaction", tps, pb.WALSyncsPerS, pb.PGCPUPerTxMs)
	return pb, nil
}

// statements reads the load's top statements by server time
// (pg_stat_statements, -pgss): calls, time and rows per accepted document.
func (sc *selfContained) statements(ctx context.Context, rep *Report) error {
	if !sc.r.cfg.PGSS || rep.Intake.Accepted == 0 {
		return nil
	}
	docs := float64(rep.Intake.Accepted)
	rows, err := sc.pool.Query(ctx, `SELECT calls, total_exec_time, rows, left(regexp_replace(query, '\s+', ' ', 'g'), 110)
		FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())
		ORDER BY total_exec_time DESC LIMIT 15`)
	if err != nil {
		return fmt.Errorf("loadgen: read pg_stat_statements: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var calls, nrows int64
		var ms float64
		var q string
		if err := rows.Scan(&calls, &ms, &nrows, &q); err != nil {
			return err
		}
		rep.Statements = append(rep.Statements, Statement{CallsPerDoc: round3(float64(calls) / docs),
			MsPerDoc: round3(ms / docs), RowsPerCall: round3(float64(nrows) / float64(max(calls, 1))), Query: q})
	}
	return rows.Err()
}
