package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/store"
)

// expiringCertificates answers GET /api/v1/certificates/expiring?days=N:
// signer certificates seen in the hub's documents that stop being valid
// within N days (default 30), soonest first, per organisation and system,
// with how much unsent work each still signs. Operators see every
// organisation; a МИС sees its own organisation's. A certificate renewed in
// time is a delivery the gate never has to stop.
func (s *Server) expiringCertificates(c *gin.Context) {
	days := 30
	if v := c.Query("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 3650 {
			s.fail(c, codes.New(http.StatusBadRequest, codes.BadRequest, "days must be a whole number from 1 to 3650"))
			return
		}
		days = n
	}
	limit := 500
	if v := c.Query("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 5000 {
			s.fail(c, codes.New(http.StatusBadRequest, codes.BadRequest, "limit must be from 1 to 5000"))
			return
		}
		limit = n
	}
	p := principalOf(c)
	org := uuid.Nil
	if p.Role != store.RoleOperator {
		org = p.OrgID
	}
	now := time.Now().UTC()
	items, err := s.Store.ExpiringCertificates(c.Request.Context(), org, now, time.Duration(days)*24*time.Hour, limit)
	if err != nil {
		s.fail(c, err)
		return
	}
	if items == nil {
		items = []store.ExpiringCertificate{}
	}
	c.JSON(http.StatusOK, gin.H{"as_of": now, "days": days, "count": len(items), "items": items})
}
