package store

// What the API shows of the flows (the workflow's read views): a referral
// with its links, results and return notices, deliveries, and the flows
// operators look at.

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/store/dbsqlc"
)

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

// GetReferral returns a referral (by its id or its document's) of org
// (uuid.Nil: any, for operators), with its links; ErrNotFound if none.
func GetReferral(ctx context.Context, db DBTX, org, id uuid.UUID) (*ReferralView, error) {
	r, err := queries.ReferralView(ctx, db, &dbsqlc.ReferralViewParams{ID: id, Org: NullUUID(org)})
	if err != nil {
		return nil, orNotFound(err, "referral %s", id)
	}
	v := &ReferralView{ID: r.ID, DocumentID: r.DocumentID, CDAID: semd.II{Root: r.CdaRoot, Extension: r.CdaExtension}, State: r.State,
		Attempts: r.Attempts, CaseID: r.CaseID, ReturnReason: r.ReturnReason, LastErrorCode: r.LastErrorCode, LastError: r.LastError,
		Deadline: r.DeadlineAt, Timeline: Timeline{Received: r.ReceivedAt, Assembled: r.AssembledAt, Sent: r.SentAt, Accepted: r.AcceptedAt,
			Returned: r.ReturnedAt, Result: r.ResultAt}, Links: []*LinkView{}}
	links, err := queries.ReferralLinks(ctx, db, r.ID)
	if err != nil {
		return nil, fmt.Errorf("store: links of referral %s: %w", r.ID, err)
	}
	for _, l := range links {
		v.Links = append(v.Links, &LinkView{Ordinal: l.Ordinal, DocType: l.DocType, CDAID: semd.II{Root: l.RefRoot, Extension: l.RefExtension},
			State: l.State, DocumentID: l.DocumentID, Attempts: l.Attempts, LastErrorCode: l.LastErrorCode, LastError: l.LastError, UpdatedAt: l.UpdatedAt})
	}
	return v, nil
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

// resultView converts LatestResultRow and ResultsFeedRow (the same columns).
func resultView(r dbsqlc.ResultsFeedRow) *ResultView {
	return &ResultView{ID: r.ID, ReferralID: r.ReferralID, MessageID: r.MessageID, CaseID: r.CaseID, Type: r.Type, Reason: r.Reason, Kind: r.Kind,
		ReferralCDAID: semd.II{Root: r.ReferralRoot, Extension: r.ReferralExtension}, CDAID: semd.II{Root: r.CdaRoot, Extension: r.CdaExtension},
		Document: r.Content, Signatures: r.Signatures, CheckError: r.CheckError, ReceivedAt: r.ReceivedAt}
}

// LatestResult returns the latest result or return notice of a referral
// (by its id or its document's); with org set, only one that passed the
// door's checks (one that failed is for operators). ErrNotFound if none.
func LatestResult(ctx context.Context, db DBTX, org, referral uuid.UUID) (*ResultView, error) {
	r, err := queries.LatestResult(ctx, db, &dbsqlc.LatestResultParams{Referral: referral, Org: NullUUID(org)})
	if err != nil {
		return nil, orNotFound(err, "result of referral %s", referral)
	}
	return resultView(dbsqlc.ResultsFeedRow(*r)), nil
}

// ResultsFeed returns up to limit results and return notices after the
// cursor, oldest first: of org's referrals (uuid.Nil: any) and passing the
// checks, or (orphans) the unmatched and failed ones.
func ResultsFeed(ctx context.Context, db DBTX, org, after uuid.UUID, limit int, orphans bool) ([]*ResultView, error) {
	rows, err := queries.ResultsFeed(ctx, db, &dbsqlc.ResultsFeedParams{After: after, Org: NullUUID(org), Orphans: orphans, MaxItems: limit})
	if err != nil {
		return nil, fmt.Errorf("store: results feed: %w", err)
	}
	out := make([]*ResultView, len(rows))
	for i, r := range rows {
		out[i] = resultView(*r)
	}
	return out, nil
}

// DeliveryView is one certificate delivery.
type DeliveryView struct {
	ID         uuid.UUID `json:"id"`
	DocumentID uuid.UUID `json:"document_id"`
	Recipient  string    `json:"recipient"`
	// Event is the ЕПГУ event a delivery to ЕПГУ carries, under its
	// contract name (CERTIFICATE_ISSUED, MSE_REFERRAL_ACCEPTED, …); none for ЕГР ЗАГС.
	Event         string     `json:"event,omitempty"`
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

func deliveryView(d *dbsqlc.Delivery) *DeliveryView {
	d.Event = deliveryEventName(d.Recipient, d.Event)
	return &DeliveryView{ID: d.ID, DocumentID: d.DocumentID, Recipient: d.Recipient, State: d.State, MessageID: d.MessageID, ReceiptID: d.ReceiptID,
		Duplicate: d.Duplicate, Attempts: d.Attempts, Snoozes: d.Snoozes, LastErrorCode: d.LastErrorCode, LastError: d.LastError,
		CreatedAt: d.CreatedAt, DeliveredAt: d.DeliveredAt, UpdatedAt: d.UpdatedAt, Event: d.Event}
}

// deliveryEventName is the ЕПГУ contract's name of what a delivery carries:
// its event, or CERTIFICATE_ISSUED for a certificate's own ЕПГУ delivery.
func deliveryEventName(recipient, event string) string {
	if event == "" && recipient == "epgu" {
		return "CERTIFICATE_ISSUED"
	}
	return event
}

// DocumentDeliveries lists a document's deliveries (document of org; uuid.Nil: any).
func DocumentDeliveries(ctx context.Context, db DBTX, org, document uuid.UUID) ([]*DeliveryView, error) {
	rows, err := queries.DocumentDeliveries(ctx, db, &dbsqlc.DocumentDeliveriesParams{DocumentID: document, Org: NullUUID(org)})
	if err != nil {
		return nil, fmt.Errorf("store: deliveries of document %s: %w", document, err)
	}
	out := make([]*DeliveryView, len(rows))
	for i, d := range rows {
		out[i] = deliveryView(d)
	}
	return out, nil
}

// GetDelivery returns one delivery (ErrNotFound if none).
func GetDelivery(ctx context.Context, db DBTX, id uuid.UUID) (*DeliveryView, error) {
	d, err := queries.DeliveryByID(ctx, db, id)
	if err != nil {
		return nil, orNotFound(err, "delivery %s", id)
	}
	return deliveryView(d), nil
}

// Troubled is a flow among the troubles: why, and since when.
type Troubled struct {
	Reason string
	Since  time.Time
}

// TroubledDelivery is a delivery among the troubles.
type TroubledDelivery struct {
	*DeliveryView
	Troubled
}

// TroubledDeliveries lists, oldest first (at most 500), the deliveries
// failed or blocked, or pending/retrying for longer than stuckAfter since
// created, or snoozed snoozeTrouble times.
func TroubledDeliveries(ctx context.Context, db DBTX, stuckAfter time.Duration, snoozeTrouble int) ([]TroubledDelivery, error) {
	rows, err := queries.TroubledDeliveries(ctx, db, &dbsqlc.TroubledDeliveriesParams{StuckAfter: stuckAfter, SnoozeTrouble: snoozeTrouble})
	if err != nil {
		return nil, fmt.Errorf("store: troubled deliveries: %w", err)
	}
	out := make([]TroubledDelivery, len(rows))
	for i, r := range rows {
		out[i] = TroubledDelivery{DeliveryView: deliveryView(&r.Delivery), Troubled: Troubled{Reason: r.Reason, Since: r.Since}}
	}
	return out, nil
}

// TroubledReferral names a referral among the troubles.
type TroubledReferral struct {
	ID uuid.UUID
	Troubled
}

// TroubledReferrals lists, oldest first (at most 500), the referrals
// incomplete, failed or blocked; under way for longer than stuckAfter in
// their state (sending: since assembled); sent or accepted with no result
// resultDeadline after sending.
func TroubledReferrals(ctx context.Context, db DBTX, stuckAfter, resultDeadline time.Duration) ([]TroubledReferral, error) {
	rows, err := queries.TroubledReferrals(ctx, db, &dbsqlc.TroubledReferralsParams{StuckAfter: stuckAfter, ResultDeadline: resultDeadline})
	if err != nil {
		return nil, fmt.Errorf("store: troubled referrals: %w", err)
	}
	out := make([]TroubledReferral, len(rows))
	for i, r := range rows {
		out[i] = TroubledReferral{ID: r.ID, Troubled: Troubled{Reason: r.Reason, Since: r.Since}}
	}
	return out, nil
}
