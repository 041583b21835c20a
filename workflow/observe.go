package workflow

import "github.com/emdhub/hub/internal/metrics"

// Breakers reads this process's circuit breakers for /metrics: every
// recipient that has failed since its last success. A breaker counts as
// open from the threshold on (held back, or one probe out).
func (e *Engine) Breakers() map[string]metrics.Breaker {
	b := e.breaks
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make(map[string]metrics.Breaker, len(b.state))
	for peer, s := range b.state {
		out[peer] = metrics.Breaker{Failures: s.failures, Open: s.failures >= b.threshold}
	}
	return out
}

// Queues are the River queues the engine works.
var Queues = []string{QueueFetch, QueueMSE, QueueZAGS, QueueEPGU, QueueNotify, QueueResults}
