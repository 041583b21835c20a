package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/db"
	"github.com/emdhub/hub/internal/pgcluster"
	"github.com/emdhub/hub/internal/semdgen"
)

// startCluster starts a private PostgreSQL on port (0: any) with the hub's
// schema, for a test that stops it.
func startCluster(t *testing.T, port int) *pgcluster.Cluster {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cl, err := pgcluster.Start(ctx, pgcluster.Options{Port: port})
	if err != nil {
		t.Fatal(err)
	}
	pool, err := db.Open(ctx, cl.URL, "migrate")
	if err != nil {
		cl.Stop()
		t.Fatal(err)
	}
	defer pool.Close()
	if err := db.Migrate(ctx, pool, nil); err != nil {
		cl.Stop()
		t.Fatal(err)
	}
	return cl
}

// TestDatabaseDown stops the hub's PostgreSQL under a running hub (API and
// workers): every API call answers 503 DB_UNAVAILABLE with Retry-After
// instead of 500, /readyz fails the same way, and the log says it a bounded
// number of times however many requests fail. After a server is back on the
// same address, requests succeed again without restarting the hub.
func TestDatabaseDown(t *testing.T) {
	cl := startCluster(t, 0)
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			cl.Stop()
		}
	})
	pool, err := db.Open(context.Background(), cl.URL+"&pool_max_conns=4", "hub")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	b, logs := setupWith(t, pool, map[string]string{"HUB_MODE": "all"}, nil)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := b.app.Engine.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer scancel()
		_ = b.app.Engine.Stop(sctx)
	})
	if r := b.do("GET", "/api/v1/me", b.keyA, nil); r.Status != 200 {
		t.Fatalf("before the outage: %d %s", r.Status, r.Raw)
	}
	if r := b.do("GET", "/readyz", "", nil); r.Status != 200 {
		t.Fatalf("readyz before the outage: %d %s", r.Status, r.Raw)
	}

	cl.Stop()
	stopped = true
	before := len(logs.Lines())
	const rounds = 40
	for i := 0; i < rounds; i++ {
		for _, rq := range []struct{ path, key string }{
			{"/api/v1/me", b.keyA},
			{"/api/v1/documents", b.keyA},
			{"/api/v1/ops/systems", b.keyOp},
			{"/readyz", ""},
		} {
			r := b.do("GET", rq.path, rq.key, nil)
			assertErrorShape(t, r, http.StatusServiceUnavailable, codes.DBUnavailable)
			if r.Header.Get("Retry-After") == "" {
				t.Fatalf("%s: 503 without Retry-After", rq.path)
			}
		}
	}
	// Taking a document in and reading one fail the same way.
	sub := b.build(semdgen.Options{Kind: "119"}).Submission()
	for _, r := range []resp{
		b.do("POST", "/api/v1/documents", b.keyA, sub),
		b.do("GET", "/api/v1/documents/0190f1d2-0000-7000-8000-000000000000", b.keyA, nil),
		b.do("GET", "/api/v1/mse/results", b.keyA, nil),
	} {
		assertErrorShape(t, r, http.StatusServiceUnavailable, codes.DBUnavailable)
	}
	// The workers (River) meet the outage too: wait until they have said so,
	// then a while longer, so their repeated polls are in the count below.
	apiMessages := map[string]bool{"http request": true, "database unavailable": true, "readiness: database unavailable": true}
	workersSaid := func() bool {
		for _, line := range logs.Lines()[before:] {
			var rec struct{ Level, Msg string }
			if json.Unmarshal([]byte(line), &rec) == nil && rec.Level == "WARN" && !apiMessages[rec.Msg] {
				return true
			}
		}
		return false
	}
	for deadline := time.Now().Add(20 * time.Second); !workersSaid(); time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("the workers logged nothing about the outage:\n%s", strings.Join(logs.Lines()[before:], "\n"))
		}
	}
	time.Sleep(2 * time.Second)
	// Each distinct warning is written once (the summary comes after 30 s):
	// a bounded number of lines for 4×rounds failed requests and the
	// workers' polls, instead of at least one per request; and none is an
	// error (an outage of the database is not a fault of the hub). Debug
	// lines are River's ordinary chatter.
	var during []string
	seen := map[string]int{}
	for _, line := range logs.Lines()[before:] {
		var rec struct {
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line %q: %v", line, err)
		}
		if rec.Level == "DEBUG" || rec.Level == "INFO" {
			continue
		}
		during = append(during, line)
		if rec.Level != "WARN" {
			t.Fatalf("the outage logged at %s: %s", rec.Level, line)
		}
		seen[rec.Msg]++
		if seen[rec.Msg] > 1 {
			t.Fatalf("message %q logged %d times during the outage:\n%s", rec.Msg, seen[rec.Msg], strings.Join(logs.Lines()[before:], "\n"))
		}
	}
	if len(during) == 0 || len(during) >= rounds {
		t.Fatalf("%d log lines for %d failed requests:\n%s", len(during), 4*rounds, strings.Join(during, "\n"))
	}
	if !strings.Contains(strings.Join(during, "\n"), `"error_code":"DB_UNAVAILABLE"`) {
		t.Fatalf("the outage is not in the log:\n%s", strings.Join(during, "\n"))
	}
	t.Logf("%d warnings for %d failed requests and the workers' polls:\n%s", len(during), 4*rounds+3, strings.Join(during, "\n"))

	// A server comes back on the same address (a fresh one: the point is
	// the hub's recovery, not the data).
	cl2 := startCluster(t, cl.Port)
	t.Cleanup(cl2.Stop)
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := b.do("GET", "/readyz", "", nil)
		if r.Status == 200 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz after the restart: %d %s", r.Status, r.Raw)
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.registerKeys()
	for _, path := range []string{"/api/v1/me", "/api/v1/documents"} {
		if r := b.do("GET", path, b.keyA, nil); r.Status != 200 {
			t.Fatalf("%s after the restart: %d %s", path, r.Status, r.Raw)
		}
	}
}
