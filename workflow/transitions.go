package workflow

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"

	"github.com/emdhub/hub/internal/store"
)

// Every state change the workflow makes to a referral, a link or a
// delivery is one of the transitions below: a name, the states it may start
// from, the state it leads to, and one guarded UPDATE (… AND state =
// ANY(from)). Steps race — a result stored while the send that caused it is
// still committing, a replay while a retry runs, a new version superseding
// work in flight — and an unguarded UPDATE lets the slower one overwrite
// the faster one's state (a taken result set back to "sent" for ever). A
// guarded one that finds the row elsewhere changes nothing and returns
// *StaleTransitionError; the caller logs it, the engine counts it, and the
// step completes without applying it.
//
// Self-contained on purpose (name, states, SQL): they are to move into
// internal/store as sqlc queries. SQL parameters: $1 the to-state, $2 the
// from-states, then the row's key ($3 id; links $3 referral id, $4
// ordinal), then the transition's own values.

// Transition is one allowed state change of one table.
type Transition struct {
	Name  string
	Table string // mse_referrals, mse_links or deliveries
	From  []string
	To    string
	SQL   string
	// Bulk transitions change every matching row (a new version retiring
	// old work, a re-fetch resetting links); none matching is not a race.
	Bulk bool
}

// ErrStaleTransition is a transition refused because its row had already
// left the states it starts from: another step got there first.
var ErrStaleTransition = errors.New("workflow: stale state transition")

// StaleTransitionError says which transition lost the race and what it found.
type StaleTransitionError struct {
	Transition string
	Key        []any
	Found      string // the row's state; "" if the row is gone
}

func (e *StaleTransitionError) Error() string {
	return fmt.Sprintf("workflow: transition %s of %v refused: the row is %q", e.Transition, e.Key, e.Found)
}

// Is makes errors.Is(err, ErrStaleTransition) hold.
func (e *StaleTransitionError) Is(target error) bool { return target == ErrStaleTransition }

// Referral transitions.
var (
	TrReferralAssembled = &Transition{Name: "referral.assembled", Table: "mse_referrals", From: []string{RefAssembling}, To: RefSending,
		SQL: `UPDATE mse_referrals SET state = $1, assembled_at = now(), updated_at = now() WHERE id = $3 AND state = ANY($2)`}
	TrReferralIncomplete = &Transition{Name: "referral.incomplete", Table: "mse_referrals", From: []string{RefAssembling}, To: RefIncomplete,
		SQL: `UPDATE mse_referrals SET state = $1, assembled_at = now(), updated_at = now(), last_error_code = 'INCOMPLETE_PACKAGE', last_error = $4
			WHERE id = $3 AND state = ANY($2)`}
	// TrReferralSendRetry records a failed send attempt that will be retried.
	TrReferralSendRetry = &Transition{Name: "referral.send_retry", Table: "mse_referrals", From: []string{RefSending}, To: RefSending,
		SQL: `UPDATE mse_referrals SET state = $1, attempts = attempts + 1, last_error_code = $4, last_error = $5, updated_at = now()
			WHERE id = $3 AND state = ANY($2)`}
	TrReferralFailed = &Transition{Name: "referral.failed", Table: "mse_referrals", From: []string{RefSending}, To: RefFailed,
		SQL: `UPDATE mse_referrals SET state = $1, attempts = attempts + 1, last_error_code = $4, last_error = $5, updated_at = now()
			WHERE id = $3 AND state = ANY($2)`}
	TrReferralSent = &Transition{Name: "referral.sent", Table: "mse_referrals", From: []string{RefSending}, To: RefSent,
		SQL: `UPDATE mse_referrals SET state = $1, attempts = attempts + 1, case_id = $4, message_id = $5, sent_at = now(), updated_at = now(),
			last_error_code = NULL, last_error = NULL WHERE id = $3 AND state = ANY($2)`}
	TrReferralAccepted = &Transition{Name: "referral.accepted", Table: "mse_referrals", From: []string{RefSent}, To: RefAccepted,
		SQL: `UPDATE mse_referrals SET state = $1, accepted_at = now(), updated_at = now() WHERE id = $3 AND state = ANY($2)`}
	// A result or return notice settles a referral the bureau may hold:
	// also one still "sending" (its send's completion not yet committed)
	// or "failed" (given up here, yet it reached the bureau).
	TrReferralResult = &Transition{Name: "referral.result", Table: "mse_referrals", From: []string{RefSending, RefSent, RefAccepted, RefFailed}, To: RefResultReceived,
		SQL: `UPDATE mse_referrals SET state = $1, result_at = now(), case_id = coalesce(case_id, $4), updated_at = now() WHERE id = $3 AND state = ANY($2)`}
	TrReferralReturned = &Transition{Name: "referral.returned", Table: "mse_referrals", From: []string{RefSending, RefSent, RefAccepted, RefFailed}, To: RefReturned,
		SQL: `UPDATE mse_referrals SET state = $1, returned_at = now(), case_id = coalesce(case_id, $4), return_reason = coalesce($5, return_reason), updated_at = now()
			WHERE id = $3 AND state = ANY($2)`}
	TrReferralBlocked = &Transition{Name: "referral.blocked", Table: "mse_referrals", From: []string{RefSending}, To: RefBlocked,
		SQL: `UPDATE mse_referrals SET state = $1, last_error_code = $4, last_error = $5, updated_at = now() WHERE id = $3 AND state = ANY($2)`}
	TrReferralRefetch = &Transition{Name: "referral.refetch", Table: "mse_referrals", From: []string{RefIncomplete}, To: RefAssembling,
		SQL: `UPDATE mse_referrals SET state = $1, generation = generation + 1, deadline_at = $4, last_error_code = NULL, last_error = NULL, updated_at = now()
			WHERE id = $3 AND state = ANY($2)`}
	// TrReferralsSuperseded retires the unsent referrals of older versions
	// of a document: $3 the new document, $4 organisation, $5/$6 setId, $7 its version.
	TrReferralsSuperseded = &Transition{Name: "referral.superseded", Table: "mse_referrals", Bulk: true,
		From: []string{RefReceived, RefAssembling, RefIncomplete, RefSending, RefFailed, RefBlocked}, To: RefSuperseded,
		SQL: `UPDATE mse_referrals r SET state = $1, superseded_by = $3, updated_at = now()
			FROM documents d WHERE d.id = r.document_id AND d.organization_id = $4 AND d.set_root = $5 AND d.set_extension = $6
				AND d.version_number < $7 AND r.state = ANY($2)`}
)

