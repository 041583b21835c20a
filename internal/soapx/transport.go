// Package soapx is the SOAP plumbing shared by every adapter and simulator.
//
// Client side, Transport is the soap.HTTPClient handed to gowsdl's
// soap.Client. It fixes what gowsdl v0.5.0 gets wrong on the wire for our
// contracts and gives the hub one place to watch every exchange:
//   - one shared keep-alive *http.Client (gowsdl sets req.Close and would
//     otherwise build a new transport per call when given no client);
//   - SOAPAction quoted as WS-I Basic Profile requires (gowsdl sends it bare);
//   - a User-Agent that names the hub;
//   - the raw request and response bytes, status and duration handed to a
//     Hook (the exchange log), with a cap on response size;
//   - faults decoded and classified by their ServiceFault code whatever the
//     HTTP status: with 500 (the SOAP 1.1 norm) gowsdl returns an opaque
//     *soap.HTTPError, with 200 a *soap.SOAPFault without our detail, so
//     Call parses the raw response bytes it kept (ClassifyResponse);
//   - every call bounded by CallTimeout, whatever deadline the caller has;
//   - the HTTP status, elapsed time and Retry-After of each call kept in an
//     Observation the caller may put in the context (the exchange log).
//
// Server side (simulators), ReadRequest and WriteResponse/WriteFault speak
// SOAP 1.1 with the same generated types.
package soapx

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/hooklift/gowsdl/soap"
)

// Exchange is one SOAP call as seen on the wire.
type Exchange struct {
	Service   string
	Operation string
	URL       string
	Request   []byte
	Response  []byte
	Status    int // 0 when no response arrived
	Started   time.Time
	Duration  time.Duration
	Err       error // transport error, if any
}

// Hook receives every exchange after it ends. It runs on the caller's
// goroutine, so it must be quick (the exchange log queues, it does not block).
type Hook func(ctx context.Context, ex *Exchange)

// DefaultMaxResponseBytes caps a response read into memory (64 MiB).
const DefaultMaxResponseBytes = 64 << 20

// NewHTTPClient is the shared keep-alive client for all adapters: pooled
// connections per peer, dial and TLS handshake timeouts; no overall timeout,
// because each call's deadline comes from its context.
func NewHTTPClient() *http.Client {
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   64,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
	return &http.Client{Transport: tr}
}

// Transport adapts a shared *http.Client for one service's gowsdl client.
type Transport struct {
	Service          string
	Client           *http.Client
	Hook             Hook
	MaxResponseBytes int64
	UserAgent        string
}

// Do implements soap.HTTPClient.
func (t *Transport) Do(req *http.Request) (*http.Response, error) {
	if a := req.Header.Get("SOAPAction"); a != "" && !strings.HasPrefix(a, `"`) {
		req.Header.Set("SOAPAction", `"`+a+`"`)
	}
	req.Close = false
	ua := t.UserAgent
	if ua == "" {
		ua = "emdhub/1 (" + t.Service + ")"
	}
	req.Header.Set("User-Agent", ua)
	ex := &Exchange{Service: t.Service, Operation: Operation(req.Header.Get("SOAPAction")), URL: req.URL.String(), Started: time.Now()}
	if req.GetBody != nil {
		if rc, err := req.GetBody(); err == nil {
			ex.Request, _ = io.ReadAll(rc)
			rc.Close()
		}
	}
	obs := observationOf(req.Context())
	res, err := t.Client.Do(req)
	if err != nil {
		ex.Duration, ex.Err = time.Since(ex.Started), err
		obs.set(ex, nil)
		t.hook(req.Context(), ex)
		return nil, err
	}
	max := t.MaxResponseBytes
	if max <= 0 {
		max = DefaultMaxResponseBytes
	}
	body, err := io.ReadAll(io.LimitReader(res.Body, max+1))
	res.Body.Close()
	ex.Status, ex.Response, ex.Duration = res.StatusCode, body, time.Since(ex.Started)
	if err == nil && int64(len(body)) > max {
		err = fmt.Errorf("soapx: %s response larger than %d bytes", t.Service, max)
	}
	obs.set(ex, res.Header)
	if err != nil {
		ex.Err = err
		t.hook(req.Context(), ex)
		return nil, err
	}
	t.hook(req.Context(), ex)
	res.Body = io.NopCloser(bytes.NewReader(body))
	res.ContentLength = int64(len(body))
	return res, nil
}

func (t *Transport) hook(ctx context.Context, ex *Exchange) {
	if t.Hook != nil {
		t.Hook(ctx, ex)
	}
}

// Operation extracts the operation name from a SOAPAction ("urn:x:v1/Op" → "Op").
func Operation(action string) string {
	action = strings.Trim(action, `"`)
	if i := strings.LastIndexAny(action, "/#"); i >= 0 {
		return action[i+1:]
	}
	return action
}

// NewSOAPClient builds a gowsdl client for url on this transport.
func (t *Transport) NewSOAPClient(url string) *soap.Client {
	return soap.NewClient(url, soap.WithHTTPClient(t))
}

// DefaultCallTimeout bounds a call when no timeout is configured.
const DefaultCallTimeout = 30 * time.Second

// Observation is what the transport saw of one call: filled by Do, read by
// the caller after Call returns (the exchange log records status and time of
// every call, failed or not). One Observation serves one call at a time.
type Observation struct {
	Status   int // HTTP status; 0 when no response arrived
	Duration time.Duration
	Response []byte      // raw response body
	Header   http.Header // response headers
}

type observationKey struct{}

// Observe returns ctx carrying a fresh Observation for the next call made with it.
func Observe(ctx context.Context) (context.Context, *Observation) {
	o := &Observation{}
	return context.WithValue(ctx, observationKey{}, o), o
}

func observationOf(ctx context.Context) *Observation {
	o, _ := ctx.Value(observationKey{}).(*Observation)
	return o
}

func (o *Observation) set(ex *Exchange, h http.Header) {
	if o == nil {
		return
	}
	o.Status, o.Duration, o.Response, o.Header = ex.Status, ex.Duration, ex.Response, h
}

// Call runs one generated-port call and classifies its failure. The call
// always ends by timeout (default DefaultCallTimeout) or the context's own
// deadline, whichever comes first: a caller's longer deadline (a job's, made
// for several calls) never lets one slow answer through.
func (t *Transport) Call(ctx context.Context, op string, timeout time.Duration, f func(ctx context.Context) error) error {
	if timeout <= 0 {
		timeout = DefaultCallTimeout
	}
	obs := observationOf(ctx)
	if obs == nil {
		ctx, obs = Observe(ctx)
	}
	*obs = Observation{}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	start := time.Now()
	err := f(cctx)
	if obs.Duration == 0 {
		obs.Duration = time.Since(start)
	}
	return ClassifyResponse(cctx, t.Service, op, err, obs.Status, obs.Response, obs.Header)
}

// Options configure an adapter client.
type Options struct {
	// HTTPClient is shared by all adapters (NewHTTPClient). Default: a new one.
	HTTPClient *http.Client
	// Hook receives every exchange (the exchange log).
	Hook Hook
	// CallTimeout bounds every call (the context's deadline may end it
	// sooner). Default 30s.
	CallTimeout time.Duration
}

// NewTransport builds the transport of one service from options.
func (o Options) NewTransport(service string) *Transport {
	c := o.HTTPClient
	if c == nil {
		c = NewHTTPClient()
	}
	return &Transport{Service: service, Client: c, Hook: o.Hook}
}
