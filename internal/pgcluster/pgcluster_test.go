package pgcluster

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// TestStartStop proves a private cluster starts (also as root, via the
// postgres user), accepts connections and stops.
func TestStartStop(t *testing.T) {
	ctx := context.Background()
	c, err := Start(ctx, Options{Database: "probe"})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	if err := ping(ctx, c.URL); err != nil {
		c.Stop()
		t.Fatalf("ping: %v", err)
	}
	if err := CreateDatabase(ctx, c.AdminURL, "probe"); err != nil {
		t.Fatalf("create existing database must be a no-op: %v", err)
	}
	if err := DropDatabase(ctx, c.AdminURL, "probe"); err != nil {
		t.Fatalf("drop: %v", err)
	}
	c.Stop()
	if err := ping(ctx, c.AdminURL); err == nil {
		t.Fatal("server still answers after Stop")
	}
}

// TestRestartImmediateKeepsDataAndPort proves an immediate restart is a
// real crash of the server (connections cut, a new postmaster) that keeps
// the data directory and the port, and that a CrashSafe cluster keeps every
// transaction whose commit it acknowledged.
func TestRestartImmediateKeepsDataAndPort(t *testing.T) {
	ctx := context.Background()
	c, err := Start(ctx, Options{Database: "probe", CrashSafe: true})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer c.Stop()
	conn, err := pgx.Connect(ctx, c.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var started time.Time
	if err := conn.QueryRow(ctx, `SELECT pg_postmaster_start_time()`).Scan(&started); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE flows (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	// Many small commits right before the crash: with synchronous_commit
	// off some of these would still sit in WAL buffers when the server dies.
	for i := 0; i < 500; i++ {
		if _, err := conn.Exec(ctx, `INSERT INTO flows VALUES ($1)`, i); err != nil {
			t.Fatal(err)
		}
	}
	port, url := c.Port, c.URL
	if err := c.RestartImmediate(ctx); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if c.Port != port || c.URL != url {
		t.Fatalf("restart moved the server: port %d → %d, url %s → %s", port, c.Port, url, c.URL)
	}
	if err := conn.Ping(ctx); err == nil {
		t.Fatal("a connection from before the restart still works: the server was not restarted")
	}
	conn2, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect after restart: %v", err)
	}
	defer conn2.Close(ctx)
	var n int
	var restarted time.Time
	if err := conn2.QueryRow(ctx, `SELECT count(*), pg_postmaster_start_time() FROM flows`).Scan(&n, &restarted); err != nil {
		t.Fatal(err)
	}
	if n != 500 {
		t.Errorf("%d of 500 acknowledged commits survived the immediate restart", n)
	}
	if !restarted.After(started) {
		t.Errorf("postmaster start time %s not after %s: no new server", restarted, started)
	}
}

// TestDurableSettings proves a Durable cluster runs with production's
// durability settings and a default one with fsync off.
func TestDurableSettings(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		durable bool
		want    string
	}{{false, "off off off"}, {true, "on on on"}} {
		c, err := Start(ctx, Options{Durable: tc.durable})
		if err != nil {
			t.Fatalf("start: %v", err)
		}
		conn, err := pgx.Connect(ctx, c.URL)
		if err != nil {
			c.Stop()
			t.Fatalf("connect: %v", err)
		}
		var got string
		err = conn.QueryRow(ctx, `SELECT current_setting('fsync') || ' ' || current_setting('synchronous_commit') || ' ' || current_setting('full_page_writes')`).Scan(&got)
		conn.Close(ctx)
		c.Stop()
		if err != nil {
			t.Fatal(err)
		}
		if got != tc.want {
			t.Errorf("Durable=%v: fsync, synchronous_commit, full_page_writes = %q, want %q", tc.durable, got, tc.want)
		}
	}
}

// TestPreload: Options.Preload reaches shared_preload_libraries, so
// pg_stat_statements can be created and counts the statements run.
func TestPreload(t *testing.T) {
	ctx := context.Background()
	c, err := Start(ctx, Options{Preload: "pg_stat_statements"})
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	defer c.Stop()
	conn, err := pgx.Connect(ctx, c.URL)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `CREATE EXTENSION pg_stat_statements`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := conn.QueryRow(ctx, `SELECT count(*) FROM pg_stat_statements`).Scan(&n); err != nil {
		t.Fatalf("pg_stat_statements not loaded: %v", err)
	}
	if n == 0 {
		t.Fatal("pg_stat_statements counted no statement")
	}
}
