package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/emdhub/hub/internal/metrics"
	"github.com/emdhub/hub/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

func scrape(t *testing.T, h http.Handler) string {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: %d %s", rec.Code, rec.Body)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}

func addJob(t *testing.T, pool *pgxpool.Pool, queue, state string) {
	t.Helper()
	if _, err := pool.Exec(context.Background(), `INSERT INTO river_job (kind, args, queue, state, max_attempts, priority, scheduled_at, finalized_at)
		VALUES ('test', '{}', $1, $2::river_job_state, 25, 1, now() - interval '90 seconds', CASE WHEN $2 = 'completed' THEN now() END)`, queue, state); err != nil {
		t.Fatal(err)
	}
}

// TestRiverCountsCachedAndGrouped: River's jobs are counted per queue and
// state with the queue's depth and its oldest due job; answers are cached
// for CacheFor, then read afresh.
func TestRiverCountsCachedAndGrouped(t *testing.T) {
	pool := testdb.Pool(t)
	addJob(t, pool, "zags", "available")
	addJob(t, pool, "zags", "retryable")
	addJob(t, pool, "zags", "completed")
	src := metrics.Sources{Pool: pool, Queues: []string{"zags", "epgu"}, CacheFor: time.Hour}
	h := metrics.Handler(metrics.NewRegistry(src), nil)
	s := scrape(t, h)
	for _, want := range []string{
		`hub_river_jobs{queue="zags",state="available"} 1`,
		`hub_river_jobs{queue="zags",state="completed"} 1`,
		`hub_queue_depth{queue="zags"} 2`,
		`hub_queue_depth{queue="epgu"} 0`,
		`hub_river_stats_up 1`,
	} {
		if !strings.Contains(s, want+"\n") {
			t.Errorf("scrape lacks %s", want)
		}
	}
	m := regexp.MustCompile(`hub_queue_oldest_available_seconds\{queue="zags"\} ([0-9.e+]+)`).FindStringSubmatch(s)
	if m == nil {
		t.Fatalf("no hub_queue_oldest_available_seconds for zags:\n%s", s)
	}
	if age, err := strconv.ParseFloat(m[1], 64); err != nil || age < 89 || age > 600 {
		t.Errorf("oldest available job's age (due 90 s ago) not reported:\n%s", grep(s, "oldest"))
	}
	addJob(t, pool, "zags", "available")
	if s := scrape(t, h); !strings.Contains(s, `hub_queue_depth{queue="zags"} 2`+"\n") {
		t.Errorf("a second scrape within CacheFor queried again:\n%s", grep(s, "queue_depth"))
	}
	fresh := metrics.Handler(metrics.NewRegistry(metrics.Sources{Pool: pool, CacheFor: time.Nanosecond, FinishedCacheFor: time.Nanosecond}), nil)
	if s := scrape(t, fresh); !strings.Contains(s, `hub_queue_depth{queue="zags"} 3`+"\n") {
		t.Errorf("after the cache period the new job is not counted:\n%s", grep(s, "queue_depth"))
	}
}

// TestScrapeWithTheDatabaseDown: the River query failing drops its series
// and says so (hub_river_stats_up 0); the rest of the scrape is served.
func TestScrapeWithTheDatabaseDown(t *testing.T) {
	pool, err := pgxpool.New(context.Background(), testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	pool.Close()
	s := scrape(t, metrics.Handler(metrics.NewRegistry(metrics.Sources{Pool: pool}), nil))
	if !strings.Contains(s, "hub_river_stats_up 0\n") || strings.Contains(s, "hub_river_jobs{") || !strings.Contains(s, `hub_db_pool_conns{state="max"}`) {
		t.Fatalf("scrape with the database down:\n%s", grep(s, "hub_"))
	}
}

// TestLabelsStayBounded: what a client declares cannot grow the label
// space: a kind that is not a НСИ code becomes "other", an odd code "OTHER".
func TestLabelsStayBounded(t *testing.T) {
	metrics.Intake("<script>", metrics.OutcomeRefused, "not a code")
	metrics.Intake("", metrics.OutcomeRefused, "BAD_REQUEST")
	metrics.DictionaryUnchecked("121", "1.2.643.5.1.13.13.99.2.991", "not held")
	metrics.DictionaryUnchecked("121", "<b>1.2.3</b>", "not held")
	for i := 0; i < 300; i++ { // past the cap of distinct books
		metrics.DictionaryUnchecked("121", fmt.Sprintf("1.2.643.5.1.13.13.11.%d", 9000+i), "whatever")
	}
	s := scrape(t, metrics.Handler(metrics.NewRegistry(metrics.Sources{}), nil))
	for _, want := range []string{`hub_intake_total{code="OTHER",kind="other",outcome="refused"} 1`, `hub_intake_total{code="BAD_REQUEST",kind="none",outcome="refused"} 1`,
		`hub_dictionary_unchecked_total{book="1.2.643.5.1.13.13.99.2.991",kind="121",reason="not held"} 1`,
		`hub_dictionary_unchecked_total{book="other",kind="121",reason="not held"} 1`} {
		if !strings.Contains(s, want) {
			t.Errorf("scrape lacks %s:\n%s", want, grep(s, "intake"))
		}
	}
	if n := strings.Count(s, "hub_dictionary_unchecked_total{"); n > 257+1 {
		t.Errorf("%d book series: the label is not bounded", n)
	}
	if !strings.Contains(s, `hub_dictionary_unchecked_total{book="other",kind="121",reason="other"}`) {
		t.Errorf("books past the cap (or an unknown reason) are not folded into \"other\":\n%s", grep(s, "dictionary"))
	}
}

func grep(s, sub string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
