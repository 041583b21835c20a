package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
	"riverqueue.com/riverui"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/store"
)

// RiverUIPrefix is where River's web UI (jobs, queues, retries) is
// mounted for operators.
const RiverUIPrefix = "/riverui"

// NewRiverUI builds River's UI over the hub's River client. It must be
// started (Start) before it serves: its queue and job counts are cached
// by background services that run until the context ends.
func NewRiverUI(client *river.Client[pgx.Tx], log *slog.Logger) (*riverui.Handler, error) {
	h, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(client, nil),
		Logger:    log,
		Prefix:    RiverUIPrefix,
		// Job arguments hold ids, not patients' data, but the list stays
		// compact and nothing personal is shown by default.
		JobListHideArgsByDefault: true,
	})
	if err != nil {
		return nil, fmt.Errorf("api: river ui: %w", err)
	}
	return h, nil
}

// riverUIRoutes mounts s.RiverUI under /riverui/ for operators only.
// The methods are the ones River UI's pages and API use.
func (s *Server) riverUIRoutes(r *gin.Engine) {
	if s.RiverUI == nil {
		return
	}
	h := gin.WrapH(s.RiverUI)
	r.GET(RiverUIPrefix, s.operatorOnly, func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, RiverUIPrefix+"/") })
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch} {
		r.Handle(m, RiverUIPrefix+"/*path", s.operatorOnly, h)
	}
}

// operatorOnly lets operators through, by an operator key
// ("Authorization: Bearer …") or by the console's session (s.Session),
// and answers everyone else 401 — a МИС key too: to River UI a caller
// who is not an operator is nobody, and the browser is asked to sign in.
func (s *Server) operatorOnly(c *gin.Context) {
	p, err := s.operatorOf(c)
	if err != nil {
		s.fail(c, err)
		return
	}
	if p == nil || p.Role != store.RoleOperator {
		s.fail(c, codes.New(http.StatusUnauthorized, codes.Unauthenticated,
			"River UI is for operators: send an operator key as 'Authorization: Bearer <key>' or sign in to the console"))
		return
	}
	c.Set(ctxPrincipal, p)
	c.Next()
}

// operatorOf is the caller by bearer key, else by console session; nil
// when neither names anyone.
func (s *Server) operatorOf(c *gin.Context) (*store.Principal, error) {
	if key, ok := strings.CutPrefix(c.GetHeader("Authorization"), "Bearer "); ok && strings.TrimSpace(key) != "" {
		p, err := s.Store.Authenticate(c.Request.Context(), strings.TrimSpace(key))
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		return p, err
	}
	if s.Session != nil {
		return s.Session(c)
	}
	return nil, nil
}
