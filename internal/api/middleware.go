package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/store"
)

const (
	ctxRequestID = "request_id"
	ctxPrincipal = "principal"
	ctxErrorCode = "error_code"
	headerReqID  = "X-Request-ID"
)

func requestIDOf(c *gin.Context) string { return c.GetString(ctxRequestID) }

// validRequestID accepts a caller's id if it is short and plain, so it can be
// logged and echoed safely; otherwise the hub makes its own.
func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return false
		}
	}
	return true
}

func (s *Server) requestID(c *gin.Context) {
	id := c.GetHeader(headerReqID)
	if !validRequestID(id) {
		u, err := uuid.NewV7()
		if err != nil {
			u = uuid.New()
		}
		id = u.String()
	}
	c.Set(ctxRequestID, id)
	c.Header(headerReqID, id)
	c.Next()
}

func (s *Server) logRequests(c *gin.Context) {
	start := time.Now()
	c.Next()
	attrs := []slog.Attr{
		slog.String("request_id", requestIDOf(c)),
		slog.String("method", c.Request.Method),
		slog.String("route", c.FullPath()),
		slog.String("path", loggedPath(c)),
		slog.Int("status", c.Writer.Status()),
		slog.Duration("duration", time.Since(start)),
		slog.Int("bytes_out", c.Writer.Size()),
	}
	if p := principalOf(c); p != nil {
		attrs = append(attrs, slog.String("role", p.Role), slog.String("caller", p.Name))
		if p.OrgOID != "" {
			attrs = append(attrs, slog.String("org_oid", p.OrgOID))
		}
	}
	if code := c.GetString(ctxErrorCode); code != "" {
		attrs = append(attrs, slog.String("error_code", code))
	}
	// Refusals (4xx) are the door working as intended: info. Only the
	// hub's own failures (5xx) are errors an operator must look at.
	// The database being down is an outage of a dependency, not a fault
	// of the hub: warn (and the throttled handler summarises the flood).
	level := slog.LevelInfo
	if code := c.GetString(ctxErrorCode); code == codes.DBUnavailable || code == codes.Unavailable {
		level = slog.LevelWarn
	} else if c.Writer.Status() >= 500 {
		level = slog.LevelError
	}
	s.Log.LogAttrs(c.Request.Context(), level, "http request", attrs...)
}

// personalParams are route parameters that carry a patient's identifiers
// (СНИЛС, ЕНП): never logged.
var personalParams = map[string]bool{"snils": true, "enp": true}

// loggedPath is the request path as the request log may show it: the route
// template with its parameters filled in, except personal ones, which are
// masked. A path that matched no route is logged with every digit masked,
// since nothing tells what its segments are. Query strings are never logged
// (patient_snils travels there).
func loggedPath(c *gin.Context) string {
	route := c.FullPath()
	if route == "" {
		return strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return '*'
			}
			return r
		}, c.Request.URL.Path)
	}
	segs := strings.Split(route, "/")
	for i, seg := range segs {
		if len(seg) > 1 && (seg[0] == ':' || seg[0] == '*') {
			if personalParams[seg[1:]] {
				segs[i] = "***"
			} else {
				segs[i] = c.Param(seg[1:])
			}
		}
	}
	return strings.Join(segs, "/")
}

// checkParams refuses query strings and path parameters no handler should
// have to think about: malformed percent-encoding, invalid UTF-8, NUL and
// other control characters. PostgreSQL cannot store NUL or invalid UTF-8 in
// text, so letting them through turns a bad request into a 500.
func (s *Server) checkParams(c *gin.Context) {
	q, err := url.ParseQuery(c.Request.URL.RawQuery)
	if err != nil {
		s.fail(c, codes.New(http.StatusBadRequest, codes.BadRequest, "query string is malformed: %v", err))
		return
	}
	for name, vals := range q {
		if !cleanText(name) {
			s.fail(c, codes.New(http.StatusBadRequest, codes.BadRequest, "a query parameter name is not valid UTF-8 text without control characters"))
			return
		}
		for _, v := range vals {
			if !cleanText(v) {
				s.fail(c, codes.New(http.StatusBadRequest, codes.BadRequest, "query parameter %s is not valid UTF-8 text without control characters", name))
				return
			}
		}
	}
	for _, p := range c.Params {
		if !cleanText(p.Value) {
			s.fail(c, codes.New(http.StatusBadRequest, codes.BadRequest, "path parameter %s is not valid UTF-8 text without control characters", p.Key))
			return
		}
	}
	c.Next()
}

// cleanText is valid UTF-8 without C0/C1 control characters or DEL.
func cleanText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r >= 0x7f && r < 0xa0 {
			return false
		}
	}
	return true
}

func (s *Server) recover(c *gin.Context) {
	defer func() {
		if r := recover(); r != nil {
			if r == http.ErrAbortHandler {
				panic(r)
			}
			s.fail(c, fmt.Errorf("panic: %v", r))
		}
	}()
	c.Next()
}

// limitBody refuses declared oversize bodies at once and caps the rest.
func (s *Server) limitBody(c *gin.Context) {
	if c.Request.ContentLength > s.MaxBodyBytes {
		s.fail(c, tooLarge(s.MaxBodyBytes))
		return
	}
	if c.Request.Body != nil {
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, s.MaxBodyBytes)
	}
	c.Next()
}

func tooLarge(limit int64) *codes.Error {
	return codes.New(http.StatusRequestEntityTooLarge, codes.BodyTooLarge, "request body exceeds %d bytes (HUB_MAX_BODY_BYTES)", limit)
}

func isTooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

func (s *Server) timeout(c *gin.Context) {
	if s.RequestTimeout <= 0 {
		c.Next()
		return
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), s.RequestTimeout)
	defer cancel()
	c.Request = c.Request.WithContext(ctx)
	c.Next()
}

// authenticate resolves "Authorization: Bearer <key>" to a principal.
func (s *Server) authenticate(c *gin.Context) {
	h := c.GetHeader("Authorization")
	key, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || strings.TrimSpace(key) == "" {
		s.fail(c, codes.New(http.StatusUnauthorized, codes.Unauthenticated, "send the information system's API key as 'Authorization: Bearer <key>'"))
		return
	}
	p, err := s.Store.Authenticate(c.Request.Context(), strings.TrimSpace(key))
	if errors.Is(err, store.ErrNotFound) {
		s.fail(c, codes.New(http.StatusUnauthorized, codes.Unauthenticated, "unknown or revoked API key"))
		return
	}
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Set(ctxPrincipal, p)
	c.Next()
}

func principalOf(c *gin.Context) *store.Principal {
	v, ok := c.Get(ctxPrincipal)
	if !ok {
		return nil
	}
	p, _ := v.(*store.Principal)
	return p
}

func requireRole(role string) gin.HandlerFunc {
	return func(c *gin.Context) {
		if p := principalOf(c); p == nil || p.Role != role {
			c.Set(ctxErrorCode, codes.Forbidden)
			c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"code": codes.Forbidden,
				"message": fmt.Sprintf("this endpoint needs a %s key", role), "request_id": requestIDOf(c)})
			return
		}
		c.Next()
	}
}
