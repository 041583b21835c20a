package intake

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Committer stores documents by group commit (issue 16): on durable
// storage a commit waits for its WAL to reach the disk, and that wait,
// not the statements, bounded the door. The documents that arrive while a
// commit is in flight wait in a queue; the next free committer takes all of
// them (up to MaxBatch) into ONE transaction, each document in a savepoint
// of its own, and one commit — one WAL flush — answers them all.
//
// There is no timer: a committer takes what is queued the moment it is
// free, so at low load a document is committed alone and at once (latency
// stays that of one transaction), and batches grow only when documents
// already queue behind a commit. Committers bound the concurrent batches
// (and the connections they hold).
//
// Atomicity stays per document: a document's statements (its row,
// signatures, the workflow's rows and jobs) run in its savepoint, and a
// document whose work fails is rolled back to it and answered with its
// error while the others go on; its attempt row is written with the
// others, after them, in one statement. A batch whose commit (or attempt
// statement) fails answers every waiter with that error and stores nothing.
type Committer struct {
	Pool *pgxpool.Pool
	// Committers is the number of batches that may be committing at once
	// (default 1).
	Committers int
	// MaxBatch bounds the documents of one batch (default 64).
	MaxBatch int
	// Timeout bounds a batch's transaction (default 30s). A batch does not
	// run under a waiter's context: a client that goes away must not roll
	// back the others' documents.
	Timeout time.Duration

	mu      sync.Mutex
	queue   []*work
	running int

	docs, batches atomic.Int64
}

// BatchRecorder is a Recorder that writes the accepted attempts of a
// batch in one statement, in the batch's transaction, after the documents.
type BatchRecorder interface {
	Recorder
	AcceptedBatch(ctx context.Context, tx pgx.Tx, attempts []*Attempt) error
}

// work is one document waiting to be stored.
type work struct {
	ctx   context.Context
	key   string
	rec   BatchRecorder
	store func(ctx context.Context, tx pgx.Tx) (*Attempt, error)
	done  chan error
}

// run is the document's work; a panic in it (a hook's) is its failure,
// as the API's recover made it when the work ran in the request's
// goroutine, not the end of the committer and of the process.
func (w *work) run(ctx context.Context, tx pgx.Tx) (att *Attempt, err error) {
	defer func() {
		if p := recover(); p != nil {
			att, err = nil, fmt.Errorf("intake: panic storing a document: %v", p)
		}
	}()
	return w.store(ctx, tx)
}

// recorded are the attempts a batch writes through one recorder.
type recorded struct {
	rec      BatchRecorder
	attempts []*Attempt
}

// Do stores one document: store runs in a savepoint of the next batch's
// transaction and returns the attempt rec records (nil: none) with the
// batch's others. Do returns
// once the batch committed (nil), or with store's error (the document's
// savepoint rolled back, the others unaffected), or with the batch's error
// (nothing of the batch stored). A waiter whose ctx ends before its batch
// starts is answered with ctx's error and stored nowhere; once its batch
// started, Do waits for the batch's answer, so the answer is the truth.
//
// key orders a batch (the document's CDA id): two batches committing at
// once take their documents' unique keys in the same order, so they can
// wait on each other but not deadlock (the same two new documents sent
// twice at once, taken in opposite orders, would: each batch holding one
// and waiting for the other). Documents of one key keep their order of
// arrival.
func (c *Committer) Do(ctx context.Context, key string, rec BatchRecorder, store func(ctx context.Context, tx pgx.Tx) (*Attempt, error)) error {
	w := &work{ctx: ctx, key: key, rec: rec, store: store, done: make(chan error, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, w)
	start := c.running < max(c.Committers, 1)
	if start {
		c.running++
	}
	c.mu.Unlock()
	if start {
		go c.drain()
	}
	return <-w.done
}

// Stats are the documents and batches committed so far (docs/batch is
// the batching the load produced).
func (c *Committer) Stats() (docs, batches int64) { return c.docs.Load(), c.batches.Load() }

// Queued is the number of documents waiting for a committer (the queue's
// depth, for a live view of the load).
func (c *Committer) Queued() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.queue)
}

