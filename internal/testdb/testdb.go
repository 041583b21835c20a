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

// server is one PostgreSQL server the tests' databases are cloned on.
type server struct {
	durable  bool
	once     sync.Once
	admin    string // admin URL (maintenance database) of the server to use
	template string // migrated template database name
	cluster  *pgcluster.Cluster
	err      error
}

var (
	fast    = &server{}
	durable = &server{durable: true}
	counter atomic.Int64
)

// Main wraps testing.M: it runs the tests and stops the private cluster, if
// one was started. Use it from TestMain: func TestMain(m *testing.M) { testdb.Main(m) }.
func Main(m *testing.M) {
	code := m.Run()
	for _, sv := range []*server{fast, durable} {
		if sv.template != "" {
			_ = pgcluster.DropDatabase(context.Background(), sv.admin, sv.template)
		}
		if sv.cluster != nil {
			sv.cluster.Stop()
		}
	}
	os.Exit(code)
}

// Durable tells whether DurableURL's server runs with fsync on: always for
// TEST_DATABASE_URL (the server is what it is), and for the private cluster
// unless HUB_BENCH_FSYNC=off asks for the fast one. Benchmarks print it.
func Durable() bool {
	if os.Getenv("TEST_DATABASE_URL") != "" {
		return true
	}
	return os.Getenv("HUB_BENCH_FSYNC") != "off"
}

func (sv *server) setup() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if u := os.Getenv("TEST_DATABASE_URL"); u != "" {
		sv.admin = u
	} else {
		sv.cluster, sv.err = pgcluster.Start(ctx, pgcluster.Options{Database: "postgres", Durable: sv.durable})
		if sv.err != nil {
			sv.err = fmt.Errorf("testdb: TEST_DATABASE_URL is unset and a private cluster could not start: %w", sv.err)
			return
		}
		sv.admin = sv.cluster.AdminURL
	}
	sv.template = fmt.Sprintf("hubtpl_%d_%d", os.Getpid(), time.Now().UnixNano()%1e9)
	if sv.durable {
		sv.template += "_d"
	}
	if sv.err = pgcluster.CreateDatabase(ctx, sv.admin, sv.template); sv.err != nil {
		return
	}
	pool, err := db.Open(ctx, withDB(sv.admin, sv.template), "testdb")
	if err != nil {
		sv.err = err
		return
	}
	defer pool.Close()
	sv.err = db.Migrate(ctx, pool, nil)
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
// database is dropped when t ends. The private cluster behind it runs with
// fsync off: tests need correctness, not durability.
func URL(t testing.TB) string {
	t.Helper()
	return fast.url(t)
}

// DurableURL is URL on a server that runs as production does (fsync,
// synchronous_commit and full_page_writes on; see Durable): benchmarks
// use it, so their figures speak for production (issue 16). With
// HUB_BENCH_FSYNC=off it is the fast cluster, and Durable says so.
func DurableURL(t testing.TB) string {
	t.Helper()
	if !Durable() {
		return fast.url(t)
	}
	return durable.url(t)
}

func (sv *server) url(t testing.TB) string {
	t.Helper()
	sv.once.Do(sv.setup)
	if sv.err != nil {
		t.Fatalf("testdb: %v", sv.err)
	}
	ctx := context.Background()
	name := fmt.Sprintf("%s_%d", sv.template, counter.Add(1))
	if err := sv.createFromTemplate(ctx, name); err != nil {
		t.Fatalf("testdb: %v", err)
	}
	t.Cleanup(func() { _ = pgcluster.DropDatabase(context.Background(), sv.admin, name) })
	return withDB(sv.admin, name)
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
func (sv *server) createFromTemplate(ctx context.Context, name string) error {
	var err error
	for i := 0; i < 50; i++ {
		if err = pgcluster.CreateDatabaseFrom(ctx, sv.admin, name, sv.template); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}
