// Package loadgen is `hub loadgen`: it drives a hub with a mix of
// certificates, MSE referrals and MSE results at a target rate (open loop)
// or concurrency (closed loop) for a duration, prints a live line every
// second (docs/s, intake p50/p95/p99, errors by code, River queue depths,
// flows completed/s) and a final report in text and JSON, with the flows'
// end-to-end latencies (intake → delivered to ЕГР ЗАГС and ЕПГУ, intake →
// sent to the bureau, intake → MSE result available to the МИС).
//
// Against a running hub (Config.URL) it submits with the МИС keys given and
// follows the flows over the API. Self-contained (no URL) it starts what a
// production hub runs on, as real processes: a private DURABLE PostgreSQL
// (fsync on unless asked otherwise, and then said on every line), the
// simulators at zero latency and Config.Procs hub processes; it follows the
// flows in the database, samples the processes' CPU and the server's
// commits and WAL to give the cost of a document, and can run pgbench on the
// same cluster first for the issue 16 ratio.
//
// Documents are generated and signed before the clock starts: the load
// measures the hub, not the generator.
package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emdhub/hub/internal/semdgen"
)

// Config shapes a run.
type Config struct {
	// URL of a running hub ("" = self-contained).
	URL string
	// Keys are МИС API keys of the running hub, one per system to submit as.
	Keys []string
	// OperatorKey (optional, with URL) reads queue depths from the ops API.
	OperatorKey string
	// ProviderURL is the base URL of the provider simulator the running
	// hub fetches linked documents from (needed with URL for referrals).
	ProviderURL string

	// Bin is the hub binary for the self-contained processes.
	Bin string
	// Procs hub processes (self-contained). Default 1.
	Procs int
	// Topology of Procs ≥ 2: "all" (each HUB_MODE=all, the client
	// round-robins between them; default) or "split" (half api, half worker).
	Topology string
	// FsyncOff runs the private cluster with fsync off (labelled everywhere).
	FsyncOff bool
	// PGBench runs pgbench on the same cluster before the load.
	PGBench bool
	// PGSS loads pg_stat_statements into the private cluster and reports
	// the statements that took the most server time during the load (where
	// PostgreSQL's share of a document goes).
	PGSS bool
	// PGBenchDuration is pgbench's -T. Default 20s.
	PGBenchDuration time.Duration

	Mix   Mix
	Links int // linked documents per referral. Default 5.
	// Rate in documents per second (open loop), or Concurrency submissions
	// in flight (closed loop) when Rate is 0.
	Rate        float64
	Concurrency int
	Duration    time.Duration
	// Docs bounds the documents generated for a closed-loop run (an open
	// loop makes rate × duration). Default 20 000.
	Docs int
	// Drain bounds the wait for flows to reach their end points after the
	// load. Default 60 s.
	Drain time.Duration
	Seed  uint64
	// JSON, if set, receives the report as JSON.
	JSON    string
	WorkDir string
	Out     io.Writer
}

func (c *Config) defaults() error {
	if c.Procs <= 0 {
		c.Procs = 1
	}
	if c.Topology == "" {
		c.Topology = "all"
	}
	if c.Topology != "all" && c.Topology != "split" {
		return fmt.Errorf("loadgen: topology %q: want all or split", c.Topology)
	}
	if c.Topology == "split" && c.Procs < 2 {
		return errors.New("loadgen: -topology split needs -procs 2 or more (an api and a worker)")
	}
	if c.PGBenchDuration <= 0 {
		c.PGBenchDuration = 20 * time.Second
	}
	if c.Mix == nil {
		c.Mix = Mix{Certificates: 0.6, Referrals: 0.2, Results: 0.2}
	}
	if c.Links <= 0 {
		c.Links = 5
	}
	if c.Rate <= 0 && c.Concurrency <= 0 {
		return errors.New("loadgen: give -rate (open loop) or -concurrency (closed loop)")
	}
	if c.Rate > 0 && c.Concurrency > 0 {
		return errors.New("loadgen: -rate and -concurrency exclude each other")
	}
	if c.Duration <= 0 {
		c.Duration = 10 * time.Second
	}
	if c.Docs <= 0 {
		c.Docs = 20000
	}
	if c.Drain <= 0 {
		c.Drain = time.Minute
	}
	if c.Seed == 0 {
		c.Seed = uint64(time.Now().UnixNano())
	}
	if c.Out == nil {
		c.Out = os.Stdout
	}
	if c.URL != "" {
		if len(c.Keys) == 0 {
			return errors.New("loadgen: -url needs -key (one or more МИС keys)")
		}
		if c.PGBench {
			return errors.New("loadgen: -pgbench needs the self-contained mode (no -url): it runs on the same cluster")
		}
		if c.ProviderURL == "" && c.Mix[Referrals]+c.Mix[Results] > 0 {
			return errors.New("loadgen: referrals against -url need -provider (the provider simulator's base URL the hub fetches links from)")
		}
	}
	if c.WorkDir == "" {
		d, err := os.MkdirTemp("", "hub-loadgen-")
		if err != nil {
			return err
		}
		c.WorkDir = d
	}
	return os.MkdirAll(c.WorkDir, 0o755)
}

