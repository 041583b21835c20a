package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/emdhub/hub/internal/app"
	"github.com/emdhub/hub/internal/config"
	"github.com/emdhub/hub/internal/console"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/stats"
	"github.com/emdhub/hub/internal/testdb"
)

func TestMain(m *testing.M) { testdb.Main(m) }

// hub is a built hub over a seeded record, served over HTTP.
type hub struct {
	t      testing.TB
	app    *app.App
	srv    *httptest.Server
	opKey  string
	misKey string
}

// seeded builds the hub, seeds a record of attempts across 12 regions over
// the last 60 days, rolls it up and makes an operator key.
func seeded(t testing.TB) *hub {
	t.Helper()
	ctx := context.Background()
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
	if err := stats.Seed(ctx, pool, a.Store, stats.SeedOptions{N: 6000, Regions: 12, OrgsPerRegion: 2, Days: 60, Seed: 5}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := stats.Rebuild(ctx, pool, time.Now()); err != nil {
		t.Fatal(err)
	}
	// Calls to the peers over the last days, for the deliveries dashboard.
	if _, err := pool.Exec(ctx, `INSERT INTO exchange_log (at, direction, peer, operation, outcome, duration_ms)
		SELECT now() - (g % 72) * interval '1 hour', 'out', (ARRAY['mse', 'zags', 'epgu', 'provider'])[1 + g % 4], 'Send',
			CASE WHEN g % 11 = 0 THEN 'transient' WHEN g % 17 = 0 THEN 'unavailable' ELSE 'ok' END, 40 + (g * 37) % 900
		FROM generate_series(1, 400) g`); err != nil {
		t.Fatal(err)
	}
	h := &hub{t: t, app: a}
	if h.opKey, err = a.Store.CreateOperator(ctx, "Дежурный МИАЦ"); err != nil {
		t.Fatal(err)
	}
	reg, err := a.Store.RegisterSystem(ctx, "1.2.643.5.1.13.13.12.2.77.7973", "ГКБ № 52", "МИС ЕМИАС")
	if err != nil {
		t.Fatal(err)
	}
	h.misKey = reg.APIKey
	h.srv = httptest.NewServer(a.API.Handler())
	t.Cleanup(h.srv.Close)
	return h
}

// api gets a stats view as JSON with the operator's key.
func (h *hub) api(path string, v any) {
	h.t.Helper()
	req, _ := http.NewRequest("GET", h.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+h.opKey)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		h.t.Fatalf("%s: %d %s", path, res.StatusCode, b)
	}
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		h.t.Fatal(err)
	}
}

