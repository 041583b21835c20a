package soapx

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
