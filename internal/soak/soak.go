// Package soak is the hub's chaos soak: real processes — the simulators
// (`hub sim`) with fault injection, a private PostgreSQL, one hub process
// serving the API (HUB_MODE=api) and one working the queues
// (HUB_MODE=worker) — take a steady stream of mixed flows over the API while
// the soak SIGKILLs hub processes (restarting each at once) and crashes
// PostgreSQL (an immediate stop, then a start on the same data and port).
// Then it waits for the flows to drain and checks, from the peers' counters,
// the database and the API, that no flow was lost, none was delivered
// twice, every flow ended terminal or held for a stated reason, and every
// MSE result is visible to its МИС and to no other.
//
// `hub soak -flows N` runs it for people; TestSoak runs it in CI.
package soak

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/emdhub/hub/internal/db"
	"github.com/emdhub/hub/internal/pgcluster"
	"github.com/emdhub/hub/internal/procs"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/sim"
	"github.com/emdhub/hub/internal/store"
)

// Config sizes and shapes a run. The zero value of every field but Bin
// means its default.
type Config struct {
	// Bin is the hub binary the processes run (required).
	Bin string
	// Flows to submit. Default 500.
	Flows int
	// Rate of submissions per second. Default 10.
	Rate float64
	// Concurrency: submissions in flight at most. Default 8.
	Concurrency int
	// Seed makes the flow mix and the documents repeatable. Default: the clock.
	Seed uint64
	// DatabaseURL of an empty database to use instead of a private cluster
	// (then PostgreSQL is not restarted: the soak does not own the server).
	DatabaseURL string
	// Faults is the simulators' fault spec (`hub sim -faults` syntax; outage
	// windows count from the simulators' start, which is when submission
	// starts). Default: DefaultFaults for the planned submission time.
	Faults string
	// ResultDelay is how long the simulated bureau deliberates. Default 0:
	// a result is ready the moment a package is taken, so results race the
	// hub's recording of the send (a late send completion must not
	// overwrite a result already stored).
	ResultDelay time.Duration
	// Drain bounds the wait for the flows to settle after the last
	// submission. Default 4 minutes + 20 ms per flow.
	Drain time.Duration
	// WorkDir receives the processes' logs. Default: a new temp directory.
	WorkDir string
	// Out receives progress and the report. Default os.Stdout.
	Out io.Writer
}

// soapTimeout is the hub processes' HUB_SOAP_TIMEOUT; the simulators'
// hangs outlast it.
const soapTimeout = time.Second

// Timings the hub processes run with: short, so a soak of a few minutes
// sees many retries, breaker trips and rescues. The job timeout is
// 4 × 1 s + 5 s = 9 s, so a step orphaned by a SIGKILL is rescued after 10 s
// (River's rescuer looks every 30 s).
var hubEnv = []string{
	"HUB_SOAP_TIMEOUT=" + soapTimeout.String(), "HUB_RESCUE_AFTER=10s", "HUB_RETRY_BASE=100ms", "HUB_RETRY_MAX=2s",
	"HUB_BREAKER_COOLDOWN=1s", "HUB_RESULTS_POLL_INTERVAL=300ms", "HUB_STATUS_POLL_INTERVAL=1s",
	"HUB_WORKERS_PER_QUEUE=10", "HUB_SHUTDOWN_TIMEOUT=5s", "HUB_LOG_LEVEL=warn", "HUB_LOG_FORMAT=text",
	"HUB_MIGRATE_ON_START=false",
}

// Shares of the injected faults on every operation of every peer, as
// fractions of all requests. The simulators draw them in order (transient,
// rate limit, hang), so the rates passed are scaled to give these shares.
const (
	shareTransient = 0.20
	shareRateLimit = 0.02
	shareHang      = 0.02
)

// DefaultFaults is the default chaos for a submission phase of length d:
// on every peer 20 % transient faults (INTERNAL_ERROR), 2 % rate limits,
// 2 % hangs (processed, never answered: the hub's 1 s SOAP timeout must cut
// them), 1–10 ms latency, and one outage window per peer, the windows
// spread over the submission phase.
func DefaultFaults(d time.Duration) string {
	rl := shareRateLimit / (1 - shareTransient)
	hang := shareHang / ((1 - shareTransient) * (1 - rl))
	outage := min(max(d/12, 4*time.Second), 30*time.Second)
	var parts []string
	for i, peer := range []string{"mse", "zags", "epgu", "provider"} {
		start := time.Duration(float64(d) * (0.1 + 0.2*float64(i)))
		parts = append(parts, fmt.Sprintf("%s.*:transient=%.2f,rate_limit=%.4f,hang=%.4f,latency=1ms..10ms,outage=%s+%s",
			peer, shareTransient, rl, hang, start.Round(time.Second), outage.Round(time.Second)))
	}
	return strings.Join(parts, ";")
}

