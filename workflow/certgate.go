package workflow

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/emdhub/hub/adapters/mse"
	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/signature"
	"github.com/emdhub/hub/internal/store"
)

// The certificate gate runs before every send and every retry of every
// delivery (certificates to ЕГР ЗАГС and ЕПГУ, referral packages to the
// bureau): if a signer's certificate of what would be sent is not valid at
// the engine's clock, or its CA has revoked it, no request goes out. The delivery is stopped as
// blocked_certificate with the reason, the МИС is told, and only a newly
// signed version of the document (same setId, higher versionNumber)
// replaces it. The recipient would refuse the request anyway
// (PERSONAL_SIG_CERT_NOT_ACTUAL_ON_CHECK_DT); resending it only loads the
// federal services, which is the waste the gate exists to stop.

// "The gate" in the hub means this check and nothing else. Events of the
// gate; its states are store.RefBlocked/DelBlocked and
// RefSuperseded/DelSuperseded (internal/store/flows.go).
const (
	EventDeliveryBlocked = "certificate.delivery.blocked"
	EventReferralBlocked = "mse.referral.blocked"
)

// expiredSigner is a signer certificate that stops a delivery: expired
// (or not yet valid), or revoked by its CA.
type expiredSigner struct {
	Code       string     `json:"code"`
	DocumentID uuid.UUID  `json:"document_id"`
	Role       string     `json:"role"`
	Subject    string     `json:"subject"`
	Serial     string     `json:"serial"`
	NotBefore  time.Time  `json:"not_before"`
	NotAfter   time.Time  `json:"not_after"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

func (x *expiredSigner) message() string {
	state := fmt.Sprintf("is not valid now: valid %s – %s", x.NotBefore.Format(time.RFC3339), x.NotAfter.Format(time.RFC3339))
	if x.RevokedAt != nil {
		state = "was revoked by its CA on " + x.RevokedAt.Format(time.RFC3339)
	}
	return fmt.Sprintf("the %s's certificate (%s, serial %s) %s; sign the document again with a valid certificate and submit it as a new version (same setId, higher versionNumber)",
		x.Role, x.Subject, x.Serial, state)
}

// certificateGate returns the first signer certificate of docs that is
// not valid at now — expired, not yet valid, or revoked by a CRL the
// verifier holds — or nil. One indexed query: the certificate facts were
// stored when the signatures were verified. (A send's own load brings the
// certificates with what it sends; it calls gate directly.)
func (e *Engine) certificateGate(ctx context.Context, db store.DBTX, docs []uuid.UUID) (*expiredSigner, error) {
	certs, err := store.SignerCertificates(ctx, db, docs)
	if err != nil {
		return nil, fmt.Errorf("workflow: certificate gate: %w", err)
	}
	return e.gate(certs), nil
}

// gate returns the first of certs (earliest expiry first) not valid at
// now, or nil.
func (e *Engine) gate(certs []*store.SignerCertificate) *expiredSigner {
	now := e.now()
	for _, c := range certs {
		x := expiredSigner{DocumentID: c.DocumentID, Role: c.Role, Subject: c.SignerSubject, Serial: c.SignerSerial}
		if c.CertNotBefore != nil {
			x.NotBefore = *c.CertNotBefore
		}
		if c.CertNotAfter != nil {
			x.NotAfter = *c.CertNotAfter
		}
		if now.Before(x.NotBefore) || now.After(x.NotAfter) {
			x.Code = codes.CertNotActualNow
			return &x
		}
		if c.SignerIssuerDer != nil {
			if at, ok := e.Signatures.Verifier.Revoked(c.SignerIssuerDer, x.Serial, now); ok {
				x.Code, x.RevokedAt = signature.CodeRevoked, &at
				return &x
			}
		}
	}
	return nil
}

// blockDelivery stops a delivery at the gate: state, exchange-log row (no
// request went out), the МИС's notification and the job's completion commit
// together.
func (e *Engine) blockDelivery(ctx context.Context, jobRow func(tx pgx.Tx) error, id uuid.UUID, d *deliveryRow, x *expiredSigner, operation string) error {
	msg := x.message()
	return pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		err := e.lost(store.BlockDelivery(ctx, tx, id, x.Code, msg))
		if err != nil && !stale(err) {
			return err
		}
		applied := err == nil
		systemID, err := store.DocumentSystem(ctx, tx, d.DocumentID)
		if err != nil {
			return err
		}
		if err := writeLog(ctx, tx, logEntry{direction: "out", peer: d.Recipient, operation: operation, subject: id, document: d.DocumentID,
			messageID: d.MessageID, outcome: "blocked", code: x.Code, message: msg}); err != nil {
			return err
		}
		if !applied {
			return jobRow(tx)
		}
		if err := e.notify(ctx, tx, nil, systemID, EventDeliveryBlocked, id, map[string]any{"delivery_id": id, "document_id": d.DocumentID,
			"recipient": d.Recipient, "code": x.Code, "message": msg, "certificate": x}); err != nil {
			return err
		}
		return jobRow(tx)
	})
}

// supersede retires the undelivered work of older versions of doc (same
// organisation and setId, lower versionNumber): a newly signed version is
// what resumes a delivery the gate stopped, and the old one must never go
// out after it.
func (e *Engine) supersede(ctx context.Context, tx pgx.Tx, doc *store.Document, h *semd.Document) error {
	if h.VersionNumber <= 1 {
		return nil
	}
	v := store.VersionOf{Document: doc.ID, OrganizationID: doc.OrganizationID, SetRoot: h.SetID.Root, SetExtension: h.SetID.Extension, VersionNumber: h.VersionNumber}
	if _, err := store.SupersedeDeliveries(ctx, tx, v); err != nil {
		return fmt.Errorf("workflow: supersede deliveries: %w", err)
	}
	if _, err := store.SupersedeReferrals(ctx, tx, v); err != nil {
		return fmt.Errorf("workflow: supersede referrals: %w", err)
	}
	return nil
}

// SetClock stubs the engine's clock (the gate's "now", see Clock.Stub); for
// tests that let certificates expire without waiting years. Safe while running.
func (e *Engine) SetClock(now func() time.Time) { e.Clock.Stub(now) }

// blockReferral stops a referral package at the gate, as blockDelivery does.
func (e *Engine) blockReferral(ctx context.Context, job *river.Job[SendReferralArgs], docID, systemID uuid.UUID, x *expiredSigner) error {
	msg := x.message()
	return pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		err := e.lost(store.BlockReferral(ctx, tx, job.Args.ReferralID, x.Code, msg))
		if err != nil && !stale(err) {
			return err
		}
		applied := err == nil
		if err := writeLog(ctx, tx, logEntry{direction: "out", peer: mse.Service, operation: "SendReferral", subject: job.Args.ReferralID,
			document: docID, outcome: "blocked", code: x.Code, message: msg}); err != nil {
			return err
		}
		if !applied {
			return completeTx(ctx, tx, job)
		}
		if err := e.notify(ctx, tx, nil, systemID, EventReferralBlocked, job.Args.ReferralID, map[string]any{"referral_id": job.Args.ReferralID,
			"code": x.Code, "message": msg, "certificate": x}); err != nil {
			return err
		}
		return completeTx(ctx, tx, job)
	})
}
