package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/emdhub/hub/internal/sim"
)

// runSim serves every simulated peer on its own port until SIGINT/SIGTERM.
func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addrs := map[string]*string{
		"mse":      fs.String("mse-addr", "127.0.0.1:9101", "MSE bureau listen address"),
		"zags":     fs.String("zags-addr", "127.0.0.1:9102", "ЕГР ЗАГС listen address"),
		"epgu":     fs.String("epgu-addr", "127.0.0.1:9103", "ЕПГУ listen address"),
		"provider": fs.String("provider-addr", "127.0.0.1:9104", "МИС document provider listen address"),
		"policy":   fs.String("policy-addr", "127.0.0.1:9105", "ОМС policy registry listen address"),
	}
	delay := fs.Duration("result-delay", 2*time.Second, "how long the MSE bureau takes to produce a result")
	faults := fs.String("faults", "", "fault injection, e.g. 'mse.SendReferral:transient=0.2,latency=5ms..20ms;zags.*:outage=10s+30s' (see README)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	set := sim.NewSet()
	set.Bureau.ResultDelay = *delay
	if *faults != "" {
		spec, err := sim.ParseFaultSpec(*faults, time.Now())
		if err != nil {
			return err
		}
		if err := set.ApplyFaults(spec); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	log := slog.New(slog.NewTextHandler(stderr, nil))
	errc := make(chan error, len(addrs))
	var servers []*http.Server
	for _, name := range set.Names() {
		l, err := net.Listen("tcp", *addrs[name])
		if err != nil {
			return fmt.Errorf("%s: listen on %s: %w", name, *addrs[name], err)
		}
		srv := &http.Server{Handler: set.Handlers()[name], ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, srv)
		go func() {
			if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
		fmt.Fprintf(stdout, "%-9s http://%s/soap   (contract: http://%s/soap?wsdl, control: http://%s/control/counters)\n", name, l.Addr(), l.Addr(), l.Addr())
	}
	log.Info("simulators running; Ctrl-C to stop")
	select {
	case <-ctx.Done():
	case err := <-errc:
		return err
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, s := range servers {
		_ = s.Shutdown(sctx)
	}
	return nil
}