// Event is one act of chaos and when it happened.
type Event struct {
	At   time.Duration // since submission started
	What string
}

// Report is the outcome of a run.
type Report struct {
	Flows      []*Flow
	Checks     []Check
	Events     []Event
	Counters   map[string]map[string]sim.Counters
	States     map[string]int // "referral <state>", "delivery <recipient> <state>"
	Faults     string
	Submitting time.Duration // first to last submission
	Draining   time.Duration // last submission to settled
	Total      time.Duration
	Drained    bool
	WorkDir    string
	// Calls summarises the hub's exchange log per peer and operation: how
	// the chaos looked from the hub's side, and how long calls took (a
	// call far past HUB_SOAP_TIMEOUT means the timeout did not bound it).
	Calls []CallStats
}

// CallStats is one line of the exchange-log summary.
type CallStats struct {
	Peer, Operation          string
	Calls, Failed, OverLimit int // OverLimit: answered or timed out later than the SOAP timeout + 1 s
	// Killed calls were cut by a SIGKILL or the database crash and settled
	// by the next run; their duration (until then) says nothing of the timeout.
	Killed    int
	MaxMillis int // longest call that was not killed
}

// OK reports whether every check passed.
func (r *Report) OK() bool {
	for _, c := range r.Checks {
		if !c.OK {
			return false
		}
	}
	return len(r.Checks) > 0
}

// Failed lists the names of the failed checks.
func (r *Report) Failed() []string {
	var out []string
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, fmt.Sprintf("%s (%d)", c.Name, len(c.Offenders)))
		}
	}
	return out
}

type run struct {
	cfg     Config
	out     io.Writer
	outMu   sync.Mutex
	started time.Time // submission start
	pool    *pgxpool.Pool
	cluster *pgcluster.Cluster
	api     *proc
	worker  *proc
	apiBase string
	peers   map[string]string
	flows   []*Flow
	keys    []string
	events  []Event
	evMu    sync.Mutex
}

func (r *run) say(format string, a ...any) {
	r.outMu.Lock()
	defer r.outMu.Unlock()
	fmt.Fprintf(r.out, format+"\n", a...)
}

func (r *run) since() time.Duration {
	if r.started.IsZero() {
		return 0
	}
	return time.Since(r.started)
}

func (r *run) event(format string, a ...any) {
	e := Event{At: r.since(), What: fmt.Sprintf(format, a...)}
	r.evMu.Lock()
	r.events = append(r.events, e)
	r.evMu.Unlock()
	r.say("  %6.1fs ✱ %s", e.At.Seconds(), e.What)
}

// Run performs one soak. An error means the soak itself could not run;
// broken invariants are in the report (Report.OK).
func Run(ctx context.Context, cfg Config) (*Report, error) {
	if cfg.Bin == "" {
		return nil, errors.New("soak: Config.Bin (the hub binary) is required")
	}
	if cfg.Flows <= 0 {
		cfg.Flows = 500
	}
	if cfg.Rate <= 0 {
		cfg.Rate = 10
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 8
	}
	if cfg.Seed == 0 {
		cfg.Seed = uint64(time.Now().UnixNano())
	}
	planned := time.Duration(float64(cfg.Flows) / cfg.Rate * float64(time.Second))
	if cfg.Faults == "" {
		cfg.Faults = DefaultFaults(planned)
	}
	if cfg.Drain <= 0 {
		cfg.Drain = 4*time.Minute + time.Duration(cfg.Flows)*20*time.Millisecond
	}
	if cfg.Out == nil {
		cfg.Out = os.Stdout
	}
	if cfg.WorkDir == "" {
		d, err := os.MkdirTemp("", "hub-soak-")
		if err != nil {
			return nil, err
		}
		cfg.WorkDir = d
	} else if err := os.MkdirAll(cfg.WorkDir, 0o755); err != nil {
		return nil, fmt.Errorf("soak: log directory: %w", err)
	}
	r := &run{cfg: cfg, out: cfg.Out}
	begin := time.Now()
	rep, err := r.run(ctx, planned)
	if rep != nil {
		rep.Total, rep.WorkDir = time.Since(begin), cfg.WorkDir
	}
	return rep, err
}

