package workflow

import (
	"context"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/emdhub/hub/adapters/epgu"
	"github.com/emdhub/hub/adapters/zags"
	"github.com/emdhub/hub/internal/soapx"
	"github.com/emdhub/hub/internal/store"
)

// isCivilCertificate reports whether a document kind is a civil-registration
// certificate (медицинское свидетельство о рождении/смерти/перинатальной
// смерти) delivered to ЕГР ЗАГС and ЕПГУ. Not to be confused with the
// signers' X.509 certificates the certificate gate checks (certgate.go).
func isCivilCertificate(kind string) bool {
	_, ok := zags.TypeOfKind(kind)
	return ok
}

// startDeliveries creates the two deliveries of a civil-registration
// certificate and their jobs.
func (e *Engine) startDeliveries(ctx context.Context, tx pgx.Tx, doc *store.Document) error {
	var jobs []river.InsertManyParams
	for _, recipient := range []string{zags.Service, epgu.Service} {
		id, err := uuid.NewV7()
		if err != nil {
			return fmt.Errorf("workflow: delivery id: %w", err)
		}
		msgID := soapx.MessageID("deliver", recipient, id.String())
		if err := store.CreateDelivery(ctx, tx, id, doc.ID, doc.OrganizationID, recipient, msgID); err != nil {
			return fmt.Errorf("workflow: start deliveries of document %s: %w", doc.ID, err)
		}
		if recipient == zags.Service {
			jobs = append(jobs, river.InsertManyParams{Args: ZAGSArgs{DeliveryID: id}})
		} else {
			jobs = append(jobs, river.InsertManyParams{Args: EPGUArgs{DeliveryID: id}})
		}
	}
	if _, err := e.River.InsertManyTx(ctx, tx, jobs); err != nil {
		return fmt.Errorf("workflow: queue deliveries of document %s: %w", doc.ID, err)
	}
	return nil
}

// deliveryRow is a delivery with what its call needs.
type deliveryRow = store.DeliveryToSend

// deliver runs one delivery attempt: call, then record the outcome, the
// exchange log row and the job's completion together.
// withDocument loads the document with its signatures (d.Document) for a
// call that carries it.
func (e *Engine) deliver(ctx context.Context, job *rivertype.JobRow, jobRow func(tx pgx.Tx) error, id uuid.UUID, withDocument bool,
	call func(ctx context.Context, d *deliveryRow) (receipt string, duplicate bool, err error), operation string) error {
	// A call an earlier run left under way (its process died) is an attempt too.
	if err := e.reap(ctx, job, func(tx pgx.Tx, n int) error {
		for range n {
			if err := e.lost(store.FailDelivery(ctx, tx, id, false, CodeKilled, killedMessage)); err != nil && !stale(err) {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	// One round trip: the delivery, its signer certificates for the gate
	// and, for a recipient that carries the document, the document.
	d, err := store.GetDeliveryToSend(ctx, e.Pool, id, withDocument)
	if err != nil {
		return err
	}
	if st := store.DeliveryState(d.State); st != store.DelPending && st != store.DelRetrying {
		return nil
	}
	if code, msg := unreachableCitizen(d); code != "" {
		return e.notNotifiable(ctx, jobRow, id, d, nil, code, msg)
	}
	if x := e.gate(d.Signers); x != nil {
		return e.blockDelivery(ctx, jobRow, id, d, x, operation)
	}
	if err := e.breakerWait(d.Recipient); err != nil {
		e.countSnooze(ctx, e.Pool, id)
		return err
	}
	entry := logEntry{direction: "out", peer: d.Recipient, operation: operation, subject: id, document: d.DocumentID, messageID: d.MessageID}
	var receipt string
	var dup bool
	callErr, err := e.attempt(ctx, job, &entry, func(ctx context.Context) (err error) {
		receipt, dup, err = call(ctx, d)
		return err
	})
	if err != nil {
		return err
	}
	ctx, cancel := afterCall(ctx)
	defer cancel()
	if callErr == nil && dup {
		entry.outcome = "duplicate"
	}
	if refusedCitizen(d, callErr) {
		return e.notNotifiable(ctx, jobRow, id, d, &entry, entry.code, entry.message)
	}
	if callErr != nil {
		class := soapx.ClassOf(callErr)
		giveUp := class == soapx.Permanent || job.Attempt >= job.MaxAttempts
		if err := pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
			if err := e.lost(store.FailDelivery(ctx, tx, id, giveUp, entry.code, entry.message)); err != nil && !stale(err) {
				return err
			}
			if class == soapx.RateLimited {
				e.countSnooze(ctx, tx, id)
			}
			return writeLog(ctx, tx, entry)
		}); err != nil {
			return err
		}
		return e.retryDecision(ctx, job, d.Recipient, callErr)
	}
	return pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		if err := e.lost(store.MarkDelivered(ctx, tx, id, receipt, dup)); err != nil && !stale(err) {
			return err
		}
		if err := writeLog(ctx, tx, entry); err != nil {
			return err
		}
		return jobRow(tx)
	})
}

