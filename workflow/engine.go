// Package workflow is the hub's workflow engine on River: every flow is a
// chain of steps, each a River job, each committing its state change, its
// exchange-log rows and the next step's job in one transaction, so a crash
// leaves either the old state with the job still to run or the new state
// with the next job queued — never half. Job args carry ids only.
//
// Flows:
//   - MSE referral: intake creates the referral, its links and one fetch job
//     per LINKDOCS entry (in the intake transaction); fetch settles each link
//     (already held, fetched from the provider МИС and checked, or
//     unavailable/invalid); the last link settled assembles; a complete
//     package is sent to the bureau with a stable message id, an incomplete one
//     is held and the МИС told; the status is followed; results are pulled
//     periodically, stored, linked and only then acknowledged.
//   - Certificates: intake creates one delivery to ЕГР ЗАГС and one to ЕПГУ,
//     each its own job on its own queue.
//
// Each recipient has its own queue (fetch, mse, zags, epgu, notify), so a
// slow or dead peer never holds up another. The adapters classify failures;
// here a transient one is retried with back-off and jitter, a permanent one
// stops the step with its reason stored, a rate limit snoozes, and a peer
// that is down trips its circuit breaker so it is probed, not hammered.
package workflow

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverpgxv5"

	"github.com/emdhub/hub/adapters/epgu"
	"github.com/emdhub/hub/adapters/mse"
	"github.com/emdhub/hub/adapters/provider"
	"github.com/emdhub/hub/adapters/zags"
	"github.com/emdhub/hub/internal/config"
	"github.com/emdhub/hub/internal/intake"
	"github.com/emdhub/hub/internal/soapx"
	"github.com/emdhub/hub/internal/store"
)

// Queues.
const (
	QueueFetch   = "fetch"
	QueueMSE     = "mse"
	QueueZAGS    = "zags"
	QueueEPGU    = "epgu"
	QueueNotify  = "notify"
	QueueResults = "mse_results"
)

// Engine runs the flows.
type Engine struct {
	Pool   *pgxpool.Pool
	Store  *store.Store
	River  *river.Client[pgx.Tx]
	Log    *slog.Logger
	cfg    *config.Config
	soap   soapx.Options
	mse    *mse.Client
	zags   *zags.Client
	epgu   *epgu.Client
	breaks *breakers
	// Clock is the engine's one time source (clock.go); tests stub it.
	Clock *Clock
	stale staleCounts // lost races per transition (transitions.go)
	// Door checks fetched documents and the bureau's results as the intake
	// checks submissions (intake.Service.CheckEntering); set by the app.
	Door *intake.Service
	// Signatures is the door's signature policy (its verifier's CRLs serve
	// the certificate gate).
	Signatures *intake.Signatures
	callbacks  callbackSender // built on first use from cfg (notify.go)
}

func (e *Engine) now() time.Time { return e.Clock.Now() }

