package workflow

import (
	"errors"
	"strings"
	"sync"

	"github.com/emdhub/hub/internal/store"
)

// The flows' states and transitions live in internal/store/flows.go; each
// transition is a store function running one guarded UPDATE. A step that
// loses a race gets *store.StaleTransitionError: lost logs and counts it,
// and the step completes without applying it.

// staleCounts counts lost races per transition name.
type staleCounts struct {
	mu sync.Mutex
	n  map[string]int64
}

func (s *staleCounts) add(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[string]int64{}
	}
	s.n[name]++
}

// StaleTransitions returns how many times each transition lost a race in
// this process (refused, logged, not applied).
func (e *Engine) StaleTransitions() map[string]int64 {
	e.stale.mu.Lock()
	defer e.stale.mu.Unlock()
	out := make(map[string]int64, len(e.stale.n))
	for k, v := range e.stale.n {
		out[k] = v
	}
	return out
}

// lost passes err through; a lost race is first logged and counted.
func (e *Engine) lost(err error) error {
	var se *store.StaleTransitionError
	if errors.As(err, &se) {
		e.stale.add(se.Transition.Name)
		e.Log.Warn("state transition refused: the row had moved on; not applied", "transition", se.Transition.Name,
			"table", string(se.Transition.Flow), "key", se.Key, "found", se.Found, "allowed_from", strings.Join(se.Transition.From, ","))
	}
	return err
}

// stale reports whether err is a lost race (already logged and counted).
func stale(err error) bool { return errors.Is(err, store.ErrStaleTransition) }
