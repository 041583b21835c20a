// Package intake takes documents in at the door: it decodes what the МИС
// sent, parses the CDA header, runs the checks, and stores the document and
// its signatures in one transaction, together with whatever the registered
// hooks add (the workflow inserts its first jobs there, so an accepted
// document and the work that follows it commit together).
//
// A refusal is a *codes.Error; nothing is stored when one is returned.
package intake

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/emdhub/hub/internal/cdaxsd"
	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/config"
	"github.com/emdhub/hub/internal/kinds"
	"github.com/emdhub/hub/internal/metrics"
	"github.com/emdhub/hub/internal/nsi"
	"github.com/emdhub/hub/internal/refbook"
	"github.com/emdhub/hub/internal/schematron"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/store"
)

// Request is the body of POST /api/v1/documents.
type Request struct {
	// Kind is the НСИ 1520 code the МИС declares ("121").
	Kind string `json:"kind"`
	// LocalID is the МИС's id of this document instance; it must equal
	// ClinicalDocument/id/@extension.
	LocalID string `json:"local_id"`
	// Document is the CDA XML, base64-encoded so the signed bytes travel exactly.
	Document string `json:"document"`
	// Signatures are the detached CMS signatures (DER, base64): doctor(s) and organisation.
	Signatures []SignatureRequest `json:"signatures"`
}

// SignatureRequest is one detached signature.
type SignatureRequest struct {
	Role string `json:"role"` // "doctor" or "organization"
	CMS  string `json:"cms"`  // base64 of the DER CMS SignedData
}

// Submitter is the authenticated system.
type Submitter struct {
	OrgID    uuid.UUID
	OrgOID   string
	SystemID uuid.UUID
}

// Hook runs inside the intake transaction after the document is stored
// (only when it was newly created). It must not end tx (Commit, Rollback):
// under group commit tx is the batch's transaction, the document's
// statements kept apart by a savepoint the committer manages.
type Hook func(ctx context.Context, tx pgx.Tx, doc *store.Document, header *semd.Document, kind *nsi.Kind) error

// Service is the intake.
type Service struct {
	Store      *store.Store
	Hooks      []Hook
	Signatures *Signatures
	Now        func() time.Time
	// Limits bound the document's XML structure and LINKDOCS (zero fields:
	// semd.DefaultLimits); DocLimits reads them from the configuration.
	Limits semd.Limits
	// Level2 is ФЛК level 2 (refbook.go); nil: not run (HUB_NSI_CHECK off).
	Level2 *refbook.Checker
	// Schematrons are the official ФЛК level 1 by kind code (121, 58, …),
	// compiled once at start (app: HUB_SCHEMATRON_DIR or the bundled ones). A
	// kind without one keeps only the header checks; a nil set switches the
	// ФЛК off (unit tests of other door checks).
	Schematrons schematron.Set
	// Kinds, when set, is asked per request instead of Schematrons: the
	// schematrons the hub started with overlaid by the operators' active
	// kind bundles, reloaded without a restart (internal/kinds).
	Kinds *kinds.Registry
	// XSD are the official CDA schemas by kind code (cdaxsd, HUB_XSD_DIR or
	// the bundled ones), run after the header checks and before the
	// schematron; a kind without one skips the stage.
	XSD cdaxsd.Set
	// Attempts records every attempt at the door, accepted or refused
	// (internal/stats; the dashboards); nil: not recorded.
	Attempts Recorder
	// Batcher, when set, stores submissions by group commit (batch.go:
	// one transaction and one WAL flush for the documents that arrive
	// while a commit is in flight); nil: one transaction per document.
	Batcher *Committer
}

// Recorder keeps the record of attempts at the door. Accepted runs inside
// the intake transaction (so an accepted document and its record commit
// together); Refused must not block the refusal (it may batch).
type Recorder interface {
	Accepted(ctx context.Context, tx pgx.Tx, a *Attempt) error
	Refused(ctx context.Context, a *Attempt, err error)
}

// Attempt is what the door learnt of one submission, for the record: no content.
type Attempt struct {
	At         time.Time
	Submitter  Submitter
	Kind       string // as declared
	LocalID    string
	Header     *semd.Document       // nil when the document did not parse
	Signatures []store.NewSignature // decoded signatures, when they were
	Repeat     bool                 // an idempotent repeat of a stored document
}

// DocLimits are the configured door limits (HUB_XML_MAX_*, HUB_MAX_LINKS),
// for the door and for whatever else takes documents in (fetched linked
// documents, the bureau's results).
func DocLimits(cfg *config.Config) semd.Limits {
	return semd.Limits{MaxDepth: cfg.XMLMaxDepth, MaxAttrs: cfg.XMLMaxAttrs, MaxAttrBytes: cfg.XMLMaxAttrBytes,
		MaxElements: cfg.XMLMaxElements, MaxLinks: cfg.MaxLinks}
}

