package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/emdhub/hub/internal/metrics"
	"github.com/emdhub/hub/internal/soapx"
	"github.com/emdhub/hub/internal/store"
)

// Exchange-log outcomes besides the failure classes (transient,
// unavailable, rate_limited, permanent) and ok/duplicate/blocked.
const (
	// OutcomeStarted: the call is under way (written before it goes out).
	OutcomeStarted = "started"
	// OutcomeTimeout: no answer within HUB_SOAP_TIMEOUT or the job's deadline.
	OutcomeTimeout = "timeout"
	// OutcomeKilled: the process making the call died or was stopped
	// before it ended; the outcome at the peer is unknown (the message id
	// makes a repeat safe).
	OutcomeKilled = "killed"
)

// logEntry is one exchange_log row. With id set it is the 'started' row of
// a call, settled by writeLog.
type logEntry struct {
	id                         int64
	jobID                      int64
	direction, peer, operation string
	subject, document          uuid.UUID
	messageID                  string
	outcome, code, message     string
	httpStatus                 int
	duration                   time.Duration
}

func writeLog(ctx context.Context, q store.DBTX, l logEntry) error {
	if l.id != 0 {
		_, err := q.Exec(ctx, `UPDATE exchange_log SET outcome = $2, code = $3, message = $4, duration_ms = $5, http_status = $6,
				document_id = coalesce($7, document_id), message_id = coalesce($8, message_id) WHERE id = $1`,
			l.id, l.outcome, store.NullString(l.code), store.NullString(truncate(l.message, 1000)), int(l.duration.Milliseconds()),
			nullInt(l.httpStatus), store.NullUUID(l.document), store.NullString(l.messageID))
		return err
	}
	_, err := q.Exec(ctx, `INSERT INTO exchange_log (direction, peer, operation, subject_id, document_id, message_id, outcome, code, message, duration_ms, http_status, job_id)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)`, l.direction, l.peer, l.operation, store.NullUUID(l.subject), store.NullUUID(l.document),
		store.NullString(l.messageID), l.outcome, store.NullString(l.code), store.NullString(truncate(l.message, 1000)), int(l.duration.Milliseconds()),
		nullInt(l.httpStatus), nullInt64(l.jobID))
	return err
}

func nullInt(n int) *int {
	if n == 0 {
		return nil
	}
	return &n
}

func nullInt64(n int64) *int64 {
	if n == 0 {
		return nil
	}
	return &n
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// startCall puts a call on record before it goes out: the entry's row is
// written as 'started' in its own transaction, so a process that dies
// during the call still leaves it (turned into 'killed' by the job's next
// run, see reapKilled). The returned context carries the Observation the
// transport fills; finish reads it.
func (e *Engine) startCall(ctx context.Context, job *rivertype.JobRow, l *logEntry) (context.Context, *soapx.Observation, error) {
	if job != nil {
		l.jobID = job.ID
	}
	l.outcome = OutcomeStarted
	if err := e.Pool.QueryRow(ctx, `INSERT INTO exchange_log (direction, peer, operation, subject_id, document_id, message_id, outcome, job_id)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8) RETURNING id`, l.direction, l.peer, l.operation, store.NullUUID(l.subject), store.NullUUID(l.document),
		store.NullString(l.messageID), l.outcome, nullInt64(l.jobID)).Scan(&l.id); err != nil {
		return ctx, nil, err
	}
	ctx, obs := soapx.Observe(ctx)
	return ctx, obs, nil
}

// finish fills the entry with the call's outcome, HTTP status and elapsed
// time; writeLog then settles its row in the step's transaction.
func (l *logEntry) finish(obs *soapx.Observation, start time.Time, callErr error) {
	l.outcome, l.code, l.message = outcomeOf(callErr)
	l.duration = time.Since(start)
	if obs != nil {
		l.httpStatus = obs.Status
		if obs.Duration > 0 {
			l.duration = obs.Duration
		}
	}
	var se *soapx.Error
	if errors.As(callErr, &se) && se.HTTPStatus != 0 {
		l.httpStatus = se.HTTPStatus
	}
	metrics.Exchange(l.peer, l.operation, l.outcome, l.duration)
}

// afterCall is the context for recording what a call did: the job's own
// may have just expired (that is how the call ended), and an attempt that
// happened must still be written down.
func afterCall(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
}

// outcomeOf names a call's outcome for the log: ok, timeout, killed, or the
// error's class.
func outcomeOf(err error) (outcome, code, message string) {
	if err == nil {
		return "ok", "", ""
	}
	var e *soapx.Error
	if errors.As(err, &e) {
		if e.Code == soapx.CodeTimeout {
			return OutcomeTimeout, e.Code, e.Message
		}
		return e.Class.String(), e.Code, e.Message
	}
	if errors.Is(err, context.Canceled) {
		return OutcomeKilled, "CANCELED", "the hub stopped the call (shutdown); it will be made again"
	}
	return "transient", "INTERNAL", err.Error()
}

// CodeKilled is the code of an attempt whose process died mid-call.
const CodeKilled = "KILLED"

// reapKilled settles, in tx, the calls job left 'started' on an earlier run
// (its process died, or its commit was lost): each becomes 'killed', counts
// against its peer's breaker, and is returned so the caller counts it as an
// attempt of its subject.
func (e *Engine) reapKilled(ctx context.Context, tx pgx.Tx, job *rivertype.JobRow) (int, error) {
	rows, err := tx.Query(ctx, `UPDATE exchange_log SET outcome = 'killed', code = $2,
			message = 'the call was under way when its process died; outcome unknown, made again under the same message id',
			duration_ms = greatest(0, (extract(epoch FROM now() - at) * 1000)::integer)
		WHERE job_id = $1 AND outcome = 'started' RETURNING peer`, job.ID, CodeKilled)
	if err != nil {
		return 0, err
	}
	peers, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, err
	}
	for _, p := range peers {
		e.breaks.failure(p, e.now())
	}
	if len(peers) > 0 {
		e.Log.Warn("calls left under way by a dead run settled as killed", "job_id", job.ID, "kind", job.Kind, "calls", len(peers))
	}
	return len(peers), nil
}

