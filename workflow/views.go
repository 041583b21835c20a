package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/store"
)

// ErrNotFound is a subject not visible to the caller.
var ErrNotFound = errors.New("workflow: not found")

// LinkView is one linked document of a referral's package.
type LinkView struct {
	Ordinal       int        `json:"ordinal"`
	DocType       string     `json:"doc_type"`
	CDAID         semd.II    `json:"cda_id"`
	State         string     `json:"state"`
	DocumentID    *uuid.UUID `json:"document_id,omitempty"`
	Attempts      int        `json:"attempts"`
	LastErrorCode *string    `json:"last_error_code,omitempty"`
	LastError     *string    `json:"last_error,omitempty"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

// ReferralView is what a МИС (or an operator) sees of a referral.
type ReferralView struct {
	ID            uuid.UUID   `json:"id"`
	DocumentID    uuid.UUID   `json:"document_id"`
	CDAID         semd.II     `json:"cda_id"`
	State         string      `json:"state"`
	Attempts      int         `json:"attempts"` // sends tried
	CaseID        *string     `json:"case_id,omitempty"`
	ReturnReason  *string     `json:"return_reason,omitempty"`
	LastErrorCode *string     `json:"last_error_code,omitempty"`
	LastError     *string     `json:"last_error,omitempty"`
	Deadline      time.Time   `json:"package_deadline"`
	Timeline      Timeline    `json:"timeline"`
	Links         []*LinkView `json:"links"`
}

// Timeline holds the time of each state reached.
type Timeline struct {
	Received  time.Time  `json:"received"`
	Assembled *time.Time `json:"assembled,omitempty"`
	Sent      *time.Time `json:"sent,omitempty"`
	Accepted  *time.Time `json:"accepted,omitempty"`
	Returned  *time.Time `json:"returned,omitempty"`
	Result    *time.Time `json:"result_received,omitempty"`
}

// Referral returns a referral of org (uuid.Nil: any, for operators).
func (e *Engine) Referral(ctx context.Context, org, id uuid.UUID) (*ReferralView, error) {
	v := &ReferralView{}
	err := e.Pool.QueryRow(ctx, `SELECT r.id, r.document_id, d.cda_root, d.cda_extension, r.state, r.attempts, r.case_id, r.return_reason,
			r.last_error_code, r.last_error, r.deadline_at, r.received_at, r.assembled_at, r.sent_at, r.accepted_at, r.returned_at, r.result_at
		FROM mse_referrals r JOIN documents d ON d.id = r.document_id
		WHERE (r.id = $1 OR r.document_id = $1) AND ($2::uuid IS NULL OR r.organization_id = $2)`, id, store.NullUUID(org)).
		Scan(&v.ID, &v.DocumentID, &v.CDAID.Root, &v.CDAID.Extension, &v.State, &v.Attempts, &v.CaseID, &v.ReturnReason, &v.LastErrorCode, &v.LastError,
			&v.Deadline, &v.Timeline.Received, &v.Timeline.Assembled, &v.Timeline.Sent, &v.Timeline.Accepted, &v.Timeline.Returned, &v.Timeline.Result)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, err
	}
	rows, err := e.Pool.Query(ctx, `SELECT ordinal, doc_type, ref_root, ref_extension, state, document_id, attempts, last_error_code, last_error, updated_at
		FROM mse_links WHERE referral_id = $1 ORDER BY ordinal`, v.ID)
	if err != nil {
		return nil, err
	}
	v.Links, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*LinkView, error) {
		l := &LinkView{}
		err := r.Scan(&l.Ordinal, &l.DocType, &l.CDAID.Root, &l.CDAID.Extension, &l.State, &l.DocumentID, &l.Attempts, &l.LastErrorCode, &l.LastError, &l.UpdatedAt)
		return l, err
	})
	if v.Links == nil {
		v.Links = []*LinkView{}
	}
	return v, err
}

// ResultView is a result or return notice with its signatures.
type ResultView struct {
	ID            uuid.UUID       `json:"id"`
	ReferralID    *uuid.UUID      `json:"referral_id,omitempty"`
	MessageID     string          `json:"message_id"`
	CaseID        string          `json:"case_id"`
	Type          string          `json:"type"`
	Reason        *string         `json:"reason,omitempty"`
	Kind          string          `json:"kind"`
	ReferralCDAID semd.II         `json:"referral_cda_id"`
	CDAID         semd.II         `json:"cda_id"`
	Document      []byte          `json:"document,omitempty"` // base64 in JSON
	Signatures    json.RawMessage `json:"signatures,omitempty"`
	CheckError    *string         `json:"check_error,omitempty"`
	ReceivedAt    time.Time       `json:"received_at"`
}

const resultCols = `id, referral_id, message_id, case_id, type, reason, kind, referral_root, referral_extension, cda_root, cda_extension, check_error, received_at`

func scanResult(r pgx.Row, withContent bool) (*ResultView, error) {
	v := &ResultView{}
	dest := []any{&v.ID, &v.ReferralID, &v.MessageID, &v.CaseID, &v.Type, &v.Reason, &v.Kind, &v.ReferralCDAID.Root, &v.ReferralCDAID.Extension,
		&v.CDAID.Root, &v.CDAID.Extension, &v.CheckError, &v.ReceivedAt}
	if withContent {
		dest = append(dest, &v.Document, &v.Signatures)
	}
	return v, r.Scan(dest...)
}

// ReferralResult returns the latest result or return notice of a referral of org.
func (e *Engine) ReferralResult(ctx context.Context, org, referral uuid.UUID) (*ResultView, error) {
	if _, err := e.Referral(ctx, org, referral); err != nil {
		return nil, err
	}
	// A result that failed the door's checks (its signature, say) is kept
	// for operators, never handed to the МИС as the bureau's answer.
	v, err := scanResult(e.Pool.QueryRow(ctx, `SELECT `+resultCols+`, content, signatures FROM mse_results
		WHERE referral_id = (SELECT id FROM mse_referrals WHERE id = $1 OR document_id = $1)
			AND ($2::uuid IS NULL OR check_error IS NULL) ORDER BY id DESC LIMIT 1`, referral, store.NullUUID(org)), true)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	return v, err
}

// ResultsPage is one page of the results feed.
type ResultsPage struct {
	Items      []*ResultView `json:"items"`
	NextCursor string        `json:"next_cursor,omitempty"`
}

// Results is the feed of results and return notices for org's referrals,
// oldest first, after a cursor; unmatched ones only for operators (orphans).
func (e *Engine) Results(ctx context.Context, org uuid.UUID, after string, limit int, orphans bool) (*ResultsPage, error) {
	if limit <= 0 || limit > 200 {
		limit = 50
	}
	var cursor uuid.UUID
	if after != "" {
		c, err := store.DecodeCursor(after)
		if err != nil {
			return nil, err
		}
		cursor = c
	}
	q := `SELECT ` + resultCols + `, content, signatures FROM mse_results WHERE id > $1 AND ($2::uuid IS NULL OR organization_id = $2)`
	if orphans {
		q += ` AND (referral_id IS NULL OR check_error IS NOT NULL)`
	} else if org != uuid.Nil {
		q += ` AND check_error IS NULL` // failed the checks: operators only
	}
	rows, err := e.Pool.Query(ctx, q+` ORDER BY id LIMIT $3`, cursor, store.NullUUID(org), limit)
	if err != nil {
		return nil, err
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*ResultView, error) { return scanResult(r, true) })
	if err != nil {
		return nil, err
	}
	p := &ResultsPage{Items: items}
	if p.Items == nil {
		p.Items = []*ResultView{}
	}
	if len(items) > 0 {
		p.NextCursor = store.EncodeCursor(items[len(items)-1].ID)
	} else {
		p.NextCursor = after
	}
	return p, nil
}

// DeliveryView is one certificate delivery.
type DeliveryView struct {
	ID            uuid.UUID  `json:"id"`
	DocumentID    uuid.UUID  `json:"document_id"`
	Recipient     string     `json:"recipient"`
	State         string     `json:"state"`
	MessageID     string     `json:"message_id"`
	ReceiptID     *string    `json:"receipt_id,omitempty"`
	Duplicate     bool       `json:"duplicate"`
	Attempts      int        `json:"attempts"`
	Snoozes       int        `json:"snoozes"` // times held back: rate limited, or the recipient's breaker open
	LastErrorCode *string    `json:"last_error_code,omitempty"`
	LastError     *string    `json:"last_error,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	DeliveredAt   *time.Time `json:"delivered_at,omitempty"`
	UpdatedAt     time.Time  `json:"updated_at"`
}

