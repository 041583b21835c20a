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
	dec := xml.NewDecoder(bytes.NewReader(raw))
	inBody := false
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("soapx: malformed envelope: %w", err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, errors.New("soapx: DOCTYPE is not allowed")
		case xml.StartElement:
			switch {
			case !inBody && t.Name.Space == EnvelopeNS && t.Name.Local == "Envelope":
			case !inBody && t.Name.Space == EnvelopeNS && t.Name.Local == "Header":
				if err := dec.Skip(); err != nil {
					return nil, fmt.Errorf("soapx: malformed header: %w", err)
				}
			case !inBody && t.Name.Space == EnvelopeNS && t.Name.Local == "Body":
				inBody = true
			case inBody:
				op := Operation(r.Header.Get("SOAPAction"))
				if op == "" {
					op = strings.TrimSuffix(t.Name.Local, "Request")
				}
				return &Request{Operation: op, Payload: t, Raw: raw, dec: dec}, nil
			default:
				return nil, fmt.Errorf("soapx: unexpected element {%s}%s, want a SOAP 1.1 Envelope", t.Name.Space, t.Name.Local)
			}
		case xml.EndElement:
			if inBody {
				return nil, errors.New("soapx: empty Body")
			}
		}
	}
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
	XMLName xml.Name `xml:"soapenv:Fault"`
	Code    string   `xml:"faultcode"`
	String  string   `xml:"faultstring"`
	Detail  struct {
		Content any
	} `xml:"detail"`
}

// MarshalFault renders a SOAP 1.1 fault whose detail is the service's
// ServiceFault element (a generated type). faultcode is soapenv:Client for
// the caller's errors and soapenv:Server for ours.
func MarshalFault(server bool, faultString string, detail any) ([]byte, error) {
	f := faultBody{Code: "soapenv:Client", String: faultString}
	if server {
		f.Code = "soapenv:Server"
	}
	f.Detail.Content = detail
	return Marshal(&f)
}
