// Package freeport picks loopback ports for processes that are started,
// killed and started again on the same port (the soak's hub processes, a
// private PostgreSQL restarted in place).
//
// Why not simply listen on port 0: the kernel hands out port-0 listeners
// from the same ephemeral range it uses for the local end of outgoing
// connections. Once such a process dies, any outgoing connection of the
// machine (a hub's pool to PostgreSQL, an HTTP client) may take its port,
// and the restart fails with "bind: address already in use" — the soak
// saw exactly that under heavy load. A port below the ephemeral range is
// never taken by an outgoing connection, so it stays free for the restart.
package freeport

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// low is the bottom of the range Port draws from (above the well-known and
// commonly configured service ports).
const low = 20000

// Port returns a loopback TCP port that is free now and lies below the
// kernel's ephemeral range (net.ipv4.ip_local_port_range), so no outgoing
// connection will take it later. When that range leaves no room below it
// (or cannot be read), it falls back to a port-0 listener's port.
func Port() (int, error) {
	if hi := ephemeralStart(); hi > low+1000 {
		for range 64 {
			p := low + rand.IntN(hi-low)
			if free(p) {
				return p, nil
			}
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("freeport: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// free tells whether 127.0.0.1:p can be listened on now.
func free(p int) bool {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
	if err != nil {
		return false
	}
	l.Close()
	return true
}

// ephemeralStart is the first port of the kernel's ephemeral range, 0 when
// it cannot be read (not Linux).
func ephemeralStart() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) < 1 {
		return 0
	}
	n, _ := strconv.Atoi(f[0])
	return n
}
