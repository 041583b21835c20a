package cli

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/app"
	"github.com/emdhub/hub/internal/config"
	"github.com/emdhub/hub/internal/kinds/kindstest"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/testdb"
)

// TestKindsCommands drives `hub kinds` against a hub serving real HTTP: a
// bundle directory is uploaded and put in force, listed, a bundle whose
// sample fails is refused with the sample and rule printed (exit 1), the
// version is activated again (no change) and rolled back to the built-in
// set; without an operator key nothing is sent (exit 2).
func TestKindsCommands(t *testing.T) {
	pool := testdb.Pool(t)
	caDir := t.TempDir()
	if err := semdgen.WriteTestCA(caDir); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(func(k string) string {
		if k == "HUB_TRUSTED_CA_DIR" {
			return caDir
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.Build(cfg, slog.New(slog.NewTextHandler(io.Discard, nil)), pool)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.API.Handler())
	defer srv.Close()
	key, err := a.Store.CreateOperator(context.Background(), "дежурный")
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("HUB_URL", srv.URL)
	t.Setenv("HUB_OPERATOR_KEY", key)

	dir := t.TempDir()
	write := func(name string, b []byte) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("121.sch", kindstest.StrictSchematron("121"))
	write("samples/ok.xml", kindstest.Sample("121", kindstest.Prefix+"1", 1))
	badZip := filepath.Join(t.TempDir(), "bad.zip")
	if err := os.WriteFile(badZip, kindstest.Bundle("121", kindstest.StrictSchematron("121"), kindstest.Sample("121", "plain", 2)), 0o644); err != nil {
		t.Fatal(err)
	}

	run := func(args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		code := Run(context.Background(), append([]string{"kinds"}, args...), &out, &errb)
		return code, out.String(), errb.String()
	}
	steps := []struct {
		args    []string
		code    int
		stdout  string
		stderr  string
		inForce int
	}{
		{[]string{"upload", "-kind", "121", "-note", "ids MSE-", dir}, 0, "uploaded kind 121 version 1 (active", "", 1},
		{[]string{"list"}, 0, "ids MSE-", "", 1},
		{[]string{"upload", "-kind", "121", badZip}, 1, "", "KIND_SAMPLE_FAILED samples/1.xml " + kindstest.Rule, 1},
		{[]string{"activate", "-kind", "121", "-version", "1"}, 0, "kind 121 version 1 is active", "", 1},
		{[]string{"activate", "-kind", "121", "-version", "7"}, 1, "", "404 NOT_FOUND", 1},
		{[]string{"rollback", "-kind", "121"}, 0, "rolled back to the built-in set", "", 0},
		{[]string{"rollback", "-kind", "121"}, 1, "", "409 KIND_NOT_ACTIVE", 0},
		{[]string{"list", "-kind", "121"}, 0, "superseded", "", 0},
		{[]string{"upload", "-kind", "121", "-key", "", dir}, 2, "", "no operator key", 0},
		{[]string{"frobnicate"}, 2, "", "unknown subcommand", 0},
	}
	for _, st := range steps {
		code, out, errOut := run(st.args...)
		if code != st.code || !strings.Contains(out, st.stdout) || !strings.Contains(errOut, st.stderr) {
			t.Fatalf("hub kinds %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(st.args, " "), code, out, errOut)
		}
		if v := a.Kinds.Lookup("121").Version; v != st.inForce {
			t.Fatalf("after hub kinds %s: version %d in force, want %d", strings.Join(st.args, " "), v, st.inForce)
		}
	}
	if n := 0; pool.QueryRow(context.Background(), `SELECT count(*) FROM audit_log WHERE action LIKE 'kind.%' AND actor_name = 'дежурный'`).Scan(&n) != nil || n != 2 {
		t.Fatalf("audit rows of the operator's kind changes: %d, want 2 (upload, rollback)", n)
	}
}
