package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
)

// exchange is one request and the answer the API gave, as a test saw it.
type exchange struct {
	test   string
	method string
	url    string
	header http.Header // request headers
	status int
	rh     http.Header // response headers
	body   []byte
}

// recorder keeps what the API answered in the tests of this package, for
// the OpenAPI check (openapi_test.go).
var recorder struct {
	sync.Mutex
	all []exchange
}

// recordExchanges wraps the API handler under test: each request and its
// response is kept and, when the test ends (after its server closed, so
// every handler has returned), checked against the OpenAPI document.
func recordExchanges(t testing.TB, h http.Handler) http.Handler {
	t.Cleanup(func() { checkExchanges(t) })
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(&tee{ResponseWriter: w, rec: rec}, r)
		recorder.Lock()
		recorder.all = append(recorder.all, exchange{test: t.Name(), method: r.Method, url: r.URL.String(), header: r.Header.Clone(),
			status: rec.Code, rh: w.Header().Clone(), body: rec.Body.Bytes()})
		recorder.Unlock()
	})
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

// dumpExchanges appends the test's exchanges to $HUB_OPENAPI_DUMP (a
// development aid for writing the document).
func dumpExchanges(list []exchange) {
	f := os.Getenv("HUB_OPENAPI_DUMP")
	if f == "" {
		return
	}
	out, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return
	}
	defer out.Close()
	for _, x := range list {
		body := x.body
		if len(body) > 1500 {
			body = body[:1500]
		}
		var buf bytes.Buffer
		if json.Compact(&buf, body) == nil {
			body = buf.Bytes()
		}
		fmt.Fprintf(out, "%s %s -> %d %s\n\t%s\n", x.method, x.url, x.status, x.rh.Get("Content-Type"), body)
	}
}
