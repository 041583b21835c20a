package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/semdgen"
)

// logBuffer collects log output safely across the server's goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// Lines returns the log lines written so far.
func (l *logBuffer) Lines() []string {
	s := strings.TrimSpace(l.String())
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// setupWith builds a hub like setup does, on pool (a fresh test database if
// nil), with extra environment and the log captured (JSON, debug level).
func setupWith(t testing.TB, pool *pgxpool.Pool, env map[string]string, mutate func(http.Handler)) (*bundle, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	return newBundle(t, pool, env, log, mutate, 9), logs
}

func (b *bundle) registerKeys() {
	b.t.Helper()
	ctx := context.Background()
	ra, err := b.app.Store.RegisterSystem(ctx, b.orgA.OID, b.orgA.Name, "МИС А")
	if err != nil {
		b.t.Fatal(err)
	}
	rb, err := b.app.Store.RegisterSystem(ctx, b.orgB.OID, b.orgB.Name, "МИС Б")
	if err != nil {
		b.t.Fatal(err)
	}
	b.keyA, b.keyB = ra.APIKey, rb.APIKey
	if b.keyOp, err = b.app.Store.CreateOperator(ctx, "operator"); err != nil {
		b.t.Fatal(err)
	}
}

// raw sends a request with the body and headers given as they are.
func (b *bundle) raw(method, path, key, contentType string, body []byte) resp {
	b.t.Helper()
	req, err := http.NewRequest(method, b.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		b.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	rawBody, _ := io.ReadAll(res.Body)
	r := resp{Status: res.StatusCode, Raw: rawBody, Header: res.Header}
	_ = json.Unmarshal(rawBody, &r.Body)
	return r
}

// assertErrorShape checks the one error shape: JSON with code, message and
// the request id the response header carries, and nothing but the known keys.
func assertErrorShape(t testing.TB, r resp, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Raw)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("Content-Type %q, want JSON: %s", ct, r.Raw)
	}
	var shape map[string]json.RawMessage
	if err := json.Unmarshal(r.Raw, &shape); err != nil {
		t.Fatalf("body is not a JSON object: %v: %q", err, r.Raw)
	}
	for k := range shape {
		if k != "code" && k != "message" && k != "details" && k != "request_id" {
			t.Fatalf("unexpected key %q in error %s", k, r.Raw)
		}
	}
	if code != "" && r.Body["code"] != code {
		t.Fatalf("code %v, want %s: %s", r.Body["code"], code, r.Raw)
	}
	if c, _ := r.Body["code"].(string); c == "" {
		t.Fatalf("no code: %s", r.Raw)
	}
	if m, _ := r.Body["message"].(string); m == "" {
		t.Fatalf("no message: %s", r.Raw)
	}
	if id, _ := r.Body["request_id"].(string); id == "" || id != r.Header.Get("X-Request-ID") {
		t.Fatalf("request_id %v does not match X-Request-ID %q", r.Body["request_id"], r.Header.Get("X-Request-ID"))
	}
}