func (r *run) run(ctx context.Context, planned time.Duration) (*Report, error) {
	cfg := r.cfg
	r.say("▸ soak: %d flows at %.0f/s (≈%s of submissions), %d in flight at most, seed %d; logs in %s",
		cfg.Flows, cfg.Rate, planned.Round(time.Second), cfg.Concurrency, cfg.Seed, cfg.WorkDir)

	// Database.
	dbURL := cfg.DatabaseURL
	if dbURL == "" {
		cl, err := pgcluster.Start(ctx, pgcluster.Options{Database: "hub_soak", CrashSafe: true, MaxConnections: 300})
		if err != nil {
			return nil, err
		}
		defer cl.Stop()
		r.cluster, dbURL = cl, cl.URL
		r.say("  private PostgreSQL on 127.0.0.1:%d (crash-safe commits: an immediate restart must lose nothing acknowledged)", cl.Port)
	}
	pool, err := db.Open(ctx, dbURL, "hub-soak")
	if err != nil {
		return nil, err
	}
	defer pool.Close()
	r.pool = pool
	if err := db.Migrate(ctx, pool, slog.New(slog.DiscardHandler)); err != nil {
		return nil, fmt.Errorf("soak: migrate: %w", err)
	}
	// Systems: four organisations in four regions, one МИС each.
	st := store.New(pool)
	var orgs []semdgen.Org
	for i, region := range []int{77, 16, 54, 66} {
		org := semdgen.NewOrg(region, 100+int((cfg.Seed+uint64(i)*7919)%800))
		org.Name = fmt.Sprintf("Soak hospital %d (region %d)", i+1, region)
		reg, err := st.RegisterSystem(ctx, org.OID, org.Name, fmt.Sprintf("МИС soak-%d-%d", cfg.Seed%100000, i))
		if err != nil {
			return nil, fmt.Errorf("soak: register system: %w", err)
		}
		// As an operator does: a birth certificate (76) carries its
		// organisation's ОГРН nowhere its official XSD allows.
		if _, err := st.RecordOrganizationOGRN(ctx, org.OID, org.OGRN); err != nil {
			return nil, fmt.Errorf("soak: record ОГРН: %w", err)
		}
		orgs = append(orgs, org)
		r.keys = append(r.keys, reg.APIKey)
	}
	caDir, err := os.MkdirTemp(cfg.WorkDir, "ca-")
	if err != nil {
		return nil, err
	}
	if err := semdgen.WriteTestCA(caDir); err != nil {
		return nil, err
	}

	// Simulators, then the hub processes.
	simCmd, peers, simExited, err := procs.StartSim(ctx, cfg.Bin, cfg.Faults, cfg.ResultDelay.String(), logPath(cfg.WorkDir, "sim"))
	if err != nil {
		return nil, err
	}
	simStart := time.Now()
	defer func() { _ = simCmd.Process.Kill() }()
	r.peers = peers
	r.say("  hub sim: %s", cfg.Faults)
	apiAddr, err := procs.FreeAddr()
	if err != nil {
		return nil, err
	}
	workerAddr, err := procs.FreeAddr()
	if err != nil {
		return nil, err
	}
	hubURL := dbURL
	if !strings.Contains(hubURL, "pool_max_conns") {
		sep := "?"
		if strings.Contains(hubURL, "?") {
			sep = "&"
		}
		hubURL += sep + "pool_max_conns=30"
	}
	common := append([]string{"DATABASE_URL=" + hubURL, "HUB_TRUSTED_CA_DIR=" + caDir,
		"HUB_MSE_URL=" + peers["mse"] + "/soap", "HUB_ZAGS_URL=" + peers["zags"] + "/soap", "HUB_EPGU_URL=" + peers["epgu"] + "/soap",
		"HUB_PROVIDER_URL=" + peers["provider"] + "/soap", "HUB_POLICY_URL=" + peers["policy"] + "/soap"}, hubEnv...)
	r.apiBase = "http://" + apiAddr
	r.api = &proc{name: "hub api", bin: cfg.Bin, args: []string{"serve"}, logPath: logPath(cfg.WorkDir, "hub-api"), say: r.say,
		env: append(append([]string{}, common...), "HUB_MODE=api", "HUB_LISTEN_ADDR="+apiAddr), ready: httpReady(r.apiBase + "/readyz")}
	r.worker = &proc{name: "hub worker", bin: cfg.Bin, args: []string{"serve"}, logPath: logPath(cfg.WorkDir, "hub-worker"), say: r.say,
		env: append(append([]string{}, common...), "HUB_MODE=worker", "HUB_LISTEN_ADDR="+workerAddr), ready: httpReady("http://" + workerAddr + "/readyz")}
	for _, p := range []*proc{r.api, r.worker} {
		if err := p.start(ctx); err != nil {
			return nil, err
		}
		defer p.stop()
	}
	r.say("  hub api (HUB_MODE=api) pid %d at %s; hub worker (HUB_MODE=worker) pid %d; %s",
		r.api.pid(), r.apiBase, r.worker.pid(), strings.Join(hubEnv[:7], " "))

	// Submission with chaos, then the drain.
	r.flows = plan(cfg.Flows, len(orgs), cfg.Seed)
	sub := &submitter{client: &http.Client{Timeout: 30 * time.Second}, apiBase: func() string { return r.apiBase },
		providerURL: peers["provider"], keys: r.keys, orgs: orgs, seed: cfg.Seed, giveUpAfter: 2 * time.Minute}
	r.started = time.Now()
	r.say("▸ submitting (outage windows count from %.1fs before this line)", r.started.Sub(simStart).Seconds())
	sctx, stopSub := context.WithCancel(ctx)
	defer stopSub()
	subDone := make(chan struct{})
	go func() { sub.run(sctx, r.flows, cfg.Rate, cfg.Concurrency); close(subDone) }()
	chaosDone := make(chan struct{})
	go func() { r.chaos(sctx, planned, subDone); close(chaosDone) }()

	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
wait:
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-subDone:
			break wait
		case <-tick.C:
			s, a := sub.counts()
			r.progress(ctx, fmt.Sprintf("submitted %d/%d (accepted %d)", s, cfg.Flows, a))
		}
	}
	<-chaosDone
	submitting := r.since()
	_, accepted := sub.counts()
	r.say("▸ all %d submitted in %.1fs (%d accepted); waiting for the drain (at most %s)", cfg.Flows, submitting.Seconds(), accepted, cfg.Drain)
	drained := r.drain(ctx, cfg.Drain, tick.C)
	draining := r.since() - submitting

	rep := &Report{Flows: r.flows, Events: r.events, Faults: cfg.Faults, Submitting: submitting, Draining: draining, Drained: drained}
	obs, err := r.observe(ctx)
	if err != nil {
		return nil, err
	}
	select {
	case <-simExited:
		obs.UnexpectedExits = append(obs.UnexpectedExits, "hub sim exited during the run; see "+logPath(cfg.WorkDir, "sim"))
	default:
	}
	for _, p := range []*proc{r.api, r.worker} {
		for _, x := range p.unexpectedExits() {
			obs.UnexpectedExits = append(obs.UnexpectedExits, p.name+" "+x)
		}
	}
	rep.Counters = obs.Counters
	rep.States = r.states(ctx)
	rep.Calls = r.calls(ctx)
	obs.Calls = rep.Calls
	rep.Checks = check(r.flows, obs)
	if !rep.OK() {
		if err := r.dump(ctx, filepath.Join(cfg.WorkDir, "db")); err != nil {
			r.say("  (the database could not be dumped for a post-mortem: %v)", err)
		} else {
			r.say("  the flows' tables are dumped as CSV in %s for a post-mortem", filepath.Join(cfg.WorkDir, "db"))
		}
	}
	r.print(rep)
	return rep, nil
}

