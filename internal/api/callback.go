package api

import (
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/netguard"
	"github.com/emdhub/hub/internal/store"
	"github.com/emdhub/hub/workflow"
)

// callbackRoutes registers a МИС's own callback endpoints.
func (s *Server) callbackRoutes(v1 *gin.RouterGroup) {
	mis := requireRole(store.RoleMIS)
	v1.PUT("/me/callback", mis, s.setCallback)
	v1.GET("/me/callback", mis, s.getCallback)
	v1.POST("/me/callback/secret", mis, s.rotateCallbackSecret)
}

const signatureHelp = "hex HMAC-SHA256(secret, X-Hub-Timestamp + \".\" + body) in " + workflow.SignatureHeader +
	"; during a secret rotation also with the previous secret in " + workflow.PreviousSignatureHeader

type callbackRequest struct {
	URL string `json:"url"`
}

// setCallback sets (or clears, with "") the caller's callback URL. The URL
// must pass the callback address policy (netguard: https, ≤ 2,048 bytes, no
// credentials, no loopback/private/link-local/... address, literal or
// resolved, outside the operator's allow-list), else 400
// CALLBACK_URL_FORBIDDEN and nothing changes. The first URL comes with the
// HMAC secret, shown once; later ones keep it (rotate it with
// POST /me/callback/secret).
func (s *Server) setCallback(c *gin.Context) {
	var req callbackRequest
	if !s.decodeJSON(c, &req) {
		return
	}
	if req.URL != "" {
		if _, err := s.Workflow.CallbackPolicy().CheckURL(c.Request.Context(), req.URL); err != nil {
			var ne *netguard.Error
			if errors.As(err, &ne) {
				s.fail(c, codes.New(http.StatusBadRequest, codes.CallbackURLForbidden, "%s", ne.Reason))
				return
			}
			s.fail(c, err)
			return
		}
	}
	p := principalOf(c)
	secret, err := s.Store.SetCallback(c.Request.Context(), store.ActorOf(p), p.SystemID, req.URL)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := gin.H{"url": req.URL, "secret_issued": secret != nil, "signature": signatureHelp}
	if secret != nil {
		out["secret"] = secret // base64 in JSON; the HMAC key is the decoded bytes
	}
	c.JSON(http.StatusOK, out)
}

// rotateCallbackSecret issues a new callback secret (shown once); the
// previous one keeps signing, as a second signature, for
// store.CallbackSecretGrace.
func (s *Server) rotateCallbackSecret(c *gin.Context) {
	p := principalOf(c)
	secret, until, err := s.Store.RotateCallbackSecret(c.Request.Context(), store.ActorOf(p), p.SystemID, store.CallbackSecretGrace)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"secret": secret, "previous_secret_valid_until": until, "signature": signatureHelp})
}

// callbackDelivery is one recent notification and how its delivery went;
// last_error is a category (timeout, refused, tls, dns, connection,
// http_<status>, forbidden_address, forbidden_url), never raw network text.
type callbackDelivery struct {
	ID          string     `json:"id"`
	Event       string     `json:"event"`
	CreatedAt   time.Time  `json:"created_at"`
	DeliveredAt *time.Time `json:"delivered_at"`
	Attempts    int        `json:"attempts"`
	LastError   *string    `json:"last_error"`
}

// getCallback shows the caller's callback settings and its 20 most recent
// notifications with their delivery state.
func (s *Server) getCallback(c *gin.Context) {
	p := principalOf(c)
	ctx := c.Request.Context()
	cb, err := s.Store.CallbackOf(ctx, p.SystemID)
	if err != nil {
		s.fail(c, err)
		return
	}
	rows, err := s.Pool.Query(ctx, `SELECT id::text, event, created_at, delivered_at, attempts, last_error
		FROM notifications WHERE system_id = $1 ORDER BY created_at DESC, id DESC LIMIT 20`, p.SystemID)
	if err != nil {
		s.fail(c, err)
		return
	}
	defer rows.Close()
	recent := []callbackDelivery{}
	for rows.Next() {
		var d callbackDelivery
		if err := rows.Scan(&d.ID, &d.Event, &d.CreatedAt, &d.DeliveredAt, &d.Attempts, &d.LastError); err != nil {
			s.fail(c, err)
			return
		}
		recent = append(recent, d)
	}
	if err := rows.Err(); err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"url": cb.URL, "secret_issued": cb.SecretIssued,
		"previous_secret_valid_until": cb.PreviousSecretUntil, "recent": recent})
}
