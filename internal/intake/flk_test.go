package intake

import (
	"context"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/schematron"
	"github.com/emdhub/hub/internal/semdgen"
)

// TestFLKRefusesWithTheOfficialRules: with the official schematrons switched
// on, a document that fails them is refused with 422 FLK_FAILED listing every
// failed rule (number, location, text) — before any signature is looked at
// (the request's signature is not even base64) and before anything is stored
// (the service has no store: touching it would panic).
func TestFLKRefusesWithTheOfficialRules(t *testing.T) {
	set, err := schematron.OfficialSet()
	if err != nil {
		t.Fatal(err)
	}
	org := semdgen.NewOrg(77, 1)
	d := semdgen.MustBuild(semdgen.Options{Kind: "121", Org: org, Rand: rand.New(rand.NewPCG(1, 0))})
	// Break one rule on purpose, so the test holds once generated documents
	// pass: У1-16 wants the confidentiality code from 1.2.643.5.1.13.13.99.2.285
	// (or three others), which the header checks do not look at.
	broken := strings.Replace(string(d.XML), `codeSystem="1.2.643.5.1.13.13.99.2.285"`, `codeSystem="1.2.643.5.1.13.13.99.2.999"`, 1)
	if broken == string(d.XML) {
		t.Fatal("the generated document has no confidentiality code to break")
	}
	svc := &Service{Schematrons: set}
	req := &Request{Kind: "121", LocalID: d.ID, Document: base64.StdEncoding.EncodeToString([]byte(broken)),
		Signatures: []SignatureRequest{{Role: "doctor", CMS: "not base64!"}}}
	_, err = svc.Submit(context.Background(), Submitter{OrgOID: org.OID}, req)
	var ce *codes.Error
	if !errors.As(err, &ce) || ce.Code != codes.FLKFailed || ce.Status != http.StatusUnprocessableEntity {
		t.Fatalf("got %v, want 422 FLK_FAILED", err)
	}
	details, _ := ce.Details.([]FLKProblem)
	found := false
	for _, p := range details {
		if p.Code != codes.FLKFailed || p.Path == "" || p.Message == "" {
			t.Errorf("incomplete detail %+v", p)
		}
		if p.Rule == "У1-16" && strings.HasSuffix(p.Path, "/Q{urn:hl7-org:v3}confidentialityCode[1]") {
			found = true
		}
	}
	if !found {
		t.Errorf("no У1-16 at confidentialityCode among %d details: %+v", len(details), details)
	}

	// A kind the hub has no schematron for is left to today's checks.
	withSet := &Service{Schematrons: set}
	if err := withSet.flk([]byte(broken), "999", withSet.rulesOf("999").Schematron); err != nil {
		t.Errorf("kind without a schematron refused: %v", err)
	}
	// With the ФЛК off (no set) nothing is checked.
	off := &Service{}
	if err := off.flk([]byte(broken), "121", off.rulesOf("121").Schematron); err != nil {
		t.Errorf("ФЛК off refused: %v", err)
	}
}
