package kinds_test

import (
	"context"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/kinds"
	"github.com/emdhub/hub/internal/kinds/kindstest"
	"github.com/emdhub/hub/internal/schematron"
	"github.com/emdhub/hub/internal/store"
	"github.com/emdhub/hub/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func newRegistry(t testing.TB, pool *pgxpool.Pool) *kinds.Registry {
	t.Helper()
	base, err := schematron.OfficialSet()
	if err != nil {
		t.Fatal(err)
	}
	r := kinds.NewRegistry(base, pool, store.New(pool), quiet)
	if err := r.Reload(context.Background()); err != nil {
		t.Fatal(err)
	}
	return r
}

// eventually waits up to 10 s for cond.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("not within 10 s: %s", what)
}

var cliActor = store.Actor{Kind: store.ActorCLI, Name: "test"}

func states(t testing.TB, r *kinds.Registry, kind string) string {
	t.Helper()
	vs, err := r.List(context.Background(), kind)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, v := range vs {
		out = append(out, v.State)
	}
	return strings.Join(out, ",") // newest first
}

// TestVersionsActivateRollback walks a kind through uploads, activation
// and rollbacks: each step changes which version is in force in this
// process at once, keeps one version active at most, and writes its audit
// row; a refused upload stores and audits nothing.
func TestVersionsActivateRollback(t *testing.T) {
	ctx := context.Background()
	pool := testdb.Pool(t)
	r := newRegistry(t, pool)
	good := kindstest.Sample("121", kindstest.Prefix+"1", 1)
	strict := kindstest.Bundle("121", kindstest.StrictSchematron("121"), good)
	official := kindstest.Bundle("121", kindstest.Official("121"), good)
	builtIn := r.Lookup("121").Schematron

	if _, err := r.Upload(ctx, cliActor, "121", kindstest.Bundle("121", kindstest.StrictSchematron("121"), kindstest.Sample("121", "x", 2)), "", true); codeOf(err) != codes.KindSampleFailed {
		t.Fatalf("failing sample: %v", err)
	}
	if s := states(t, r, ""); s != "" {
		t.Fatalf("a refused upload stored %s", s)
	}
	steps := []struct {
		name    string
		do      func() error
		states  string // newest first
		inForce int    // 0: built in
	}{
		{"upload strict", func() error { _, err := r.Upload(ctx, cliActor, "121", strict, "strict ids", true); return err }, "active", 1},
		{"upload official, not activated", func() error { _, err := r.Upload(ctx, cliActor, "121", official, "", false); return err }, "inactive,active", 1},
		{"activate 2", func() error { _, err := r.Activate(ctx, cliActor, "121", 2); return err }, "active,superseded", 2},
		{"activate 2 again: nothing changes", func() error { _, err := r.Activate(ctx, cliActor, "121", 2); return err }, "active,superseded", 2},
		{"rollback to 1", func() error { _, err := r.Rollback(ctx, cliActor, "121"); return err }, "superseded,active", 1},
		{"rollback to built in", func() error { _, err := r.Rollback(ctx, cliActor, "121"); return err }, "superseded,superseded", 0},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		if s := states(t, r, "121"); s != st.states {
			t.Fatalf("%s: states %s, want %s", st.name, s, st.states)
		}
		set := r.Lookup("121")
		if set.Version != st.inForce {
			t.Fatalf("%s: version %d in force, want %d", st.name, set.Version, st.inForce)
		}
		if (st.inForce == 0) != (set.Schematron == builtIn) {
			t.Fatalf("%s: built-in schematron in force: %t", st.name, set.Schematron == builtIn)
		}
	}
	if _, err := r.Rollback(ctx, cliActor, "121"); codeOf(err) != codes.KindNotActive {
		t.Fatalf("rollback with nothing active: %v", err)
	}
	if _, err := r.Activate(ctx, cliActor, "121", 9); codeOf(err) != codes.NotFound {
		t.Fatalf("activate a version that is not there: %v", err)
	}
	rows, err := pool.Query(ctx, `SELECT action, details->>'kind', actor, actor_name FROM audit_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var action, kind, actor, name string
		if err := rows.Scan(&action, &kind, &actor, &name); err != nil {
			t.Fatal(err)
		}
		if kind != "121" || actor != "cli" || name != "test" {
			t.Fatalf("audit row %s: kind %s, actor %s %s", action, kind, actor, name)
		}
		got = append(got, action)
	}
	if want := "kind.upload kind.upload kind.activate kind.rollback kind.rollback"; strings.Join(got, " ") != want {
		t.Fatalf("audit %q, want %q", strings.Join(got, " "), want)
	}
}

// TestOtherProcessFollows: a second registry on the same database (as in
// another hub process) follows every change through NOTIFY alone (its poll
// is an hour), including after its LISTEN connection is killed; and a
// change that sent no notification at all is picked up by the poll.
func TestOtherProcessFollows(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pool := testdb.Pool(t)
	writer := newRegistry(t, pool)
	listener := newRegistry(t, pool)
	poller := newRegistry(t, pool)
	go listener.Run(ctx, time.Hour)
	go poller.Run(ctx, 200*time.Millisecond)
	good := kindstest.Sample("121", kindstest.Prefix+"1", 1)

	listening := func() bool {
		var n int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN hub_kinds'`).Scan(&n)
		return n >= 2
	}
	eventually(t, "both registries listen", listening)
	if _, err := writer.Upload(ctx, cliActor, "121", kindstest.Bundle("121", kindstest.StrictSchematron("121"), good), "", true); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the listener has version 1", func() bool { return listener.Lookup("121").Version == 1 })

	// A change nobody was told of: only polling finds it.
	if _, err := pool.Exec(ctx, `INSERT INTO kind_bundles (kind, version, sha256, bundle, uploaded_by, state)
		SELECT '58', 1, sha256, $1, 'test', 'active' FROM kind_bundles WHERE kind = '121'`,
		kindstest.Bundle("58", kindstest.StrictSchematron("58"), kindstest.Sample("58", kindstest.Prefix+"1", 1))); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the poller has kind 58 version 1", func() bool { return poller.Lookup("58").Version == 1 })
	if listener.Lookup("58").Version != 0 {
		t.Fatal("the listener reloaded without a notification: the test cannot tell LISTEN from polling")
	}

	// Kill the LISTEN connections: the poller reconnects at its next poll;
	// both still follow a notified change.
	if _, err := pool.Exec(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = 'LISTEN hub_kinds'`); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the poller listens again", func() bool {
		var n int
		_ = pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity WHERE query = 'LISTEN hub_kinds'`).Scan(&n)
		return n >= 1
	})
	if _, err := writer.Rollback(ctx, cliActor, "121"); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the poller is back on the built-in 121", func() bool { return poller.Lookup("121").Version == 0 })
}
