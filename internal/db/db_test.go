package db_test

import (
	"context"
	"sync"
	"testing"

	"github.com/emdhub/hub/internal/db"
	"github.com/emdhub/hub/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// TestMigrateIsIdempotentAndConcurrent: the template testdb hands out is
// already migrated; migrating again, from several processes at once, must
// change nothing and fail nowhere.
func TestMigrateIsIdempotentAndConcurrent(t *testing.T) {
	pool := testdb.Pool(t)
	ctx := context.Background()
	var before int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM hub_schema_migrations").Scan(&before); err != nil || before == 0 {
		t.Fatalf("migrations table: %d %v", before, err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); errs <- db.Migrate(ctx, pool, nil) }()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	var after int
	_ = pool.QueryRow(ctx, "SELECT count(*) FROM hub_schema_migrations").Scan(&after)
	if after != before {
		t.Fatalf("re-migrating changed the applied set: %d → %d", before, after)
	}
	var riverTable bool
	if err := pool.QueryRow(ctx, "SELECT to_regclass('river_job') IS NOT NULL").Scan(&riverTable); err != nil || !riverTable {
		t.Fatalf("River's schema is missing: %v", err)
	}
}

func TestOpenRejectsBadURL(t *testing.T) {
	if _, err := db.Open(context.Background(), "postgres://nobody@127.0.0.1:1/x?connect_timeout=1", "t"); err == nil {
		t.Fatal("opened a database that is not there")
	}
	if _, err := db.Open(context.Background(), "::not a url", "t"); err == nil {
		t.Fatal("parsed a bad URL")
	}
}
