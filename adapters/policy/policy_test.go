package policy_test

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/emdhub/hub/adapters/policy"
	"github.com/emdhub/hub/adapters/policy/policysoap"
	"github.com/emdhub/hub/internal/sim"
	"github.com/emdhub/hub/internal/soapx"
	"github.com/emdhub/hub/internal/soapx/soaptest"
)

func TestFindPolicy(t *testing.T) {
	reg := sim.NewPolicyRegistry()
	reg.Add("11223344595", "8451999122899990", "АО «СОГАЗ-Мед»", true)
	srv := httptest.NewServer(reg)
	defer srv.Close()
	c := policy.New(srv.URL+"/soap", soapx.Options{})
	ctx := context.Background()
	p, err := c.BySNILS(ctx, soapx.MessageID("1"), "11223344595")
	if err != nil || p.ENP != "8451999122899990" || !p.Active || p.InsurerName == "" {
		t.Fatalf("by СНИЛС: %+v %v", p, err)
	}
	p, err = c.ByENP(ctx, soapx.MessageID("2"), "8451999122899990")
	if err != nil || p.SNILS != "11223344595" {
		t.Fatalf("by ЕНП: %+v %v", p, err)
	}
	if _, err := c.BySNILS(ctx, soapx.MessageID("3"), "12345678964"); soapx.ClassOf(err) != soapx.Permanent {
		t.Fatalf("unknown person: %v", err)
	}
}

func TestGoldenMessages(t *testing.T) {
	id := policysoap.MessageID("0b5e7c2a-3f7d-5d1e-8a4b-9c0d1e2f3a4b")
	st := policysoap.PolicyStatusACTIVE
	code := policysoap.FaultCodeNOT_FOUND
	for _, tt := range []struct {
		name    string
		payload any
	}{
		{"FindPolicyRequest", &policysoap.FindPolicyRequest{MessageID: &id, SNILS: soapx.Ptr(policysoap.SNILS("11223344595"))}},
		{"FindPolicyResponse", &policysoap.FindPolicyResponse{SNILS: soapx.Ptr(policysoap.SNILS("11223344595")), ENP: soapx.Ptr(policysoap.ENP("8451999122899990")), Status: &st, InsurerName: "АО «СОГАЗ-Мед»"}},
		{"ServiceFault", &policysoap.ServiceFault{Code: &code, Message: "no policy"}},
	} {
		t.Run(tt.name, func(t *testing.T) { soaptest.Golden(t, tt.name, tt.payload, "../../wsdl/policy/policy.xsd") })
	}
}
