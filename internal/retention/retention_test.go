package retention

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/emdhub/hub/internal/store/dbsqlc"
	"github.com/emdhub/hub/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// idAt is a UUIDv7 of instant t, as ids.New makes them at t.
func idAt(t time.Time) uuid.UUID {
	id := uuid.Must(uuid.NewV7())
	var ms [8]byte
	binary.BigEndian.PutUint64(ms[:], uint64(t.UnixMilli()))
	copy(id[:6], ms[2:])
	return id
}

type fixture struct {
	pool       *pgxpool.Pool
	org, sys   uuid.UUID
	q          *dbsqlc.Queries
	cdaCounter int
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{pool: testdb.Pool(t), org: uuid.New(), sys: uuid.New(), q: dbsqlc.New()}
	ctx := context.Background()
	mustExec(t, f.pool, `INSERT INTO organizations (id, oid, name, region) VALUES ($1, '1.2.643.5.1.13.13.12.2.77.1', 'МО', '77')`, f.org)
	mustExec(t, f.pool, `INSERT INTO information_systems (id, organization_id, name) VALUES ($1, $2, 'МИС')`, f.sys, f.org)
	// The roll-up has gone past every month the tests use.
	mustExec(t, f.pool, `UPDATE stats_watermark SET rolled_to = now()`)
	_ = ctx
	return f
}

