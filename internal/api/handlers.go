package api

import (
	"bytes"
	"encoding/base64"
	"errors"
	"mime"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/ids"
	"github.com/emdhub/hub/internal/intake"
	"github.com/emdhub/hub/internal/metrics"
	"github.com/emdhub/hub/internal/refbook"
	"github.com/emdhub/hub/internal/store"
)

func (s *Server) me(c *gin.Context) {
	p := principalOf(c)
	out := gin.H{"role": p.Role, "name": p.Name}
	if p.Role == store.RoleMIS {
		out["system_id"] = p.SystemID
		out["organization_oid"] = p.OrgOID
		out["organization_name"] = p.OrgName
	}
	c.JSON(http.StatusOK, out)
}

// decodeJSON reads a JSON body into v, mapping oversize bodies to 413, a
// body not received within HUB_READ_TIMEOUT to 408, and anything
// unreadable or not strictly v's shape (unknown, duplicate or
// case-mismatched keys, NUL characters, invalid UTF-8: see strictjson) to
// 400 naming the field.
func (s *Server) decodeJSON(c *gin.Context, v any) bool {
	body, ok := s.readJSONBody(c)
	if !ok {
		return false
	}
	if err := decodeStrict(body, v); err != nil {
		s.fail(c, codes.New(http.StatusBadRequest, codes.BadRequest, "request body is not the expected JSON: %v", err))
		return false
	}
	return true
}

// readJSONBody reads a JSON request's body, answering the refusals of
// decodeJSON that come before the JSON itself (media type, size, time,
// transport). The declared length, up to presizeMax, sizes the buffer at
// once, instead of io.ReadAll's doublings and copies; beyond it the buffer
// grows with what actually arrives, so a declared 16 MiB that never comes
// costs no 16 MiB.
func (s *Server) readJSONBody(c *gin.Context) ([]byte, bool) {
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || mt != "application/json" {
		s.fail(c, codes.New(http.StatusUnsupportedMediaType, codes.UnsupportedMedia, "send Content-Type: application/json"))
		return nil, false
	}
	var buf bytes.Buffer
	if n := c.Request.ContentLength; n > 0 {
		buf.Grow(int(min(n, presizeMax)) + bytes.MinRead) // ReadFrom wants MinRead free to read on up to EOF
	}
	_, err := buf.ReadFrom(c.Request.Body)
	switch {
	case err == nil:
		return buf.Bytes(), true
	case isTooLarge(err):
		s.fail(c, tooLarge(s.MaxBodyBytes))
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.fail(c, codes.New(http.StatusRequestTimeout, codes.BadRequest, "request body not received in time (HUB_READ_TIMEOUT)"))
	default:
		s.fail(c, codes.New(http.StatusBadRequest, codes.BadRequest, "request body could not be read"))
	}
	return nil, false
}

// presizeMax bounds the buffer readJSONBody takes before the body arrives
// (a submission of a large document is ~20–200 KB).
const presizeMax = 1 << 20

// canonicalBase64 decodes standard base64 (RFC 4648 §4) with padding and
// nothing else: no line breaks, spaces, missing padding or non-zero
// trailing bits. One encoding of the bytes, so the text a МИС signed or
// logged is the text the hub stored. The strict decoder refuses all of
// these but line breaks, which it skips: with none in s, s is the one
// encoding of what it decodes to (no re-encoding to compare).
func canonicalBase64(s string) ([]byte, bool) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, false
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	return b, err == nil
}

