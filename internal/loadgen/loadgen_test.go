package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/store"
)

// TestSelfContainedRun runs `hub loadgen` self-contained at a CI size —
// two hub processes (HUB_MODE=all, round-robin) on a private durable
// PostgreSQL, the simulators, every flow kind, a short pgbench first — and
// checks the JSON report: the counts agree, every flow was observed at its
// end point, nothing was refused, and the costs and the pgbench ratio are
// there. It asserts no speed.
func TestSelfContainedRun(t *testing.T) {
	dir := t.TempDir()
	bin := hubBinary(t)
	mix, err := ParseMix("certificates=50,referrals=25,results=25")
	if err != nil {
		t.Fatal(err)
	}
	jsonPath := filepath.Join(dir, "report.json")
	out := &lineLog{t: t}
	_, err = Run(context.Background(), Config{Bin: bin, Procs: 2, PGBench: true, PGSS: true, PGBenchDuration: 2 * time.Second,
		Mix: mix, Links: 2, Rate: 20, Duration: 5 * time.Second, Drain: 3 * time.Minute, Seed: 16,
		JSON: jsonPath, WorkDir: filepath.Join(dir, "work"), Out: out})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(jsonPath)
	if err != nil {
		t.Fatal(err)
	}
	var rep Report
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatalf("report is not JSON: %v\n%s", err, b)
	}
	in := rep.Intake
	if in.Planned != 100 || in.Submitted != in.Planned || in.Accepted != in.Submitted || len(in.Errors) != 0 {
		t.Errorf("intake: planned %d, submitted %d, accepted %d, errors %v; want 100 of each and none", in.Planned, in.Submitted, in.Accepted, in.Errors)
	}
	if in.Latency.N != in.Accepted || in.Latency.P50 <= 0 || in.Latency.P50 > in.Latency.P95 || in.Latency.P95 > in.Latency.P99 || in.Latency.P99 > in.Latency.Max {
		t.Errorf("intake latency inconsistent: %+v", in.Latency)
	}
	if in.DocsPerS <= 0 {
		t.Errorf("intake docs/s %v", in.DocsPerS)
	}
	var accepted int
	for _, kind := range mixKinds {
		k, ok := rep.Flows[kind]
		if !ok || k.Accepted == 0 {
			t.Errorf("%s: no flows in the report: %+v", kind, rep.Flows)
			continue
		}
		accepted += k.Accepted
		if k.Done != k.Accepted || k.PerS <= 0 {
			t.Errorf("%s: %d of %d observed at the end point, %v/s", kind, k.Done, k.Accepted, k.PerS)
		}
		want := map[string][]*Latency{Certificates: {k.ToZAGS, k.ToEPGU, k.ToBoth}, Referrals: {k.ToSent}, Results: {k.ToSent, k.ToResult}}[kind]
		for i, l := range want {
			if l == nil || l.N != k.Done || l.P50 <= 0 {
				t.Errorf("%s: end-to-end latency %d is %+v, want one per flow", kind, i, l)
			}
		}
		if kind == Results && k.ToResult != nil && k.ToSent != nil && k.ToResult.Max < k.ToSent.P50 {
			t.Errorf("results: available before sent? %+v %+v", k.ToSent, k.ToResult)
		}
	}
	if accepted != in.Accepted {
		t.Errorf("flows by kind add up to %d, the intake accepted %d", accepted, in.Accepted)
	}
	if !rep.Drained || !rep.Durable || rep.Procs != 2 || rep.Topology != "all" {
		t.Errorf("drained %v, durable %v, procs %d, topology %q", rep.Drained, rep.Durable, rep.Procs, rep.Topology)
	}
	// -pgss: the load's own statements (the door's InsertDocument), not
	// pgbench's, which ran before the reset.
	var insertDoc bool
	for _, st := range rep.Statements {
		if strings.Contains(st.Query, "loadgen_pgbench") {
			t.Errorf("pgbench's statement among the load's: %+v", st)
		}
		if strings.Contains(st.Query, "name: InsertDocument ") && st.CallsPerDoc >= 1 && st.MsPerDoc > 0 {
			insertDoc = true
		}
	}
	if len(rep.Statements) == 0 || len(rep.Statements) > 15 || !insertDoc {
		t.Errorf("top statements (-pgss): %+v", rep.Statements)
	}
	c := rep.Costs
	if c == nil || c.Documents != in.Accepted || c.StoredDocuments != in.Accepted+2*(rep.Flows[Referrals].Accepted+rep.Flows[Results].Accepted) ||
		c.HubCPUSeconds <= 0 || c.PGCPUSeconds <= 0 || c.CommitsPerDoc < 1 || c.WALBytesPerDoc <= 0 || c.WALSyncs <= 0 {
		t.Errorf("costs: %+v", c)
	} else if len(c.ProcCPUPerDocMs) != 2 || c.ProcCPUPerDocMs["hub-1-all"] <= 0 || c.ProcCPUPerDocMs["hub-2-all"] <= 0 {
		t.Errorf("CPU by process: %v", c.ProcCPUPerDocMs)
	}
	if p := rep.PGBench; p == nil || p.TPS <= 0 || p.Ratio <= 0 || p.WALSyncsPerS <= 0 || p.PGCPUPerTxMs <= 0 || !strings.Contains(p.Command, "-c 8") {
		t.Errorf("pgbench: %+v", p)
	}
	// The live line came every second, with the queues.
	if n := strings.Count(out.String(), "docs/s  p50"); n < 4 {
		t.Errorf("%d live lines for a 5 s run", n)
	}
	if !strings.Contains(out.String(), "queues (available/running)") {
		t.Error("no queue depths in the live lines")
	}
}

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if builtBin != "" {
		_ = os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// hubBinary builds the hub once for the package's tests.
func hubBinary(t *testing.T) string {
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "hub-loadgen-test-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "hub")
		if out, err := exec.Command("go", "build", "-o", builtBin, "../../cmd/hub").CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

// lineLog sends the run's output to the test log and keeps it.
type lineLog struct {
	t   *testing.T
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *lineLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}

func (l *lineLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestAgainstRunningHub drives a hub loadgen did not start (-url, -key,
// -operator-key, -provider): the processes of a self-contained setup, with
// the flows followed over the API. The report must agree with the
// database: every document stored, every certificate delivered twice,
// every referral sent and every result stored.
func TestAgainstRunningHub(t *testing.T) {
	dir := t.TempDir()
	bin := hubBinary(t)
	ctx := context.Background()
	out := &lineLog{t: t}
	hubCfg := Config{Bin: bin, Procs: 1, Topology: "all", Seed: 7, WorkDir: filepath.Join(dir, "hubwork"), Out: out}
	if err := os.MkdirAll(hubCfg.WorkDir, 0o755); err != nil {
		t.Fatal(err)
	}
	hub := &run{cfg: hubCfg}
	sc, err := startSelfContained(ctx, hub, &Report{})
	if sc != nil {
		defer sc.stop()
	}
	if err != nil {
		t.Fatal(err)
	}
	opKey, err := store.New(sc.pool).CreateOperator(ctx, "loadgen test")
	if err != nil {
		t.Fatal(err)
	}
	mix, _ := ParseMix("certificates=50,referrals=25,results=25")
	rep, err := Run(ctx, Config{URL: sc.api[0], Keys: hub.keys[:2], OperatorKey: opKey, ProviderURL: sc.peers["provider"],
		Mix: mix, Links: 2, Rate: 10, Duration: 4 * time.Second, Drain: time.Minute, Seed: 8,
		WorkDir: filepath.Join(dir, "work"), Out: out})
	if err != nil {
		t.Fatal(err)
	}
	in := rep.Intake
	if in.Planned != 40 || in.Accepted != 40 || len(in.Errors) != 0 || !rep.Drained || rep.Costs != nil || rep.PGBench != nil {
		t.Fatalf("intake %+v, drained %v, costs %v, pgbench %v", in, rep.Drained, rep.Costs, rep.PGBench)
	}
	var docs, delivered, sent, results int
	if err := sc.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM documents WHERE kind IN ('58', '59', '121')),
			(SELECT count(*) FROM deliveries WHERE event = '' AND state = 'delivered'),
			(SELECT count(*) FROM mse_referrals WHERE sent_at IS NOT NULL),
			(SELECT count(*) FROM mse_results WHERE type = 'RESULT')`).Scan(&docs, &delivered, &sent, &results); err != nil {
		t.Fatal(err)
	}
	c, r, x := rep.Flows[Certificates], rep.Flows[Referrals], rep.Flows[Results]
	if docs != in.Accepted || delivered != 2*c.Done || c.Done != c.Accepted || r.Done != r.Accepted || x.Done != x.Accepted ||
		sent < r.Done+x.Done || results < x.Done || c.Accepted+r.Accepted+x.Accepted != in.Accepted {
		t.Errorf("report %+v against the database: %d documents, %d deliveries delivered, %d referrals sent, %d results", rep.Flows, docs, delivered, sent, results)
	}
	if c.ToBoth == nil || c.ToBoth.N != c.Done || x.ToResult == nil || x.ToResult.N != x.Done || x.ToResult.P50 <= 0 {
		t.Errorf("end-to-end latencies missing: %+v %+v", c, x)
	}
	if !strings.Contains(out.String(), "waiting per peer (ops API) ") || !strings.Contains(out.String(), " zags ") {
		t.Error("no queue depths from the ops API in the live lines")
	}
}
