package workflow

import (
	"sync/atomic"
	"time"
)

// Clock is the engine's one source of time, injected (Engine.Clock) and
// stubbable, on the model of River's rivertest time stub (it satisfies
// rivertype.TimeGenerator: Now, NowOrNil; StubNow fixes it). This file is
// the only one in workflow/ and internal/store/ that reads the system
// clock (TestOneClock checks it).
//
// Now is the engine's "now" for every decision: the certificate gate, the
// package deadline, the breakers, callback timestamps, the troubles' ages.
// A test that lets certificates expire stubs it. Wall is the unstubbed
// time, for the two things that must agree with the real world rather than
// with a stub: how long a call took, and when River retries a job (River
// compares scheduled_at with the database's now(), so a stub two hours
// ahead must not park retries two hours away). The Clock is therefore not
// given to River's client.
type Clock struct {
	stub atomic.Pointer[func() time.Time]
}

// Now returns the engine's time: the stub's if one is set, else the system's.
func (c *Clock) Now() time.Time {
	if c != nil {
		if f := c.stub.Load(); f != nil {
			return (*f)()
		}
	}
	return time.Now()
}

// NowOrNil returns the stubbed time, or nil when the clock is not stubbed.
func (c *Clock) NowOrNil() *time.Time {
	if c == nil || c.stub.Load() == nil {
		return nil
	}
	t := c.Now()
	return &t
}

// StubNow fixes the engine's time at t (as rivertest's stub does) and returns it.
func (c *Clock) StubNow(t time.Time) time.Time {
	c.Stub(func() time.Time { return t })
	return t
}

// Stub makes now a function of the caller's (e.g. the real time shifted);
// nil restores the system's. Safe while the engine runs.
func (c *Clock) Stub(now func() time.Time) {
	if now == nil {
		c.stub.Store(nil)
		return
	}
	c.stub.Store(&now)
}

// Wall is the system's time, never stubbed: call durations and River's
// retry schedule.
func (c *Clock) Wall() time.Time { return time.Now() }