func mustExec(t *testing.T, pool *pgxpool.Pool, q string, args ...any) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), q, args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// insert stores a document with id at instant at through the hub's own
// InsertDocument; ok false: its CDA id was taken.
func (f *fixture) insert(t *testing.T, at time.Time, cdaExt string) (uuid.UUID, bool) {
	t.Helper()
	id := idAt(at)
	_, err := f.q.InsertDocument(context.Background(), f.pool, &dbsqlc.InsertDocumentParams{
		ID: id, OrganizationID: f.org, SystemID: f.sys, Kind: "121", DocType: "121", LocalID: cdaExt,
		CdaRoot: "1.2.643.5.1.13.13.12.2.77.1.100", CdaExtension: cdaExt, SetRoot: "1.2.643.5.1.13.13.12.2.77.1.101",
		SetExtension: cdaExt, VersionNumber: 1, Title: "t", EffectiveTime: at, Content: []byte("<x/>"),
		ContentSha256: []byte{1}, Header: []byte(`{}`),
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return id, false
	}
	if err != nil {
		t.Fatalf("insert document: %v", err)
	}
	mustExec(t, f.pool, `INSERT INTO document_signatures (document_id, ordinal, role, cms, cms_sha256) VALUES ($1, 1, 'doctor', '\x00', '\x00')`, id)
	return id, true
}

func (f *fixture) delivery(t *testing.T, doc uuid.UUID, state string) uuid.UUID {
	t.Helper()
	id := uuid.New()
	mustExec(t, f.pool, `INSERT INTO deliveries (id, document_id, organization_id, recipient, state, message_id) VALUES ($1, $2, $3, 'zags', $4, $5)`,
		id, doc, f.org, state, id.String())
	return id
}

func count(t *testing.T, pool *pgxpool.Pool, q string, args ...any) int {
	t.Helper()
	var n int
	if err := pool.QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

func gauge(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

func exists(t *testing.T, pool *pgxpool.Pool, rel string) bool {
	return count(t, pool, `SELECT count(*) FROM pg_class WHERE relname = $1`, rel) == 1
}

func TestRunCreatesAheadDropsPastAndKeepsLiveFlows(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := time.Date(2026, 6, 10, 12, 0, 0, 0, time.UTC)
	for _, m := range []string{"2026-01-01", "2026-02-01", "2026-03-01"} {
		mustExec(t, f.pool, `SELECT hub_create_month_partitions($1::date)`, m)
	}
	jan := time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)
	feb := time.Date(2026, 2, 20, 0, 0, 0, 0, time.UTC)
	mar := time.Date(2026, 3, 20, 0, 0, 0, 0, time.UTC)

	// January: a delivered certificate, and an ended referral with a link and a result.
	a, _ := f.insert(t, jan, "a")
	f.delivery(t, a, "delivered")
	ref, _ := f.insert(t, jan.Add(time.Hour), "ref")
	rid := uuid.New()
	mustExec(t, f.pool, `INSERT INTO mse_referrals (id, document_id, organization_id, system_id, state, deadline_at) VALUES ($1, $2, $3, $4, 'result_received', now())`, rid, ref, f.org, f.sys)
	mustExec(t, f.pool, `INSERT INTO mse_links (referral_id, ordinal, doc_type, ref_root, ref_extension, state, document_id) VALUES ($1, 1, '1', 'r', 'a', 'fetched', $2)`, rid, a)
	mustExec(t, f.pool, `INSERT INTO mse_results (id, message_id, referral_id, organization_id, case_id, type, kind, referral_root, referral_extension, cda_root, cda_extension, content, signatures)
		VALUES ($1, 'm1', $2, $3, 'c', 'RESULT', '125', 'r', 'ref', 'x', 'y', '\x00', '[]')`, uuid.New(), rid, f.org)
	mustExec(t, f.pool, `INSERT INTO exchange_log (at, direction, peer, operation, outcome) VALUES ($1, 'out', 'zags', 'x', 'ok')`, jan)
	// February: a certificate whose delivery is still pending: a live flow.
	b, _ := f.insert(t, feb, "b")
	pending := f.delivery(t, b, "pending")
	// March: within retention (it ends after the cutoff), kept whatever it holds.
	f.insert(t, mar, "c")
	// The door's repeat keys, one first tried in each month.
	for i, day := range []string{"2026-01-20", "2026-02-20", "2026-03-20"} {
		mustExec(t, f.pool, `INSERT INTO intake_tried (key, first_tried) VALUES ($1, $2::date)`, []byte{byte(i), 7}, day)
	}

	m := &Maintainer{Pool: f.pool, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Months: 3, Now: func() time.Time { return now }}
	rep, err := m.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Ahead: June, July, August for all four tables.
	for _, tbl := range []string{"documents", "document_signatures", "exchange_log", "intake_attempts"} {
		for _, mon := range []string{"202606", "202607", "202608"} {
			if !exists(t, f.pool, tbl+"_p"+mon) {
				t.Errorf("%s_p%s not created ahead", tbl, mon)
			}
		}
	}
	if rep.Created != 12 {
		t.Errorf("created %d partitions, want 12", rep.Created)
	}
	if len(rep.Dropped) != 1 || rep.Dropped[0] != "2026-01" {
		t.Errorf("dropped %v, want [2026-01]", rep.Dropped)
	}
	if len(rep.Kept) != 1 || rep.Kept[0].Month != "2026-02" || !strings.Contains(rep.Kept[0].Reason, "1 deliveries not final") {
		t.Errorf("kept %+v, want 2026-02 for its pending delivery", rep.Kept)
	}
	for _, tbl := range []string{"documents", "document_signatures", "exchange_log", "intake_attempts"} {
		if exists(t, f.pool, tbl+"_p202601") {
			t.Errorf("%s_p202601 still there", tbl)
		}
		if !exists(t, f.pool, tbl+"_p202602") || !exists(t, f.pool, tbl+"_p202603") {
			t.Errorf("%s: February or March dropped", tbl)
		}
	}
	if n := count(t, f.pool, `SELECT count(*) FROM documents WHERE id = ANY($1)`, []uuid.UUID{a, ref}); n != 0 {
		t.Errorf("%d January documents left", n)
	}
	for q, want := range map[string]int{
		`SELECT count(*) FROM document_keys WHERE cda_extension IN ('a', 'ref')`: 0,
		`SELECT count(*) FROM document_keys`:                                     2,
		`SELECT count(*) FROM mse_referrals`:                                     0,
		`SELECT count(*) FROM mse_links`:                                         0,
		`SELECT count(*) FROM mse_results`:                                       0,
		`SELECT count(*) FROM deliveries`:                                        1,
		`SELECT count(*) FROM intake_tried WHERE first_tried < '2026-02-01'`:     0,
		`SELECT count(*) FROM intake_tried`:                                      2,
		`SELECT count(*) FROM documents`:                                         2,
		`SELECT count(*) FROM audit_log WHERE actor = 'hub' AND action = 'partition.drop' AND details->>'month' = '2026-01' AND (details->>'documents')::int = 2`: 1,
	} {
		if n := count(t, f.pool, q); n != want {
			t.Errorf("%s = %d, want %d", q, n, want)
		}
	}
	if got := m.Last(); len(got.Kept) != 1 {
		t.Errorf("Last() = %+v, want the kept month", got)
	}
	reg := prometheus.NewRegistry()
	Register(reg, m)
	if v := gauge(t, reg, "hub_retention_kept_partitions"); v != 1 {
		t.Errorf("hub_retention_kept_partitions = %v, want 1", v)
	}

	// The delivery ends: the next run drops February too, and the CDA id
	// of a dropped document can be taken again.
	mustExec(t, f.pool, `UPDATE deliveries SET state = 'delivered' WHERE id = $1`, pending)
	rep, err = m.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Dropped) != 1 || rep.Dropped[0] != "2026-02" || len(rep.Kept) != 0 || rep.Created != 0 {
		t.Errorf("second run: %+v, want February dropped, nothing kept or created", rep)
	}
	if _, ok := f.insert(t, now, "a"); !ok {
		t.Error("the CDA id of a dropped document is still taken")
	}
	if n := count(t, f.pool, `SELECT count(*) FROM intake_tried`); n != 1 {
		t.Errorf("%d repeat keys after February's drop, want March's only", n)
	}
}

// A flow that starts on a document of the month between the check and the
// drop is refused by the foreign key at detach: the month stays whole.
func TestDetachRefusedWhileReferenced(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	mustExec(t, f.pool, `SELECT hub_create_month_partitions('2026-01-01')`)
	a, _ := f.insert(t, time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), "a")
	f.delivery(t, a, "pending")
	_, err := f.pool.Exec(ctx, `ALTER TABLE documents DETACH PARTITION documents_p202601`)
	if err == nil || !strings.Contains(err.Error(), "foreign key") {
		t.Fatalf("detach of a referenced month: %v, want a foreign key violation", err)
	}
}

