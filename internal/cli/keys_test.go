package cli

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/db"
	"github.com/emdhub/hub/internal/store"
	"github.com/emdhub/hub/internal/testdb"
)

func run(t *testing.T, args ...string) string {
	t.Helper()
	var out, errOut bytes.Buffer
	if code := Run(context.Background(), args, &out, &errOut); code != 0 {
		t.Fatalf("hub %s: exit %d\n%s%s", strings.Join(args, " "), code, out.String(), errOut.String())
	}
	return out.String()
}

var uuidRE = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// An operator on the command line lists, rotates and revokes a system's
// keys; each change takes effect at once and is audited as "cli".
func TestKeyCommands(t *testing.T) {
	url := testdb.URL(t)
	t.Setenv("DATABASE_URL", url)
	ctx := context.Background()
	pool, err := db.Open(ctx, url, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	st := store.New(pool)

	reg := run(t, "register-system", "-org-oid", "1.2.643.5.1.13.13.12.2.77.7973", "-org-name", "ГКБ", "-system", "МИС")
	sysID := uuidRE.FindString(reg[strings.Index(reg, "system"):])
	oldKey := regexp.MustCompile(`hub_[A-Za-z0-9_-]+`).FindString(reg)
	if sysID == "" || oldKey == "" {
		t.Fatalf("register-system printed:\n%s", reg)
	}
	list := run(t, "list-keys", "-system", sysID)
	keyID := uuidRE.FindString(list)
	if keyID == "" || !strings.Contains(list, "active") || !strings.Contains(reg, keyID) {
		t.Fatalf("list-keys:\n%s", list)
	}

	rot := run(t, "rotate-key", "-key", keyID)
	newKey := regexp.MustCompile(`hub_[A-Za-z0-9_-]+`).FindString(rot)
	if newKey == "" {
		t.Fatalf("rotate-key:\n%s", rot)
	}
	if _, err := st.Authenticate(ctx, oldKey); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the rotated key still authenticates: %v", err)
	}
	if _, err := st.Authenticate(ctx, newKey); err != nil {
		t.Fatalf("the new key: %v", err)
	}
	newID := uuidRE.FindString(rot[strings.Index(rot, "new key"):])
	run(t, "revoke-key", "-key", newID)
	if _, err := st.Authenticate(ctx, newKey); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the revoked key still authenticates: %v", err)
	}
	if list := run(t, "list-keys", "-system", sysID); strings.Count(list, "revoked") != 2 {
		t.Fatalf("list-keys after revocations:\n%s", list)
	}

	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM audit_log WHERE actor = 'cli' AND actor_key_id IS NULL AND action IN ('system.register', 'key.rotate', 'key.revoke')`).Scan(&n); err != nil || n != 3 {
		t.Fatalf("audit rows by the CLI: %d (%v)", n, err)
	}
	var out, errOut bytes.Buffer
	if code := Run(ctx, []string{"rotate-key", "-key", keyID}, &out, &errOut); code != 1 || !strings.Contains(errOut.String(), "already rotated") {
		t.Fatalf("rotating a revoked key: %d %s", code, errOut.String())
	}
}
