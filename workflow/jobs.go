package workflow

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

// jobBatch collects the jobs one step's transaction queues, so they reach
// River in one InsertManyTx — one insert and one wake-up notification —
// rather than one InsertTx (two statements) each. The batch is inserted in
// the same transaction as the state change that caused it, so the guard
// "a state change and its next job commit together" holds as before.
type jobBatch []river.InsertManyParams

// queue adds a job to b, or, with b nil, inserts it in tx at once.
func (e *Engine) queue(ctx context.Context, tx pgx.Tx, b *jobBatch, args river.JobArgs, opts *river.InsertOpts) error {
	if b != nil {
		*b = append(*b, river.InsertManyParams{Args: args, InsertOpts: opts})
		return nil
	}
	if _, err := e.River.InsertTx(ctx, tx, args, opts); err != nil {
		return fmt.Errorf("workflow: queue %s: %w", args.Kind(), err)
	}
	return nil
}

// insert inserts the batch's jobs in tx (nothing when it is empty).
func (e *Engine) insert(ctx context.Context, tx pgx.Tx, b jobBatch) error {
	if len(b) == 0 {
		return nil
	}
	if _, err := e.River.InsertManyTx(ctx, tx, b); err != nil {
		return fmt.Errorf("workflow: queue %d jobs: %w", len(b), err)
	}
	return nil
}
