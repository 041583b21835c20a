package store

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/emdhub/hub/internal/store/dbsqlc"
)

// Call is one exchange_log row: a call to a peer (out) or from it (in).
// A call is put on record as 'started' before it goes out (StartCall) and
// settled with its outcome after (SettleCall), so a call whose process
// died leaves a row the next run of its job settles as killed (ReapKilled).
type Call struct {
	ID                         int64     // set by StartCall
	At                         time.Time // set by StartCall: with ID the row's key (exchange_log is partitioned on it)
	JobID                      int64     // the River job making the call; 0 if none
	Direction, Peer, Operation string
	Subject, Document          uuid.UUID
	MessageID                  string
	Outcome, Code, Message     string
	HTTPStatus                 int
	Duration                   time.Duration
}

// maxLogMessage bounds a logged message: peers' fault strings can be long.
const maxLogMessage = 1000

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
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

// StartCall writes c as started and sets c.ID.
func StartCall(ctx context.Context, db DBTX, c *Call) error {
	r, err := queries.StartCall(ctx, db, &dbsqlc.StartCallParams{Direction: c.Direction, Peer: c.Peer, Operation: c.Operation,
		SubjectID: NullUUID(c.Subject), DocumentID: NullUUID(c.Document), MessageID: NullString(c.MessageID), Outcome: c.Outcome, JobID: nullInt64(c.JobID)})
	if err != nil {
		return fmt.Errorf("store: put call %s to %s on record: %w", c.Operation, c.Peer, err)
	}
	c.ID, c.At = r.ID, r.At
	return nil
}

// LogCall writes c: a started call (c.ID set) is settled with its outcome,
// another is inserted whole.
func LogCall(ctx context.Context, db DBTX, c Call) error {
	msg := NullString(truncate(c.Message, maxLogMessage))
	var err error
	if c.ID != 0 {
		err = queries.SettleCall(ctx, db, &dbsqlc.SettleCallParams{ID: c.ID, At: c.At, Outcome: c.Outcome, Code: NullString(c.Code), Message: msg,
			DurationMs: int(c.Duration.Milliseconds()), HttpStatus: nullInt(c.HTTPStatus), DocumentID: NullUUID(c.Document), MessageID: NullString(c.MessageID)})
	} else {
		err = queries.LogCall(ctx, db, &dbsqlc.LogCallParams{Direction: c.Direction, Peer: c.Peer, Operation: c.Operation,
			SubjectID: NullUUID(c.Subject), DocumentID: NullUUID(c.Document), MessageID: NullString(c.MessageID), Outcome: c.Outcome,
			Code: NullString(c.Code), Message: msg, DurationMs: int(c.Duration.Milliseconds()), HttpStatus: nullInt(c.HTTPStatus), JobID: nullInt64(c.JobID)})
	}
	if err != nil {
		return fmt.Errorf("store: log call %s to %s (%s): %w", c.Operation, c.Peer, c.Outcome, err)
	}
	return nil
}

// ReapKilled settles as killed (code) the calls job left started on an
// earlier run and returns their peers.
func ReapKilled(ctx context.Context, db DBTX, jobID int64, code string) ([]string, error) {
	peers, err := queries.ReapKilled(ctx, db, &dbsqlc.ReapKilledParams{Code: &code, JobID: &jobID})
	if err != nil {
		return nil, fmt.Errorf("store: settle killed calls of job %d: %w", jobID, err)
	}
	return peers, nil
}

// SweepOrphanCalls settles as killed (code) the calls left started by
// jobs that will never run again, and returns how many.
func SweepOrphanCalls(ctx context.Context, db DBTX, code string) (int64, error) {
	n, err := queries.SweepOrphanCalls(ctx, db, &code)
	if err != nil {
		return 0, fmt.Errorf("store: sweep calls of dead jobs: %w", err)
	}
	return n, nil
}
