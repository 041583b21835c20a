package workflow

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/emdhub/hub/adapters/epgu"
	"github.com/emdhub/hub/adapters/zags"
	"github.com/emdhub/hub/internal/soapx"
	"github.com/emdhub/hub/internal/store"
)

// Delivery states.
const (
	DelPending    = "pending"
	DelRetrying   = "retrying"
	DelDelivered  = "delivered"
	DelFailed     = "failed"
	DelBlocked    = "blocked_certificate" // stopped by the certificate gate
	DelSuperseded = "superseded"          // a newer signed version took over
)

func isCertificate(kind string) bool {
	_, ok := zags.TypeOfKind(kind)
	return ok
}

// startCertificate creates the two deliveries of a certificate and their jobs.
func (e *Engine) startCertificate(ctx context.Context, tx pgx.Tx, doc *store.Document) error {
	var jobs []river.InsertManyParams
	for _, recipient := range []string{zags.Service, epgu.Service} {
		id, err := uuid.NewV7()
		if err != nil {
			return err
		}
		msgID := soapx.MessageID("deliver", recipient, id.String())
		if _, err := tx.Exec(ctx, `INSERT INTO deliveries (id, document_id, organization_id, recipient, state, message_id)
			VALUES ($1, $2, $3, $4, 'pending', $5)`, id, doc.ID, doc.OrganizationID, recipient, msgID); err != nil {
			return fmt.Errorf("workflow: create delivery: %w", err)
		}
		if recipient == zags.Service {
			jobs = append(jobs, river.InsertManyParams{Args: ZAGSArgs{DeliveryID: id}})
		} else {
			jobs = append(jobs, river.InsertManyParams{Args: EPGUArgs{DeliveryID: id}})
		}
	}
	_, err := e.River.InsertManyTx(ctx, tx, jobs)
	return err
}

type deliveryRow struct {
	id, docID, orgID      uuid.UUID
	recipient, state, msg string
	orgOID                string
	kind, series, number  string
	snils                 string
	root, ext             string
}

func (e *Engine) loadDelivery(ctx context.Context, id uuid.UUID) (*deliveryRow, error) {
	d := &deliveryRow{id: id}
	err := e.Pool.QueryRow(ctx, `SELECT dl.document_id, dl.organization_id, dl.recipient, dl.state, dl.message_id, o.oid,
			doc.kind, coalesce(doc.series, ''), coalesce(doc.number, ''), coalesce(doc.patient_snils, ''), doc.cda_root, doc.cda_extension
		FROM deliveries dl JOIN documents doc ON doc.id = dl.document_id JOIN organizations o ON o.id = dl.organization_id
		WHERE dl.id = $1`, id).Scan(&d.docID, &d.orgID, &d.recipient, &d.state, &d.msg, &d.orgOID, &d.kind, &d.series, &d.number, &d.snils, &d.root, &d.ext)
	return d, err
}

// deliver runs one delivery attempt: call, then record the outcome, the
// exchange log row and the job's completion together.
func (e *Engine) deliver(ctx context.Context, job *rivertype.JobRow, jobRow func(tx pgx.Tx) error, id uuid.UUID,
	call func(ctx context.Context, d *deliveryRow) (receipt string, duplicate bool, err error), operation string) error {
	// A call an earlier run left under way (its process died) is an attempt too.
	if err := e.reap(ctx, job, func(tx pgx.Tx, n int) error {
		for range n {
			if _, err := e.transition(ctx, tx, TrDeliveryRetry, id, CodeKilled, killedMessage); err != nil && !stale(err) {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	d, err := e.loadDelivery(ctx, id)
	if err != nil {
		return err
	}
	if d.state != DelPending && d.state != DelRetrying {
		return nil
	}
	if x, err := e.checkCertificates(ctx, e.Pool, []uuid.UUID{d.docID}); err != nil {
		return err
	} else if x != nil {
		return e.blockDelivery(ctx, jobRow, d, x, operation)
	}
	if err := e.gate(d.recipient); err != nil {
		e.countSnooze(ctx, e.Pool, id)
		return err
	}
	entry := logEntry{direction: "out", peer: d.recipient, operation: operation, subject: id, document: d.docID, messageID: d.msg}
	cctx, obs, err := e.startCall(ctx, job, &entry)
	if err != nil {
		return err
	}
	start := time.Now()
	receipt, dup, callErr := call(cctx, d)
	entry.finish(obs, start, callErr)
	ctx, cancel := afterCall(ctx)
	defer cancel()
	if callErr == nil && dup {
		entry.outcome = "duplicate"
	}
	if callErr != nil {
		class := soapx.ClassOf(callErr)
		t := TrDeliveryRetry
		if class == soapx.Permanent || job.Attempt >= job.MaxAttempts {
			t = TrDeliveryFailed
		}
		if err := pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
			if _, err := e.transition(ctx, tx, t, id, store.NullString(entry.code), store.NullString(entry.message)); err != nil && !stale(err) {
				return err
			}
			if class == soapx.RateLimited {
				e.countSnooze(ctx, tx, id)
			}
			return writeLog(ctx, tx, entry)
		}); err != nil {
			return err
		}
		return e.retryDecision(ctx, job, d.recipient, callErr)
	}
	e.breaks.success(d.recipient)
	return pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		if _, err := e.transition(ctx, tx, TrDeliveryDelivered, id, receipt, dup); err != nil && !stale(err) {
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
func (e *Engine) countSnooze(ctx context.Context, q store.DBTX, id uuid.UUID) {
	if _, err := q.Exec(ctx, `UPDATE deliveries SET snoozes = snoozes + 1 WHERE id = $1`, id); err != nil {
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
	return e.deliver(ctx, job.JobRow, complete, job.Args.DeliveryID, func(ctx context.Context, d *deliveryRow) (string, bool, error) {
		typ, _ := zags.TypeOfKind(d.kind)
		doc, err := e.loadSigned(ctx, d.docID)
		if err != nil {
			return "", false, err
		}
		rc, err := e.zags.Submit(ctx, zags.Certificate{MessageID: d.msg, SenderOrgOID: d.orgOID, Type: typ, Series: d.series, Number: d.number, Document: *doc})
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
	return e.deliver(ctx, job.JobRow, complete, job.Args.DeliveryID, func(ctx context.Context, d *deliveryRow) (string, bool, error) {
		if d.snils == "" {
			return "", false, &soapx.Error{Service: epgu.Service, Operation: "SendNotification", Class: soapx.Permanent, Code: "NO_RECIPIENT_SNILS",
				Message: "the certificate names no СНИЛС to notify on ЕПГУ"}
		}
		rc, err := e.epgu.Send(ctx, epgu.Notification{MessageID: d.msg, RecipientSNILS: d.snils, Event: epgu.EventCertificateIssued,
			DocumentKind: d.kind, DocumentRoot: d.root, DocumentExt: d.ext})
		if err != nil {
			return "", false, err
		}
		return rc.NotificationID, rc.Duplicate, nil
	}, "SendNotification")
}
