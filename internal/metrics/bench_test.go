package metrics_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/metrics"
	"github.com/emdhub/hub/internal/testdb"
)

// BenchmarkScrapeUncached is one whole /metrics scrape with River's count
// queries run every time, over 200,000 jobs: 150,000 completed (River
// keeps them a day), 12,500 discarded and 37,500 waiting, over six
// queues. "live" counts the waiting and running jobs afresh (the finished
// ones from their minute's cache, as most scrapes do); "live+finished"
// counts everything afresh.
func BenchmarkScrapeUncached(b *testing.B) {
	pool := testdb.Pool(b)
	if _, err := pool.Exec(context.Background(), `INSERT INTO river_job (kind, args, queue, state, max_attempts, priority, scheduled_at, finalized_at)
		SELECT 'bench', '{}', q, st::river_job_state, 25, 1, now(), CASE WHEN st IN ('completed', 'discarded') THEN now() END
		FROM (SELECT (ARRAY['fetch','mse','zags','epgu','notify','mse_results'])[1 + i % 6] AS q,
				CASE WHEN i % 4 = 0 THEN (ARRAY['available','retryable','scheduled','discarded'])[1 + (i / 4) % 4] ELSE 'completed' END AS st
			FROM generate_series(1, 200000) i) j`); err != nil {
		b.Fatal(err)
	}
	if _, err := pool.Exec(context.Background(), `ANALYZE river_job`); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name     string
		finished time.Duration
	}{{"live", time.Hour}, {"live+finished", time.Nanosecond}} {
		b.Run(bc.name, func(b *testing.B) {
			h := metrics.Handler(metrics.NewRegistry(metrics.Sources{Pool: pool, CacheFor: time.Nanosecond, FinishedCacheFor: bc.finished}), nil)
			h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/metrics", nil)) // fills the finished cache
			b.ResetTimer()
			for range b.N {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
				if rec.Code != 200 {
					b.Fatal(rec.Code)
				}
			}
		})
	}
}
