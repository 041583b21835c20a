package testdb

import (
	"context"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { Main(m) }

// TestDurableURL proves benchmarks' databases run with fsync on and tests'
// with it off (on the private clusters; a TEST_DATABASE_URL server is what it is).
func TestDurableURL(t *testing.T) {
	if os.Getenv("TEST_DATABASE_URL") != "" || os.Getenv("HUB_BENCH_FSYNC") != "" {
		t.Log("a shared server or HUB_BENCH_FSYNC decides fsync: only the private clusters' settings are checked")
	}
	fsync := func(url string) string {
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(context.Background())
		var v string
		if err := conn.QueryRow(context.Background(), `SELECT current_setting('fsync')`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}
	if os.Getenv("TEST_DATABASE_URL") == "" {
		if got := fsync(URL(t)); got != "off" {
			t.Errorf("URL: fsync = %s, want off", got)
		}
		if Durable() {
			if got := fsync(DurableURL(t)); got != "on" {
				t.Errorf("DurableURL: fsync = %s, want on", got)
			}
		}
	}
	// Both hand out migrated databases.
	for _, u := range []string{URL(t), DurableURL(t)} {
		conn, err := pgx.Connect(context.Background(), u)
		if err != nil {
			t.Fatal(err)
		}
		var n int
		err = conn.QueryRow(context.Background(), `SELECT count(*) FROM documents`).Scan(&n)
		conn.Close(context.Background())
		if err != nil {
			t.Errorf("not migrated: %v", err)
		}
	}
}
