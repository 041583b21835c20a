package loadgen

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/emdhub/hub/internal/db"
	"github.com/emdhub/hub/internal/pgcluster"
	"github.com/emdhub/hub/internal/proccpu"
	"github.com/emdhub/hub/internal/procs"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/store"
)

// hubEnv are the self-contained hub processes' settings: the simulators
// answer at once, so the results poll and the status poll are what bound
// a referral's end to end; they run often enough not to dominate it.
var hubEnv = []string{
	"HUB_RESULTS_POLL_INTERVAL=200ms", "HUB_STATUS_POLL_INTERVAL=1s", "HUB_LOG_LEVEL=warn", "HUB_LOG_FORMAT=text",
	"HUB_MIGRATE_ON_START=false", "HUB_RETRY_BASE=100ms", "HUB_RETRY_MAX=2s",
}

// selfContained is the run's own PostgreSQL, simulators and hub processes.
type selfContained struct {
	r       *run
	cluster *pgcluster.Cluster
	pool    *pgxpool.Pool
	peers   map[string]string
	sim     *exec.Cmd
	procs   []*exec.Cmd
	exited  []chan struct{} // closed when the process at the same index has exited
	names   []string        // the processes' names, e.g. hub-1-all
	api     []string        // API base URLs
	pgPID   int             // the postmaster

	before, after snapshot
}

// snapshot is the counters costs are computed from.
type snapshot struct {
	at        time.Time
	hubTicks  int64
	procTicks []int64 // per hub process, as sc.procs
	pgTicks   int64
	commits   int64
	walBytes  int64
	walSyncs  int64
	documents int64
}