const deliveryCols = `id, document_id, recipient, state, message_id, receipt_id, duplicate, attempts, snoozes, last_error_code, last_error, created_at, delivered_at, updated_at`

func (v *DeliveryView) dest() []any {
	return []any{&v.ID, &v.DocumentID, &v.Recipient, &v.State, &v.MessageID, &v.ReceiptID, &v.Duplicate, &v.Attempts, &v.Snoozes,
		&v.LastErrorCode, &v.LastError, &v.CreatedAt, &v.DeliveredAt, &v.UpdatedAt}
}

func scanDelivery(r pgx.CollectableRow) (*DeliveryView, error) {
	v := &DeliveryView{}
	return v, r.Scan(v.dest()...)
}

// Deliveries lists a document's deliveries (document of org; uuid.Nil: any).
func (e *Engine) Deliveries(ctx context.Context, org, document uuid.UUID) ([]*DeliveryView, error) {
	rows, err := e.Pool.Query(ctx, `SELECT `+deliveryCols+` FROM deliveries WHERE document_id = $1 AND ($2::uuid IS NULL OR organization_id = $2) ORDER BY recipient`,
		document, store.NullUUID(org))
	if err != nil {
		return nil, err
	}
	out, err := pgx.CollectRows(rows, scanDelivery)
	if out == nil {
		out = []*DeliveryView{}
	}
	return out, err
}