func (s *Server) submitDocument(c *gin.Context) {
	var req intake.Request
	defer observeIntake(c, &req)
	body, ok := s.readJSONBody(c)
	if !ok {
		return
	}
	if err := decodeIntake(body, &req); err != nil {
		s.fail(c, codes.New(http.StatusBadRequest, codes.BadRequest, "request body is not the expected JSON: %v", err))
		return
	}
	// The base64 is decoded here once, checked canonical, and handed to
	// the intake as bytes (intake.Decoded), not decoded again there.
	var dec intake.Decoded
	if req.Document != "" {
		if dec.Document, ok = canonicalBase64(req.Document); !ok {
			s.fail(c, codes.New(http.StatusBadRequest, codes.InvalidContent, "document must be standard base64 with padding, without line breaks or spaces"))
			return
		}
	}
	dec.CMS = make([][]byte, len(req.Signatures))
	for i, sig := range req.Signatures {
		if sig.CMS != "" {
			if dec.CMS[i], ok = canonicalBase64(sig.CMS); !ok {
				s.fail(c, codes.Unprocessable(codes.SignatureDecodingError, "signatures[%d].cms must be standard base64 with padding, without line breaks or spaces", i))
				return
			}
		}
	}
	p := principalOf(c)
	res, err := s.Intake.SubmitDecoded(c.Request.Context(), intake.Submitter{OrgID: p.OrgID, OrgOID: p.OrgOID, SystemID: p.SystemID}, &req, &dec)
	if err != nil {
		s.fail(c, err)
		return
	}
	status := http.StatusCreated
	if !res.Created {
		status = http.StatusOK
	}
	for _, w := range res.Warnings {
		metrics.DictionaryUnchecked(req.Kind, w.OID, w.Reason)
	}
	c.Header("Location", "/api/v1/documents/"+res.Document.ID.String())
	c.JSON(status, acceptedDocument{res.Document, res.Warnings})
}

// acceptedDocument is the answer to an accepted document: the document,
// and the reference books the door did not check ("warnings", absent when none).
type acceptedDocument struct {
	*store.Document
	Warnings []refbook.Warning `json:"warnings,omitempty"`
}

// orgScope is the organisation a caller may see: its own, or every one for operators.
func orgScope(p *store.Principal) uuid.UUID {
	if p.Role == store.RoleOperator {
		return uuid.Nil
	}
	return p.OrgID
}

// docFail answers a store error about document id: 404 if it is not visible.
func (s *Server) docFail(c *gin.Context, err error, id uuid.UUID) {
	if errors.Is(err, store.ErrNotFound) {
		s.fail(c, codes.New(http.StatusNotFound, codes.NotFound, "no document %s visible to this system", id))
		return
	}
	s.fail(c, err)
}

func (s *Server) getDocument(c *gin.Context) {
	id, ok := s.pathID(c, "document")
	if !ok {
		return
	}
	doc, err := s.Store.GetDocument(c.Request.Context(), s.Pool, orgScope(principalOf(c)), id)
	if err != nil {
		s.docFail(c, err, id)
		return
	}
	c.JSON(http.StatusOK, doc)
}

func (s *Server) getDocumentContent(c *gin.Context) {
	id, ok := s.pathID(c, "document")
	if !ok {
		return
	}
	b, err := s.Store.DocumentContent(c.Request.Context(), orgScope(principalOf(c)), id)
	if err != nil {
		s.docFail(c, err, id)
		return
	}
	c.Data(http.StatusOK, "application/xml; charset=utf-8", b)
}

func (s *Server) listDocuments(c *gin.Context) {
	p := principalOf(c)
	f := store.DocumentFilter{OrgID: orgScope(p), Kind: c.Query("kind"), Cursor: c.Query("cursor")}
	if !validKind(f.Kind) {
		s.fail(c, codes.New(http.StatusBadRequest, codes.BadRequest, "kind must be a НСИ 1520 document kind code (digits), e.g. 121"))
		return
	}
	if f.Cursor != "" {
		if _, err := store.DecodeCursor(f.Cursor); err != nil {
			s.fail(c, codes.New(http.StatusBadRequest, codes.BadRequest, "cursor was not issued by this hub"))
			return
		}
	}
	if v := c.Query("patient_snils"); v != "" {
		n, err := ids.ValidateSNILS(v)
		if err != nil {
			s.fail(c, codes.New(http.StatusBadRequest, codes.InvalidSNILS, "patient_snils: %v", err))
			return
		}
		f.PatientSNILS = n
	}
	var ok bool
	if f.Limit, ok = s.intParam(c, "limit", 0, 1, 500); !ok {
		return
	}
	for _, q := range []struct {
		name string
		dst  *time.Time
	}{{"since", &f.Since}, {"until", &f.Until}} {
		if v := c.Query(q.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				s.fail(c, codes.New(http.StatusBadRequest, codes.BadRequest, "%s must be RFC 3339, e.g. 2026-11-25T10:00:00Z", q.name))
				return
			}
			*q.dst = t
		}
	}
	page, err := s.Store.ListDocuments(c.Request.Context(), f)
	if errors.Is(err, store.ErrBadCursor) {
		s.fail(c, codes.New(http.StatusBadRequest, codes.BadRequest, "cursor was not issued by this hub"))
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, page)
}

