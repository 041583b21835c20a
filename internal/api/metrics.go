package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/emdhub/hub/internal/intake"
	"github.com/emdhub/hub/internal/metrics"
)

// observeIntake counts the door's decision on one submission once the
// handler has answered: 201 accepted, 200 an idempotent repeat, another
// 4xx a refusal with its code, 5xx (or no answer yet: a panic on its way
// to the recover middleware) the hub unable to decide.
func observeIntake(c *gin.Context, req *intake.Request) {
	status := c.Writer.Status()
	outcome := metrics.OutcomeRefused
	switch {
	case !c.Writer.Written(): // the handler panicked: nothing answered yet
		outcome = metrics.OutcomeError
	case status == http.StatusCreated:
		outcome = metrics.OutcomeAccepted
	case status == http.StatusOK:
		outcome = metrics.OutcomeRepeat
	case status >= 500:
		outcome = metrics.OutcomeError
	}
	metrics.Intake(req.Kind, outcome, c.GetString(ctxErrorCode))
}
