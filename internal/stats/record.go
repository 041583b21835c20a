// Package stats keeps the record of attempts at the door and answers the
// operator dashboards (issue 14): the recorder writes one row per attempt
// (intake_attempts), a periodic roll-up folds them into day and month
// totals per system, per region and overall (stats_*), and the queries
// read only those totals, so their cost does not grow with the record.
package stats

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/ids"
	"github.com/emdhub/hub/internal/intake"
	"github.com/emdhub/hub/internal/signature"
	"github.com/emdhub/hub/internal/store"
)

// Outcomes of an attempt.
const (
	Accepted = "accepted"
	Refused  = "refused"
)

// Row is one recorded attempt, as stored.
type Row struct {
	At        time.Time
	OrgID     uuid.UUID
	OrgOID    string
	Region    string
	SystemID  uuid.UUID
	Kind      string
	Outcome   string
	Codes     []string
	CreatedAt time.Time // zero: unknown
	SignedAt  time.Time // zero: unknown
	Key       []byte    // the document's identity for repeats; nil: none
	Repeat    bool      // known to be a repeat already (an idempotent resubmission)
}

// Recorder implements intake.Recorder: accepted attempts are written in the
// intake transaction (one statement), refusals are queued and written in
// batches by Run (or Flush), so a refusal costs the door no round trip.
type Recorder struct {
	Pool *pgxpool.Pool
	Log  *slog.Logger
	// MaxBatch is the queue length that triggers an early flush (default 500).
	MaxBatch int

	mu      sync.Mutex
	pending []Row
	kick    chan struct{}
}

// NewRecorder returns a recorder on pool.
func NewRecorder(pool *pgxpool.Pool, log *slog.Logger) *Recorder {
	return &Recorder{Pool: pool, Log: log, MaxBatch: 500, kick: make(chan struct{}, 1)}
}

var _ intake.BatchRecorder = (*Recorder)(nil)

// RowOf turns what the door learnt into the record's row.
func RowOf(a *intake.Attempt, outcome string, refusal []string) Row {
	r := Row{At: a.At, OrgID: a.Submitter.OrgID, OrgOID: a.Submitter.OrgOID, SystemID: a.Submitter.SystemID,
		Kind: a.Kind, Outcome: outcome, Codes: refusal, Repeat: a.Repeat}
	r.Region, _ = ids.RegionFromMOOID(a.Submitter.OrgOID)
	local := a.LocalID
	if a.Header != nil {
		r.CreatedAt = a.Header.EffectiveTime
		if local == "" {
			local = a.Header.ID.Extension
		}
	}
	if local != "" {
		r.Key = DocKey(a.Submitter.SystemID, local)
	}
	for _, s := range a.Signatures {
		if s.Role != store.SignerOrganization {
			continue
		}
		// The signing time is a signed attribute: parsing the container
		// again is cheap next to verifying it, and keeps the door unchanged.
		if p, err := signature.Parse(s.CMS); err == nil && !p.SigningTime.IsZero() {
			r.SignedAt = p.SigningTime
		}
		break
	}
	if r.Codes == nil {
		r.Codes = []string{}
	}
	return r
}

// DocKey is the identity of a document for telling repeats: the system and
// its local id (what a МИС resends after a refusal), hashed to 16 bytes.
func DocKey(system uuid.UUID, localID string) []byte {
	h := sha256.New()
	h.Write(system[:])
	h.Write([]byte{0})
	h.Write([]byte(localID))
	return h.Sum(nil)[:16]
}

// RefusalCodes are the codes of a refusal: its own and, in order, the
// distinct codes its details carry (signature problems, failed rules). nil
// when err is not a refusal (the hub's own failure, the database down):
// those are not attempts the МИС got wrong and are not recorded.
func RefusalCodes(err error) []string {
	var e *codes.Error
	if !errors.As(err, &e) || e.Status >= 500 {
		return nil
	}
	out := []string{e.Code}
	if e.Details != nil {
		var ds []struct {
			Code string `json:"code"`
		}
		if b, err := json.Marshal(e.Details); err == nil && json.Unmarshal(b, &ds) == nil {
			for _, d := range ds {
				if d.Code != "" && !contains(out, d.Code) {
					out = append(out, d.Code)
				}
			}
		}
	}
	return out
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}