// validKind accepts an absent kind or a НСИ 1520 code: 1 to 10 digits.
func validKind(k string) bool {
	if len(k) > 10 {
		return false
	}
	for _, r := range k {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

type idCheck struct {
	Input      string `json:"input"`
	Valid      bool   `json:"valid"`
	Normalized string `json:"normalized,omitempty"`
	Formatted  string `json:"formatted,omitempty"`
	Reason     string `json:"reason,omitempty"`
	Message    string `json:"message,omitempty"`
}

func explain(in string, err error) idCheck {
	out := idCheck{Input: in}
	var e *ids.Error
	if errors.As(err, &e) {
		out.Reason, out.Message = e.Reason, e.Detail
	}
	return out
}

// enrichSNILS tells whether a СНИЛС is valid, why not, and its normal form.
func (s *Server) enrichSNILS(c *gin.Context) {
	in := c.Param("snils")
	n, err := ids.ValidateSNILS(in)
	if err != nil {
		c.JSON(http.StatusOK, explain(in, err))
		return
	}
	c.JSON(http.StatusOK, idCheck{Input: in, Valid: true, Normalized: n, Formatted: ids.FormatSNILS(n)})
}

// enrichENP does the same for an ЕНП.
func (s *Server) enrichENP(c *gin.Context) {
	in := c.Param("enp")
	n, err := ids.ValidateENP(in)
	if err != nil {
		c.JSON(http.StatusOK, explain(in, err))
		return
	}
	c.JSON(http.StatusOK, idCheck{Input: in, Valid: true, Normalized: n})
}

func (s *Server) listSystems(c *gin.Context) {
	list, err := s.Store.ListSystems(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	if list == nil {
		list = []store.SystemWithOrg{}
	}
	c.JSON(http.StatusOK, gin.H{"items": list})
}

type registerRequest struct {
	OrganizationOID  string `json:"organization_oid"`
	OrganizationName string `json:"organization_name"`
	SystemName       string `json:"system_name"`
	OrganizationOGRN string `json:"organization_ogrn"` // optional: matched against the organisation's signature when a custodian carries no ОГРН
}

// registerSystem lets an operator connect a new МИС; the key is shown once.
func (s *Server) registerSystem(c *gin.Context) {
	var req registerRequest
	if !s.decodeJSON(c, &req) {
		return
	}
	if _, ok := ids.RegionFromMOOID(req.OrganizationOID); !ok {
		s.fail(c, codes.New(http.StatusUnprocessableEntity, codes.InvalidOID, "organization_oid %q must be a ФРМО OID %s<region>.<n>", req.OrganizationOID, ids.MOOIDPrefix))
		return
	}
	if req.OrganizationName == "" || req.SystemName == "" {
		s.fail(c, codes.New(http.StatusBadRequest, codes.BadRequest, "organization_name and system_name are required"))
		return
	}
	if req.OrganizationOGRN != "" && ids.ValidateOrgOGRN(req.OrganizationOGRN) != nil {
		s.fail(c, codes.Unprocessable(codes.InvalidOGRN, "organization_ogrn: %v", ids.ValidateOrgOGRN(req.OrganizationOGRN)))
		return
	}
	reg, err := s.Store.RegisterSystemAs(c.Request.Context(), store.ActorOf(principalOf(c)), req.OrganizationOID, req.OrganizationName, req.OrganizationOGRN, req.SystemName)
	if errors.Is(err, store.ErrDuplicate) || errors.Is(err, store.ErrOGRNConflict) {
		s.fail(c, codes.New(http.StatusConflict, codes.BadRequest, "%v", err))
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, reg)
}
