package app_test

import (
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/app"
	"github.com/emdhub/hub/internal/config"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/testdb"
)

// TestReferenceBooksWiring: HUB_NSI_CHECK loads the bundled books plus
// HUB_NSI_DIR's and puts level 2 at the door; a directory that does not
// load stops the start; with the check off nothing is loaded.
func TestReferenceBooksWiring(t *testing.T) {
	caDir := t.TempDir()
	if err := semdgen.WriteTestCA(caDir); err != nil {
		t.Fatal(err)
	}
	pool := testdb.Pool(t)
	build := func(env map[string]string) (*app.App, error) {
		cfg, err := config.Load(func(k string) string {
			if k == "HUB_TRUSTED_CA_DIR" {
				return caDir
			}
			return env[k]
		})
		if err != nil {
			t.Fatal(err)
		}
		return app.Build(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), pool)
	}
	a, err := build(map[string]string{"HUB_NSI_CHECK": "false"})
	if err != nil || a.Books != nil || a.Intake.Level2 != nil {
		t.Fatalf("check off: %v, books %v", err, a.Books)
	}
	// A new version of НСИ 1040 in the directory, beside the bundled 2.1.
	dir := t.TempDir()
	const oid = "1.2.643.5.1.13.13.11.1040"
	os.WriteFile(filepath.Join(dir, oid+"_9.9.passport.json"), []byte(`{"oid":"`+oid+`","version":"9.9","fullName":"Пол пациента","keys":[{"field":"ID","type":"PRIMARY"}]}`), 0o644)
	os.WriteFile(filepath.Join(dir, oid+"_9.9.json"), []byte(`{"list":[[{"column":"ID","value":"4"}]]}`), 0o644)
	a, err = build(map[string]string{"HUB_NSI_CHECK": "true", "HUB_NSI_DIR": dir})
	if err != nil || a.Intake.Level2 == nil {
		t.Fatalf("check on: %v", err)
	}
	if b, _ := a.Books.Books().Lookup(oid, "9.9"); b == nil || !b.Has("4") {
		t.Fatal("the directory's version is not loaded")
	}
	if b, _ := a.Books.Books().Lookup(oid, "2.1"); b == nil || !b.Has("1") {
		t.Fatal("the bundled version is gone")
	}
	if _, err := build(map[string]string{"HUB_NSI_CHECK": "true", "HUB_NSI_DIR": filepath.Join(dir, "missing")}); err == nil || !strings.Contains(err.Error(), "HUB_NSI_DIR") {
		t.Fatalf("missing directory: %v", err)
	}

	// HUB_NSI_SETTINGS: a file that parses reaches the door's checker; bad
	// JSON, a missing file or an unknown mode stop the start.
	settings := filepath.Join(dir, "settings.json")
	os.WriteFile(settings, []byte(`[{"oid": "`+oid+`", "mode": "skip"}]`), 0o644)
	a, err = build(map[string]string{"HUB_NSI_CHECK": "true", "HUB_NSI_SETTINGS": settings})
	if err != nil || a.Intake.Level2.Settings[oid].Mode != "skip" || a.Intake.Level2.Settings["1.2.643.5.1.13.13.11.1005"].KeyColumn != "MKB_CODE" {
		t.Fatalf("settings file: %v", err)
	}
	for name, body := range map[string]string{"bad.json": `[{"oid": "` + oid + `", "mode": "skip"`, "mode.json": `[{"oid": "` + oid + `", "mode": "sometimes"}]`} {
		p := filepath.Join(dir, name)
		os.WriteFile(p, []byte(body), 0o644)
		if _, err := build(map[string]string{"HUB_NSI_CHECK": "true", "HUB_NSI_SETTINGS": p}); err == nil || !strings.Contains(err.Error(), "HUB_NSI_SETTINGS") {
			t.Fatalf("%s: %v", name, err)
		}
	}
	if _, err := build(map[string]string{"HUB_NSI_CHECK": "true", "HUB_NSI_SETTINGS": filepath.Join(dir, "none.json")}); err == nil {
		t.Fatal("a missing settings file was accepted")
	}
}