func startSelfContained(ctx context.Context, r *run, rep *Report) (*selfContained, error) {
	cfg := r.cfg
	if cfg.Bin == "" {
		return nil, fmt.Errorf("loadgen: the self-contained mode needs the hub binary (Config.Bin)")
	}
	sc := &selfContained{r: r}
	opts := pgcluster.Options{Database: "hub", Durable: !cfg.FsyncOff, CrashSafe: true, MaxConnections: 100 + 40*cfg.Procs}
	if cfg.PGSS {
		opts.Preload = "pg_stat_statements"
	}
	cl, err := pgcluster.Start(ctx, opts)
	if err != nil {
		return sc, err
	}
	sc.cluster = cl
	storage := "DURABLE: fsync, synchronous_commit, full_page_writes on"
	if cfg.FsyncOff {
		storage = "fsync OFF, asked for with -fsync=off: not what production runs"
	}
	r.say("▸ private PostgreSQL on 127.0.0.1:%d (%s)", cl.Port, storage)
	if sc.pool, err = db.Open(ctx, cl.URL, "hub-loadgen"); err != nil {
		return sc, err
	}
	if err := db.Migrate(ctx, sc.pool, slog.New(slog.DiscardHandler)); err != nil {
		return sc, fmt.Errorf("loadgen: migrate: %w", err)
	}
	if cfg.PGSS {
		if _, err := sc.pool.Exec(ctx, `CREATE EXTENSION IF NOT EXISTS pg_stat_statements`); err != nil {
			return sc, fmt.Errorf("loadgen: pg_stat_statements: %w", err)
		}
	}
	var dataDir string
	if err := sc.pool.QueryRow(ctx, `SELECT current_setting('data_directory')`).Scan(&dataDir); err != nil {
		return sc, err
	}
	if pid, err := proccpu.Postmaster(dataDir); err == nil {
		sc.pgPID = pid
	}
	// Four organisations in four regions, one МИС each, as the soak does.
	st := store.New(sc.pool)
	for i, region := range []int{77, 16, 54, 66} {
		org := semdgen.NewOrg(region, 100+int((cfg.Seed+uint64(i)*7919)%800))
		org.Name = fmt.Sprintf("Loadgen hospital %d (region %d)", i+1, region)
		reg, err := st.RegisterSystemWithOGRN(ctx, org.OID, org.Name, org.OGRN, fmt.Sprintf("МИС loadgen-%d", i))
		if err != nil {
			return sc, fmt.Errorf("loadgen: register system: %w", err)
		}
		r.orgs, r.keys = append(r.orgs, org), append(r.keys, reg.APIKey)
	}
	if cfg.PGBench {
		pb, err := sc.pgbench(ctx)
		if err != nil {
			return sc, err
		}
		rep.PGBench = pb
	}
	caDir := filepath.Join(cfg.WorkDir, "ca")
	if err := os.MkdirAll(caDir, 0o755); err != nil {
		return sc, err
	}
	if err := semdgen.WriteTestCA(caDir); err != nil {
		return sc, err
	}
	if err := sc.startSim(ctx); err != nil {
		return sc, err
	}
	// One pool per process, sized so every process's workers and API fit.
	hubURL := cl.URL + "?pool_max_conns=30"
	if strings.Contains(cl.URL, "?") {
		hubURL = cl.URL + "&pool_max_conns=30"
	}
	common := append([]string{"DATABASE_URL=" + hubURL, "HUB_TRUSTED_CA_DIR=" + caDir,
		"HUB_MSE_URL=" + sc.peers["mse"] + "/soap", "HUB_ZAGS_URL=" + sc.peers["zags"] + "/soap", "HUB_EPGU_URL=" + sc.peers["epgu"] + "/soap",
		"HUB_PROVIDER_URL=" + sc.peers["provider"] + "/soap", "HUB_POLICY_URL=" + sc.peers["policy"] + "/soap"}, hubEnv...)
	var desc []string
	for i := range cfg.Procs {
		mode := "all"
		if cfg.Topology == "split" {
			// The first half takes the API, the rest work the queues.
			mode = "worker"
			if i < (cfg.Procs+1)/2 {
				mode = "api"
			}
		}
		addr, err := procs.FreeAddr()
		if err != nil {
			return sc, err
		}
		name := fmt.Sprintf("hub-%d-%s", i+1, mode)
		cmd := exec.Command(cfg.Bin, "serve")
		cmd.Env = append(append(os.Environ(), common...), "HUB_MODE="+mode, "HUB_LISTEN_ADDR="+addr)
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		logf, err := os.Create(filepath.Join(cfg.WorkDir, name+".log"))
		if err != nil {
			return sc, err
		}
		cmd.Stdout, cmd.Stderr = logf, logf
		if err := cmd.Start(); err != nil {
			logf.Close()
			return sc, fmt.Errorf("loadgen: start %s: %w", name, err)
		}
		exited := make(chan struct{})
		go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
		sc.procs, sc.exited, sc.names = append(sc.procs, cmd), append(sc.exited, exited), append(sc.names, name)
		base := "http://" + addr
		rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
		err = procs.WaitHTTP(rctx, base+"/readyz")
		cancel()
		if err != nil {
			return sc, fmt.Errorf("loadgen: %s not ready: %w (log %s)", name, err, logf.Name())
		}
		if mode != "worker" {
			sc.api = append(sc.api, base)
		}
		desc = append(desc, fmt.Sprintf("%s pid %d", name, cmd.Process.Pid))
	}
	r.say("  %s; simulators at zero latency (hub sim -result-delay 0, no faults)", strings.Join(desc, ", "))
	return sc, nil
}

func (sc *selfContained) stop() {
	for _, p := range sc.procs {
		_ = p.Process.Signal(syscall.SIGTERM)
	}
	for i, p := range sc.procs {
		select {
		case <-sc.exited[i]:
		case <-time.After(10 * time.Second):
			_ = p.Process.Kill()
		}
	}
	if sc.sim != nil {
		_ = sc.sim.Process.Kill()
	}
	if sc.pool != nil {
		sc.pool.Close()
	}
	if sc.cluster != nil {
		sc.cluster.Stop()
	}
}

