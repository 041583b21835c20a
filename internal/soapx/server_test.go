package soapx

import (
	"bytes"
	"encoding/xml"
	"errors"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReadRequestSOAP12IsAVersionMismatch(t *testing.T) {
	for _, env := range []string{
		`<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body><m:PingRequest xmlns:m="urn:x"/></env:Body></env:Envelope>`,
		`<Envelope><Body/></Envelope>`,
	} {
		_, err := ReadRequest(httptest.NewRequest("POST", "/soap", strings.NewReader(env)))
		if !errors.Is(err, ErrVersionMismatch) {
			t.Errorf("%s: %v", env, err)
		}
	}
	_, err := ReadRequest(httptest.NewRequest("POST", "/soap", strings.NewReader(`<x:Other xmlns:x="urn:x"/>`)))
	if err == nil || errors.Is(err, ErrVersionMismatch) {
		t.Fatalf("a root that is no Envelope is a client error: %v", err)
	}
}

func TestPayloadDecoderIsASecondPass(t *testing.T) {
	env := `<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" xmlns:m="urn:x"><s:Body><m:PingRequest><m:V>1</m:V></m:PingRequest></s:Body></s:Envelope>`
	req, err := ReadRequest(httptest.NewRequest("POST", "/soap", strings.NewReader(env)))
	if err != nil {
		t.Fatal(err)
	}
	dec, start, err := req.PayloadDecoder()
	if err != nil || start.Name != (xml.Name{Space: "urn:x", Local: "PingRequest"}) {
		t.Fatalf("%v %v", start, err)
	}
	if err := dec.Skip(); err != nil {
		t.Fatal(err)
	}
	var v struct {
		V string `xml:"urn:x V"`
	}
	if err := req.Decode(&v); err != nil || v.V != "1" {
		t.Fatalf("the first decoder is untouched by the second pass: %+v %v", v, err)
	}
}

func TestMarshalFaultCode(t *testing.T) {
	b, err := MarshalFaultCode(FaultVersionMismatch, "want SOAP 1.1", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("<faultcode>soapenv:VersionMismatch</faultcode>")) || bytes.Contains(b, []byte("detail")) {
		t.Fatalf("%s", b)
	}
	f, ok := ParseFault(b)
	if !ok || f.FaultCode != FaultVersionMismatch {
		t.Fatalf("%+v", f)
	}
}
