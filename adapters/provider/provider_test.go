package provider_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/emdhub/hub/adapters/provider"
	"github.com/emdhub/hub/adapters/provider/providersoap"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/signed"
	"github.com/emdhub/hub/internal/sim"
	"github.com/emdhub/hub/internal/soapx"
	"github.com/emdhub/hub/internal/soapx/soaptest"
)

func TestGetDocument(t *testing.T) {
	p := sim.NewProvider()
	srv := httptest.NewServer(p)
	defer srv.Close()
	c := provider.New(srv.URL+"/soap", soapx.Options{})
	ctx := context.Background()
	ok := semdgen.MustBuild(semdgen.Options{Kind: "119"}).Signed()
	flaky := semdgen.MustBuild(semdgen.Options{Kind: "186"}).Signed()
	broken := semdgen.MustBuild(semdgen.Options{Kind: "174"}).Signed()
	p.Add(0, ok)
	p.Add(2, flaky)
	p.Add(-1, broken)

	got, err := c.GetDocument(ctx, soapx.MessageID("1"), ok.Root, ok.Extension)
	if err != nil || string(got.Content) != string(ok.Content) || len(got.Signatures) != 2 || got.Kind != "119" {
		t.Fatalf("get: %v", err)
	}
	for i := 1; i <= 3; i++ {
		_, err := c.GetDocument(ctx, soapx.MessageID("f", string(rune(i))), flaky.Root, flaky.Extension)
		if i <= 2 && soapx.ClassOf(err) != soapx.Unavailable {
			t.Fatalf("attempt %d: want unavailable, got %v", i, err)
		}
		if i == 3 && err != nil {
			t.Fatalf("attempt 3 must succeed: %v", err)
		}
	}
	if _, err := c.GetDocument(ctx, soapx.MessageID("b"), broken.Root, broken.Extension); soapx.ClassOf(err) != soapx.Unavailable {
		t.Fatalf("always failing: %v", err)
	}
	_, err = c.GetDocument(ctx, soapx.MessageID("m"), ok.Root, "missing")
	var e *soapx.Error
	if !errors.As(err, &e) || e.Class != soapx.Permanent || e.Code != "NOT_FOUND" {
		t.Fatalf("missing: %#v", err)
	}
	if p.Requests(flaky.Key()) != 3 {
		t.Fatalf("requests: %d", p.Requests(flaky.Key()))
	}
}

func TestGoldenMessages(t *testing.T) {
	id := providersoap.MessageID("0b5e7c2a-3f7d-5d1e-8a4b-9c0d1e2f3a4b")
	code := providersoap.FaultCodeNOT_FOUND
	doc := signed.Document{Kind: "119", Root: "1.2.643.5.1.13.13.12.2.77.7973.100.1.1.51", Extension: "C-1",
		Content: []byte(`<ClinicalDocument xmlns="urn:hl7-org:v3"/>`), Signatures: []signed.Signature{{Role: signed.RoleOrganization, CMS: []byte{0x30, 0x00}}}}
	for _, tt := range []struct {
		name    string
		payload any
	}{
		{"GetDocumentRequest", &providersoap.GetDocumentRequest{MessageID: &id, CDAIDRoot: soapx.Ptr(providersoap.OID(doc.Root)), CDAIDExtension: soapx.Ptr(providersoap.NonEmpty("C-1"))}},
		{"GetDocumentResponse", &providersoap.GetDocumentResponse{Document: provider.ToWire(doc)}},
		{"ServiceFault", &providersoap.ServiceFault{Code: &code, Message: "this МИС holds no such document"}},
	} {
		t.Run(tt.name, func(t *testing.T) { soaptest.Golden(t, tt.name, tt.payload, "../../wsdl/provider/provider.xsd") })
	}
}
