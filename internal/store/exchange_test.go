package store_test

import (
	"context"
	"testing"

	"github.com/emdhub/hub/internal/store"
	"github.com/emdhub/hub/internal/testdb"
)

// TestSettleCallTouchesOnePartition: a call is settled by its key (id,
// at), so the update reads the one monthly partition of exchange_log that
// holds it, not every month kept (four here: this month, two ahead and the
// default; a year's retention in production). Before: every partition was
// scanned for the id. It also still settles the row.
func TestSettleCallTouchesOnePartition(t *testing.T) {
	ctx := context.Background()
	pool := testdb.Pool(t)
	conn, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	db := conn.Conn()
	scans := func() map[string]int64 {
		t.Helper()
		if _, err := db.Exec(ctx, `SELECT pg_stat_force_next_flush()`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Exec(ctx, `SELECT pg_stat_clear_snapshot()`); err != nil {
			t.Fatal(err)
		}
		rows, err := db.Query(ctx, `SELECT relname, coalesce(seq_scan, 0) + coalesce(idx_scan, 0) FROM pg_stat_user_tables
			WHERE relname LIKE 'exchange_log%' AND relname <> 'exchange_log_unpartitioned'`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		out := map[string]int64{}
		for rows.Next() {
			var name string
			var n int64
			if err := rows.Scan(&name, &n); err != nil {
				t.Fatal(err)
			}
			out[name] = n
		}
		return out
	}
	c := store.Call{Direction: "out", Peer: "zags", Operation: "SubmitMedicalCertificate", MessageID: "m-1", Outcome: "started"}
	if err := store.StartCall(ctx, db, &c); err != nil {
		t.Fatal(err)
	}
	before := scans()
	if len(before) < 3 {
		t.Fatalf("exchange_log partitions: %v", before)
	}
	c.Outcome, c.HTTPStatus = "ok", 200
	if err := store.LogCall(ctx, db, c); err != nil {
		t.Fatal(err)
	}
	after := scans()
	var touched []string
	for name, n := range after {
		if n > before[name] {
			touched = append(touched, name)
		}
	}
	if len(touched) != 1 {
		t.Fatalf("settling one call read %d of %d partitions (%v)", len(touched), len(after), touched)
	}
	var outcome string
	if err := db.QueryRow(ctx, `SELECT outcome FROM exchange_log WHERE id = $1`, c.ID).Scan(&outcome); err != nil || outcome != "ok" {
		t.Fatalf("settled call: %q %v", outcome, err)
	}
}