// TestErrorShapeEverywhere: every refusal the router, the middleware or a
// recovered panic produces has the {"code","message","request_id"} shape and
// the right status.
func TestErrorShapeEverywhere(t *testing.T) {
	b, _ := setupWith(t, nil, map[string]string{"HUB_MAX_BODY_BYTES": "4096"}, func(h http.Handler) {
		h.(*gin.Engine).GET("/api/v1/test-panic", func(*gin.Context) { panic("boom") })
	})
	big := bytes.Repeat([]byte("x"), 8192)
	tests := []struct {
		name   string
		method string
		path   string
		key    string
		ctype  string
		body   []byte
		status int
		code   string
		allow  string
	}{
		{"unknown route", "GET", "/api/v2/nothing", "", "", nil, 404, codes.NotFound, ""},
		{"trailing slash is not redirected", "GET", "/api/v1/documents/", b.keyA, "", nil, 404, codes.NotFound, ""},
		{"wrong case is not redirected", "GET", "/API/v1/documents", b.keyA, "", nil, 404, codes.NotFound, ""},
		{"method not allowed", "DELETE", "/api/v1/documents", b.keyA, "", nil, 405, codes.MethodNotAllowed, "GET, POST"},
		{"method not allowed on a parameter route", "PATCH", "/api/v1/documents/0190f1d2-0000-7000-8000-000000000000", b.keyA, "", nil, 405, codes.MethodNotAllowed, "GET"},
		{"declared body too large", "POST", "/api/v1/documents", b.keyA, "application/json", big, 413, codes.BodyTooLarge, ""},
		{"no key", "GET", "/api/v1/documents", "", "", nil, 401, codes.Unauthenticated, ""},
		{"unknown key", "GET", "/api/v1/documents", "hub_nope", "", nil, 401, codes.Unauthenticated, ""},
		{"wrong role", "GET", "/api/v1/ops/systems", b.keyA, "", nil, 403, codes.Forbidden, ""},
		{"wrong media type", "POST", "/api/v1/documents", b.keyA, "text/plain", []byte("{}"), 415, codes.UnsupportedMedia, ""},
		{"recovered panic", "GET", "/api/v1/test-panic", "", "", nil, 500, codes.InternalError, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.raw(tt.method, tt.path, tt.key, tt.ctype, tt.body)
			assertErrorShape(t, r, tt.status, tt.code)
			if tt.allow != "" && r.Header.Get("Allow") != tt.allow {
				t.Fatalf("Allow %q, want %q", r.Header.Get("Allow"), tt.allow)
			}
			if r.Status == 401 && r.Header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
}

// TestRequestTimeoutErrorShape: a request that runs out of
// HUB_REQUEST_TIMEOUT is answered 503 UNAVAILABLE in the error shape, with
// Retry-After, not 500.
func TestRequestTimeoutErrorShape(t *testing.T) {
	b, logs := setupWith(t, nil, map[string]string{"HUB_REQUEST_TIMEOUT": "1ns"}, nil)
	r := b.raw("GET", "/api/v1/documents", b.keyA, "", nil)
	assertErrorShape(t, r, 503, codes.Unavailable)
	if r.Header.Get("Retry-After") == "" {
		t.Fatal("503 without Retry-After")
	}
	if strings.Contains(logs.String(), `"level":"ERROR"`) {
		t.Fatalf("a timeout is not an internal error: %s", logs.String())
	}
}

// TestStrictJSONBodies: unknown, duplicate and case-mismatched keys, NUL
// characters and invalid UTF-8 are refused with 400 naming the field, on
// every JSON endpoint; nothing is stored.
func TestStrictJSONBodies(t *testing.T) {
	b, _ := setupWith(t, nil, nil, nil)
	sub := b.build(semdgen.Options{Kind: "119"}).Submission()
	doc, cms0, cms1 := sub.Document, sub.Signatures[0].CMS, sub.Signatures[1].CMS
	sigs := `[{"role":"doctor","cms":"` + cms0 + `"},{"role":"organization","cms":"` + cms1 + `"}]`
	body := func(fields ...string) []byte { return []byte("{" + strings.Join(fields, ",") + "}") }
	kind, lid, document, signatures := `"kind":"119"`, `"local_id":"`+sub.LocalID+`"`, `"document":"`+doc+`"`, `"signatures":`+sigs

	// The well-formed body is accepted: the refusals below are about the one change each makes.
	if r := b.raw("POST", "/api/v1/documents", b.keyA, "application/json", body(kind, lid, document, signatures)); r.Status != 201 {
		t.Fatalf("well-formed body: %d %s", r.Status, r.Raw)
	}
	before := b.countDocuments()
	other := b.build(semdgen.Options{Kind: "119"}).Submission()
	odoc, olid := `"document":"`+other.Document+`"`, `"local_id":"`+other.LocalID+`"`
	osigs := `"signatures":[{"role":"doctor","cms":"` + other.Signatures[0].CMS + `"},{"role":"organization","cms":"` + other.Signatures[1].CMS + `"}]`

	tests := []struct {
		name    string
		path    string
		method  string
		key     string
		body    []byte
		mention string
	}{
		{"unknown field", "/api/v1/documents", "POST", b.keyA, body(kind, olid, odoc, osigs, `"urgent":true`), "urgent"},
		{"duplicate key", "/api/v1/documents", "POST", b.keyA, body(kind, olid, odoc, osigs, `"kind":"121"`), "kind"},
		{"key differing in case", "/api/v1/documents", "POST", b.keyA, body(`"Kind":"119"`, olid, odoc, osigs), "Kind"},
		{"nested key differing in case", "/api/v1/documents", "POST", b.keyA,
			body(kind, olid, odoc, `"signatures":[{"Role":"doctor","cms":"`+other.Signatures[0].CMS+`"},{"role":"organization","cms":"`+other.Signatures[1].CMS+`"}]`), "signatures[0].Role"},
		{"nested duplicate key", "/api/v1/documents", "POST", b.keyA,
			body(kind, olid, odoc, `"signatures":[{"role":"doctor","role":"organization","cms":"`+other.Signatures[0].CMS+`"}]`), "signatures[0].role"},
		{"NUL in a string", "/api/v1/documents", "POST", b.keyA, body(`"kind":"119\u0000"`, olid, odoc, osigs), "kind"},
		{"invalid UTF-8", "/api/v1/documents", "POST", b.keyA, body(kind, `"local_id":"`+other.LocalID+"\xff\xfe"+`"`, odoc, osigs), "UTF-8"},
		{"register: duplicate key", "/api/v1/ops/systems", "POST", b.keyOp,
			body(`"organization_oid":"1.2.643.5.1.13.13.12.2.86.3001"`, `"organization_name":"a"`, `"system_name":"b"`, `"system_name":"c"`), "system_name"},
		{"register: key differing in case", "/api/v1/ops/systems", "POST", b.keyOp,
			body(`"Organization_OID":"1.2.643.5.1.13.13.12.2.86.3001"`, `"organization_name":"a"`, `"system_name":"b"`), "Organization_OID"},
		{"register: NUL in a name", "/api/v1/ops/systems", "POST", b.keyOp,
			body(`"organization_oid":"1.2.643.5.1.13.13.12.2.86.3001"`, `"organization_name":"a\u0000"`, `"system_name":"b"`), "organization_name"},
		{"callback: key differing in case", "/api/v1/me/callback", "PUT", b.keyA, body(`"URL":"https://example.org/cb"`), "URL"},
		{"callback: unknown field", "/api/v1/me/callback", "PUT", b.keyA, body(`"url":"https://example.org/cb"`, `"secret":"x"`), "secret"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := b.raw(tt.method, tt.path, tt.key, "application/json", tt.body)
			assertErrorShape(t, r, 400, codes.BadRequest)
			if msg := r.Body["message"].(string); !strings.Contains(msg, tt.mention) {
				t.Fatalf("message %q does not name %q", msg, tt.mention)
			}
		})
	}
	if n := b.countDocuments(); n != before {
		t.Fatalf("refused bodies stored %d rows", n-before)
	}
	var systems int
	if err := b.app.Pool.QueryRow(context.Background(), "SELECT count(*) FROM information_systems").Scan(&systems); err != nil || systems != 2 {
		t.Fatalf("refused registrations stored systems: %d %v", systems, err)
	}
}

// TestCanonicalBase64: the document and the signatures must be standard
// base64 with padding, one encoding of the bytes; anything else is refused
// before the checks and nothing is stored.
func TestCanonicalBase64(t *testing.T) {
	b, _ := setupWith(t, nil, nil, nil)
	good := b.build(semdgen.Options{Kind: "119"})
	unpadded := func(s string) string { return strings.TrimRight(s, "=") }
	wrapped := func(s string) string { return s[:60] + "\r\n" + s[60:] }
	urlAlphabet := func(s string) string {
		raw, _ := base64.StdEncoding.DecodeString(s)
		return base64.URLEncoding.EncodeToString(raw)
	}
	// Non-zero trailing bits: the last character before the padding holds
	// bits no byte uses; canonically zero, set here, so a lenient decoder
	// reads the very same bytes from a second spelling.
	trailingBits := func(s string) string {
		const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
		i := len(strings.TrimRight(s, "=")) - 1
		return s[:i] + string(alphabet[strings.IndexByte(alphabet, s[i])+1]) + s[i+1:]
	}
	docWithPad := func(d semdgen.Doc) semdgen.Doc { // a document whose base64 ends in padding
		for len(d.XML)%3 == 0 {
			d = b.build(semdgen.Options{Kind: "119"})
		}
		return d
	}
	padded := docWithPad(good)
	tests := []struct {
		name   string
		mutate func(s *semdgen.Submission)
		status int
		code   string
	}{
		{"document without padding", func(s *semdgen.Submission) { s.Document = unpadded(s.Document) }, 400, codes.InvalidContent},
		{"document with a line break", func(s *semdgen.Submission) { s.Document = wrapped(s.Document) }, 400, codes.InvalidContent},
		{"document with a leading space", func(s *semdgen.Submission) { s.Document = " " + s.Document }, 400, codes.InvalidContent},
		{"document in the URL alphabet", func(s *semdgen.Submission) { s.Document = urlAlphabet(s.Document) }, 400, codes.InvalidContent},
		{"signature without padding", func(s *semdgen.Submission) { s.Signatures[0].CMS = unpadded(s.Signatures[0].CMS) }, 422, codes.SignatureDecodingError},
		{"signature with a line break", func(s *semdgen.Submission) { s.Signatures[1].CMS = wrapped(s.Signatures[1].CMS) }, 422, codes.SignatureDecodingError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := padded.Submission()
			before := s
			tt.mutate(&s)
			if s.Document == before.Document && s.Signatures[0].CMS == padded.Submission().Signatures[0].CMS && s.Signatures[1].CMS == padded.Submission().Signatures[1].CMS {
				t.Fatal("the mutation changed nothing")
			}
			r := b.do("POST", "/api/v1/documents", b.keyA, s)
			assertErrorShape(t, r, tt.status, tt.code)
			if !strings.Contains(r.Body["message"].(string), "base64") {
				t.Fatalf("message does not say base64: %s", r.Raw)
			}
		})
	}
	t.Run("non-zero trailing bits", func(t *testing.T) {
		s := padded.Submission()
		s.Document = trailingBits(s.Document)
		if same, err := base64.StdEncoding.DecodeString(s.Document); err != nil || !bytes.Equal(same, padded.XML) {
			t.Fatalf("the second spelling must decode to the same bytes leniently: %v", err)
		}
		r := b.do("POST", "/api/v1/documents", b.keyA, s)
		assertErrorShape(t, r, 400, codes.InvalidContent)
	})
	if n := b.countDocuments(); n != 0 {
		t.Fatalf("refused documents left %d rows", n)
	}
	if r := b.do("POST", "/api/v1/documents", b.keyA, padded.Submission()); r.Status != 201 {
		t.Fatalf("canonical base64 refused: %d %s", r.Status, r.Raw)
	}
}

