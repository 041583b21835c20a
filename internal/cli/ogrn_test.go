package cli

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/db"
	"github.com/emdhub/hub/internal/store"
	"github.com/emdhub/hub/internal/testdb"
)

// TestRegisterSystemOrgOGRN: -org-ogrn records the organisation's ОГРН
// when a system is registered, or alone for a registered organisation; a
// wrong control digit and a second, different ОГРН are refused.
func TestRegisterSystemOrgOGRN(t *testing.T) {
	url := testdb.URL(t)
	t.Setenv("DATABASE_URL", url)
	ctx := context.Background()
	run := func(args ...string) (string, error) {
		var out bytes.Buffer
		err := runRegisterSystem(ctx, args, &out, io.Discard)
		return out.String(), err
	}
	const oid, oid2 = "1.2.643.5.1.13.13.12.2.77.7973", "1.2.643.5.1.13.13.12.2.77.7974"
	if _, err := run("-org-oid", oid, "-org-name", "ГКБ 52", "-system", "МИС", "-org-ogrn", "1027700132196"); err == nil {
		t.Fatal("a wrong control digit was accepted")
	}
	if _, err := run("-org-oid", oid, "-org-name", "ГКБ 52", "-system", "МИС", "-org-ogrn", "1027700132195"); err != nil {
		t.Fatal(err)
	}
	if _, err := run("-org-oid", oid, "-org-name", "ГКБ 52", "-system", "МИС 2", "-org-ogrn", "1037739010891"); err == nil {
		t.Fatal("another ОГРН for the same organisation was accepted")
	}
	if _, err := run("-org-oid", oid2, "-org-name", "ГКБ 53", "-system", "МИС"); err != nil {
		t.Fatal(err)
	}
	out, err := run("-org-oid", oid2, "-org-ogrn", "1037739010891")
	if err != nil || !strings.Contains(out, "1037739010891 recorded") {
		t.Fatalf("record alone: %q %v", out, err)
	}
	pool, err := db.Open(ctx, url, "test")
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	st := store.New(pool)
	for o, want := range map[string]string{oid: "1027700132195", oid2: "1037739010891", "1.2.643.5.1.13.13.12.2.77.1": ""} {
		if got, err := st.OrganizationOGRN(ctx, o); err != nil || got != want {
			t.Fatalf("%s: ОГРН %q %v, want %q", o, got, err, want)
		}
	}
}