func ts(t time.Time) pgtype.Timestamptz { return pgtype.Timestamptz{Time: t, Valid: !t.IsZero()} }

const insertAccepted = `
WITH t AS (INSERT INTO intake_tried (key) SELECT $10::bytea WHERE $10::bytea IS NOT NULL ON CONFLICT DO NOTHING RETURNING 1)
INSERT INTO intake_attempts (at, organization_id, org_oid, region, system_id, kind, outcome, codes, created_at, signed_at, repeat)
VALUES ($1, $2, $3, $4, $5, $6, 'accepted', '{}', $7, $8, $9 OR ($10::bytea IS NOT NULL AND NOT EXISTS (SELECT 1 FROM t)))`

// Accepted records an accepted attempt inside the intake transaction.
// Refusals of the same document still queued in this process are written
// first (and committed on their own), so the earlier try is the first one
// on record and this one the repeat, as they happened.
func (r *Recorder) Accepted(ctx context.Context, tx pgx.Tx, a *intake.Attempt) error {
	row := RowOf(a, Accepted, nil)
	if earlier := r.takePending(row.Key); len(earlier) > 0 {
		if err := Insert(ctx, r.Pool, earlier); err != nil {
			r.Enqueue(earlier...)
			return err
		}
	}
	_, err := tx.Exec(ctx, insertAccepted, row.At, row.OrgID, row.OrgOID, row.Region, row.SystemID, row.Kind,
		ts(row.CreatedAt), ts(row.SignedAt), row.Repeat, row.Key)
	if err != nil {
		return fmt.Errorf("stats: record accepted attempt: %w", err)
	}
	return nil
}

// AcceptedBatch records the accepted attempts of a group commit
// (intake.Committer) in its transaction, in one statement: Insert tells
// repeats by intake_tried and by order within the batch, as Accepted does
// one at a time. Queued refusals of the same documents are written first,
// as in Accepted.
func (r *Recorder) AcceptedBatch(ctx context.Context, tx pgx.Tx, as []*intake.Attempt) error {
	rows := make([]Row, len(as))
	var earlier []Row
	for i, a := range as {
		rows[i] = RowOf(a, Accepted, nil)
		earlier = append(earlier, r.takePending(rows[i].Key)...)
	}
	if len(earlier) > 0 {
		if err := Insert(ctx, r.Pool, earlier); err != nil {
			r.Enqueue(earlier...)
			return err
		}
	}
	if err := Insert(ctx, tx, rows); err != nil {
		return fmt.Errorf("stats: record accepted attempts: %w", err)
	}
	return nil
}

// Refused queues a refused attempt; errors that are not refusals are ignored.
func (r *Recorder) Refused(_ context.Context, a *intake.Attempt, err error) {
	cs := RefusalCodes(err)
	if cs == nil {
		return
	}
	r.Enqueue(RowOf(a, Refused, cs))
}

// takePending removes and returns the queued rows of document key.
func (r *Recorder) takePending(key []byte) []Row {
	if key == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Row
	kept := r.pending[:0]
	for _, p := range r.pending {
		if p.Key != nil && string(p.Key) == string(key) {
			out = append(out, p)
		} else {
			kept = append(kept, p)
		}
	}
	r.pending = kept
	return out
}

// Enqueue adds rows to the next batch.
func (r *Recorder) Enqueue(rows ...Row) {
	r.mu.Lock()
	r.pending = append(r.pending, rows...)
	full := len(r.pending) >= r.maxBatch()
	r.mu.Unlock()
	if full {
		select {
		case r.kick <- struct{}{}:
		default:
		}
	}
}