// Link transitions: a fetch settles a link (fetched, unavailable, invalid;
// $5 document, $6 attempts to add, $7/$8 error) or marks it retrying.
var (
	TrLinkRetry = &Transition{Name: "link.retry", Table: "mse_links", From: []string{LinkPending, LinkRetrying}, To: LinkRetrying,
		SQL: `UPDATE mse_links SET state = $1, attempts = attempts + 1, last_error_code = $5, last_error = $6, updated_at = now()
			WHERE referral_id = $3 AND ordinal = $4 AND state = ANY($2)`}
	TrLinkFetched     = linkSettle("link.fetched", LinkFetched)
	TrLinkUnavailable = linkSettle("link.unavailable", LinkUnavailable)
	TrLinkInvalid     = linkSettle("link.invalid", LinkInvalid)
	// TrLinksRefetch resets every unavailable or invalid link of referral $3.
	TrLinksRefetch = &Transition{Name: "link.refetch", Table: "mse_links", Bulk: true, From: []string{LinkUnavailable, LinkInvalid}, To: LinkPending,
		SQL: `UPDATE mse_links SET state = $1, attempts = 0, updated_at = now() WHERE referral_id = $3 AND state = ANY($2)`}
)

func linkSettle(name, to string) *Transition {
	return &Transition{Name: name, Table: "mse_links", From: []string{LinkPending, LinkRetrying}, To: to,
		SQL: `UPDATE mse_links SET state = $1, document_id = coalesce($5, document_id), attempts = attempts + $6,
			last_error_code = coalesce($7, last_error_code), last_error = coalesce($8, last_error), updated_at = now()
			WHERE referral_id = $3 AND ordinal = $4 AND state = ANY($2)`}
}

// Delivery transitions.
var (
	TrDeliveryRetry = &Transition{Name: "delivery.retry", Table: "deliveries", From: []string{DelPending, DelRetrying}, To: DelRetrying,
		SQL: `UPDATE deliveries SET state = $1, attempts = attempts + 1, last_error_code = $4, last_error = $5, updated_at = now() WHERE id = $3 AND state = ANY($2)`}
	TrDeliveryFailed = &Transition{Name: "delivery.failed", Table: "deliveries", From: []string{DelPending, DelRetrying}, To: DelFailed,
		SQL: `UPDATE deliveries SET state = $1, attempts = attempts + 1, last_error_code = $4, last_error = $5, updated_at = now() WHERE id = $3 AND state = ANY($2)`}
	TrDeliveryDelivered = &Transition{Name: "delivery.delivered", Table: "deliveries", From: []string{DelPending, DelRetrying}, To: DelDelivered,
		SQL: `UPDATE deliveries SET state = $1, attempts = attempts + 1, receipt_id = $4, duplicate = $5, delivered_at = now(), updated_at = now(),
			last_error_code = NULL, last_error = NULL WHERE id = $3 AND state = ANY($2)`}
	TrDeliveryBlocked = &Transition{Name: "delivery.blocked", Table: "deliveries", From: []string{DelPending, DelRetrying}, To: DelBlocked,
		SQL: `UPDATE deliveries SET state = $1, last_error_code = $4, last_error = $5, updated_at = now() WHERE id = $3 AND state = ANY($2)`}
	// TrDeliveryReplay queues a stopped or waiting delivery again (an
	// operator's replay); delivered and superseded ones stay as they are.
	TrDeliveryReplay = &Transition{Name: "delivery.replay", Table: "deliveries", From: []string{DelPending, DelRetrying, DelFailed, DelBlocked}, To: DelPending,
		SQL: `UPDATE deliveries SET state = $1, generation = generation + 1, snoozes = 0, last_error_code = NULL, last_error = NULL, updated_at = now()
			WHERE id = $3 AND state = ANY($2)`}
	// TrDeliveriesSuperseded: as TrReferralsSuperseded, for deliveries.
	TrDeliveriesSuperseded = &Transition{Name: "delivery.superseded", Table: "deliveries", Bulk: true,
		From: []string{DelPending, DelRetrying, DelFailed, DelBlocked}, To: DelSuperseded,
		SQL: `UPDATE deliveries dl SET state = $1, superseded_by = $3, updated_at = now()
			FROM documents d WHERE d.id = dl.document_id AND d.organization_id = $4 AND d.set_root = $5 AND d.set_extension = $6
				AND d.version_number < $7 AND dl.state = ANY($2)`}
)

