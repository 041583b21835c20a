package api

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/emdhub/hub/adapters/policy"
	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/ids"
	"github.com/emdhub/hub/internal/soapx"
)

// Enrichment answers, for a СНИЛС, the person's ЕНП and ОМС policy from
// the policy registry (HUB_POLICY_URL), and for an ЕНП the same the other
// way (issue 15: "сервис обогащения"). The identifier travels in the
// request body, so it is in no URL and no request log; its checksum is
// checked before any call. Found answers are reused for the TTL under both
// identifiers; a not-found or a failure is not cached (a policy registered
// a minute later must be found, a registry back up must be asked).
type Enrichment struct {
	client *policy.Client
	ttl    time.Duration
	now    func() time.Time

	mu    sync.Mutex
	cache map[string]cachedPolicy // "snils:…" / "enp:…"
}

type cachedPolicy struct {
	p       policy.Policy
	expires time.Time
}

// maxCachedPolicies bounds the cache: past it, expired entries are dropped,
// and if none has expired the cache starts afresh.
const maxCachedPolicies = 100_000

// NewEnrichment returns the enrichment service of the registry at url.
func NewEnrichment(url string, o soapx.Options, ttl time.Duration) *Enrichment {
	return &Enrichment{client: policy.New(url, o), ttl: ttl, now: time.Now, cache: map[string]cachedPolicy{}}
}

// PolicyAnswer is what the enrichment API answers.
type PolicyAnswer struct {
	SNILS  string     `json:"snils"`
	ENP    string     `json:"enp"`
	Policy PolicyInfo `json:"policy"`
	// Cached: the answer was reused (within HUB_POLICY_CACHE_TTL), not asked now.
	Cached bool `json:"cached"`
}

// PolicyInfo is a person's ОМС policy.
type PolicyInfo struct {
	Insurer string `json:"insurer"`
	Active  bool   `json:"active"`
}

func (e *Enrichment) lookup(ctx context.Context, key string, find func(ctx context.Context, msgID string) (*policy.Policy, error)) (*PolicyAnswer, error) {
	now := e.now()
	e.mu.Lock()
	c, ok := e.cache[key]
	e.mu.Unlock()
	if ok && now.Before(c.expires) {
		return answer(&c.p, true), nil
	}
	p, err := find(ctx, uuid.NewString())
	if err != nil {
		var se *soapx.Error
		if errors.As(err, &se) && se.Code == "NOT_FOUND" {
			return nil, codes.New(http.StatusNotFound, codes.PolicyNotFound, "the ОМС policy registry knows no policy for this person")
		}
		if ctx.Err() != nil && !errors.As(err, &se) {
			return nil, err // the request itself ended: the API's own answer
		}
		code := "FAILED"
		if se != nil {
			code = se.Code
		}
		return nil, codes.New(http.StatusServiceUnavailable, codes.PolicyRegistryUnavailable, "the ОМС policy registry did not answer (%s); retry later", code)
	}
	e.mu.Lock()
	if len(e.cache) >= maxCachedPolicies {
		for k, v := range e.cache {
			if !now.Before(v.expires) {
				delete(e.cache, k)
			}
		}
		if len(e.cache) >= maxCachedPolicies {
			clear(e.cache)
		}
	}
	exp := cachedPolicy{p: *p, expires: now.Add(e.ttl)}
	e.cache["snils:"+p.SNILS], e.cache["enp:"+p.ENP] = exp, exp
	e.mu.Unlock()
	return answer(p, false), nil
}

func answer(p *policy.Policy, cached bool) *PolicyAnswer {
	return &PolicyAnswer{SNILS: p.SNILS, ENP: p.ENP, Policy: PolicyInfo{Insurer: p.InsurerName, Active: p.Active}, Cached: cached}
}

// BySNILS returns the policy of a СНИЛС (any spelling ids.ValidateSNILS takes).
func (e *Enrichment) BySNILS(ctx context.Context, snils string) (*PolicyAnswer, error) {
	n, err := ids.ValidateSNILS(snils)
	if err != nil {
		return nil, idRefused(codes.InvalidSNILS, "СНИЛС", err)
	}
	return e.lookup(ctx, "snils:"+n, func(ctx context.Context, msgID string) (*policy.Policy, error) {
		return e.client.BySNILS(ctx, msgID, n)
	})
}

// ByENP returns the policy of an ЕНП.
func (e *Enrichment) ByENP(ctx context.Context, enp string) (*PolicyAnswer, error) {
	n, err := ids.ValidateENP(enp)
	if err != nil {
		return nil, idRefused(codes.InvalidENP, "ЕНП", err)
	}
	return e.lookup(ctx, "enp:"+n, func(ctx context.Context, msgID string) (*policy.Policy, error) { return e.client.ByENP(ctx, msgID, n) })
}

// idRefused is the 400 of a mistyped identifier; the identifier itself is
// not repeated (the caller has it), only why it is wrong.
func idRefused(code, what string, err error) error {
	ce := codes.New(http.StatusBadRequest, code, "the %s is not valid", what)
	var ie *ids.Error
	if errors.As(err, &ie) {
		ce = codes.New(http.StatusBadRequest, code, "the %s is not valid: %s (%s)", what, ie.Detail, ie.Reason)
	}
	return ce
}

type snilsQuery struct {
	SNILS string `json:"snils"`
}

type enpQuery struct {
	ENP string `json:"enp"`
}

// policyBySNILS is POST /api/v1/enrichment/snils {"snils"}.
func (s *Server) policyBySNILS(c *gin.Context) {
	var q snilsQuery
	if !s.decodeJSON(c, &q) {
		return
	}
	s.enrich(c, func(ctx context.Context) (*PolicyAnswer, error) { return s.Enrichment.BySNILS(ctx, q.SNILS) })
}

// policyByENP is POST /api/v1/enrichment/enp {"enp"}.
func (s *Server) policyByENP(c *gin.Context) {
	var q enpQuery
	if !s.decodeJSON(c, &q) {
		return
	}
	s.enrich(c, func(ctx context.Context) (*PolicyAnswer, error) { return s.Enrichment.ByENP(ctx, q.ENP) })
}

func (s *Server) enrich(c *gin.Context, find func(ctx context.Context) (*PolicyAnswer, error)) {
	if s.Enrichment == nil {
		s.fail(c, codes.New(http.StatusServiceUnavailable, codes.PolicyRegistryUnavailable, "no ОМС policy registry is configured"))
		return
	}
	a, err := find(c.Request.Context())
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, a)
}
