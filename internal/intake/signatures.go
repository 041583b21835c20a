package intake

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/nsi"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/signature"
	"github.com/emdhub/hub/internal/store"
)

// Signatures is the hub's signature policy. The door, documents fetched for
// MSE packages and the bureau's results all go through Check, so a
// signature the hub accepts means the same wherever it came from.
//
// Decisions where the registry's rules are silent:
//   - the document's creation date is ClinicalDocument/effectiveTime;
//   - SIGNER_ORG_MISMATCH compares the ОГРН in a certificate's subject with
//     the organisation's: the custodian's identity:Ogrn when the document
//     carries one, else the ОГРН the operator recorded for the custodian's
//     organisation (organizations.ogrn, by its OID). The organisation's
//     certificate must carry an ОГРН and match; with neither the document's
//     nor a recorded ОГРН its signature is refused (the operator must record
//     the organisation's ОГРН), never accepted unmatched. A doctor's
//     personal certificate (a natural person's certificate has had no
//     employer since 2022) may lack an ОГРН, but one that carries another
//     is refused;
//   - DIGEST_MISMATCH when no signature covers the submitted bytes,
//     INCONSISTENT_DIGESTS when some do and others cover other bytes;
//   - SIGNATURE_DUPLICATION when one certificate signs twice (the same
//     signature repeated, or the doctor's certificate given as the
//     organisation's too).
type Signatures struct {
	Verifier *signature.Verifier
	// Orgs looks up the ОГРН recorded for a custodian whose document
	// carries none; nil: none is ever recorded.
	Orgs OGRNLookup
}

// OGRNLookup is the ОГРН on record for the organisation with an OID ("" if
// none); *store.Store is one.
type OGRNLookup interface {
	OrganizationOGRN(ctx context.Context, oid string) (string, error)
}

// orgOGRN is the ОГРН a signer's certificate must match, and where it
// comes from; looked up at most once per check, and only when needed.
type orgOGRN struct {
	p      *Signatures
	hdr    *semd.Document
	done   bool
	ogrn   string
	source string
}

// lookupTimeout bounds the organisation lookup: Check has no context of
// its own (the workflow calls it too), and the query is one index probe.
const lookupTimeout = 5 * time.Second

func (o *orgOGRN) get() (string, string, error) {
	if o.done {
		return o.ogrn, o.source, nil
	}
	if c := o.hdr.Custodian.OGRN; c != "" {
		o.ogrn, o.source = c, "the custodian's ОГРН"
	} else if pt := o.hdr.Patient; pt != nil && pt.ProviderOGRN != "" && pt.ProviderOrgOID == o.hdr.Custodian.OID {
		// The official schemas give the custodian no place for an ОГРН;
		// the same organisation as the patient's provider carries one.
		o.ogrn, o.source = pt.ProviderOGRN, "the ОГРН of the custodian as the patient's providerOrganization"
	} else if o.p.Orgs != nil && o.hdr.Custodian.OID != "" {
		ctx, cancel := context.WithTimeout(context.Background(), lookupTimeout)
		defer cancel()
		rec, err := o.p.Orgs.OrganizationOGRN(ctx, o.hdr.Custodian.OID)
		if err != nil {
			return "", "", fmt.Errorf("intake: the ОГРН of organisation %s: %w", o.hdr.Custodian.OID, err)
		}
		o.ogrn, o.source = rec, "the ОГРН the hub has on record for organisation "+o.hdr.Custodian.OID
	}
	o.done = true
	return o.ogrn, o.source, nil
}

