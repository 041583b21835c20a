package store

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/emdhub/hub/internal/store/dbsqlc"
)

// CreateEventDelivery creates the ЕПГУ delivery of an event about a
// document (an MSE event on the referral's document) unless the document
// has it already; created reports whether this call made it, so the
// caller queues its job only once.
func CreateEventDelivery(ctx context.Context, db DBTX, id, document, org uuid.UUID, event, messageID string) (created bool, err error) {
	_, err = queries.CreateEventDelivery(ctx, db, &dbsqlc.CreateEventDeliveryParams{ID: id, DocumentID: document, OrganizationID: org,
		State: string(DelPending), MessageID: messageID, Event: event})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: create %s delivery of document %s: %w", event, document, err)
	}
	return true, nil
}

// MarkNotNotifiable records that the citizen cannot be told on ЕПГУ;
// attempted says whether a call was made (the portal refused) or not (no
// СНИЛС to call with).
func MarkNotNotifiable(ctx context.Context, db DBTX, id uuid.UUID, attempted bool, code, message string) error {
	t := TrDeliveryNotNotifiable
	n := 0
	if attempted {
		n = 1
	}
	_, err := queries.DeliveryNotNotifiable(ctx, db, &dbsqlc.DeliveryNotNotifiableParams{ToState: t.To, Attempts: n, LastErrorCode: NullString(code),
		LastError: NullString(message), ID: id, FromStates: t.From})
	return delivery(ctx, db, t, id, err)
}

// ReferralDocument returns a referral's document and organisation.
func ReferralDocument(ctx context.Context, db DBTX, referral uuid.UUID) (document, org uuid.UUID, err error) {
	r, err := queries.ReferralDocument(ctx, db, referral)
	if err != nil {
		return uuid.Nil, uuid.Nil, orNotFound(err, "referral %s", referral)
	}
	return r.DocumentID, r.OrganizationID, nil
}