// New builds the engine and its River client. With cfg.Mode "api" the client
// only inserts jobs; otherwise it works every queue once Start is called.
func New(pool *pgxpool.Pool, st *store.Store, cfg *config.Config, log *slog.Logger) (*Engine, error) {
	e := &Engine{Pool: pool, Store: st, Log: log, cfg: cfg, breaks: newBreakers(cfg.BreakerThreshold, cfg.BreakerCooldown), Clock: &Clock{}}
	e.soap = soapx.Options{HTTPClient: soapx.NewHTTPClient(), CallTimeout: cfg.SOAPTimeout}
	e.mse = mse.New(cfg.MSEURL, e.soap)
	e.zags = zags.New(cfg.ZAGSURL, e.soap)
	e.epgu = epgu.New(cfg.EPGUURL, e.soap)

	workers := river.NewWorkers()
	river.AddWorker(workers, &fetchWorker{e: e})
	river.AddWorker(workers, &assembleWorker{e: e})
	river.AddWorker(workers, &sendReferralWorker{e: e})
	river.AddWorker(workers, &statusWorker{e: e})
	river.AddWorker(workers, &resultsWorker{e: e})
	river.AddWorker(workers, &zagsWorker{e: e})
	river.AddWorker(workers, &epguWorker{e: e})
	river.AddWorker(workers, &notifyWorker{e: e})
	river.AddWorker(workers, &documentNoticesWorker{e: e})

	rc := &river.Config{
		Workers:                     workers,
		Logger:                      log,
		MaxAttempts:                 cfg.MaxAttempts,
		RetryPolicy:                 &retryPolicy{base: cfg.RetryBase, max: cfg.RetryMax, clock: e.Clock},
		JobTimeout:                  cfg.JobTimeout(), // above the SOAP calls of one step
		RescueStuckJobsAfter:        cfg.RescueAfter,  // above the job timeout (checked by config)
		CompletedJobRetentionPeriod: 24 * time.Hour,
		DiscardedJobRetentionPeriod: -1,                         // failed steps stay visible; our tables also keep the reason
		FetchCooldown:               cfg.RiverFetchCooldown,     // HUB_RIVER_FETCH_COOLDOWN
		FetchPollInterval:           cfg.RiverFetchPollInterval, // HUB_RIVER_FETCH_POLL_INTERVAL
	}
	if cfg.Mode != "api" {
		n := cfg.WorkersPerQueue
		rc.Queues = map[string]river.QueueConfig{
			QueueFetch: {MaxWorkers: 2 * n}, QueueMSE: {MaxWorkers: n}, QueueZAGS: {MaxWorkers: n},
			QueueEPGU: {MaxWorkers: n}, QueueNotify: {MaxWorkers: n}, QueueResults: {MaxWorkers: 1},
		}
		opts := ResultsPullOpts(cfg.ResultsPollInterval)
		rc.PeriodicJobs = []*river.PeriodicJob{river.NewPeriodicJob(river.PeriodicInterval(cfg.ResultsPollInterval),
			func() (river.JobArgs, *river.InsertOpts) { return ResultsArgs{}, &opts }, &river.PeriodicJobOpts{RunOnStart: true})}
		if cfg.EPGUDocumentNotices {
			rc.PeriodicJobs = append(rc.PeriodicJobs, river.NewPeriodicJob(river.PeriodicInterval(NoticeSweepInterval),
				func() (river.JobArgs, *river.InsertOpts) { return DocumentNoticesArgs{}, nil }, &river.PeriodicJobOpts{RunOnStart: true}))
		}
	}
	client, err := river.NewClient(riverpgxv5.New(pool), rc)
	if err != nil {
		return nil, fmt.Errorf("workflow: river client: %w", err)
	}
	e.River = client
	return e, nil
}

// Start works the queues (not in api mode).
func (e *Engine) Start(ctx context.Context) error {
	if e.cfg.Mode == "api" {
		return nil
	}
	if err := e.River.Start(ctx); err != nil {
		return fmt.Errorf("workflow: start river: %w", err)
	}
	return nil
}

// Stop lets running jobs finish within ctx, then cancels them; unfinished
// jobs are retried by the next process (every step is idempotent).
func (e *Engine) Stop(ctx context.Context) error {
	if e.cfg.Mode == "api" {
		return nil
	}
	return e.River.Stop(ctx)
}

// providerFor returns the document provider of an information system:
// its own URL (url, from the link's load; nil or "" if none set) or the
// configured default.
func (e *Engine) providerFor(url *string) *provider.Client {
	u := e.cfg.ProviderURL
	if url != nil && *url != "" {
		u = *url
	}
	return provider.New(u, e.soap)
}

// completeTx marks job completed inside tx, so a step's state change, its
// next job and its own completion commit together.
func completeTx[T river.JobArgs](ctx context.Context, tx pgx.Tx, job *river.Job[T]) error {
	if _, err := river.JobCompleteTx[*riverpgxv5.Driver](ctx, tx, job); err != nil {
		return fmt.Errorf("workflow: complete job %d (%s): %w", job.ID, job.Kind, err)
	}
	return nil
}
