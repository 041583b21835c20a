package store

// The hub's three flows, each a table of states and the transitions
// between them: an MSE referral (mse_referrals), each linked document of its
// package (mse_links), and each delivery of a civil-registration
// certificate to ЕГР ЗАГС or ЕПГУ (deliveries). Every state change the
// workflow makes is one of the named functions below, which runs one
// guarded UPDATE (queries/transitions.sql: … WHERE state = ANY(@from_states)
// RETURNING …).
//
// Why guarded: steps race — a result stored while the send that caused it
// is still committing, a replay while a retry runs, a new version
// superseding work in flight — and an unguarded UPDATE lets the slower one
// overwrite the faster one's state (a taken result set back to "sent" for
// ever). A guarded one that finds the row elsewhere changes nothing and
// returns *StaleTransitionError (errors.Is ErrStaleTransition); the caller
// logs and counts it and completes its step without applying it. Bulk
// transitions (a new version retiring old work, a re-fetch resetting
// links) change every matching row; none matching is not a race.

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/emdhub/hub/internal/store/dbsqlc"
)

// ReferralState is a state of an MSE referral (mse_referrals.state).
type ReferralState string

// Referral states.
const (
	RefReceived       ReferralState = "received"
	RefAssembling     ReferralState = "assembling" // its links are being fetched
	RefIncomplete     ReferralState = "incomplete" // held: a linked document could not be had
	RefSending        ReferralState = "sending"
	RefSent           ReferralState = "sent"
	RefAccepted       ReferralState = "accepted"
	RefReturned       ReferralState = "returned"
	RefResultReceived ReferralState = "result_received"
	RefFailed         ReferralState = "failed"
	RefBlocked        ReferralState = "blocked_certificate" // stopped by the signer-certificate check
	RefSuperseded     ReferralState = "superseded"          // a newer signed version took over
)

// LinkState is a state of one linked document of a referral (mse_links.state).
type LinkState string

// Link states.
const (
	LinkPending     LinkState = "pending"
	LinkFetched     LinkState = "fetched"
	LinkRetrying    LinkState = "retrying"
	LinkUnavailable LinkState = "unavailable"
	LinkInvalid     LinkState = "invalid"
)

// Settled reports whether a link has its final state (its fetch is over).
func (s LinkState) Settled() bool {
	return s == LinkFetched || s == LinkUnavailable || s == LinkInvalid
}

// DeliveryState is a state of a certificate's delivery (deliveries.state).
type DeliveryState string

// Delivery states.
const (
	DelPending    DeliveryState = "pending"
	DelRetrying   DeliveryState = "retrying"
	DelDelivered  DeliveryState = "delivered"
	DelFailed     DeliveryState = "failed"
	DelBlocked    DeliveryState = "blocked_certificate" // stopped by the signer-certificate check
	DelSuperseded DeliveryState = "superseded"          // a newer signed version took over
	// DelNotNotifiable: the citizen cannot be told on ЕПГУ (no СНИЛС, no
	// portal account); kept with the reason, not retried (an operator may replay).
	DelNotNotifiable DeliveryState = "not_notifiable"
)

// Flow names a flow by its table.
type Flow string

// The flows.
const (
	FlowReferral Flow = "mse_referrals"
	FlowLink     Flow = "mse_links"
	FlowDelivery Flow = "deliveries"
)

// States lists every state of each flow (its table's CHECK constraint).
var States = map[Flow][]string{
	FlowReferral: strs(RefReceived, RefAssembling, RefIncomplete, RefSending, RefSent, RefAccepted, RefReturned,
		RefResultReceived, RefFailed, RefBlocked, RefSuperseded),
	FlowLink:     strs(LinkPending, LinkFetched, LinkRetrying, LinkUnavailable, LinkInvalid),
	FlowDelivery: strs(DelPending, DelRetrying, DelDelivered, DelFailed, DelBlocked, DelSuperseded, DelNotNotifiable),
}

// Transition is one allowed state change of one flow.
type Transition struct {
	Name string
	Flow Flow
	From []string
	To   string
	// Bulk transitions change every matching row; none matching is no race.
	Bulk bool
}

func refTr(name string, to ReferralState, from ...ReferralState) *Transition {
	return &Transition{Name: name, Flow: FlowReferral, From: strs(from...), To: string(to)}
}

func linkTr(name string, to LinkState, from ...LinkState) *Transition {
	return &Transition{Name: name, Flow: FlowLink, From: strs(from...), To: string(to)}
}

