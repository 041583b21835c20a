package policy_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
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

// TestControlPolicies seeds the registry over HTTP, as `hub sim` users and
// load runs do, and reads the policies back through the client.
func TestControlPolicies(t *testing.T) {
	srv := httptest.NewServer(sim.NewPolicyRegistry())
	defer srv.Close()
	seed := func(body string) (int, string) {
		res, err := http.Post(srv.URL+"/control/policies", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	c := policy.New(srv.URL+"/soap", soapx.Options{})
	ctx := context.Background()
	if code, body := seed(`[{"snils":"11223344595","enp":"8451999122899990","insurer":"АО «СОГАЗ-Мед»","active":true},{"snils":"12345678964","enp":"7700000000000001","active":false}]`); code != http.StatusOK || !strings.Contains(body, `"added":2`) {
		t.Fatalf("seed: %d %s", code, body)
	}
	p, err := c.BySNILS(ctx, soapx.MessageID("1"), "11223344595")
	if err != nil || p.ENP != "8451999122899990" || !p.Active || p.InsurerName != "АО «СОГАЗ-Мед»" {
		t.Fatalf("by СНИЛС: %+v %v", p, err)
	}
	p, err = c.ByENP(ctx, soapx.MessageID("2"), "7700000000000001")
	if err != nil || p.SNILS != "12345678964" || p.Active {
		t.Fatalf("by ЕНП: %+v %v", p, err)
	}
	for _, bad := range []string{`{"snils":"1"}`, `[{"snils":"112233445","enp":"8451999122899992"}]`, `[{"snils":"22233344455","enp":"8451999122899991"},{"snils":"22233344466","enp":"1"}]`} {
		if code, _ := seed(bad); code != http.StatusBadRequest {
			t.Errorf("%s: %d", bad, code)
		}
	}
	if _, err := c.ByENP(ctx, soapx.MessageID("3"), "8451999122899991"); soapx.ClassOf(err) != soapx.Permanent {
		t.Fatalf("a refused batch adds nothing: %v", err)
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