// ParseRefusal turns a semd.ParseError into the door's refusal: 400 for
// XML that is not well-formed, 413 for a document over the XML limits
// (like a body over HUB_MAX_BODY_BYTES), 422 otherwise; the path of a
// crossed limit goes into the details.
func ParseRefusal(pe *semd.ParseError) *codes.Error {
	status := http.StatusUnprocessableEntity
	switch pe.Code {
	case codes.InvalidContent:
		status = http.StatusBadRequest
	case codes.XMLLimitExceeded:
		status = http.StatusRequestEntityTooLarge
	}
	e := codes.New(status, pe.Code, "%s", pe.Message)
	if pe.Path != "" {
		e.Details = []semd.Problem{{Code: pe.Code, Path: pe.Path, Message: pe.Message}}
	}
	return e
}

// Result is an accepted document; Created is false for an idempotent repeat.
// Warnings are the reference books ФЛК level 2 did not check.
type Result struct {
	Document *store.Document
	Created  bool
	Warnings []refbook.Warning
}

func decodeB64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

// Decoded are a Request's base64 fields already decoded by the caller
// (the API checks them canonical, which decodes them): the intake does
// not decode the 20 KB of a document's base64 a second time. Document
// nil, or a CMS entry nil (or missing), is decoded from the Request.
type Decoded struct {
	Document []byte
	CMS      [][]byte // by the index of Request.Signatures
}

// Submit checks and stores one document, and has the attempt recorded.
func (s *Service) Submit(ctx context.Context, sub Submitter, req *Request) (*Result, error) {
	return s.SubmitDecoded(ctx, sub, req, nil)
}

// SubmitDecoded is Submit with the base64 of req decoded already (dec;
// nil: decode here). The bytes must be what req's base64 decodes to.
func (s *Service) SubmitDecoded(ctx context.Context, sub Submitter, req *Request, dec *Decoded) (*Result, error) {
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	att := &Attempt{At: now, Submitter: sub, Kind: req.Kind, LocalID: req.LocalID}
	if dec == nil {
		dec = &Decoded{}
	}
	res, err := s.submit(ctx, sub, req, dec, att)
	if err != nil && s.Attempts != nil {
		s.Attempts.Refused(ctx, att, err)
	}
	return res, err
}

func (s *Service) submit(ctx context.Context, sub Submitter, req *Request, dec *Decoded, att *Attempt) (*Result, error) {
	if req.Kind == "" || req.Document == "" {
		return nil, codes.New(http.StatusBadRequest, codes.BadRequest, "kind and document are required")
	}
	content := dec.Document
	if content == nil {
		var err error
		if content, err = decodeB64(req.Document); err != nil {
			return nil, codes.New(http.StatusBadRequest, codes.InvalidContent, "document is not valid base64: %v", err)
		}
	}
	now := att.At
	// The one door, with a submission's options: the custodian must be the
	// submitter and the ФЛК runs. The document's own checks come before the
	// signatures (a signature that cannot even be read is refused only after
	// them), cheapest refusal first; see CheckEntering.
	sigs, sigRefusal := decodeSignatures(req.Signatures, dec.CMS)
	checked, err := s.CheckEntering(ctx, content, Entry{
		Claims:     semd.Claims{Kind: req.Kind, LocalID: req.LocalID, SubmitterOrg: sub.OrgOID, Now: now},
		FLK:        true,
		Signatures: sigs, SignatureRefusal: sigRefusal,
	})
	if checked != nil { // the record keeps what was read of a document that parsed
		att.Header = checked.Header
		att.Signatures = sigs
	}
	if err != nil {
		return nil, err
	}
	header, kind := checked.Header, checked.Kind
	localID := req.LocalID
	if localID == "" {
		localID = header.ID.Extension
	}
	var res Result
	// storeDoc is the document's part of a transaction: its row and
	// signatures, its attempt's record and, when it is new, the hooks'
	// rows and jobs. With a BatchRecorder under group commit the attempt
	// is returned, to be written with the batch's others in one statement.
	storeDoc := func(ctx context.Context, tx pgx.Tx, inline bool) (*Attempt, error) {
		doc, created, err := s.Store.InsertDocument(ctx, tx, store.NewDocument{
			OrgID: sub.OrgID, SystemID: sub.SystemID, Kind: kind.Kind, LocalID: localID,
			Content: content, Header: header, Signatures: sigs,
		})
		if err != nil {
			return nil, err
		}
		res = Result{Document: doc, Created: created, Warnings: checked.Warnings}
		var record *Attempt
		if s.Attempts != nil {
			att.Repeat = !created
			if inline {
				if err := s.Attempts.Accepted(ctx, tx, att); err != nil {
					return nil, err
				}
			} else {
				record = att
			}
		}
		if !created {
			return record, nil
		}
		for _, h := range s.Hooks {
			if err := h(ctx, tx, doc, header, kind); err != nil {
				return nil, err
			}
		}
		return record, nil
	}
	if b := s.Batcher; b != nil {
		rec, batched := s.Attempts.(BatchRecorder)
		err = b.Do(ctx, header.ID.Root+"^"+header.ID.Extension, rec, func(ctx context.Context, tx pgx.Tx) (*Attempt, error) { return storeDoc(ctx, tx, !batched) })
	} else {
		err = pgx.BeginFunc(ctx, s.Store.Pool, func(tx pgx.Tx) error { _, err := storeDoc(ctx, tx, true); return err })
	}
	if err != nil {
		var ce *store.ConflictError
		if errors.As(err, &ce) {
			return nil, codes.New(http.StatusConflict, codes.NotUniqueProvidedID,
				"document %s is already registered in the hub (id %s) with different content; a corrected document needs a new id and the same setId with a higher versionNumber",
				ce.CDAID, ce.ExistingID)
		}
		return nil, fmt.Errorf("intake: store %s: %w", header.ID, err)
	}
	return &res, nil
}

