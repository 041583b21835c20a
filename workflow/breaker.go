package workflow

import (
	"sync"
	"time"
)

// breakers hold one circuit breaker per recipient, in this process. After
// threshold consecutive peer-down failures a breaker opens: jobs for that
// recipient wait (snooze) without calling, except one probe per cooldown;
// a success closes it. Per process on purpose: each process learns for
// itself, and a wrong guess costs one probe.
type breakers struct {
	mu        sync.Mutex
	threshold int
	cooldown  time.Duration
	state     map[string]*breaker
}

type breaker struct {
	failures  int
	openUntil time.Time
}

func newBreakers(threshold int, cooldown time.Duration) *breakers {
	return &breakers{threshold: threshold, cooldown: cooldown, state: map[string]*breaker{}}
}

// allow reports whether a call to peer may go out now; if not, wait is how
// long until the next probe.
func (b *breakers) allow(peer string, now time.Time) (ok bool, wait time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.state[peer]
	if s == nil || s.failures < b.threshold {
		return true, 0
	}
	if now.Before(s.openUntil) {
		return false, s.openUntil.Sub(now)
	}
	s.openUntil = now.Add(b.cooldown) // this caller is the probe; others wait
	return true, 0
}

func (b *breakers) success(peer string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.state, peer)
}

func (b *breakers) failure(peer string, now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.state[peer]
	if s == nil {
		s = &breaker{}
		b.state[peer] = s
	}
	s.failures++
	if s.failures == b.threshold {
		s.openUntil = now.Add(b.cooldown)
	}
}
