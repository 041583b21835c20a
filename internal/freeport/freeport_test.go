package freeport

import (
	"net"
	"strconv"
	"testing"
)

// TestPortBelowEphemeralRange: the port is free, listenable, and (where the
// kernel's range leaves room) below the ephemeral range, where no outgoing
// connection can take it between a process's death and its restart.
func TestPortBelowEphemeralRange(t *testing.T) {
	start := ephemeralStart()
	for range 20 {
		p, err := Port()
		if err != nil {
			t.Fatal(err)
		}
		if start > low+1000 && (p < low || p >= start) {
			t.Fatalf("port %d outside [%d, %d)", p, low, start)
		}
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
		if err != nil {
			t.Fatalf("port %d is not free: %v", p, err)
		}
		l.Close()
	}
}

// TestFreeRefusesATakenPort: a port somebody listens on is not free.
func TestFreeRefusesATakenPort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	if free(l.Addr().(*net.TCPAddr).Port) {
		t.Fatal("a port in use was called free")
	}
}