// TestReadDeadlineIsForTheBody: HUB_READ_TIMEOUT bounds the client's
// sending, not the handler's work. A handler still working when the read
// deadline has passed keeps its context and answers normally, with or
// without a body read first (net/http lifts the deadline once the body is
// read; this guards that the hub's stack keeps it so, since a cancelled
// context at the read deadline would cut every slow request short).
func TestReadDeadlineIsForTheBody(t *testing.T) {
	b, _ := setupWith(t, nil, nil, nil)
	h := b.app.API.Handler()
	work := func(c *gin.Context) {
		if _, err := io.ReadAll(c.Request.Body); err != nil {
			c.JSON(http.StatusBadRequest, gin.H{"error": err.Error()})
			return
		}
		select {
		case <-time.After(time.Second):
			c.JSON(http.StatusOK, gin.H{"status": "done"})
		case <-c.Request.Context().Done():
			c.JSON(http.StatusInternalServerError, gin.H{"error": c.Request.Context().Err().Error()})
		}
	}
	h.(*gin.Engine).GET("/api/v1/test-slow", work)
	h.(*gin.Engine).POST("/api/v1/test-slow", work)
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ReadTimeout = 300 * time.Millisecond
	srv.Start()
	defer srv.Close()
	for _, method := range []string{"GET", "POST"} {
		var body io.Reader
		if method == "POST" {
			body = strings.NewReader(`{"a":1}`)
		}
		req, _ := http.NewRequest(method, srv.URL+"/api/v1/test-slow", body)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		r := readResp(res)
		if r.Status != 200 {
			t.Fatalf("%s: a handler outliving the read deadline was cut off: %d %s", method, r.Status, r.Raw)
		}
	}
}
