package stats_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/emdhub/hub/internal/db"
	"github.com/emdhub/hub/internal/intake"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/stats"
	"github.com/emdhub/hub/internal/store"
	"github.com/emdhub/hub/internal/testdb"
)

// BenchmarkRecordAccepted is what recording adds to one accepted
// document's intake transaction: the statement Recorder.Accepted runs
// (with its intake_tried probe), in a transaction of its own here, one
// client, against a record already holding 100,000 attempts. Set beside
// the intake's cost per document (BenchmarkIntakeRecorded in internal/api).
//
//	go test ./internal/stats -run XXX -bench RecordAccepted -benchtime 3000x
func BenchmarkRecordAccepted(b *testing.B) {
	ctx := context.Background()
	pool, err := db.Open(ctx, testdb.DurableURL(b), "bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(pool.Close)
	b.Logf("database: durable=%v (HUB_BENCH_FSYNC=off for the fast cluster)", testdb.Durable())
	st := store.New(pool)
	if err := stats.Seed(ctx, pool, st, stats.SeedOptions{N: 100000, Regions: 20, Days: 60, Seed: 1}, nil); err != nil {
		b.Fatal(err)
	}
	orgs, err := stats.SeedOrgs(ctx, pool, st, stats.SeedOptions{Regions: 1, OrgsPerRegion: 1})
	if err != nil {
		b.Fatal(err)
	}
	rec := stats.NewRecorder(pool, nil)
	hdr := &semd.Document{EffectiveTime: time.Now().Add(-time.Hour)}
	// "tx" is the transaction alone (BEGIN, a one-row insert, COMMIT: the
	// intake has its own, and it writes, so its commit waits for a WAL
	// flush on durable storage — a read-only transaction would not, and the
	// difference would charge the record with the flush); "record" the
	// same with the record's statement.
	if _, err := pool.Exec(ctx, `CREATE TABLE bench_tx (x int)`); err != nil {
		b.Fatal(err)
	}
	for _, on := range []bool{false, true} {
		b.Run(map[bool]string{false: "tx", true: "record"}[on], func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				a := &intake.Attempt{At: time.Now(), Submitter: intake.Submitter{OrgID: orgs[0].OrgID, OrgOID: orgs[0].OID, SystemID: orgs[0].SystemID},
					Kind: "119", LocalID: fmt.Sprint("bench-", on, i), Header: hdr}
				err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
					if _, err := tx.Exec(ctx, `INSERT INTO bench_tx VALUES (1)`); err != nil {
						return err
					}
					if on {
						return rec.Accepted(ctx, tx, a)
					}
					return nil
				})
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	// "batch16" is group commit's way (intake.Committer): the accepted
	// attempts of a batch of 16 documents in one AcceptedBatch statement,
	// one transaction per batch; ns/op is per attempt.
	b.Run("batch16", func(b *testing.B) {
		const batch = 16
		for i := 0; i < b.N; i += batch {
			var as []*intake.Attempt
			for j := i; j < min(i+batch, b.N); j++ {
				as = append(as, &intake.Attempt{At: time.Now(), Submitter: intake.Submitter{OrgID: orgs[0].OrgID, OrgOID: orgs[0].OID, SystemID: orgs[0].SystemID},
					Kind: "119", LocalID: fmt.Sprint("bench-batch-", j), Header: hdr})
			}
			if err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error { return rec.AcceptedBatch(ctx, tx, as) }); err != nil {
				b.Fatal(err)
			}
		}
	})
}