// chaos runs the kills and the database restart at spread moments of the
// planned submission phase: SIGKILL the worker at 20 %, the API at 45 %,
// restart PostgreSQL immediately at 60 % (if the soak owns it), SIGKILL
// the worker again at 80 %. An act not reached when submission ends
// happens then.
func (r *run) chaos(ctx context.Context, planned time.Duration, subDone <-chan struct{}) {
	type act struct {
		at float64
		do func()
	}
	kill := func(p *proc) func() {
		return func() {
			old, pid, took, err := p.kill(ctx)
			if err != nil {
				r.event("SIGKILL %s (pid %d): restart failed: %v", p.name, old, err)
				return
			}
			r.event("SIGKILL %s (pid %d); restarted at once as pid %d, ready in %.1fs", p.name, old, pid, took.Seconds())
		}
	}
	acts := []act{{0.20, kill(r.worker)}, {0.45, kill(r.api)}, {0.60, func() {
		if r.cluster == nil {
			r.event("PostgreSQL restart skipped: DATABASE_URL names a server the soak does not own")
			return
		}
		t := time.Now()
		if err := r.cluster.RestartImmediate(ctx); err != nil {
			r.event("PostgreSQL immediate restart failed: %v", err)
			return
		}
		r.event("PostgreSQL stopped in immediate mode and started again on the same data and port (back in %.1fs)", time.Since(t).Seconds())
	}}, {0.80, kill(r.worker)}}
	for _, a := range acts {
		select {
		case <-ctx.Done():
			return
		case <-subDone:
		case <-time.After(time.Until(r.started.Add(time.Duration(a.at * float64(planned))))):
		}
		a.do()
	}
}

