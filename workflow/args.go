package workflow

import (
	"time"

	"github.com/google/uuid"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// Uniqueness for step jobs: one live job per subject. Completed jobs do not
// block a new one (a replay or a re-fetch must be able to queue again).
var liveStates = []rivertype.JobState{rivertype.JobStateAvailable, rivertype.JobStatePending,
	rivertype.JobStateRetryable, rivertype.JobStateRunning, rivertype.JobStateScheduled}

func uniqueLive() river.UniqueOpts { return river.UniqueOpts{ByArgs: true, ByState: liveStates} }

// FetchArgs fetches one linked document of a referral.
type FetchArgs struct {
	ReferralID uuid.UUID `json:"referral_id" river:"unique"`
	Ordinal    int       `json:"ordinal" river:"unique"`
}

// Kind implements river.JobArgs.
func (FetchArgs) Kind() string { return "mse_fetch_link" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (FetchArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueFetch, UniqueOpts: uniqueLive()}
}

// AssembleArgs judges a referral's package once every link is settled.
type AssembleArgs struct {
	ReferralID uuid.UUID `json:"referral_id" river:"unique"`
}

// Kind implements river.JobArgs.
func (AssembleArgs) Kind() string { return "mse_assemble" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (AssembleArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMSE, UniqueOpts: uniqueLive()}
}

// SendReferralArgs delivers a complete package to the bureau.
type SendReferralArgs struct {
	ReferralID uuid.UUID `json:"referral_id" river:"unique"`
}

// Kind implements river.JobArgs.
func (SendReferralArgs) Kind() string { return "mse_send" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (SendReferralArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMSE, UniqueOpts: uniqueLive()}
}

// StatusArgs follows a sent referral's status at the bureau.
type StatusArgs struct {
	ReferralID uuid.UUID `json:"referral_id" river:"unique"`
}

// Kind implements river.JobArgs.
func (StatusArgs) Kind() string { return "mse_status" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (StatusArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueMSE, UniqueOpts: uniqueLive()}
}

// ResultsArgs pulls results and return notices from the bureau (periodic).
type ResultsArgs struct{}

// Kind implements river.JobArgs.
func (ResultsArgs) Kind() string { return "mse_fetch_results" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (ResultsArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueResults, UniqueOpts: uniqueLive()}
}

// ResultsPullOpts are the periodic pull's insert options: unique per poll period (at
// least a second, River's smallest) rather than while any copy lives: a
// copy orphaned in 'running' by a killed worker would otherwise block every
// later pull until River's rescuer retries it, HUB_RESCUE_AFTER (15 min by
// default) later, and no result would reach a МИС meanwhile. Two pulls
// overlapping is harmless: a result is stored once by its message id and
// acknowledged only after it is stored.
func ResultsPullOpts(period time.Duration) river.InsertOpts {
	if period < time.Second {
		period = time.Second
	}
	return river.InsertOpts{Queue: QueueResults, UniqueOpts: river.UniqueOpts{ByPeriod: period, ByState: liveStates}}
}

// DeliverArgs delivers a certificate to one recipient; the kind fixes the queue.
type DeliverArgs struct {
	DeliveryID uuid.UUID `json:"delivery_id" river:"unique"`
}

// ZAGSArgs is a delivery to ЕГР ЗАГС.
type ZAGSArgs DeliverArgs

// Kind implements river.JobArgs.
func (ZAGSArgs) Kind() string { return "deliver_zags" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (ZAGSArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueZAGS, UniqueOpts: uniqueLive()}
}

// EPGUArgs is a delivery to ЕПГУ.
type EPGUArgs DeliverArgs

// Kind implements river.JobArgs.
func (EPGUArgs) Kind() string { return "deliver_epgu" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (EPGUArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueEPGU, UniqueOpts: uniqueLive()}
}

// NotifyArgs calls a МИС's callback URL with one notification.
type NotifyArgs struct {
	NotificationID uuid.UUID `json:"notification_id" river:"unique"`
}

// Kind implements river.JobArgs.
func (NotifyArgs) Kind() string { return "notify_mis" }

// InsertOpts implements river.JobArgsWithInsertOpts.
func (NotifyArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueNotify, UniqueOpts: uniqueLive()}
}