func browserClient(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func get(t *testing.T, c *http.Client, u string) (*http.Response, string) {
	t.Helper()
	res, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

var statRe = regexp.MustCompile(`data-stat="([^"]+)" data-value="([^"]*)"`)

// shown reads the figures a page shows (data-stat → data-value).
func shown(page string) map[string]string {
	m := map[string]string{}
	for _, s := range statRe.FindAllStringSubmatch(page, -1) {
		m[s[1]] = s[2]
	}
	return m
}

// TestConsoleOverHTTP signs in and out, and checks that every figure the
// pages show equals the stats API's for the same filters, that the reports
// carry them too, and that the session is what the brief asks: HttpOnly,
// SameSite=Strict, stored server-side, ended by sign-out and by revoking the key.
func TestConsoleOverHTTP(t *testing.T) {
	h := seeded(t)
	c := browserClient(t)
	res, _ := get(t, c, h.srv.URL+"/console/registration?region=3")
	if res.StatusCode != http.StatusSeeOther || !strings.HasPrefix(res.Header.Get("Location"), "/console/login?next=") {
		t.Fatalf("not signed in: %d %s", res.StatusCode, res.Header.Get("Location"))
	}
	login := func(key, origin string) *http.Response {
		req, _ := http.NewRequest("POST", h.srv.URL+"/console/login", strings.NewReader(url.Values{"key": {key}, "next": {"/console/registration?region=3"}}.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	if r := login(h.misKey, ""); !strings.Contains(r.Header.Get("Location"), "error=") || len(r.Cookies()) != 0 {
		t.Fatalf("a МИС key signed in: %s", r.Header.Get("Location"))
	}
	if r := login("hub_nonsense", ""); !strings.Contains(r.Header.Get("Location"), "error=") {
		t.Fatalf("an unknown key signed in")
	}
	if r := login(h.opKey, "http://evil.example"); r.StatusCode != http.StatusForbidden {
		t.Fatalf("cross-site sign-in: %d", r.StatusCode)
	}
	r := login(h.opKey, h.srv.URL)
	ck := r.Cookies()
	if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/console/registration?region=3" || len(ck) != 1 ||
		ck[0].Name != console.CookieName || !ck[0].HttpOnly || ck[0].SameSite != http.SameSiteStrictMode || ck[0].Path != "/console/" {
		t.Fatalf("sign-in: %d %s %+v", r.StatusCode, r.Header.Get("Location"), ck)
	}
	var stored int
	_ = h.app.Pool.QueryRow(context.Background(), `SELECT count(*) FROM console_sessions WHERE token_hash <> $1`, []byte(ck[0].Value)).Scan(&stored)
	if stored != 1 {
		t.Fatalf("sessions stored: %d (the token itself must not be)", stored)
	}

	for _, q := range []string{"", "region=3", "kind=119&from=" + stats.Today(time.Now()).AddDate(0, 0, -20).Format(time.DateOnly)} {
		var reg stats.Registration
		h.api("/api/v1/ops/stats/registration?"+q, &reg)
		res, page := get(t, c, h.srv.URL+"/console/registration?"+q)
		if res.StatusCode != 200 || res.Header.Get("Content-Security-Policy") == "" {
			t.Fatalf("registration page: %d", res.StatusCode)
		}
		s := shown(page)
		if reg.Totals.Attempts == 0 || s["totals.attempts"] != itoa(reg.Totals.Attempts) || s["totals.refused"] != itoa(reg.Totals.Refused) ||
			s["totals.accepted_percent"] != ftoa(reg.Totals.AcceptedPercent) || s["totals.attempts_per_document"] != ftoa(reg.Totals.AttemptsPerDocument) ||
			s["queue"] != itoa(reg.Queue) {
			t.Fatalf("%q: page shows %v, API says %+v", q, s, reg.Totals)
		}
		if q == "region=3" && !strings.Contains(page, `href="/console/refusals?from=`) || !strings.Contains(page, "region=3&amp;to=") && q == "region=3" {
			t.Fatalf("the links do not keep the filter: %s", page[strings.Index(page, "<nav>"):strings.Index(page, "</nav>")])
		}
		if strings.Count(page, "<svg") != 5 {
			t.Fatalf("registration page has %d charts, want 5", strings.Count(page, "<svg"))
		}
		var ref stats.Refusals
		h.api("/api/v1/ops/stats/refusals?by=system&"+q, &ref)
		_, page = get(t, c, h.srv.URL+"/console/refusals?by=system&"+q)
		s = shown(page)
		if s["total_errors"] != itoa(ref.TotalErrors) || len(ref.Reasons) == 0 || s["reason."+ref.Reasons[0].Code] != itoa(ref.Reasons[0].N) {
			t.Fatalf("%q: refusals page shows %v, API says %d %+v", q, s, ref.TotalErrors, ref.Reasons)
		}
		if rows := strings.Count(page[strings.Index(page, `id="ranking"`):], "<tr>") - 1; rows != len(ref.Ranking) {
			t.Fatalf("ranking rows %d, API %d", rows, len(ref.Ranking))
		}
		// The reports of the view carry the same figures.
		res, body := get(t, c, h.srv.URL+"/console/report?view=registration&format=xlsx&"+q)
		if res.StatusCode != 200 || !strings.Contains(res.Header.Get("Content-Disposition"), ".xlsx") {
			t.Fatalf("xlsx: %d", res.StatusCode)
		}
		x, err := excelize.OpenReader(strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		rows, err := x.GetRows("Итоги")
		if err != nil {
			t.Fatal(err)
		}
		if got := cell(rows, "Всего попыток"); got != itoa(reg.Totals.Attempts) {
			t.Fatalf("xlsx attempts %q, API %d", got, reg.Totals.Attempts)
		}
		_, csv := get(t, c, h.srv.URL+"/console/report?view=refusals&format=csv&by=region&"+q)
		if !strings.HasPrefix(csv, "\ufeffИтоги") || !strings.Contains(csv, "Всего ошибок,"+itoa(ref.TotalErrors)+"\n") {
			t.Fatalf("csv: %.300s", csv)
		}
	}
	var del stats.Deliveries
	h.api("/api/v1/ops/stats/deliveries", &del)
	_, page := get(t, c, h.srv.URL+"/console/deliveries")
	if s := shown(page); s["peer.zags.attempts"] != itoa(peer(del, "zags").Attempts) || s["funnel.mse.получено"] != itoa(del.Funnels[0].Steps[0].N) {
		t.Fatalf("deliveries page %v, API %+v", s, del)
	}
	if res, page := get(t, c, h.srv.URL+"/console/registration?from=yesterday"); res.StatusCode != 400 || !strings.Contains(page, "YYYY-MM-DD") {
		t.Fatalf("bad filter: %d", res.StatusCode)
	}

	// Sign-out ends the session on the server, not just in the browser.
	req, _ := http.NewRequest("POST", h.srv.URL+"/console/logout", nil)
	req.AddCookie(ck[0])
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 && res.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %v %v", res, err)
	}
	replay := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ = http.NewRequest("GET", h.srv.URL+"/console/refusals", nil)
	req.AddCookie(ck[0])
	if res, err := replay.Do(req); err != nil || res.StatusCode != http.StatusSeeOther {
		t.Fatalf("the old cookie still works after sign-out: %v", res.StatusCode)
	}
	// Revoking the key ends its sessions at once.
	c = browserClient(t)
	login = func(key, origin string) *http.Response {
		res, err := c.PostForm(h.srv.URL+"/console/login", url.Values{"key": {key}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	login(h.opKey, "")
	if res, _ := get(t, c, h.srv.URL+"/console/deliveries"); res.StatusCode != 200 {
		t.Fatalf("signed in again: %d", res.StatusCode)
	}
	if _, err := h.app.Pool.Exec(context.Background(), `UPDATE api_keys SET revoked_at = now() WHERE role = 'operator'`); err != nil {
		t.Fatal(err)
	}
	if res, _ := get(t, c, h.srv.URL+"/console/deliveries"); res.StatusCode != http.StatusSeeOther {
		t.Fatalf("a revoked key's session goes on: %d", res.StatusCode)
	}
}

func cell(rows [][]string, label string) string {
	for _, r := range rows {
		if len(r) > 1 && r[0] == label {
			return r[1]
		}
	}
	return ""
}

func peer(d stats.Deliveries, p string) stats.Peer {
	for _, x := range d.Peers {
		if x.Peer == p {
			return x
		}
	}
	return stats.Peer{}
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }
func ftoa(f float64) string {
	b, _ := json.Marshal(f)
	return string(bytes.TrimSuffix(b, []byte(".0")))
}
