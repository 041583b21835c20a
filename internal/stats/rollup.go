package stats

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DelayDays is the delay the dashboards call late: a document submitted
// more than this many days after it was signed (or, without a signing
// time, created).
const DelayDays = 5

// MaxLagDays caps the histograms: the last bar is "31 days and more".
const MaxLagDays = 31

// Zone is where a day begins for the dashboards: Moscow, the operators' time.
const Zone = "Europe/Moscow"

// rollupLock is the advisory lock that lets one process at a time roll up.
const rollupLock = 0x5354415453 // "STATS"

// rollupChunk bounds one roll-up transaction (a seeded backlog is folded a
// week at a time).
const rollupChunk = 7 * 24 * time.Hour

// Rollup folds the attempts recorded before cutoff and not yet folded into
// the stats tables, and returns how far the record is now folded. It is
// safe to run from several processes at once (an advisory lock lets one
// work, the others return at once) and to repeat (the watermark moves in
// the same transaction as the totals). The cutoff must trail the clock by
// more than an intake transaction can last (SafeCutoff), since an attempt
// becomes visible when its transaction commits, a little after its time.
func Rollup(ctx context.Context, pool *pgxpool.Pool, cutoff time.Time) (time.Time, error) {
	return rollup(ctx, pool, cutoff, rollupChunk)
}

// rollup folds in transactions of at most chunk of the record (0: one).
func rollup(ctx context.Context, pool *pgxpool.Pool, cutoff time.Time, chunk time.Duration) (time.Time, error) {
	var done time.Time
	for {
		var more bool
		err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
			var locked bool
			if err := tx.QueryRow(ctx, `SELECT pg_try_advisory_xact_lock($1)`, int64(rollupLock)).Scan(&locked); err != nil {
				return err
			}
			if !locked {
				return nil
			}
			var wm pgtype.Timestamptz
			if err := tx.QueryRow(ctx, `SELECT rolled_to FROM stats_watermark FOR UPDATE`).Scan(&wm); err != nil {
				return err
			}
			lo := wm.Time
			if wm.InfinityModifier == pgtype.NegativeInfinity {
				var first *time.Time
				if err := tx.QueryRow(ctx, `SELECT min(at) FROM intake_attempts WHERE at < $1`, cutoff).Scan(&first); err != nil {
					return err
				}
				if first == nil {
					_, err := tx.Exec(ctx, `UPDATE stats_watermark SET rolled_to = $1`, cutoff)
					done = cutoff
					return err
				}
				lo = *first
			}
			if !lo.Before(cutoff) {
				done = lo
				return nil
			}
			hi := cutoff
			if chunk > 0 && hi.Sub(lo) > chunk {
				hi, more = lo.Add(chunk), true
			}
			for _, q := range rollupStatements {
				if _, err := tx.Exec(ctx, q, lo, hi); err != nil {
					return fmt.Errorf("%w in %.60s", err, strings.TrimSpace(q))
				}
			}
			_, err := tx.Exec(ctx, `UPDATE stats_watermark SET rolled_to = $1`, hi)
			done = hi
			return err
		})
		if err != nil {
			return done, fmt.Errorf("stats: roll-up: %w", err)
		}
		if !more {
			return done, nil
		}
	}
}

// SafeCutoff is the cutoff for a roll-up now: the clock less the longest an
// intake request may take (its transaction commits within it) and a margin.
func SafeCutoff(now time.Time, requestTimeout time.Duration) time.Time {
	return now.Add(-requestTimeout - 30*time.Second)
}