// The CDA id stays unique across months: a second document with the same
// id in another month is refused, as before partitioning.
func TestCDAIDUniqueAcrossMonths(t *testing.T) {
	f := newFixture(t)
	mustExec(t, f.pool, `SELECT hub_create_month_partitions('2026-01-01')`)
	mustExec(t, f.pool, `SELECT hub_create_month_partitions('2026-02-01')`)
	if _, ok := f.insert(t, time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), "same"); !ok {
		t.Fatal("first insert refused")
	}
	if _, ok := f.insert(t, time.Date(2026, 2, 5, 0, 0, 0, 0, time.UTC), "same"); ok {
		t.Fatal("the same CDA id taken twice in two months")
	}
	if n := count(t, f.pool, `SELECT count(*) FROM documents`); n != 1 {
		t.Errorf("%d documents, want 1", n)
	}
}

// A row outside every month (a clock far off) is taken in by the default
// partition, served, counted by the run, and never dropped.
func TestDefaultPartitionCatchesOutOfRange(t *testing.T) {
	f := newFixture(t)
	old := time.Date(2019, 3, 1, 0, 0, 0, 0, time.UTC)
	id, ok := f.insert(t, old, "old")
	if !ok {
		t.Fatal("out-of-range document refused")
	}
	mustExec(t, f.pool, `INSERT INTO intake_attempts (at, organization_id, org_oid, region, system_id, kind, outcome, repeat) VALUES ($1, $2, 'o', '77', $3, '121', 'refused', false)`, old, f.org, f.sys)
	if n := count(t, f.pool, `SELECT count(*) FROM documents_default WHERE id = $1`, id); n != 1 {
		t.Fatalf("document not in documents_default")
	}
	m := &Maintainer{Pool: f.pool, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Months: 1}
	rep, err := m.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.DefaultRows != 3 { // the document, its signature, the attempt
		t.Errorf("default rows %d, want 3", rep.DefaultRows)
	}
	if n := count(t, f.pool, `SELECT count(*) FROM documents WHERE id = $1`, id); n != 1 {
		t.Error("retention dropped a row of the default partition")
	}
}
