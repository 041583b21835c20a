package soapx

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/hooklift/gowsdl/soap"
)

// Class says what the workflow should do about a failed call.
type Class int

// Failure classes. Duplicates are not failures: a peer answers a repeated
// message id with its original receipt, and the adapters report that as a
// success flagged Duplicate.
const (
	// Transient: retry with back-off (timeouts, resets, 5xx, INTERNAL_ERROR).
	Transient Class = iota + 1
	// Unavailable: the peer is down (connection refused, 503,
	// SERVICE_UNAVAILABLE); retry later, and count towards its circuit breaker.
	Unavailable
	// RateLimited: the peer asks us to slow down (429, RATE_LIMIT); snooze.
	RateLimited
	// Permanent: the same request will be refused again (validation, business
	// refusal, unknown document, or a fault code we do not know); stop and
	// show the reason. Never resend.
	Permanent
)

func (c Class) String() string {
	switch c {
	case Transient:
		return "transient"
	case Unavailable:
		return "unavailable"
	case RateLimited:
		return "rate_limited"
	case Permanent:
		return "permanent"
	}
	return "unknown"
}

// Synthetic codes for failures that carry no fault code.
const (
	CodeTimeout     = "TIMEOUT"
	CodeRefused     = "CONNECTION_REFUSED"
	CodeNetwork     = "NETWORK_ERROR"
	CodeBadResponse = "BAD_RESPONSE"
	CodeHTTPPrefix  = "HTTP_"
)

// Error is a classified failure of one call.
type Error struct {
	Service    string
	Operation  string
	Class      Class
	Code       string // the peer's fault code, or a synthetic code above
	Message    string
	HTTPStatus int
	// RetryAfter is the peer's Retry-After (429/503), 0 if it gave none.
	RetryAfter time.Duration
	Err        error
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("%s %s: %s %s", e.Service, e.Operation, e.Class, e.Code)
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

// ClassOf returns the class of err, or 0 if it is not an *Error.
func ClassOf(err error) Class {
	var e *Error
	if errors.As(err, &e) {
		return e.Class
	}
	return 0
}

// FaultClasses maps the fault codes shared by the hub's contracts to classes.
// Codes not listed are Permanent: a code we do not understand means the
// contract moved, and resending blindly is exactly the waste the hub exists
// to stop.
var FaultClasses = map[string]Class{
	"VALIDATION_ERROR":    Permanent,
	"INCOMPLETE_PACKAGE":  Permanent,
	"UNKNOWN_CASE":        Permanent,
	"ACCESS_DENIED":       Permanent,
	"REFUSED":             Permanent,
	"NOT_FOUND":           Permanent,
	"NO_PORTAL_ACCOUNT":   Permanent,
	"RATE_LIMIT":          RateLimited,
	"SERVICE_UNAVAILABLE": Unavailable,
	"INTERNAL_ERROR":      Transient,
}

// Fault is a SOAP 1.1 fault with the hub's ServiceFault detail, in any namespace.
type Fault struct {
	FaultCode   string
	FaultString string
	Code        string
	Message     string
}

// ParseFault decodes a SOAP fault envelope; ok is false if b holds none.
func ParseFault(b []byte) (Fault, bool) {
	var env struct {
		Body struct {
			Fault *struct {
				Code   string `xml:"faultcode"`
				String string `xml:"faultstring"`
				Detail struct {
					ServiceFault struct {
						Code    string `xml:"Code"`
						Message string `xml:"Message"`
					} `xml:"ServiceFault"`
				} `xml:"detail"`
			} `xml:"Fault"`
		} `xml:"Body"`
	}
	if err := xml.Unmarshal(b, &env); err != nil || env.Body.Fault == nil {
		return Fault{}, false
	}
	f := env.Body.Fault
	return Fault{FaultCode: f.Code, FaultString: f.String, Code: strings.TrimSpace(f.Detail.ServiceFault.Code), Message: f.Detail.ServiceFault.Message}, true
}

// Classify turns whatever a gowsdl call returned into an *Error. ctx is the
// call's context: its deadline passing is a timeout, its cancellation is
// returned as is (the caller gave up; nothing to classify).
func Classify(ctx context.Context, service, op string, err error) error {
	return ClassifyResponse(ctx, service, op, err, 0, nil, nil)
}

// ClassifyResponse is Classify with what the transport saw: the HTTP status,
// the raw response body (a fault's ServiceFault code decides its class
// whatever the status, 200 included, where gowsdl drops the detail) and the
// headers (Retry-After of a 429 or 503).
func ClassifyResponse(ctx context.Context, service, op string, err error, status int, body []byte, header http.Header) error {
	if err == nil {
		return nil
	}
	e := classify(ctx, service, op, err, body)
	ce, ok := e.(*Error)
	if !ok {
		return e
	}
	if ce.HTTPStatus == 0 {
		ce.HTTPStatus = status
	}
	if ce.HTTPStatus == http.StatusTooManyRequests || ce.HTTPStatus == http.StatusServiceUnavailable {
		if d, ok := ParseRetryAfter(header.Get("Retry-After"), time.Now()); ok {
			ce.RetryAfter = d
		}
	}
	return ce
}

// ParseRetryAfter reads a Retry-After value: delay seconds or an HTTP date
// (RFC 9110 §10.2.3). A date in the past is a zero delay.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 || n > 1<<31 {
			return 0, false
		}
		return time.Duration(n) * time.Second, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	if d := t.Sub(now); d > 0 {
		return d.Round(time.Second), true
	}
	return 0, true
}

