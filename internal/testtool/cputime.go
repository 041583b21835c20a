package testtool

import (
	"syscall"
	"testing"
	"time"
)

// CPUTime is the process's user + system CPU time (getrusage). Benchmarks
// report it per operation beside the wall time: on a machine shared with
// other work the wall time grows with the load, the CPU an operation takes
// hardly does. 0 if the kernel does not answer.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// CPUPerOp reports the benchmark's CPU time per operation as cpu-ns/op
// (scripts/bench-signatures compares it with OpenSSL's, measured the same
// way). Use as: defer testtool.CPUPerOp(b)()
func CPUPerOp(b *testing.B) func() {
	start := CPUTime()
	return func() { b.ReportMetric(float64(CPUTime()-start)/float64(b.N), "cpu-ns/op") }
}
