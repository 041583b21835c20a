package api

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/store"
)

// keyRoutes registers the operators' key management and audit endpoints.
// Every change is written to the audit log in its own transaction, with
// the operator's key as the actor.
func (s *Server) keyRoutes(ops *gin.RouterGroup) {
	ops.GET("/systems/:id/keys", s.listSystemKeys)
	ops.POST("/systems/:id/keys", s.issueKey)
	ops.GET("/keys", s.listOperatorKeys)
	ops.DELETE("/keys/:id", s.revokeKey)
	ops.POST("/keys/:id/revoke", s.revokeKey)
	ops.POST("/keys/:id/rotate", s.rotateKey)
	ops.GET("/audit", s.listAudit)
}

func (s *Server) keyFail(c *gin.Context, err error, what string) {
	switch {
	case errors.Is(err, store.ErrNotFound):
		s.fail(c, codes.New(http.StatusNotFound, codes.NotFound, "no %s %s", what, c.Param("id")))
	case errors.Is(err, store.ErrKeyRevoked):
		s.fail(c, codes.New(http.StatusConflict, codes.BadRequest, "key %s is revoked or already rotated; issue a new one instead", c.Param("id")))
	default:
		s.fail(c, err)
	}
}

func (s *Server) listSystemKeys(c *gin.Context) {
	id, ok := s.pathID(c, "system")
	if !ok {
		return
	}
	keys, err := s.Store.ListKeys(c.Request.Context(), &id)
	if err != nil {
		s.keyFail(c, err, "system")
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": keys})
}

func (s *Server) listOperatorKeys(c *gin.Context) {
	keys, err := s.Store.ListKeys(c.Request.Context(), nil)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": keys})
}

// decodeOptional decodes a JSON body if there is one: these endpoints take
// an empty POST as "defaults".
func (s *Server) decodeOptional(c *gin.Context, v any) bool {
	if c.Request.ContentLength == 0 {
		return true
	}
	return s.decodeJSON(c, v)
}

type issueKeyRequest struct {
	Name string `json:"name"`
}

// issueKey makes a further key for a system, shown once.
func (s *Server) issueKey(c *gin.Context) {
	id, ok := s.pathID(c, "system")
	if !ok {
		return
	}
	var req issueKeyRequest
	if !s.decodeOptional(c, &req) {
		return
	}
	k, err := s.Store.IssueKey(c.Request.Context(), store.ActorOf(principalOf(c)), id, req.Name)
	if err != nil {
		s.keyFail(c, err, "system")
		return
	}
	c.JSON(http.StatusCreated, k)
}

// revokeKey revokes a key at once: its next request gets 401.
func (s *Server) revokeKey(c *gin.Context) {
	id, ok := s.pathID(c, "key")
	if !ok {
		return
	}
	k, err := s.Store.RevokeKey(c.Request.Context(), store.ActorOf(principalOf(c)), id)
	if err != nil {
		s.keyFail(c, err, "key")
		return
	}
	c.JSON(http.StatusOK, k)
}

type rotateKeyRequest struct {
	// Overlap keeps the old key working this long (Go duration, ≤ 168h) so
	// the МИС can deploy the new one first; default 0: revoked at once.
	Overlap string `json:"overlap"`
}

// rotateKey issues a replacement for a key and revokes the old one, at
// once or after the overlap.
func (s *Server) rotateKey(c *gin.Context) {
	id, ok := s.pathID(c, "key")
	if !ok {
		return
	}
	var req rotateKeyRequest
	if !s.decodeOptional(c, &req) {
		return
	}
	var overlap time.Duration
	if req.Overlap != "" {
		d, err := time.ParseDuration(req.Overlap)
		if err != nil || d < 0 || d > store.MaxKeyOverlap {
			s.fail(c, codes.New(http.StatusBadRequest, codes.BadRequest, "overlap must be a duration from 0s to %s, like 1h", store.MaxKeyOverlap))
			return
		}
		overlap = d
	}
	r, err := s.Store.RotateKey(c.Request.Context(), store.ActorOf(principalOf(c)), id, overlap)
	if err != nil {
		s.keyFail(c, err, "key")
		return
	}
	c.JSON(http.StatusCreated, r)
}

// listAudit shows the audit log, newest first: ?system_id=, ?limit= (≤ 500),
// ?before= (the next_cursor of the previous page).
func (s *Server) listAudit(c *gin.Context) {
	limit, ok := s.intParam(c, "limit", 100, 1, 500)
	if !ok {
		return
	}
	var before int64
	if v := c.Query("before"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			s.fail(c, codes.New(http.StatusBadRequest, codes.BadRequest, "before must be a next_cursor from this endpoint"))
			return
		}
		before = n
	}
	var sys uuid.UUID
	if v := c.Query("system_id"); v != "" {
		id, err := uuid.Parse(v)
		if err != nil {
			s.fail(c, codes.New(http.StatusBadRequest, codes.BadRequest, "system_id must be a system's id"))
			return
		}
		sys = id
	}
	items, next, err := s.Store.ListAudit(c.Request.Context(), sys, before, limit)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := gin.H{"items": items}
	if next != 0 {
		out["next_cursor"] = strconv.FormatInt(next, 10)
	}
	c.JSON(http.StatusOK, out)
}
