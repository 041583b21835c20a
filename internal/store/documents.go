package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/store/dbsqlc"
)

// Signature roles.
const (
	SignerDoctor       = "doctor"
	SignerOrganization = "organization"
)

// NewSignature is a detached CMS signature as given by the МИС.
type NewSignature struct {
	Role string
	CMS  []byte
	// Signer is what verification learnt of the certificate (nil when the
	// signature was not verified, e.g. stored before verification existed).
	Signer *Signer
}

// Signer describes a signer's certificate.
type Signer struct {
	Subject    string    `json:"subject"`
	Issuer     string    `json:"issuer"`
	Serial     string    `json:"serial"`
	OGRN       string    `json:"ogrn,omitempty"`
	SNILS      string    `json:"snils,omitempty"`
	KeyBits    int       `json:"key_bits"`
	NotBefore  time.Time `json:"not_before"`
	NotAfter   time.Time `json:"not_after"`
	CertSHA256 []byte    `json:"-"`
	IssuerDER  []byte    `json:"-"`
}

// NewDocument is a checked document ready to store.
type NewDocument struct {
	OrgID      uuid.UUID
	SystemID   uuid.UUID
	Kind       string
	LocalID    string
	Content    []byte
	Header     *semd.Document
	Signatures []NewSignature
}

// SignatureInfo describes a stored signature without its bytes.
type SignatureInfo struct {
	Ordinal int     `json:"ordinal"`
	Role    string  `json:"role"`
	Size    int     `json:"size"`
	SHA256  string  `json:"sha256"`
	Signer  *Signer `json:"signer,omitempty"`
}

// Document is a stored document's metadata.
type Document struct {
	ID             uuid.UUID       `json:"id"`
	OrganizationID uuid.UUID       `json:"organization_id"`
	SystemID       uuid.UUID       `json:"system_id"`
	Kind           string          `json:"kind"`
	DocType        string          `json:"doc_type"`
	LocalID        string          `json:"local_id"`
	CDAID          semd.II         `json:"cda_id"`
	SetID          semd.II         `json:"set_id"`
	VersionNumber  int             `json:"version_number"`
	Title          string          `json:"title"`
	EffectiveTime  time.Time       `json:"effective_time"`
	PatientSNILS   string          `json:"patient_snils,omitempty"`
	PatientENP     string          `json:"patient_enp,omitempty"`
	Series         string          `json:"series,omitempty"`
	Number         string          `json:"number,omitempty"`
	Size           int             `json:"size"`
	ContentSHA256  string          `json:"content_sha256"`
	ReceivedAt     time.Time       `json:"received_at"`
	Header         json.RawMessage `json:"header,omitempty"`
	Signatures     []SignatureInfo `json:"signatures,omitempty"`
}

// ConflictError is a CDA id already used for different bytes (NOT_UNIQUE_PROVIDED_ID).
type ConflictError struct {
	ExistingID uuid.UUID
	CDAID      semd.II
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("store: document %s is already registered with different content (hub id %s)", e.CDAID, e.ExistingID)
}

