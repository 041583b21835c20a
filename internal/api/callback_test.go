package api_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/codes"
)

func (b *bundle) callbackURL() *string {
	b.t.Helper()
	var u *string
	if err := b.app.Pool.QueryRow(context.Background(),
		`SELECT s.callback_url FROM information_systems s JOIN organizations o ON o.id = s.organization_id WHERE o.oid = $1`, b.orgA.OID).Scan(&u); err != nil {
		b.t.Fatal(err)
	}
	return u
}

// The hub's own network is out of a МИС's reach: every URL that names (or
// resolves to) loopback, link-local, private, unique-local, multicast or
// unspecified addresses, in any spelling, is refused when set, as are
// plain http, credentials and overlong URLs; nothing is stored.
func TestCallbackURLForbidden(t *testing.T) {
	b := setup(t, 0)
	for _, u := range []string{
		"http://169.254.169.254/latest/meta-data/",
		"https://169.254.169.254/latest/meta-data/",
		"https://127.0.0.1:5432/",
		"https://localhost:5432/",
		"https://2130706433/",
		"https://0x7f.1/",
		"https://0177.0.0.1/",
		"https://[::1]:8080/",
		"https://[::ffff:127.0.0.1]/",
		"https://[fe80::1%25lo]/",
		"https://[fd00:ec2::254]/",
		"https://10.0.0.1/",
		"https://192.168.0.10/",
		"https://[ff02::1]/",
		"https://0.0.0.0/",
		"https://user:password@93.184.216.34/cb",
		"http://93.184.216.34/cb",
		"gopher://93.184.216.34/",
		"https://93.184.216.34/" + strings.Repeat("x", 1<<20),
		"https://93.184.216.34/" + strings.Repeat("x", 2049-len("https://93.184.216.34/")),
	} {
		r := b.do("PUT", "/api/v1/me/callback", b.keyA, map[string]string{"url": u})
		if r.Status != http.StatusBadRequest || r.Body["code"] != codes.CallbackURLForbidden {
			t.Errorf("%.60s: %d %.200s", u, r.Status, r.Raw)
		}
	}
	if u := b.callbackURL(); u != nil {
		t.Fatalf("a refused URL was stored: %q", *u)
	}
}

// Setting a URL issues the secret once; setting it again keeps the secret;
// a rotation issues a new one and keeps the previous signing for 24 h; the
// owner sees its callback and every change is in the audit log.
func TestCallbackSetAndRotate(t *testing.T) {
	b := setup(t, 0)
	good := "https://93.184.216.34/hub/callback"
	r := b.do("PUT", "/api/v1/me/callback", b.keyA, map[string]string{"url": good})
	if r.Status != 200 || r.Body["secret"] == nil || r.Body["secret_issued"] != true {
		t.Fatalf("first PUT: %d %s", r.Status, r.Raw)
	}
	if u := b.callbackURL(); u == nil || *u != good {
		t.Fatalf("stored %v", u)
	}
	if r := b.do("PUT", "/api/v1/me/callback", b.keyA, map[string]string{"url": good + "2"}); r.Status != 200 || r.Body["secret"] != nil {
		t.Fatalf("second PUT must keep the secret: %d %s", r.Status, r.Raw)
	}
	if r := b.do("PUT", "/api/v1/me/callback", b.keyOp, map[string]string{"url": good}); r.Status != http.StatusForbidden {
		t.Fatalf("operator PUT: %d", r.Status)
	}
	rot := b.do("POST", "/api/v1/me/callback/secret", b.keyA, nil)
	if rot.Status != http.StatusCreated || rot.Body["secret"] == nil || rot.Body["secret"] == r.Body["secret"] {
		t.Fatalf("rotate: %d %s", rot.Status, rot.Raw)
	}
	until, err := time.Parse(time.RFC3339Nano, rot.Body["previous_secret_valid_until"].(string))
	if err != nil || until.Before(time.Now().Add(23*time.Hour)) || until.After(time.Now().Add(25*time.Hour)) {
		t.Fatalf("previous secret valid until %v (%v)", until, err)
	}
	g := b.do("GET", "/api/v1/me/callback", b.keyA, nil)
	if g.Status != 200 || g.Body["url"] != good+"2" || g.Body["previous_secret_valid_until"] == nil {
		t.Fatalf("GET: %d %s", g.Status, g.Raw)
	}
	var actions []string
	rows, err := b.app.Pool.Query(context.Background(), `SELECT action FROM audit_log WHERE actor = 'mis' ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a string
		_ = rows.Scan(&a)
		actions = append(actions, a)
	}
	if strings.Join(actions, " ") != "callback.set callback.set callback.secret.rotate" {
		t.Fatalf("audit: %v", actions)
	}
	// Clearing works and keeps nothing pointing anywhere.
	if r := b.do("PUT", "/api/v1/me/callback", b.keyA, map[string]string{"url": ""}); r.Status != 200 || b.callbackURL() != nil {
		t.Fatalf("clear: %d %s", r.Status, r.Raw)
	}
}