// Trouble is what operators look at: every flow that is stopped, or still
// under way past the time it should have taken.
type Trouble struct {
	Deliveries []*DeliveryTrouble `json:"deliveries"`
	Referrals  []*ReferralTrouble `json:"referrals"`
}

// Why a flow is among the troubles.
const (
	TroubleFailed     = "failed"              // given up (permanent refusal, or attempts exhausted)
	TroubleBlocked    = "blocked_certificate" // stopped by the certificate gate
	TroubleIncomplete = "incomplete"          // a referral held: its package lacks documents
	TroubleOverdue    = "overdue"             // still under way after stuck_after in its state
	TroubleSnoozed    = "snoozed_repeatedly"  // held back again and again (rate limited, breaker open)
	TroubleNoResult   = "no_result"           // sent HUB_RESULT_DEADLINE ago, no result or return notice
)

// SnoozeTrouble is how many snoozes put a waiting delivery among the troubles.
const SnoozeTrouble = 3

// DeliveryTrouble is a delivery among the troubles: why, and since when.
type DeliveryTrouble struct {
	*DeliveryView
	Reason     string    `json:"reason"`
	Since      time.Time `json:"since"` // the start of what is overdue
	AgeSeconds int64     `json:"age_seconds"`
}

// ReferralTrouble is a referral among the troubles: why, and since when.
// Its links carry their own state, attempts and last error.
type ReferralTrouble struct {
	*ReferralView
	Reason     string    `json:"reason"`
	Since      time.Time `json:"since"`
	AgeSeconds int64     `json:"age_seconds"`
}

