package store

// The flows' reads and writes besides their state transitions (flows.go):
// what the workflow's steps load to decide, and the rows they create. The
// SQL is in queries/*.sql; these functions give it the hub's types and
// wrap its errors with what was being done.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/emdhub/hub/internal/signed"
	"github.com/emdhub/hub/internal/store/dbsqlc"
)

// orNotFound wraps err with what; no row becomes ErrNotFound.
func orNotFound(err error, format string, args ...any) error {
	what := fmt.Sprintf(format, args...)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("store: %s: %w", what, ErrNotFound)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// NewReferral is a referral to create, with its links, as assembling.
type NewReferral struct {
	ID, DocumentID, OrganizationID, SystemID uuid.UUID
	Deadline                                 time.Time // the package deadline
}

// CreateReferral creates a referral in the assembling state.
func CreateReferral(ctx context.Context, db DBTX, r NewReferral) error {
	if err := queries.CreateReferral(ctx, db, &dbsqlc.CreateReferralParams{ID: r.ID, DocumentID: r.DocumentID, OrganizationID: r.OrganizationID,
		SystemID: r.SystemID, State: string(RefAssembling), DeadlineAt: r.Deadline}); err != nil {
		return fmt.Errorf("store: create referral %s: %w", r.ID, err)
	}
	return nil
}

// NewLink is a linked document of a referral (a LINKDOCS entry), to fetch.
type NewLink struct {
	ReferralID         uuid.UUID
	Ordinal            int
	DocType, Root, Ext string
	Series, Number     string
}

// CreateLink creates a link in the pending state.
func CreateLink(ctx context.Context, db DBTX, l NewLink) error {
	if err := queries.CreateLink(ctx, db, &dbsqlc.CreateLinkParams{ReferralID: l.ReferralID, Ordinal: l.Ordinal, DocType: l.DocType,
		RefRoot: l.Root, RefExtension: l.Ext, Series: NullString(l.Series), Number: NullString(l.Number), State: string(LinkPending)}); err != nil {
		return fmt.Errorf("store: create link %s/%d: %w", l.ReferralID, l.Ordinal, err)
	}
	return nil
}

// LinkToFetch is a link with what its fetch needs.
type LinkToFetch = dbsqlc.LinkToFetchRow

// GetLinkToFetch loads a link for its fetch (ErrNotFound: gone).
func GetLinkToFetch(ctx context.Context, db DBTX, referralID uuid.UUID, ordinal int) (*LinkToFetch, error) {
	l, err := queries.LinkToFetch(ctx, db, &dbsqlc.LinkToFetchParams{ReferralID: referralID, Ordinal: ordinal})
	if err != nil {
		return nil, orNotFound(err, "load link %s/%d", referralID, ordinal)
	}
	return l, nil
}

// LockReferral locks a referral row in db (a transaction) and returns its
// state and system: concurrent steps on one referral serialise here.
func LockReferral(ctx context.Context, db DBTX, id uuid.UUID) (ReferralState, uuid.UUID, error) {
	r, err := queries.LockReferral(ctx, db, id)
	if err != nil {
		return "", uuid.Nil, orNotFound(err, "lock referral %s", id)
	}
	return ReferralState(r.State), r.SystemID, nil
}

// OpenLinks counts a referral's links not yet settled.
func OpenLinks(ctx context.Context, db DBTX, referralID uuid.UUID) (int64, error) {
	n, err := queries.OpenLinks(ctx, db, referralID)
	if err != nil {
		return 0, fmt.Errorf("store: count open links of %s: %w", referralID, err)
	}
	return n, nil
}

// MissingLink is a link an incomplete package lacks, as the МИС is told.
type MissingLink struct {
	Ordinal       int    `json:"ordinal"`
	DocType       string `json:"doc_type"`
	RefRoot       string `json:"ref_root"`
	RefExtension  string `json:"ref_extension"`
	State         string `json:"state"`
	LastErrorCode string `json:"last_error_code"`
	LastError     string `json:"last_error"`
}

// MissingLinks lists a referral's links that were not fetched.
func MissingLinks(ctx context.Context, db DBTX, referralID uuid.UUID) ([]MissingLink, error) {
	rows, err := queries.MissingLinks(ctx, db, referralID)
	if err != nil {
		return nil, fmt.Errorf("store: missing links of %s: %w", referralID, err)
	}
	out := make([]MissingLink, len(rows))
	for i, r := range rows {
		out[i] = MissingLink{Ordinal: r.Ordinal, DocType: r.DocType, RefRoot: r.RefRoot, RefExtension: r.RefExtension, State: r.State,
			LastErrorCode: r.LastErrorCode, LastError: r.LastError}
	}
	return out, nil
}

// PendingLinks lists the ordinals of a referral's pending links.
func PendingLinks(ctx context.Context, db DBTX, referralID uuid.UUID) ([]int, error) {
	ords, err := queries.PendingLinks(ctx, db, referralID)
	if err != nil {
		return nil, fmt.Errorf("store: pending links of %s: %w", referralID, err)
	}
	return ords, nil
}

// ReferralToSend is what a send of a referral's package needs.
type ReferralToSend = dbsqlc.ReferralToSendRow

// GetReferralToSend loads a referral for its send.
func GetReferralToSend(ctx context.Context, db DBTX, id uuid.UUID) (*ReferralToSend, error) {
	r, err := queries.ReferralToSend(ctx, db, id)
	if err != nil {
		return nil, orNotFound(err, "load referral %s to send", id)
	}
	return r, nil
}

// KeepLateSend records what a send told (case id, message id, an attempt)
// when its referral had already been settled by the bureau's answer: the
// state stays as that answer left it.
func KeepLateSend(ctx context.Context, db DBTX, id uuid.UUID, caseID, messageID string) error {
	if err := queries.KeepLateSend(ctx, db, &dbsqlc.KeepLateSendParams{ID: id, CaseID: &caseID, MessageID: &messageID}); err != nil {
		return fmt.Errorf("store: keep late send of %s: %w", id, err)
	}
	return nil
}

// Package is a referral's package as it travels: the referral's document
// first, then its fetched links' documents in order, with the signer
// certificates of them all for the certificate gate.
type Package struct {
	IDs     []uuid.UUID          // the documents' ids, in Docs' order
	Docs    []*signed.Document   // with content and signatures
	Signers []*SignerCertificate // earliest expiry first
}

// PackageToSend loads the package of a referral, its documents with their
// signatures and their signer certificates, in one round trip.
func PackageToSend(ctx context.Context, db DBTX, referralID uuid.UUID) (*Package, error) {
	rows, err := queries.PackageToSend(ctx, db, referralID)
	if err != nil {
		return nil, fmt.Errorf("store: package of referral %s: %w", referralID, err)
	}
	p := &Package{}
	last := -1
	var d *signed.Document
	for _, r := range rows {
		if r.Pos != last || d == nil {
			last = r.Pos
			d = &signed.Document{Kind: r.Kind, Root: r.CdaRoot, Extension: r.CdaExtension, Content: r.Content}
			p.IDs, p.Docs = append(p.IDs, r.ID), append(p.Docs, d)
		}
		if r.Role == "" { // a document without signatures (LEFT JOIN)
			continue
		}
		d.Signatures = append(d.Signatures, signed.Signature{Role: signedRole(r.Role), CMS: r.Cms})
		p.Signers = appendSigner(p.Signers, r.ID, r.Role, r.SignerSubject, r.SignerSerial, r.CertNotBefore, r.CertNotAfter, r.SignerIssuerDer)
	}
	if len(p.Docs) == 0 {
		return nil, fmt.Errorf("store: package of referral %s: %w", referralID, ErrNotFound)
	}
	sortSigners(p.Signers)
	return p, nil
}

// signedRole is a stored signer role as peers carry it.
func signedRole(role string) string {
	if role == SignerOrganization {
		return signed.RoleOrganization
	}
	return signed.RoleDoctor
}

// appendSigner adds a signature's certificate facts to certs, as
// SignerCertificates lists them: only signatures whose certificate is known.
func appendSigner(certs []*SignerCertificate, doc uuid.UUID, role, subject, serial string, notBefore, notAfter *time.Time, issuerDER []byte) []*SignerCertificate {
	if notAfter == nil {
		return certs
	}
	return append(certs, &SignerCertificate{DocumentID: doc, Role: role, SignerSubject: subject, SignerSerial: serial,
		CertNotBefore: notBefore, CertNotAfter: notAfter, SignerIssuerDer: issuerDER})
}

// sortSigners orders certificates earliest expiry first, as SignerCertificates does.
func sortSigners(certs []*SignerCertificate) {
	slices.SortStableFunc(certs, func(a, b *SignerCertificate) int { return a.CertNotAfter.Compare(*b.CertNotAfter) })
}

// ReferralToFollow returns a referral's state and case id (nil before sent).
func ReferralToFollow(ctx context.Context, db DBTX, id uuid.UUID) (ReferralState, *string, error) {
	r, err := queries.ReferralToFollow(ctx, db, id)
	if err != nil {
		return "", nil, orNotFound(err, "load referral %s to follow", id)
	}
	return ReferralState(r.State), r.CaseID, nil
}

// DocumentSystem returns the information system that submitted a document.
func DocumentSystem(ctx context.Context, db DBTX, id uuid.UUID) (uuid.UUID, error) {
	s, err := queries.DocumentSystem(ctx, db, id)
	if err != nil {
		return uuid.Nil, orNotFound(err, "system of document %s", id)
	}
	return s, nil
}

// SignerCertificate is a stored signer certificate of a document.
type SignerCertificate = dbsqlc.SignerCertificatesRow

// SignerCertificates lists the signer certificates of docs, earliest
// expiry first.
func SignerCertificates(ctx context.Context, db DBTX, docs []uuid.UUID) ([]*SignerCertificate, error) {
	rows, err := queries.SignerCertificates(ctx, db, docs)
	if err != nil {
		return nil, fmt.Errorf("store: signer certificates of %v: %w", docs, err)
	}
	return rows, nil
}

// ReferralByCDA is a referral found by its document's CDA id.
type ReferralByCDA = dbsqlc.LockReferralByCDARow

// LockReferralByCDA finds and locks the referral whose document has a CDA
// id (ErrNotFound: none).
func LockReferralByCDA(ctx context.Context, db DBTX, root, ext string) (*ReferralByCDA, error) {
	r, err := queries.LockReferralByCDA(ctx, db, &dbsqlc.LockReferralByCDAParams{CdaRoot: root, CdaExtension: ext})
	if err != nil {
		return nil, orNotFound(err, "lock referral of %s^%s", root, ext)
	}
	return r, nil
}

// NewResult is a bureau's result or return notice to store.
type NewResult = dbsqlc.InsertResultParams

// InsertResult stores a result; false if one with its message id was
// stored already (fetched again after a lost acknowledgement).
func InsertResult(ctx context.Context, db DBTX, r *NewResult) (bool, error) {
	n, err := queries.InsertResult(ctx, db, r)
	if err != nil {
		return false, fmt.Errorf("store: insert result %s: %w", r.MessageID, err)
	}
	return n > 0, nil
}

// CreateDelivery creates a pending delivery of a certificate to recipient.
func CreateDelivery(ctx context.Context, db DBTX, id, documentID, orgID uuid.UUID, recipient, messageID string) error {
	if err := queries.CreateDelivery(ctx, db, &dbsqlc.CreateDeliveryParams{ID: id, DocumentID: documentID, OrganizationID: orgID,
		Recipient: recipient, State: string(DelPending), MessageID: messageID}); err != nil {
		return fmt.Errorf("store: create delivery to %s: %w", recipient, err)
	}
	return nil
}

// DeliveryToSend is a delivery with what its call needs: its document's
// facts, the signer certificates the gate checks and, when asked for, the
// document with its signatures as it travels.
type DeliveryToSend struct {
	DocumentID, OrganizationID                                uuid.UUID
	Recipient, State, MessageID, Event, OrgOid                string
	Kind, Series, Number, PatientSnils, CdaRoot, CdaExtension string
	Signers                                                   []*SignerCertificate // earliest expiry first
	Document                                                  *signed.Document     // with withContent only
}

// GetDeliveryToSend loads a delivery for its call, with its signer
// certificates and, withContent, its document as it travels — one round
// trip.
func GetDeliveryToSend(ctx context.Context, db DBTX, id uuid.UUID, withContent bool) (*DeliveryToSend, error) {
	rows, err := queries.DeliveryWithSigners(ctx, db, &dbsqlc.DeliveryWithSignersParams{ID: id, WithContent: withContent})
	if err != nil {
		return nil, fmt.Errorf("store: load delivery %s: %w", id, err)
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("store: load delivery %s: %w", id, ErrNotFound)
	}
	r := rows[0]
	d := &DeliveryToSend{DocumentID: r.DocumentID, OrganizationID: r.OrganizationID, Recipient: r.Recipient, State: r.State, MessageID: r.MessageID,
		Event: r.Event, OrgOid: r.OrgOid, Kind: r.Kind, Series: r.Series, Number: r.Number, PatientSnils: r.PatientSnils, CdaRoot: r.CdaRoot,
		CdaExtension: r.CdaExtension}
	if withContent {
		d.Document = &signed.Document{Kind: r.Kind, Root: r.CdaRoot, Extension: r.CdaExtension, Content: r.Content}
	}
	for _, r := range rows {
		if r.Role == "" { // no signatures (LEFT JOIN)
			continue
		}
		if withContent {
			d.Document.Signatures = append(d.Document.Signatures, signed.Signature{Role: signedRole(r.Role), CMS: r.Cms})
		}
		d.Signers = appendSigner(d.Signers, r.DocumentID, r.Role, r.SignerSubject, r.SignerSerial, r.CertNotBefore, r.CertNotAfter, r.SignerIssuerDer)
	}
	sortSigners(d.Signers)
	return d, nil
}

// CountSnooze counts a delivery's snooze (rate limited, or its breaker open).
func CountSnooze(ctx context.Context, db DBTX, id uuid.UUID) error {
	if err := queries.CountSnooze(ctx, db, id); err != nil {
		return fmt.Errorf("store: count snooze of delivery %s: %w", id, err)
	}
	return nil
}

// DeliveryForReplay is a delivery an operator replays, with its document.
type DeliveryForReplay = dbsqlc.LockDeliveryForReplayRow

// LockDeliveryForReplay loads and locks a delivery (ErrNotFound: none).
func LockDeliveryForReplay(ctx context.Context, db DBTX, id uuid.UUID) (*DeliveryForReplay, error) {
	d, err := queries.LockDeliveryForReplay(ctx, db, id)
	if err != nil {
		return nil, orNotFound(err, "lock delivery %s", id)
	}
	return d, nil
}

// CreateNotification records an event for a system and returns the
// system's callback URL ("" if none).
func CreateNotification(ctx context.Context, db DBTX, id, systemID uuid.UUID, event string, subject uuid.UUID, payload []byte) (string, error) {
	cb, err := queries.CreateNotification(ctx, db, &dbsqlc.CreateNotificationParams{ID: id, SystemID: systemID, Event: event, SubjectID: subject, Payload: payload})
	if err != nil {
		return "", fmt.Errorf("store: record notification %s: %w", event, err)
	}
	return cb, nil
}

// NotificationToSend is a notification with its system's callback.
type NotificationToSend = dbsqlc.NotificationToSendRow

// GetNotificationToSend loads a notification for its callback.
func GetNotificationToSend(ctx context.Context, db DBTX, id uuid.UUID) (*NotificationToSend, error) {
	n, err := queries.NotificationToSend(ctx, db, id)
	if err != nil {
		return nil, orNotFound(err, "load notification %s", id)
	}
	return n, nil
}

// NotificationDelivered records a callback the МИС took.
func NotificationDelivered(ctx context.Context, db DBTX, id uuid.UUID) error {
	if err := queries.NotificationDelivered(ctx, db, id); err != nil {
		return fmt.Errorf("store: record callback of %s delivered: %w", id, err)
	}
	return nil
}

// NotificationFailed records a failed callback attempt and its category.
func NotificationFailed(ctx context.Context, db DBTX, id uuid.UUID, category string) error {
	if err := queries.NotificationFailed(ctx, db, &dbsqlc.NotificationFailedParams{ID: id, LastError: &category}); err != nil {
		return fmt.Errorf("store: record callback of %s failed: %w", id, err)
	}
	return nil
}
