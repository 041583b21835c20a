package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/store"
	"github.com/emdhub/hub/workflow"
)

func (s *Server) pathID(c *gin.Context, what string) (uuid.UUID, bool) {
	id, err := uuid.Parse(c.Param("id"))
	if err != nil {
		s.fail(c, codes.New(http.StatusNotFound, codes.NotFound, "no %s %q", what, c.Param("id")))
		return uuid.Nil, false
	}
	return id, true
}

func (s *Server) wfFail(c *gin.Context, err error, what string, id uuid.UUID) {
	var blocked *workflow.BlockedError
	switch {
	case errors.As(err, &blocked):
		s.fail(c, codes.New(http.StatusConflict, blocked.Code, "%s", blocked.Message))
	case errors.Is(err, workflow.ErrNotFound):
		s.fail(c, codes.New(http.StatusNotFound, codes.NotFound, "no %s %s visible to this system", what, id))
	case errors.Is(err, workflow.ErrNotIncomplete), errors.Is(err, workflow.ErrNotReplayable):
		s.fail(c, codes.New(http.StatusConflict, codes.BadRequest, "%v", err))
	case errors.Is(err, store.ErrBadCursor):
		s.fail(c, codes.New(http.StatusBadRequest, codes.BadRequest, "cursor was not issued by this hub"))
	default:
		s.fail(c, err)
	}
}

// referralCall answers a referral endpoint: the path id (a referral's id or
// its document's), the caller's organisation scope, the workflow call, and
// the workflow's errors mapped to HTTP.
func (s *Server) referralCall(what string, status int, call func(ctx context.Context, org, id uuid.UUID) (any, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, ok := s.pathID(c, "referral")
		if !ok {
			return
		}
		v, err := call(c.Request.Context(), orgScope(principalOf(c)), id)
		if err != nil {
			s.wfFail(c, err, what, id)
			return
		}
		c.JSON(status, v)
	}
}

// getReferral shows a referral: state, package with each link's state, timeline.
func (s *Server) getReferral() gin.HandlerFunc {
	return s.referralCall("referral", http.StatusOK, func(ctx context.Context, org, id uuid.UUID) (any, error) {
		return s.Workflow.Referral(ctx, org, id)
	})
}

// getReferralResult shows the bureau's result or return notice.
func (s *Server) getReferralResult() gin.HandlerFunc {
	return s.referralCall("result for referral", http.StatusOK, func(ctx context.Context, org, id uuid.UUID) (any, error) {
		return s.Workflow.ReferralResult(ctx, org, id)
	})
}

// refetchReferral retries the missing links of an incomplete referral.
func (s *Server) refetchReferral() gin.HandlerFunc {
	return s.referralCall("referral", http.StatusAccepted, func(ctx context.Context, org, id uuid.UUID) (any, error) {
		return s.Workflow.Refetch(ctx, org, id)
	})
}

// intParam reads an optional whole-number query parameter within [lo, hi];
// an absent one is def. A bad one is answered 400 and ok is false.
func (s *Server) intParam(c *gin.Context, name string, def, lo, hi int) (n int, ok bool) {
	v := c.Query(name)
	if v == "" {
		return def, true
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		s.fail(c, codes.New(http.StatusBadRequest, codes.BadRequest, "%s must be a whole number from %d to %d", name, lo, hi))
		return 0, false
	}
	return n, true
}

// resultsFeed lists results and return notices of the caller's referrals after a cursor.
func (s *Server) resultsFeed(c *gin.Context) {
	limit, ok := s.intParam(c, "limit", 50, 1, 200)
	if !ok {
		return
	}
	p, err := s.Workflow.Results(c.Request.Context(), orgScope(principalOf(c)), c.Query("after"), limit, false)
	if err != nil {
		s.wfFail(c, err, "results", uuid.Nil)
		return
	}
	c.JSON(http.StatusOK, p)
}

func (s *Server) unmatchedResults(c *gin.Context) {
	limit, ok := s.intParam(c, "limit", 50, 1, 200)
	if !ok {
		return
	}
	p, err := s.Workflow.Results(c.Request.Context(), uuid.Nil, c.Query("after"), limit, true)
	if err != nil {
		s.wfFail(c, err, "results", uuid.Nil)
		return
	}
	c.JSON(http.StatusOK, p)
}

func (s *Server) documentDeliveries(c *gin.Context) {
	id, ok := s.pathID(c, "document")
	if !ok {
		return
	}
	org := orgScope(principalOf(c))
	if err := s.Store.CheckDocument(c.Request.Context(), org, id); err != nil {
		s.docFail(c, err, id)
		return
	}
	list, err := s.Workflow.Deliveries(c.Request.Context(), org, id)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"items": list})
}

// troubles lists every flow stopped or past its expected time
// (workflow.Troubles): stuck_after bounds the time a step may take in its
// state; a sent referral's wait for its result is HUB_RESULT_DEADLINE.
func (s *Server) troubles(c *gin.Context) {
	stuck := 15 * time.Minute
	if v := c.Query("stuck_after"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			s.fail(c, codes.New(http.StatusBadRequest, codes.BadRequest, "stuck_after must be a duration like 15m"))
			return
		}
		stuck = d
	}
	t, err := s.Workflow.Troubles(c.Request.Context(), stuck)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, t)
}

func (s *Server) replayDelivery(c *gin.Context) {
	id, ok := s.pathID(c, "delivery")
	if !ok {
		return
	}
	v, err := s.Workflow.ReplayDelivery(c.Request.Context(), id)
	if err != nil {
		s.wfFail(c, err, "delivery", id)
		return
	}
	c.JSON(http.StatusAccepted, v)
}
