package soapx

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hooklift/gowsdl/soap"
)

func TestClassify(t *testing.T) {
	fault := func(code string) []byte {
		return []byte(`<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Client</faultcode><faultstring>x</faultstring><detail><ServiceFault xmlns="urn:emdhub:zags:v1"><Code>` + code + `</Code><Message>why</Message></ServiceFault></detail></s:Fault></s:Body></s:Envelope>`)
	}
	ctx := context.Background()
	deadCtx, cancel := context.WithCancel(ctx)
	cancel()
	tests := []struct {
		name  string
		ctx   context.Context
		err   error
		class Class
		code  string
	}{
		{"fault with HTTP 500", ctx, &soap.HTTPError{StatusCode: 500, ResponseBody: fault("REFUSED")}, Permanent, "REFUSED"},
		{"rate limit fault", ctx, &soap.HTTPError{StatusCode: 500, ResponseBody: fault("RATE_LIMIT")}, RateLimited, "RATE_LIMIT"},
		{"unavailable fault on 503", ctx, &soap.HTTPError{StatusCode: 503, ResponseBody: fault("SERVICE_UNAVAILABLE")}, Unavailable, "SERVICE_UNAVAILABLE"},
		{"internal error fault", ctx, &soap.HTTPError{StatusCode: 500, ResponseBody: fault("INTERNAL_ERROR")}, Transient, "INTERNAL_ERROR"},
		{"unknown fault code is permanent", ctx, &soap.HTTPError{StatusCode: 500, ResponseBody: fault("SOMETHING_NEW")}, Permanent, "SOMETHING_NEW"},
		{"bare 429", ctx, &soap.HTTPError{StatusCode: 429, ResponseBody: []byte("slow down")}, RateLimited, "HTTP_429"},
		{"bare 502", ctx, &soap.HTTPError{StatusCode: 502}, Unavailable, "HTTP_502"},
		{"bare 500", ctx, &soap.HTTPError{StatusCode: 500, ResponseBody: []byte("<html>oops</html>")}, Transient, "HTTP_500"},
		{"bare 404", ctx, &soap.HTTPError{StatusCode: 404}, Permanent, "HTTP_404"},
		{"fault with HTTP 200, server", ctx, &soap.SOAPFault{Code: "soap:Server", String: "busy"}, Transient, "soap:Server"},
		{"fault with HTTP 200, client", ctx, &soap.SOAPFault{Code: "soap:Client", String: "bad"}, Permanent, "soap:Client"},
		{"deadline", ctx, fmt.Errorf("post: %w", context.DeadlineExceeded), Transient, CodeTimeout},
		{"truncated answer", ctx, io.ErrUnexpectedEOF, Transient, CodeBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Classify(tt.ctx, "zags", "Op", tt.err)
			var e *Error
			if !errors.As(err, &e) || e.Class != tt.class || e.Code != tt.code {
				t.Fatalf("want %s %s, got %#v", tt.class, tt.code, err)
			}
			if !errors.Is(err, tt.err) {
				t.Fatal("the cause must stay reachable with errors.Is")
			}
		})
	}
	if err := Classify(deadCtx, "zags", "Op", context.Canceled); !errors.Is(err, context.Canceled) || ClassOf(err) != 0 {
		t.Fatalf("a caller's cancellation is not a peer failure: %v", err)
	}
	if Classify(ctx, "zags", "Op", nil) != nil {
		t.Fatal("nil")
	}
}

func TestTransportQuotesActionAndKeepsBytes(t *testing.T) {
	var gotAction, gotUA string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAction, gotUA = r.Header.Get("SOAPAction"), r.Header.Get("User-Agent")
		_, _ = io.WriteString(w, "<ok/>")
	}))
	defer srv.Close()
	var ex *Exchange
	tr := &Transport{Service: "mse", Client: srv.Client(), Hook: func(_ context.Context, e *Exchange) { ex = e }}
	req, _ := http.NewRequest("POST", srv.URL, strings.NewReader("<req/>"))
	req.Header.Set("SOAPAction", "urn:emdhub:mse:v1/SendReferral")
	req.Close = true
	res, err := tr.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	if gotAction != `"urn:emdhub:mse:v1/SendReferral"` || !strings.HasPrefix(gotUA, "emdhub/") || req.Close {
		t.Fatalf("action %s ua %s close %v", gotAction, gotUA, req.Close)
	}
	if string(body) != "<ok/>" || ex == nil || string(ex.Request) != "<req/>" || string(ex.Response) != "<ok/>" || ex.Operation != "SendReferral" {
		t.Fatalf("exchange %+v body %q", ex, body)
	}
	tr.MaxResponseBytes = 3
	req, _ = http.NewRequest("POST", srv.URL, strings.NewReader("<req/>"))
	if _, err := tr.Do(req); err == nil {
		t.Fatal("an oversized answer must fail")
	}
}

func TestMessageIDIsStable(t *testing.T) {
	a, b := MessageID("mse", "pkg-1", "1"), MessageID("mse", "pkg-1", "1")
	if a != b || a == MessageID("mse", "pkg-1", "2") || len(a) != 36 {
		t.Fatalf("%s %s", a, b)
	}
	if MessageID("ab", "c") == MessageID("a", "bc") {
		t.Fatal("parts must not run together")
	}
}