func delTr(name string, to DeliveryState, from ...DeliveryState) *Transition {
	return &Transition{Name: name, Flow: FlowDelivery, From: strs(from...), To: string(to)}
}

func bulk(t *Transition) *Transition { t.Bulk = true; return t }

func strs[S ~string](in ...S) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}

// The referral flow: assembling → sending → sent → accepted → result/returned.
var (
	TrReferralAssembled  = refTr("referral.assembled", RefSending, RefAssembling)
	TrReferralIncomplete = refTr("referral.incomplete", RefIncomplete, RefAssembling)
	// TrReferralSendRetry records a failed send attempt that will be retried.
	TrReferralSendRetry = refTr("referral.send_retry", RefSending, RefSending)
	TrReferralFailed    = refTr("referral.failed", RefFailed, RefSending)
	TrReferralSent      = refTr("referral.sent", RefSent, RefSending)
	TrReferralAccepted  = refTr("referral.accepted", RefAccepted, RefSent)
	// A result or return notice settles a referral the bureau may hold:
	// also one still "sending" (its send's completion not yet committed)
	// or "failed" (given up here, yet it reached the bureau).
	TrReferralResult   = refTr("referral.result", RefResultReceived, RefSending, RefSent, RefAccepted, RefFailed)
	TrReferralReturned = refTr("referral.returned", RefReturned, RefSending, RefSent, RefAccepted, RefFailed)
	TrReferralBlocked  = refTr("referral.blocked", RefBlocked, RefSending)
	TrReferralRefetch  = refTr("referral.refetch", RefAssembling, RefIncomplete)
	// TrReferralsSuperseded retires the unsent referrals of older versions of a document.
	TrReferralsSuperseded = bulk(refTr("referral.superseded", RefSuperseded,
		RefReceived, RefAssembling, RefIncomplete, RefSending, RefFailed, RefBlocked))
)

// The link flow: pending → (retrying →) fetched, unavailable or invalid.
var (
	TrLinkRetry       = linkTr("link.retry", LinkRetrying, LinkPending, LinkRetrying)
	TrLinkFetched     = linkTr("link.fetched", LinkFetched, LinkPending, LinkRetrying)
	TrLinkUnavailable = linkTr("link.unavailable", LinkUnavailable, LinkPending, LinkRetrying)
	TrLinkInvalid     = linkTr("link.invalid", LinkInvalid, LinkPending, LinkRetrying)
	// TrLinksRefetch resets every unavailable or invalid link of a referral.
	TrLinksRefetch = bulk(linkTr("link.refetch", LinkPending, LinkUnavailable, LinkInvalid))
)

// The delivery flow: pending → (retrying →) delivered, failed or blocked.
var (
	TrDeliveryRetry     = delTr("delivery.retry", DelRetrying, DelPending, DelRetrying)
	TrDeliveryFailed    = delTr("delivery.failed", DelFailed, DelPending, DelRetrying)
	TrDeliveryDelivered = delTr("delivery.delivered", DelDelivered, DelPending, DelRetrying)
	TrDeliveryBlocked   = delTr("delivery.blocked", DelBlocked, DelPending, DelRetrying)
	// TrDeliveryReplay queues a stopped or waiting delivery again (an
	// operator's replay); delivered and superseded ones stay as they are.
	TrDeliveryReplay        = delTr("delivery.replay", DelPending, DelPending, DelRetrying, DelFailed, DelBlocked, DelNotNotifiable)
	TrDeliveryNotNotifiable = delTr("delivery.not_notifiable", DelNotNotifiable, DelPending, DelRetrying)
	TrDeliveriesSuperseded  = bulk(delTr("delivery.superseded", DelSuperseded, DelPending, DelRetrying, DelFailed, DelBlocked))
)

// Transitions is every transition of every flow, for review and tests.
var Transitions = []*Transition{
	TrReferralAssembled, TrReferralIncomplete, TrReferralSendRetry, TrReferralFailed, TrReferralSent, TrReferralAccepted,
	TrReferralResult, TrReferralReturned, TrReferralBlocked, TrReferralRefetch, TrReferralsSuperseded,
	TrLinkRetry, TrLinkFetched, TrLinkUnavailable, TrLinkInvalid, TrLinksRefetch,
	TrDeliveryRetry, TrDeliveryFailed, TrDeliveryDelivered, TrDeliveryBlocked, TrDeliveryReplay, TrDeliveriesSuperseded,
	TrDeliveryNotNotifiable,
}