// Troubles lists every flow that is stopped or past its expected time:
//   - deliveries failed or blocked; pending/retrying for more than
//     stuckAfter since they were created, or snoozed SnoozeTrouble times;
//   - referrals incomplete, failed or blocked; received/assembling (links
//     pending or retrying) for more than stuckAfter since they entered the
//     state; sending for more than stuckAfter since assembled (retries do not
//     reset it); sent/accepted with no result HUB_RESULT_DEADLINE after sending.
//
// Oldest first, at most 500 of each.
func (e *Engine) Troubles(ctx context.Context, stuckAfter time.Duration) (*Trouble, error) {
	t := &Trouble{Deliveries: []*DeliveryTrouble{}, Referrals: []*ReferralTrouble{}}
	rows, err := e.Pool.Query(ctx, `SELECT `+deliveryCols+`,
			CASE WHEN state IN ('failed', 'blocked_certificate') THEN state WHEN snoozes >= $2 THEN 'snoozed_repeatedly' ELSE 'overdue' END AS reason,
			CASE WHEN state IN ('failed', 'blocked_certificate') THEN updated_at ELSE created_at END AS since
		FROM deliveries dl
		WHERE state IN ('failed', 'blocked_certificate')
			OR (state IN ('pending', 'retrying') AND (created_at < now() - $1::interval OR snoozes >= $2))
		ORDER BY dl.created_at LIMIT 500`, stuckAfter, SnoozeTrouble)
	if err != nil {
		return nil, err
	}
	now := e.now()
	t.Deliveries, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (*DeliveryTrouble, error) {
		d := &DeliveryTrouble{DeliveryView: &DeliveryView{}}
		err := r.Scan(append(d.dest(), &d.Reason, &d.Since)...)
		d.AgeSeconds = int64(now.Sub(d.Since).Seconds())
		return d, err
	})
	if err != nil {
		return nil, err
	}
	if t.Deliveries == nil {
		t.Deliveries = []*DeliveryTrouble{}
	}
	rows, err = e.Pool.Query(ctx, `SELECT id, reason, since FROM (
			SELECT id, received_at,
				CASE WHEN state IN ('incomplete', 'failed', 'blocked_certificate') THEN state
					WHEN state IN ('sent', 'accepted') THEN 'no_result' ELSE 'overdue' END AS reason,
				CASE WHEN state IN ('sent', 'accepted') THEN sent_at
					WHEN state = 'sending' THEN coalesce(assembled_at, updated_at) ELSE updated_at END AS since,
				state
			FROM mse_referrals
			WHERE state IN ('incomplete', 'failed', 'blocked_certificate', 'received', 'assembling', 'sending', 'sent', 'accepted')) r
		WHERE reason <> 'overdue' AND reason <> 'no_result'
			OR (reason = 'overdue' AND since < now() - $1::interval)
			OR (reason = 'no_result' AND since < now() - $2::interval)
		ORDER BY received_at LIMIT 500`, stuckAfter, e.cfg.ResultDeadline)
	if err != nil {
		return nil, err
	}
	type found struct {
		id     uuid.UUID
		reason string
		since  time.Time
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (found, error) {
		var f found
		return f, r.Scan(&f.id, &f.reason, &f.since)
	})
	if err != nil {
		return nil, err
	}
	for _, f := range list {
		v, err := e.Referral(ctx, uuid.Nil, f.id)
		if err != nil {
			return nil, err
		}
		t.Referrals = append(t.Referrals, &ReferralTrouble{ReferralView: v, Reason: f.reason, Since: f.since, AgeSeconds: int64(now.Sub(f.since).Seconds())})
	}
	return t, nil
}

// BlockedError refuses a replay the certificate gate would stop: nothing
// is queued, the delivery stays as it was.
type BlockedError struct{ Code, Message string }

func (e *BlockedError) Error() string {
	return "workflow: " + e.Code + ": " + e.Message
}

// ErrNotReplayable is a replay of something that is not failed or stuck.
var ErrNotReplayable = errors.New("workflow: only failed or waiting deliveries can be replayed")