// drain commits batches until the queue is empty, then ends: committers
// exist only while there is work, so there is nothing to start or stop.
func (c *Committer) drain() {
	for {
		c.mu.Lock()
		n := min(len(c.queue), c.maxBatch())
		if n == 0 {
			c.running--
			c.mu.Unlock()
			return
		}
		batch := make([]*work, n)
		copy(batch, c.queue)
		c.queue = append(c.queue[:0], c.queue[n:]...)
		c.mu.Unlock()
		c.commit(batch)
	}
}

func (c *Committer) maxBatch() int {
	if c.MaxBatch <= 0 {
		return 64
	}
	return c.MaxBatch
}

// commit stores a batch and answers each of its waiters.
func (c *Committer) commit(batch []*work) {
	live := batch[:0:0]
	for _, w := range batch {
		if err := w.ctx.Err(); err != nil {
			w.done <- err
			continue
		}
		live = append(live, w)
	}
	if len(live) == 0 {
		return
	}
	slices.SortStableFunc(live, func(a, b *work) int { return strings.Compare(a.key, b.key) })
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	failed := make([]error, len(live)) // a document's own failure: its savepoint rolled back
	err := pgx.BeginFunc(ctx, c.Pool, func(tx pgx.Tx) error {
		var attempts []recorded
		sp := savepoints{tx: tx}
		for i, w := range live {
			if len(live) == 1 {
				// A batch of one needs no savepoint: its failure rolls the
				// whole transaction back, as the one-at-a-time path did, and
				// the unloaded door keeps one transaction's statements.
				att, err := w.run(ctx, tx)
				if err != nil {
					failed[i] = err
					return err
				}
				attempts = appendAttempt(attempts, w.rec, att)
				continue
			}
			if err := sp.open(ctx); err != nil {
				return err
			}
			att, err := w.run(ctx, tx)
			if err != nil {
				failed[i] = err
				if rerr := sp.rollback(ctx); rerr != nil {
					return errors.Join(err, rerr)
				}
				continue
			}
			attempts = appendAttempt(attempts, w.rec, att)
		}
		// The last document's savepoint stays open: the attempts' statement
		// runs in it and COMMIT releases it (a failure there fails the
		// batch in any case).
		for _, r := range attempts {
			if err := r.rec.AcceptedBatch(ctx, tx, r.attempts); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		err = fmt.Errorf("intake: group commit of %d documents: %w", len(live), err)
	} else {
		c.batches.Add(1)
		c.docs.Add(int64(len(live)))
	}
	for i, w := range live {
		if failed[i] != nil { // its own failure, whatever became of the batch
			w.done <- failed[i]
		} else {
			w.done <- err
		}
	}
}

// appendAttempt adds a to rec's attempts (in practice every document of a
// batch has the same recorder, the service's).
func appendAttempt(rs []recorded, rec BatchRecorder, a *Attempt) []recorded {
	if a == nil || rec == nil {
		return rs
	}
	for i := range rs {
		if rs[i].rec == rec {
			rs[i].attempts = append(rs[i].attempts, a)
			return rs
		}
	}
	return append(rs, recorded{rec: rec, attempts: []*Attempt{a}})
}

// savepoints keep one document's statements apart in a batch, in one round
// trip per document: pgx's nested transactions (tx.Begin, Commit) take
// two, SAVEPOINT before and RELEASE after; here the RELEASE of one
// document travels with the SAVEPOINT of the next, as one simple-protocol
// query, and the last one is released by COMMIT. Released, not nested:
// more than 64 subtransactions open in one transaction would overflow
// PostgreSQL's per-backend cache and slow every snapshot in the cluster.
type savepoints struct {
	tx     pgx.Tx
	opened bool // a document's savepoint is open
}

// open starts the next document's savepoint, releasing the previous one.
func (s *savepoints) open(ctx context.Context) error {
	q := "SAVEPOINT hub_document"
	if s.opened {
		q = "RELEASE SAVEPOINT hub_document; SAVEPOINT hub_document"
	}
	if _, err := s.tx.Exec(ctx, q); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	s.opened = true
	return nil
}

// rollback undoes the open savepoint's statements (the document failed)
// and releases it; an error means the transaction cannot go on.
func (s *savepoints) rollback(ctx context.Context) error {
	s.opened = false
	if _, err := s.tx.Exec(ctx, "ROLLBACK TO SAVEPOINT hub_document; RELEASE SAVEPOINT hub_document"); err != nil {
		return fmt.Errorf("rollback to savepoint: %w", err)
	}
	return nil
}