// flk runs the official schematron of the kind, if the hub has one, and
// refuses with 422 FLK_FAILED listing every failed rule: its number and text
// as the .sch gives them, and the location (fn:path) of the node it failed on.
func (s *Service) flk(content []byte, kind string, sch *schematron.Schema) error {
	return s.flkParsed(content, nil, kind, sch)
}

// flkParsed is flk on the door's one parse d of content (validate.go's
// parse); nil: parse content here.
func (s *Service) flkParsed(content []byte, d *schematron.Document, kind string, sch *schematron.Schema) error {
	if sch == nil {
		return nil
	}
	defer metrics.Schematron(kind, time.Now())
	if d == nil {
		var err error
		if d, err = schematron.ParseLimited(content, s.Limits); err != nil { // semd parsed it under the same limits: not expected
			return codes.New(http.StatusBadRequest, codes.InvalidContent, "%v", err)
		}
	}
	fs, err := sch.ValidateErr(d)
	if err != nil {
		return codes.Unprocessable(codes.FLKFailed, "the official schematron of kind %s cannot evaluate the document: %v", kind, err)
	}
	if len(fs) == 0 {
		return nil
	}
	e := codes.Unprocessable(codes.FLKFailed, "the document fails %d checks of the official schematron of kind %s (ФЛК); first: %s", len(fs), kind, fs[0].Text)
	details := make([]FLKProblem, len(fs))
	for i, f := range fs {
		details[i] = FLKProblem{Code: codes.FLKFailed, Rule: f.Number(), Path: f.Location, Message: f.Text}
	}
	e.Details = details
	return e
}

// FLKProblem is one failed official rule in a FLK_FAILED refusal's details.
type FLKProblem struct {
	Code    string `json:"code"`           // FLK_FAILED
	Rule    string `json:"rule,omitempty"` // the rule's number as the .sch writes it ("У1-15"); empty for unnumbered rules
	Path    string `json:"path"`           // fn:path() of the node the rule failed on
	Message string `json:"message"`        // the rule's own (Russian) text
}

// decodeSignatures reads the signatures of a request; decoded[i], when
// there and not nil, is signature i's CMS decoded already.
func decodeSignatures(in []SignatureRequest, decoded [][]byte) ([]store.NewSignature, error) {
	var out []store.NewSignature
	for i, s := range in {
		if s.Role != store.SignerDoctor && s.Role != store.SignerOrganization {
			return nil, codes.New(http.StatusBadRequest, codes.BadRequest, "signatures[%d].role %q: want doctor or organization", i, s.Role)
		}
		if i < len(decoded) && decoded[i] != nil {
			out = append(out, store.NewSignature{Role: s.Role, CMS: decoded[i]})
			continue
		}
		b, err := decodeB64(s.CMS)
		if err != nil {
			return nil, codes.Unprocessable(codes.SignatureDecodingError, "signatures[%d] is not base64 of a DER CMS SignedData: %v", i, err)
		}
		out = append(out, store.NewSignature{Role: s.Role, CMS: b})
	}
	return out, nil
}