func (r *Recorder) maxBatch() int {
	if r.MaxBatch <= 0 {
		return 500
	}
	return r.MaxBatch
}

// Run flushes the queued refusals every interval (and early when a batch
// fills) until ctx ends, then once more.
func (r *Recorder) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			if err := r.Flush(fctx); err != nil {
				r.Log.Warn("refused attempts not recorded at shutdown", slog.Any("error", err))
			}
			cancel()
			return
		case <-t.C:
		case <-r.kick:
		}
		if err := r.Flush(ctx); err != nil && ctx.Err() == nil {
			r.Log.Warn("refused attempts not recorded yet; kept for the next try", slog.Any("error", err))
		}
	}
}

// Flush writes the queued rows in one statement. On failure they stay
// queued (up to 100,000; beyond that the oldest are dropped and counted in
// the log: the record must never hold the door).
func (r *Recorder) Flush(ctx context.Context) error {
	r.mu.Lock()
	batch := r.pending
	r.pending = nil
	r.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	if err := Insert(ctx, r.Pool, batch); err != nil {
		r.mu.Lock()
		r.pending = append(batch, r.pending...)
		if n := len(r.pending) - 100_000; n > 0 {
			r.pending = r.pending[n:]
			r.Log.Error("refused attempts dropped from the record: the database has not taken them", slog.Int("dropped", n))
		}
		r.mu.Unlock()
		return err
	}
	return nil
}

const insertBatch = `
WITH input AS (
	SELECT * FROM unnest($1::timestamptz[], $2::uuid[], $3::text[], $4::text[], $5::uuid[], $6::text[], $7::text[], $8::text[],
		$9::timestamptz[], $10::timestamptz[], $11::bytea[], $12::boolean[]) WITH ORDINALITY
		AS u(at, org, oid, region, sys, kind, outcome, codes, created, signed, key, rep, ord)
), t AS (
	INSERT INTO intake_tried (key) SELECT DISTINCT key FROM input WHERE key IS NOT NULL ON CONFLICT DO NOTHING RETURNING key
)
INSERT INTO intake_attempts (at, organization_id, org_oid, region, system_id, kind, outcome, codes, created_at, signed_at, repeat)
SELECT at, org, oid, region, sys, kind, outcome, string_to_array(codes, ','), created, signed,
	rep OR (key IS NOT NULL AND (NOT EXISTS (SELECT 1 FROM t WHERE t.key = input.key)
		OR row_number() OVER (PARTITION BY key ORDER BY ord) > 1))
FROM input ORDER BY ord`

// Insert writes rows in one statement, telling repeats by intake_tried
// (a key seen before, or earlier in the same batch).
func Insert(ctx context.Context, db store.DBTX, rows []Row) error {
	n := len(rows)
	at, created, signed := make([]pgtype.Timestamptz, n), make([]pgtype.Timestamptz, n), make([]pgtype.Timestamptz, n)
	org, sys := make([]uuid.UUID, n), make([]uuid.UUID, n)
	oid, region, kind, outcome, cs := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	keys, rep := make([][]byte, n), make([]bool, n)
	for i, r := range rows {
		at[i], created[i], signed[i] = ts(r.At), ts(r.CreatedAt), ts(r.SignedAt)
		org[i], sys[i] = r.OrgID, r.SystemID
		oid[i], region[i], kind[i], outcome[i], cs[i] = r.OrgOID, r.Region, r.Kind, r.Outcome, strings.Join(r.Codes, ",")
		keys[i], rep[i] = r.Key, r.Repeat
	}
	if _, err := db.Exec(ctx, insertBatch, at, org, oid, region, sys, kind, outcome, cs, created, signed, keys, rep); err != nil {
		return fmt.Errorf("stats: record %d attempts: %w", n, err)
	}
	return nil
}
