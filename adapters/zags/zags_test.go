package zags_test

import (
	"context"
	"errors"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/hooklift/gowsdl/soap"

	"github.com/emdhub/hub/adapters/zags"
	"github.com/emdhub/hub/adapters/zags/zagssoap"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/signed"
	"github.com/emdhub/hub/internal/sim"
	"github.com/emdhub/hub/internal/soapx"
	"github.com/emdhub/hub/internal/soapx/soaptest"
)

func setup(t *testing.T) (*sim.Registry, *zags.Client) {
	reg := sim.NewRegistry()
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	return reg, zags.New(srv.URL+"/soap", soapx.Options{CallTimeout: 5 * time.Second})
}

func cert(kind string) zags.Certificate {
	d := semdgen.MustBuild(semdgen.Options{Kind: kind})
	typ, _ := zags.TypeOfKind(kind)
	return zags.Certificate{MessageID: soapx.MessageID("zags", d.ID), SenderOrgOID: semdgen.NewOrg(77, 1).OID, Type: typ, Series: d.Series, Number: d.Number, Document: d.Signed()}
}

func TestSubmitAndDuplicates(t *testing.T) {
	reg, c := setup(t)
	ctx := context.Background()
	for _, kind := range []string{"58", "59", "76"} {
		rc, err := c.Submit(ctx, cert(kind))
		if err != nil || rc.RecordID == "" || rc.Duplicate {
			t.Fatalf("%s: %+v %v", kind, rc, err)
		}
	}
	death := cert("58")
	first, err := c.Submit(ctx, death)
	if err != nil {
		t.Fatal(err)
	}
	again, err := c.Submit(ctx, death) // same message id
	if err != nil || again.RecordID != first.RecordID {
		t.Fatalf("same message id: %+v %v", again, err)
	}
	death.MessageID = soapx.MessageID("other")
	other, err := c.Submit(ctx, death) // same series+number, new message id
	if err != nil || other.RecordID != first.RecordID || !other.Duplicate {
		t.Fatalf("same series and number: %+v %v", other, err)
	}
	cn := reg.Counters()["SubmitMedicalCertificate"]
	if cn.Received != 6 || cn.Unique != 4 || cn.Duplicates != 2 {
		t.Fatalf("counters: %+v", cn)
	}
}

func TestRefusals(t *testing.T) {
	_, c := setup(t)
	bad := cert("58")
	bad.Number = "199999999"
	_, err := c.Submit(context.Background(), bad)
	var e *soapx.Error
	if !errors.As(err, &e) || e.Class != soapx.Permanent || e.Code != "REFUSED" {
		t.Fatalf("mismatched number: %#v", err)
	}
	if _, ok := zags.TypeOfKind("121"); ok {
		t.Fatal("an MSE referral is not a certificate")
	}
}

func TestGoldenMessages(t *testing.T) {
	id := zagssoap.MessageID("0b5e7c2a-3f7d-5d1e-8a4b-9c0d1e2f3a4b")
	typ := zagssoap.CertificateTypeDEATH
	st := zagssoap.AcceptStatusACCEPTED
	code := zagssoap.FaultCodeREFUSED
	doc := signed.Document{Kind: "58", Root: "1.2.643.5.1.13.13.12.2.77.7973.100.1.1.51", Extension: "DC-1",
		Content: []byte(`<ClinicalDocument xmlns="urn:hl7-org:v3"/>`), Signatures: []signed.Signature{{Role: signed.RoleDoctor, CMS: []byte{0x30, 0x00}}}}
	for _, tt := range []struct {
		name    string
		payload any
	}{
		{"SubmitMedicalCertificateRequest", &zagssoap.SubmitMedicalCertificateRequest{MessageID: &id, SenderOrgOID: soapx.Ptr(zagssoap.OID("1.2.643.5.1.13.13.12.2.77.7973")),
			CertificateType: &typ, Series: soapx.Ptr(zagssoap.NonEmpty("77")), Number: soapx.Ptr(zagssoap.NonEmpty("100000042")), Document: zags.ToWire(doc)}},
		{"SubmitMedicalCertificateResponse", &zagssoap.SubmitMedicalCertificateResponse{RecordID: soapx.Ptr(zagssoap.NonEmpty("ZAGS-77-00000001")), Status: &st,
			ReceivedAt: soap.CreateXsdDateTime(time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC), true)}},
		{"ServiceFault", &zagssoap.ServiceFault{Code: &code, Message: "series/number differ from the document's"}},
	} {
		t.Run(tt.name, func(t *testing.T) { soaptest.Golden(t, tt.name, tt.payload, "../../wsdl/zags/zags.xsd") })
	}
}
