package workflow

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/emdhub/hub/adapters/epgu"
	"github.com/emdhub/hub/internal/soapx"
	"github.com/emdhub/hub/internal/store"
)

// Proactive notices of new documents (issue 15, HUB_EPGU_DOCUMENT_NOTICES=on):
// the intake puts every accepted document whose patient has a СНИЛС in its
// citizen's batch of the day (Moscow time); a periodic sweep closes the
// batches of past days, each as one ЕПГУ delivery (NEW_MEDICAL_DOCUMENTS)
// on the batch's first document, which then runs as every ЕПГУ delivery
// does (deliver: certificate gate, breaker, retries, troubles, not
// notifiable without an account). The notice names each document's kind,
// organisation and date — never its content. A batch is made once per
// citizen and day (epgu_notice_batches' key), so a sweep re-run or
// overlapping another changes nothing.

// moscow is the day batches are cut by (UTC+3, no DST since 2014).
var moscow = time.FixedZone("MSK", 3*60*60)

// NoticeSweepInterval is how often the batches of past days are closed.
const NoticeSweepInterval = 5 * time.Minute

// awaitDocumentNotice, in the intake transaction, puts a document in its
// citizen's batch of today when notices are on.
func (e *Engine) awaitDocumentNotice(ctx context.Context, tx pgx.Tx, doc *store.Document) error {
	if !e.cfg.EPGUDocumentNotices || doc.PatientSNILS == "" {
		return nil
	}
	return store.AwaitDocumentNotice(ctx, tx, doc.ID, doc.PatientSNILS, e.now().In(moscow))
}

// DocumentNoticesArgs closes the notice batches of past days (periodic).
type DocumentNoticesArgs struct{}

// Kind implements river.JobArgs.
func (DocumentNoticesArgs) Kind() string { return "epgu_document_notices" }

// InsertOpts implements river.JobArgsWithInsertOpts: one per sweep period,
// as the results pull (ResultsPullOpts).
func (DocumentNoticesArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueEPGU, UniqueOpts: river.UniqueOpts{ByPeriod: time.Second, ByState: liveStates}}
}

type documentNoticesWorker struct {
	river.WorkerDefaults[DocumentNoticesArgs]
	e *Engine
}

// Work makes one delivery per citizen's past day with unannounced documents.
func (w *documentNoticesWorker) Work(ctx context.Context, job *river.Job[DocumentNoticesArgs]) error {
	e := w.e
	today := e.now().In(moscow)
	return pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		batches, err := store.OpenNoticeBatches(ctx, tx, today)
		if err != nil {
			return err
		}
		for _, b := range batches {
			id, err := uuid.NewV7()
			if err != nil {
				return fmt.Errorf("workflow: delivery id: %w", err)
			}
			// The portal's duplicate key: stable per citizen and day (by the
			// day's first document: a hash of the СНИЛС could be reversed).
			msgID := soapx.MessageID("citizen-documents", b.FirstDocument.String(), b.Day.Format(time.DateOnly))
			created, err := store.CreateNoticeBatch(ctx, tx, b, id, epgu.EventNewMedicalDocuments, msgID)
			if err != nil {
				return fmt.Errorf("workflow: notice batch of %s: %w", b.Day.Format(time.DateOnly), err)
			}
			if !created {
				continue
			}
			if _, err := e.River.InsertTx(ctx, tx, EPGUArgs{DeliveryID: id}, nil); err != nil {
				return fmt.Errorf("workflow: queue notice batch: %w", err)
			}
		}
		return completeTx(ctx, tx, job)
	})
}

// noticeText is what a batch tells the citizen: each document's kind,
// organisation and date.
func (e *Engine) noticeText(ctx context.Context, deliveryID uuid.UUID) (string, error) {
	items, err := store.NoticeBatchDocuments(ctx, e.Pool, deliveryID)
	if err != nil {
		return "", err
	}
	lines := make([]string, 0, len(items)+1)
	lines = append(lines, fmt.Sprintf("Новые медицинские документы: %d", len(items)))
	for _, it := range items {
		lines = append(lines, fmt.Sprintf("вид %s; %s; %s", it.Kind, it.Organization, it.Date.In(moscow).Format("02.01.2006")))
	}
	return strings.Join(lines, "\n"), nil
}
