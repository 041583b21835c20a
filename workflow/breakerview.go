package workflow

// Breaker states as the console shows them.
const (
	BreakerClosed = "closed"
	BreakerOpen   = "open"    // calls held until the next probe
	BreakerProbe  = "probing" // the cooldown is over: the next call is the probe
)

// BreakerState is the state of this process's circuit breaker for peer
// ("mse", "zags", "epgu", "provider"), for the operator console. Breakers
// are per process (breaker.go), so another process may see it otherwise.
func (e *Engine) BreakerState(peer string) string {
	b := e.breaks
	b.mu.Lock()
	defer b.mu.Unlock()
	s := b.state[peer]
	switch {
	case s == nil || s.failures < b.threshold:
		return BreakerClosed
	case e.now().Before(s.openUntil):
		return BreakerOpen
	default:
		return BreakerProbe
	}
}
