package api

import (
	"errors"
	"io"
	"mime"
	"net/http"
	"os"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/kinds"
	"github.com/emdhub/hub/internal/store"
)

// kindRoutes registers the operators' run-time kinds (internal/kinds):
// upload a bundle as a kind's next version, list versions, activate one,
// roll back. Every change is audited with the operator's key as the actor
// and reaches every hub process through NOTIFY hub_kinds.
func (s *Server) kindRoutes(ops *gin.RouterGroup) {
	// The routes are always there (the OpenAPI test reads the router); a
	// server built without a registry answers them 404.
	g := ops.Group("/kinds", func(c *gin.Context) {
		if s.Kinds == nil {
			s.fail(c, codes.New(http.StatusNotFound, codes.ObjectNotFound, "run-time kinds are not configured on this server"))
			c.Abort()
		}
	})
	g.GET("", s.listKinds)
	g.GET("/:kind", s.listKinds)
	g.POST("/:kind", s.uploadKind)
	g.POST("/:kind/versions/:version/activate", s.activateKind)
	g.POST("/:kind/rollback", s.rollbackKind)
}

// kindInForce is what this process enforces for a kind.
type kindInForce struct {
	Kind    string `json:"kind"`
	Version int    `json:"version"` // 0: what the hub started with (bundled or HUB_SCHEMATRON_DIR)
	Rules   int    `json:"rules"`
	Asserts int    `json:"asserts"`
	Reports int    `json:"reports"`
	XSD     bool   `json:"xsd"`
	Books   int    `json:"book_settings"`
}

func inForce(set *kinds.Set) *kindInForce {
	if set == nil {
		return nil
	}
	return &kindInForce{Kind: set.Kind, Version: set.Version, Rules: set.Schematron.Rules, Asserts: set.Schematron.Asserts,
		Reports: set.Schematron.Reports, XSD: set.XSD != nil, Books: len(set.Books)}
}

// listKinds: every kind (or one) — what this process enforces and every
// stored bundle version, newest first.
func (s *Server) listKinds(c *gin.Context) {
	kind := c.Param("kind")
	versions, err := s.Kinds.List(c.Request.Context(), kind)
	if err != nil {
		s.fail(c, err)
		return
	}
	if versions == nil {
		versions = []kinds.Version{}
	}
	if kind != "" {
		c.JSON(http.StatusOK, gin.H{"kind": kind, "in_force": inForce(s.Kinds.Lookup(kind)), "versions": versions})
		return
	}
	sets := s.Kinds.InForce()
	force := make([]*kindInForce, len(sets))
	for i, set := range sets {
		force[i] = inForce(set)
	}
	c.JSON(http.StatusOK, gin.H{"in_force": force, "versions": versions})
}

// uploadKind takes a bundle zip as the body (Content-Type application/zip
// or application/octet-stream; at most kinds.Limits.MaxZipBytes), with
// ?activate=false to store it without putting it in force and ?note=… for
// the record. 201 with the new version; refusals store nothing.
func (s *Server) uploadKind(c *gin.Context) {
	kind := c.Param("kind")
	activate := true
	if v := c.Query("activate"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			s.fail(c, codes.New(http.StatusBadRequest, codes.BadRequest, "activate must be true or false"))
			return
		}
		activate = b
	}
	note := c.Query("note")
	if len(note) > 1000 {
		s.fail(c, codes.New(http.StatusBadRequest, codes.BadRequest, "note is longer than 1000 bytes"))
		return
	}
	if mt, _, err := mime.ParseMediaType(c.GetHeader("Content-Type")); err != nil || (mt != "application/zip" && mt != "application/octet-stream") {
		s.fail(c, codes.New(http.StatusUnsupportedMediaType, codes.UnsupportedMedia, "send the bundle zip as the body with Content-Type: application/zip"))
		return
	}
	limit := s.Kinds.Limits.MaxZipBytes
	tooBig := codes.New(http.StatusRequestEntityTooLarge, codes.KindBundleTooLarge, "kind bundle refused: the zip is over %d bytes", limit)
	if c.Request.ContentLength > limit {
		s.fail(c, tooBig)
		return
	}
	zb, err := io.ReadAll(io.LimitReader(c.Request.Body, limit+1))
	switch {
	case err == nil:
	case isTooLarge(err):
		s.fail(c, tooLarge(s.MaxBodyBytes))
		return
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.fail(c, codes.New(http.StatusRequestTimeout, codes.BadRequest, "request body not received in time (HUB_READ_TIMEOUT)"))
		return
	default:
		s.fail(c, codes.New(http.StatusBadRequest, codes.BadRequest, "request body unreadable: %v", err))
		return
	}
	if int64(len(zb)) > limit {
		s.fail(c, tooBig)
		return
	}
	v, err := s.Kinds.Upload(c.Request.Context(), store.ActorOf(principalOf(c)), kind, zb, note, activate)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"version": v, "in_force": inForce(s.Kinds.Lookup(kind))})
}

func (s *Server) activateKind(c *gin.Context) {
	kind := c.Param("kind")
	n, err := strconv.Atoi(c.Param("version"))
	if err != nil || n <= 0 {
		s.fail(c, codes.New(http.StatusNotFound, codes.NotFound, "kind %s has no bundle version %q", kind, c.Param("version")))
		return
	}
	v, err := s.Kinds.Activate(c.Request.Context(), store.ActorOf(principalOf(c)), kind, n)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"version": v, "in_force": inForce(s.Kinds.Lookup(kind))})
}

// rollbackKind activates the version before the active one; from a kind's
// first version, back to what the hub started with ("version": null).
func (s *Server) rollbackKind(c *gin.Context) {
	kind := c.Param("kind")
	v, err := s.Kinds.Rollback(c.Request.Context(), store.ActorOf(principalOf(c)), kind)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"version": v, "in_force": inForce(s.Kinds.Lookup(kind))})
}