// target is what the run drives and watches: a running hub, or the
// processes the run started.
type target interface {
	// bases are the API base URLs to round-robin between.
	bases() []string
	// queues reads River's jobs available and running per queue.
	queues(ctx context.Context) (map[string][2]int, error)
	// observe fills in the end points reached by pending accepted flows.
	observe(ctx context.Context, pending []*Flow) error
	// how says how the flows' end points are observed, for the report.
	how() string
}

type run struct {
	cfg    Config
	label  string // "" or " [fsync=off]"
	flows  []*Flow
	orgs   []semdgen.Org
	keys   []string
	target target
	client *http.Client

	mu      sync.Mutex
	window  []time.Duration // intake latencies of the current second
	all     []time.Duration
	errs    map[string]int
	accSec  int
	next    atomic.Int64 // next flow to submit
	rr      atomic.Uint64
	started time.Time
}

// Run performs one load run and returns its report (also printed, and
// written as JSON when Config.JSON is set).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	r := &run{cfg: cfg, errs: map[string]int{}, client: &http.Client{Timeout: 60 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 0}}}
	r.label = label(cfg)
	rep := &Report{Mode: "self-contained", Procs: cfg.Procs, Topology: cfg.Topology, Durable: !cfg.FsyncOff, Mix: cfg.Mix.String(),
		Links: cfg.Links, Rate: cfg.Rate, Concurrency: cfg.Concurrency, DurationS: cfg.Duration.Seconds(), Seed: cfg.Seed, WorkDir: cfg.WorkDir}
	if cfg.URL != "" {
		rep.Mode, rep.Procs, rep.Topology = "url "+cfg.URL, 0, ""
	}
	var (
		sc  *selfContained
		err error
	)
	if cfg.URL == "" {
		sc, err = startSelfContained(ctx, r, rep)
		if sc != nil {
			defer sc.stop()
		}
		if err != nil {
			return nil, err
		}
		r.target = sc
	} else {
		rt, err := newRemote(ctx, r)
		if err != nil {
			return nil, err
		}
		r.target = rt
	}

	// Plan and build every document before the clock starts.
	n := cfg.Docs
	if cfg.Rate > 0 {
		n = max(int(math.Ceil(cfg.Rate*cfg.Duration.Seconds())), 1) // arrivals at i/Rate < Duration
	}
	certKinds := []string{"58", "59", "76"}
	if cfg.URL != "" {
		certKinds = []string{"58", "59"} // 76 needs the organisation's ОГРН as the hub recorded it
	}
	for i, k := range cfg.Mix.Plan(n, cfg.Seed) {
		r.flows = append(r.flows, &Flow{N: i, Kind: k, Org: i % len(r.orgs)})
	}
	r.say("▸ building and signing %d documents (%s, %d links per referral) before the clock starts", n, cfg.Mix, cfg.Links)
	t := time.Now()
	if err := build(ctx, r.flows, r.orgs, cfg.Links, certKinds, cfg.Seed); err != nil {
		return nil, err
	}
	r.say("  built in %.1fs; placing linked documents at the provider", time.Since(t).Seconds())
	if err := r.placeLinks(ctx); err != nil {
		return nil, err
	}
	if sc != nil {
		if err := sc.snapshot(ctx, &sc.before); err != nil {
			return nil, err
		}
	}
	r.load(ctx)
	loadTime := time.Since(r.started)
	r.drain(ctx)
	total := time.Since(r.started)
	if sc != nil {
		if err := sc.snapshot(ctx, &sc.after); err != nil {
			return nil, err
		}
	}
	r.fill(rep, loadTime, total)
	if sc != nil {
		sc.costs(rep)
		if err := sc.statements(ctx, rep); err != nil {
			return nil, err
		}
	}
	if rep.PGBench != nil && rep.PGBench.TPS > 0 {
		rep.PGBench.Ratio = round3(rep.Intake.DocsPerS / rep.PGBench.TPS)
	}
	rep.Observed = r.target.how()
	r.print(rep)
	if cfg.JSON != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		if err := os.WriteFile(cfg.JSON, append(b, '\n'), 0o644); err != nil {
			return rep, fmt.Errorf("loadgen: write %s: %w", cfg.JSON, err)
		}
	}
	return rep, nil
}

