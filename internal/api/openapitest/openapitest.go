// Package openapitest checks the HTTP API's answers against its OpenAPI
// document (internal/api/openapi.yaml) in tests: Record wraps the handler
// a test serves, keeps every request and response, and when the test ends
// validates each response — its status documented for the operation, its
// content type, its body against the schema (kin-openapi, JSON Schema
// 2020-12 for OpenAPI 3.1). A request no operation matches (unknown path
// or method) must have been answered with the error shape.
//
// Test code only: nothing in the hub imports it.
package openapitest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/emdhub/hub/internal/api"
)

var spec struct {
	once   sync.Once
	doc    *openapi3.T
	router routers.Router
	err    error
}

func init() {
	openapi3filter.RegisterBodyDecoder("application/xml", openapi3filter.FileBodyDecoder)
	openapi3filter.RegisterBodyDecoder("application/yaml", openapi3filter.FileBodyDecoder)
	// The console's pages, stylesheet and downloads.
	for _, ct := range []string{"text/html", "text/css", "text/csv", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"} {
		openapi3filter.RegisterBodyDecoder(ct, openapi3filter.FileBodyDecoder)
	}
}

// catchAll are the prefixes whose {path} takes the whole rest of the path,
// slashes included, as gin's *path does (River UI, the console).
var catchAll = []string{api.RiverUIPrefix + "/", "/console/"}

// Doc is the embedded document, loaded and validated (once) as OpenAPI 3.1.
func Doc(t testing.TB) *openapi3.T {
	t.Helper()
	if err := load(); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	return spec.doc
}

func load() error {
	spec.once.Do(func() {
		doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPI)
		if err != nil {
			spec.err = err
			return
		}
		if !doc.IsOpenAPI31OrLater() {
			spec.err = errors.New("the document is not OpenAPI 3.1")
			return
		}
		if err := doc.Validate(context.Background()); err != nil {
			spec.err = err
			return
		}
		spec.doc = doc
		spec.router, spec.err = gorillamux.NewRouter(doc)
	})
	return spec.err
}

// Exchange is one request and the answer the API gave.
type Exchange struct {
	Method string
	URL    string // path and query
	Status int
	Header http.Header // response headers
	Body   []byte
}

// Validate checks one response against the document.
func Validate(x Exchange) error {
	if err := load(); err != nil {
		return err
	}
	u, err := url.Parse(x.URL)
	if err != nil {
		return err
	}
	lookup := *u
	for _, p := range catchAll {
		if rest, ok := strings.CutPrefix(u.Path, p); ok {
			// {path} takes the whole sub-path, slashes included (and gin's
			// *path matches the empty rest too).
			lookup.Path = p + "_" + strings.ReplaceAll(rest, "/", "_")
			lookup.RawPath = ""
		}
	}
	riverUI := strings.HasPrefix(u.Path, api.RiverUIPrefix+"/")
	req, err := http.NewRequest(x.Method, "http://hub"+lookup.RequestURI(), nil)
	if err != nil {
		return err
	}
	route, params, err := spec.router.FindRoute(req)
	if err != nil {
		if x.Status < 400 {
			return fmt.Errorf("no operation for %s %s, yet it answered %d", x.Method, u.Path, x.Status)
		}
		var v any
		if err := json.Unmarshal(x.Body, &v); err != nil {
			return fmt.Errorf("an error answer that is not JSON: %w", err)
		}
		return spec.doc.Components.Schemas["Error"].Value.VisitJSON(v, openapi3.EnableJSONSchema2020())
	}
	// River UI's own answers (pages, assets, its API) are not ours to describe.
	opts := &openapi3filter.Options{IncludeResponseStatus: true, ExcludeResponseBody: riverUI && x.Status != http.StatusUnauthorized}
	return openapi3filter.ValidateResponse(context.Background(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts},
		Status:                 x.Status,
		Header:                 x.Header,
		Body:                   io.NopCloser(bytes.NewReader(x.Body)),
		Options:                opts,
	})
}

// Record wraps h, the API handler test t serves: every response is kept
// and validated when the test ends (its server closed by then, so every
// handler has returned: register Record before the server's Close).
func Record(t testing.TB, h http.Handler) http.Handler {
	var mu sync.Mutex
	var seen []Exchange
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		check(t, seen)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(&tee{ResponseWriter: w, rec: rec}, r)
		mu.Lock()
		seen = append(seen, Exchange{Method: r.Method, URL: r.URL.RequestURI(), Status: rec.Code, Header: w.Header().Clone(), Body: rec.Body.Bytes()})
		mu.Unlock()
	})
}

func check(t testing.TB, seen []Exchange) {
	if err := load(); err != nil {
		t.Errorf("openapi.yaml: %v", err)
		return
	}
	failures := 0
	for _, x := range seen {
		err := Validate(x)
		if err == nil {
			continue
		}
		failures++
		if failures <= 5 {
			body := x.Body
			if len(body) > 300 {
				body = body[:300]
			}
			t.Errorf("response does not match openapi.yaml: %s %s → %d %s\n%v\nbody: %s", x.Method, x.URL, x.Status, x.Header.Get("Content-Type"), err, body)
		}
	}
	if failures > 5 {
		t.Errorf("… %d responses in all do not match openapi.yaml", failures)
	}
}

// tee writes to the client and to a recorder.
type tee struct {
	http.ResponseWriter
	rec     *httptest.ResponseRecorder
	written bool
}

func (t *tee) WriteHeader(code int) {
	if !t.written {
		t.written = true
		t.rec.WriteHeader(code)
	}
	t.ResponseWriter.WriteHeader(code)
}

func (t *tee) Write(b []byte) (int, error) {
	if !t.written {
		t.WriteHeader(http.StatusOK)
	}
	t.rec.Write(b)
	return t.ResponseWriter.Write(b)
}

func (t *tee) Flush() {
	if f, ok := t.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection (read deadlines).
func (t *tee) Unwrap() http.ResponseWriter { return t.ResponseWriter }
