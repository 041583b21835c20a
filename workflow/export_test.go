package workflow

import (
	"context"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"
)

// The workers, for rivertest.Worker tests (workers_test.go).
func FetchWorker(e *Engine) river.Worker[FetchArgs]               { return &fetchWorker{e: e} }
func AssembleWorker(e *Engine) river.Worker[AssembleArgs]         { return &assembleWorker{e: e} }
func SendReferralWorker(e *Engine) river.Worker[SendReferralArgs] { return &sendReferralWorker{e: e} }
func StatusWorker(e *Engine) river.Worker[StatusArgs]             { return &statusWorker{e: e} }
func ResultsWorker(e *Engine) river.Worker[ResultsArgs]           { return &resultsWorker{e: e} }
func ZAGSWorker(e *Engine) river.Worker[ZAGSArgs]                 { return &zagsWorker{e: e} }
func EPGUWorker(e *Engine) river.Worker[EPGUArgs]                 { return &epguWorker{e: e} }
func NotifyWorker(e *Engine) river.Worker[NotifyArgs]             { return &notifyWorker{e: e} }

// TellCitizenOfReferral raises a referral's ЕПГУ event again, as a re-run step would.
func TellCitizenOfReferral(e *Engine, ctx context.Context, tx pgx.Tx, referral uuid.UUID, event string) error {
	return e.tellCitizenOfReferral(ctx, tx, nil, referral, event)
}
