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

// Events of the gate. Its states are RefBlocked/DelBlocked and
// RefSuperseded/DelSuperseded, written by the transitions in transitions.go.
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

// checkCertificates returns the first signer certificate of docs that is
// not valid at now — expired, not yet valid, or revoked by a CRL the
// verifier holds — or nil. One indexed query: the certificate facts were
// stored when the signatures were verified.
func (e *Engine) checkCertificates(ctx context.Context, db store.DBTX, docs []uuid.UUID) (*expiredSigner, error) {
	rows, err := db.Query(ctx, `SELECT document_id, role, coalesce(signer_subject, ''), coalesce(signer_serial, ''), cert_not_before, cert_not_after,
			signer_issuer_der FROM document_signatures WHERE document_id = ANY($1) AND cert_not_after IS NOT NULL ORDER BY cert_not_after`, docs)
	if err != nil {
		return nil, fmt.Errorf("workflow: certificate gate: %w", err)
	}
	defer rows.Close()
	now := e.now()
	for rows.Next() {
		var x expiredSigner
		var issuer []byte
		if err := rows.Scan(&x.DocumentID, &x.Role, &x.Subject, &x.Serial, &x.NotBefore, &x.NotAfter, &issuer); err != nil {
			return nil, fmt.Errorf("workflow: certificate gate: %w", err)
		}
		if now.Before(x.NotBefore) || now.After(x.NotAfter) {
			x.Code = codes.CertNotActualNow
			return &x, nil
		}
		if issuer != nil {
			if at, ok := e.Signatures.Verifier.Revoked(issuer, x.Serial, now); ok {
				x.Code, x.RevokedAt = signature.CodeRevoked, &at
				return &x, nil
			}
		}
	}
	return nil, rows.Err()
}

// blockDelivery stops a delivery at the gate: state, exchange-log row (no
// request went out), the МИС's notification and the job's completion commit
// together.
func (e *Engine) blockDelivery(ctx context.Context, jobRow func(tx pgx.Tx) error, d *deliveryRow, x *expiredSigner, operation string) error {
	msg := x.message()
	return pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		_, err := e.transition(ctx, tx, TrDeliveryBlocked, d.id, x.Code, msg)
		if err != nil && !stale(err) {
			return err
		}
		applied := err == nil
		var systemID uuid.UUID
		if err := tx.QueryRow(ctx, `SELECT system_id FROM documents WHERE id = $1`, d.docID).Scan(&systemID); err != nil {
			return err
		}
		if err := writeLog(ctx, tx, logEntry{direction: "out", peer: d.recipient, operation: operation, subject: d.id, document: d.docID,
			messageID: d.msg, outcome: "blocked", code: x.Code, message: msg}); err != nil {
			return err
		}
		if !applied {
			return jobRow(tx)
		}
		if err := e.notify(ctx, tx, systemID, EventDeliveryBlocked, d.id, map[string]any{"delivery_id": d.id, "document_id": d.docID,
			"recipient": d.recipient, "code": x.Code, "message": msg, "certificate": x}); err != nil {
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
	if _, err := e.transition(ctx, tx, TrDeliveriesSuperseded, doc.ID, doc.OrganizationID, h.SetID.Root, h.SetID.Extension, h.VersionNumber); err != nil {
		return fmt.Errorf("workflow: supersede deliveries: %w", err)
	}
	if _, err := e.transition(ctx, tx, TrReferralsSuperseded, doc.ID, doc.OrganizationID, h.SetID.Root, h.SetID.Extension, h.VersionNumber); err != nil {
		return fmt.Errorf("workflow: supersede referrals: %w", err)
	}
	return nil
}

// SetClock replaces the engine's clock (the gate's "now"); for tests that
// let certificates expire without waiting years. Safe while running.
func (e *Engine) SetClock(now func() time.Time) { e.clock.Store(&now) }

// blockReferral stops a referral package at the gate, as blockDelivery does.
func (e *Engine) blockReferral(ctx context.Context, job *river.Job[SendReferralArgs], docID, systemID uuid.UUID, x *expiredSigner) error {
	msg := x.message()
	return pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		_, err := e.transition(ctx, tx, TrReferralBlocked, job.Args.ReferralID, x.Code, msg)
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
		if err := e.notify(ctx, tx, systemID, EventReferralBlocked, job.Args.ReferralID, map[string]any{"referral_id": job.Args.ReferralID,
			"code": x.Code, "message": msg, "certificate": x}); err != nil {
			return err
		}
		return completeTx(ctx, tx, job)
	})
}
