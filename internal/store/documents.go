package store

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/emdhub/hub/internal/semd"
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
		return nil, false, err
	}
	var snils, enp string
	if h.Patient != nil {
		snils, enp = h.Patient.SNILS, h.Patient.ENP
	}
	var receivedAt time.Time
	err = db.QueryRow(ctx, `
		INSERT INTO documents (id, organization_id, system_id, kind, doc_type, local_id, cda_root, cda_extension,
			set_root, set_extension, version_number, title, effective_time, patient_snils, patient_enp,
			series, number, content, content_sha256, header)
		VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20)
		ON CONFLICT (cda_root, cda_extension) DO NOTHING
		RETURNING received_at`,
		id, d.OrgID, d.SystemID, d.Kind, h.Code.Code, d.LocalID, h.ID.Root, h.ID.Extension,
		h.SetID.Root, h.SetID.Extension, h.VersionNumber, h.Title, h.EffectiveTime,
		NullString(snils), NullString(enp), NullString(h.Series), NullString(h.Number), d.Content, sum[:], header).Scan(&receivedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		// The CDA id is taken: an idempotent repeat, or a conflict.
		var existing uuid.UUID
		var existingSum []byte
		var existingOrg uuid.UUID
		err := db.QueryRow(ctx, `SELECT id, content_sha256, organization_id FROM documents WHERE cda_root = $1 AND cda_extension = $2`,
			h.ID.Root, h.ID.Extension).Scan(&existing, &existingSum, &existingOrg)
		if err != nil {
			return nil, false, fmt.Errorf("store: read existing document %s: %w", h.ID, err)
		}
		if !bytes.Equal(existingSum, sum[:]) || existingOrg != d.OrgID {
			return nil, false, &ConflictError{ExistingID: existing, CDAID: h.ID}
		}
		doc, err := s.GetDocument(ctx, db, d.OrgID, existing)
		return doc, false, err
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
		n := len(d.Signatures)
		ords := make([]int32, n)
		roles := make([]string, n)
		cms := make([][]byte, n)
		sums := make([][]byte, n)
		subj, iss, serial, ogrn, snils := make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n), make([]*string, n)
		bits := make([]*int32, n)
		nb, na := make([]*time.Time, n), make([]*time.Time, n)
		certSums, issuers := make([][]byte, n), make([][]byte, n)
		for i, sig := range d.Signatures {
			ss := sha256.Sum256(sig.CMS)
			ords[i], roles[i], cms[i], sums[i] = int32(i+1), sig.Role, sig.CMS, ss[:]
			if sg := sig.Signer; sg != nil {
				b := int32(sg.KeyBits)
				subj[i], iss[i], serial[i], ogrn[i], snils[i] = &sg.Subject, &sg.Issuer, &sg.Serial, NullString(sg.OGRN), NullString(sg.SNILS)
				bits[i], nb[i], na[i], certSums[i], issuers[i] = &b, &sg.NotBefore, &sg.NotAfter, sg.CertSHA256, sg.IssuerDER
			}
			doc.Signatures = append(doc.Signatures, SignatureInfo{Ordinal: i + 1, Role: sig.Role, Size: len(sig.CMS), SHA256: fmt.Sprintf("%x", ss), Signer: sig.Signer})
		}
		if _, err := db.Exec(ctx, `INSERT INTO document_signatures (document_id, ordinal, role, cms, cms_sha256,
				signer_subject, signer_issuer, signer_serial, signer_ogrn, signer_snils, key_bits, cert_not_before, cert_not_after, cert_sha256, signer_issuer_der)
			SELECT $1, * FROM unnest($2::int[], $3::text[], $4::bytea[], $5::bytea[], $6::text[], $7::text[], $8::text[], $9::text[],
				$10::text[], $11::int[], $12::timestamptz[], $13::timestamptz[], $14::bytea[], $15::bytea[])`,
			id, ords, roles, cms, sums, subj, iss, serial, ogrn, snils, bits, nb, na, certSums, issuers); err != nil {
			return nil, false, fmt.Errorf("store: insert signatures of %s: %w", h.ID, err)
		}
	}
	return doc, true, nil
}

const documentColumns = `d.id, d.organization_id, d.system_id, d.kind, d.doc_type, d.local_id, d.cda_root, d.cda_extension,
	d.set_root, d.set_extension, d.version_number, d.title, d.effective_time, coalesce(d.patient_snils, ''),
	coalesce(d.patient_enp, ''), coalesce(d.series, ''), coalesce(d.number, ''), length(d.content), d.content_sha256, d.received_at`

