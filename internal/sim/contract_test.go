package sim

import (
	"bytes"
	"encoding/xml"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/soapx"
	"github.com/emdhub/hub/internal/xsdcheck"
	"github.com/emdhub/hub/wsdl"
)

// golden returns a contract's golden request (adapters/<svc>/testdata),
// schema-valid, as the hub's adapters put it on the wire.
func golden(t *testing.T, svc, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "adapters", svc, "testdata", name+".xml"))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func envelope(body string) string {
	return `<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>` + body + `</soapenv:Body></soapenv:Envelope>`
}

// post sends a raw SOAP request and returns the status and body.
func post(t *testing.T, url, action, env string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("POST", url+"/soap", strings.NewReader(env))
	req.Header.Set("Content-Type", "text/xml; charset=utf-8")
	if action != "" {
		req.Header.Set("SOAPAction", action)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// faultDetail extracts the ServiceFault element of a fault envelope.
func faultDetail(t *testing.T, b []byte) []byte {
	t.Helper()
	m := regexp.MustCompile(`(?s)<detail>(.*)</detail>`).FindSubmatch(b)
	if m == nil {
		t.Fatalf("no detail in %s", b)
	}
	return m[1]
}

// TestSchemaInvalidRequestsAreRefused: a request the contract's XSD refuses
// gets the VALIDATION_ERROR fault (HTTP 500, soapenv:Client, ServiceFault
// detail valid against the same XSD) naming the element and the facet, and
// is never processed.
func TestSchemaInvalidRequestsAreRefused(t *testing.T) {
	set := NewSet()
	zagsReq := golden(t, "zags", "SubmitMedicalCertificateRequest")
	for _, tt := range []struct {
		name, peer, action, body, path, facet string
	}{
		{"non-UUID MessageID", "zags", "", strings.Replace(zagsReq, "0b5e7c2a-3f7d-5d1e-8a4b-9c0d1e2f3a4b", "msg-1", 1), "/SubmitMedicalCertificateRequest/MessageID", "pattern"},
		{"unknown certificate type", "zags", "", strings.Replace(zagsReq, "DEATH", "MARRIAGE", 1), "/SubmitMedicalCertificateRequest/CertificateType", "enumeration"},
		{"Limit=0", "mse", "", `<FetchResultsRequest xmlns="urn:emdhub:mse:v1"><Limit>0</Limit></FetchResultsRequest>`, "/FetchResultsRequest/Limit", "minInclusive"},
		{"Limit=101", "mse", "", `<FetchResultsRequest xmlns="urn:emdhub:mse:v1"><Limit>101</Limit></FetchResultsRequest>`, "/FetchResultsRequest/Limit", "maxInclusive"},
		{"missing MessageID", "policy", "", `<FindPolicyRequest xmlns="urn:emdhub:policy:v1"><SNILS>11223344595</SNILS></FindPolicyRequest>`, "/FindPolicyRequest", "minOccurs"},
		{"extra element", "epgu", "", strings.Replace(golden(t, "epgu", "SendNotificationRequest"), "<Text>", "<Priority>HIGH</Priority><Text>", 1), "/SendNotificationRequest", "sequence"},
		{"wrong order", "provider", "", `<GetDocumentRequest xmlns="urn:emdhub:provider:v1"><CDAIDRoot>1.2.3</CDAIDRoot><MessageID>0b5e7c2a-3f7d-5d1e-8a4b-9c0d1e2f3a4b</MessageID><CDAIDExtension>x</CDAIDExtension></GetDocumentRequest>`, "/GetDocumentRequest", "minOccurs"},
		{"body of another operation", "mse", `"urn:emdhub:mse:v1/FetchResults"`, `<GetReferralStatusRequest xmlns="urn:emdhub:mse:v1"><CaseID>MSE-000001</CaseID></GetReferralStatusRequest>`, "GetReferralStatusRequest", "FetchResultsRequest"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p := set.peers()[tt.peer]
			srv := httptest.NewServer(p)
			defer srv.Close()
			p.ResetCounters()
			status, b := post(t, srv.URL, tt.action, envelope(tt.body))
			f, ok := soapx.ParseFault(b)
			if status != http.StatusInternalServerError || !ok || f.FaultCode != soapx.FaultClient || f.Code != "VALIDATION_ERROR" {
				t.Fatalf("want HTTP 500 with a VALIDATION_ERROR client fault, got %d %+v\n%s", status, f, b)
			}
			if !strings.Contains(f.Message, tt.path) || !strings.Contains(f.Message, tt.facet) {
				t.Fatalf("the message must name %s and %s: %q", tt.path, tt.facet, f.Message)
			}
			if err := p.schema.ValidateDocument(bytes.NewReader(faultDetail(t, b))); err != nil {
				t.Fatalf("the fault's detail breaks the contract: %v", err)
			}
			for op, c := range p.Counters() {
				if c.Unique != 0 || c.Faults["invalid"] != 1 {
					t.Fatalf("%s: an invalid request is counted as invalid and never processed: %+v", op, c)
				}
			}
		})
	}
	// The golden requests pass the schema (whatever the peer then makes of them).
	for _, g := range []struct{ peer, name string }{{"zags", "SubmitMedicalCertificateRequest"}, {"mse", "SendReferralRequest"}, {"mse", "FetchResultsRequest"}, {"mse", "AckResultsRequest"}, {"mse", "GetReferralStatusRequest"}, {"epgu", "SendNotificationRequest"}, {"provider", "GetDocumentRequest"}, {"policy", "FindPolicyRequest"}} {
		srv := httptest.NewServer(set.peers()[g.peer])
		_, b := post(t, srv.URL, "", envelope(golden(t, g.peer, g.name)))
		srv.Close()
		if f, _ := soapx.ParseFault(b); strings.Contains(f.Message, "schema") {
			t.Errorf("%s %s refused by the schema: %s", g.peer, g.name, f.Message)
		}
	}
}

// TestSOAP12GetsVersionMismatch: a SOAP 1.2 envelope gets the SOAP 1.1
// VersionMismatch fault, as SOAP 1.1 §4.4.1 says, not a Client fault.
func TestSOAP12GetsVersionMismatch(t *testing.T) {
	srv := httptest.NewServer(NewPolicyRegistry())
	defer srv.Close()
	env := `<?xml version="1.0"?><env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope"><env:Body>` + golden(t, "policy", "FindPolicyRequest") + `</env:Body></env:Envelope>`
	status, b := post(t, srv.URL, "", env)
	f, ok := soapx.ParseFault(b)
	if status != http.StatusInternalServerError || !ok || f.FaultCode != soapx.FaultVersionMismatch || !bytes.Contains(b, []byte(soapx.EnvelopeNS)) {
		t.Fatalf("%d %+v\n%s", status, f, b)
	}
}

// TestWSDLIsServed: GET /soap?wsdl serves the contract whose soap:address is
// the /soap this server answers on, and the schema it includes is reachable
// at the schemaLocation resolved against the WSDL's URL.
func TestWSDLIsServed(t *testing.T) {
	set := NewSet()
	for name, h := range set.Handlers() {
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(h)
			defer srv.Close()
			for _, q := range []string{"?wsdl", "?WSDL"} {
				wsdlURL := srv.URL + "/soap" + q
				b := get(t, wsdlURL, http.StatusOK)
				var doc struct {
					Types struct {
						Schema struct {
							Include struct {
								Location string `xml:"schemaLocation,attr"`
							} `xml:"http://www.w3.org/2001/XMLSchema include"`
						} `xml:"http://www.w3.org/2001/XMLSchema schema"`
					} `xml:"types"`
					Service struct {
						Port struct {
							Address struct {
								Location string `xml:"location,attr"`
							} `xml:"http://schemas.xmlsoap.org/wsdl/soap/ address"`
						} `xml:"port"`
					} `xml:"service"`
				}
				if err := xml.Unmarshal(b, &doc); err != nil {
					t.Fatal(err)
				}
				if got := doc.Service.Port.Address.Location; got != srv.URL+"/soap" {
					t.Fatalf("soap:address %q, want %q", got, srv.URL+"/soap")
				}
				base, _ := url.Parse(wsdlURL)
				ref, err := url.Parse(doc.Types.Schema.Include.Location)
				if err != nil || doc.Types.Schema.Include.Location == "" {
					t.Fatalf("include %q: %v", doc.Types.Schema.Include.Location, err)
				}
				xsd := get(t, base.ResolveReference(ref).String(), http.StatusOK)
				want, _ := wsdl.FS.ReadFile(name + "/" + name + ".xsd")
				if !bytes.Equal(xsd, want) {
					t.Fatalf("the included schema is not %s.xsd", name)
				}
				if _, err := xsdcheck.Parse(bytes.NewReader(xsd)); err != nil {
					t.Fatal(err)
				}
			}
			get(t, srv.URL+"/soap", http.StatusMethodNotAllowed)
		})
	}
}