// sweepOrphans settles as killed the calls left 'started' by jobs that will
// never run again (discarded by River's rescuer after their last attempt,
// cancelled, deleted): nobody else would. Run by the periodic results job.
func (e *Engine) sweepOrphans(ctx context.Context) error {
	tag, err := e.Pool.Exec(ctx, `UPDATE exchange_log x SET outcome = 'killed', code = $1,
			message = 'the call was under way when its process died, and its job never ran again',
			duration_ms = greatest(0, (extract(epoch FROM now() - x.at) * 1000)::integer)
		WHERE x.outcome = 'started' AND x.job_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM river_job j WHERE j.id = x.job_id
			AND j.state IN ('available', 'pending', 'retryable', 'running', 'scheduled'))`, CodeKilled)
	if err != nil {
		return fmt.Errorf("workflow: sweep calls of dead jobs: %w", err)
	}
	if n := tag.RowsAffected(); n > 0 {
		e.Log.Warn("calls of jobs that will not run again settled as killed", "calls", n)
	}
	return nil
}

// reap runs reapKilled in its own transaction with onKilled, which counts
// the attempts on the job's subject (a link, a delivery, a referral).
func (e *Engine) reap(ctx context.Context, job *rivertype.JobRow, onKilled func(tx pgx.Tx, n int) error) error {
	return pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		n, err := e.reapKilled(ctx, tx, job)
		if err != nil || n == 0 || onKilled == nil {
			return err
		}
		return onKilled(tx, n)
	})
}

// killedMessage is the last error shown for an attempt that was killed.
const killedMessage = "an attempt was under way when its process died; made again"

// metaRateLimited counts, in the job's metadata, how many times the job
// has been rate limited: River's snoozes do not count attempts, so the
// back-off needs its own count.
const metaRateLimited = "hub_rate_limited"

func rateLimitedSoFar(meta []byte) int {
	var m struct {
		N int `json:"hub_rate_limited"`
	}
	_ = json.Unmarshal(meta, &m) // absent or unreadable: none so far
	return m.N
}

// maxRetryAfter caps a peer's Retry-After: a wrong header must not park a
// delivery for days.
const maxRetryAfter = time.Hour

// rateLimitDelay is how long a rate-limited job sleeps: the peer's
// Retry-After when it gave one (at most maxRetryAfter), else the
// HUB_RETRY_* back-off for the nth time in a row this job was limited.
func (e *Engine) rateLimitDelay(retryAfter time.Duration, n int) time.Duration {
	if retryAfter > 0 {
		return min(retryAfter, maxRetryAfter)
	}
	return (&retryPolicy{base: e.cfg.RetryBase, max: e.cfg.RetryMax}).delay(n)
}

// retryDecision turns a classified failure into what River should do with
// the job: permanent → cancel (the caller stores the reason first), rate
// limited → snooze (Retry-After or back-off), others → error (retry with
// back-off). Peer down and timeouts count towards the peer's breaker.
func (e *Engine) retryDecision(ctx context.Context, job *rivertype.JobRow, peer string, err error) error {
	var se *soapx.Error
	errors.As(err, &se)
	switch soapx.ClassOf(err) {
	case soapx.Permanent:
		return river.JobCancel(err)
	case soapx.RateLimited:
		n := 1
		if job != nil {
			n = rateLimitedSoFar(job.Metadata) + 1
			if err := river.MetadataSet(ctx, metaRateLimited, n); err != nil {
				e.Log.Warn("could not count a rate limit in the job's metadata", "job_id", job.ID, "error", err)
			}
		}
		return river.JobSnooze(e.rateLimitDelay(se.RetryAfter, n))
	case soapx.Unavailable:
		e.breaks.failure(peer, e.now())
		return err
	default:
		if se != nil && se.Code == soapx.CodeTimeout {
			e.breaks.failure(peer, e.now())
		}
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
