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
	"time"

	"github.com/emdhub/hub/internal/soak"
)

// runSoak runs the chaos soak (internal/soak) with this very binary as the
// hub and simulator processes, and fails when an invariant is broken.
func runSoak(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("soak", flag.ContinueOnError)
	fs.SetOutput(stderr)
	flows := fs.Int("flows", 500, "flows to submit (40% MSE referrals, 60% birth/death certificates)")
	rate := fs.Float64("rate", 10, "submissions per second")
	conc := fs.Int("concurrency", 8, "submissions in flight at most")
	seed := fs.Uint64("seed", 0, "seed of the flow mix and documents (0: the clock)")
	faults := fs.String("faults", "", "simulator fault spec (hub sim -faults syntax); default: 20% transient, 2% rate limits, 2% hangs, one outage per peer")
	resultDelay := fs.Duration("result-delay", 0, "how long the simulated MSE bureau takes to produce a result")
	drain := fs.Duration("drain", 0, "longest wait for the flows to settle after the last submission (default 4m + 20ms per flow)")
	dir := fs.String("dir", "", "directory for the processes' logs (default: a new temp directory)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find this binary: %w", err)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, err := soak.Run(ctx, soak.Config{Bin: bin, Flows: *flows, Rate: *rate, Concurrency: *conc, Seed: *seed,
		DatabaseURL: getenv("DATABASE_URL"), Faults: *faults, ResultDelay: *resultDelay, Drain: *drain, WorkDir: *dir, Out: stdout})
	if err != nil {
		return err
	}
	if !rep.OK() {
		return errors.New("invariants broken: " + strings.Join(rep.Failed(), "; "))
	}
	fmt.Fprintf(stdout, "soak passed in %s\n", rep.Total.Round(time.Second))
	return nil
}
