package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/emdhub/hub/internal/store"
)

// expiringCertificates answers GET /api/v1/certificates/expiring?days=N:
// signer certificates seen in the hub's documents that stop being valid
// within N days (default 30), soonest first, per organisation and system,
// with how much unsent work each still signs. Operators see every
// organisation; a МИС sees its own organisation's. A certificate renewed in
// time is a delivery the gate never has to stop.
func (s *Server) expiringCertificates(c *gin.Context) {
	days, ok := s.intParam(c, "days", 30, 1, 3650)
	if !ok {
		return
	}
	limit, ok := s.intParam(c, "limit", 500, 1, 5000)
	if !ok {
		return
	}
	org := orgScope(principalOf(c))
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
