package api_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/emdhub/hub/internal/db"
	"github.com/emdhub/hub/internal/testdb"
)

// BenchmarkIntakeGrowth is BenchmarkIntake on a database that already
// holds N documents (issue 16 item 4: the cost per document must stay flat
// from 10 thousand to 10 million). For each N of HUB_GROWTH_STORED (comma
// separated, default 10000) a fresh durable database (testdb.DurableURL) is
// seeded by seedStored, then the sub-benchmark stored=N submits new
// documents over HTTP as BenchmarkIntake does. Besides docs/s it reports
// the WAL written per document taken in and, from the current month's
// partitions (where only the benchmark's real documents land), the bytes
// per document of each table and index.
//
//	HUB_GROWTH_STORED=10000,10000000 go test ./internal/api -run XXX -bench IntakeGrowth -benchtime 2000x -timeout 3h
//
// (or scripts/bench-growth).
func BenchmarkIntakeGrowth(b *testing.B) {
	sizes := os.Getenv("HUB_GROWTH_STORED")
	if sizes == "" {
		sizes = "10000"
	}
	b.Logf("database: %s", durability())
	for _, s := range strings.Split(sizes, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 0 {
			b.Fatalf("HUB_GROWTH_STORED: %q is not a count", s)
		}
		pool, err := db.Open(context.Background(), testdb.DurableURL(b), "bench-growth")
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(pool.Close)
		bu := newBundle(b, pool, nil, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, uint64(n)+7)
		bu.recordOGRNs()
		start := time.Now()
		if err := seedStored(context.Background(), pool, n); err != nil {
			b.Fatalf("seed %d: %v", n, err)
		}
		b.Logf("stored=%d: seeded in %s", n, time.Since(start).Round(time.Second))
		b.Run(fmt.Sprintf("stored=%d", n), func(b *testing.B) { intakeOnStored(b, bu, pool) })
	}
}

func durability() string {
	if testdb.Durable() {
		return "durable (fsync, synchronous_commit, full_page_writes on)"
	}
	return "NOT durable (HUB_BENCH_FSYNC=off: fsync off)"
}

func intakeOnStored(b *testing.B, bu *bundle, pool *pgxpool.Pool) {
	ctx := context.Background()
	bodies := intakeBodies(b, bu, b.N)
	var lsn0, lsn1 int64
	if err := pool.QueryRow(ctx, `SELECT pg_current_wal_lsn() - '0/0'`).Scan(&lsn0); err != nil {
		b.Fatal(err)
	}
	elapsed, _ := submitAll(b, bu, bodies)
	if err := pool.QueryRow(ctx, `SELECT pg_current_wal_lsn() - '0/0'`).Scan(&lsn1); err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "docs/s")
	b.ReportMetric(float64(lsn1-lsn0)/float64(b.N), "WAL-B/doc")
	if b.N < 100 {
		return // the first, one-document round: sizes would be all page overhead
	}
	sizes, err := relationSizes(ctx, pool)
	if err != nil {
		b.Fatal(err)
	}
	for _, s := range sizes {
		b.Logf("%-55s %10d bytes %8.0f B/doc", s.name, s.bytes, float64(s.bytes)/float64(b.N))
	}
	// document_keys is unpartitioned and holds the seed too: per row, not per round.
	var keyRows, keyHeap, keyIdx int64
	if err := pool.QueryRow(ctx, `SELECT count(*), pg_relation_size('document_keys'), pg_indexes_size('document_keys') FROM document_keys`).Scan(&keyRows, &keyHeap, &keyIdx); err != nil {
		b.Fatal(err)
	}
	b.Logf("document_keys: %d rows, heap %.0f B/row, primary key %.0f B/row", keyRows, float64(keyHeap)/float64(keyRows), float64(keyIdx)/float64(keyRows))
}

type relSize struct {
	name  string
	bytes int64
}

