package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
	"github.com/gin-gonic/gin"

	"github.com/emdhub/hub/internal/api"
)

// spec is the embedded OpenAPI document, loaded and validated once.
var spec struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

func loadSpec(t testing.TB) (*openapi3.T, routers.Router) {
	t.Helper()
	spec.once.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
		if err != nil {
			spec.err = err
			return
		}
		if !doc.IsOpenAPI31OrLater() {
			spec.err = errFmt("the document is not OpenAPI 3.1")
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			spec.err = err
			return
		}
		spec.doc = doc
		spec.router, spec.err = gorillamux.NewRouter(doc)
	})
	if spec.err != nil {
		t.Fatalf("openapi.yaml: %v", spec.err)
	}
	return spec.doc, spec.router
}

type errFmt string

func (e errFmt) Error() string { return string(e) }

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
	doc, _ := loadSpec(t)
	s := &api.Server{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), RiverUI: http.NotFoundHandler(), MaxBodyBytes: 1 << 20}
	h := s.Handler()
	routed := map[string]bool{}
	for _, r := range h.(*gin.Engine).Routes() {
		routed[r.Method+" "+specPath(r.Path)] = true
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
	loadSpec(t)
	jsonH := http.Header{"Content-Type": {"application/json; charset=utf-8"}}
	bad := []exchange{
		{method: "GET", url: "/healthz", status: 200, rh: jsonH, body: []byte(`{"state":"ok"}`)},
		{method: "GET", url: "/api/v1/me", status: 200, rh: jsonH, body: []byte(`{"role":"admin","name":"x"}`)},
		{method: "POST", url: "/api/v1/documents", status: 202, rh: jsonH, body: []byte(`{}`)},
		{method: "GET", url: "/api/v1/ops/keys", status: 401, rh: jsonH, body: []byte(`{"message":"no","request_id":"r"}`)},
		{method: "GET", url: "/nowhere", status: 404, rh: jsonH, body: []byte(`{"error":"not found"}`)},
	}
	for _, x := range bad {
		if err := validateExchange(x); err == nil {
			t.Errorf("%s %s → %d %s passed the check", x.method, x.url, x.status, x.body)
		}
	}
	good := exchange{method: "GET", url: "/api/v1/me", status: 200, rh: jsonH, body: []byte(`{"role":"operator","name":"x"}`)}
	if err := validateExchange(good); err != nil {
		t.Errorf("a right answer refused: %v", err)
	}
}

// validateExchange checks one response against the document: the route's
// operation, its status and content type and its body's schema. A request
// no operation matches (unknown path or method) must have been answered
// with the Error shape.
func validateExchange(x exchange) error {
	doc, router := spec.doc, spec.router
	u, err := url.Parse(x.url)
	if err != nil {
		return err
	}
	lookup := *u
	riverUI := strings.HasPrefix(u.Path, api.RiverUIPrefix+"/")
	if riverUI {
		// {path} takes River UI's whole sub-path, slashes included.
		// (gin's *path matches the empty rest too.)
		lookup.Path = api.RiverUIPrefix + "/_" + strings.ReplaceAll(strings.TrimPrefix(u.Path, api.RiverUIPrefix+"/"), "/", "_")
		lookup.RawPath = ""
	}
	req, err := http.NewRequest(x.method, "http://hub"+lookup.RequestURI(), nil)
	if err != nil {
		return err
	}
	route, params, err := router.FindRoute(req)
	if err != nil {
		if x.status < 400 {
			return errFmt("no operation for " + x.method + " " + u.Path + ", yet it answered " + http.StatusText(x.status))
		}
		var v any
		if err := json.Unmarshal(x.body, &v); err != nil {
			return errFmt("not JSON: " + err.Error())
		}
		return doc.Components.Schemas["Error"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020())
	}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: riverUI && x.status != http.StatusUnauthorized}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts},
		Status:                 x.status,
		Header:                 x.rh,
		Body:                   io.NopCloser(bytes.NewReader(x.body)),
		Options:                opts,
	}
	return openapi3filter.ValidateResponse(context.Background(), in)
}

func init() {
	openapi3filter.RegisterBodyDecoder("application/xml", openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/yaml", openapi3filter.FileBodyDecoder)
}

// checkExchanges validates every response test t saw (recordExchanges
// calls it when the test ends).
func checkExchanges(t testing.TB) {
	recorder.Lock()
	var mine, rest []exchange
	for _, x := range recorder.all {
		if x.test == t.Name() {
			mine = append(mine, x)
		} else {
			rest = append(rest, x)
		}
	}
	recorder.all = rest
	recorder.Unlock()
	dumpExchanges(mine)
	loadSpec(t)
	failures := 0
	for _, x := range mine {
		if err := validateExchange(x); err != nil {
			failures++
			if failures <= 5 {
				body := x.body
				if len(body) > 300 {
					body = body[:300]
				}
				t.Errorf("response does not match openapi.yaml: %s %s → %d %s\n%v\nbody: %s", x.method, x.url, x.status, x.rh.Get("Content-Type"), err, body)
			}
		}
	}
	if failures > 5 {
		t.Errorf("… %d responses in all do not match openapi.yaml", failures)
	}
}
