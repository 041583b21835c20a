package soak

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/emdhub/hub/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// TestSoak runs the chaos soak at HUB_SOAK_FLOWS flows (default 500, what
// CI runs through ./scripts/test) against the real binary: simulators with
// faults, an API and a worker process, three SIGKILLs and an immediate
// PostgreSQL restart. It fails on any broken invariant, listing the flows.
// HUB_SOAK_RATE sets submissions per second (default 10).
func TestSoak(t *testing.T) {
	flows, rate := 500, 10.0
	if v := os.Getenv("HUB_SOAK_FLOWS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("HUB_SOAK_FLOWS=%q: want a positive number", v)
		}
		flows = n
	}
	if v := os.Getenv("HUB_SOAK_RATE"); v != "" {
		x, err := strconv.ParseFloat(v, 64)
		if err != nil || x <= 0 {
			t.Fatalf("HUB_SOAK_RATE=%q: want a positive number", v)
		}
		rate = x
	}
	// The logs stay when the soak fails; they go when it passes.
	dir, err := os.MkdirTemp("", "hub-soak-test-")
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "hub")
	if out, err := exec.Command("go", "build", "-o", bin, "../../cmd/hub").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	// Its own private cluster (which it crashes), unless the suite runs
	// against a server: then a fresh database there, and no restart.
	var dbURL string
	if os.Getenv("TEST_DATABASE_URL") != "" {
		dbURL = testdb.URL(t)
	}
	rep, err := Run(context.Background(), Config{Bin: bin, Flows: flows, Rate: rate, DatabaseURL: dbURL, WorkDir: dir, Out: newTestWriter(t)})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() {
		t.Fatalf("soak of %d flows broke invariants: %v (process logs were in %s)", flows, rep.Failed(), dir)
	}
	_ = os.RemoveAll(dir)
	t.Logf("soak of %d flows passed: submitting %s, draining %s, total %s", flows, rep.Submitting, rep.Draining, rep.Total)
}

// testWriter sends the soak's output to the test log line by line, as it
// comes (the report's tables arrive in pieces).
type testWriter struct {
	t   *testing.T
	mu  *sync.Mutex
	buf *bytes.Buffer
}

func newTestWriter(t *testing.T) testWriter {
	return testWriter{t: t, mu: &sync.Mutex{}, buf: &bytes.Buffer{}}
}

func (w testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	for {
		line, err := w.buf.ReadString('\n')
		if err != nil { // no newline yet: keep the piece for the next write
			rest := []byte(line)
			w.buf.Reset()
			w.buf.Write(rest)
			return len(p), nil
		}
		w.t.Log(strings.TrimSuffix(line, "\n"))
	}
}
