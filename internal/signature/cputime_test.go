package signature

import (
	"syscall"
	"testing"
)

// cpuPerOp reports the benchmark's CPU time per operation (user + system of
// the process, getrusage) as cpu-ns/op: on a machine shared with other work
// the wall-clock ns/op grows with the load, the CPU time an operation takes
// hardly does. scripts/bench-signatures compares these with OpenSSL's,
// measured the same way. Use as: defer cpuPerOp(b)()
func cpuPerOp(b *testing.B) func() {
	start := cpuNanos()
	return func() { b.ReportMetric(float64(cpuNanos()-start)/float64(b.N), "cpu-ns/op") }
}

func cpuNanos() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}
