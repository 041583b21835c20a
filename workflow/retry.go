package workflow

import (
	"math/rand/v2"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// retryPolicy is exponential back-off with ±25% jitter, so retries of many
// jobs that failed together (a peer outage) do not come back together.
type retryPolicy struct {
	base, max time.Duration
	clock     *Clock // its Wall time: River schedules against the database's now()
}

func (p *retryPolicy) NextRetry(job *rivertype.JobRow) time.Time {
	return p.clock.Wall().Add(p.delay(job.Attempt))
}

func (p *retryPolicy) delay(attempt int) time.Duration {
	d := p.base
	for i := 1; i < attempt && d < p.max; i++ {
		d *= 2
	}
	if d > p.max {
		d = p.max
	}
	jitter := time.Duration((rand.Float64() - 0.5) * 0.5 * float64(d))
	return d + jitter
}