// countSnooze counts a delivery's snooze (rate limit, open breaker): a
// delivery that keeps coming back is shown among the troubles. Best effort:
// the count is for operators, not for the flow.
func (e *Engine) countSnooze(ctx context.Context, db store.DBTX, id uuid.UUID) {
	if err := store.CountSnooze(ctx, db, id); err != nil {
		e.Log.Warn("counting a delivery's snooze failed", "delivery_id", id, "error", err)
	}
}

type zagsWorker struct {
	river.WorkerDefaults[ZAGSArgs]
	e *Engine
}

func (w *zagsWorker) Work(ctx context.Context, job *river.Job[ZAGSArgs]) error {
	e := w.e
	complete := func(tx pgx.Tx) error { return completeTx(ctx, tx, job) }
	return e.deliver(ctx, job.JobRow, complete, job.Args.DeliveryID, true, func(ctx context.Context, d *deliveryRow) (string, bool, error) {
		typ, _ := zags.TypeOfKind(d.Kind)
		rc, err := e.zags.Submit(ctx, zags.Certificate{MessageID: d.MessageID, SenderOrgOID: d.OrgOid, Type: typ, Series: d.Series, Number: d.Number, Document: *d.Document})
		if err != nil {
			return "", false, err
		}
		return rc.RecordID, rc.Duplicate, nil
	}, "SubmitMedicalCertificate")
}

type epguWorker struct {
	river.WorkerDefaults[EPGUArgs]
	e *Engine
}

func (w *epguWorker) Work(ctx context.Context, job *river.Job[EPGUArgs]) error {
	e := w.e
	complete := func(tx pgx.Tx) error { return completeTx(ctx, tx, job) }
	return e.deliver(ctx, job.JobRow, complete, job.Args.DeliveryID, false, func(ctx context.Context, d *deliveryRow) (_ string, _ bool, err error) {
		if d.PatientSnils == "" {
			return "", false, &soapx.Error{Service: epgu.Service, Operation: "SendNotification", Class: soapx.Permanent, Code: "NO_RECIPIENT_SNILS",
				Message: "the certificate names no СНИЛС to notify on ЕПГУ"}
		}
		event := epgu.EventCertificateIssued
		if d.Event != "" { // an MSE event on the referral's document (citizen_events.go)
			event = d.Event
		}
		text := ""
		if event == epgu.EventNewMedicalDocuments { // a batch of new documents (document_notices.go)
			if text, err = e.noticeText(ctx, job.Args.DeliveryID); err != nil {
				return "", false, err
			}
		}
		rc, err := e.epgu.Send(ctx, epgu.Notification{MessageID: d.MessageID, RecipientSNILS: d.PatientSnils, Event: event,
			DocumentKind: d.Kind, DocumentRoot: d.CdaRoot, DocumentExt: d.CdaExtension, Text: text})
		if err != nil {
			return "", false, err
		}
		return rc.NotificationID, rc.Duplicate, nil
	}, "SendNotification")
}