// NullString is s as a nullable column value: "" is NULL.
func NullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// InsertDocument stores a document and its signatures in db (a transaction
// or the pool). It is idempotent on the CDA id: the same id with the same
// bytes returns the stored record with created=false; with other bytes it
// fails with *ConflictError and changes nothing.
func (s *Store) InsertDocument(ctx context.Context, db DBTX, d NewDocument) (doc *Document, created bool, err error) {
	sum := sha256.Sum256(d.Content)
	h := d.Header
	header, err := json.Marshal(h)
	if err != nil {
		return nil, false, fmt.Errorf("store: encode header: %w", err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return nil, false, fmt.Errorf("store: document id: %w", err)
	}
	var snils, enp string
	if h.Patient != nil {
		snils, enp = h.Patient.SNILS, h.Patient.ENP
	}
	receivedAt, err := queries.InsertDocument(ctx, db, &dbsqlc.InsertDocumentParams{ID: id, OrganizationID: d.OrgID, SystemID: d.SystemID,
		Kind: d.Kind, DocType: h.Code.Code, LocalID: d.LocalID, CdaRoot: h.ID.Root, CdaExtension: h.ID.Extension,
		SetRoot: h.SetID.Root, SetExtension: h.SetID.Extension, VersionNumber: h.VersionNumber, Title: h.Title, EffectiveTime: h.EffectiveTime,
		PatientSnils: NullString(snils), PatientEnp: NullString(enp), Series: NullString(h.Series), Number: NullString(h.Number),
		Content: d.Content, ContentSha256: sum[:], Header: header})
	if errors.Is(err, pgx.ErrNoRows) {
		// The CDA id is taken: an idempotent repeat, or a conflict.
		existing, err := queries.DocumentByCDA(ctx, db, &dbsqlc.DocumentByCDAParams{CdaRoot: h.ID.Root, CdaExtension: h.ID.Extension})
		if err != nil {
			return nil, false, fmt.Errorf("store: read existing document %s: %w", h.ID, err)
		}
		if !bytes.Equal(existing.ContentSha256, sum[:]) || existing.OrganizationID != d.OrgID {
			return nil, false, &ConflictError{ExistingID: existing.ID, CDAID: h.ID}
		}
		doc, err := s.GetDocument(ctx, db, d.OrgID, existing.ID)
		if err != nil {
			return nil, false, fmt.Errorf("store: read repeated document %s: %w", h.ID, err)
		}
		return doc, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: insert document %s: %w", h.ID, err)
	}
	doc = &Document{
		ID: id, OrganizationID: d.OrgID, SystemID: d.SystemID, Kind: d.Kind, DocType: h.Code.Code, LocalID: d.LocalID,
		CDAID: h.ID, SetID: h.SetID, VersionNumber: h.VersionNumber, Title: h.Title, EffectiveTime: h.EffectiveTime,
		PatientSNILS: snils, PatientENP: enp, Series: h.Series, Number: h.Number, Size: len(d.Content),
		ContentSHA256: fmt.Sprintf("%x", sum), ReceivedAt: receivedAt, Header: header,
	}
	if len(d.Signatures) > 0 {
		if err := queries.InsertSignatures(ctx, db, signatureRows(id, d.Signatures)); err != nil {
			return nil, false, fmt.Errorf("store: insert signatures of %s: %w", h.ID, err)
		}
		for i, sig := range d.Signatures {
			ss := sha256.Sum256(sig.CMS)
			doc.Signatures = append(doc.Signatures, SignatureInfo{Ordinal: i + 1, Role: sig.Role, Size: len(sig.CMS), SHA256: fmt.Sprintf("%x", ss), Signer: sig.Signer})
		}
	}
	return doc, true, nil
}

// signatureRows are a document's signatures as InsertSignatures takes
// them: one array per column, ordinals from 1 in the given order; a
// signature without a Signer (not verified) stores no signer columns.
func signatureRows(documentID uuid.UUID, sigs []NewSignature) *dbsqlc.InsertSignaturesParams {
	n := len(sigs)
	p := &dbsqlc.InsertSignaturesParams{DocumentID: documentID,
		Ordinals: make([]int, n), Roles: make([]string, n), Cms: make([][]byte, n), CmsSha256s: make([][]byte, n), Signed: make([]bool, n),
		Subjects: make([]string, n), Issuers: make([]string, n), Serials: make([]string, n), Ogrns: make([]string, n), Snilses: make([]string, n),
		KeyBits: make([]int, n), NotBefores: make([]time.Time, n), NotAfters: make([]time.Time, n), CertSha256s: make([][]byte, n), IssuerDers: make([][]byte, n)}
	for i, sig := range sigs {
		ss := sha256.Sum256(sig.CMS)
		p.Ordinals[i], p.Roles[i], p.Cms[i], p.CmsSha256s[i] = i+1, sig.Role, sig.CMS, ss[:]
		if sg := sig.Signer; sg != nil {
			p.Signed[i] = true
			p.Subjects[i], p.Issuers[i], p.Serials[i], p.Ogrns[i], p.Snilses[i] = sg.Subject, sg.Issuer, sg.Serial, sg.OGRN, sg.SNILS
			p.KeyBits[i], p.NotBefores[i], p.NotAfters[i], p.CertSha256s[i], p.IssuerDers[i] = sg.KeyBits, sg.NotBefore, sg.NotAfter, sg.CertSHA256, sg.IssuerDER
		}
	}
	return p
}

// documentOf is a document row as the API shows it. GetDocument's row is
// ListDocuments' with the header, which a list leaves out.
func documentOf(r *dbsqlc.ListDocumentsRow, header []byte) *Document {
	return &Document{ID: r.ID, OrganizationID: r.OrganizationID, SystemID: r.SystemID, Kind: r.Kind, DocType: r.DocType, LocalID: r.LocalID,
		CDAID: semd.II{Root: r.CdaRoot, Extension: r.CdaExtension}, SetID: semd.II{Root: r.SetRoot, Extension: r.SetExtension},
		VersionNumber: r.VersionNumber, Title: r.Title, EffectiveTime: r.EffectiveTime, PatientSNILS: r.PatientSnils,
		PatientENP: r.PatientEnp, Series: r.Series, Number: r.Number, Size: r.Size, ContentSHA256: fmt.Sprintf("%x", r.ContentSha256),
		ReceivedAt: r.ReceivedAt, Header: header}
}

// GetDocument returns a document of orgID (uuid.Nil: any organisation, for
// operators) with its header and signature list.
func (s *Store) GetDocument(ctx context.Context, db DBTX, orgID, id uuid.UUID) (*Document, error) {
	r, err := queries.GetDocument(ctx, db, &dbsqlc.GetDocumentParams{ID: id, Org: NullUUID(orgID)})
	if err != nil {
		return nil, notFound(err, "get document")
	}
	d := documentOf(&dbsqlc.ListDocumentsRow{ID: r.ID, OrganizationID: r.OrganizationID, SystemID: r.SystemID, Kind: r.Kind,
		DocType: r.DocType, LocalID: r.LocalID, CdaRoot: r.CdaRoot, CdaExtension: r.CdaExtension, SetRoot: r.SetRoot,
		SetExtension: r.SetExtension, VersionNumber: r.VersionNumber, Title: r.Title, EffectiveTime: r.EffectiveTime,
		PatientSnils: r.PatientSnils, PatientEnp: r.PatientEnp, Series: r.Series, Number: r.Number, Size: r.Size,
		ContentSha256: r.ContentSha256, ReceivedAt: r.ReceivedAt}, r.Header)
	sigs, err := queries.DocumentSignatures(ctx, db, id)
	if err != nil {
		return nil, fmt.Errorf("store: signatures of %s: %w", id, err)
	}
	for _, r := range sigs {
		si := SignatureInfo{Ordinal: r.Ordinal, Role: r.Role, Size: r.Size, SHA256: fmt.Sprintf("%x", r.CmsSha256)}
		if r.SignerSubject != nil && r.CertNotBefore != nil && r.CertNotAfter != nil {
			si.Signer = &Signer{Subject: *r.SignerSubject, Issuer: r.SignerIssuer, Serial: r.SignerSerial, OGRN: r.SignerOgrn,
				SNILS: r.SignerSnils, KeyBits: r.KeyBits, NotBefore: *r.CertNotBefore, NotAfter: *r.CertNotAfter}
		}
		d.Signatures = append(d.Signatures, si)
	}
	return d, nil
}

// CheckDocument reports whether document id is visible to orgID (uuid.Nil:
// any organisation): nil, or an error wrapping ErrNotFound. One index probe,
// for endpoints that show something of a document but not the document.
func (s *Store) CheckDocument(ctx context.Context, orgID, id uuid.UUID) error {
	if _, err := queries.CheckDocument(ctx, s.Pool, &dbsqlc.CheckDocumentParams{ID: id, Org: NullUUID(orgID)}); err != nil {
		return notFound(err, "check document")
	}
	return nil
}

// DocumentContent returns the stored CDA bytes of a document of orgID.
func (s *Store) DocumentContent(ctx context.Context, orgID, id uuid.UUID) ([]byte, error) {
	b, err := queries.DocumentContent(ctx, s.Pool, &dbsqlc.DocumentContentParams{ID: id, Org: NullUUID(orgID)})
	if err != nil {
		return nil, notFound(err, "document content")
	}
	return b, nil
}

// NullUUID is id as a nullable column value (or query parameter): uuid.Nil is NULL.
func NullUUID(id uuid.UUID) *uuid.UUID {
	if id == uuid.Nil {
		return nil
	}
	return &id
}

// DocumentFilter selects documents for a list. Zero fields do not filter.
type DocumentFilter struct {
	OrgID        uuid.UUID // uuid.Nil: every organisation (operators)
	Kind         string
	PatientSNILS string
	SystemID     uuid.UUID
	Since, Until time.Time // received_at range
	Cursor       string    // opaque, from a previous page's NextCursor
	Limit        int
}

// DocumentPage is one page of a list, newest first.
type DocumentPage struct {
	Items      []*Document `json:"items"`
	NextCursor string      `json:"next_cursor,omitempty"`
}

// ErrBadCursor is a cursor the hub did not issue.
var ErrBadCursor = errors.New("store: malformed cursor")

// EncodeCursor and DecodeCursor make the keyset cursor opaque: it is the
// last item's UUIDv7, which orders by time.
func EncodeCursor(id uuid.UUID) string { return base64.RawURLEncoding.EncodeToString(id[:]) }

// DecodeCursor reverses EncodeCursor.
func DecodeCursor(s string) (uuid.UUID, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(b) != 16 {
		return uuid.Nil, ErrBadCursor
	}
	return uuid.UUID(b), nil
}

// ListDocuments returns a page of documents, newest first, by keyset pagination.
func (s *Store) ListDocuments(ctx context.Context, f DocumentFilter) (*DocumentPage, error) {
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 50
	}
	p := &dbsqlc.ListAllDocumentsParams{Kind: NullString(f.Kind), PatientSnils: NullString(f.PatientSNILS),
		SystemID: NullUUID(f.SystemID), MaxItems: f.Limit + 1}
	if !f.Since.IsZero() {
		p.Since = &f.Since
	}
	if !f.Until.IsZero() {
		p.Until = &f.Until
	}
	if f.Cursor != "" {
		c, err := DecodeCursor(f.Cursor)
		if err != nil {
			return nil, fmt.Errorf("store: list documents: %w", err)
		}
		p.Before = &c
	}
	var rows []*dbsqlc.ListDocumentsRow
	var err error
	if f.OrgID != uuid.Nil {
		rows, err = queries.ListDocuments(ctx, s.Pool, &dbsqlc.ListDocumentsParams{Org: f.OrgID, Kind: p.Kind, PatientSnils: p.PatientSnils,
			SystemID: p.SystemID, Since: p.Since, Until: p.Until, Before: p.Before, MaxItems: p.MaxItems})
	} else {
		var all []*dbsqlc.ListAllDocumentsRow
		all, err = queries.ListAllDocuments(ctx, s.Pool, p)
		for _, r := range all {
			rows = append(rows, (*dbsqlc.ListDocumentsRow)(r))
		}
	}
	if err != nil {
		return nil, fmt.Errorf("store: list documents: %w", err)
	}
	items := make([]*Document, len(rows))
	for i, r := range rows {
		items[i] = documentOf(r, nil)
	}
	page := &DocumentPage{Items: items}
	if len(items) > f.Limit {
		page.Items = items[:f.Limit]
		page.NextCursor = EncodeCursor(page.Items[f.Limit-1].ID)
	}
	if page.Items == nil {
		page.Items = []*Document{}
	}
	return page, nil
}
