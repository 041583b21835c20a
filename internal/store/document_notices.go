package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/emdhub/hub/internal/store/dbsqlc"
)

// Proactive notices of new documents (issue 15): documents waiting for
// their citizen's daily batch, and the batches (one ЕПГУ delivery each).

func pgDate(day time.Time) pgtype.Date {
	return pgtype.Date{Time: time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC), Valid: true}
}

// AwaitDocumentNotice puts an accepted document in its citizen's batch of day.
func AwaitDocumentNotice(ctx context.Context, db DBTX, document uuid.UUID, snils string, day time.Time) error {
	if err := queries.AwaitDocumentNotice(ctx, db, &dbsqlc.AwaitDocumentNoticeParams{DocumentID: document, PatientSnils: snils, Day: pgDate(day)}); err != nil {
		return fmt.Errorf("store: document notice of %s: %w", document, err)
	}
	return nil
}

// NoticeBatch is a citizen's day with documents not yet batched.
type NoticeBatch struct {
	SNILS         string
	Day           time.Time
	FirstDocument uuid.UUID
	Organization  uuid.UUID
}

// OpenNoticeBatches lists (at most 500) citizens' days before the day
// before with documents not yet batched.
func OpenNoticeBatches(ctx context.Context, db DBTX, before time.Time) ([]NoticeBatch, error) {
	rows, err := queries.OpenNoticeBatches(ctx, db, pgDate(before))
	if err != nil {
		return nil, fmt.Errorf("store: open notice batches: %w", err)
	}
	out := make([]NoticeBatch, len(rows))
	for i, r := range rows {
		out[i] = NoticeBatch{SNILS: r.PatientSnils, Day: r.Day.Time, FirstDocument: r.FirstDocument, Organization: r.OrganizationID}
	}
	return out, nil
}

// CreateNoticeBatch makes the batch of b (its delivery on b's first
// document, event NEW_MEDICAL_DOCUMENTS) and puts its documents in it, in
// db's transaction; created is false when the citizen's day has its batch
// already (then nothing changes).
func CreateNoticeBatch(ctx context.Context, tx pgx.Tx, b NoticeBatch, deliveryID uuid.UUID, event, messageID string) (created bool, err error) {
	_, err = queries.CreateNoticeBatch(ctx, tx, &dbsqlc.CreateNoticeBatchParams{PatientSnils: b.SNILS, Day: pgDate(b.Day), DeliveryID: deliveryID})
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: notice batch: %w", err)
	}
	if ok, err := CreateEventDelivery(ctx, tx, deliveryID, b.FirstDocument, b.Organization, event, messageID); err != nil {
		return false, err
	} else if !ok {
		return false, fmt.Errorf("store: notice batch: document %s has its %s delivery already", b.FirstDocument, event)
	}
	if err := queries.FillNoticeBatch(ctx, tx, &dbsqlc.FillNoticeBatchParams{DeliveryID: &deliveryID, PatientSnils: b.SNILS, Day: pgDate(b.Day)}); err != nil {
		return false, fmt.Errorf("store: notice batch: %w", err)
	}
	return true, nil
}

// NoticeItem is one document a batch tells of: kind, organisation, date.
type NoticeItem struct {
	Kind         string
	Organization string
	Date         time.Time
}

// NoticeBatchDocuments lists what a batch's delivery tells.
func NoticeBatchDocuments(ctx context.Context, db DBTX, deliveryID uuid.UUID) ([]NoticeItem, error) {
	rows, err := queries.NoticeBatchDocuments(ctx, db, &deliveryID)
	if err != nil {
		return nil, fmt.Errorf("store: documents of notice %s: %w", deliveryID, err)
	}
	out := make([]NoticeItem, len(rows))
	for i, r := range rows {
		out[i] = NoticeItem{Kind: r.Kind, Organization: r.Organization, Date: r.EffectiveTime}
	}
	return out, nil
}
