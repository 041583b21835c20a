// Package procs starts the hub's own binaries as real processes for the
// tools that measure or shake whole deployments (`hub soak`, `hub
// loadgen`): the simulators on free loopback ports, and waiting for a
// process's HTTP readiness.
package procs

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/emdhub/hub/internal/freeport"
)

// Peers are the simulated peers `hub sim` serves, each on its own port.
var Peers = []string{"mse", "zags", "epgu", "provider", "policy"}

// StartSim runs `bin sim` on free loopback ports with the fault spec
// (empty: none) and the bureau's result delay, logging to logPath, and
// returns each peer's base URL (http://host:port, read from what it
// prints) and a channel closed when the process exits. The process dies
// with its parent (Pdeathsig).
func StartSim(ctx context.Context, bin, faults, resultDelay, logPath string) (*exec.Cmd, map[string]string, <-chan struct{}, error) {
	args := []string{"sim", "-result-delay", resultDelay}
	if faults != "" {
		args = append(args, "-faults", faults)
	}
	for _, peer := range Peers {
		args = append(args, "-"+peer+"-addr", "127.0.0.1:0")
	}
	cmd := exec.Command(bin, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, nil, nil, err
	}
	cmd.Stderr = logf
	out, err := cmd.StdoutPipe()
	if err != nil {
		logf.Close()
		return nil, nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, nil, nil, fmt.Errorf("procs: start hub sim: %w", err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logf.Close(); close(exited) }()
	urls := map[string]string{}
	lines := make(chan string)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, out)
	}()
	timeout := time.After(30 * time.Second)
	for len(urls) < len(Peers) {
		select {
		case l, ok := <-lines:
			if !ok {
				return cmd, nil, nil, fmt.Errorf("procs: hub sim exited before listening; log %s:\n%s", logPath, Tail(logPath, 2000))
			}
			// "mse       http://127.0.0.1:40123/soap   (control: …)"
			if f := strings.Fields(l); len(f) >= 2 && strings.HasSuffix(f[1], "/soap") {
				urls[f[0]] = strings.TrimSuffix(f[1], "/soap")
			}
		case <-timeout:
			_ = cmd.Process.Kill()
			return cmd, nil, nil, fmt.Errorf("procs: hub sim did not report its ports in 30s; log %s", logPath)
		case <-ctx.Done():
			_ = cmd.Process.Kill()
			return cmd, nil, nil, ctx.Err()
		}
	}
	go func() {
		for range lines {
		}
	}()
	return cmd, urls, exited, nil
}

// FreeAddr returns a loopback address with a port free right now, below
// the kernel's ephemeral range (freeport.Port), so a process restarted on
// it does not find it taken by an outgoing connection.
func FreeAddr() (string, error) {
	p, err := freeport.Port()
	if err != nil {
		return "", err
	}
	return net.JoinHostPort("127.0.0.1", strconv.Itoa(p)), nil
}

// WaitHTTP polls url every 50 ms until it answers 200 or ctx ends; the
// error then says what the last try saw.
func WaitHTTP(ctx context.Context, url string) error {
	var last error
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("%s: HTTP %d", url, res.StatusCode)
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Tail is the last n bytes of a log file, for error messages.
func Tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}