// ErrStaleTransition is a transition refused because its row had already
// left the states it starts from: another step got there first.
var ErrStaleTransition = errors.New("store: stale state transition")

// StaleTransitionError says which transition lost the race and what it found.
type StaleTransitionError struct {
	Transition *Transition
	Key        string // the row: a referral or delivery id, or referral/ordinal
	Found      string // the row's state; "" if the row is gone
}

func (e *StaleTransitionError) Error() string {
	return fmt.Sprintf("store: transition %s of %s refused: the row is %q", e.Transition.Name, e.Key, e.Found)
}

// Is makes errors.Is(err, ErrStaleTransition) hold.
func (e *StaleTransitionError) Is(target error) bool { return target == ErrStaleTransition }

var queries = dbsqlc.New()

// guarded turns the outcome of a single-row transition into nil, a
// *StaleTransitionError (no row matched: it reads the row's state for the
// error), or a wrapped database error.
func guarded(ctx context.Context, db DBTX, t *Transition, key string, err error, found func() (string, error)) error {
	if err == nil {
		return nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("store: transition %s of %s: %w", t.Name, key, err)
	}
	state, ferr := found()
	if ferr != nil && !errors.Is(ferr, pgx.ErrNoRows) {
		return fmt.Errorf("store: transition %s of %s: read state: %w", t.Name, key, ferr)
	}
	return &StaleTransitionError{Transition: t, Key: key, Found: state}
}

func referral(ctx context.Context, db DBTX, t *Transition, id uuid.UUID, err error) error {
	return guarded(ctx, db, t, id.String(), err, func() (string, error) { return queries.ReferralState(ctx, db, id) })
}

func link(ctx context.Context, db DBTX, t *Transition, referralID uuid.UUID, ordinal int, err error) error {
	return guarded(ctx, db, t, fmt.Sprintf("%s/%d", referralID, ordinal), err, func() (string, error) {
		return queries.LinkState(ctx, db, &dbsqlc.LinkStateParams{ReferralID: referralID, Ordinal: ordinal})
	})
}

func delivery(ctx context.Context, db DBTX, t *Transition, id uuid.UUID, err error) error {
	return guarded(ctx, db, t, id.String(), err, func() (string, error) { return queries.DeliveryState(ctx, db, id) })
}

// AssembleReferral: every link fetched, the package goes to sending.
func AssembleReferral(ctx context.Context, db DBTX, id uuid.UUID) error {
	t := TrReferralAssembled
	_, err := queries.ReferralAssembled(ctx, db, &dbsqlc.ReferralAssembledParams{ToState: t.To, ID: id, FromStates: t.From})
	return referral(ctx, db, t, id, err)
}

// HoldIncomplete: a link could not be had; the package is held, not sent.
func HoldIncomplete(ctx context.Context, db DBTX, id uuid.UUID, message string) error {
	t := TrReferralIncomplete
	_, err := queries.ReferralIncomplete(ctx, db, &dbsqlc.ReferralIncompleteParams{ToState: t.To, LastError: &message, ID: id, FromStates: t.From})
	return referral(ctx, db, t, id, err)
}

// FailSend records a send attempt that did not get through: retried
// (giveUp false, the referral stays sending) or given up (to failed).
func FailSend(ctx context.Context, db DBTX, id uuid.UUID, giveUp bool, code, message string) error {
	t := TrReferralSendRetry
	if giveUp {
		t = TrReferralFailed
	}
	_, err := queries.ReferralSendAttempt(ctx, db, &dbsqlc.ReferralSendAttemptParams{ToState: t.To, LastErrorCode: NullString(code),
		LastError: NullString(message), ID: id, FromStates: t.From})
	return referral(ctx, db, t, id, err)
}

// MarkSent: the bureau took the package under caseID.
func MarkSent(ctx context.Context, db DBTX, id uuid.UUID, caseID, messageID string) error {
	t := TrReferralSent
	_, err := queries.ReferralSent(ctx, db, &dbsqlc.ReferralSentParams{ToState: t.To, CaseID: &caseID, MessageID: &messageID, ID: id, FromStates: t.From})
	return referral(ctx, db, t, id, err)
}

