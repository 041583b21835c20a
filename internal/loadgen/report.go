package loadgen

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Report is a run's outcome; it is printed and written as JSON.
type Report struct {
	Mode        string  `json:"mode"` // "self-contained" or "url <base>"
	Durable     bool    `json:"durable"`
	Procs       int     `json:"procs,omitempty"`
	Topology    string  `json:"topology,omitempty"`
	Mix         string  `json:"mix"`
	Links       int     `json:"links"`
	Rate        float64 `json:"rate,omitempty"`
	Concurrency int     `json:"concurrency,omitempty"`
	DurationS   float64 `json:"duration_s"`
	Seed        uint64  `json:"seed"`
	WorkDir     string  `json:"work_dir"`
	Observed    string  `json:"observed"` // how the end points were seen

	Intake Intake          `json:"intake"`
	Flows  map[string]Kind `json:"flows"`
	// Drained: every accepted flow reached its end point within the drain bound.
	Drained bool `json:"drained"`

	PGBench *PGBench `json:"pgbench,omitempty"`
	Costs   *Costs   `json:"costs,omitempty"`
	// Statements are the load's top statements by server time (-pgss).
	Statements []Statement `json:"statements,omitempty"`
}

// Statement is one pg_stat_statements entry, per accepted document.
type Statement struct {
	CallsPerDoc float64 `json:"calls_per_doc"`
	MsPerDoc    float64 `json:"ms_per_doc"` // total_exec_time: server time, CPU and waits
	RowsPerCall float64 `json:"rows_per_call"`
	Query       string  `json:"query"` // its first 110 characters, normalised (no values)
}

// Intake is what the door did.
type Intake struct {
	Planned   int            `json:"planned"` // documents generated
	Submitted int            `json:"submitted"`
	Accepted  int            `json:"accepted"`
	Errors    map[string]int `json:"errors"` // by code; TRANSPORT for no answer
	LoadS     float64        `json:"load_s"` // first submission to last answer
	DocsPerS  float64        `json:"docs_per_s"`
	Latency   Latency        `json:"latency"`
}

// Kind is one flow kind's end-to-end outcome.
type Kind struct {
	Accepted int `json:"accepted"`
	Done     int `json:"done"` // reached the end point
	// PerS: flows done per second, from the first submission to the last end point reached.
	PerS float64 `json:"per_s"`
	// Latencies from intake (the hub's received time) to each end point.
	ToZAGS   *Latency `json:"to_zags,omitempty"`
	ToEPGU   *Latency `json:"to_epgu,omitempty"`
	ToBoth   *Latency `json:"to_both,omitempty"`
	ToSent   *Latency `json:"to_sent,omitempty"`
	ToResult *Latency `json:"to_result,omitempty"`
}

// PGBench is the reference run on the same cluster.
type PGBench struct {
	Command string  `json:"command"`
	TPS     float64 `json:"tps"`
	// Ratio: the hub's intake docs/s ÷ pgbench tps (issue 16's goal: ≥ 0.35).
	Ratio float64 `json:"ratio"`
	// WALSyncsPerS: WAL flushes a second the server did under pgbench, a
	// measure of how many durable commit groups the disk takes.
	WALSyncsPerS float64 `json:"wal_syncs_per_s"`
	PGCPUPerTxMs float64 `json:"pg_cpu_ms_per_tx"`
}

// Costs are per accepted document, from the clock's start to the drain's
// end (so they include the workflow's steps for each document).
type Costs struct {
	Documents       int     `json:"documents"`        // accepted by the door
	StoredDocuments int     `json:"stored_documents"` // incl. linked documents fetched from the provider
	HubCPUSeconds   float64 `json:"hub_cpu_s"`
	HubCPUPerDocMs  float64 `json:"hub_cpu_ms_per_doc"`
	// ProcCPUPerDocMs splits the hub's CPU by process (hub-1-api, hub-2-worker…).
	ProcCPUPerDocMs map[string]float64 `json:"proc_cpu_ms_per_doc"`
	PGCPUSeconds    float64            `json:"pg_cpu_s"`
	PGCPUPerDocMs   float64            `json:"pg_cpu_ms_per_doc"`
	Commits         int64              `json:"commits"`
	CommitsPerDoc   float64            `json:"commits_per_doc"`
	WALBytes        int64              `json:"wal_bytes"`
	WALBytesPerDoc  float64            `json:"wal_bytes_per_doc"`
	WALSyncs        int64              `json:"wal_syncs"`
	WALSyncsPerDoc  float64            `json:"wal_syncs_per_doc"`
	WallSeconds     float64            `json:"wall_s"`
	// Cores is CPU seconds per wall second of hub and postgres together:
	// how much of the machine the run used.
	Cores float64 `json:"cores_used"`
}

