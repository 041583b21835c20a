package soak

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/emdhub/hub/internal/procs"
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
		return fmt.Errorf("soak: %s not ready: %w; log %s:\n%s", p.name, err, p.logPath, procs.Tail(p.logPath, 2000))
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

// httpReady waits for url to answer 200 (procs.WaitHTTP).
func httpReady(url string) func(ctx context.Context) error {
	return func(ctx context.Context) error { return procs.WaitHTTP(ctx, url) }
}

func logPath(dir, name string) string { return filepath.Join(dir, name+".log") }
