package workflow

import (
	"testing"
	"time"
)

// TestBreaker: closed until threshold consecutive failures; open, it
// refuses calls and says how long until the next probe; after the cooldown
// exactly one caller probes while the others wait; a success closes it;
// peers are independent.
func TestBreaker(t *testing.T) {
	b := newBreakers(3, time.Minute)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 2 {
		b.failure("mse", t0)
		if ok, _ := b.allow("mse", t0); !ok {
			t.Fatalf("open after %d failures of 3", i+1)
		}
	}
	b.failure("mse", t0)
	ok, wait := b.allow("mse", t0.Add(10*time.Second))
	if ok || wait != 50*time.Second {
		t.Fatalf("after 3 failures: allow %v, wait %v; want refused, 50s", ok, wait)
	}
	if ok, _ := b.allow("zags", t0); !ok {
		t.Fatal("another peer's breaker opened")
	}
	probeAt := t0.Add(time.Minute)
	if ok, _ := b.allow("mse", probeAt); !ok {
		t.Fatal("no probe after the cooldown")
	}
	if ok, wait := b.allow("mse", probeAt); ok || wait != time.Minute {
		t.Fatalf("a second caller probes too (allow %v, wait %v)", ok, wait)
	}
	b.failure("mse", probeAt) // the probe failed: still open, next probe a cooldown later
	if ok, _ := b.allow("mse", probeAt.Add(30*time.Second)); ok {
		t.Fatal("a failed probe closed the breaker")
	}
	b.success("mse")
	if ok, _ := b.allow("mse", probeAt); !ok {
		t.Fatal("a success did not close the breaker")
	}
}
