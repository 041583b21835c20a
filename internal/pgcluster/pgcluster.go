// Package pgcluster starts a private, throwaway PostgreSQL cluster from the
// server binaries installed on the machine (Debian: /usr/lib/postgresql/15/bin).
//
// The demo uses it when DATABASE_URL is unset, and tests use it when
// TEST_DATABASE_URL is unset, so a newcomer needs no database setup at all.
// initdb refuses to run as root, so when the process is root the cluster
// directory is handed to the "postgres" user and initdb and postgres run
// under that user's credentials (go-notes §5.3).
package pgcluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/emdhub/hub/internal/freeport"
)

// DefaultBinDir is where Debian installs the PostgreSQL 15 server binaries.
const DefaultBinDir = "/usr/lib/postgresql/15/bin"

// Options configure a throwaway cluster. The zero value is usable.
type Options struct {
	// BinDir holds initdb and postgres. Default: $HUB_PG_BIN or DefaultBinDir.
	BinDir string
	// Port to listen on, on 127.0.0.1. Default: a free port picked at start.
	Port int
	// Dir is the parent directory for the data directory. Default: a new temp dir,
	// removed by Stop.
	Dir string
	// Database is created after start. Default "hub".
	Database string
	// MaxConnections for the server. Default 200.
	MaxConnections int
	// CrashSafe keeps synchronous_commit on, so a transaction is in the WAL
	// the server has written before its commit is acknowledged. Without it a
	// server stopped in immediate mode (RestartImmediate: the server process
	// crashes, not the machine) may forget commits it already acknowledged —
	// fine for throwaway tests, wrong for a soak that counts lost flows.
	// fsync stays off unless Durable: the kernel's page cache outlives the server.
	CrashSafe bool
	// Durable runs the server as production does: fsync, synchronous_commit
	// and full_page_writes on, so a commit waits for its WAL to reach the
	// disk. Benchmarks use it by default (issue 16): figures measured with
	// fsync off say nothing about production. Implies CrashSafe.
	Durable bool
	// Preload is shared_preload_libraries ("pg_stat_statements" for a
	// profile of the statements a benchmark runs); empty: none.
	Preload string
}

// Cluster is a running private PostgreSQL server.
type Cluster struct {
	// URL connects as the superuser "postgres" to Database.
	URL string
	// AdminURL connects to the "postgres" maintenance database.
	AdminURL string
	Port     int

	dir     string
	ownDir  bool
	cmd     *exec.Cmd
	logPath string
	done    chan error
	bin     string   // the postgres binary
	args    []string // its arguments, the same on every launch
	cred    *syscall.Credential
}

// Start initialises and starts a cluster and creates the database. It returns
// once the server accepts connections.
func Start(ctx context.Context, o Options) (*Cluster, error) {
	if o.BinDir == "" {
		o.BinDir = os.Getenv("HUB_PG_BIN")
	}
	if o.BinDir == "" {
		o.BinDir = DefaultBinDir
	}
	if o.Database == "" {
		o.Database = "hub"
	}
	if o.MaxConnections == 0 {
		o.MaxConnections = 200
	}
	for _, b := range []string{"initdb", "postgres"} {
		p := filepath.Join(o.BinDir, b)
		if _, err := os.Stat(p); err != nil {
			return nil, fmt.Errorf("pgcluster: %s not found in %s (install postgresql-15 or set HUB_PG_BIN): %w", b, o.BinDir, err)
		}
	}
	c := &Cluster{done: make(chan error, 1)}
	if o.Dir == "" {
		d, err := os.MkdirTemp("", "hub-pg-")
		if err != nil {
			return nil, fmt.Errorf("pgcluster: temp dir: %w", err)
		}
		o.Dir, c.ownDir = d, true
	}
	c.dir = o.Dir
	cred, err := credential()
	if err != nil {
		c.cleanup()
		return nil, err
	}
	if cred != nil {
		if err := os.Chown(o.Dir, int(cred.Uid), int(cred.Gid)); err != nil {
			c.cleanup()
			return nil, fmt.Errorf("pgcluster: chown %s to postgres: %w", o.Dir, err)
		}
	}
	data := filepath.Join(o.Dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(o.BinDir, "initdb"),
		"-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	var out bytes.Buffer
	initdb.Stdout, initdb.Stderr = &out, &out
	if err := initdb.Run(); err != nil {
		c.cleanup()
		return nil, fmt.Errorf("pgcluster: initdb: %w: %s", err, strings.TrimSpace(out.String()))
	}
	port := o.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			c.cleanup()
			return nil, err
		}
	}
	c.Port = port
	c.logPath = filepath.Join(o.Dir, "postgres.log")
	// fsync off and friends unless Durable: a throwaway cluster trades
	// durability for speed.
	syncCommit, fsync := "off", "off"
	if o.CrashSafe || o.Durable {
		syncCommit = "on"
	}
	if o.Durable {
		fsync = "on"
	}
	c.bin, c.cred = filepath.Join(o.BinDir, "postgres"), cred
	c.args = []string{"-D", data,
		"-p", strconv.Itoa(port), "-k", o.Dir, "-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=" + fsync, "-c", "synchronous_commit=" + syncCommit, "-c", "full_page_writes=" + fsync,
		"-c", "max_connections=" + strconv.Itoa(o.MaxConnections), "-c", "shared_buffers=128MB"}
	if o.Preload != "" {
		c.args = append(c.args, "-c", "shared_preload_libraries="+o.Preload)
	}
	if err := c.launch(); err != nil {
		c.cleanup()
		return nil, err
	}

	c.AdminURL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	c.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", port, o.Database)
	if err := c.waitReady(ctx, 30*time.Second); err != nil {
		c.Stop()
		return nil, err
	}
	if err := CreateDatabase(ctx, c.AdminURL, o.Database); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

