// Package config reads the hub's one Config from the environment.
//
// Every option is declared once in the options table below with its
// variable name, default and description; the README's configuration table
// is that same list (TestReadmeListsEveryOption keeps them in step). Secrets
// may instead be given in a file named by <NAME>_FILE.
package config

import (
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is the hub's runtime configuration.
type Config struct {
	// DatabaseURL is the PostgreSQL URL (pgx syntax; pool_max_conns etc. allowed).
	// Empty: `hub serve` refuses to start; `hub demo` starts a private cluster.
	DatabaseURL string
	// ListenAddr is the HTTP API address. Default ":8080".
	ListenAddr string
	// MaxBodyBytes caps a request body; larger requests get 413. Default 16 MiB.
	MaxBodyBytes int64
	// MigrateOnStart makes `hub serve` apply migrations before serving. Default false.
	MigrateOnStart bool
	// LogLevel is debug, info, warn or error. Default info.
	LogLevel slog.Level
	// LogFormat is json (production) or text (humans). Default json.
	LogFormat string
	// ShutdownTimeout bounds graceful shutdown of HTTP and workers. Default 15s.
	ShutdownTimeout time.Duration
	// ReadHeaderTimeout bounds reading request headers (slowloris). Default 10s.
	ReadHeaderTimeout time.Duration
	// RequestTimeout bounds one API request's work. Default 30s.
	RequestTimeout time.Duration
}

type option struct {
	name, def, help string
	secret          bool
	set             func(c *Config, v string) error
}

// Options lists every variable the hub reads, for docs and tests.
func Options() []struct{ Name, Default, Help string } {
	var out []struct{ Name, Default, Help string }
	for _, o := range options {
		out = append(out, struct{ Name, Default, Help string }{o.name, o.def, o.help})
	}
	return out
}

var options = []option{
	{name: "DATABASE_URL", def: "", secret: true, help: "PostgreSQL URL; `hub demo` starts a private cluster when unset",
		set: func(c *Config, v string) error { c.DatabaseURL = v; return nil }},
	{name: "HUB_LISTEN_ADDR", def: ":8080", help: "HTTP API listen address",
		set: func(c *Config, v string) error { c.ListenAddr = v; return nil }},
	{name: "HUB_MAX_BODY_BYTES", def: "16777216", help: "largest accepted request body in bytes (413 above)",
		set: func(c *Config, v string) (err error) {
			c.MaxBodyBytes, err = strconv.ParseInt(v, 10, 64)
			if err == nil && c.MaxBodyBytes < 1024 {
				err = fmt.Errorf("must be at least 1024")
			}
			return err
		}},
	{name: "HUB_MIGRATE_ON_START", def: "false", help: "apply migrations when `hub serve` starts",
		set: func(c *Config, v string) (err error) { c.MigrateOnStart, err = strconv.ParseBool(v); return err }},
	{name: "HUB_LOG_LEVEL", def: "info", help: "debug, info, warn or error",
		set: func(c *Config, v string) error { return c.LogLevel.UnmarshalText([]byte(v)) }},
	{name: "HUB_LOG_FORMAT", def: "json", help: "json or text",
		set: func(c *Config, v string) error {
			if v != "json" && v != "text" {
				return fmt.Errorf("must be json or text")
			}
			c.LogFormat = v
			return nil
		}},
	{name: "HUB_SHUTDOWN_TIMEOUT", def: "15s", help: "graceful shutdown budget (HTTP, then workers, then pool)",
		set: func(c *Config, v string) (err error) { c.ShutdownTimeout, err = time.ParseDuration(v); return err }},
	{name: "HUB_READ_HEADER_TIMEOUT", def: "10s", help: "time allowed to read request headers",
		set: func(c *Config, v string) (err error) { c.ReadHeaderTimeout, err = time.ParseDuration(v); return err }},
	{name: "HUB_REQUEST_TIMEOUT", def: "30s", help: "time allowed for one API request",
		set: func(c *Config, v string) (err error) { c.RequestTimeout, err = time.ParseDuration(v); return err }},
}

// Load reads the configuration from the environment through getenv
// (os.Getenv in production, a map in tests).
func Load(getenv func(string) string) (*Config, error) {
	c := &Config{}
	var errs []string
	for _, o := range options {
		v := strings.TrimSpace(getenv(o.name))
		if o.secret {
			if f := getenv(o.name + "_FILE"); f != "" {
				b, err := os.ReadFile(f)
				if err != nil {
					errs = append(errs, fmt.Sprintf("%s_FILE: %v", o.name, err))
					continue
				}
				v = strings.TrimSpace(string(b))
			}
		}
		if v == "" {
			v = o.def
		}
		if v == "" {
			continue
		}
		if err := o.set(c, v); err != nil {
			errs = append(errs, fmt.Sprintf("%s=%q: %v", o.name, v, err))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("config: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

// Logger builds the slog logger the configuration asks for.
func (c *Config) Logger() *slog.Logger {
	opts := &slog.HandlerOptions{Level: c.LogLevel}
	if c.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}