// SignatureProblem is one refused signature, in a refusal's details.
type SignatureProblem struct {
	Index   int    `json:"index"`
	Role    string `json:"role"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Check verifies sigs over content and fills in each one's Signer. A
// refusal is a *codes.Error (422) naming the first failing signature's
// code, with every problem in its details.
func (p *Signatures) Check(content []byte, hdr *semd.Document, kind *nsi.Kind, sigs []store.NewSignature, now time.Time) error {
	if len(sigs) == 0 {
		return codes.Unprocessable(codes.NoSignature, "the document has no signatures; detached CMS signatures of the doctor and the organisation are required")
	}
	hasDoctor, hasOrg := false, false
	var problems []SignatureProblem
	seen := map[[32]byte]int{} // certificate → first signature index
	digestOK, digestBad := 0, 0
	org := &orgOGRN{p: p, hdr: hdr}
	signed := signature.NewContent(content) // one digest of the document for all its signatures
	for i := range sigs {
		s := &sigs[i]
		switch s.Role {
		case store.SignerDoctor:
			hasDoctor = true
		case store.SignerOrganization:
			hasOrg = true
		}
		res, err := p.Verifier.VerifyContent(signed, s.CMS, hdr.EffectiveTime, now)
		if err != nil {
			var se *signature.Error
			if !errors.As(err, &se) {
				return fmt.Errorf("intake: verify signature %d: %w", i, err)
			}
			if se.Code == signature.CodeDigestMismatch {
				digestBad++
			}
			problems = append(problems, SignatureProblem{Index: i, Role: s.Role, Code: se.Code, Message: se.Message})
			continue
		}
		digestOK++
		if first, dup := seen[res.CertSHA256]; dup {
			problems = append(problems, SignatureProblem{Index: i, Role: s.Role, Code: codes.SignatureDuplication,
				Message: fmt.Sprintf("the same certificate already signed as signature %d: each signer signs once", first)})
			continue
		}
		seen[res.CertSHA256] = i
		s.Signer = &store.Signer{Subject: res.Subject, Issuer: res.Issuer, Serial: res.Serial, OGRN: res.OGRN, SNILS: res.SNILS,
			KeyBits: res.KeyBits, NotBefore: res.NotBefore, NotAfter: res.NotAfter, CertSHA256: res.CertSHA256[:], IssuerDER: res.IssuerDER}
		if s.Role == store.SignerOrganization && res.OGRN == "" {
			problems = append(problems, SignatureProblem{Index: i, Role: s.Role, Code: codes.SignerOrgMismatch,
				Message: "the organisation's certificate carries no ОГРН (1.2.643.100.1) to match the organisation"})
			continue
		}
		if s.Role != store.SignerOrganization && res.OGRN == "" {
			continue // a personal certificate without an employer
		}
		want, source, err := org.get()
		if err != nil {
			return err
		}
		switch {
		case want == "" && s.Role == store.SignerOrganization:
			problems = append(problems, SignatureProblem{Index: i, Role: s.Role, Code: codes.SignerOrgMismatch,
				Message: fmt.Sprintf("the custodian carries no ОГРН (identity:Ogrn) and the hub has none on record for organisation %s, so the organisation's signature (ОГРН %s) cannot be matched: the operator must record the organisation's ОГРН (hub register-system -org-ogrn, or organization_ogrn in POST /api/v1/ops/systems)", hdr.Custodian.OID, res.OGRN)})
		case want != "" && res.OGRN != want:
			problems = append(problems, SignatureProblem{Index: i, Role: s.Role, Code: codes.SignerOrgMismatch,
				Message: fmt.Sprintf("the signer's organisation (ОГРН %s) is not the document's organisation (%s: %s)", res.OGRN, source, want)})
		}
	}
	if digestBad > 0 && digestOK > 0 {
		for i := range problems {
			if problems[i].Code == signature.CodeDigestMismatch {
				problems[i].Code = codes.InconsistentDigests
				problems[i].Message += "; the other signatures cover the submitted bytes"
			}
		}
	}
	if len(problems) > 0 {
		e := codes.Unprocessable(problems[0].Code, "signature %d (%s): %s", problems[0].Index, problems[0].Role, problems[0].Message)
		e.Details = problems
		return e
	}
	if !hasDoctor {
		return codes.Unprocessable(codes.NoSignature, "no doctor's signature: at least one employee signature is required")
	}
	if kind != nil && kind.MOSign && !hasOrg {
		return codes.Unprocessable(codes.OrgSignatureOccurrence, "kind %s requires the organisation's signature (MO_SIGN in НСИ 1520)", kind.Kind)
	}
	return nil
}
