// Package proccpu reads from /proc the CPU time a process has used, and a
// PostgreSQL server's: its postmaster, the backends it reaped and its live
// children (backends, checkpointer, WAL writer…). The load generator and
// the benchmarks divide these by the documents they moved: CPU per
// document is the figure a shared, noisy machine disturbs least (other
// work slows a run; it does not add to its CPU).
//
// Linux only; elsewhere every call answers an error, and callers report
// the figure as missing rather than as zero.
package proccpu

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// ClockTicks is the kernel's USER_HZ, the unit of /proc/<pid>/stat's CPU
// times: 100 on every Linux architecture Go runs the hub on.
const ClockTicks = 100

// Duration converts ticks to time.
func Duration(ticks int64) time.Duration { return time.Duration(ticks) * (time.Second / ClockTicks) }

// Ticks is a process's CPU time in ticks: utime + stime, and with children
// also cutime + cstime (the CPU of the children it reaped: PostgreSQL's
// backends that exited).
func Ticks(pid int, children bool) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("proccpu: %w", err)
	}
	t, _, err := parseStat(string(b), children)
	return t, err
}

// parseStat reads a /proc/<pid>/stat line: the CPU ticks and the parent's
// pid (field 4). The command name (field 2) is in parentheses and may hold
// spaces and parentheses, so fields count from its last ')'.
func parseStat(line string, children bool) (ticks int64, ppid int, err error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("proccpu: /proc stat line without a command: %.80q", line)
	}
	f := strings.Fields(line[i+1:]) // f[0] is field 3 (state)
	if len(f) < 15 {
		return 0, 0, fmt.Errorf("proccpu: /proc stat line too short: %.80q", line)
	}
	if ppid, err = strconv.Atoi(f[1]); err != nil {
		return 0, 0, fmt.Errorf("proccpu: /proc stat parent %q: %w", f[1], err)
	}
	last := 13 // fields 14 utime, 15 stime (f[11], f[12]); 16 cutime, 17 cstime
	if children {
		last = 15
	}
	for _, s := range f[11:last] {
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("proccpu: /proc stat field %q: %w", s, err)
		}
		ticks += v
	}
	return ticks, ppid, nil
}

// Server is the CPU ticks of the PostgreSQL server whose postmaster is pm:
// the postmaster's own with the backends it reaped, plus every live child's.
func Server(pm int) (int64, error) {
	total, err := Ticks(pm, true)
	if err != nil {
		return 0, err
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("proccpu: %w", err)
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // ended meanwhile: its CPU is in the postmaster's cutime
		}
		if t, parent, err := parseStat(string(b), false); err == nil && parent == pm && pid != pm {
			total += t
		}
	}
	return total, nil
}

// Postmaster is the pid in dataDir's postmaster.pid: an error when the
// server does not run on this machine (a database elsewhere, or a data
// directory this process may not read).
func Postmaster(dataDir string) (int, error) {
	b, err := os.ReadFile(filepath.Join(dataDir, "postmaster.pid"))
	if err != nil {
		return 0, fmt.Errorf("proccpu: %w", err)
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return 0, fmt.Errorf("proccpu: postmaster.pid %q: %w", line, err)
	}
	return pid, nil
}

// ServerOf is the CPU time of the PostgreSQL server whose data directory
// is dataDir (Postmaster, then Server): an error when it does not run on
// this machine.
func ServerOf(dataDir string) (time.Duration, error) {
	pm, err := Postmaster(dataDir)
	if err != nil {
		return 0, err
	}
	t, err := Server(pm)
	if err != nil {
		return 0, err
	}
	return Duration(t), nil
}
