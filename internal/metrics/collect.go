package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Breaker is one recipient's circuit breaker as this process sees it.
type Breaker struct {
	Failures int  // consecutive peer-down failures
	Open     bool // calls held back (or one probe out) until the cooldown ends
}

// Sources are what the scrape-time collectors read.
type Sources struct {
	// Pool is the hub's database pool: its statistics, and the River
	// tables it is queried for.
	Pool *pgxpool.Pool
	// Queues are the River queues reported even when empty (0).
	Queues []string
	// Peers are the recipients whose breaker is reported even when it
	// never failed (closed).
	Peers []string
	// Breakers reads the breakers of this process; nil: none reported.
	Breakers func() map[string]Breaker
	// CacheFor is how long the count of River's waiting and running jobs
	// serves scrapes (default 5 s): several Prometheus servers or a short
	// scrape interval then cost one grouped query per period.
	CacheFor time.Duration
	// FinishedCacheFor is the same for finished jobs (completed,
	// cancelled, discarded; default 1 min): River keeps completed jobs a
	// day, so they are most of the table and the costly count.
	FinishedCacheFor time.Duration
	Log              *slog.Logger
}

// NewRegistry is a registry with the process-wide observations, Go and
// process statistics, and collectors over src.
func NewRegistry(src Sources) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	for _, c := range processCollectors {
		reg.MustRegister(c)
	}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if src.Pool != nil {
		reg.MustRegister(&poolCollector{pool: src.Pool})
		if src.CacheFor <= 0 {
			src.CacheFor = 5 * time.Second
		}
		if src.FinishedCacheFor <= 0 {
			src.FinishedCacheFor = time.Minute
		}
		reg.MustRegister(&riverCollector{src: src, live: cachedCounts{states: liveStates}, finished: cachedCounts{states: finishedStates}})
	}
	if src.Breakers != nil {
		reg.MustRegister(&breakerCollector{src: src})
	}
	return reg
}

// Handler serves reg in the Prometheus text format. A collector that
// fails (the database down) drops its own series and the rest are still
// served.
func Handler(reg *prometheus.Registry, log *slog.Logger) http.Handler {
	opts := promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError}
	if log != nil {
		opts.ErrorLog = slog.NewLogLogger(log.Handler(), slog.LevelWarn)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, opts))
	return mux
}

func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
}

// poolCollector reports pgxpool.Stat.
type poolCollector struct{ pool *pgxpool.Pool }

var (
	poolConns        = desc("db_pool_conns", "Database pool connections by state (acquired, idle, constructing) and the pool's maximum (max).", "state")
	poolAcquires     = desc("db_pool_acquires_total", "Connections acquired from the pool.")
	poolEmptyAcq     = desc("db_pool_empty_acquires_total", "Acquires that had to wait for a connection (the pool was empty).")
	poolCanceledAcq  = desc("db_pool_canceled_acquires_total", "Acquires cancelled by their context while waiting.")
	poolAcquireWait  = desc("db_pool_acquire_wait_seconds_total", "Total time spent waiting for a connection.")
	poolNewConns     = desc("db_pool_new_conns_total", "Connections opened.")
	poolDestroyedAge = desc("db_pool_destroyed_conns_total", "Connections closed, by reason (max_lifetime, max_idle).", "reason")
)

func (p *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{poolConns, poolAcquires, poolEmptyAcq, poolCanceledAcq, poolAcquireWait, poolNewConns, poolDestroyedAge} {
		ch <- d
	}
}

