package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/emdhub/hub/adapters/epgu"
	"github.com/emdhub/hub/adapters/mse"
	"github.com/emdhub/hub/adapters/zags"
	"github.com/emdhub/hub/internal/metrics"
	"github.com/emdhub/hub/workflow"
)

// newMetrics is the registry /metrics serves for this hub: the door's
// and the peers' observations, the pool, River's jobs and this
// process's breakers.
func (a *App) newMetrics() *prometheus.Registry {
	return metrics.NewRegistry(metrics.Sources{
		Pool:     a.Pool,
		Queues:   workflow.Queues,
		Peers:    []string{mse.Service, zags.Service, epgu.Service, "provider"},
		Breakers: a.Engine.Breakers,
		Log:      a.Log,
	})
}

// MetricsHandler serves GET /metrics (tests mount it themselves).
func (a *App) MetricsHandler() http.Handler { return metrics.Handler(a.Metrics, a.Log) }

// startMetrics listens on HUB_METRICS_ADDR (nothing when it is empty) and
// serves /metrics there until ctx ends. Listening happens here, so a
// wrong address stops the start instead of going unnoticed.
func (a *App) startMetrics(ctx context.Context) error {
	if a.Config.MetricsAddr == "" {
		return nil
	}
	l, err := net.Listen("tcp", a.Config.MetricsAddr)
	if err != nil {
		return fmt.Errorf("app: listen on %s (HUB_METRICS_ADDR): %w", a.Config.MetricsAddr, err)
	}
	srv := &http.Server{Handler: a.MetricsHandler(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn)}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.Log.Error("metrics server stopped", slog.Any("error", err))
		}
	}()
	a.Log.Info("metrics serving", slog.String("addr", l.Addr().String()))
	return nil
}

// StartRiverUI starts River UI's background services (its cached counts)
// until ctx ends; nothing in worker mode.
func (a *App) StartRiverUI(ctx context.Context) error {
	if a.RiverUI == nil {
		return nil
	}
	if err := a.RiverUI.Start(ctx); err != nil {
		return fmt.Errorf("app: river ui: %w", err)
	}
	return nil
}