func classify(ctx context.Context, service, op string, err error, body []byte) error {
	e := &Error{Service: service, Operation: op, Err: err}
	var httpErr *soap.HTTPError
	var fault *soap.SOAPFault
	var netErr net.Error
	switch {
	case errors.Is(err, context.Canceled) && ctx.Err() == context.Canceled:
		return err
	case errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &netErr) && netErr.Timeout()):
		e.Class, e.Code, e.Message = Transient, CodeTimeout, "no answer before the call's deadline"
	case errors.Is(err, syscall.ECONNREFUSED):
		e.Class, e.Code, e.Message = Unavailable, CodeRefused, "connection refused: the peer is down"
	case errors.As(err, &httpErr):
		e.HTTPStatus = httpErr.StatusCode
		if f, ok := ParseFault(httpErr.ResponseBody); ok && f.Code != "" {
			e.Code, e.Message = f.Code, f.Message
			e.Class = classOfCode(f.Code)
		} else {
			e.Code = fmt.Sprintf("%s%d", CodeHTTPPrefix, httpErr.StatusCode)
			e.Message = strings.TrimSpace(truncate(string(httpErr.ResponseBody), 200))
			e.Class = classOfStatus(httpErr.StatusCode)
		}
	case errors.As(err, &fault):
		// A fault with HTTP 200: gowsdl decodes it but drops our detail, so
		// the code comes from the raw bytes; only a fault without one falls
		// back on soap:Server (transient) / soap:Client (permanent).
		e.HTTPStatus = http.StatusOK
		if f, ok := ParseFault(body); ok && f.Code != "" {
			e.Code, e.Message = f.Code, f.Message
			e.Class = classOfCode(f.Code)
			break
		}
		e.Code, e.Message = fault.Code, fault.String
		e.Class = Permanent
		if strings.HasSuffix(fault.Code, "Server") {
			e.Class = Transient
		}
	case errors.As(err, &netErr):
		e.Class, e.Code, e.Message = Transient, CodeNetwork, err.Error()
	default:
		var syntaxErr *xml.SyntaxError
		var unmarshalErr xml.UnmarshalError
		if errors.As(err, &syntaxErr) || errors.As(err, &unmarshalErr) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) ||
			strings.Contains(err.Error(), "expected element") {
			e.Class, e.Code, e.Message = Transient, CodeBadResponse, err.Error()
		} else {
			e.Class, e.Code, e.Message = Transient, CodeNetwork, err.Error()
		}
	}
	return e
}

func classOfCode(code string) Class {
	if c, ok := FaultClasses[code]; ok {
		return c
	}
	return Permanent
}

func classOfStatus(status int) Class {
	switch {
	case status == http.StatusTooManyRequests:
		return RateLimited
	case status == http.StatusServiceUnavailable || status == http.StatusBadGateway:
		return Unavailable
	case status >= 500 || status == http.StatusRequestTimeout:
		return Transient
	default:
		return Permanent
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
