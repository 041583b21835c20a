package cli

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/emdhub/hub/internal/app"
)

// demoStay keeps the demo's hub running after the flows (hub demo -stay),
// so a newcomer can look at what they did: it serves /metrics on a
// loopback port of its own, issues an operator key, prints where to look
// and waits for Ctrl-C (SIGINT, SIGTERM) or ctx to end.
func demoStay(ctx context.Context, a *app.App, base string, say func(string, ...any)) error {
	ml, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("demo: metrics listener: %w", err)
	}
	msrv := &http.Server{Handler: a.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := msrv.Serve(ml); err != nil && !errors.Is(err, http.ErrServerClosed) {
			say("  metrics server stopped: %v", err)
		}
	}()
	defer msrv.Close()
	key, err := a.Store.CreateOperator(ctx, "demo -stay operator")
	if err != nil {
		return fmt.Errorf("demo: operator key: %w", err)
	}
	say("\n▸ the hub stays up (-stay); its database and the simulated peers too. Look around:")
	say("  operator key    %s", key)
	say("  console         %s/console/  (sign in with the operator key)", base)
	say("  River UI        %s/riverui/  (operators: the console's session, or the key as a bearer token)", base)
	say("  metrics         http://%s/metrics", ml.Addr())
	say("  OpenAPI         %s/openapi.yaml", base)
	say("  API             curl -H 'Authorization: Bearer %s' %s/api/v1/ops/troubles", key, base)
	say("  Stop with Ctrl-C.")
	sig, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	<-sig.Done()
	say("▸ stopping")
	return nil
}
