// Package testdb gives integration tests a fresh, migrated PostgreSQL
// database each.
//
// With TEST_DATABASE_URL set (a shared server, e.g. a developer's) the databases
// are created on that server; otherwise a private cluster is started once per
// test binary with pgcluster. Either way a database that cannot be had is a
// test failure, never a skip: a suite that skips its database tests is not green.
package testdb

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/emdhub/hub/internal/db"
	"github.com/emdhub/hub/internal/pgcluster"
)

var (
	once     sync.Once
	server   string // admin URL (maintenance database) of the server to use
	template string // migrated template database name
	cluster  *pgcluster.Cluster
	setupErr error
	counter  atomic.Int64
)

// Main wraps testing.M: it runs the tests and stops the private cluster, if
// one was started. Use it from TestMain: func TestMain(m *testing.M) { testdb.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	if template != "" {
		_ = pgcluster.DropDatabase(context.Background(), server, template)
	}
	if cluster != nil {
		cluster.Stop()
	}
	os.Exit(code)
}

func setup() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		server = u
	} else {
		cluster, setupErr = pgcluster.Start(ctx, pgcluster.Options{Database: "postgres"})
		if setupErr != nil {
			setupErr = fmt.Errorf("testdb: TEST_DATABASE_URL is unset and a private cluster could not start: %w", setupErr)
			return
		}
		server = cluster.AdminURL
	}
	template = fmt.Sprintf("hubtpl_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	if setupErr = pgcluster.CreateDatabase(ctx, server, template); setupErr != nil {
		return
	}
	pool, err := db.Open(ctx, withDB(server, template), "testdb")
	if err != nil {
		setupErr = err
		return
	}
	defer pool.Close()
	setupErr = db.Migrate(ctx, pool, nil)
}

// withDB replaces the database name in a postgres:// URL.
func withDB(url, name string) string {
	scheme, rest, _ := strings.Cut(url, "://")
	hostPart, query, _ := strings.Cut(rest, "?")
	if i := strings.Index(hostPart, "/"); i >= 0 {
		hostPart = hostPart[:i]
	}
	u := scheme + "://" + hostPart + "/" + name
	if query != "" {
		u += "?" + query
	}
	return u
}

// URL creates a fresh migrated database for t and returns its URL. The
// database is dropped when t ends.
func URL(t testing.TB) string {
	t.Helper()
	once.Do(setup)
	if setupErr != nil {
		t.Fatalf("testdb: %v", setupErr)
	}
	ctx := context.Background()
	name := fmt.Sprintf("%s_%d", template, counter.Add(1))
	if err := createFromTemplate(ctx, name); err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() { _ = pgcluster.DropDatabase(context.Background(), server, name) })
	return withDB(server, name)
}

// Pool returns a pool on a fresh migrated database, closed when t ends.
func Pool(t testing.TB) *pgxpool.Pool {
	t.Helper()
	url := URL(t)
	pool, err := db.Open(context.Background(), url, "test")
	if err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(pool.Close)
	return pool
}

// createFromTemplate clones the migrated template. CREATE DATABASE ... TEMPLATE
// fails while another session is connected to the template, so it retries briefly.
func createFromTemplate(ctx context.Context, name string) error {
	var err error
	for i := 0; i < 50; i++ {
		if err = pgcluster.CreateDatabaseFrom(ctx, server, name, template); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}
