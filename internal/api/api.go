// Package api is the hub's HTTP API on gin: routing, request ids,
// structured request logs, authentication of information systems and
// operators, body limits, and one JSON error shape:
//
//	{"code": "NO_SNILS", "message": "...", "details": [...], "request_id": "..."}
//
// Handlers stay thin: they decode, call a service (intake, store) and encode.
package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/dbavail"
	"github.com/emdhub/hub/internal/intake"
	"github.com/emdhub/hub/internal/kinds"
	"github.com/emdhub/hub/internal/stats"
	"github.com/emdhub/hub/internal/store"
	"github.com/emdhub/hub/workflow"
)

// Server holds what the handlers need.
type Server struct {
	Store          *store.Store
	Pool           *pgxpool.Pool
	Intake         *intake.Service
	Log            *slog.Logger
	Workflow       *workflow.Engine
	WorkerOnly     bool // serve health endpoints only
	MaxBodyBytes   int64
	RequestTimeout time.Duration
	Kinds          *kinds.Registry // operators' kind bundles (kinds.go); nil: routes answer 404
	// RiverUI is River's web UI, served to operators at /riverui/
	// (riverui.go); nil: not mounted.
	RiverUI http.Handler
	// Session resolves the console's session cookie to its operator (nil,
	// nil: no session), for pages an operator opens in a browser, where no
	// bearer key can be sent; nil: bearer keys only.
	Session func(c *gin.Context) (*store.Principal, error)
	Stats   *stats.Service // the dashboards' figures (stats.go); nil: not served
	Console http.Handler   // the operator console under /console/; nil: not served
	// Enrichment answers ЕНП and policy by СНИЛС and back (enrichment.go); nil: 503.
	Enrichment *Enrichment
}

func init() { gin.SetMode(gin.ReleaseMode) }

// Handler builds the router.
func (s *Server) Handler() http.Handler {
	r := gin.New()
	r.HandleMethodNotAllowed = true // 405 with Allow, set by gin before NoMethod runs
	// No redirects: gin answers them as text/HTML, and a client that
	// mistyped a path should get the JSON error, not a different URL.
	r.RedirectTrailingSlash = false
	r.RedirectFixedPath = false
	_ = r.SetTrustedProxies(nil)
	r.Use(s.requestID, s.logRequests, s.recover, s.limitBody, s.timeout, s.checkParams)
	r.NoRoute(func(c *gin.Context) {
		s.fail(c, codes.New(http.StatusNotFound, codes.NotFound, "no route %s %s", c.Request.Method, c.Request.URL.EscapedPath()))
	})
	r.NoMethod(func(c *gin.Context) {
		s.fail(c, codes.New(http.StatusMethodNotAllowed, codes.MethodNotAllowed, "method %s not allowed on %s; allowed: %s",
			c.Request.Method, c.Request.URL.EscapedPath(), c.Writer.Header().Get("Allow")))
	})

	r.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	r.GET("/readyz", s.ready)
	if s.WorkerOnly {
		return r
	}
	r.GET("/openapi.yaml", s.openAPI)
	s.riverUIRoutes(r)

	if s.Console != nil {
		r.Any("/console/*path", gin.WrapH(s.Console))
		r.GET("/console", func(c *gin.Context) { c.Redirect(http.StatusSeeOther, "/console/") })
	}
	v1 := r.Group("/api/v1", s.authenticate)
	v1.GET("/me", s.me)
	v1.GET("/enrichment/snils/:snils", s.enrichSNILS)
	v1.GET("/enrichment/enp/:enp", s.enrichENP)
	v1.POST("/enrichment/snils", s.policyBySNILS) // issue 15 (enrichment.go)
	v1.POST("/enrichment/enp", s.policyByENP)
	v1.GET("/documents", s.listDocuments)
	v1.GET("/documents/:id", s.getDocument)
	v1.GET("/documents/:id/content", s.getDocumentContent)
	v1.POST("/documents", requireRole(store.RoleMIS), s.submitDocument)

	v1.GET("/documents/:id/deliveries", s.documentDeliveries)
	v1.GET("/mse/referrals/:id", s.getReferral())
	v1.GET("/mse/referrals/:id/result", s.getReferralResult())
	v1.POST("/mse/referrals/:id/refetch", s.refetchReferral())
	v1.GET("/mse/results", s.resultsFeed)
	s.callbackRoutes(v1)
	v1.GET("/certificates/expiring", s.expiringCertificates)
	s.statsRoutes(v1)

	ops := v1.Group("/ops", requireRole(store.RoleOperator))
	ops.GET("/systems", s.listSystems)
	ops.POST("/systems", s.registerSystem)
	ops.GET("/troubles", s.troubles)
	ops.POST("/deliveries/:id/replay", s.replayDelivery)
	ops.GET("/mse/unmatched-results", s.unmatchedResults)
	s.keyRoutes(ops)
	s.kindRoutes(ops)
	return r
}

