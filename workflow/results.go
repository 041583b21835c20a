package workflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/emdhub/hub/adapters/epgu"
	"github.com/emdhub/hub/adapters/mse"
	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/intake"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/store"
)

type resultsWorker struct {
	river.WorkerDefaults[ResultsArgs]
	e *Engine
}

// resultsPage is how many results one FetchResults call asks for.
const resultsPage = 50

// Work pulls every ready result and return notice, stores each (checked like
// intake, linked to its referral, or kept unlinked for operators) in its own
// transaction, and acknowledges to the bureau only what has been committed.
// A crash between commit and acknowledgement makes the bureau serve the
// result again; the unique message id makes storing it a no-op.
func (w *resultsWorker) Work(ctx context.Context, job *river.Job[ResultsArgs]) error {
	e := w.e
	if err := e.reap(ctx, job.JobRow, nil); err != nil {
		return err
	}
	if err := e.sweepOrphans(ctx); err != nil {
		return err
	}
	if err := e.breakerWait(mse.Service); err != nil {
		return nil // the next period will try; a periodic job need not snooze
	}
	after := ""
	for page := 0; page < 100; page++ {
		entry := logEntry{direction: "in", peer: mse.Service, operation: "FetchResults"}
		var results []mse.Result
		var next string
		callErr, err := e.attempt(ctx, job.JobRow, &entry, func(ctx context.Context) (err error) {
			results, next, err = e.mse.FetchResults(ctx, after, resultsPage)
			return err
		})
		if err != nil {
			return err
		}
		entry.message = strings.TrimSpace(fmt.Sprintf("%d result(s) %s", len(results), entry.message))
		wctx, cancel := afterCall(ctx)
		err = writeLog(wctx, e.Pool, entry)
		cancel()
		if err != nil {
			return err
		}
		if callErr != nil {
			return e.retryDecision(ctx, job.JobRow, mse.Service, callErr)
		}
		if len(results) == 0 {
			return nil
		}
		var stored []string
		for _, r := range results {
			if err := e.storeResult(ctx, r); err != nil {
				e.Log.Error("storing an MSE result failed; it stays unacknowledged and will be fetched again",
					"message_id", r.MessageID, "case_id", r.CaseID, "error", err)
				continue
			}
			stored = append(stored, r.MessageID)
		}
		if len(stored) > 0 {
			entry := logEntry{direction: "out", peer: mse.Service, operation: "AckResults"}
			ackErr, err := e.attempt(ctx, job.JobRow, &entry, func(ctx context.Context) error {
				_, err := e.mse.AckResults(ctx, stored)
				return err
			})
			if err != nil {
				return err
			}
			entry.message = strings.TrimSpace(fmt.Sprintf("%d acknowledged %s", len(stored), entry.message))
			wctx, cancel := afterCall(ctx)
			err = writeLog(wctx, e.Pool, entry)
			cancel()
			if err != nil {
				return err
			}
			if ackErr != nil {
				return e.retryDecision(ctx, job.JobRow, mse.Service, ackErr)
			}
		}
		if next == "" || next == after {
			return nil
		}
		after = next
	}
	return nil
}

type wireSignature struct {
	Role string `json:"role"`
	CMS  []byte `json:"cms"`
}

func (e *Engine) storeResult(ctx context.Context, r mse.Result) error {
	// The one door (intake.Service.CheckEntering): the bureau's document
	// passes the door's limits, header and signature checks; its custodian is
	// the bureau, not the referral's organisation, and no ФЛК, as before.
	checkErr := ""
	if _, err := e.Door.CheckEntering(ctx, r.Document.Content, intake.Entry{Claims: semd.Claims{Kind: r.Document.Kind, Now: e.now()},
		Signatures: wireSignatures(r.Document.Signatures)}); err != nil {
		var ce *codes.Error
		if !errors.As(err, &ce) {
			return fmt.Errorf("workflow: check result %s: %w", r.MessageID, err) // the hub failed to check: fetched again later
		}
		checkErr = ce.Error()
	}
	var sigs []wireSignature
	for _, s := range r.Document.Signatures {
		sigs = append(sigs, wireSignature{Role: s.Role, CMS: s.CMS})
	}
	sigJSON, err := json.Marshal(sigs)
	if err != nil {
		return fmt.Errorf("workflow: result %s signatures: %w", r.MessageID, err)
	}
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("workflow: result id: %w", err)
	}
	return pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		ref, err := store.LockReferralByCDA(ctx, tx, r.ReferralRoot, r.ReferralExtension)
		linked := err == nil
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
		var refID, orgID, systemID uuid.UUID
		var refState string
		if linked {
			refID, orgID, systemID, refState = ref.ID, ref.OrganizationID, ref.SystemID, ref.State
		}
		inserted, err := store.InsertResult(ctx, tx, &store.NewResult{ID: id, MessageID: r.MessageID, ReferralID: store.NullUUID(refID),
			OrganizationID: store.NullUUID(orgID), CaseID: r.CaseID, Type: r.Type, Reason: store.NullString(r.Reason), Kind: r.Document.Kind,
			ReferralRoot: r.ReferralRoot, ReferralExtension: r.ReferralExtension, CdaRoot: r.Document.Root, CdaExtension: r.Document.Extension,
			Content: r.Document.Content, Signatures: sigJSON, CheckError: store.NullString(checkErr)})
		if err != nil {
			return err
		}
		if !inserted {
			return nil // fetched again after a lost acknowledgement: already stored
		}
		entry := logEntry{direction: "in", peer: mse.Service, operation: "Result", subject: refID, messageID: r.MessageID, outcome: "ok", code: r.Type}
		switch {
		case !linked:
			entry.outcome, entry.message = "unmatched", "no referral with CDA id "+r.ReferralRoot+"^"+r.ReferralExtension+"; kept for operators"
		case checkErr != "":
			entry.outcome, entry.message = "invalid", checkErr
		default:
			var err error
			if r.Type == mse.TypeReturnNotice {
				err = e.lost(store.TakeReturn(ctx, tx, refID, r.CaseID, r.Reason))
			} else {
				err = e.lost(store.TakeResult(ctx, tx, refID, r.CaseID))
			}
			if stale(err) {
				// Stored and linked (the МИС reads it from the feed and the
				// referral's result), but the referral had moved on (held,
				// superseded, or settled by an earlier answer): its state stays.
				entry.outcome, entry.message = "stale", "the referral is "+refState+"; result kept, state unchanged"
				break
			}
			if err != nil {
				return err
			}
			ev, citizenEv := EventResultReady, epgu.EventMSEResultReady
			if r.Type == mse.TypeReturnNotice {
				ev, citizenEv = EventReferralReturned, epgu.EventMSEReferralReturned
			}
			var jobs jobBatch // the citizen's notice and the МИС's callback: one insert
			if err := e.tellCitizenOfReferral(ctx, tx, &jobs, refID, citizenEv); err != nil {
				return err
			}
			if err := e.notify(ctx, tx, &jobs, systemID, ev, refID, map[string]any{"referral_id": refID, "result_id": id, "type": r.Type, "reason": r.Reason}); err != nil {
				return err
			}
			if err := e.insert(ctx, tx, jobs); err != nil {
				return err
			}
		}
		return writeLog(ctx, tx, entry)
	})
}