// fill computes the report from the flows.
func (r *run) fill(rep *Report, load, total time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	in := Intake{Planned: len(r.flows), Errors: map[string]int{}}
	for k, v := range r.errs {
		in.Errors[k] = v
	}
	lats := append([]time.Duration(nil), r.all...)
	in.Accepted = len(lats)
	in.Submitted = in.Accepted
	for _, v := range r.errs {
		in.Submitted += v
	}
	in.LoadS = round1(load.Seconds())
	in.DocsPerS = Rate(in.Accepted, load)
	in.Latency = Summarize(lats)
	rep.Intake = in

	rep.Flows = map[string]Kind{}
	byKind := map[string][]*Flow{}
	for _, f := range r.flows {
		if f.Accepted {
			byKind[f.Kind] = append(byKind[f.Kind], f)
		}
	}
	rep.Drained = true
	for kind, fs := range byKind {
		k := Kind{Accepted: len(fs)}
		var zags, epgu, both, sent, res []time.Duration
		var last time.Time
		for _, f := range fs {
			if !f.Done {
				rep.Drained = false
				continue
			}
			k.Done++
			if f.DoneAtHub.After(last) {
				last = f.DoneAtHub
			}
			switch kind {
			case Certificates:
				zags, epgu, both = append(zags, f.ToZAGS), append(epgu, f.ToEPGU), append(both, max(f.ToZAGS, f.ToEPGU))
			case Referrals:
				sent = append(sent, f.ToSent)
			case Results:
				sent, res = append(sent, f.ToSent), append(res, f.ToResult)
			}
		}
		if k.Done > 0 {
			// The hub's clock and ours are the same machine's in the
			// self-contained mode; against a remote hub the span is ours.
			span := last.Sub(r.started)
			if span <= 0 {
				span = total
			}
			k.PerS = Rate(k.Done, span)
		}
		k.ToZAGS, k.ToEPGU, k.ToBoth, k.ToSent, k.ToResult = summ(zags), summ(epgu), summ(both), summ(sent), summ(res)
		rep.Flows[kind] = k
	}
}

func summ(ds []time.Duration) *Latency {
	if len(ds) == 0 {
		return nil
	}
	l := Summarize(ds)
	return &l
}

func round1(x float64) float64 { return float64(int64(x*10+0.5)) / 10 }

// print writes the text report.
func (r *run) print(rep *Report) {
	w := func(format string, a ...any) { r.say(format, a...) }
	w("")
	w("▸ loadgen report: %s, mix %s, %d links per referral, seed %d", rep.Mode, rep.Mix, rep.Links, rep.Seed)
	if rep.Mode == "self-contained" {
		storage := "DURABLE PostgreSQL (fsync, synchronous_commit, full_page_writes on)"
		if !rep.Durable {
			storage = "PostgreSQL with fsync OFF (not what production runs)"
		}
		w("  %d hub process(es), topology %s; %s; simulators at zero latency", rep.Procs, rep.Topology, storage)
	}
	load := fmt.Sprintf("%.0f docs/s open loop", rep.Rate)
	if rep.Rate == 0 {
		load = fmt.Sprintf("%d in flight closed loop", rep.Concurrency)
	}
	in := rep.Intake
	w("  load: %s for %.0fs; %d generated, %d submitted, %d accepted", load, rep.DurationS, in.Planned, in.Submitted, in.Accepted)
	w("  intake: %.1f docs/s; latency p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms, mean %.1f ms",
		in.DocsPerS, in.Latency.P50, in.Latency.P95, in.Latency.P99, in.Latency.Max, in.Latency.Mean)
	var errs []string
	for k, v := range in.Errors {
		errs = append(errs, fmt.Sprintf("%s %d", k, v))
	}
	sort.Strings(errs)
	if len(errs) == 0 {
		errs = []string{"none"}
	}
	w("  errors by code: %s", strings.Join(errs, ", "))
	w("  end to end (%s):", rep.Observed)
	lat := func(name string, l *Latency) string {
		if l == nil {
			return ""
		}
		return fmt.Sprintf("; %s p50 %.0f p95 %.0f p99 %.0f max %.0f ms", name, l.P50, l.P95, l.P99, l.Max)
	}
	for _, kind := range mixKinds {
		k, ok := rep.Flows[kind]
		if !ok {
			continue
		}
		w("    %-12s %d/%d done, %.1f/s%s%s%s%s%s", kind, k.Done, k.Accepted, k.PerS,
			lat("→ ЗАГС", k.ToZAGS), lat("→ ЕПГУ", k.ToEPGU), lat("→ both", k.ToBoth), lat("→ sent", k.ToSent), lat("→ result", k.ToResult))
	}
	if !rep.Drained {
		w("  NOT every flow reached its end point within the drain bound")
	}
	if p := rep.PGBench; p != nil {
		w("  pgbench on the same cluster: %.0f tps, %.0f WAL syncs/s, postgres CPU %.2f ms a transaction (%s); intake ÷ pgbench = %.3f (issue 16 goal ≥ 0.35)",
			p.TPS, p.WALSyncsPerS, p.PGCPUPerTxMs, p.Command, p.Ratio)
	}
	if c := rep.Costs; c != nil {
		w("  per accepted document (%d accepted, %d stored with the fetched links; %.1fs from the clock's start to the drain's end, %.2f cores busy):",
			c.Documents, c.StoredDocuments, c.WallSeconds, c.Cores)
		var per []string
		for name, v := range c.ProcCPUPerDocMs {
			per = append(per, fmt.Sprintf("%s %.2f", name, v))
		}
		sort.Strings(per)
		w("    hub CPU %.2f ms (%s), postgres CPU %.2f ms, %.2f commits, %.0f WAL bytes, %.2f WAL syncs",
			c.HubCPUPerDocMs, strings.Join(per, ", "), c.PGCPUPerDocMs, c.CommitsPerDoc, c.WALBytesPerDoc, c.WALSyncsPerDoc)
	}
	if len(rep.Statements) > 0 {
		w("  top statements by server time (pg_stat_statements), per accepted document:")
		w("    %8s %8s %8s  %s", "calls", "ms", "rows/call", "query")
		for _, s := range rep.Statements {
			w("    %8.2f %8.3f %8.1f  %s", s.CallsPerDoc, s.MsPerDoc, s.RowsPerCall, s.Query)
		}
	}
	w("  work dir (process logs): %s", rep.WorkDir)
}
