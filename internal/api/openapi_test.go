package api_test

import (
	"bytes"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/emdhub/hub/internal/api"
	"github.com/emdhub/hub/internal/api/openapitest"
	"github.com/emdhub/hub/internal/stats"
)

// The responses of every test in this package are validated against
// openapi.yaml: newBundle serves the API through openapitest.Record.

// specPath turns a gin route into an OpenAPI path: /a/:id → /a/{id},
// /riverui/*path → /riverui/{path}.
func specPath(ginPath string) string {
	segs := strings.Split(ginPath, "/")
	for i, s := range segs {
		if len(s) > 1 && (s[0] == ':' || s[0] == '*') {
			segs[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(segs, "/")
}

// TestOpenAPIDescribesEveryRoute: every route of the router is in
// openapi.yaml and every operation there is routed; /openapi.yaml serves
// the embedded document.
func TestOpenAPIDescribesEveryRoute(t *testing.T) {
	doc := openapitest.Doc(t)
	// Every optional part set, so the routes registered only when it is
	// there are checked too (their handlers are not called).
	s := &api.Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), MaxBodyBytes: 1 << 20,
		RiverUI: http.NotFoundHandler(), Stats: &stats.Service{}, Console: http.NotFoundHandler()}
	h := s.Handler()
	routed := map[string]bool{}
	for _, r := range h.(*gin.Engine).Routes() {
		if r.Method == http.MethodConnect {
			// gin's Any (the console) routes CONNECT too; OpenAPI 3.1 has
			// no connect operation, so openapi.yaml says so in words.
			continue
		}
		routed[r.Method+" "+specPath(r.Path)] = true
	}
	for _, want := range []string{"GET /api/v1/ops/stats/registration", "GET /console/{path}", "GET /riverui/{path}"} {
		if !routed[want] {
			t.Errorf("%s is not routed: an optional part of the Server was left out", want)
		}
	}
	described := map[string]bool{}
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			described[method+" "+path] = true
		}
	}
	var missing, stale []string
	for r := range routed {
		if !described[r] {
			missing = append(missing, r)
		}
	}
	for d := range described {
		if !routed[d] {
			stale = append(stale, d)
		}
	}
	sort.Strings(missing)
	sort.Strings(stale)
	if len(missing) > 0 {
		t.Errorf("routes missing from openapi.yaml:\n  %s", strings.Join(missing, "\n  "))
	}
	if len(stale) > 0 {
		t.Errorf("operations in openapi.yaml that no route serves:\n  %s", strings.Join(stale, "\n  "))
	}
	if len(routed) < 30 {
		t.Fatalf("only %d routes seen: the router was not read", len(routed))
	}

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.yaml", nil))
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), api.OpenAPI) || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/yaml") {
		t.Fatalf("GET /openapi.yaml: %d %s", rec.Code, rec.Header().Get("Content-Type"))
	}
}

