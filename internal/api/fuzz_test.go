package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/emdhub/hub/internal/codes"
)

// slot is one place a caller controls in a request: a query parameter or
// the last path parameter of a route (written "{}" in path).
type slot struct {
	method string
	path   string // with "{}" where a path parameter goes
	query  string // query parameter name, if the slot is one
	op     bool   // needs the operator key
}

func (s slot) String() string {
	if s.query != "" {
		return s.method + " " + s.path + "?" + s.query + "="
	}
	return s.method + " " + s.path
}

// url builds the request path and query with v in the slot, escaped when
// escape is true, as it is otherwise (so %00, %ff and %zz reach the server).
func (s slot) url(v string, escape bool) string {
	if s.query != "" {
		if escape {
			v = url.QueryEscape(v)
		}
		return s.path + "?" + s.query + "=" + v
	}
	if escape {
		v = url.PathEscape(v)
	}
	return strings.Replace(s.path, "{}", v, 1)
}

// slots are every route's parameters.
var slots = []slot{
	{method: "GET", path: "/api/v1/documents", query: "kind"},
	{method: "GET", path: "/api/v1/documents", query: "patient_snils"},
	{method: "GET", path: "/api/v1/documents", query: "since"},
	{method: "GET", path: "/api/v1/documents", query: "until"},
	{method: "GET", path: "/api/v1/documents", query: "limit"},
	{method: "GET", path: "/api/v1/documents", query: "cursor"},
	{method: "GET", path: "/api/v1/documents/{}"},
	{method: "GET", path: "/api/v1/documents/{}/content"},
	{method: "GET", path: "/api/v1/documents/{}/deliveries"},
	{method: "GET", path: "/api/v1/enrichment/snils/{}"},
	{method: "GET", path: "/api/v1/enrichment/enp/{}"},
	{method: "GET", path: "/api/v1/mse/referrals/{}"},
	{method: "GET", path: "/api/v1/mse/referrals/{}/result"},
	{method: "POST", path: "/api/v1/mse/referrals/{}/refetch"},
	{method: "GET", path: "/api/v1/mse/results", query: "after"},
	{method: "GET", path: "/api/v1/mse/results", query: "limit"},
	{method: "GET", path: "/api/v1/certificates/expiring", query: "days"},
	{method: "GET", path: "/api/v1/certificates/expiring", query: "limit"},
	{method: "GET", path: "/api/v1/me", query: "x"},
	{method: "GET", path: "/api/v1/ops/troubles", query: "stuck_after", op: true},
	{method: "POST", path: "/api/v1/ops/deliveries/{}/replay", op: true},
	{method: "GET", path: "/api/v1/ops/mse/unmatched-results", query: "after", op: true},
	{method: "GET", path: "/api/v1/ops/mse/unmatched-results", query: "limit", op: true},
	{method: "GET", path: "/api/v1/ops/systems", query: "x", op: true},
	{method: "GET", path: "/api/v1/ops/systems/{}/keys", op: true},
	{method: "POST", path: "/api/v1/ops/systems/{}/keys", op: true},
	{method: "GET", path: "/api/v1/ops/keys", query: "x", op: true},
	{method: "DELETE", path: "/api/v1/ops/keys/{}", op: true},
	{method: "POST", path: "/api/v1/ops/keys/{}/revoke", op: true},
	{method: "POST", path: "/api/v1/ops/keys/{}/rotate", op: true},
	{method: "GET", path: "/api/v1/ops/audit", query: "system_id", op: true},
	{method: "GET", path: "/api/v1/ops/audit", query: "limit", op: true},
	{method: "GET", path: "/api/v1/ops/audit", query: "before", op: true},
	{method: "GET", path: "/api/v1/me/callback", query: "x"},
	{method: "POST", path: "/api/v1/me/callback/secret", query: "x"},
}

// hostile are values that once reached the database or the parsers raw.
var hostile = []string{
	"%00", "a%00b", "%ff", "%C0%AF", "%ED%A0%80", "%zz", "%", "%1", "\x00", "\xff\xfe", "\x7f", "\u0085",
	"", " ", "-1", "0", "+5", "1e9", "99999999999999999999999", "abc", "NaN", "0x10",
	"zzz", "AAAAAAAAAAAAAAAAAAAAAA", "AZkUv4-AAHcAAAAAAAAAAA", "'; DROP TABLE documents; --", "../../etc/passwd",
	"0000-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00", "2026-13-45T99:99:99Z", "-5m", "1000000h", "10000000000000000000s",
	"00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff", "112-233-445 95", "11223344595",
	strings.Repeat("9", 5000), "a;b", "a=b&c", "🙂", "кириллица",
}

// request sends one hostile request and checks the answer is not a 5xx and,
// when a refusal, has the error shape.
func (b *bundle) hostileRequest(t testing.TB, s slot, v string, escape bool) (resp, bool) {
	t.Helper()
	if !escape && strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		// Not a request-target at all (RFC 9112 §3.2): net/http refuses the
		// request line itself with a plain 400 before any handler runs.
		return resp{}, false
	}
	target := b.srv.URL + s.url(v, escape)
	req, err := http.NewRequest(s.method, target, nil)
	if err != nil {
		return resp{}, false // not even a URL the client can send
	}
	key := b.keyA
	if s.op {
		key = b.keyOp
	}
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return resp{}, false // the client library refused it
	}
	r := readResp(res)
	if r.Status >= 500 {
		t.Fatalf("%s with %q (escaped %v): %d %s", s, v, escape, r.Status, r.Raw)
	}
	if r.Status >= 400 {
		assertErrorShape(t, r, r.Status, "")
	}
	return r, true
}