// startSim runs `hub sim` on free loopback ports, answering at once and
// without faults.
func (sc *selfContained) startSim(ctx context.Context) error {
	cmd, peers, _, err := procs.StartSim(ctx, sc.r.cfg.Bin, "", "0s", filepath.Join(sc.r.cfg.WorkDir, "sim.log"))
	if cmd != nil {
		sc.sim = cmd
	}
	if err != nil {
		return fmt.Errorf("loadgen: %w", err)
	}
	sc.peers = peers
	return nil
}

func (sc *selfContained) bases() []string { return sc.api }

func (sc *selfContained) how() string {
	return "the hub's own timestamps in the database: documents.received_at to deliveries.delivered_at, mse_referrals.sent_at, mse_results.received_at"
}

func (sc *selfContained) queues(ctx context.Context) (map[string][2]int, error) {
	rows, err := sc.pool.Query(ctx, `SELECT queue, count(*) FILTER (WHERE state = 'available'), count(*) FILTER (WHERE state = 'running')
		FROM river_job WHERE state IN ('available', 'running') GROUP BY queue`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string][2]int{}
	for rows.Next() {
		var q string
		var a, r int
		if err := rows.Scan(&q, &a, &r); err != nil {
			return nil, err
		}
		out[q] = [2]int{a, r}
	}
	return out, rows.Err()
}

// observe reads the pending flows' end points from the hub's own rows: a
// certificate is done when both its deliveries (the document's own, not a
// citizen's event) are delivered; a referral when it was sent; a result
// flow when the bureau's RESULT is stored, which is when GET …/result
// answers 200 to the МИС.
func (sc *selfContained) observe(ctx context.Context, pending []*Flow) error {
	byID := map[uuid.UUID]*Flow{}
	var certs, refs []uuid.UUID
	for _, f := range pending {
		id, err := uuid.Parse(f.DocID)
		if err != nil {
			continue
		}
		byID[id] = f
		if f.Kind == Certificates {
			certs = append(certs, id)
		} else {
			refs = append(refs, id)
		}
	}
	if len(certs) > 0 {
		rows, err := sc.pool.Query(ctx, `SELECT d.document_id, doc.received_at,
				max(d.delivered_at) FILTER (WHERE d.recipient = 'zags'), max(d.delivered_at) FILTER (WHERE d.recipient = 'epgu')
			FROM deliveries d JOIN documents doc ON doc.id = d.document_id
			WHERE d.document_id = ANY($1) AND d.event = '' AND d.state = 'delivered'
			GROUP BY d.document_id, doc.received_at HAVING count(*) = 2`, certs)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id uuid.UUID
			var in, z, e time.Time
			if err := rows.Scan(&id, &in, &z, &e); err != nil {
				rows.Close()
				return err
			}
			f := byID[id]
			f.ToZAGS, f.ToEPGU, f.DoneAtHub, f.Done = z.Sub(in), e.Sub(in), later(z, e), true
		}
		rows.Close()
	}
	if len(refs) > 0 {
		rows, err := sc.pool.Query(ctx, `SELECT r.document_id, doc.received_at, r.sent_at,
				(SELECT min(x.received_at) FROM mse_results x WHERE x.referral_id = r.id AND x.type = 'RESULT')
			FROM mse_referrals r JOIN documents doc ON doc.id = r.document_id
			WHERE r.document_id = ANY($1) AND r.sent_at IS NOT NULL`, refs)
		if err != nil {
			return err
		}
		for rows.Next() {
			var id uuid.UUID
			var in, sent time.Time
			var res *time.Time
			if err := rows.Scan(&id, &in, &sent, &res); err != nil {
				rows.Close()
				return err
			}
			f := byID[id]
			f.ToSent = sent.Sub(in)
			switch {
			case f.Kind == Referrals:
				f.DoneAtHub, f.Done = sent, true
			case res != nil:
				f.ToResult, f.DoneAtHub, f.Done = res.Sub(in), *res, true
			}
		}
		rows.Close()
	}
	return nil
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}