func (s *Server) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	if err := s.Pool.Ping(ctx); err != nil {
		// Logged as a database-unavailable record, so the throttled log
		// says it once per interval however often the probe runs.
		s.Log.Warn("readiness: database unavailable", slog.Any("error", err), slog.String("error_code", codes.DBUnavailable))
		s.fail(c, dbUnavailable())
		return
	}
	c.JSON(http.StatusOK, gin.H{"status": "ready"})
}

func dbUnavailable() *codes.Error {
	return codes.New(http.StatusServiceUnavailable, codes.DBUnavailable,
		"the database is unavailable (restarting or unreachable); retry in a few seconds")
}

// fail writes err as the JSON error shape. Errors that are not *codes.Error
// are classified: the database being unavailable is 503 DB_UNAVAILABLE
// (logged at warn, throttled by the handler app installs), the request
// running out of HUB_REQUEST_TIMEOUT or cancelled with the client's
// connection is 503 UNAVAILABLE, anything else is
// internal: logged with the request id, answered without internals.
func (s *Server) fail(c *gin.Context, err error) {
	var e *codes.Error
	if !errors.As(err, &e) {
		switch {
		case dbavail.Unavailable(err):
			s.Log.Warn("database unavailable", slog.String("request_id", requestIDOf(c)), slog.Any("error", err))
			e = dbUnavailable()
		case errors.Is(err, context.DeadlineExceeded) && errors.Is(c.Request.Context().Err(), context.DeadlineExceeded):
			e = codes.New(http.StatusServiceUnavailable, codes.Unavailable, "the request took longer than HUB_REQUEST_TIMEOUT (%s); retry later", s.RequestTimeout)
		case errors.Is(err, context.Canceled) && c.Request.Context().Err() != nil:
			// The client went away (or its connection failed): nobody reads
			// this answer, and it is no fault of the hub.
			e = codes.New(http.StatusServiceUnavailable, codes.Unavailable, "the request was cancelled: the client's connection ended")
		default:
			s.Log.Error("request failed", slog.String("request_id", requestIDOf(c)), slog.Any("error", err))
			e = codes.New(http.StatusInternalServerError, codes.InternalError, "internal error; quote request id %s to support", requestIDOf(c))
		}
	}
	if e.Status == http.StatusServiceUnavailable {
		c.Header("Retry-After", strconv.Itoa(dbavail.RetryAfterSeconds))
	}
	c.Set(ctxErrorCode, e.Code)
	body := gin.H{"code": e.Code, "message": e.Message, "request_id": requestIDOf(c)}
	if e.Details != nil {
		body["details"] = e.Details
	}
	if e.Status == http.StatusUnauthorized {
		c.Header("WWW-Authenticate", `Bearer realm="hub"`)
	}
	c.AbortWithStatusJSON(e.Status, body)
}