// progress prints one line: where the flows stand.
func (r *run) progress(ctx context.Context, head string) (settled, total int) {
	ids := r.acceptedIDs()
	st, err := r.settledCount(ctx, ids)
	if err != nil {
		r.say("  %6.1fs %s | database: %v", r.since().Seconds(), head, shortErr(err))
		return -1, len(ids)
	}
	r.say("  %6.1fs %s | settled %d, in flight %d | %s", r.since().Seconds(), head, st, len(ids)-st, summarize(r.states(ctx)))
	return st, len(ids)
}

// summarize renders states compactly: "referrals sent 5 result_received
// 60 | zags delivered 30 retrying 2 | epgu … | jobs available 3 running 5
// scheduled 9 (mse_status 7, deliver_zags 2)" — job kinds by count, the
// results poll's own schedule left out.
func summarize(states map[string]int) string {
	groups := map[string][]string{}
	jobs := map[string]int{}
	kinds := map[string]int{}
	var keys []string
	for k := range states {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f := strings.Fields(k)
		switch {
		case f[0] == "referral" && len(f) == 2:
			groups["referrals"] = append(groups["referrals"], fmt.Sprintf("%s %d", f[1], states[k]))
		case f[0] == "delivery" && len(f) == 3:
			groups[f[1]] = append(groups[f[1]], fmt.Sprintf("%s %d", f[2], states[k]))
		case f[0] == "jobs" && len(f) == 3:
			jobs[f[1]] += states[k]
			kinds[f[2]] += states[k]
		}
	}
	var parts []string
	for _, g := range []string{"referrals", "zags", "epgu"} {
		if len(groups[g]) > 0 {
			parts = append(parts, g+" "+strings.Join(groups[g], " "))
		}
	}
	var js []string
	for _, st := range []string{"available", "running", "retryable", "scheduled"} {
		if jobs[st] > 0 {
			js = append(js, fmt.Sprintf("%s %d", st, jobs[st]))
		}
	}
	if len(js) > 0 {
		var ks []string
		for k := range kinds {
			ks = append(ks, k)
		}
		sort.Slice(ks, func(i, j int) bool {
			return kinds[ks[i]] > kinds[ks[j]] || kinds[ks[i]] == kinds[ks[j]] && ks[i] < ks[j]
		})
		for i := range ks {
			ks[i] = fmt.Sprintf("%s %d", ks[i], kinds[ks[i]])
		}
		parts = append(parts, "jobs "+strings.Join(js, " ")+" ("+strings.Join(ks, ", ")+")")
	}
	return strings.Join(parts, " | ")
}

func shortErr(err error) string {
	s := err.Error()
	if len(s) > 120 {
		s = s[:120] + "…"
	}
	return s
}

func (r *run) acceptedIDs() []uuid.UUID {
	var ids []uuid.UUID
	for _, f := range r.flows {
		if id := f.docID(); id != "" {
			if u, err := uuid.Parse(id); err == nil {
				ids = append(ids, u)
			}
		}
	}
	return ids
}

// settledCount counts the flows of ids that are terminal or held, or
// whose referral has a result stored whatever its state says (a result
// overwritten by a late step is then reported by the checks, not waited
// for).
func (r *run) settledCount(ctx context.Context, ids []uuid.UUID) (int, error) {
	var n int
	err := r.pool.QueryRow(ctx, `SELECT
		(SELECT count(*) FROM mse_referrals r WHERE r.document_id = ANY($1)
			AND (r.state IN ('result_received', 'returned', 'incomplete', 'failed', 'blocked_certificate', 'superseded')
				OR EXISTS (SELECT 1 FROM mse_results x WHERE x.referral_id = r.id)))
		+ (SELECT count(*) FROM (SELECT document_id FROM deliveries WHERE document_id = ANY($1) GROUP BY document_id
			HAVING count(*) FILTER (WHERE state IN ('delivered', 'failed', 'blocked_certificate', 'superseded')) = 2) c)`, ids).Scan(&n)
	return n, err
}