func scanDocument(row pgx.Row, withHeader bool) (*Document, error) {
	var d Document
	var sum []byte
	dest := []any{&d.ID, &d.OrganizationID, &d.SystemID, &d.Kind, &d.DocType, &d.LocalID, &d.CDAID.Root, &d.CDAID.Extension,
		&d.SetID.Root, &d.SetID.Extension, &d.VersionNumber, &d.Title, &d.EffectiveTime, &d.PatientSNILS,
		&d.PatientENP, &d.Series, &d.Number, &d.Size, &sum, &d.ReceivedAt}
	if withHeader {
		dest = append(dest, &d.Header)
	}
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	d.ContentSHA256 = fmt.Sprintf("%x", sum)
	return &d, nil
}

// GetDocument returns a document of orgID (uuid.Nil: any organisation, for
// operators) with its header and signature list.
func (s *Store) GetDocument(ctx context.Context, db DBTX, orgID, id uuid.UUID) (*Document, error) {
	d, err := scanDocument(db.QueryRow(ctx, `SELECT `+documentColumns+`, d.header FROM documents d
		WHERE d.id = $1 AND ($2::uuid IS NULL OR d.organization_id = $2)`, id, NullUUID(orgID)), true)
	if err != nil {
		return nil, notFound(err, "get document")
	}
	rows, err := db.Query(ctx, `SELECT ordinal, role, length(cms), cms_sha256, signer_subject, coalesce(signer_issuer, ''),
			coalesce(signer_serial, ''), coalesce(signer_ogrn, ''), coalesce(signer_snils, ''), coalesce(key_bits, 0), cert_not_before, cert_not_after
		FROM document_signatures WHERE document_id = $1 ORDER BY ordinal`, id)
	if err != nil {
		return nil, fmt.Errorf("store: signatures of %s: %w", id, err)
	}
	d.Signatures, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) (SignatureInfo, error) {
		var si SignatureInfo
		var sum []byte
		var subject *string
		var sg Signer
		var nb, na *time.Time
		err := r.Scan(&si.Ordinal, &si.Role, &si.Size, &sum, &subject, &sg.Issuer, &sg.Serial, &sg.OGRN, &sg.SNILS, &sg.KeyBits, &nb, &na)
		si.SHA256 = fmt.Sprintf("%x", sum)
		if subject != nil && nb != nil && na != nil {
			sg.Subject, sg.NotBefore, sg.NotAfter = *subject, *nb, *na
			si.Signer = &sg
		}
		return si, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: signatures of %s: %w", id, err)
	}
	return d, nil
}

// CheckDocument reports whether document id is visible to orgID (uuid.Nil:
// any organisation): nil, or an error wrapping ErrNotFound. One index probe,
// for endpoints that show something of a document but not the document.
func (s *Store) CheckDocument(ctx context.Context, orgID, id uuid.UUID) error {
	var one int
	err := s.Pool.QueryRow(ctx, `SELECT 1 FROM documents WHERE id = $1 AND ($2::uuid IS NULL OR organization_id = $2)`,
		id, NullUUID(orgID)).Scan(&one)
	if err != nil {
		return notFound(err, "check document")
	}
	return nil
}

// DocumentContent returns the stored CDA bytes of a document of orgID.
func (s *Store) DocumentContent(ctx context.Context, orgID, id uuid.UUID) ([]byte, error) {
	var b []byte
	err := s.Pool.QueryRow(ctx, `SELECT content FROM documents WHERE id = $1 AND ($2::uuid IS NULL OR organization_id = $2)`,
		id, NullUUID(orgID)).Scan(&b)
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
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if f.OrgID != uuid.Nil {
		where = append(where, "d.organization_id = "+arg(f.OrgID))
	}
	if f.Kind != "" {
		where = append(where, "d.kind = "+arg(f.Kind))
	}
	if f.PatientSNILS != "" {
		where = append(where, "d.patient_snils = "+arg(f.PatientSNILS))
	}
	if f.SystemID != uuid.Nil {
		where = append(where, "d.system_id = "+arg(f.SystemID))
	}
	if !f.Since.IsZero() {
		where = append(where, "d.received_at >= "+arg(f.Since))
	}
	if !f.Until.IsZero() {
		where = append(where, "d.received_at < "+arg(f.Until))
	}
	if f.Cursor != "" {
		c, err := DecodeCursor(f.Cursor)
		if err != nil {
			return nil, err
		}
		where = append(where, "d.id < "+arg(c))
	}
	q := `SELECT ` + documentColumns + ` FROM documents d`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY d.id DESC LIMIT " + arg(f.Limit+1)
	rows, err := s.Pool.Query(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list documents: %w", err)
	}
	items, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (*Document, error) { return scanDocument(r, false) })
	if err != nil {
		return nil, fmt.Errorf("store: list documents: %w", err)
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