// relationSizes lists the heap, TOAST and every index of the current
// month's partitions (only this run's documents are there), and of the
// unpartitioned tables the intake writes (their growth since the seed is
// not separable: they are listed whole, document_keys included).
func relationSizes(ctx context.Context, pool *pgxpool.Pool) ([]relSize, error) {
	rows, err := pool.Query(ctx, `
		WITH parts AS (
			SELECT c.oid, c.relname FROM pg_class c
			WHERE c.relname IN (
				'documents_' || to_char(now() AT TIME ZONE 'UTC', '"p"YYYYMM'),
				'document_signatures_' || to_char(now() AT TIME ZONE 'UTC', '"p"YYYYMM'),
				'exchange_log_' || to_char(now() AT TIME ZONE 'UTC', '"p"YYYYMM'),
				'intake_attempts_' || to_char(now() AT TIME ZONE 'UTC', '"p"YYYYMM'),
				'intake_tried', 'river_job', 'mse_referrals', 'mse_links', 'deliveries'))
		SELECT relname || ' heap', pg_relation_size(oid) FROM parts
		UNION ALL SELECT relname || ' toast', coalesce(pg_total_relation_size(nullif(reltoastrelid, 0)), 0) FROM pg_class WHERE oid IN (SELECT oid FROM parts)
		UNION ALL SELECT p.relname || ' index ' || i.relname, pg_relation_size(i.oid)
			FROM parts p JOIN pg_index x ON x.indrelid = p.oid JOIN pg_class i ON i.oid = x.indexrelid
		ORDER BY 1`)
	if err != nil {
		return nil, fmt.Errorf("sizes: %w", err)
	}
	defer rows.Close()
	var out []relSize
	for rows.Next() {
		var s relSize
		if err := rows.Scan(&s.name, &s.bytes); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// seedStored fills the database with n documents of МИС А spread evenly
// over the twelve months before this one, fast: one INSERT … SELECT
// generate_series per month and table, so each month's rows arrive in id
// order into their own partition, as they do in production. Each document
// gets its key in document_keys (a random-looking CDA extension: that
// index takes random inserts, as real ids do), two signatures (5,000
// distinct certificates), a random СНИЛС, and its entry in intake_tried
// (the door's repeat probe, another random-insert index). Content and header are a few
// bytes: what an insert costs depends on the depth and cache residence of
// the indexes it touches, not on the content of other rows, so small rows
// seed the same index shapes in minutes instead of hours. Then VACUUM
// ANALYZE and a CHECKPOINT, so the measurement starts from a settled
// database and not inside the seed's autovacuum or checkpoint.
func seedStored(ctx context.Context, pool *pgxpool.Pool, n int) error {
	if n == 0 {
		return nil
	}
	var org, sys string
	if err := pool.QueryRow(ctx, `SELECT organization_id::text, id::text FROM information_systems WHERE name = 'МИС А'`).Scan(&org, &sys); err != nil {
		return fmt.Errorf("system: %w", err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	if _, err := conn.Exec(ctx, `SET synchronous_commit = off`); err != nil { // the seed is not measured
		return err
	}
	const months = 12
	per := n / months
	for m := months; m >= 1; m-- {
		count := per
		if m == 1 {
			count = n - per*(months-1)
		}
		var month time.Time
		if err := conn.QueryRow(ctx, `SELECT date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => $1)`, m).Scan(&month); err != nil {
			return err
		}
		steps := []string{
			`SELECT hub_create_month_partitions($1::date)`,
			// Ids one per (month length / count) milliseconds: distinct, ascending, inside the month.
			`INSERT INTO documents (id, organization_id, system_id, kind, doc_type, local_id, cda_root, cda_extension,
				set_root, set_extension, version_number, title, effective_time, patient_snils, content, content_sha256, header, received_at)
			SELECT uuid7_floor(t), $3::uuid, $4::uuid, '119', '119', 'seed-' || $2 || '-' || i, '1.2.643.5.1.13.13.12.2.77.11.100',
				md5($2 || ':' || i), '1.2.643.5.1.13.13.12.2.77.11.101', md5('set' || $2 || ':' || i), 1, 'seed', t,
				lpad((random() * 99999999999)::bigint::text, 11, '0'), '\x3c782f3e', sha256(int4send(i)), '{}', t
			FROM generate_series(1, $5::integer) AS i,
				LATERAL (SELECT ($1::date::timestamp AT TIME ZONE 'UTC') + (i - 1) * ((($1::date + interval '1 month') - $1::date) / $5::integer) AS t) AS ts`,
			`INSERT INTO document_keys (cda_root, cda_extension, document_id)
			SELECT cda_root, cda_extension, id FROM documents WHERE id >= uuid7_floor($1::date) AND id < uuid7_floor($1::date + interval '1 month')`,
			`INSERT INTO document_signatures (document_id, ordinal, role, cms, cms_sha256, signer_subject, key_bits, cert_not_before, cert_not_after, cert_sha256)
			SELECT id, o, CASE o WHEN 1 THEN 'doctor' ELSE 'organization' END, '\x00', sha256(uuid_send(id)), 'seed', 256,
				'2025-01-01', '2028-01-01'::timestamptz + (abs(hashtext(id::text)) % 5000) * interval '1 hour',
				sha256(int4send(abs(hashtext(id::text)) % 5000))
			FROM documents, generate_series(1, 2) AS o WHERE id >= uuid7_floor($1::date) AND id < uuid7_floor($1::date + interval '1 month')`,
			// The door's repeat probe (internal/stats): one 16-byte random key per document tried, unpartitioned.
			`INSERT INTO intake_tried (key, first_tried)
			SELECT substring(sha256(uuid_send(id)) from 1 for 16), $1::date FROM documents WHERE id >= uuid7_floor($1::date) AND id < uuid7_floor($1::date + interval '1 month')`,
		}
		for i, q := range steps {
			var args []any
			switch i {
			case 0, 2, 3, 4:
				args = []any{month}
			default:
				args = []any{month, strconv.Itoa(m), org, sys, count}
			}
			if _, err := conn.Exec(ctx, q, args...); err != nil {
				return fmt.Errorf("month -%d step %d: %w", m, i, err)
			}
		}
	}
	for _, q := range []string{`VACUUM ANALYZE documents`, `VACUUM ANALYZE document_keys`, `VACUUM ANALYZE document_signatures`, `VACUUM ANALYZE intake_tried`, `CHECKPOINT`} {
		if _, err := conn.Exec(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
	}
	return nil
}
