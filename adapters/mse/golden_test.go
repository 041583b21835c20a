package mse

import (
	"testing"
	"time"

	"github.com/hooklift/gowsdl/soap"

	"github.com/emdhub/hub/adapters/mse/msesoap"
	"github.com/emdhub/hub/internal/signed"
	"github.com/emdhub/hub/internal/soapx"
	"github.com/emdhub/hub/internal/soapx/soaptest"
)

const xsd = "../../wsdl/mse/mse.xsd"

func goldenDoc(kind, ext string) signed.Document {
	return signed.Document{Kind: kind, Root: "1.2.643.5.1.13.13.12.2.77.7973.100.1.1.51", Extension: ext,
		Content:    []byte(`<ClinicalDocument xmlns="urn:hl7-org:v3"/>`),
		Signatures: []signed.Signature{{Role: signed.RoleDoctor, CMS: []byte{0x30, 0x03, 0x02, 0x01, 0x01}}, {Role: signed.RoleOrganization, CMS: []byte{0x30, 0x00}}}}
}

var at = soap.CreateXsdDateTime(time.Date(2026, 11, 25, 10, 30, 0, 0, time.UTC), true)

func TestGoldenMessages(t *testing.T) {
	id := msesoap.MessageID("0b5e7c2a-3f7d-5d1e-8a4b-9c0d1e2f3a4b")
	caseID := msesoap.NonEmpty("MSE-000001")
	accepted := msesoap.AcceptStatusACCEPTED
	decided := msesoap.CaseStatusDECIDED
	result := msesoap.ResultTypeRESULT
	limit := msesoap.Limit(1) // the smallest legal value; 0 is not one
	after := msesoap.NonEmpty("41")
	root := msesoap.OID("1.2.643.5.1.13.13.12.2.77.7973.100.1.1.51")
	ext := msesoap.NonEmpty("MSE-2026-0042")
	code := msesoap.FaultCodeINCOMPLETE_PACKAGE
	for _, tt := range []struct {
		name    string
		payload any
	}{
		{"SendReferralRequest", &msesoap.SendReferralRequest{MessageID: &id, SenderOrgOID: soapx.Ptr(msesoap.OID("1.2.643.5.1.13.13.12.2.77.7973")),
			SenderSystem: soapx.Ptr(msesoap.NonEmpty("МИС ЕМИАС")), Referral: toWire(goldenDoc("121", "MSE-2026-0042")),
			LinkedDocument: []*msesoap.SignedDocument{toWire(goldenDoc("119", "C-1")), toWire(goldenDoc("186", "L-1"))}}},
		{"SendReferralResponse", &msesoap.SendReferralResponse{CaseID: &caseID, Status: &accepted, ReceivedAt: at}},
		{"GetReferralStatusRequest", &msesoap.GetReferralStatusRequest{CaseID: &caseID}},
		{"GetReferralStatusResponse", &msesoap.GetReferralStatusResponse{CaseID: &caseID, Status: &decided, UpdatedAt: at}},
		{"FetchResultsRequest", &msesoap.FetchResultsRequest{After: &after, Limit: &limit}},
		{"FetchResultsResponse", &msesoap.FetchResultsResponse{Result: []*msesoap.ResultItem{{MessageID: &id, CaseID: &caseID, Type: &result,
			ReferralCDAIDRoot: &root, ReferralCDAIDExtension: &ext, Document: toWire(goldenDoc("187", "187-MSE-000001"))}}, NextCursor: &after}},
		{"FetchResultsResponseEmpty", &msesoap.FetchResultsResponse{}},
		{"AckResultsRequest", &msesoap.AckResultsRequest{MessageID: []*msesoap.MessageID{&id}}},
		{"AckResultsResponse", &msesoap.AckResultsResponse{Acknowledged: []*msesoap.MessageID{&id}}},
		{"ServiceFault", &msesoap.ServiceFault{Code: &code, Message: "linked document 1.2.643…^C-1 is missing"}},
	} {
		t.Run(tt.name, func(t *testing.T) { soaptest.Golden(t, tt.name, tt.payload, xsd) })
	}
}

// TestBase64OnTheWire pins the fix for gowsdl's base64Binary bug: bytes go
// out base64-encoded and come back equal.
func TestBase64OnTheWire(t *testing.T) {
	w := toWire(goldenDoc("121", "X"))
	d := fromWire(w)
	b, err := (*w.Content).MarshalText()
	if err != nil || string(b) != "PENsaW5pY2FsRG9jdW1lbnQgeG1sbnM9InVybjpobDctb3JnOnYzIi8+" {
		t.Fatalf("content marshals as %q, %v", b, err)
	}
	var back msesoap.Base64Data
	if err := back.UnmarshalText([]byte("PENsaW5pY2FsRG9jdW1l\n  bnQgeG1sbnM9InVybjpobDctb3JnOnYzIi8+")); err != nil || string(back) != string(d.Content) {
		t.Fatalf("base64 with line breaks: %q %v", back, err)
	}
}