// label ends every line of a run on a cluster without fsync, so no
// figure of it is taken for a durable one.
func label(cfg Config) string {
	if cfg.URL == "" && cfg.FsyncOff {
		return " [fsync=off]"
	}
	return ""
}

func (r *run) say(format string, a ...any) {
	fmt.Fprintf(r.cfg.Out, format+r.label+"\n", a...)
}

// placeLinks puts every referral's linked documents at the provider
// simulator, in batches, before the clock starts.
func (r *run) placeLinks(ctx context.Context) error {
	var batch []controlDocument
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		st, body, err := r.post(ctx, r.provider()+"/control/documents", "", mustJSON(batch))
		batch = batch[:0]
		if err != nil {
			return fmt.Errorf("loadgen: place linked documents: %w", err)
		}
		if st != http.StatusOK {
			return fmt.Errorf("loadgen: place linked documents: HTTP %d %.300s", st, body)
		}
		return nil
	}
	for _, f := range r.flows {
		batch = append(batch, f.links...)
		f.links = nil
		if len(batch) >= 200 {
			if err := flush(); err != nil {
				return err
			}
		}
	}
	return flush()
}

func (r *run) provider() string {
	if sc, ok := r.target.(*selfContained); ok {
		return sc.peers["provider"]
	}
	return r.cfg.ProviderURL
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func (r *run) post(ctx context.Context, url, key string, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := r.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	return res.StatusCode, b, err
}

// submit sends one flow's document and records the outcome.
func (r *run) submit(ctx context.Context, f *Flow) {
	bases := r.target.bases()
	base := bases[r.rr.Add(1)%uint64(len(bases))]
	t := time.Now()
	st, body, err := r.post(ctx, base+"/api/v1/documents", r.keys[f.Org], f.body)
	lat := time.Since(t)
	var id, code string
	switch {
	case err != nil:
		code = "TRANSPORT"
	case st == http.StatusCreated || st == http.StatusOK:
		var out struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(body, &out) == nil && out.ID != "" {
			id = out.ID
		} else {
			code = "NO_ID"
		}
	default:
		var e struct {
			Code string `json:"code"`
		}
		if json.Unmarshal(body, &e) != nil || e.Code == "" {
			e.Code = fmt.Sprintf("HTTP_%d", st)
		}
		code = e.Code
	}
	// The live line reads the flows every second: the outcome is set under r.mu.
	r.mu.Lock()
	f.body, f.Latency, f.DocID, f.Code, f.Accepted = nil, lat, id, code, id != ""
	if f.Accepted {
		r.window = append(r.window, f.Latency)
		r.all = append(r.all, f.Latency)
		r.accSec++
	} else {
		r.errs[f.Code]++
	}
	r.mu.Unlock()
}

// take hands out the next unsent flow, or nil when all are used.
func (r *run) take() *Flow {
	i := r.next.Add(1) - 1
	if int(i) >= len(r.flows) {
		return nil
	}
	return r.flows[i]
}

// load drives the hub for the duration: open loop at Rate (each arrival
// at its scheduled time in its own goroutine, so a slow hub does not slow
// the arrivals; at most 4,096 in flight, beyond which arrivals wait) or closed loop with Concurrency workers. A live line
// is printed every second.
func (r *run) load(ctx context.Context) {
	cfg := r.cfg
	lctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()
	var wg sync.WaitGroup
	r.started = time.Now()
	if cfg.Rate > 0 {
		r.say("▸ load: %.0f docs/s open loop for %s", cfg.Rate, cfg.Duration)
	} else {
		r.say("▸ load: %d in flight (closed loop) for %s", cfg.Concurrency, cfg.Duration)
	}
	done := make(chan struct{}) // closed when every submission has its answer
	go func() {
		defer close(done)
		defer wg.Wait()
		if cfg.Rate > 0 {
			// Exactly one arrival per document generated, at i/Rate: the
			// schedule is the duration, so a late timer never drops one.
			sem := make(chan struct{}, 4096)
			interval := time.Duration(float64(time.Second) / cfg.Rate)
			for i := 0; ; i++ {
				f := r.take()
				if f == nil {
					return
				}
				select {
				case <-ctx.Done():
					return
				case <-time.After(time.Until(r.started.Add(time.Duration(i) * interval))):
				}
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					defer func() { <-sem }()
					r.submit(context.WithoutCancel(ctx), f)
				}()
			}
		}
		for range cfg.Concurrency {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for lctx.Err() == nil {
					f := r.take()
					if f == nil {
						return
					}
					r.submit(context.WithoutCancel(lctx), f)
				}
			}()
		}
	}()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-done:
			r.live(ctx)
			if cfg.Rate == 0 && int(r.next.Load()) >= len(r.flows) && time.Since(r.started) < cfg.Duration-time.Second {
				r.say("  every generated document was sent before the duration ended (raise -docs)")
			}
			return
		case <-tick.C:
			r.live(ctx)
		}
	}
}

