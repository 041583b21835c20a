package workflow

import (
	"context"
	"errors"
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"

	"github.com/emdhub/hub/internal/soapx"
	"github.com/emdhub/hub/internal/store"
)

// logEntry is one exchange_log row.
type logEntry struct {
	direction, peer, operation string
	subject, document          uuid.UUID
	messageID                  string
	outcome, code, message     string
	duration                   time.Duration
}

func writeLog(ctx context.Context, q store.DBTX, l logEntry) error {
	_, err := q.Exec(ctx, `INSERT INTO exchange_log (direction, peer, operation, subject_id, document_id, message_id, outcome, code, message, duration_ms)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)`, l.direction, l.peer, l.operation, store.NullUUID(l.subject), store.NullUUID(l.document),
		store.NullString(l.messageID), l.outcome, store.NullString(l.code), store.NullString(truncate(l.message, 1000)), int(l.duration.Milliseconds()))
	return err
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// outcomeOf names a call's outcome for the log: ok, or the error's class.
func outcomeOf(err error) (outcome, code, message string) {
	if err == nil {
		return "ok", "", ""
	}
	var e *soapx.Error
	if errors.As(err, &e) {
		return e.Class.String(), e.Code, e.Message
	}
	return "transient", "INTERNAL", err.Error()
}

// retryDecision turns a classified failure into what River should do with
// the job: permanent → cancel (the caller stores the reason first), rate
// limited → snooze, others → error (retry with back-off).
func (e *Engine) retryDecision(peer string, err error) error {
	switch soapx.ClassOf(err) {
	case soapx.Permanent:
		return river.JobCancel(err)
	case soapx.RateLimited:
		return river.JobSnooze(time.Minute)
	case soapx.Unavailable:
		e.breaks.failure(peer, e.now())
		return err
	default:
		return err
	}
}

// gate checks the recipient's breaker; a non-nil error is the snooze to return.
func (e *Engine) gate(peer string) error {
	if ok, wait := e.breaks.allow(peer, e.now()); !ok {
		return river.JobSnooze(wait + 100*time.Millisecond)
	}
	return nil
}
