package proccpu

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

func TestParseStat(t *testing.T) {
	// A command with a space and a ')' in it: fields count from the last ')'.
	line := "1234 (post gres) x) S 77 1234 1234 0 -1 4194560 100 0 0 0 250 75 30 12 20 0 1 0 42 0 0"
	for _, tc := range []struct {
		children bool
		want     int64
	}{{false, 325}, {true, 367}} {
		got, ppid, err := parseStat(line, tc.children)
		if err != nil || got != tc.want || ppid != 77 {
			t.Errorf("parseStat(children=%v) = %d, %d, %v; want %d, 77", tc.children, got, ppid, err, tc.want)
		}
	}
	for _, bad := range []string{"", "1234 no-paren S 1", "1 (x) S 1 2", "1 (x) S p 1 1 0 -1 4 1 0 0 0 2 7 3 1 2"} {
		if _, _, err := parseStat(bad, false); err == nil || !strings.Contains(err.Error(), "/proc stat") {
			t.Errorf("parseStat(%q) = %v, want an error", bad, err)
		}
	}
}

// TestServerCountsChildren: this test process stands in for a postmaster;
// its CPU grows when it works, and Server adds its live children (none
// here) to its own.
func TestServerCountsChildren(t *testing.T) {
	pid := os.Getpid()
	before, err := Server(pid)
	if err != nil {
		t.Fatal(err)
	}
	own, err := Ticks(pid, true)
	if err != nil {
		t.Fatal(err)
	}
	if before > own+1 || before < 0 {
		t.Fatalf("Server(%d) = %d ticks, its own %d: no children to add", pid, before, own)
	}
	x := 0
	for i := 0; i < 300_000_000; i++ { // ~0.1–0.3 s of CPU
		x += i % 7
	}
	after, err := Server(pid)
	if err != nil {
		t.Fatal(err)
	}
	if after <= before || x == 0 {
		t.Fatalf("CPU did not grow: %d → %d ticks", before, after)
	}
	if _, err := Ticks(1<<30, false); err == nil {
		t.Fatal("Ticks of a pid that does not exist: no error")
	}
}

func TestPostmaster(t *testing.T) {
	dir := t.TempDir()
	if _, err := Postmaster(dir); err == nil {
		t.Fatal("no postmaster.pid: no error")
	}
	if err := os.WriteFile(filepath.Join(dir, "postmaster.pid"), []byte(strconv.Itoa(4321)+"\n/var/lib/pg\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if pid, err := Postmaster(dir); err != nil || pid != 4321 {
		t.Fatalf("Postmaster = %d, %v; want 4321", pid, err)
	}
	// ServerOf a data directory whose postmaster is this process: its CPU.
	if err := os.WriteFile(filepath.Join(dir, "postmaster.pid"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	lo, _ := Server(os.Getpid())
	d, err := ServerOf(dir)
	hi, _ := Server(os.Getpid())
	if err != nil || d < Duration(lo) || d > Duration(hi) {
		t.Fatalf("ServerOf(this process) = %v, %v; want between %v and %v", d, err, Duration(lo), Duration(hi))
	}
	if _, err := ServerOf(t.TempDir()); err == nil {
		t.Fatal("ServerOf a directory without postmaster.pid: no error")
	}
	if got := Duration(250); got.Milliseconds() != 2500 {
		t.Fatalf("Duration(250) = %v", got)
	}
}