// states counts referrals and deliveries by state, and the River jobs of
// the flows' steps by state.
func (r *run) states(ctx context.Context) map[string]int {
	out := map[string]int{}
	rows, err := r.pool.Query(ctx, `SELECT 'referral ' || state, count(*) FROM mse_referrals GROUP BY state
		UNION ALL SELECT 'delivery ' || recipient || ' ' || state, count(*) FROM deliveries GROUP BY recipient, state
		UNION ALL SELECT 'jobs ' || state || ' ' || kind, count(*) FROM river_job WHERE state NOT IN ('completed', 'cancelled', 'discarded')
			AND (kind <> 'mse_fetch_results' OR state <> 'scheduled') GROUP BY state, kind`)
	if err != nil {
		return out
	}
	defer rows.Close()
	for rows.Next() {
		var k string
		var n int
		if rows.Scan(&k, &n) == nil {
			out[k] = n
		}
	}
	return out
}

// postMortem is what dump writes when a check fails: every flow table
// (document contents left out), the exchange log and the River jobs, so a
// broken invariant can be traced step by step after the throwaway cluster
// is gone.
var postMortem = map[string]string{
	"documents":     `SELECT id, organization_id, system_id, kind, cda_root, cda_extension, received_at FROM documents`,
	"mse_referrals": `SELECT * FROM mse_referrals`,
	"mse_links":     `SELECT * FROM mse_links`,
	"mse_results":   `SELECT id, message_id, referral_id, organization_id, case_id, type, reason, kind, referral_root, referral_extension, cda_root, cda_extension, check_error, received_at FROM mse_results`,
	"deliveries":    `SELECT * FROM deliveries`,
	"exchange_log":  `SELECT * FROM exchange_log`,
	"notifications": `SELECT id, system_id, event, subject_id, created_at, delivered_at, attempts, last_error FROM notifications`,
	"river_job":     `SELECT id, kind, state, queue, attempt, max_attempts, args, errors, attempted_at, attempted_by, created_at, scheduled_at, finalized_at FROM river_job`,
}

// dump writes postMortem's tables as CSV files into dir.
func (r *run) dump(ctx context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	conn, err := r.pool.Acquire(ctx)
	if err != nil {
		return err
	}
	defer conn.Release()
	for name, q := range postMortem {
		f, err := os.Create(filepath.Join(dir, name+".csv"))
		if err != nil {
			return err
		}
		_, err = conn.Conn().PgConn().CopyTo(ctx, f, "COPY ("+q+" ORDER BY 1) TO STDOUT WITH (FORMAT csv, HEADER)")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("dump %s: %w", name, err)
		}
	}
	return nil
}

// calls summarises the exchange log (see Report.Calls).
func (r *run) calls(ctx context.Context) []CallStats {
	rows, err := r.pool.Query(ctx, `SELECT peer, operation, count(*), count(*) FILTER (WHERE outcome NOT IN ('ok', 'duplicate')),
			count(*) FILTER (WHERE duration_ms > $1 AND outcome NOT IN ('killed', 'started')),
			count(*) FILTER (WHERE outcome IN ('killed', 'started')),
			coalesce(max(duration_ms) FILTER (WHERE outcome NOT IN ('killed', 'started')), 0)
		FROM exchange_log WHERE peer <> 'hub' GROUP BY peer, operation ORDER BY peer, operation`, soapTimeout.Milliseconds()+1000)
	if err != nil {
		return nil
	}
	defer rows.Close()
	var out []CallStats
	for rows.Next() {
		var c CallStats
		if rows.Scan(&c.Peer, &c.Operation, &c.Calls, &c.Failed, &c.OverLimit, &c.Killed, &c.MaxMillis) == nil {
			out = append(out, c)
		}
	}
	return out
}

// drain waits until every accepted flow is settled and no step that sends
// or fetches is still due or running (an orphaned step is rescued and runs
// again: that rerun must be seen), printing progress; it gives up after bound.
func (r *run) drain(ctx context.Context, bound time.Duration, tick <-chan time.Time) bool {
	deadline := time.Now().Add(bound)
	poll := time.NewTicker(time.Second)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return false
		case <-tick:
			r.progress(ctx, "draining")
		case <-poll.C:
			ids := r.acceptedIDs()
			n, err := r.settledCount(ctx, ids)
			if err == nil && n == len(ids) {
				var busy int
				// Status polls are reads that follow a referral until a
				// result settles it; one whose result was overwritten would
				// poll for ever, so they do not hold the drain.
				err = r.pool.QueryRow(ctx, `SELECT count(*) FROM river_job WHERE kind NOT IN ('mse_fetch_results', 'mse_status')
					AND (state IN ('available', 'running', 'retryable') OR (state = 'scheduled' AND scheduled_at < now() + interval '3 seconds'))`).Scan(&busy)
				if err == nil && busy == 0 {
					r.progress(ctx, "drained")
					time.Sleep(2 * time.Second) // let a straggling call land in the peers' counters
					return true
				}
			}
			if time.Now().After(deadline) {
				r.progress(ctx, "drain bound reached")
				return false
			}
		}
	}
}

