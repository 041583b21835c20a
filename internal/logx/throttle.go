// Package logx holds the hub's slog plumbing. Throttle keeps an outage from
// flooding the log: while the database is down every request and every
// worker poll fails the same way, and one line per failure would bury
// everything else (and fill disks) exactly when an operator needs the log.
package logx

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/dbavail"
)

// DefaultInterval is how often a throttled message is repeated at most.
const DefaultInterval = 30 * time.Second

// Throttle is a slog.Handler that passes records through to the next
// handler, except those match selects: of these, the first of each message
// is written at once (at warn level), the repeats within the interval are
// counted, and at the end of the interval one summary line says how many
// there were ("N more in the last 30s"). A quiet interval ends the episode,
// so the next occurrence is written at once again.
type Throttle struct {
	next  slog.Handler
	st    *throttleState
	bound bool // attributes bound with WithAttrs already match
}

type throttleState struct {
	mu      sync.Mutex
	every   time.Duration
	match   func(slog.Attr) bool
	windows map[string]*window
	closed  bool
}

type window struct {
	suppressed int
	h          slog.Handler // the handler that wrote the first record: keeps its bound attributes
	timer      *time.Timer
}

// NewThrottle wraps next. match tells, per attribute, whether a record is one
// to throttle (e.g. DBUnavailable); every is the interval (DefaultInterval if 0).
func NewThrottle(next slog.Handler, every time.Duration, match func(slog.Attr) bool) *Throttle {
	if every <= 0 {
		every = DefaultInterval
	}
	return &Throttle{next: next, st: &throttleState{every: every, match: match, windows: map[string]*window{}}}
}

// DBUnavailable matches the attributes that mark a record as "the database is
// unavailable": an error value dbavail classifies so, an error carried as
// text under "err" or "error" (River's way), or error_code DB_UNAVAILABLE
// (the API's request log).
func DBUnavailable(a slog.Attr) bool {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindAny:
		if err, ok := v.Any().(error); ok {
			return dbavail.Unavailable(err)
		}
	case slog.KindString:
		switch a.Key {
		case "err", "error":
			return dbavail.UnavailableText(v.String())
		case "error_code":
			return v.String() == codes.DBUnavailable
		}
	case slog.KindGroup:
		for _, g := range v.Group() {
			if DBUnavailable(g) {
				return true
			}
		}
	}
	return false
}

// Enabled defers to the next handler.
func (t *Throttle) Enabled(ctx context.Context, l slog.Level) bool { return t.next.Enabled(ctx, l) }

// WithAttrs keeps the shared throttling state.
func (t *Throttle) WithAttrs(as []slog.Attr) slog.Handler {
	bound := t.bound
	for _, a := range as {
		bound = bound || t.st.match(a)
	}
	return &Throttle{next: t.next.WithAttrs(as), st: t.st, bound: bound}
}

// WithGroup keeps the shared throttling state.
func (t *Throttle) WithGroup(name string) slog.Handler {
	return &Throttle{next: t.next.WithGroup(name), st: t.st, bound: t.bound}
}

// Handle writes, counts or summarises r.
func (t *Throttle) Handle(ctx context.Context, r slog.Record) error {
	hit := t.bound
	r.Attrs(func(a slog.Attr) bool {
		hit = hit || t.st.match(a)
		return !hit
	})
	if !hit {
		return t.next.Handle(ctx, r)
	}
	st := t.st
	st.mu.Lock()
	if w := st.windows[r.Message]; w != nil {
		w.suppressed++
		st.mu.Unlock()
		return nil
	}
	if !st.closed {
		key := r.Message
		st.windows[key] = &window{h: t.next, timer: time.AfterFunc(st.every, func() { st.flush(key, false) })}
	}
	st.mu.Unlock()
	first := slog.NewRecord(r.Time, slog.LevelWarn, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool { first.AddAttrs(a); return true })
	first.AddAttrs(slog.String("log_throttle", fmt.Sprintf("repeats of this message are summarised every %s", st.every)))
	return t.next.Handle(ctx, first)
}

// flush ends an interval of key: a summary if anything was held back (and a
// new interval), otherwise the end of the episode.
func (st *throttleState) flush(key string, final bool) {
	st.mu.Lock()
	w := st.windows[key]
	if w == nil {
		st.mu.Unlock()
		return
	}
	n := w.suppressed
	w.suppressed = 0
	if n == 0 || final || st.closed {
		delete(st.windows, key)
		w.timer.Stop()
	} else {
		w.timer.Reset(st.every)
	}
	st.mu.Unlock()
	if n > 0 {
		r := slog.NewRecord(time.Now(), slog.LevelWarn, fmt.Sprintf("%s: %d more in the last %s", key, n, st.every), 0)
		r.AddAttrs(slog.String("repeated_message", key), slog.Int("suppressed", n))
		_ = w.h.Handle(context.Background(), r)
	}
}

// Close writes the pending summaries and stops the timers; later matching
// records are written without throttling windows (each one once).
func (t *Throttle) Close() {
	st := t.st
	st.mu.Lock()
	st.closed = true
	keys := make([]string, 0, len(st.windows))
	for k := range st.windows {
		keys = append(keys, k)
	}
	st.mu.Unlock()
	for _, k := range keys {
		st.flush(k, true)
	}
}