func TestReadRequest(t *testing.T) {
	env := `<?xml version="1.0"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="urn:x"><soapenv:Header><h/></soapenv:Header><soapenv:Body><m:PingRequest><m:V>1</m:V></m:PingRequest></soapenv:Body></soapenv:Envelope>`
	r := httptest.NewRequest("POST", "/soap", strings.NewReader(env))
	r.Header.Set("SOAPAction", `"urn:x/Ping"`)
	req, err := ReadRequest(r)
	if err != nil || req.Operation != "Ping" {
		t.Fatalf("%+v %v", req, err)
	}
	var v struct {
		V string `xml:"urn:x V"`
	}
	if err := req.Decode(&v); err != nil || v.V != "1" {
		t.Fatalf("decode with a prefix declared on the envelope: %+v %v", v, err)
	}
	for _, bad := range []string{"not xml", `<!DOCTYPE x><x/>`, `<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body></soapenv:Body></soapenv:Envelope>`, `<Envelope/>`} {
		if _, err := ReadRequest(httptest.NewRequest("POST", "/soap", strings.NewReader(bad))); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// call runs one real gowsdl call through tr to url within Call.
func call(ctx context.Context, tr *Transport, url string, timeout time.Duration) error {
	type ping struct {
		XMLName xml.Name `xml:"urn:emdhub:zags:v1 PingRequest"`
	}
	type pong struct {
		XMLName xml.Name `xml:"urn:emdhub:zags:v1 PingResponse"`
	}
	c := tr.NewSOAPClient(url)
	return tr.Call(ctx, "Ping", timeout, func(ctx context.Context) error {
		return c.CallContext(ctx, "urn:emdhub:zags:v1/Ping", &ping{}, &pong{})
	})
}

const pongEnvelope = `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><PingResponse xmlns="urn:emdhub:zags:v1"/></s:Body></s:Envelope>`

// TestCallTimeoutBoundsEveryCall: a caller's longer deadline (a job's) does
// not stretch one call past its timeout; the answer arriving later is a
// timeout, not a success.
func TestCallTimeoutBoundsEveryCall(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
		_, _ = io.WriteString(w, pongEnvelope)
	}))
	defer srv.Close()
	defer close(release)
	tr := &Transport{Service: "zags", Client: srv.Client()}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctx, obs := Observe(ctx)
	err := call(ctx, tr, srv.URL, 200*time.Millisecond)
	var e *Error
	if !errors.As(err, &e) || e.Class != Transient || e.Code != CodeTimeout {
		t.Fatalf("want a transient TIMEOUT, got %v", err)
	}
	if obs.Duration < 200*time.Millisecond || obs.Status != 0 {
		t.Fatalf("observation %+v", obs)
	}
}

// TestFaultClassifiedByCode: a ServiceFault is classified by its code
// whatever the HTTP status and faultcode; the status is kept.
func TestFaultClassifiedByCode(t *testing.T) {
	fault := func(code string) string {
		return `<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body><s:Fault><faultcode>s:Server</faultcode><faultstring>refused</faultstring><detail><ServiceFault xmlns="urn:emdhub:zags:v1"><Code>` + code + `</Code><Message>series missing</Message></ServiceFault></detail></s:Fault></s:Body></s:Envelope>`
	}
	tests := []struct {
		status int
		code   string
		class  Class
	}{
		{200, "VALIDATION_ERROR", Permanent},
		{500, "VALIDATION_ERROR", Permanent},
		{200, "RATE_LIMIT", RateLimited},
		{200, "INTERNAL_ERROR", Transient},
		{200, "SERVICE_UNAVAILABLE", Unavailable},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.status, tt.code), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/xml")
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, fault(tt.code))
			}))
			defer srv.Close()
			ctx, obs := Observe(context.Background())
			err := call(ctx, &Transport{Service: "zags", Client: srv.Client()}, srv.URL, time.Second)
			var e *Error
			if !errors.As(err, &e) || e.Class != tt.class || e.Code != tt.code || e.Message != "series missing" || e.HTTPStatus != tt.status {
				t.Fatalf("want %s %s (HTTP %d), got %#v", tt.class, tt.code, tt.status, err)
			}
			if obs.Status != tt.status {
				t.Fatalf("observed status %d", obs.Status)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	now := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"7", 7 * time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"", 0, false},
		{"-3", 0, false},
		{"soon", 0, false},
	}
	for _, tt := range tests {
		if d, ok := ParseRetryAfter(tt.in, now); d != tt.want || ok != tt.ok {
			t.Errorf("%q: got %s %v, want %s %v", tt.in, d, ok, tt.want, tt.ok)
		}
	}
	for _, status := range []int{429, 503} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Retry-After", "42")
			w.WriteHeader(status)
		}))
		err := call(context.Background(), &Transport{Service: "zags", Client: srv.Client()}, srv.URL, time.Second)
		srv.Close()
		var e *Error
		if !errors.As(err, &e) || e.RetryAfter != 42*time.Second || e.HTTPStatus != status {
			t.Fatalf("HTTP %d: want Retry-After 42s, got %#v", status, err)
		}
	}
}

func TestObservationOfSuccess(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, pongEnvelope) }))
	defer srv.Close()
	ctx, obs := Observe(context.Background())
	if err := call(ctx, &Transport{Service: "zags", Client: srv.Client()}, srv.URL, time.Second); err != nil {
		t.Fatal(err)
	}
	if obs.Status != 200 || obs.Duration <= 0 {
		t.Fatalf("observation %+v", obs)
	}
}