// launch starts the postmaster with the cluster's arguments, logging to
// the cluster's log file (appended, so a restart keeps the earlier log).
func (c *Cluster) launch() error {
	logf, err := os.OpenFile(c.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("pgcluster: log file: %w", err)
	}
	if c.cred != nil {
		_ = logf.Chown(int(c.cred.Uid), int(c.cred.Gid))
	}
	cmd := exec.Command(c.bin, c.args...)
	// Pdeathsig stops the server if this process dies without calling Stop
	// (a killed test binary must not leave clusters behind).
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: c.cred, Setpgid: true, Pdeathsig: syscall.SIGQUIT}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		return fmt.Errorf("pgcluster: start postgres: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait(); logf.Close() }()
	c.cmd, c.done = cmd, done
	return nil
}

// RestartImmediate stops the server as a crash would — immediate mode
// (SIGQUIT to the postmaster: no checkpoint, every connection cut at once,
// the same as pg_ctl stop -m immediate) — and starts it again at once on
// the same data directory and port. It returns when the server accepts
// connections again, i.e. after crash recovery replayed the WAL. Clients
// see their connections fail and must reconnect; committed transactions
// survive if the cluster was started CrashSafe.
func (c *Cluster) RestartImmediate(ctx context.Context) error {
	if c.cmd == nil || c.cmd.Process == nil {
		return fmt.Errorf("pgcluster: restart: the server is not running")
	}
	if err := c.cmd.Process.Signal(syscall.SIGQUIT); err != nil {
		return fmt.Errorf("pgcluster: immediate stop: %w", err)
	}
	select {
	case <-c.done:
	case <-time.After(15 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	if err := c.launch(); err != nil {
		return err
	}
	return c.waitReady(ctx, 60*time.Second)
}

// credential returns the postgres user's credentials when running as root,
// nil otherwise (then the cluster runs as the current user).
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgcluster: running as root needs a 'postgres' user (initdb refuses root): %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

// freePort picks the cluster's port below the kernel's ephemeral range
// (freeport.Port): an immediate restart reuses it, and a port-0 pick could
// meanwhile be taken by an outgoing connection.
func freePort() (int, error) {
	p, err := freeport.Port()
	if err != nil {
		return 0, fmt.Errorf("pgcluster: pick a port: %w", err)
	}
	return p, nil
}

func (c *Cluster) waitReady(ctx context.Context, max time.Duration) error {
	deadline := time.Now().Add(max)
	for {
		select {
		case err := <-c.done:
			c.done <- err
			return fmt.Errorf("pgcluster: postgres exited during start: %v; log: %s", err, c.Log())
		default:
		}
		if err := ping(ctx, c.AdminURL); err == nil {
			return nil
		} else if time.Now().After(deadline) {
			return fmt.Errorf("pgcluster: server not ready after %s: %w; log: %s", max, err, c.Log())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Log returns the tail of the server log, for error messages.
func (c *Cluster) Log() string {
	b, _ := os.ReadFile(c.logPath)
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return strings.TrimSpace(string(b))
}

// Stop shuts the server down (fast mode) and removes its directory if Start created it.
func (c *Cluster) Stop() {
	if c.cmd != nil && c.cmd.Process != nil {
		_ = c.cmd.Process.Signal(syscall.SIGINT) // fast shutdown
		select {
		case <-c.done:
		case <-time.After(15 * time.Second):
			_ = c.cmd.Process.Kill()
			<-c.done
		}
	}
	c.cleanup()
}

func (c *Cluster) cleanup() {
	if c.ownDir && c.dir != "" {
		_ = os.RemoveAll(c.dir)
	}
}
