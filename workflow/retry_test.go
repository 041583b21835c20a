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

// TestAttemptOutcomeFeedsBreaker: how a call ended feeds its peer's
// breaker — a timeout or a peer down counts (two open a breaker of
// threshold 2), an answer (refusal, rate limit) does not, a success closes it.
func TestAttemptOutcomeFeedsBreaker(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		opens bool
	}{
		{"timeout", &soapx.Error{Class: soapx.Transient, Code: soapx.CodeTimeout}, true},
		{"peer down", &soapx.Error{Class: soapx.Unavailable, Code: "HTTP_503"}, true},
		{"transient fault", &soapx.Error{Class: soapx.Transient, Code: "SERVER_FAULT"}, false},
		{"refusal", &soapx.Error{Class: soapx.Permanent, Code: "VALIDATION_ERROR"}, false},
		{"rate limited", &soapx.Error{Class: soapx.RateLimited, Code: "HTTP_429"}, false},
		{"cancelled", context.Canceled, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := &Engine{breaks: newBreakers(2, time.Hour), Clock: &Clock{}}
			for range 2 {
				e.feedBreaker("epgu", tt.err)
			}
			if ok, _ := e.breaks.allow("epgu", e.now()); ok == tt.opens {
				t.Fatalf("two %s: breaker open %v, want %v", tt.name, !ok, tt.opens)
			}
			e.feedBreaker("epgu", nil)
			if ok, _ := e.breaks.allow("epgu", e.now()); !ok {
				t.Fatal("a success did not close the breaker")
			}
		})
	}
}
