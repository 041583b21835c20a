package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr != ":8080" || c.MaxBodyBytes != 16<<20 || c.MigrateOnStart || c.LogFormat != "json" || c.ShutdownTimeout != 15*time.Second {
		t.Fatalf("defaults: %+v", c)
	}
}

func TestLoadValues(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "url")
	if err := os.WriteFile(f, []byte("postgres://x@y/z\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := Load(env(map[string]string{"DATABASE_URL_FILE": f, "HUB_MAX_BODY_BYTES": "2048", "HUB_MIGRATE_ON_START": "true", "HUB_LOG_LEVEL": "debug"}))
	if err != nil {
		t.Fatal(err)
	}
	if c.DatabaseURL != "postgres://x@y/z" || c.MaxBodyBytes != 2048 || !c.MigrateOnStart || c.LogLevel.String() != "DEBUG" {
		t.Fatalf("values: %+v", c)
	}
}

func TestLoadErrors(t *testing.T) {
	for _, tt := range []map[string]string{
		{"HUB_MAX_BODY_BYTES": "lots"}, {"HUB_MAX_BODY_BYTES": "10"}, {"HUB_LOG_FORMAT": "xml"},
		{"HUB_SHUTDOWN_TIMEOUT": "soon"}, {"DATABASE_URL_FILE": "/nonexistent/file"}, {"HUB_LOG_LEVEL": "loud"},
	} {
		if _, err := Load(env(tt)); err == nil {
			t.Errorf("Load(%v) accepted a bad value", tt)
		}
	}
}

func TestReadmeListsEveryOption(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range Options() {
		if !strings.Contains(string(b), "`"+o.Name+"`") {
			t.Errorf("README.md does not document %s", o.Name)
		}
	}
}