// Transitions is the table of every transition, for review and tests.
var Transitions = []*Transition{
	TrReferralAssembled, TrReferralIncomplete, TrReferralSendRetry, TrReferralFailed, TrReferralSent, TrReferralAccepted,
	TrReferralResult, TrReferralReturned, TrReferralBlocked, TrReferralRefetch, TrReferralsSuperseded,
	TrLinkRetry, TrLinkFetched, TrLinkUnavailable, TrLinkInvalid, TrLinksRefetch,
	TrDeliveryRetry, TrDeliveryFailed, TrDeliveryDelivered, TrDeliveryBlocked, TrDeliveryReplay, TrDeliveriesSuperseded,
}

// States lists every state of each table (its CHECK constraint).
var States = map[string][]string{
	"mse_referrals": {RefReceived, RefAssembling, RefIncomplete, RefSending, RefSent, RefAccepted, RefReturned, RefResultReceived, RefFailed, RefBlocked, RefSuperseded},
	"mse_links":     {LinkPending, LinkFetched, LinkRetrying, LinkUnavailable, LinkInvalid},
	"deliveries":    {DelPending, DelRetrying, DelDelivered, DelFailed, DelBlocked, DelSuperseded},
}

// stateOf reads a row's current state, for the log of a lost race.
var stateOf = map[string]string{
	"mse_referrals": `SELECT state FROM mse_referrals WHERE id = $1`,
	"mse_links":     `SELECT state FROM mse_links WHERE referral_id = $1 AND ordinal = $2`,
	"deliveries":    `SELECT state FROM deliveries WHERE id = $1`,
}

func keyLen(table string) int {
	if table == "mse_links" {
		return 2
	}
	return 1
}

// staleCounts counts lost races per transition name.
type staleCounts struct {
	mu sync.Mutex
	n  map[string]int64
}

func (s *staleCounts) add(name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.n == nil {
		s.n = map[string]int64{}
	}
	s.n[name]++
}

// StaleTransitions returns how many times each transition lost a race in
// this process (refused, logged, not applied).
func (e *Engine) StaleTransitions() map[string]int64 {
	e.stale.mu.Lock()
	defer e.stale.mu.Unlock()
	out := make(map[string]int64, len(e.stale.n))
	for k, v := range e.stale.n {
		out[k] = v
	}
	return out
}

// transition applies t to the row keyed by args (then t's own values) in q.
// It returns how many rows changed; a single-row transition that changes
// none returns *StaleTransitionError, already logged and counted.
func (e *Engine) transition(ctx context.Context, q store.DBTX, t *Transition, args ...any) (int64, error) {
	tag, err := q.Exec(ctx, t.SQL, append([]any{t.To, t.From}, args...)...)
	if err != nil {
		return 0, fmt.Errorf("workflow: transition %s: %w", t.Name, err)
	}
	if n := tag.RowsAffected(); n > 0 || t.Bulk {
		return n, nil
	}
	key := args[:keyLen(t.Table)]
	var found string
	if err := q.QueryRow(ctx, stateOf[t.Table], key...).Scan(&found); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return 0, fmt.Errorf("workflow: transition %s: read state: %w", t.Name, err)
	}
	e.stale.add(t.Name)
	e.Log.Warn("state transition refused: the row had moved on; not applied", "transition", t.Name, "table", t.Table,
		"key", fmt.Sprint(key...), "found", found, "allowed_from", strings.Join(t.From, ","))
	return 0, &StaleTransitionError{Transition: t.Name, Key: key, Found: found}
}

// stale reports whether err is a lost race (already logged and counted).
func stale(err error) bool { return errors.Is(err, ErrStaleTransition) }