// MarkAccepted: the bureau registered the case.
func MarkAccepted(ctx context.Context, db DBTX, id uuid.UUID) error {
	t := TrReferralAccepted
	_, err := queries.ReferralAccepted(ctx, db, &dbsqlc.ReferralAcceptedParams{ToState: t.To, ID: id, FromStates: t.From})
	return referral(ctx, db, t, id, err)
}

// TakeResult: the bureau's result settles the referral.
func TakeResult(ctx context.Context, db DBTX, id uuid.UUID, caseID string) error {
	t := TrReferralResult
	_, err := queries.ReferralResult(ctx, db, &dbsqlc.ReferralResultParams{ToState: t.To, CaseID: &caseID, ID: id, FromStates: t.From})
	return referral(ctx, db, t, id, err)
}

// TakeReturn: the bureau's return notice settles the referral.
func TakeReturn(ctx context.Context, db DBTX, id uuid.UUID, caseID, reason string) error {
	t := TrReferralReturned
	_, err := queries.ReferralReturned(ctx, db, &dbsqlc.ReferralReturnedParams{ToState: t.To, CaseID: &caseID, Reason: NullString(reason), ID: id, FromStates: t.From})
	return referral(ctx, db, t, id, err)
}

// BlockReferral: a signer's certificate of the package is not valid now.
func BlockReferral(ctx context.Context, db DBTX, id uuid.UUID, code, message string) error {
	t := TrReferralBlocked
	_, err := queries.ReferralBlocked(ctx, db, &dbsqlc.ReferralBlockedParams{ToState: t.To, LastErrorCode: &code, LastError: &message, ID: id, FromStates: t.From})
	return referral(ctx, db, t, id, err)
}

// RefetchReferral puts an incomplete referral back to assembling with a new
// package deadline and generation (its next send gets a new message id).
func RefetchReferral(ctx context.Context, db DBTX, id uuid.UUID, deadline time.Time) error {
	t := TrReferralRefetch
	_, err := queries.ReferralRefetch(ctx, db, &dbsqlc.ReferralRefetchParams{ToState: t.To, DeadlineAt: deadline, ID: id, FromStates: t.From})
	return referral(ctx, db, t, id, err)
}

// VersionOf names a new version of a document: the work of its older
// versions (same organisation and setId, lower versionNumber) is superseded.
type VersionOf struct {
	Document       uuid.UUID
	OrganizationID uuid.UUID
	SetRoot        string
	SetExtension   string
	VersionNumber  int
}

// SupersedeReferrals retires the unsent referrals of older versions of v.
func SupersedeReferrals(ctx context.Context, db DBTX, v VersionOf) (int64, error) {
	t := TrReferralsSuperseded
	n, err := queries.ReferralsSuperseded(ctx, db, &dbsqlc.ReferralsSupersededParams{ToState: t.To, NewDocument: &v.Document,
		OrganizationID: v.OrganizationID, SetRoot: v.SetRoot, SetExtension: v.SetExtension, VersionNumber: v.VersionNumber, FromStates: t.From})
	if err != nil {
		return 0, fmt.Errorf("store: transition %s by %s: %w", t.Name, v.Document, err)
	}
	return n, nil
}

// RetryLink records a fetch attempt of a link that will be retried.
func RetryLink(ctx context.Context, db DBTX, referralID uuid.UUID, ordinal int, code, message string) error {
	t := TrLinkRetry
	_, err := queries.LinkRetry(ctx, db, &dbsqlc.LinkRetryParams{ToState: t.To, LastErrorCode: NullString(code), LastError: NullString(message),
		ReferralID: referralID, Ordinal: ordinal, FromStates: t.From})
	return link(ctx, db, t, referralID, ordinal, err)
}

// linkSettles maps a link's final state to its transition.
var linkSettles = map[LinkState]*Transition{LinkFetched: TrLinkFetched, LinkUnavailable: TrLinkUnavailable, LinkInvalid: TrLinkInvalid}

// LinkOutcome is how a link's fetch ended.
type LinkOutcome struct {
	State    LinkState // fetched, unavailable or invalid
	Document uuid.UUID // the fetched (or already held) document; uuid.Nil if none
	Attempts int       // attempts to add: 1 if a call went out, else 0
	Code     string    // why not fetched
	Message  string
}

// SettleLink gives a link its final state.
func SettleLink(ctx context.Context, db DBTX, referralID uuid.UUID, ordinal int, o LinkOutcome) error {
	_, err := SettleLinkOpen(ctx, db, referralID, ordinal, o)
	return err
}

