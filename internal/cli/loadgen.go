package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/emdhub/hub/internal/loadgen"
)

// runLoadgen drives a hub with a mix of flows (internal/loadgen): a
// running one (-url, -key) or, self-contained, a private durable
// PostgreSQL, the simulators and -procs processes of this very binary.
func runLoadgen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	url := fs.String("url", "", "base URL of a running hub (default: self-contained, with its own PostgreSQL, simulators and hub processes)")
	keys := fs.String("key", "", "with -url: МИС API keys, comma-separated (documents are authored by each key's organisation in turn)")
	opKey := fs.String("operator-key", "", "with -url: an operator key, to show each peer's waiting work from the ops API")
	provider := fs.String("provider", "", "with -url: base URL of the provider simulator the hub fetches referrals' linked documents from")
	procs := fs.Int("procs", 1, "self-contained: hub processes on the one PostgreSQL")
	topology := fs.String("topology", "all", "self-contained, -procs ≥ 2: all (each HUB_MODE=all, round-robin client) or split (half api, half worker)")
	fsync := fs.String("fsync", "on", "self-contained: on (durable, as production) or off (labelled on every line)")
	pgss := fs.Bool("pgss", false, "self-contained: load pg_stat_statements and print the load's top statements by server time per document")
	pgbench := fs.Bool("pgbench", false, "self-contained: run pgbench (8 clients, 10 KB inserts) on the same cluster first and print intake ÷ pgbench tps")
	pgbenchT := fs.Duration("pgbench-duration", 0, "pgbench's -T (default 20s)")
	mixS := fs.String("mix", "certificates=60,referrals=20,results=20", "flow mix: weights of certificates, referrals, results")
	links := fs.Int("links", 5, "linked documents per referral, held by the provider simulator")
	rate := fs.Float64("rate", 0, "documents per second (open loop)")
	conc := fs.Int("concurrency", 0, "submissions in flight (closed loop), instead of -rate")
	dur := fs.Duration("duration", 0, "how long to submit (default 10s)")
	docs := fs.Int("docs", 0, "documents to generate for a closed loop (default 20000; an open loop makes rate × duration)")
	drain := fs.Duration("drain", 0, "longest wait for the flows to reach their end points after the load (default 1m)")
	seed := fs.Uint64("seed", 0, "seed of the mix and documents (0: the clock)")
	jsonPath := fs.String("json", "", "also write the report as JSON to this file")
	dir := fs.String("dir", "", "directory for the processes' logs (default: a new temp directory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	mix, err := loadgen.ParseMix(*mixS)
	if err != nil {
		return err
	}
	if *fsync != "on" && *fsync != "off" {
		return fmt.Errorf("-fsync %q: want on or off", *fsync)
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this binary: %w", err)
	}
	var ks []string
	for _, k := range strings.Split(*keys, ",") {
		if k = strings.TrimSpace(k); k != "" {
			ks = append(ks, k)
		}
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := loadgen.Run(ctx, loadgen.Config{URL: *url, Keys: ks, OperatorKey: *opKey, ProviderURL: *provider, Bin: bin,
		Procs: *procs, Topology: *topology, FsyncOff: *fsync == "off", PGBench: *pgbench, PGSS: *pgss, PGBenchDuration: *pgbenchT,
		Mix: mix, Links: *links, Rate: *rate, Concurrency: *conc, Duration: *dur, Docs: *docs, Drain: *drain, Seed: *seed,
		JSON: *jsonPath, WorkDir: *dir, Out: stdout})
	if err != nil {
		return err
	}
	if !rep.Drained {
		return errors.New("not every accepted flow reached its end point within -drain")
	}
	return nil
}