// TestHostileParameters sends every hostile value through every route's
// parameters, escaped and raw: never a 5xx, always the error shape; and the
// values that must be refused are refused with 400 BAD_REQUEST.
func TestHostileParameters(t *testing.T) {
	b, _ := setupWith(t, nil, nil, nil)
	for _, s := range slots {
		for _, v := range hostile {
			b.hostileRequest(t, s, v, true)
			b.hostileRequest(t, s, v, false)
		}
	}
	must400 := []struct {
		path string
		op   bool
	}{
		{"/api/v1/documents?kind=%00", false},
		{"/api/v1/documents?kind=%ff", false},
		{"/api/v1/documents?kind=abc", false},
		{"/api/v1/documents?kind=" + strings.Repeat("1", 11), false},
		{"/api/v1/documents?patient_snils=%00", false},
		{"/api/v1/documents?since=yesterday", false},
		{"/api/v1/documents?until=2026-13-45T99:99:99Z", false},
		{"/api/v1/documents?limit=abc", false},
		{"/api/v1/documents?limit=99999999999999999999999", false},
		{"/api/v1/documents?cursor=zzz", false},
		{"/api/v1/documents?cursor=%00", false},
		{"/api/v1/documents?a=%zz", false},
		{"/api/v1/documents?a=b;c=d", false},
		{"/api/v1/documents/%00", false},
		{"/api/v1/documents/%ff/content", false},
		{"/api/v1/enrichment/snils/%00", false},
		{"/api/v1/enrichment/enp/%C0%AF", false},
		{"/api/v1/mse/results?after=garbage!", false},
		{"/api/v1/mse/results?limit=-1", false},
		{"/api/v1/certificates/expiring?days=abc", false},
		{"/api/v1/certificates/expiring?days=0", false},
		{"/api/v1/ops/troubles?stuck_after=forever", true},
		{"/api/v1/ops/troubles?stuck_after=%00", true},
		{"/api/v1/ops/mse/unmatched-results?after=%ff", true},
	}
	for _, tt := range must400 {
		key := b.keyA
		if tt.op {
			key = b.keyOp
		}
		r := b.raw("GET", tt.path, key, "", nil)
		assertErrorShape(t, r, http.StatusBadRequest, codes.BadRequest)
	}
	// Every route with every method, parameters filled with a valid-looking
	// value: an answer, or a refusal in the error shape (405 with Allow for
	// the methods a route does not have), never a 5xx.
	for _, rt := range b.app.API.Handler().(*gin.Engine).Routes() {
		path := rt.Path
		for _, p := range []string{":id", ":snils", ":enp"} {
			path = strings.ReplaceAll(path, p, "0190f1d2-0000-7000-8000-000000000000")
		}
		for _, method := range []string{"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"} {
			key := b.keyA
			if strings.HasPrefix(path, "/api/v1/ops/") {
				key = b.keyOp
			}
			r := b.raw(method, path, key, "application/json", []byte("{}"))
			if r.Status >= 500 {
				t.Fatalf("%s %s: %d %s", method, path, r.Status, r.Raw)
			}
			if r.Status == http.StatusMethodNotAllowed && r.Header.Get("Allow") == "" {
				t.Fatalf("%s %s: 405 without Allow", method, path)
			}
			if r.Status >= 400 && method != "HEAD" {
				assertErrorShape(t, r, r.Status, "")
			}
		}
	}
	// Hostile bodies on the JSON endpoints.
	bodies := []string{"", "null", "[]", "{", `{"kind":`, "\x00", "\xff", `{"kind":1}`, `{"signatures":{}}`, `{"signatures":[null]}`,
		`{"a":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`, `"` + strings.Repeat("\\u0000", 100) + `"`}
	for _, body := range bodies {
		for _, e := range []struct{ method, path, key string }{
			{"POST", "/api/v1/documents", b.keyA}, {"POST", "/api/v1/ops/systems", b.keyOp}, {"PUT", "/api/v1/me/callback", b.keyA},
		} {
			r := b.raw(e.method, e.path, e.key, "application/json", []byte(body))
			if r.Status >= 500 || r.Status < 400 {
				t.Fatalf("%s %s with %q: %d %s", e.method, e.path, body, r.Status, r.Raw)
			}
			assertErrorShape(t, r, r.Status, "")
		}
	}
}

// FuzzParameters feeds arbitrary values to every route's parameters. The
// seed corpus runs in plain `go test`; `go test -fuzz FuzzParameters
// ./internal/api/` explores further. No value may produce a 5xx.
func FuzzParameters(f *testing.F) {
	for _, v := range hostile {
		f.Add(v)
	}
	b, _ := setupWith(f, nil, nil, nil)
	f.Fuzz(func(t *testing.T, v string) {
		for _, s := range slots {
			b.hostileRequest(t, s, v, true)
			b.hostileRequest(t, s, v, false)
		}
	})
}

func readResp(res *http.Response) resp {
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	r := resp{Status: res.StatusCode, Raw: raw, Header: res.Header}
	_ = json.Unmarshal(raw, &r.Body)
	return r
}
