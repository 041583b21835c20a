package kind_test

import (
	"slices"
	"testing"

	"github.com/emdhub/hub/internal/kind"
	"github.com/emdhub/hub/internal/nsi"
)

// TestCodesAgreeWithRegistry: every civil-registration kind named here is
// in the НСИ 1520 registry with the document type of its certificate, and
// the MSE referral kinds have the referral type.
func TestCodesAgreeWithRegistry(t *testing.T) {
	want := map[kind.CivilCertificate][]kind.DocType{kind.Birth: {kind.TypeBirth}, kind.Death: {kind.TypeDeath, kind.TypeDeathPaper},
		kind.PerinatalDeath: {kind.TypePerinatal, kind.TypePerinatalPaper}}
	codes := kind.CivilCertificateKinds()
	if len(codes) != 12 {
		t.Fatalf("%d civil-registration kinds, want 12 (4 each of birth, death, perinatal death)", len(codes))
	}
	for _, code := range codes {
		c, _ := kind.CivilCertificateOf(code)
		k, ok := nsi.LookupKind(string(code))
		if !ok {
			t.Errorf("kind %s (%s) is not in the registry", code, c)
			continue
		}
		if !slices.Contains(want[c], kind.DocType(k.Type)) {
			t.Errorf("kind %s (%s) is type %s, listed as %s", k.Kind, k.Name, k.Type, c)
		}
	}
	if k, ok := nsi.LookupKind("121"); !ok || kind.DocType(k.Type) != kind.TypeMSEReferral {
		t.Fatalf("kind 121 is not an MSE referral: %+v", k)
	}
	if _, ok := kind.CivilCertificateOf("121"); ok {
		t.Fatal("an MSE referral is taken for a civil-registration certificate")
	}
}
