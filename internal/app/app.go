// Package app wires the hub together from a Config: pool, migrations,
// services and the HTTP server, and runs it with graceful shutdown
// (HTTP first, then workers, then the pool). `hub serve`, `hub demo` and
// the integration tests all build the hub through here, so they run the
// same thing.
package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"riverqueue.com/riverui"

	"github.com/emdhub/hub/internal/api"
	"github.com/emdhub/hub/internal/cdaxsd"
	"github.com/emdhub/hub/internal/config"
	"github.com/emdhub/hub/internal/db"
	"github.com/emdhub/hub/internal/intake"
	"github.com/emdhub/hub/internal/kinds"
	"github.com/emdhub/hub/internal/logx"
	"github.com/emdhub/hub/internal/refbook"
	"github.com/emdhub/hub/internal/retention"
	"github.com/emdhub/hub/internal/schematron"
	"github.com/emdhub/hub/internal/signature"
	"github.com/emdhub/hub/internal/soapx"
	"github.com/emdhub/hub/internal/stats"
	"github.com/emdhub/hub/internal/store"
	"github.com/emdhub/hub/workflow"
)

// App is a built hub.
type App struct {
	Config *config.Config
	Log    *slog.Logger
	Pool   *pgxpool.Pool
	Store  *store.Store
	Intake *intake.Service
	API    *api.Server
	Engine *workflow.Engine
	Books  *refbook.Registry // ФЛК level 2 reference books; nil when HUB_NSI_CHECK is off
	Kinds  *kinds.Registry   // schematrons in force per kind: the started-with ones and the operators' bundles
	// Metrics is what /metrics serves (metrics.go); HUB_METRICS_ADDR says where.
	Metrics *prometheus.Registry
	// RiverUI is River's UI at /riverui/ (nil in worker mode); Serve
	// starts it, a test serving a.API itself calls StartRiverUI.
	RiverUI *riverui.Handler
	// Recorder and Stats: the record of attempts at the door and the dashboards (stats.go).
	Recorder *stats.Recorder
	Stats    *stats.Service
	// Retention keeps the monthly partitions (internal/retention).
	Retention *retention.Maintainer

	throttle *logx.Throttle
}

