package intake

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/emdhub/hub/internal/testdb"
)

// waitQueued waits until n documents wait for a committer.
func waitQueued(t *testing.T, c *Committer, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for c.Queued() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d documents queued, want %d", c.Queued(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// countingRecorder is a BatchRecorder writing one row per attempt into
// the test's table, so its statement is part of the batch under test.
type countingRecorder struct {
	Recorder
	calls int
}

func (r *countingRecorder) AcceptedBatch(ctx context.Context, tx pgx.Tx, as []*Attempt) error {
	r.calls++
	for _, a := range as {
		if _, err := tx.Exec(ctx, `INSERT INTO gc_attempts (local_id) VALUES ($1)`, a.LocalID); err != nil {
			return err
		}
	}
	return nil
}

// TestCommitterBatch: documents that queue behind a commit are stored by
// the next batch, in one transaction, and a document whose work fails
// after writing is rolled back alone — its row and its attempt absent, its
// own error its answer — while the others are stored with their attempts.
func TestCommitterBatch(t *testing.T) {
	ctx := context.Background()
	pool := testdb.Pool(t)
	if _, err := pool.Exec(ctx, `CREATE TABLE gc_docs (id int PRIMARY KEY, tx xid8 NOT NULL DEFAULT pg_current_xact_id());
		CREATE TABLE gc_attempts (local_id text PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	c := &Committer{Pool: pool, Committers: 1}
	rec := &countingRecorder{}
	release := make(chan struct{})
	first := make(chan error, 1)
	// The first document holds the committer until the others queued.
	go func() {
		first <- c.Do(ctx, "", rec, func(ctx context.Context, tx pgx.Tx) (*Attempt, error) {
			<-release
			_, err := tx.Exec(ctx, `INSERT INTO gc_docs (id) VALUES (0)`)
			return &Attempt{LocalID: "0"}, err
		})
	}()
	waitTaken(c)
	const n = 9
	errs := make([]error, n+1)
	var wg sync.WaitGroup
	boom := errors.New("boom")
	for i := 1; i <= n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Do(ctx, "", rec, func(ctx context.Context, tx pgx.Tx) (*Attempt, error) {
				if _, err := tx.Exec(ctx, `INSERT INTO gc_docs (id) VALUES ($1)`, i); err != nil {
					return nil, err
				}
				switch i % 3 {
				case 1: // fails after writing: a hook's error, or its panic
					if i == 7 {
						panic(boom)
					}
					return nil, fmt.Errorf("document %d: %w", i, boom)
				case 2: // fails in the database: the statement aborts its savepoint
					_, err := tx.Exec(ctx, `INSERT INTO gc_docs (id) VALUES ($1)`, i)
					return nil, err
				}
				return &Attempt{LocalID: fmt.Sprint(i)}, nil
			})
		}()
	}
	waitQueued(t, c, n)
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatalf("first document: %v", err)
	}
	var want []int
	for i := 1; i <= n; i++ {
		switch i % 3 {
		case 1:
			if i == 7 {
				if errs[i] == nil || !strings.Contains(errs[i].Error(), "panic") {
					t.Errorf("document %d panicked: answered %v", i, errs[i])
				}
			} else if !errors.Is(errs[i], boom) {
				t.Errorf("document %d: %v, want its own error", i, errs[i])
			}
		case 2:
			if errs[i] == nil {
				t.Errorf("document %d: stored despite its duplicate row", i)
			}
		default:
			if errs[i] != nil {
				t.Errorf("document %d: %v", i, errs[i])
			}
			want = append(want, i)
		}
	}
	var got []int
	var txs int
	if err := pool.QueryRow(ctx, `SELECT array_agg(id ORDER BY id) FILTER (WHERE id > 0), count(DISTINCT tx) FILTER (WHERE id > 0) FROM gc_docs`).Scan(&got, &txs); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || txs != 1 {
		t.Errorf("stored %v in %d transactions, want %v in one", got, txs, want)
	}
	var attempts []string
	if err := pool.QueryRow(ctx, `SELECT array_agg(local_id ORDER BY local_id) FROM gc_attempts`).Scan(&attempts); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(attempts) != "[0 3 6 9]" {
		t.Errorf("attempts recorded %v, want [0 3 6 9]", attempts)
	}
	if docs, batches := c.Stats(); docs != n+1 || batches != 2 || rec.calls != 2 {
		t.Errorf("%d documents in %d batches, %d record statements; want %d in 2, 2", docs, batches, rec.calls, n+1)
	}
}

// waitTaken waits until a committer took the queued documents (the first
// one, which then holds it).
func waitTaken(c *Committer) {
	for {
		c.mu.Lock()
		taken := c.running > 0 && len(c.queue) == 0
		c.mu.Unlock()
		if taken {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// TestCommitterCommitFails: a batch whose commit fails answers every
// waiter with an error and stores nothing (a deferred constraint fails at
// COMMIT, after every document's work succeeded).
func TestCommitterCommitFails(t *testing.T) {
	ctx := context.Background()
	pool := testdb.Pool(t)
	if _, err := pool.Exec(ctx, `CREATE TABLE gc_docs (id int NOT NULL, k int, CONSTRAINT gc_k UNIQUE (k) DEFERRABLE INITIALLY DEFERRED);
		CREATE TABLE gc_attempts (local_id text PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	c := &Committer{Pool: pool, Committers: 1}
	rec := &countingRecorder{}
	release := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- c.Do(ctx, "", rec, func(ctx context.Context, tx pgx.Tx) (*Attempt, error) {
			<-release
			return nil, nil
		})
	}()
	waitTaken(c)
	const n = 6
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Do(ctx, "", rec, func(ctx context.Context, tx pgx.Tx) (*Attempt, error) {
				// Documents 0 and 5 share k: fine until COMMIT checks it.
				_, err := tx.Exec(ctx, `INSERT INTO gc_docs (id, k) VALUES ($1, $2)`, i, i%5)
				return &Attempt{LocalID: fmt.Sprint(i)}, err
			})
		}()
	}
	waitQueued(t, c, n)
	close(release)
	wg.Wait()
	<-first
	for i, err := range errs {
		if err == nil {
			t.Errorf("document %d: answered as stored by a batch whose commit failed", i)
		}
	}
	var docs, atts int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM gc_docs), (SELECT count(*) FROM gc_attempts)`).Scan(&docs, &atts); err != nil {
		t.Fatal(err)
	}
	if docs != 0 || atts != 0 {
		t.Errorf("a failed batch stored %d documents and %d attempts", docs, atts)
	}
}

// TestCommitterOrdersByKey: a batch runs its documents in the order of
// their keys (CDA ids), those of one key in their order of arrival, so
// two batches committing at once take unique keys in the same order and
// cannot deadlock.
func TestCommitterOrdersByKey(t *testing.T) {
	ctx := context.Background()
	c := &Committer{Pool: testdb.Pool(t), Committers: 1}
	release := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- c.Do(ctx, "", nil, func(context.Context, pgx.Tx) (*Attempt, error) { <-release; return nil, nil })
	}()
	waitTaken(c)
	var mu sync.Mutex
	var ran []string
	var wg sync.WaitGroup
	arrivals := []string{"c#1", "a#1", "b#1", "a#2", "c#2"}
	for i, a := range arrivals {
		key, _, _ := strings.Cut(a, "#")
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Do(ctx, key, nil, func(context.Context, pgx.Tx) (*Attempt, error) {
				mu.Lock()
				ran = append(ran, a)
				mu.Unlock()
				return nil, nil
			}); err != nil {
				t.Error(err)
			}
		}()
		waitQueued(t, c, i+1) // arrivals in this order
	}
	close(release)
	wg.Wait()
	<-first
	if got, want := strings.Join(ran, " "), "a#1 a#2 b#1 c#1 c#2"; got != want {
		t.Errorf("ran %s, want %s", got, want)
	}
}

// roundTrips counts the statements sent through a pool (its tracer) whose
// text mentions a word.
type roundTrips struct {
	mu    sync.Mutex
	word  string
	count int
}

func (r *roundTrips) TraceQueryStart(ctx context.Context, _ *pgx.Conn, d pgx.TraceQueryStartData) context.Context {
	if strings.Contains(strings.ToUpper(d.SQL), r.word) {
		r.mu.Lock()
		r.count++
		r.mu.Unlock()
	}
	return ctx
}

func (r *roundTrips) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

// TestCommitterSavepointRoundTrips: a batch keeps its documents apart at
// one round trip each for the savepoints (a document's RELEASE travels
// with the next one's SAVEPOINT, COMMIT releases the last), not two, and a
// failed document is still rolled back alone.
func TestCommitterSavepointRoundTrips(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(testdb.URL(t))
	if err != nil {
		t.Fatal(err)
	}
	trips := &roundTrips{word: "SAVEPOINT"}
	cfg.ConnConfig.Tracer = trips
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if _, err := pool.Exec(ctx, `CREATE TABLE gc_docs (id int PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	c := &Committer{Pool: pool, Committers: 1}
	release := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- c.Do(ctx, "", nil, func(context.Context, pgx.Tx) (*Attempt, error) { <-release; return nil, nil })
	}()
	waitTaken(c)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = c.Do(ctx, fmt.Sprint(i), nil, func(ctx context.Context, tx pgx.Tx) (*Attempt, error) {
				id := i
				if i == 3 {
					id = 2 // a duplicate: document 3 fails in the database
				}
				_, err := tx.Exec(ctx, `INSERT INTO gc_docs (id) VALUES ($1)`, id)
				return nil, err
			})
		}()
	}
	waitQueued(t, c, n)
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if (err != nil) != (i == 3) {
			t.Errorf("document %d: %v", i, err)
		}
	}
	var stored int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM gc_docs`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	// n savepoints opened, one of them rolled back: n + 1 round trips.
	if stored != n-1 || trips.count != n+1 {
		t.Errorf("%d of %d documents stored with %d savepoint round trips; want %d with %d", stored, n, trips.count, n-1, n+1)
	}
}