// SettleLinkOpen is SettleLink that also returns how many of the
// referral's other links are still open (OpenLinks without this one, in
// the same statement): the caller, holding the referral's lock
// (LockReferral), is the last to settle when it is 0.
func SettleLinkOpen(ctx context.Context, db DBTX, referralID uuid.UUID, ordinal int, o LinkOutcome) (int64, error) {
	t, ok := linkSettles[o.State]
	if !ok {
		return 0, fmt.Errorf("store: settle link %s/%d: %q is no final state", referralID, ordinal, o.State)
	}
	r, err := queries.LinkSettle(ctx, db, &dbsqlc.LinkSettleParams{ToState: t.To, DocumentID: NullUUID(o.Document), AddAttempts: o.Attempts,
		LastErrorCode: NullString(o.Code), LastError: NullString(o.Message), ReferralID: referralID, Ordinal: ordinal, FromStates: t.From})
	if err := link(ctx, db, t, referralID, ordinal, err); err != nil {
		return 0, err
	}
	return r.OthersOpen, nil
}

// ResetLinks puts every unavailable or invalid link of a referral back to pending.
func ResetLinks(ctx context.Context, db DBTX, referralID uuid.UUID) (int64, error) {
	t := TrLinksRefetch
	n, err := queries.LinksRefetch(ctx, db, &dbsqlc.LinksRefetchParams{ToState: t.To, ReferralID: referralID, FromStates: t.From})
	if err != nil {
		return 0, fmt.Errorf("store: transition %s of %s: %w", t.Name, referralID, err)
	}
	return n, nil
}

// FailDelivery records a delivery attempt that did not get through:
// retried (giveUp false, to retrying) or given up (to failed).
func FailDelivery(ctx context.Context, db DBTX, id uuid.UUID, giveUp bool, code, message string) error {
	t := TrDeliveryRetry
	if giveUp {
		t = TrDeliveryFailed
	}
	_, err := queries.DeliveryAttempt(ctx, db, &dbsqlc.DeliveryAttemptParams{ToState: t.To, LastErrorCode: NullString(code), LastError: NullString(message),
		ID: id, FromStates: t.From})
	return delivery(ctx, db, t, id, err)
}

// MarkDelivered: the recipient took the certificate (duplicate: it had it already).
func MarkDelivered(ctx context.Context, db DBTX, id uuid.UUID, receipt string, duplicate bool) error {
	t := TrDeliveryDelivered
	_, err := queries.DeliveryDelivered(ctx, db, &dbsqlc.DeliveryDeliveredParams{ToState: t.To, ReceiptID: &receipt, Duplicate: duplicate, ID: id, FromStates: t.From})
	return delivery(ctx, db, t, id, err)
}

// BlockDelivery: a signer's certificate of the document is not valid now.
func BlockDelivery(ctx context.Context, db DBTX, id uuid.UUID, code, message string) error {
	t := TrDeliveryBlocked
	_, err := queries.DeliveryBlocked(ctx, db, &dbsqlc.DeliveryBlockedParams{ToState: t.To, LastErrorCode: &code, LastError: &message, ID: id, FromStates: t.From})
	return delivery(ctx, db, t, id, err)
}

// ReplayDelivery queues a stopped or waiting delivery again (new
// generation, snoozes and last error cleared).
func ReplayDelivery(ctx context.Context, db DBTX, id uuid.UUID) error {
	t := TrDeliveryReplay
	_, err := queries.DeliveryReplay(ctx, db, &dbsqlc.DeliveryReplayParams{ToState: t.To, ID: id, FromStates: t.From})
	return delivery(ctx, db, t, id, err)
}

// SupersedeDeliveries retires the undelivered deliveries of older versions of v.
func SupersedeDeliveries(ctx context.Context, db DBTX, v VersionOf) (int64, error) {
	t := TrDeliveriesSuperseded
	n, err := queries.DeliveriesSuperseded(ctx, db, &dbsqlc.DeliveriesSupersededParams{ToState: t.To, NewDocument: &v.Document,
		OrganizationID: v.OrganizationID, SetRoot: v.SetRoot, SetExtension: v.SetExtension, VersionNumber: v.VersionNumber, FromStates: t.From})
	if err != nil {
		return 0, fmt.Errorf("store: transition %s by %s: %w", t.Name, v.Document, err)
	}
	return n, nil
}
