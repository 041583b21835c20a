package soapx

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// EnvelopeNS is the SOAP 1.1 envelope namespace (the only version gowsdl speaks).
const EnvelopeNS = "http://schemas.xmlsoap.org/soap/envelope/"

// Envelope12NS is the SOAP 1.2 envelope namespace, which the hub's services
// do not speak.
const Envelope12NS = "http://www.w3.org/2003/05/soap-envelope"

// ErrVersionMismatch is an Envelope in a namespace other than SOAP 1.1's
// (SOAP 1.2's, typically): SOAP 1.1 §4.4.1 answers it with a VersionMismatch
// fault, not a Client fault.
var ErrVersionMismatch = errors.New("soapx: the Envelope is not SOAP 1.1 (namespace " + EnvelopeNS + ")")

// MaxRequestBytes caps a request body read by a SOAP server here (64 MiB).
const MaxRequestBytes = 64 << 20

// Request is an inbound SOAP call: the operation (from SOAPAction, or the
// payload element's name) and the decoder positioned at the payload.
type Request struct {
	Operation string
	Payload   xml.StartElement
	Raw       []byte
	dec       *xml.Decoder
}

// ReadRequest reads and checks a SOAP 1.1 request and positions a decoder at
// the first element inside Body. Directives (DOCTYPE) are refused.
func ReadRequest(r *http.Request) (*Request, error) {
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("soapx: method %s, want POST", r.Method)
	}
	raw, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBytes+1))
	if err != nil {
		return nil, fmt.Errorf("soapx: read request: %w", err)
	}
	if len(raw) > MaxRequestBytes {
		return nil, fmt.Errorf("soapx: request larger than %d bytes", MaxRequestBytes)
	}
	dec, payload, err := findPayload(raw)
	if err != nil {
		return nil, err
	}
	op := Operation(r.Header.Get("SOAPAction"))
	if op == "" {
		op = strings.TrimSuffix(payload.Name.Local, "Request")
	}
	return &Request{Operation: op, Payload: payload, Raw: raw, dec: dec}, nil
}

// findPayload positions a decoder of a SOAP 1.1 envelope at the first
// element inside Body.
func findPayload(raw []byte) (*xml.Decoder, xml.StartElement, error) {
	dec := xml.NewDecoder(bytes.NewReader(raw))
	inBody, inEnvelope := false, false
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, xml.StartElement{}, fmt.Errorf("soapx: malformed envelope: %w", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, xml.StartElement{}, errors.New("soapx: DOCTYPE is not allowed")
		case xml.StartElement:
			switch {
			case !inEnvelope && t.Name.Local == "Envelope" && t.Name.Space != EnvelopeNS:
				return nil, xml.StartElement{}, fmt.Errorf("%w: got %q", ErrVersionMismatch, t.Name.Space)
			case !inEnvelope && t.Name.Space == EnvelopeNS && t.Name.Local == "Envelope":
				inEnvelope = true
			case inEnvelope && !inBody && t.Name.Space == EnvelopeNS && t.Name.Local == "Header":
				if err := dec.Skip(); err != nil {
					return nil, xml.StartElement{}, fmt.Errorf("soapx: malformed header: %w", err)
				}
			case inEnvelope && !inBody && t.Name.Space == EnvelopeNS && t.Name.Local == "Body":
				inBody = true
			case inBody:
				return dec, t, nil
			default:
				return nil, xml.StartElement{}, fmt.Errorf("soapx: unexpected element {%s}%s, want a SOAP 1.1 Envelope", t.Name.Space, t.Name.Local)
			}
		case xml.EndElement:
			if inBody {
				return nil, xml.StartElement{}, errors.New("soapx: empty Body")
			}
		}
	}
}

// PayloadDecoder returns a fresh decoder positioned just after the payload's
// start element (which it also returns), for a second pass over the payload,
// such as schema validation, that must not consume the decoder Decode uses.
func (r *Request) PayloadDecoder() (*xml.Decoder, xml.StartElement, error) {
	return findPayload(r.Raw)
}

// Decode unmarshals the payload into v (a generated request type).
func (r *Request) Decode(v any) error {
	if err := r.dec.DecodeElement(v, &r.Payload); err != nil {
		return fmt.Errorf("soapx: decode %s: %w", r.Payload.Name.Local, err)
	}
	return nil
}

type outEnvelope struct {
	XMLName xml.Name `xml:"soapenv:Envelope"`
	NS      string   `xml:"xmlns:soapenv,attr"`
	Body    struct {
		Content any
	} `xml:"soapenv:Body"`
}

// Marshal renders payload in a SOAP 1.1 envelope.
func Marshal(payload any) ([]byte, error) {
	env := outEnvelope{NS: EnvelopeNS}
	env.Body.Content = payload
	var b bytes.Buffer
	b.WriteString(xml.Header)
	if err := xml.NewEncoder(&b).Encode(env); err != nil {
		return nil, fmt.Errorf("soapx: marshal: %w", err)
	}
	return b.Bytes(), nil
}

// WriteRaw writes an already rendered envelope.
func WriteRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", `text/xml; charset="utf-8"`)
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

type faultBody struct {
	XMLName xml.Name     `xml:"soapenv:Fault"`
	Code    string       `xml:"faultcode"`
	String  string       `xml:"faultstring"`
	Detail  *faultDetail `xml:"detail,omitempty"`
}

type faultDetail struct {
	Content any
}

// SOAP 1.1 fault codes (§4.4.1), with the prefix Marshal binds to EnvelopeNS.
const (
	FaultClient          = "soapenv:Client"
	FaultServer          = "soapenv:Server"
	FaultVersionMismatch = "soapenv:VersionMismatch"
)

// MarshalFault renders a SOAP 1.1 fault whose detail is the service's
// ServiceFault element (a generated type). faultcode is soapenv:Client for
// the caller's errors and soapenv:Server for ours.
func MarshalFault(server bool, faultString string, detail any) ([]byte, error) {
	code := FaultClient
	if server {
		code = FaultServer
	}
	return MarshalFaultCode(code, faultString, detail)
}

// MarshalFaultCode renders a SOAP 1.1 fault with any faultcode; a nil
// detail leaves the detail element out (SOAP 1.1 forbids it on faults that
// are not about the Body, such as VersionMismatch).
func MarshalFaultCode(faultCode, faultString string, detail any) ([]byte, error) {
	f := faultBody{Code: faultCode, String: faultString}
	if detail != nil {
		f.Detail = &faultDetail{Content: detail}
	}
	return Marshal(&f)
}
