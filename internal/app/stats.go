package app

import (
	"context"
	"github.com/emdhub/hub/internal/store"
	"github.com/gin-gonic/gin"
	"log/slog"
	"time"

	"github.com/emdhub/hub/internal/console"
	"github.com/emdhub/hub/internal/retention"
	"github.com/emdhub/hub/internal/stats"
)

// buildStats wires the record of attempts at the door, the dashboards'
// figures and the operator console (issue 14).
func (a *App) buildStats() {
	a.Recorder = stats.NewRecorder(a.Pool, a.Log)
	a.Intake.Attempts = a.Recorder
	a.Stats = &stats.Service{Pool: a.Pool}
	a.API.Stats = a.Stats
	con := &console.Console{Store: a.Store, Stats: a.Stats, Pool: a.Pool, Log: a.Log,
		Breaker: a.Engine.BreakerState, TTL: a.Config.ConsoleSessionTTL, Kinds: a.Kinds}
	a.API.Console = con
	// River UI accepts the console's sign-in as well as a bearer operator key.
	a.API.Session = func(c *gin.Context) (*store.Principal, error) { return con.Principal(c.Request) }
	// Monthly partitions ahead and retention (issue 16, internal/retention).
	a.Retention = &retention.Maintainer{Pool: a.Pool, Log: a.Log, Months: a.Config.RetentionMonths}
	if a.Metrics != nil {
		retention.Register(a.Metrics, a.Retention)
	}
}

// runStats flushes refused attempts every second and folds the record into
// the roll-ups every HUB_STATS_ROLLUP_INTERVAL until ctx ends. Every
// process does it; the roll-up's advisory lock lets one work at a time.
// (A goroutine rather than a River periodic job: it needs no queue, and the
// watermark makes a missed or doubled run harmless.)
func (a *App) runStats(ctx context.Context) {
	go a.Recorder.Run(ctx, time.Second)
	every := a.Config.StatsRollupInterval
	if every <= 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := stats.Rollup(ctx, a.Pool, stats.SafeCutoff(time.Now(), a.Config.RequestTimeout)); err != nil && ctx.Err() == nil {
			a.Log.Warn("stats roll-up failed; the next run catches up", slog.Any("error", err))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
