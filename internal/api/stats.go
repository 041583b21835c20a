package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/stats"
	"github.com/emdhub/hub/internal/store"
)

// statsRoutes are the dashboards' data under /api/v1/ops/stats. Operators
// see everything; an information system's key is let in too, and sees its
// own organisation only (its filters are narrowed to it, asking for
// another organisation is 403). The deliveries view is operators' only:
// the hub's calls to its peers belong to no one organisation.
func (s *Server) statsRoutes(v1 *gin.RouterGroup) {
	if s.Stats == nil {
		return
	}
	g := v1.Group("/ops/stats")
	g.GET("/registration", s.statsRegistration)
	g.GET("/refusals", s.statsRefusals)
	g.GET("/deliveries", requireRole(store.RoleOperator), s.statsDeliveries)
}

// statsFilter reads the filters and narrows them to what the caller may see.
func (s *Server) statsFilter(c *gin.Context) (stats.Filter, bool) {
	f, err := stats.ParseFilter(c.Request.URL.Query(), time.Now())
	if err != nil {
		s.fail(c, err)
		return f, false
	}
	if p := principalOf(c); p.Role != store.RoleOperator {
		if f.OrgOID != "" && f.OrgOID != p.OrgOID {
			s.fail(c, codes.New(http.StatusForbidden, codes.Forbidden, "an information system sees its own organisation's figures only"))
			return f, false
		}
		f.OrgOID, f.OrgID = p.OrgOID, p.OrgID
		return f, true
	}
	if err := s.Stats.ResolveOrg(c.Request.Context(), &f); err != nil {
		s.fail(c, err)
		return f, false
	}
	return f, true
}

func (s *Server) statsRegistration(c *gin.Context) {
	f, ok := s.statsFilter(c)
	if !ok {
		return
	}
	r, err := s.Stats.Registration(c.Request.Context(), f)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

// rankingBy reads the ranking's key: region (default) or system.
func rankingBy(c *gin.Context) (string, error) {
	switch by := c.DefaultQuery("by", stats.ByRegionKey); by {
	case stats.ByRegionKey, stats.BySystemKey:
		return by, nil
	default:
		return "", codes.New(http.StatusBadRequest, codes.BadRequest, "by=%q: want region or system", by)
	}
}

func (s *Server) statsRefusals(c *gin.Context) {
	f, ok := s.statsFilter(c)
	if !ok {
		return
	}
	by, err := rankingBy(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	r, err := s.Stats.Refusals(c.Request.Context(), f, by)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

func (s *Server) statsDeliveries(c *gin.Context) {
	f, ok := s.statsFilter(c)
	if !ok {
		return
	}
	var breaker func(string) string
	if s.Workflow != nil {
		breaker = s.Workflow.BreakerState
	}
	r, err := s.Stats.Deliveries(c.Request.Context(), f, breaker)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}