// TestOpenAPIValidatorCatchesDrift proves the response check can fail: an
// answer of the wrong shape, an undocumented status and an error without
// its code are each refused.
func TestOpenAPIValidatorCatchesDrift(t *testing.T) {
	jsonH := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	bad := []openapitest.Exchange{
		{Method: "GET", URL: "/healthz", Status: 200, Header: jsonH, Body: []byte(`{"state":"ok"}`)},
		{Method: "GET", URL: "/api/v1/me", Status: 200, Header: jsonH, Body: []byte(`{"role":"admin","name":"x"}`)},
		{Method: "POST", URL: "/api/v1/documents", Status: 202, Header: jsonH, Body: []byte(`{}`)},
		{Method: "GET", URL: "/api/v1/ops/keys", Status: 401, Header: jsonH, Body: []byte(`{"message":"no","request_id":"r"}`)},
		{Method: "GET", URL: "/nowhere", Status: 404, Header: jsonH, Body: []byte(`{"error":"not found"}`)},
		{Method: "GET", URL: "/api/v1/ops/stats/registration", Status: 200, Header: jsonH, Body: []byte(statsRegistration(`"most_delayed":null`, `"least_delayed":null,"extra":1`))},
		{Method: "GET", URL: "/api/v1/ops/stats/registration", Status: 200, Header: jsonH, Body: []byte(statsRegistration(`"most_delayed":null`, `"least_delayed":[{"region":"77","n":1,"of":2,"percent":50}]`))},
		{Method: "GET", URL: "/api/v1/ops/stats/refusals", Status: 200, Header: jsonH, Body: []byte(`{"by":"org"}`)},
		{Method: "GET", URL: "/console/report?format=pdf", Status: 200, Header: http.Header{"Content-Type": {"application/pdf"}}, Body: []byte("%PDF")},
		{Method: "GET", URL: "/console", Status: 200, Header: htmlH, Body: []byte("<p>")},
		{Method: "POST", URL: "/console/login", Status: 403, Header: jsonH, Body: []byte(`{"code":"FORBIDDEN"}`)},
	}
	for _, x := range bad {
		if err := openapitest.Validate(x); err == nil {
			t.Errorf("%s %s → %d %s passed the check", x.Method, x.URL, x.Status, x.Body)
		}
	}
	good := []openapitest.Exchange{
		{Method: "GET", URL: "/api/v1/me", Status: 200, Header: jsonH, Body: []byte(`{"role":"operator","name":"x"}`)},
		{Method: "GET", URL: "/api/v1/ops/stats/registration", Status: 200, Header: jsonH, Body: []byte(statsRegistration(`"most_delayed":null`, `"least_delayed":[{"region":"77","name":"Москва","n":1,"of":2,"percent":50}]`))},
		{Method: "GET", URL: "/console", Status: 303, Header: http.Header{"Location": {"/console/"}}},
		{Method: "GET", URL: "/console/", Status: 303, Header: http.Header{"Location": {"/console/login?next=%2Fconsole%2F"}}},
		{Method: "GET", URL: "/console/registration?region=77", Status: 200, Header: htmlH, Body: []byte("<!doctype html><title>hub</title>")},
		{Method: "GET", URL: "/console/static/console.css", Status: 200, Header: http.Header{"Content-Type": {"text/css; charset=utf-8"}}, Body: []byte("body{}")},
		{Method: "GET", URL: "/console/report?view=refusals&format=csv", Status: 200, Header: http.Header{"Content-Type": {"text/csv; charset=utf-8"}}, Body: []byte("a,b\n1,2\n")},
		{Method: "GET", URL: "/console/report?view=refusals", Status: 200, Header: http.Header{"Content-Type": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}}, Body: []byte("PK\x03\x04")},
		{Method: "POST", URL: "/console/login", Status: 403, Header: jsonH, Body: []byte(`{"code":"FORBIDDEN","message":"cross-site sign-in refused","request_id":"r"}`)},
		{Method: "GET", URL: "/console/deliveries", Status: 500, Header: htmlH, Body: []byte("<p>Внутренняя ошибка")},
		{Method: "DELETE", URL: "/console/a/b", Status: 404, Header: jsonH, Body: []byte(`{"code":"NOT_FOUND","message":"no route","request_id":"r"}`)},
	}
	for _, x := range good {
		if err := openapitest.Validate(x); err != nil {
			t.Errorf("a right answer refused: %s %s → %d: %v", x.Method, x.URL, x.Status, err)
		}
	}
}

var htmlH = http.Header{"Content-Type": {"text/html; charset=utf-8"}}

// statsRegistration is an answer of GET /api/v1/ops/stats/registration
// with its top and bottom lists given.
func statsRegistration(most, least string) string {
	totals := `{"attempts":3,"accepted":2,"accepted_percent":66.7,"refused":1,"refused_percent":33.3,"documents":2,` +
		`"attempts_per_document":1.5,"dated":2,"delayed":1,"delayed_percent":50}`
	return `{"filter":{"from":"2026-11-04T00:00:00Z","to":"2026-12-03T00:00:00Z","region":"77"},"as_of":"0001-01-01T00:00:00Z",` +
		`"totals":` + totals + `,"queue":0,"lags":{"created_to_signed":[{"days":0,"n":2}],"signed_to_submitted":[]},` +
		`"timeline":[{"day":"2026-12-03","accepted":2,"refused":1}],` + most + `,` + least + `}`
}
