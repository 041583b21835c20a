package intake

import (
	"context"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/schematron"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/semdgen"
	"github.com/emdhub/hub/internal/signature"
	"github.com/emdhub/hub/internal/store"
	"github.com/emdhub/hub/internal/testpki"
)

// signedBy signs content as org's doctor and organisation do.
func signedBy(t *testing.T, content []byte, org semdgen.Org) func() []store.NewSignature {
	sg := semdgen.TestSigners(org)
	var out []store.NewSignature
	for role, s := range map[string]*semdgen.Signer{store.SignerDoctor: sg.Doctor, store.SignerOrganization: sg.Org} {
		cms, err := testpki.Sign(content, s.Cert, s.Key, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, store.NewSignature{Role: role, CMS: cms})
	}
	return func() []store.NewSignature { return append([]store.NewSignature(nil), out...) } // fresh Signer fields each time
}

// TestCheckEntering: the one door for documents entering other than by
// submission, with its options. No store: nothing here may touch one.
func TestCheckEntering(t *testing.T) {
	set, err := schematron.OfficialSet()
	if err != nil {
		t.Fatal(err)
	}
	svc := &Service{Schematrons: set, Signatures: &Signatures{Verifier: signature.NewVerifier([]*x509.Certificate{semdgen.TestCA()})}}
	org := semdgen.NewOrg(77, 1)
	r := rand.New(rand.NewPCG(3, 0))
	good := semdgen.MustBuild(semdgen.Options{Kind: "121", Org: org, Rand: r})
	// Fails the official schematron (У1-16), not the header checks; signed as it is.
	broken := strings.Replace(string(good.XML), `codeSystem="1.2.643.5.1.13.13.99.2.285"`, `codeSystem="1.2.643.5.1.13.13.99.2.999"`, 1)
	goodSigs, brokenSigs := signedBy(t, good.XML, org), signedBy(t, []byte(broken), org)
	ctx := context.Background()
	claims := semd.Claims{Kind: "121", SubmitterOrg: org.OID, Now: time.Now()}
	unread := codes.Unprocessable(codes.SignatureDecodingError, "signatures[0] is not base64")
	tests := []struct {
		name    string
		content []byte
		en      Entry
		code    string // "" accepted
	}{
		{"accepted, signatures verified", good.XML, Entry{Claims: claims, Signatures: goodSigs()}, ""},
		{"the document asked for", good.XML, Entry{Claims: claims, Want: &semd.II{Root: good.Root, Extension: good.ID}, Signatures: goodSigs()}, ""},
		{"another document than asked for", good.XML, Entry{Claims: claims, Want: &semd.II{Root: good.Root, Extension: "other"}, Signatures: goodSigs()},
			codes.AttributeMismatch},
		{"another custodian", good.XML, Entry{Claims: semd.Claims{Kind: "121", SubmitterOrg: semdgen.NewOrg(16, 2).OID}, Signatures: goodSigs()}, "*"},
		{"no signatures", good.XML, Entry{Claims: claims}, codes.NoSignature},
		{"ФЛК off: the schematron is not run", []byte(broken), Entry{Claims: claims, Signatures: brokenSigs()}, ""},
		{"ФЛК on: the schematron refuses", []byte(broken), Entry{Claims: claims, FLK: true, Signatures: brokenSigs()}, codes.FLKFailed},
		{"not XML", []byte("not xml"), Entry{Claims: claims, Want: &semd.II{Root: "r", Extension: "e"}}, codes.InvalidContent},
		{"the caller's signature refusal, after the document's checks", good.XML, Entry{Claims: claims, Signatures: goodSigs(), SignatureRefusal: unread},
			codes.SignatureDecodingError},
		{"the document's refusal before the caller's signature refusal", []byte(broken), Entry{Claims: claims, FLK: true, SignatureRefusal: unread},
			codes.FLKFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := svc.CheckEntering(ctx, tt.content, tt.en)
			var ce *codes.Error
			switch {
			case tt.code == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.code == "":
				if c.Header == nil || c.Kind == nil || tt.en.Signatures[0].Signer == nil {
					t.Fatalf("accepted without header, kind or verified signer: %+v", c)
				}
			case !errors.As(err, &ce):
				t.Fatalf("want a coded refusal %s, got %v", tt.code, err)
			case tt.code != "*" && ce.Code != tt.code:
				t.Fatalf("refused with %s (%s), want %s", ce.Code, ce.Message, tt.code)
			}
		})
	}
}