// New opens the database (migrating if the config says so) and builds the services.
func New(ctx context.Context, cfg *config.Config, log *slog.Logger) (*App, error) {
	if cfg.DatabaseURL == "" {
		return nil, errors.New("app: DATABASE_URL is not set (hub demo starts a private PostgreSQL; hub serve needs one)")
	}
	pool, err := db.Open(ctx, cfg.DatabaseURL, "hub")
	if err != nil {
		return nil, err
	}
	if cfg.MigrateOnStart {
		if err := db.Migrate(ctx, pool, log); err != nil {
			pool.Close()
			return nil, err
		}
	}
	a, err := Build(cfg, log, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	return a, nil
}

// Build assembles the services on an open pool.
//
// Every part logs through one handler that throttles "database
// unavailable" records (logx.Throttle with logx.DBUnavailable): while
// PostgreSQL is down or restarting, each API request and each River poll
// fails the same way, and the log says so once per 30 s with a count
// instead of once per failure. River gets the same logger, so its producer
// and maintenance errors are throttled too; its retry back-off
// (HUB_RETRY_BASE..HUB_RETRY_MAX) spaces out the failed steps. Under the
// throttle, logx.Redact masks anything shaped like a СНИЛС or ЕНП that an
// error text or a peer's fault carries into a record.
func Build(cfg *config.Config, log *slog.Logger, pool *pgxpool.Pool) (*App, error) {
	throttle := logx.NewThrottle(logx.NewRedact(log.Handler()), logx.DefaultInterval, logx.DBUnavailable)
	log = slog.New(throttle)
	st := store.New(pool)
	eng, err := workflow.New(pool, st, cfg, log)
	if err != nil {
		return nil, err
	}
	if cfg.TrustedCADir == "" {
		return nil, errors.New("app: HUB_TRUSTED_CA_DIR is not set: name the directory of trusted CA certificates (PEM)")
	}
	roots, err := signature.LoadRoots(cfg.TrustedCADir)
	if err != nil {
		return nil, fmt.Errorf("app: %w", err)
	}
	if len(roots) == 0 {
		return nil, fmt.Errorf("app: no CA certificate in HUB_TRUSTED_CA_DIR %s", cfg.TrustedCADir)
	}
	sigs := &intake.Signatures{Verifier: signature.NewVerifier(roots), Orgs: st}
	if cfg.IntermediateCADir != "" {
		inters, err := signature.LoadRoots(cfg.IntermediateCADir)
		if err != nil {
			return nil, fmt.Errorf("app: HUB_INTERMEDIATE_CA_DIR: %w", err)
		}
		log.Info("intermediate CAs loaded", slog.String("dir", cfg.IntermediateCADir), slog.Int("certificates", sigs.Verifier.SetIntermediates(inters)))
	}
	if cfg.CRLDir != "" {
		n, err := sigs.Verifier.LoadCRLs(cfg.CRLDir)
		if err != nil {
			return nil, fmt.Errorf("app: HUB_CRL_DIR: %w", err)
		}
		log.Info("revocation lists loaded", slog.String("dir", cfg.CRLDir), slog.Int("crls", n))
		warnStale(log, sigs.Verifier)
	}
	eng.Signatures = sigs
	flk, err := schematron.LoadDir(cfg.SchematronDir) // compiled once, here: a broken .sch leaves its kind unconfigured
	if err != nil {
		return nil, fmt.Errorf("app: HUB_SCHEMATRON_DIR: %w", err)
	}
	log.Info("official schematrons compiled", slog.String("dir", cfg.SchematronDir), slog.Any("kinds", flk.Kinds()))
	for kind, err := range flk.Unconfigured() { // refused at the door with KIND_UNCONFIGURED
		log.Error("schematron does not compile: kind unconfigured", slog.String("kind", kind), slog.String("error", err.Error()))
	}
	reg := kinds.NewRegistry(flk, pool, st, log)
	loadKindBundles(reg, log)
	xsd, err := cdaxsd.LoadDir(cfg.XSDDir) // compiled once, here; without libxml2 the start fails saying what to install
	if err != nil {
		return nil, fmt.Errorf("app: official XSDs (HUB_XSD_DIR %q): %w", cfg.XSDDir, err)
	}
	log.Info("official XSDs compiled", slog.String("dir", cfg.XSDDir), slog.Any("kinds", xsd.Kinds()))
	in := &intake.Service{Store: st, Hooks: []intake.Hook{eng.IntakeHook}, Signatures: sigs, Limits: intake.DocLimits(cfg), Schematrons: flk, Kinds: reg, XSD: xsd}
	if cfg.GroupCommitters > 0 {
		in.Batcher = &intake.Committer{Pool: pool, Committers: cfg.GroupCommitters}
	}
	eng.Door = in // one door: fetched documents and the bureau's results pass the intake's checks
	a := &App{Config: cfg, Log: log, Pool: pool, Store: st, Intake: in, Engine: eng, Kinds: reg, throttle: throttle}
	if cfg.NSICheck {
		settings, err := refbook.LoadSettings(cfg.NSISettings)
		if err != nil {
			return nil, fmt.Errorf("app: HUB_NSI_SETTINGS: %w", err)
		}
		if a.Books, err = refbook.NewRegistryWith(cfg.NSIDir, settings); err != nil {
			return nil, fmt.Errorf("app: HUB_NSI_DIR: %w", err)
		}
		in.Level2 = intake.NewLevel2(a.Books, st)
		log.Info("reference books loaded", slog.String("dir", cfg.NSIDir), slog.Int("books", len(a.Books.Books().All())))
	}
	a.API = &api.Server{Store: st, Pool: pool, Intake: in, Log: log, Workflow: eng, WorkerOnly: cfg.Mode == "worker",
		MaxBodyBytes: cfg.MaxBodyBytes, RequestTimeout: cfg.RequestTimeout, Kinds: reg}
	a.API.Enrichment = api.NewEnrichment(cfg.PolicyURL, soapx.Options{HTTPClient: soapx.NewHTTPClient(), CallTimeout: cfg.SOAPTimeout}, cfg.PolicyCacheTTL)
	a.Metrics = a.newMetrics()
	if cfg.Mode != "worker" {
		if a.RiverUI, err = api.NewRiverUI(eng.River, log); err != nil {
			return nil, err
		}
		a.API.RiverUI = a.RiverUI
	}
	a.buildStats()
	return a, nil
}

// loadKindBundles overlays the operators' active kind bundles before the
// hub serves. A database that does not answer now is not fatal: the
// registry's Run catches up within HUB_KINDS_POLL, and the error says so.
func loadKindBundles(reg *kinds.Registry, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := reg.Reload(ctx); err != nil {
		log.Error("kind bundles not loaded at start; the hub runs the schematrons it started with until the next reload", slog.Any("error", err))
	}
}

// Serve runs the HTTP API on l until ctx is cancelled, then shuts down
// gracefully within the configured budget.
func (a *App) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{
		Handler:           a.API.Handler(),
		ReadHeaderTimeout: a.Config.ReadHeaderTimeout,
		// ReadTimeout bounds the whole request, body included: a client
		// trickling bytes is cut off (its read fails, the handler answers
		// 408 if it can, and the connection is closed).
		ReadTimeout: a.Config.ReadTimeout,
		IdleTimeout: 2 * time.Minute,
		ErrorLog:    slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn),
	}
	if err := a.startMetrics(ctx); err != nil {
		return err
	}
	if err := a.StartRiverUI(ctx); err != nil {
		return err
	}
	if err := a.Engine.Start(ctx); err != nil {
		return err
	}
	if a.Config.CRLDir != "" {
		go a.reloadCRLs(ctx, 5*time.Minute)
	}
	go a.Kinds.Run(ctx, a.Config.KindsPoll) // operators' kind bundles: LISTEN hub_kinds, polling as the fallback
	if a.Books != nil {
		go a.Books.Watch(ctx, 5*time.Minute, a.Log) // a broken HUB_NSI_DIR keeps the previous books
	}
	go a.runStats(ctx)
	go a.Retention.Loop(ctx) // partitions ahead, retention; one process at a time (advisory lock)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	a.Log.Info("hub serving", slog.String("addr", l.Addr().String()), slog.String("mode", a.Config.Mode))
	var serveErr error
	select {
	case err := <-errc:
		serveErr = fmt.Errorf("app: http server: %w", err)
	case <-ctx.Done():
	}
	a.Log.Info("shutting down", slog.Duration("budget", a.Config.ShutdownTimeout))
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), a.Config.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		a.Log.Warn("http shutdown incomplete", slog.Any("error", err))
	}
	if err := a.Recorder.Flush(sctx); err != nil {
		a.Log.Warn("refused attempts not recorded at shutdown", slog.Any("error", err))
	}
	if err := a.Engine.Stop(sctx); err != nil {
		a.Log.Warn("workers did not stop cleanly; unfinished steps will be retried", slog.Any("error", err))
	}
	return serveErr
}

// reloadCRLs rereads HUB_CRL_DIR every interval until ctx ends. A
// directory that fails to load keeps the previous lists (and says so):
// dropping them would silently stop revocation checks.
func (a *App) reloadCRLs(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := a.Intake.Signatures.Verifier.LoadCRLs(a.Config.CRLDir)
			if err != nil {
				a.Log.Error("revocation lists not reloaded; the previous ones stay in force: fix the CRL directory",
					slog.String("dir", a.Config.CRLDir), slog.Any("error", err))
				continue
			}
			a.Log.Debug("revocation lists reloaded", slog.Int("crls", n))
			warnStale(a.Log, a.Intake.Signatures.Verifier)
		}
	}
}

func warnStale(log *slog.Logger, v *signature.Verifier) {
	for _, s := range v.StaleCRLs(time.Now()) {
		log.Warn("revocation list out of date: still used, but recent revocations may be missing; put the CA's current CRL in HUB_CRL_DIR",
			slog.String("issuer", s))
	}
}

// Close releases the pool and writes the log summaries still pending.
func (a *App) Close() {
	a.Pool.Close()
	if a.throttle != nil {
		a.throttle.Close()
	}
}
