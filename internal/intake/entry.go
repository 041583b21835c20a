package intake

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/store"
)

// Entry is how a document enters the hub, for CheckEntering: the door's
// checks are the same wherever a document comes in (a МИС's submission, a
// linked document fetched from a МИС's provider, the MSE bureau's result),
// and the differences are these options.
type Entry struct {
	// Claims are what the document is claimed to be: its kind, and the
	// organisation that must be its custodian (empty: not checked, as for the
	// bureau's results, whose custodian is the bureau).
	Claims semd.Claims
	// Want, when set, is the CDA id asked for: a fetched document must be
	// the one requested (ATTRIBUTE_MISMATCH otherwise).
	Want *semd.II
	// FLK runs ФЛК levels 1 and 2 (the official schematron, the reference
	// books and registered organisations) as a submission does. Off for
	// documents the hub fetches or receives from the bureau: the registry's
	// ФЛК is their producer's business, and the bureau is no registered
	// organisation of the hub.
	FLK bool
	// Signatures are the document's detached signatures, verified as at the
	// door (their Signer is filled in).
	Signatures []store.NewSignature
	// SignatureRefusal is the refusal the caller met reading the signatures
	// it was sent (a submission's role other than doctor or organization, a
	// signature not in base64). The door gives it after the document's own
	// checks and before verifying any signature: a document is judged first,
	// cheapest refusal first, whatever state its signatures are in.
	SignatureRefusal error
}

// CheckEntering runs the door's checks on a document entering as en says:
// the XML limits and the header against the claims, the requested id, ФЛК
// levels 1 and 2 if asked, then the signatures. It is the one door: a МИС's
// submission (Submit, FLK on), a fetched linked document and the bureau's
// result all come through here. A refusal is a *codes.Error,
// as Submit answers; any other error is the hub failing to check (the
// caller retries, and must not take it for a verdict on the document).
func (s *Service) CheckEntering(ctx context.Context, content []byte, en Entry) (*Checked, error) {
	if en.Claims.Now.IsZero() {
		en.Claims.Now = time.Now()
		if s.Now != nil {
			en.Claims.Now = s.Now()
		}
	}
	door := s
	if !en.FLK {
		lite := *s
		lite.Schematrons, lite.Level2 = nil, nil
		door = &lite
	}
	c, refusals, err := door.check(ctx, content, en.Claims, false)
	if c != nil && en.Want != nil && (c.Header.ID.Root != en.Want.Root || c.Header.ID.Extension != en.Want.Extension) {
		return c, codes.New(http.StatusUnprocessableEntity, codes.AttributeMismatch, "the provider returned document %s for %s^%s",
			c.Header.ID, en.Want.Root, en.Want.Extension)
	}
	if err != nil {
		return c, fmt.Errorf("intake: check entering document: %w", err)
	}
	if len(refusals) > 0 {
		return c, refusals[0]
	}
	if en.SignatureRefusal != nil {
		return c, en.SignatureRefusal
	}
	if err := s.Signatures.Check(content, c.Header, c.Kind, en.Signatures, en.Claims.Now); err != nil {
		return c, err
	}
	return c, nil
}
