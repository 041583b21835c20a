package workflow

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/emdhub/hub/adapters/epgu"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/store"
)

// The read views are store queries (internal/store/views.go); the engine
// adds what the flows know: organisation scoping errors, cursors, reasons.

// ErrNotFound is a subject not visible to the caller.
var ErrNotFound = errors.New("workflow: not found")

// View types, as the API shows them.
type (
	LinkView     = store.LinkView
	ReferralView = store.ReferralView
	Timeline     = store.Timeline
	ResultView   = store.ResultView
	DeliveryView = store.DeliveryView
)

// notFound maps the store's ErrNotFound to this package's.
func notFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	return err
}

// Referral returns a referral of org (uuid.Nil: any, for operators).
func (e *Engine) Referral(ctx context.Context, org, id uuid.UUID) (*ReferralView, error) {
	v, err := store.GetReferral(ctx, e.Pool, org, id)
	return v, notFound(err)
}

// ReferralResult returns the latest result or return notice of a referral of org.
func (e *Engine) ReferralResult(ctx context.Context, org, referral uuid.UUID) (*ResultView, error) {
	if _, err := e.Referral(ctx, org, referral); err != nil {
		return nil, err
	}
	// A result that failed the door's checks (its signature, say) is kept
	// for operators, never handed to the МИС as the bureau's answer.
	v, err := store.LatestResult(ctx, e.Pool, org, referral)
	return v, notFound(err)
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
	items, err := store.ResultsFeed(ctx, e.Pool, org, cursor, limit, orphans)
	if err != nil {
		return nil, err
	}
	p := &ResultsPage{Items: items}
	if len(items) > 0 {
		p.NextCursor = store.EncodeCursor(items[len(items)-1].ID)
	} else {
		p.NextCursor = after
	}
	return p, nil
}

// Deliveries lists a document's deliveries (document of org; uuid.Nil: any).
func (e *Engine) Deliveries(ctx context.Context, org, document uuid.UUID) ([]*DeliveryView, error) {
	return store.DocumentDeliveries(ctx, e.Pool, org, document)
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
	now := e.now()
	dels, err := store.TroubledDeliveries(ctx, e.Pool, stuckAfter, SnoozeTrouble)
	if err != nil {
		return nil, err
	}
	for _, d := range dels {
		t.Deliveries = append(t.Deliveries, &DeliveryTrouble{DeliveryView: d.DeliveryView, Reason: d.Reason, Since: d.Since,
			AgeSeconds: int64(now.Sub(d.Since).Seconds())})
	}
	refs, err := store.TroubledReferrals(ctx, e.Pool, stuckAfter, e.cfg.ResultDeadline)
	if err != nil {
		return nil, err
	}
	for _, f := range refs {
		v, err := e.Referral(ctx, uuid.Nil, f.ID)
		if err != nil {
			return nil, err
		}
		t.Referrals = append(t.Referrals, &ReferralTrouble{ReferralView: v, Reason: f.Reason, Since: f.Since, AgeSeconds: int64(now.Sub(f.Since).Seconds())})
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
		d, err := store.LockDeliveryForReplay(ctx, tx, id)
		if errors.Is(err, store.ErrNotFound) {
			return ErrNotFound
		}
		if err != nil {
			return err
		}
		if !slices.Contains(store.TrDeliveryReplay.From, d.State) {
			return ErrNotReplayable // delivered, or superseded by a newer version
		}
		hdr, err := semd.Parse(d.Content)
		if err == nil {
			_, err = semd.Check(hdr, semd.Claims{Kind: d.Kind, SubmitterOrg: d.OrgOid, Now: e.now()})
		}
		if err != nil {
			return fmt.Errorf("%w: the document no longer passes the checks: %v", ErrNotReplayable, err)
		}
		// The gate, before anything is queued: a replay of a delivery whose
		// signer's certificate has expired would be refused by the recipient.
		if x, err := e.certificateGate(ctx, tx, []uuid.UUID{d.DocumentID}); err != nil {
			return err
		} else if x != nil {
			return &BlockedError{Code: x.Code, Message: x.message()}
		}
		if err := store.ReplayDelivery(ctx, tx, id); err != nil {
			return err // cannot be stale: the row is locked in an allowed state
		}
		var args river.JobArgs = ZAGSArgs{DeliveryID: id}
		if d.Recipient == epgu.Service {
			args = EPGUArgs{DeliveryID: id}
		}
		if _, err := e.River.InsertTx(ctx, tx, args, nil); err != nil {
			return fmt.Errorf("workflow: queue replay of delivery %s: %w", id, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return store.GetDelivery(ctx, e.Pool, id)
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
		state, _, err := store.LockReferral(ctx, tx, v.ID)
		if err != nil {
			return err
		}
		if state != store.RefIncomplete {
			return ErrNotIncomplete
		}
		if _, err := store.ResetLinks(ctx, tx, v.ID); err != nil {
			return err
		}
		ords, err := store.PendingLinks(ctx, tx, v.ID)
		if err != nil {
			return err
		}
		if err := store.RefetchReferral(ctx, tx, v.ID, e.now().Add(e.cfg.PackageDeadline)); err != nil {
			return err
		}
		var jobs []river.InsertManyParams
		for _, o := range ords {
			jobs = append(jobs, river.InsertManyParams{Args: FetchArgs{ReferralID: v.ID, Ordinal: o}})
		}
		if len(jobs) == 0 {
			jobs = append(jobs, river.InsertManyParams{Args: AssembleArgs{ReferralID: v.ID}})
		}
		if _, err := e.River.InsertManyTx(ctx, tx, jobs); err != nil {
			return fmt.Errorf("workflow: queue re-fetch of referral %s: %w", v.ID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return e.Referral(ctx, org, v.ID)
}
