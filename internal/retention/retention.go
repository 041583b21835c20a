// Package retention keeps the monthly partitions of the growing tables
// (migration 0011: documents, document_signatures, exchange_log,
// intake_attempts): it creates this month's and the next ones ahead, and
// drops whole months past HUB_RETENTION_MONTHS — never a month that still
// holds a document of a live flow (a referral not ended, a delivery not
// final, a citizen's notice not delivered). Such a month is kept, logged
// and counted (Last().Kept, the hub_retention_kept_partitions gauge) until
// its flows end. Every drop is written to audit_log (actor 'hub').
//
// It runs as a loop in every process (Loop), like the stats roll-up: a
// session advisory lock lets one process work at a time, and every run is
// idempotent (it looks at what exists), so a missed or doubled run is
// harmless. Partition DDL needs no queue, and a River periodic job would
// only add a job row per run.
package retention

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
)

// lockKey is the advisory lock one maintenance run holds (any fixed
// number no other part of the hub uses: "partitio" in ASCII).
const lockKey int64 = 0x7061727469746f

// Ahead is how many months after the current one get their partitions in
// advance: a run missed for two months still finds them there.
const Ahead = 2

// Interval between runs of Loop; partitions exist months ahead, so a run a
// few hours late changes nothing.
const Interval = 6 * time.Hour

// Ended referral states and final delivery states: a flow in any other
// state may still need its documents (re-sends, re-fetches, replays).
var (
	referralEnded  = []string{"result_received", "returned", "superseded"}
	deliveryFinal  = []string{"delivered", "superseded", "not_notifiable"}
	partitionMonth = regexp.MustCompile(`^documents_p(\d{4})(\d{2})$`)
)

// Kept is a month past retention that was not dropped, and why.
type Kept struct {
	Month  string `json:"month"` // "2025-11"
	Reason string `json:"reason"`
}

// Report is what one run did.
type Report struct {
	Created     int      // partitions created (four per month)
	Dropped     []string // months dropped, "2025-11"
	Kept        []Kept
	DefaultRows int64 // rows in the default partitions: out of every month's range
	Skipped     bool  // another process held the lock
}

// Maintainer runs the partition upkeep. Months 0 keeps every month.
type Maintainer struct {
	Pool   *pgxpool.Pool
	Log    *slog.Logger
	Months int
	Now    func() time.Time // nil: time.Now

	mu   sync.Mutex
	last Report
}

// Last is the report of the last completed run (for the metrics).
func (m *Maintainer) Last() Report {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.last
}

func (m *Maintainer) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}

