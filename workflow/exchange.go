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

// logEntry is one exchange_log row (store.Call). With id set it is the
// 'started' row of a call, settled by writeLog.
type logEntry struct {
	id                         int64
	at                         time.Time // with id, the started row's key
	jobID                      int64
	direction, peer, operation string
	subject, document          uuid.UUID
	messageID                  string
	outcome, code, message     string
	httpStatus                 int
	duration                   time.Duration
}

func (l *logEntry) call() store.Call {
	return store.Call{ID: l.id, At: l.at, JobID: l.jobID, Direction: l.direction, Peer: l.peer, Operation: l.operation, Subject: l.subject,
		Document: l.document, MessageID: l.messageID, Outcome: l.outcome, Code: l.code, Message: l.message, HTTPStatus: l.httpStatus, Duration: l.duration}
}

func writeLog(ctx context.Context, db store.DBTX, l logEntry) error {
	return store.LogCall(ctx, db, l.call())
}

// attempt makes one outbound call, the one way every call to a peer goes
// out: it puts the call on record as 'started' before it goes out (its own
// transaction, so a process that dies during the call still leaves it,
// turned into 'killed' by the job's next run, see reapKilled), runs call
// with a context whose transport fills a soapx.Observation, fills entry
// with the outcome (ok, timeout, killed or the failure's class), HTTP
// status and duration, and feeds the peer's breaker: a success closes it, a
// peer down or a timeout counts towards opening it. The caller settles
// entry's row with writeLog in its step's transaction. err is the hub
// failing to put the call on record (then no call went out); callErr is
// the call's own failure.
func (e *Engine) attempt(ctx context.Context, job *rivertype.JobRow, entry *logEntry, call func(context.Context) error) (callErr, err error) {
	if job != nil {
		entry.jobID = job.ID
	}
	entry.outcome = OutcomeStarted
	c := entry.call()
	if err := store.StartCall(ctx, e.Pool, &c); err != nil {
		return nil, fmt.Errorf("workflow: %s to %s: %w", entry.operation, entry.peer, err)
	}
	entry.id, entry.at = c.ID, c.At
	cctx, obs := soapx.Observe(ctx)
	start := e.Clock.Wall()
	callErr = call(cctx)
	entry.finish(obs, e.Clock.Wall().Sub(start), callErr)
	e.feedBreaker(entry.peer, callErr)
	return callErr, nil
}

// feedBreaker tells peer's breaker how a call ended: a success closes it,
// a peer down or a timeout counts towards opening it, other failures (the
// peer answered: a refusal, a rate limit) leave it as it is.
func (e *Engine) feedBreaker(peer string, callErr error) {
	switch {
	case callErr == nil:
		e.breaks.success(peer)
	case peerDown(callErr):
		e.breaks.failure(peer, e.now())
	}
}

// peerDown reports whether a failed call counts towards its peer's
// breaker: the peer unreachable or unavailable, or no answer in time.
func peerDown(err error) bool {
	if soapx.ClassOf(err) == soapx.Unavailable {
		return true
	}
	var se *soapx.Error
	return errors.As(err, &se) && se.Class != soapx.Permanent && se.Class != soapx.RateLimited && se.Code == soapx.CodeTimeout
}

// finish fills the entry with the call's outcome, HTTP status and elapsed
// time; writeLog then settles its row in the step's transaction.
func (l *logEntry) finish(obs *soapx.Observation, elapsed time.Duration, callErr error) {
	l.outcome, l.code, l.message = outcomeOf(callErr)
	l.duration = elapsed
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
	peers, err := store.ReapKilled(ctx, tx, job.ID, CodeKilled)
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
	n, err := store.SweepOrphanCalls(ctx, e.Pool, CodeKilled)
	if err != nil {
		return fmt.Errorf("workflow: %w", err)
	}
	if n > 0 {
		e.Log.Warn("calls of jobs that will not run again settled as killed", "calls", n)
	}
	return nil
}

// reap runs reapKilled in its own transaction with onKilled, which counts
// the attempts on the job's subject (a link, a delivery, a referral).
//
// A job's first run has nothing to reap, and most runs are first runs: the
// three statements (begin, the update, commit) are skipped when River says
// no earlier run of this job ended badly (mayHaveDied).
func (e *Engine) reap(ctx context.Context, job *rivertype.JobRow, onKilled func(tx pgx.Tx, n int) error) error {
	if !mayHaveDied(job) {
		return nil
	}
	return pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		n, err := e.reapKilled(ctx, tx, job)
		if err != nil || n == 0 || onKilled == nil {
			return err
		}
		return onKilled(tx, n)
	})
}

// mayHaveDied reports whether an earlier run of job may have left a call
// 'started': a run that died (its process killed, its commit lost) is
// rescued by River as an error, so the next run has Attempt > 1 and an
// entry in Errors; a run that returned an error counts the same way. Only
// a snooze (rate limit, open breaker) gives the attempt back, and every
// snoozing path settles its call first (writeLog in the step's
// transaction). So Attempt 1 with no errors is a first run.
func mayHaveDied(job *rivertype.JobRow) bool {
	return job == nil || job.Attempt > 1 || len(job.Errors) > 0
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
// back-off). (attempt has already fed the peer's breaker.)
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
	default:
		return err
	}
}

// breakerWait checks the recipient's circuit breaker; a non-nil error is
// the snooze to return (the breaker is open: no call now).
func (e *Engine) breakerWait(peer string) error {
	if ok, wait := e.breaks.allow(peer, e.now()); !ok {
		return river.JobSnooze(wait + 100*time.Millisecond)
	}
	return nil
}