func get(t *testing.T, url string, want int) []byte {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("GET %s: %d, want %d\n%s", url, res.StatusCode, want, b)
	}
	return b
}

// TestFaultCodesAreInTheContracts: every fault code a simulator can send
// (each `Code: "X"` in its source, and the shared ones in peer.go) is in its
// contract's FaultCode enumeration, so a schema-validating hub could read it.
func TestFaultCodesAreInTheContracts(t *testing.T) {
	codeRE := regexp.MustCompile(`Code: "([A-Z_]+)"`)
	codes := func(file string) []string {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range codeRE.FindAllSubmatch(b, -1) {
			out = append(out, string(m[1]))
		}
		return out
	}
	shared := codes("peer.go")
	if len(shared) < 4 {
		t.Fatalf("peer.go: found only %v", shared)
	}
	set := NewSet()
	for file, peer := range map[string]*Peer{"mse.go": set.Bureau.Peer, "zags.go": set.Registry.Peer, "epgu.go": set.Portal.Peer, "provider.go": set.Provider.Peer, "policy.go": set.Policy.Peer} {
		for _, code := range append(codes(file), shared...) {
			b, err := xml.Marshal(peer.NewFault(code, "why"))
			if err != nil {
				t.Fatal(err)
			}
			if err := peer.schema.ValidateDocument(bytes.NewReader(b)); err != nil {
				t.Errorf("%s sends %s, which its contract does not list: %v", peer.Name, code, err)
			}
		}
	}
}