// observe reads what the checks need from the database, the peers and the API.
func (r *run) observe(ctx context.Context) (*Observed, error) {
	ids := r.acceptedIDs()
	o := &Observed{Documents: map[string]string{}, Referrals: map[string]ReferralObs{}, Deliveries: map[string]map[string]DeliveryObs{},
		Counters: map[string]map[string]sim.Counters{}, ResultAccess: map[string]Access{}}
	rows, err := r.pool.Query(ctx, `SELECT id::text, cda_root || '^' || cda_extension FROM documents WHERE id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("soak: read documents: %w", err)
	}
	for rows.Next() {
		var id, key string
		if err := rows.Scan(&id, &key); err != nil {
			return nil, err
		}
		o.Documents[id] = key
	}
	rows.Close()
	rows, err = r.pool.Query(ctx, `SELECT r.document_id::text, r.id::text, r.state, coalesce(r.last_error, ''), coalesce(r.return_reason, ''),
			coalesce((SELECT array_agg(x.type ORDER BY x.id) FROM mse_results x WHERE x.referral_id = r.id), '{}'),
			(SELECT count(DISTINCT e.message_id) FROM exchange_log e WHERE e.subject_id = r.id AND e.operation = 'SendReferral' AND e.message_id IS NOT NULL)
		FROM mse_referrals r WHERE r.document_id = ANY($1)`, ids)
	if err != nil {
		return nil, fmt.Errorf("soak: read referrals: %w", err)
	}
	for rows.Next() {
		var doc string
		var x ReferralObs
		if err := rows.Scan(&doc, &x.ID, &x.State, &x.LastError, &x.ReturnReason, &x.ResultTypes, &x.SendMessageIDs); err != nil {
			return nil, err
		}
		x.Results = len(x.ResultTypes)
		o.Referrals[doc] = x
	}
	rows.Close()
	// The citizen's ЕПГУ events (issue 15) apart: a document's own deliveries only.
	if err := r.pool.QueryRow(ctx, `SELECT count(*) FILTER (WHERE state = 'delivered'), count(*) FROM deliveries WHERE event <> '' AND document_id = ANY($1)`, ids).
		Scan(&o.EPGUEventsDelivered, &o.EPGUEvents); err != nil {
		return nil, fmt.Errorf("soak: read ЕПГУ events: %w", err)
	}
	rows, err = r.pool.Query(ctx, `SELECT document_id::text, recipient, state, coalesce(last_error, ''), duplicate FROM deliveries WHERE document_id = ANY($1) AND event = ''`, ids)
	if err != nil {
		return nil, fmt.Errorf("soak: read deliveries: %w", err)
	}
	for rows.Next() {
		var doc, rcp string
		var d DeliveryObs
		if err := rows.Scan(&doc, &rcp, &d.State, &d.LastError, &d.Duplicate); err != nil {
			return nil, err
		}
		if o.Deliveries[doc] == nil {
			o.Deliveries[doc] = map[string]DeliveryObs{}
		}
		o.Deliveries[doc][rcp] = d
	}
	rows.Close()
	for name, base := range r.peers {
		c, err := counters(ctx, base)
		if err != nil {
			return nil, err
		}
		o.Counters[name] = c
	}
	// Each result as the МИС sees it: its owner must get it, the next
	// organisation's МИС must not.
	client := &http.Client{Timeout: 30 * time.Second}
	get := func(docID, key string) int {
		for try := 0; ; try++ {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.apiBase+"/api/v1/mse/referrals/"+url.PathEscape(docID)+"/result", nil)
			req.Header.Set("Authorization", "Bearer "+key)
			res, err := client.Do(req)
			if err == nil {
				_, _ = io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode < 500 || try == 5 {
					return res.StatusCode
				}
			} else if try == 5 {
				return 0
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	var mu sync.Mutex
	work := make(chan *Flow)
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				a := Access{Owner: get(f.DocID, r.keys[f.Org]), Other: get(f.DocID, r.keys[(f.Org+1)%len(r.keys)])}
				mu.Lock()
				o.ResultAccess[f.DocID] = a
				mu.Unlock()
			}
		}()
	}
	for _, f := range r.flows {
		if x, ok := o.Referrals[f.DocID]; ok && x.Results > 0 {
			work <- f
		}
	}
	close(work)
	wg.Wait()
	return o, nil
}

func counters(ctx context.Context, base string) (map[string]sim.Counters, error) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/control/counters", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("soak: peer counters: %w", err)
	}
	defer res.Body.Close()
	var c map[string]sim.Counters
	if err := json.NewDecoder(res.Body).Decode(&c); err != nil {
		return nil, fmt.Errorf("soak: peer counters from %s: %w", base, err)
	}
	return c, nil
}

// print writes the report: timings, chaos, peers, end states, checks.
func (r *run) print(rep *Report) {
	r.outMu.Lock()
	defer r.outMu.Unlock()
	w := r.out
	var refs, missing, certs int
	for _, f := range rep.Flows {
		switch f.Design {
		case DesignReferral:
			refs++
		case DesignReferralMissing:
			missing++
		default:
			certs++
		}
	}
	drained := "drained"
	if !rep.Drained {
		drained = "NOT drained within the bound"
	}
	fmt.Fprintf(w, "\n▸ soak report: %d flows (%d referrals, %d of them with a linked document missing at the provider; %d certificates)\n",
		len(rep.Flows), refs+missing, missing, certs)
	fmt.Fprintf(w, "  submitting %.1fs, then %s in %.1fs\n", rep.Submitting.Seconds(), drained, rep.Draining.Seconds())
	fmt.Fprintf(w, "  faults: %s\n", rep.Faults)
	fmt.Fprintln(w, "  chaos:")
	for _, e := range rep.Events {
		fmt.Fprintf(w, "    %6.1fs  %s\n", e.At.Seconds(), e.What)
	}
	fmt.Fprintln(w, "\n  what the peers saw:")
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "    PEER\tOPERATION\tRECEIVED\tUNIQUE\tDUPLICATES\tFAULTS")
	var peers []string
	for p := range rep.Counters {
		peers = append(peers, p)
	}
	sort.Strings(peers)
	for _, p := range peers {
		var ops []string
		for op := range rep.Counters[p] {
			ops = append(ops, op)
		}
		sort.Strings(ops)
		for _, op := range ops {
			c := rep.Counters[p][op]
			var fs []string
			for k, v := range c.Faults {
				fs = append(fs, fmt.Sprintf("%s=%d (%.1f%%)", k, v, 100*float64(v)/float64(max(c.Received, 1))))
			}
			sort.Strings(fs)
			fmt.Fprintf(tw, "    %s\t%s\t%d\t%d\t%d\t%s\n", p, op, c.Received, c.Unique, c.Duplicates, strings.Join(fs, " "))
		}
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "\n  the hub's exchange log against what the peers received (a call cut by a SIGKILL or the database crash is\n"+
		"  settled as killed by the next run; a hang the log misses or a call over %s — HUB_SOAP_TIMEOUT + 1 s — means\n"+
		"  the timeout did not bound it):\n", soapTimeout+time.Second)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "    PEER\tOPERATION\tLOGGED\tPEER RECEIVED\tFAILED\tKILLED\tOVER %s\tLONGEST\n", soapTimeout+time.Second)
	for _, c := range rep.Calls {
		recv := "-"
		if pc, ok := rep.Counters[c.Peer][c.Operation]; ok {
			recv = fmt.Sprint(pc.Received)
		}
		fmt.Fprintf(tw, "    %s\t%s\t%d\t%s\t%d\t%d\t%d\t%.1fs\n", c.Peer, c.Operation, c.Calls, recv, c.Failed, c.Killed, c.OverLimit, float64(c.MaxMillis)/1000)
	}
	_ = tw.Flush()
	fmt.Fprintln(w, "\n  end states:")
	var keys []string
	for k := range rep.States {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, k := range keys {
		fmt.Fprintf(tw, "    %s\t%d\n", k, rep.States[k])
	}
	_ = tw.Flush()
	fmt.Fprintln(w)
	printChecks(w, rep.Checks, 25)
	verdict := "PASS"
	if !rep.OK() {
		verdict = "FAIL"
	}
	fmt.Fprintf(w, "\n▸ %s: %d flows in %.1fs (logs: %s)\n", verdict, len(rep.Flows), (rep.Submitting + rep.Draining).Seconds(), r.cfg.WorkDir)
}