// live prints the line of the second just ended and follows the flows.
func (r *run) live(ctx context.Context) {
	r.mu.Lock()
	win, acc := r.window, r.accSec
	r.window, r.accSec = nil, 0
	errs := make([]string, 0, len(r.errs))
	for k, v := range r.errs {
		errs = append(errs, fmt.Sprintf("%s %d", k, v))
	}
	r.mu.Unlock()
	sort.Strings(errs)
	lat := Summarize(win)
	doneBefore := r.completed()
	_ = r.target.observe(ctx, r.pending())
	completed := r.completed() - doneBefore
	q, err := r.target.queues(ctx)
	qs := "queues ?"
	if err == nil {
		var names []string
		for k := range q {
			names = append(names, k)
		}
		sort.Strings(names)
		var parts []string
		for _, k := range names {
			if r.cfg.URL != "" {
				parts = append(parts, fmt.Sprintf("%s %d", k, q[k][0]))
			} else {
				parts = append(parts, fmt.Sprintf("%s %d/%d", k, q[k][0], q[k][1]))
			}
		}
		qs = "queues (available/running) " + strings.Join(parts, " ")
		if r.cfg.URL != "" {
			qs = "waiting per peer (ops API) " + strings.Join(parts, " ")
		}
		if len(parts) == 0 {
			qs = "queues empty"
		}
	}
	e := "errors 0"
	if len(errs) > 0 {
		e = "errors " + strings.Join(errs, ", ")
	}
	r.say("  %5.1fs  %4d docs/s  p50 %.1f p95 %.1f p99 %.1f ms  %s  %s  flows done %d/s",
		time.Since(r.started).Seconds(), acc, lat.P50, lat.P95, lat.P99, e, qs, completed)
}

// pending lists the accepted flows not yet at their end point. Done is
// written by the observer alone, which runs in the goroutine that calls this.
func (r *run) pending() []*Flow {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []*Flow
	for _, f := range r.flows {
		if f.Accepted && !f.Done {
			out = append(out, f)
		}
	}
	return out
}

func (r *run) completed() int {
	n := 0
	for _, f := range r.flows {
		if f.Done {
			n++
		}
	}
	return n
}

// drain follows the flows until every accepted one reached its end
// point, or the drain bound passes.
func (r *run) drain(ctx context.Context) {
	deadline := time.Now().Add(r.cfg.Drain)
	if len(r.pending()) == 0 {
		return
	}
	r.say("▸ load over; following %d flows to their end points (at most %s)", len(r.pending()), r.cfg.Drain)
	for ctx.Err() == nil && time.Now().Before(deadline) {
		time.Sleep(time.Second)
		r.live(ctx)
		if len(r.pending()) == 0 {
			return
		}
	}
}
