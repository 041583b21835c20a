package logx_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/emdhub/hub/internal/logx"
)

type buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *buffer) records(t *testing.T) []map[string]any {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.b.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		out = append(out, m)
	}
	return out
}

func newLogger(every time.Duration) (*slog.Logger, *buffer, *logx.Throttle) {
	buf := &buffer{}
	th := logx.NewThrottle(slog.NewJSONHandler(buf, &slog.HandlerOptions{Level: slog.LevelDebug}), every, logx.DBUnavailable)
	return slog.New(th), buf, th
}

// TestThrottleOutage: a flood of database-unavailable records, in each of
// the shapes the hub and River write them, comes out as one warning per
// message and one summary with the count; other records pass untouched.
func TestThrottleOutage(t *testing.T) {
	log, buf, th := newLogger(time.Hour)
	// River's text for a refused dial, as it appears in the log.
	refused := "error cleaning jobs: failed to connect to `user=postgres database=hub`: 127.0.0.1:36179 (127.0.0.1): dial error: dial tcp 127.0.0.1:36179: connect: connection refused"
	starting := fmt.Errorf("store: authenticate: %w", &pgconn.PgError{Code: "57P03", Message: "the database system is starting up"})
	for i := 0; i < 100; i++ {
		log.Error("request failed", slog.Any("error", starting))                                       // the API
		log.Error("producer: Error fetching jobs", slog.String("err", refused))                        // River
		log.Info("http request", slog.Int("status", 503), slog.String("error_code", "DB_UNAVAILABLE")) // request log
		log.With(slog.Any("error", starting)).Warn("step failed")                                      // bound attribute
	}
	log.Error("request failed", slog.Any("error", errors.New("syntax error at or near SELECT (SQLSTATE 42601)")))
	log.Info("hub serving")
	recs := buf.records(t)
	if len(recs) != 6 {
		t.Fatalf("want 4 first occurrences and 2 other records, got %d: %v", len(recs), recs)
	}
	for _, r := range recs[:4] {
		if r["level"] != "WARN" || r["log_throttle"] == nil {
			t.Fatalf("first occurrence not a throttled warning: %v", r)
		}
	}
	if recs[4]["level"] != "ERROR" || !strings.Contains(fmt.Sprint(recs[4]["error"]), "42601") {
		t.Fatalf("an ordinary error must pass through as it is: %v", recs[4])
	}
	th.Close()
	recs = buf.records(t)[6:]
	if len(recs) != 4 {
		t.Fatalf("want one summary per message, got %v", recs)
	}
	for _, r := range recs {
		if r["suppressed"] != float64(99) || !strings.Contains(r["msg"].(string), "99 more in the last 1h0m0s") {
			t.Fatalf("summary: %v", r)
		}
	}
}

// TestThrottleIntervals: the summary comes at the end of each interval in
// which repeats were held back; a quiet interval ends the episode, and the
// next occurrence is written at once again.
func TestThrottleIntervals(t *testing.T) {
	log, buf, th := newLogger(50 * time.Millisecond)
	defer th.Close()
	down := slog.Any("error", &pgconn.PgError{Code: "57P01"})
	for i := 0; i < 10; i++ {
		log.Error("request failed", down)
	}
	waitFor(t, buf, 2)                 // first + summary of 9
	time.Sleep(200 * time.Millisecond) // quiet intervals: the episode ends
	log.Error("request failed", down)
	recs := waitFor(t, buf, 3)
	if recs[1]["suppressed"] != float64(9) || recs[2]["log_throttle"] == nil {
		t.Fatalf("records: %v", recs)
	}
	if n := len(buf.records(t)); n != 3 {
		t.Fatalf("a single occurrence needs no summary: %d records", n)
	}
}

func waitFor(t *testing.T, buf *buffer, n int) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		recs := buf.records(t)
		if len(recs) >= n {
			return recs
		}
		if time.Now().After(deadline) {
			t.Fatalf("want %d records, have %v", n, recs)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
