package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/emdhub/hub/internal/config"
	"github.com/emdhub/hub/internal/db"
	"github.com/emdhub/hub/internal/pgcluster"
	"github.com/emdhub/hub/internal/stats"
	"github.com/emdhub/hub/internal/store"
)

// runSeedStats fills a database with N synthetic attempts at the door
// across the 85 regions (stats.Seed), folds them into the roll-ups, and
// measures the dashboards' queries: every endpoint of /api/v1/ops/stats
// over a matrix of periods and filters, p50/p95/max. -explain prints the
// plans of the queries behind the heaviest views. Without DATABASE_URL it
// works on a private throwaway PostgreSQL.
func runSeedStats(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("seed-stats", flag.ContinueOnError)
	fs.SetOutput(stderr)
	n := fs.Int("n", 100000, "attempts to add (0: only measure what is there)")
	regions := fs.Int("regions", 85, "regions (of the 85 subjects)")
	orgs := fs.Int("orgs", 3, "organisations (one system each) per region")
	days := fs.Int("days", 365, "days back from now the attempts spread over")
	seed := fs.Uint64("seed", 1, "random seed")
	rounds := fs.Int("measure", 5, "rounds of the query matrix to time (0: none)")
	explain := fs.Bool("explain", false, "print EXPLAIN (ANALYZE, BUFFERS) of the queries behind the heaviest views")
	if err := fs.Parse(args); err != nil {
		return usageError(err)
	}
	say := func(format string, a ...any) { fmt.Fprintf(stdout, format+"\n", a...) }
	cfg, err := config.Load(getenv)
	if err != nil {
		return err
	}
	url := cfg.DatabaseURL
	if url == "" {
		say("DATABASE_URL is unset: a private PostgreSQL from %s (removed at exit)", pgcluster.DefaultBinDir)
		cl, err := pgcluster.Start(ctx, pgcluster.Options{Database: "hub_stats"})
		if err != nil {
			return err
		}
		defer cl.Stop()
		url = cl.URL
	}
	pool, err := db.Open(ctx, url, "hub-seed-stats")
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := db.Migrate(ctx, pool, cfg.Logger()); err != nil {
		return err
	}
	st := store.New(pool)
	if *n > 0 {
		// The seeded months get their partitions first (migration 0011):
		// otherwise a year of attempts lands in intake_attempts_default,
		// which retention warns about and never drops.
		for m := time.Now().AddDate(0, 0, -*days); !m.After(time.Now().AddDate(0, 1, 0)); m = m.AddDate(0, 1, 0) {
			if _, err := pool.Exec(ctx, `SELECT hub_create_month_partitions(date_trunc('month', $1::timestamptz)::date)`, m); err != nil {
				return fmt.Errorf("seed-stats: partitions of %s: %w", m.Format("2006-01"), err)
			}
		}
		start := time.Now()
		o := stats.SeedOptions{N: *n, Regions: *regions, OrgsPerRegion: *orgs, Days: *days, Seed: *seed}
		last := time.Now()
		err := stats.Seed(ctx, pool, st, o, func(done int) {
			if time.Since(last) > 10*time.Second || done == *n {
				say("  %d attempts written (%s)", done, time.Since(start).Round(time.Second))
				last = time.Now()
			}
		})
		if err != nil {
			return err
		}
		say("seeded %d attempts in %s", *n, time.Since(start).Round(time.Millisecond))
		start = time.Now()
		if _, err := stats.Rebuild(ctx, pool, stats.SafeCutoff(time.Now(), cfg.RequestTimeout)); err != nil {
			return err
		}
		say("rolled up in %s", time.Since(start).Round(time.Millisecond))
		if _, err := pool.Exec(ctx, `VACUUM ANALYZE stats_counts, stats_codes, stats_lags`); err != nil {
			return fmt.Errorf("seed-stats: analyze: %w", err)
		}
	}
	var total int64
	_ = pool.QueryRow(ctx, `SELECT count(*) FROM intake_attempts`).Scan(&total)
	var sizes string
	// intake_attempts is partitioned by month: its rows and size are its
	// partitions' (pg_partition_tree), the roll-ups are plain tables.
	_ = pool.QueryRow(ctx, `SELECT string_agg(format('%s %s rows %s', t, rows, pg_size_pretty(bytes)), '; ' ORDER BY t) FROM (
		SELECT 'intake_attempts' AS t, sum(s.n_live_tup) AS rows, sum(pg_total_relation_size(p.relid)) AS bytes
			FROM pg_partition_tree('intake_attempts') p LEFT JOIN pg_stat_user_tables s ON s.relid = p.relid
		UNION ALL SELECT relname, n_live_tup, pg_total_relation_size(relid)
			FROM pg_stat_user_tables WHERE relname IN ('stats_counts', 'stats_codes', 'stats_lags')) x`).Scan(&sizes)
	say("record: %d attempts; tables: %s", total, sizes)
	if *rounds > 0 {
		if err := measureStats(ctx, pool, *rounds, say); err != nil {
			return err
		}
	}
	if *explain {
		return explainStats(ctx, url, say)
	}
	return nil
}

