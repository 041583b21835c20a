package testtool

import (
	"errors"
	"testing"
	"time"
)

// recorder is a testing.TB that records how Require stopped it.
type recorder struct {
	testing.TB
	fatal, skipped bool
}

func (r *recorder) Helper()               {}
func (r *recorder) Fatalf(string, ...any) { r.fatal = true }
func (r *recorder) Skipf(string, ...any)  { r.skipped = true }

func TestRequire(t *testing.T) {
	missing := errors.New("not on PATH")
	tests := []struct {
		ci             string
		err            error
		fatal, skipped bool
	}{
		{"true", missing, true, false},
		{"", missing, false, true},
		{"false", missing, false, true},
		{"true", nil, false, false},
		{"", nil, false, false},
	}
	for _, tt := range tests {
		t.Setenv("CI", tt.ci)
		r := &recorder{TB: t}
		Require(r, "xmllint", tt.err)
		if r.fatal != tt.fatal || r.skipped != tt.skipped {
			t.Errorf("CI=%q err=%v: fatal %v skipped %v, want %v %v", tt.ci, tt.err, r.fatal, r.skipped, tt.fatal, tt.skipped)
		}
	}
}

// TestCPUTimeCounts: CPU spent spinning shows in CPUTime.
func TestCPUTimeCounts(t *testing.T) {
	start, wall := CPUTime(), time.Now()
	x := 0
	// 20 ms of CPU, or give up after 5 s of wall time: a clock that never
	// moves fails here rather than hanging the test.
	for CPUTime()-start < 20e6 && time.Since(wall) < 5*time.Second {
		for i := 0; i < 1e5; i++ {
			x += i
		}
	}
	if x == 0 || CPUTime()-start < 20e6 {
		t.Fatalf("CPUTime advanced %v in %v of spinning", CPUTime()-start, time.Since(wall))
	}
}
