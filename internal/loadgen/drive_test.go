package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// fakeHub stands in for the hub's door in tests of the driver alone: it
// answers every third document 422 and the rest 201 with an id.
type fakeHub struct {
	srv  *httptest.Server
	seen atomic.Int64
}

func newFakeHub(t *testing.T) *fakeHub {
	h := &fakeHub{}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := h.seen.Add(1)
		time.Sleep(5 * time.Millisecond)
		w.Header().Set("Content-Type", "application/json")
		if n%3 == 0 {
			w.WriteHeader(http.StatusUnprocessableEntity)
			fmt.Fprint(w, `{"code":"SCHEMATRON_ERROR","message":"x"}`)
			return
		}
		w.WriteHeader(http.StatusCreated)
		fmt.Fprintf(w, `{"id":"00000000-0000-0000-0000-%012d"}`, n)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *fakeHub) bases() []string { return []string{h.srv.URL} }
func (h *fakeHub) queues(context.Context) (map[string][2]int, error) {
	return map[string][2]int{"zags": {1, 2}}, nil
}
func (h *fakeHub) how() string { return "fake" }

// observe marks every pending flow done.
func (h *fakeHub) observe(_ context.Context, pending []*Flow) error {
	for _, f := range pending {
		f.Done, f.DoneAtHub, f.ToZAGS, f.ToEPGU = true, time.Now(), time.Millisecond, 2*time.Millisecond
	}
	return nil
}

func driver(t *testing.T, cfg Config, docs int) (*run, *fakeHub, *lineLog) {
	h := newFakeHub(t)
	out := &lineLog{t: t}
	cfg.Out = out
	r := &run{cfg: cfg, errs: map[string]int{}, client: h.srv.Client(), target: h, keys: []string{"k"}}
	for i := range docs {
		r.flows = append(r.flows, &Flow{N: i, Kind: Certificates, body: []byte(`{}`)})
	}
	return r, h, out
}

// TestClosedLoopPrintsLiveLines: a closed loop keeps C submissions in
// flight for the duration and prints a live line every second meanwhile,
// not only at the end.
func TestClosedLoopPrintsLiveLines(t *testing.T) {
	r, h, out := driver(t, Config{Concurrency: 4, Duration: 3 * time.Second}, 100000)
	r.load(context.Background())
	sent := int(h.seen.Load())
	if sent == 0 || sent >= len(r.flows) {
		t.Fatalf("%d documents sent of %d: the duration did not bound the closed loop", sent, len(r.flows))
	}
	if n := strings.Count(out.String(), "docs/s"); n < 3 {
		t.Errorf("%d live lines in a 3 s closed loop, want one a second:\n%s", n, out)
	}
	if !strings.Contains(out.String(), "errors SCHEMATRON_ERROR") || !strings.Contains(out.String(), "zags 1/2") {
		t.Errorf("the live line lacks the errors by code or the queues:\n%s", out)
	}
	rep := &Report{}
	r.fill(rep, time.Since(r.started), time.Since(r.started))
	in := rep.Intake
	if in.Submitted != sent || in.Accepted+in.Errors["SCHEMATRON_ERROR"] != sent || in.Errors["SCHEMATRON_ERROR"] != sent/3 {
		t.Errorf("intake %+v, the hub saw %d", in, sent)
	}
	if k := rep.Flows[Certificates]; k.Accepted != in.Accepted || k.Done != k.Accepted || k.ToBoth == nil || k.ToBoth.P50 != 2 {
		t.Errorf("certificates %+v", k)
	}
}

// TestOpenLoopSendsEveryArrival: an open loop sends each generated
// document once, at its time, and counts refusals by code.
func TestOpenLoopSendsEveryArrival(t *testing.T) {
	r, h, _ := driver(t, Config{Rate: 50, Duration: time.Second}, 50)
	r.load(context.Background())
	if got := h.seen.Load(); got != 50 {
		t.Fatalf("the hub saw %d submissions, want 50", got)
	}
	rep := &Report{}
	r.fill(rep, time.Since(r.started), time.Since(r.started))
	if in := rep.Intake; in.Submitted != 50 || in.Accepted != 34 || in.Errors["SCHEMATRON_ERROR"] != 16 {
		t.Errorf("intake %+v", in)
	}
}

// TestFsyncOffLabelsEveryLine: a run without fsync says so on every line
// it prints, the report's included.
func TestFsyncOffLabelsEveryLine(t *testing.T) {
	r, _, out := driver(t, Config{Rate: 20, Duration: time.Second, FsyncOff: true}, 20)
	r.label = label(r.cfg)
	r.load(context.Background())
	rep := &Report{Mode: "self-contained", Durable: false}
	r.fill(rep, time.Second, time.Second)
	r.print(rep)
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) < 5 {
		t.Fatalf("%d lines", len(lines))
	}
	for _, l := range lines {
		if !strings.HasSuffix(l, "[fsync=off]") {
			t.Errorf("line without the label: %q", l)
		}
	}
	if !strings.Contains(out.String(), "fsync OFF") {
		t.Error("the report does not say fsync was off")
	}
	if label(Config{}) != "" || label(Config{URL: "http://127.0.0.1:1", FsyncOff: true}) != "" {
		t.Error("a durable or remote run is labelled")
	}
}