// ReplayDelivery re-runs the checks on the delivery's document and, if they
// pass, queues the delivery again with the same message id (a peer that did
// get it answers with its receipt).
func (e *Engine) ReplayDelivery(ctx context.Context, id uuid.UUID) (*DeliveryView, error) {
	err := pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		var state, recipient, kind, orgOID string
		var content []byte
		var docID uuid.UUID
		err := tx.QueryRow(ctx, `SELECT dl.state, dl.recipient, dl.document_id, d.kind, d.content, o.oid FROM deliveries dl JOIN documents d ON d.id = dl.document_id
			JOIN organizations o ON o.id = dl.organization_id WHERE dl.id = $1 FOR UPDATE OF dl`, id).Scan(&state, &recipient, &docID, &kind, &content, &orgOID)
		if errors.Is(err, pgx.ErrNoRows) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if !slices.Contains(TrDeliveryReplay.From, state) {
			return ErrNotReplayable // delivered, or superseded by a newer version
		}
		hdr, err := semd.Parse(content)
		if err == nil {
			_, err = semd.Check(hdr, semd.Claims{Kind: kind, SubmitterOrg: orgOID, Now: e.now()})
		}
		if err != nil {
			return fmt.Errorf("%w: the document no longer passes the checks: %v", ErrNotReplayable, err)
		}
		// The gate, before anything is queued: a replay of a delivery whose
		// signer's certificate has expired would be refused by the recipient.
		if x, err := e.checkCertificates(ctx, tx, []uuid.UUID{docID}); err != nil {
			return err
		} else if x != nil {
			return &BlockedError{Code: x.Code, Message: x.message()}
		}
		if _, err := e.transition(ctx, tx, TrDeliveryReplay, id); err != nil {
			return err // cannot be stale: the row is locked in an allowed state
		}
		var args river.JobArgs = ZAGSArgs{DeliveryID: id}
		if recipient == "epgu" {
			args = EPGUArgs{DeliveryID: id}
		}
		_, err = e.River.InsertTx(ctx, tx, args, nil)
		return err
	})
	if err != nil {
		return nil, err
	}
	rows, err := e.Pool.Query(ctx, `SELECT `+deliveryCols+` FROM deliveries WHERE id = $1`, id)
	if err != nil {
		return nil, err
	}
	return pgx.CollectExactlyOneRow(rows, scanDelivery)
}

// ErrNotIncomplete is a re-fetch of a referral that is not held incomplete.
var ErrNotIncomplete = errors.New("workflow: only an incomplete referral can be re-fetched")

// Refetch retries the unavailable and invalid links of an incomplete
// referral of org with a fresh package deadline; the package is judged again
// when they settle, and a complete one is sent under a new message id.
func (e *Engine) Refetch(ctx context.Context, org, id uuid.UUID) (*ReferralView, error) {
	v, err := e.Referral(ctx, org, id)
	if err != nil {
		return nil, err
	}
	err = pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		var state string
		if err := tx.QueryRow(ctx, `SELECT state FROM mse_referrals WHERE id = $1 FOR UPDATE`, v.ID).Scan(&state); err != nil {
			return err
		}
		if state != RefIncomplete {
			return ErrNotIncomplete
		}
		if _, err := e.transition(ctx, tx, TrLinksRefetch, v.ID); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT ordinal FROM mse_links WHERE referral_id = $1 AND state = 'pending' ORDER BY ordinal`, v.ID)
		if err != nil {
			return err
		}
		ords, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return err
		}
		if _, err := e.transition(ctx, tx, TrReferralRefetch, v.ID, e.now().Add(e.cfg.PackageDeadline)); err != nil {
			return err
		}
		var jobs []river.InsertManyParams
		for _, o := range ords {
			jobs = append(jobs, river.InsertManyParams{Args: FetchArgs{ReferralID: v.ID, Ordinal: int(o)}})
		}
		if len(jobs) == 0 {
			jobs = append(jobs, river.InsertManyParams{Args: AssembleArgs{ReferralID: v.ID}})
		}
		_, err = e.River.InsertManyTx(ctx, tx, jobs)
		return err
	})
	if err != nil {
		return nil, err
	}
	return e.Referral(ctx, org, v.ID)
}
