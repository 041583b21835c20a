package workflow

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/emdhub/hub/adapters/epgu"
	"github.com/emdhub/hub/internal/soapx"
	"github.com/emdhub/hub/internal/store"
)

// MSE events told to the citizen on ЕПГУ (issue 15). Each is a delivery
// to ЕПГУ on the referral's document carrying the event under its contract
// name; the deliveries' unique key (document, recipient, event) and the
// job's unique options make it one notice per referral and event however
// often the step that raises it runs again — a retry, a restart, a result
// fetched again after a lost acknowledgement. The delivery then runs as
// any other ЕПГУ delivery (deliver): certificate gate, breaker, retries,
// shown in the document's deliveries and among the troubles.
//
// A citizen who cannot be told — the referral names no СНИЛС, or the
// portal answers NO_PORTAL_ACCOUNT — is recorded as not_notifiable with
// the reason and not retried; an operator may replay the delivery later.
// (A certificate's own ЕПГУ delivery keeps failing as before: there the
// refusal is a trouble for the МИС to resolve.)

// Codes of a citizen who cannot be told on ЕПГУ.
const (
	CodeNoRecipientSNILS = "NO_RECIPIENT_SNILS"
	CodeNoPortalAccount  = "NO_PORTAL_ACCOUNT"
)

// tellCitizen creates, in tx, the ЕПГУ delivery of event about the
// referral's document and queues it (into jobs when the step batches its
// jobs), unless it exists already.
func (e *Engine) tellCitizen(ctx context.Context, tx pgx.Tx, jobs *jobBatch, document, org uuid.UUID, event string) error {
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("workflow: delivery id: %w", err)
	}
	// The message id is the portal's duplicate key: stable per document and
	// event, so even a lost row would be recognised by ЕПГУ.
	msgID := soapx.MessageID("citizen", event, document.String())
	created, err := store.CreateEventDelivery(ctx, tx, id, document, org, event, msgID)
	if err != nil {
		return fmt.Errorf("workflow: tell citizen %s: %w", event, err)
	}
	if !created {
		return nil
	}
	if err := e.queue(ctx, tx, jobs, EPGUArgs{DeliveryID: id}, nil); err != nil {
		return fmt.Errorf("workflow: %s: %w", event, err)
	}
	return nil
}

// tellCitizenOfReferral tells the citizen of a referral's event.
func (e *Engine) tellCitizenOfReferral(ctx context.Context, tx pgx.Tx, jobs *jobBatch, referral uuid.UUID, event string) error {
	doc, org, err := store.ReferralDocument(ctx, tx, referral)
	if err != nil {
		return fmt.Errorf("workflow: tell citizen %s: %w", event, err)
	}
	return e.tellCitizen(ctx, tx, jobs, doc, org, event)
}

// unreachableCitizen says why an event delivery cannot reach its citizen
// before any call ("" when it can).
func unreachableCitizen(d *deliveryRow) (code, msg string) {
	if d.Event != "" && d.Recipient == epgu.Service && d.PatientSnils == "" {
		return CodeNoRecipientSNILS, "the document names no СНИЛС: the citizen cannot be told on ЕПГУ"
	}
	return "", ""
}

// refusedCitizen reports whether the portal's answer to an event delivery
// means the citizen cannot be told there (no portal account).
func refusedCitizen(d *deliveryRow, callErr error) bool {
	var se *soapx.Error
	return d.Event != "" && errors.As(callErr, &se) && se.Code == CodeNoPortalAccount
}

// notNotifiable records a citizen who cannot be told, with the attempt's
// log row if a call was made, and completes the job.
func (e *Engine) notNotifiable(ctx context.Context, jobRow func(tx pgx.Tx) error, id uuid.UUID, d *deliveryRow, entry *logEntry, code, msg string) error {
	return pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		if err := e.lost(store.MarkNotNotifiable(ctx, tx, id, entry != nil, code, msg)); err != nil && !stale(err) {
			return err
		}
		l := logEntry{direction: "out", peer: d.Recipient, operation: "SendNotification", subject: id, document: d.DocumentID,
			messageID: d.MessageID, outcome: "skipped", code: code, message: msg}
		if entry != nil {
			l = *entry
		}
		if err := writeLog(ctx, tx, l); err != nil {
			return err
		}
		return jobRow(tx)
	})
}