// rollupStatements fold [$1, $2) into each table at every (scope, grain).
var rollupStatements = []string{
	rollupSQL("stats_counts", `
		SELECT (a.at AT TIME ZONE '`+Zone+`')::date AS day, a.region, a.system_id, a.organization_id, a.kind,
			count(*) AS attempts,
			count(*) FILTER (WHERE a.outcome = 'accepted') AS accepted,
			count(*) FILTER (WHERE a.outcome = 'refused') AS refused,
			count(*) FILTER (WHERE NOT a.repeat) AS first_tries,
			count(*) FILTER (WHERE NOT a.repeat AND coalesce(a.signed_at, a.created_at) IS NOT NULL) AS dated,
			count(*) FILTER (WHERE NOT a.repeat AND a.at - coalesce(a.signed_at, a.created_at) > interval '`+fmt.Sprint(DelayDays)+` days') AS delayed
		FROM intake_attempts a WHERE a.at >= $1 AND a.at < $2
		GROUP BY 1, 2, 3, 4, 5`, nil, []string{"attempts", "accepted", "refused", "first_tries", "dated", "delayed"}),
	rollupSQL("stats_codes", `
		SELECT (a.at AT TIME ZONE '`+Zone+`')::date AS day, a.region, a.system_id, a.organization_id, a.kind, c.code, count(*) AS n
		FROM intake_attempts a, unnest(a.codes) AS c(code) WHERE a.at >= $1 AND a.at < $2 AND a.outcome = 'refused'
		GROUP BY 1, 2, 3, 4, 5, 6`, []string{"code"}, []string{"n"}),
	rollupSQL("stats_lags", `
		SELECT (a.at AT TIME ZONE '`+Zone+`')::date AS day, a.region, a.system_id, a.organization_id, a.kind, v.which, v.days, count(*) AS n
		FROM intake_attempts a, LATERAL (VALUES
			('c'::"char", `+lagDays("a.signed_at - a.created_at")+`),
			('s'::"char", `+lagDays("a.at - coalesce(a.signed_at, a.created_at)")+`)
		) AS v(which, days)
		WHERE a.at >= $1 AND a.at < $2 AND NOT a.repeat AND v.days IS NOT NULL
		GROUP BY 1, 2, 3, 4, 5, 6, 7`, []string{"which", "days"}, []string{"n"}),
}

// rollupSQL builds one statement: base aggregates the window per day and
// system; from it come six groupings (system, region, all × day, month),
// added to what the table holds.
func rollupSQL(table, base string, extra, measures []string) string {
	const nilID = `'00000000-0000-0000-0000-000000000000'::uuid`
	ex := ""
	for _, e := range extra {
		ex += ", " + e
	}
	sums, sets := "", ""
	for i, m := range measures {
		if i > 0 {
			sums += ", "
			sets += ", "
		}
		sums += "sum(" + m + ")::bigint"
		sets += m + " = t." + m + " + EXCLUDED." + m
	}
	type grouping struct{ scope, grain, bucket, region, system, org string }
	var parts []string
	for _, g := range []grouping{
		{"s", "d", "day", "region", "system_id", "organization_id"},
		{"s", "m", "date_trunc('month', day)::date", "region", "system_id", "organization_id"},
		{"r", "d", "day", "region", nilID, nilID},
		{"r", "m", "date_trunc('month', day)::date", "region", nilID, nilID},
		{"a", "d", "day", "''", nilID, nilID},
		{"a", "m", "date_trunc('month', day)::date", "''", nilID, nilID},
	} {
		parts = append(parts, fmt.Sprintf(`SELECT '%s'::"char", '%s'::"char", %s, %s, %s, %s, kind%s, %s FROM base GROUP BY 3, 4, 5, 6, 7%s`,
			g.scope, g.grain, g.bucket, g.region, g.system, g.org, ex, sums, groupExtra(len(extra))))
	}
	key := "scope, grain, bucket, region, system_id, kind" + ex
	return fmt.Sprintf(`WITH base AS (%s)
INSERT INTO %s AS t (scope, grain, bucket, region, system_id, organization_id, kind%s, %s)
%s
ON CONFLICT (%s) DO UPDATE SET %s`, base, table, ex, strings.Join(measures, ", "), strings.Join(parts, "\nUNION ALL "), key, sets)
}

// lagDays is the whole days of interval expression x, capped to
// 0..MaxLagDays, NULL when x is (greatest and least skip NULLs).
func lagDays(x string) string {
	return fmt.Sprintf("(CASE WHEN (%[1]s) IS NOT NULL THEN least(%[2]d, greatest(0, floor(extract(epoch FROM %[1]s) / 86400))) END)::smallint", x, MaxLagDays)
}

func groupExtra(n int) string {
	s := ""
	for i := 0; i < n; i++ {
		s += fmt.Sprintf(", %d", 8+i)
	}
	return s
}
