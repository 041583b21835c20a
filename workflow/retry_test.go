package workflow

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/emdhub/hub/internal/config"
	"github.com/emdhub/hub/internal/soapx"
)

// TestRateLimitSnooze: a rate-limited job sleeps for the peer's
// Retry-After (capped), or else for the HUB_RETRY_* back-off of the number
// of times it has been rate limited — not a fixed minute.
func TestRateLimitSnooze(t *testing.T) {
	e := &Engine{cfg: &config.Config{RetryBase: 2 * time.Second, RetryMax: 10 * time.Minute}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		breaks: newBreakers(5, time.Second)}
	tests := []struct {
		name       string
		retryAfter time.Duration
		meta       string
		lo, hi     time.Duration
	}{
		{"Retry-After seconds", 42 * time.Second, `{}`, 42 * time.Second, 42 * time.Second},
		{"Retry-After capped", 3 * time.Hour, `{}`, time.Hour, time.Hour},
		{"first time: base", 0, `{}`, 1500 * time.Millisecond, 2500 * time.Millisecond},
		{"fourth time: base·2³", 0, `{"hub_rate_limited": 3}`, 12 * time.Second, 20 * time.Second},
		{"many times: the max", 0, `{"hub_rate_limited": 40}`, 450 * time.Second, 750 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := e.retryDecision(context.Background(), &rivertype.JobRow{ID: 1, Metadata: []byte(tt.meta)}, "zags",
				&soapx.Error{Class: soapx.RateLimited, Code: "RATE_LIMIT", RetryAfter: tt.retryAfter})
			var snooze *river.JobSnoozeError
			if !errors.As(err, &snooze) || snooze.Duration < tt.lo || snooze.Duration > tt.hi {
				t.Fatalf("want a snooze within %s..%s, got %v", tt.lo, tt.hi, err)
			}
		})
	}
}

// TestTimeoutCountsInBreaker: a timed-out call counts towards its peer's
// circuit breaker as a peer-down failure does.
func TestTimeoutCountsInBreaker(t *testing.T) {
	e := &Engine{cfg: &config.Config{RetryBase: time.Second, RetryMax: time.Minute}, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		breaks: newBreakers(2, time.Hour)}
	for range 2 {
		_ = e.retryDecision(context.Background(), &rivertype.JobRow{ID: 1}, "epgu", &soapx.Error{Class: soapx.Transient, Code: soapx.CodeTimeout})
	}
	if ok, _ := e.breaks.allow("epgu", time.Now()); ok {
		t.Fatal("two timeouts did not open a breaker of threshold 2")
	}
}
