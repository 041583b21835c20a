package soak

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proc is one real process of the run (a hub process or the simulators),
// restarted at once when the soak kills it and — counted as a finding —
// when it exits by itself.
type proc struct {
	name    string
	bin     string
	args    []string
	env     []string
	logPath string
	ready   func(ctx context.Context) error // nil: started is ready
	say     func(format string, a ...any)

	mu         sync.Mutex
	cmd        *exec.Cmd
	exited     chan struct{}
	expectExit bool
	stopping   bool
	unexpected []string // why it exited without being killed
	starts     int
}

// start launches the process and waits until it is ready.
func (p *proc) start(ctx context.Context) error {
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("soak: %s log: %w", p.name, err)
	}
	cmd := exec.Command(p.bin, p.args...)
	cmd.Env = append(os.Environ(), p.env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	// The children die with the soak, however it ends.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("soak: start %s: %w", p.name, err)
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.exited, p.expectExit = cmd, exited, false
	p.starts++
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		logf.Close()
		close(exited)
		p.mu.Lock()
		unexpected := !p.expectExit && !p.stopping
		if unexpected {
			p.unexpected = append(p.unexpected, fmt.Sprintf("pid %d: %v", cmd.Process.Pid, err))
		}
		p.mu.Unlock()
		if unexpected {
			p.say("✗ %s (pid %d) exited by itself: %v — restarting it; see %s", p.name, cmd.Process.Pid, err, p.logPath)
			time.Sleep(500 * time.Millisecond)
			if err := p.start(context.WithoutCancel(ctx)); err != nil {
				p.say("✗ %s: restart failed: %v", p.name, err)
			}
		}
	}()
	if p.ready == nil {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	if err := p.ready(rctx); err != nil {
		return fmt.Errorf("soak: %s not ready: %w; log %s:\n%s", p.name, err, p.logPath, tail(p.logPath, 2000))
	}
	return nil
}

func (p *proc) pid() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.cmd == nil || p.cmd.Process == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

// kill sends SIGKILL, waits for the process to go, and starts it again at once.
func (p *proc) kill(ctx context.Context) (oldPID, newPID int, ready time.Duration, err error) {
	p.mu.Lock()
	cmd, exited := p.cmd, p.exited
	p.expectExit = true
	p.mu.Unlock()
	oldPID = cmd.Process.Pid
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return oldPID, 0, 0, fmt.Errorf("soak: kill %s: %w", p.name, err)
	}
	<-exited
	t := time.Now()
	if err := p.start(ctx); err != nil {
		return oldPID, 0, 0, err
	}
	return oldPID, p.pid(), time.Since(t), nil
}

// stop ends the process gracefully (SIGTERM, then SIGKILL after 10 s).
func (p *proc) stop() {
	p.mu.Lock()
	p.stopping = true
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

func (p *proc) unexpectedExits() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.unexpected...)
}

// httpReady waits until url answers 200.
func httpReady(url string) func(ctx context.Context) error {
	return func(ctx context.Context) error {
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
}

// startSim runs `hub sim` on free loopback ports with the fault spec and
// returns each peer's base URL (http://host:port), read from what it
// prints, and a channel closed when the process exits.
func startSim(ctx context.Context, bin, faults, resultDelay, logPath string) (*exec.Cmd, map[string]string, <-chan struct{}, error) {
	args := []string{"sim", "-result-delay", resultDelay, "-faults", faults}
	for _, peer := range []string{"mse", "zags", "epgu", "provider", "policy"} {
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
		return nil, nil, nil, fmt.Errorf("soak: start hub sim: %w", err)
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
	for len(urls) < 5 {
		select {
		case l, ok := <-lines:
			if !ok {
				return cmd, nil, nil, fmt.Errorf("soak: hub sim exited before listening; log %s:\n%s", logPath, tail(logPath, 2000))
			}
			// "mse       http://127.0.0.1:40123/soap   (control: …)"
			f := strings.Fields(l)
			if len(f) >= 2 && strings.HasSuffix(f[1], "/soap") {
				urls[f[0]] = strings.TrimSuffix(f[1], "/soap")
			}
		case <-timeout:
			_ = cmd.Process.Kill()
			return cmd, nil, nil, fmt.Errorf("soak: hub sim did not report its ports in 30s; log %s", logPath)
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

// freeAddr returns a loopback address with a port free right now.
func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func tail(path string, n int) string {
	b, _ := os.ReadFile(path)
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return strings.TrimSpace(string(b))
}

func logPath(dir, name string) string { return filepath.Join(dir, name+".log") }