// statsMatrix is the filters the measurement runs: five periods (a week,
// 30 days, 90 days, a year, 200 days not aligned to months) × no filter,
// a region, an organisation, a system × any kind or one.
func statsMatrix(ctx context.Context, pool *pgxpool.Pool) ([]stats.Filter, error) {
	today := stats.Today(time.Now())
	var oid string
	var org, sys uuid.UUID
	var region string
	err := pool.QueryRow(ctx, `SELECT o.id, o.oid, o.region, s.id FROM organizations o JOIN information_systems s ON s.organization_id = o.id ORDER BY o.oid LIMIT 1`).
		Scan(&org, &oid, &region, &sys)
	if err != nil {
		return nil, fmt.Errorf("seed-stats: no organisation to filter by: %w", err)
	}
	var out []stats.Filter
	for _, back := range []int{6, 29, 89, 364, 199} {
		for scope := 0; scope < 4; scope++ {
			for _, kind := range []string{"", "119"} {
				f := stats.Filter{From: today.AddDate(0, 0, -back), To: today, Kind: kind}
				if back == 199 {
					f.To = today.AddDate(0, 0, -17)
					f.From = f.To.AddDate(0, 0, -back)
				}
				switch scope {
				case 1:
					f.Region = region
				case 2:
					f.OrgID, f.OrgOID = org, oid
				case 3:
					f.SystemID = sys
				}
				out = append(out, f)
			}
		}
	}
	return out, nil
}

func measureStats(ctx context.Context, pool *pgxpool.Pool, rounds int, say func(string, ...any)) error {
	matrix, err := statsMatrix(ctx, pool)
	if err != nil {
		return err
	}
	svc := &stats.Service{Pool: pool}
	views := []struct {
		name string
		run  func(stats.Filter) error
	}{
		{"registration", func(f stats.Filter) error { _, err := svc.Registration(ctx, f); return err }},
		{"refusals?by=region", func(f stats.Filter) error { _, err := svc.Refusals(ctx, f, stats.ByRegionKey); return err }},
		{"refusals?by=system", func(f stats.Filter) error { _, err := svc.Refusals(ctx, f, stats.BySystemKey); return err }},
		{"deliveries", func(f stats.Filter) error { _, err := svc.Deliveries(ctx, f, nil); return err }},
	}
	say("timing %d rounds × %d filter combinations per view (one view = every query behind one dashboard)", rounds, len(matrix))
	say("%-20s %8s %8s %8s %8s", "view", "calls", "p50", "p95", "max")
	r := rand.New(rand.NewPCG(1, 1))
	for _, v := range views {
		var ds []time.Duration
		for i := 0; i < rounds; i++ {
			for _, j := range r.Perm(len(matrix)) {
				start := time.Now()
				if err := v.run(matrix[j]); err != nil {
					return err
				}
				ds = append(ds, time.Since(start))
			}
		}
		slices.Sort(ds)
		q := func(p float64) time.Duration { return ds[int(p*float64(len(ds)-1))].Round(100 * time.Microsecond) }
		say("%-20s %8d %8s %8s %8s", v.name, len(ds), q(0.5), q(0.95), ds[len(ds)-1].Round(100*time.Microsecond))
	}
	return nil
}

// capture records the SQL a pool runs, for EXPLAIN.
type capture struct {
	mu   sync.Mutex
	on   bool
	seen []struct {
		sql  string
		args []any
	}
}

func (c *capture) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.on {
		c.seen = append(c.seen, struct {
			sql  string
			args []any
		}{d.SQL, d.Args})
	}
	return ctx
}

func (c *capture) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// explainStats prints the plans of every query behind the registration
// and system-ranking views over a year with no filter (the most rows) and
// for one organisation.
func explainStats(ctx context.Context, url string, say func(string, ...any)) error {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return err
	}
	tr := &capture{}
	pc.ConnConfig.Tracer = tr
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return err
	}
	defer pool.Close()
	matrix, err := statsMatrix(ctx, pool)
	if err != nil {
		return err
	}
	svc := &stats.Service{Pool: pool}
	// matrix[i]: period i/8 (a week, 30, 90, 365, 200 days), scope i/2%4, kind i%2.
	for _, f := range []stats.Filter{matrix[24], matrix[10], matrix[20]} { // a year: no filter; 30 days: a region; 90 days: one organisation
		tr.mu.Lock()
		tr.on, tr.seen = true, nil
		tr.mu.Unlock()
		if _, err := svc.Registration(ctx, f); err != nil {
			return err
		}
		if _, err := svc.Refusals(ctx, f, stats.BySystemKey); err != nil {
			return err
		}
		tr.mu.Lock()
		tr.on = false
		seen := tr.seen
		tr.mu.Unlock()
		say("\n=== filter %s", f.Query().Encode())
		for _, q := range seen {
			if strings.HasPrefix(strings.TrimSpace(q.sql), "SELECT CASE WHEN rolled_to") {
				continue
			}
			rows, err := pool.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) "+q.sql, q.args...)
			if err != nil {
				return fmt.Errorf("seed-stats: explain: %w", err)
			}
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			if err != nil {
				return err
			}
			say("\n--- %s", oneLine(q.sql, 160))
			for _, l := range lines {
				say("    %s", l)
			}
		}
	}
	return nil
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		s = s[:n] + "…"
	}
	return s
}