func (p *poolCollector) Collect(ch chan<- prometheus.Metric) {
	s := p.pool.Stat()
	gauge := func(v int32, state string) {
		ch <- prometheus.MustNewConstMetric(poolConns, prometheus.GaugeValue, float64(v), state)
	}
	gauge(s.AcquiredConns(), "acquired")
	gauge(s.IdleConns(), "idle")
	gauge(s.ConstructingConns(), "constructing")
	gauge(s.MaxConns(), "max")
	ch <- prometheus.MustNewConstMetric(poolAcquires, prometheus.CounterValue, float64(s.AcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolEmptyAcq, prometheus.CounterValue, float64(s.EmptyAcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolCanceledAcq, prometheus.CounterValue, float64(s.CanceledAcquireCount()))
	ch <- prometheus.MustNewConstMetric(poolAcquireWait, prometheus.CounterValue, s.AcquireDuration().Seconds())
	ch <- prometheus.MustNewConstMetric(poolNewConns, prometheus.CounterValue, float64(s.NewConnsCount()))
	ch <- prometheus.MustNewConstMetric(poolDestroyedAge, prometheus.CounterValue, float64(s.MaxLifetimeDestroyCount()), "max_lifetime")
	ch <- prometheus.MustNewConstMetric(poolDestroyedAge, prometheus.CounterValue, float64(s.MaxIdleDestroyCount()), "max_idle")
}

// riverCollector counts River's jobs by queue and state with two grouped
// queries, each cached: the live states (waiting or running: few rows,
// read through River's index that leads with state) for src.CacheFor, and
// the finished ones (completed, cancelled, discarded: River keeps them a
// day, so they are most of the table) for src.FinishedCacheFor.
type riverCollector struct {
	src            Sources
	live, finished cachedCounts
}

// cachedCounts is one grouped count query and its last answer.
type cachedCounts struct {
	states []string
	mu     sync.Mutex
	at     time.Time
	rows   []jobCount
	ok     bool
}

type jobCount struct {
	queue, state string
	n            int64
	oldest       float64 // seconds since the oldest available job became due (available only)
}

// River's job states; every one is reported per queue (0 when none).
var (
	liveStates     = []string{"available", "scheduled", "running", "retryable", "pending"}
	finishedStates = []string{"completed", "cancelled", "discarded"}
	jobStates      = append(append([]string{}, liveStates...), finishedStates...)
)

// waiting are the states of work not yet done that is not running: the
// queue's depth.
var waiting = map[string]bool{"available": true, "scheduled": true, "retryable": true, "pending": true}

var (
	riverJobs     = desc("river_jobs", "River jobs by queue and state (waiting and running: cached a few seconds; finished: cached a minute).", "queue", "state")
	queueDepth    = desc("queue_depth", "Jobs waiting per queue: available, scheduled, retryable and pending (not running, not finished).", "queue")
	queueOldest   = desc("queue_oldest_available_seconds", "Age of the oldest job that is due and waits for a worker, per queue (0: none): the queue's latency.", "queue")
	riverScrapeUp = desc("river_stats_up", "1 if the last queries of River's job counts succeeded, 0 if one failed (the database unavailable); the job series are absent then.")
)

func (r *riverCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- riverJobs
	ch <- queueDepth
	ch <- queueOldest
	ch <- riverScrapeUp
}

// get answers from the cache or runs the query.
func (c *cachedCounts) get(pool *pgxpool.Pool, every time.Duration, log *slog.Logger) ([]jobCount, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && time.Since(c.at) < every {
		return c.rows, c.ok
	}
	rows, err := queryJobCounts(pool, c.states)
	c.at, c.rows, c.ok = time.Now(), rows, err == nil
	if err != nil && log != nil {
		log.Warn("metrics: River job counts not read", slog.Any("error", err))
	}
	return c.rows, c.ok
}

// queryJobCounts groups river_job rows in states by queue and state.
func queryJobCounts(pool *pgxpool.Pool, states []string) ([]jobCount, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	rows, err := pool.Query(ctx, `SELECT queue, state::text, count(*),
			coalesce(extract(epoch FROM now() - min(scheduled_at) FILTER (WHERE state = 'available')), 0)::float8
		FROM river_job WHERE state = ANY($1::river_job_state[]) GROUP BY queue, state`, states)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []jobCount
	for rows.Next() {
		var c jobCount
		if err := rows.Scan(&c.queue, &c.state, &c.n, &c.oldest); err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

func (r *riverCollector) Collect(ch chan<- prometheus.Metric) {
	live, ok1 := r.live.get(r.src.Pool, r.src.CacheFor, r.src.Log)
	finished, ok2 := r.finished.get(r.src.Pool, r.src.FinishedCacheFor, r.src.Log)
	rows := append(append([]jobCount{}, live...), finished...)
	if !ok1 || !ok2 {
		ch <- prometheus.MustNewConstMetric(riverScrapeUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(riverScrapeUp, prometheus.GaugeValue, 1)
	type key struct{ queue, state string }
	n := map[key]int64{}
	depth := map[string]int64{}
	oldest := map[string]float64{}
	queues := map[string]bool{}
	for _, q := range r.src.Queues {
		queues[q] = true
	}
	for _, c := range rows {
		queues[c.queue] = true
		n[key{c.queue, c.state}] += c.n
		if waiting[c.state] {
			depth[c.queue] += c.n
		}
		if c.state == "available" {
			oldest[c.queue] = max(oldest[c.queue], c.oldest)
		}
	}
	for q := range queues {
		for _, st := range jobStates {
			ch <- prometheus.MustNewConstMetric(riverJobs, prometheus.GaugeValue, float64(n[key{q, st}]), q, st)
		}
		ch <- prometheus.MustNewConstMetric(queueDepth, prometheus.GaugeValue, float64(depth[q]), q)
		ch <- prometheus.MustNewConstMetric(queueOldest, prometheus.GaugeValue, oldest[q], q)
	}
}

// breakerCollector reports each recipient's circuit breaker in this process.
type breakerCollector struct{ src Sources }

var (
	breakerOpen     = desc("breaker_open", "1 while a recipient's circuit breaker in this process is open (its calls held back but for one probe per cooldown), 0 when closed.", "peer")
	breakerFailures = desc("breaker_failures", "Consecutive peer-down failures counted by a recipient's breaker in this process.", "peer")
)

func (b *breakerCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- breakerOpen
	ch <- breakerFailures
}

func (b *breakerCollector) Collect(ch chan<- prometheus.Metric) {
	states := b.src.Breakers()
	peers := map[string]Breaker{}
	for _, p := range b.src.Peers {
		peers[p] = Breaker{}
	}
	for p, s := range states {
		peers[p] = s
	}
	for p, s := range peers {
		open := 0.0
		if s.Open {
			open = 1
		}
		ch <- prometheus.MustNewConstMetric(breakerOpen, prometheus.GaugeValue, open, p)
		ch <- prometheus.MustNewConstMetric(breakerFailures, prometheus.GaugeValue, float64(s.Failures), p)
	}
}