// Loop runs now and every Interval until ctx ends; a failed run is logged
// and the next one catches up.
func (m *Maintainer) Loop(ctx context.Context) {
	t := time.NewTicker(Interval)
	defer t.Stop()
	for {
		if _, err := m.Run(ctx); err != nil && ctx.Err() == nil {
			m.Log.Warn("partition upkeep failed; the next run catches up", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// monthStart is the first instant of t's month, UTC.
func monthStart(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

// Run creates the partitions of this month and the next Ahead, then drops
// the months past retention that hold no live flow.
func (m *Maintainer) Run(ctx context.Context) (Report, error) {
	var rep Report
	conn, err := m.Pool.Acquire(ctx)
	if err != nil {
		return rep, fmt.Errorf("retention: acquire: %w", err)
	}
	defer conn.Release()
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, lockKey).Scan(&got); err != nil {
		return rep, fmt.Errorf("retention: lock: %w", err)
	}
	if !got {
		rep.Skipped = true
		return rep, nil
	}
	defer func() {
		// A fresh context: the unlock must happen even when ctx ended, or
		// the pooled connection would keep the lock.
		uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if _, err := conn.Exec(uctx, `SELECT pg_advisory_unlock($1)`, lockKey); err != nil {
			conn.Conn().Close(uctx) // drops the session, and its lock with it
		}
	}()

	now := m.now()
	for i := 0; i <= Ahead; i++ {
		month := monthStart(now).AddDate(0, i, 0)
		var n int
		err := pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
			// Never queue the door behind us for long: the next run tries again.
			if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '5s'`); err != nil {
				return err
			}
			return tx.QueryRow(ctx, `SELECT hub_create_month_partitions($1::date)`, month).Scan(&n)
		})
		if err != nil {
			return rep, fmt.Errorf("retention: create partitions of %s: %w", month.Format("2006-01"), err)
		}
		rep.Created += n
	}
	if rep.Created > 0 {
		m.Log.Info("partitions created ahead", slog.Int("partitions", rep.Created))
	}

	if m.Months > 0 {
		if err := m.dropPast(ctx, conn.Conn(), now, &rep); err != nil {
			return rep, err
		}
	}
	if err := conn.QueryRow(ctx, `SELECT (SELECT count(*) FROM documents_default) + (SELECT count(*) FROM document_signatures_default)
		+ (SELECT count(*) FROM exchange_log_default) + (SELECT count(*) FROM intake_attempts_default)`).Scan(&rep.DefaultRows); err != nil {
		return rep, fmt.Errorf("retention: default partitions: %w", err)
	}
	if rep.DefaultRows > 0 {
		m.Log.Warn("rows outside every month partition (in the default partitions): a clock off, or months not created in time; they are kept and served, but never dropped by retention",
			slog.Int64("rows", rep.DefaultRows))
	}
	m.mu.Lock()
	m.last = rep
	m.mu.Unlock()
	return rep, nil
}

// monthsOf lists the months that have a documents partition, oldest first.
func monthsOf(ctx context.Context, conn *pgx.Conn) ([]time.Time, error) {
	rows, err := conn.Query(ctx, `SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
		WHERE i.inhparent = 'documents'::regclass ORDER BY c.relname`)
	if err != nil {
		return nil, fmt.Errorf("retention: list partitions: %w", err)
	}
	names, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("retention: list partitions: %w", err)
	}
	var out []time.Time
	for _, n := range names {
		if sub := partitionMonth.FindStringSubmatch(n); sub != nil {
			if t, err := time.Parse("200601", sub[1]+sub[2]); err == nil {
				out = append(out, t)
			}
		}
	}
	return out, nil
}

// dropPast drops every month whose end is more than m.Months months before now.
func (m *Maintainer) dropPast(ctx context.Context, conn *pgx.Conn, now time.Time, rep *Report) error {
	months, err := monthsOf(ctx, conn)
	if err != nil {
		return err
	}
	cutoff := now.UTC().AddDate(0, -m.Months, 0)
	for _, month := range months {
		if month.AddDate(0, 1, 0).After(cutoff) {
			break
		}
		label := month.Format("2006-01")
		reason, err := m.dropMonth(ctx, conn, month)
		switch {
		case err != nil:
			return fmt.Errorf("retention: drop %s: %w", label, err)
		case reason != "":
			rep.Kept = append(rep.Kept, Kept{Month: label, Reason: reason})
			m.Log.Warn("month past retention kept: it still holds documents of live flows; it is dropped once they end",
				slog.String("month", label), slog.String("reason", reason))
		default:
			rep.Dropped = append(rep.Dropped, label)
			m.Log.Info("month past retention dropped", slog.String("month", label))
		}
	}
	return nil
}

// errKept rolls back a month's drop that found a live flow.
var errKept = errors.New("kept")

// dropMonth drops one month in one transaction: the rows that belong to its
// documents in the unpartitioned workflow tables, its document keys, then
// its four partitions. A month with a live flow is left whole, and the
// reason returned. The foreign keys to documents are the backstop: a flow
// that began on one of its documents after the check makes the detach fail
// and the whole transaction roll back.
func (m *Maintainer) dropMonth(ctx context.Context, conn *pgx.Conn, month time.Time) (reason string, err error) {
	lo, hi := month, month.AddDate(0, 1, 0)
	suffix := month.Format("p200601")
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SET LOCAL lock_timeout = '5s'`); err != nil {
			return err
		}
		var referrals, links, deliveries, notices int64
		var rolledTo time.Time
		err := tx.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM mse_referrals WHERE document_id >= uuid7_floor($1) AND document_id < uuid7_floor($2) AND NOT state = ANY($3)),
			(SELECT count(*) FROM mse_links l JOIN mse_referrals r ON r.id = l.referral_id
				WHERE l.document_id >= uuid7_floor($1) AND l.document_id < uuid7_floor($2) AND NOT r.state = ANY($3)),
			(SELECT count(*) FROM deliveries WHERE document_id >= uuid7_floor($1) AND document_id < uuid7_floor($2) AND NOT state = ANY($4)),
			(SELECT count(*) FROM epgu_document_notices n LEFT JOIN deliveries d ON d.id = n.delivery_id
				WHERE n.document_id >= uuid7_floor($1) AND n.document_id < uuid7_floor($2) AND (d.id IS NULL OR NOT d.state = ANY($4))),
			(SELECT rolled_to FROM stats_watermark)`,
			lo, hi, referralEnded, deliveryFinal).Scan(&referrals, &links, &deliveries, &notices, &rolledTo)
		if err != nil {
			return fmt.Errorf("live flows: %w", err)
		}
		if referrals+links+deliveries+notices > 0 {
			reason = fmt.Sprintf("live flows on its documents: %d referrals not ended, %d links of referrals not ended, %d deliveries not final, %d citizen notices not delivered",
				referrals, links, deliveries, notices)
			return errKept
		}
		if rolledTo.Before(hi) {
			reason = "its attempts at the door are not rolled up into the dashboards yet"
			return errKept
		}
		var docs int64
		if err := tx.QueryRow(ctx, fmt.Sprintf(`SELECT count(*) FROM %s`, pgx.Identifier{"documents_" + suffix}.Sanitize())).Scan(&docs); err != nil {
			return fmt.Errorf("count: %w", err)
		}
		steps := []string{
			// The ended referrals on its documents, with their links and results.
			`CREATE TEMP TABLE gone_referrals ON COMMIT DROP AS
				SELECT id FROM mse_referrals WHERE document_id >= uuid7_floor($1) AND document_id < uuid7_floor($2)`,
			`DELETE FROM mse_results WHERE referral_id IN (SELECT id FROM gone_referrals)`,
			`DELETE FROM mse_links WHERE referral_id IN (SELECT id FROM gone_referrals)`,
			// Links of later, ended referrals that named one of its documents keep their CDA reference.
			`UPDATE mse_links SET document_id = NULL WHERE document_id >= uuid7_floor($1) AND document_id < uuid7_floor($2)`,
			// Its final deliveries, with the citizens' notices and batches they carried.
			`CREATE TEMP TABLE gone_deliveries ON COMMIT DROP AS
				SELECT id FROM deliveries WHERE document_id >= uuid7_floor($1) AND document_id < uuid7_floor($2)`,
			`DELETE FROM epgu_document_notices WHERE (document_id >= uuid7_floor($1) AND document_id < uuid7_floor($2))
				OR delivery_id IN (SELECT id FROM gone_deliveries)`,
			`DELETE FROM epgu_notice_batches WHERE delivery_id IN (SELECT id FROM gone_deliveries)`,
			`DELETE FROM deliveries WHERE id IN (SELECT id FROM gone_deliveries)`,
			`UPDATE deliveries SET superseded_by = NULL WHERE superseded_by >= uuid7_floor($1) AND superseded_by < uuid7_floor($2)`,
			`UPDATE mse_referrals SET superseded_by = NULL WHERE superseded_by >= uuid7_floor($1) AND superseded_by < uuid7_floor($2)`,
			`DELETE FROM mse_referrals WHERE id IN (SELECT id FROM gone_referrals)`,
		}
		for _, q := range steps {
			var args []any
			if strings.Contains(q, "$1") {
				args = []any{lo, hi}
			}
			if _, err := tx.Exec(ctx, q, args...); err != nil {
				return fmt.Errorf("%.60s: %w", q, err)
			}
		}
		docsPart := pgx.Identifier{"documents_" + suffix}.Sanitize()
		if _, err := tx.Exec(ctx, `DELETE FROM document_keys k USING `+docsPart+` d
			WHERE k.cda_root = d.cda_root AND k.cda_extension = d.cda_extension AND k.document_id = d.id`); err != nil {
			return fmt.Errorf("document keys: %w", err)
		}
		// The door's repeat keys first tried up to the month's end (older
		// ones too: keys from before migration 0013 carry its day).
		if _, err := tx.Exec(ctx, `DELETE FROM intake_tried WHERE first_tried < $1::date`, hi); err != nil {
			return fmt.Errorf("repeat keys: %w", err)
		}
		for _, t := range []string{"document_signatures", "documents", "exchange_log", "intake_attempts"} {
			part := pgx.Identifier{t + "_" + suffix}.Sanitize()
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, part).Scan(&exists); err != nil || !exists {
				continue // created by hand or dropped already: nothing to do
			}
			if _, err := tx.Exec(ctx, fmt.Sprintf(`ALTER TABLE %s DETACH PARTITION %s`, pgx.Identifier{t}.Sanitize(), part)); err != nil {
				return fmt.Errorf("detach %s: %w", part, err)
			}
			if _, err := tx.Exec(ctx, `DROP TABLE `+part); err != nil {
				return fmt.Errorf("drop %s: %w", part, err)
			}
		}
		details, _ := json.Marshal(map[string]any{"month": month.Format("2006-01"), "documents": docs,
			"tables": []string{"documents", "document_signatures", "exchange_log", "intake_attempts"}})
		if _, err := tx.Exec(ctx, `INSERT INTO audit_log (actor, actor_name, action, details) VALUES ('hub', 'retention', 'partition.drop', $1)`, details); err != nil {
			return fmt.Errorf("audit: %w", err)
		}
		return nil
	})
	if errors.Is(err, errKept) {
		return reason, nil
	}
	return "", err
}

// Register adds the upkeep's gauges to reg: months past retention kept for
// their live flows, and rows in the default partitions (both as of the
// last run; anything above zero is an operator's warning).
func Register(reg prometheus.Registerer, m *Maintainer) {
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hub_retention_kept_partitions",
			Help: "Months past HUB_RETENTION_MONTHS kept because they still hold documents of live flows (last run)."},
			func() float64 { return float64(len(m.Last().Kept)) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "hub_partition_default_rows",
			Help: "Rows in the default partitions, outside every month partition (last run)."},
			func() float64 { return float64(m.Last().DefaultRows) }),
	)
}
