package workflow_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/intake"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/signed"
	"github.com/emdhub/hub/internal/testpki"
)

// TestFetchedDocumentsMeetTheDoorLimits: a linked document fetched from the
// provider meets the door's configured XML limits (HUB_XML_MAX_DEPTH here),
// and its organisation signature is matched like at the door when its
// custodian carries no ОГРН and none is on record; both are refused with the
// door's codes and the package is held.
func TestFetchedDocumentsMeetTheDoorLimits(t *testing.T) {
	e := newEnv(t, map[string]string{"HUB_XML_MAX_DEPTH": "40"})
	patient := semdgen.RandomPerson(e.rand, 77)
	eff := time.Now().Add(-48 * time.Hour)
	good := semdgen.MustBuild(semdgen.Options{Kind: "119", Org: e.orgA, Patient: &patient, Rand: e.rand, Effective: eff})
	// 50 deep: within the default limit of 64, over the configured 40.
	deepXML := []byte(`<ClinicalDocument xmlns="urn:hl7-org:v3">` + strings.Repeat("<a>", 50) + strings.Repeat("</a>", 50) + `</ClinicalDocument>`)
	deep := signed.Document{Kind: "186", Root: e.orgA.Root("51"), Extension: "deep-1", Content: deepXML}
	plain := semdgen.MustBuild(semdgen.Options{Kind: "174", Org: e.orgA, Patient: &patient, Rand: e.rand, Effective: eff})
	noOGRN := withoutCustodianOGRN(t, e, plain, eff)
	e.sims.Provider.Add(0, good.Signed(), deep, noOGRN)
	links := []semdgen.Link{{Kind: good.Kind, ID: good.ID}, {Kind: "186", ID: "deep-1"}, {Kind: plain.Kind, ID: plain.ID}}
	id := e.submitReferral(links, &patient)
	view := e.waitState(id, "incomplete")
	ls := view["links"].([]any)
	want := []struct{ state, code string }{{"fetched", ""}, {"invalid", codes.XMLLimitExceeded}, {"invalid", codes.SignerOrgMismatch}}
	for i, w := range want {
		l := ls[i].(map[string]any)
		if l["state"] != w.state || (w.code != "" && l["last_error_code"] != w.code) {
			t.Fatalf("link %d: %v, want %s %s", i+1, l, w.state, w.code)
		}
	}
	if c := e.sims.Bureau.Counters()["SendReferral"]; c.Received != 0 {
		t.Fatalf("a package with refused documents was sent: %+v", c)
	}
}

// flakyOrgs fails its first n lookups as a database that is down would,
// then answers from the real store.
type flakyOrgs struct {
	n     atomic.Int32
	store intake.OGRNLookup
}

func (f *flakyOrgs) OrganizationOGRN(ctx context.Context, oid string) (string, error) {
	if f.n.Add(-1) >= 0 {
		return "", errors.New("connect: connection refused")
	}
	return f.store.OrganizationOGRN(ctx, oid)
}

// TestFetchedDocumentCheckFailureIsRetried: when the hub itself cannot
// finish checking a fetched document (the ОГРН lookup meets a database that
// is down), the link is not settled as invalid: the step is retried and the
// document, once checked, is fetched and the package sent.
func TestFetchedDocumentCheckFailureIsRetried(t *testing.T) {
	e := newEnv(t, nil)
	if _, err := e.app.Store.RecordOrganizationOGRN(context.Background(), e.orgA.OID, e.orgA.OGRN); err != nil {
		t.Fatal(err)
	}
	flaky := &flakyOrgs{store: e.app.Store}
	flaky.n.Store(2)
	e.app.Engine.Signatures.Orgs = flaky // before any job reads it
	patient := semdgen.RandomPerson(e.rand, 77)
	eff := time.Now().Add(-48 * time.Hour)
	plain := semdgen.MustBuild(semdgen.Options{Kind: "174", Org: e.orgA, Patient: &patient, Rand: e.rand, Effective: eff})
	e.sims.Provider.Add(0, withoutCustodianOGRN(t, e, plain, eff))
	id := e.submitReferral([]semdgen.Link{{Kind: plain.Kind, ID: plain.ID}}, &patient)
	view := e.waitState(id, "result_received")
	l := view["links"].([]any)[0].(map[string]any)
	if l["state"] != "fetched" {
		t.Fatalf("link: %v", l)
	}
	if flaky.n.Load() >= 0 {
		t.Fatalf("the failing lookups were not all met: %d left", flaky.n.Load()+1)
	}
}

// withoutCustodianOGRN is doc with its organisation's ОГРН taken out, signed
// again by organisation A's doctor and organisation.
func withoutCustodianOGRN(t *testing.T, e *env, doc semdgen.Doc, eff time.Time) signed.Document {
	t.Helper()
	// The custodian carries none (the official schemas have no place for
	// it); the patient's providerOrganization, which stands for it, loses its own.
	props := `<identity:Props><identity:Ogrn xsi:type="ST">` + e.orgA.OGRN + `</identity:Ogrn></identity:Props>`
	if strings.Count(string(doc.XML), props) == 0 {
		t.Fatal("the organisation's ОГРН is not in the document")
	}
	content := []byte(strings.ReplaceAll(string(doc.XML), props, ""))
	sg := semdgen.TestSigners(e.orgA)
	var sigs []signed.Signature
	for role, s := range map[string]*semdgen.Signer{signed.RoleDoctor: sg.Doctor, signed.RoleOrganization: sg.Org} {
		cms, err := testpki.Sign(content, s.Cert, s.Key, eff)
		if err != nil {
			t.Fatal(err)
		}
		sigs = append(sigs, signed.Signature{Role: role, CMS: cms})
	}
	return signed.Document{Kind: doc.Kind, Root: doc.Root, Extension: doc.ID, Content: content, Signatures: sigs}
}
