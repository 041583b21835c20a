package workflow

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/emdhub/hub/adapters/epgu"
	"github.com/emdhub/hub/adapters/mse"
	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/intake"
	"github.com/emdhub/hub/internal/kind"
	"github.com/emdhub/hub/internal/nsi"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/signed"
	"github.com/emdhub/hub/internal/soapx"
	"github.com/emdhub/hub/internal/store"
)

// IntakeHook starts the flow a newly accepted document begins, inside the
// intake transaction: an MSE referral's package, or a certificate's deliveries.
func (e *Engine) IntakeHook(ctx context.Context, tx pgx.Tx, doc *store.Document, h *semd.Document, k *nsi.Kind) error {
	if err := e.supersede(ctx, tx, doc, h); err != nil {
		return err
	}
	if err := e.awaitDocumentNotice(ctx, tx, doc); err != nil {
		return err
	}
	if kind.DocType(k.Type) == kind.TypeMSEReferral {
		return e.startReferral(ctx, tx, doc, h)
	}
	if isCivilCertificate(k.Kind) {
		return e.startDeliveries(ctx, tx, doc)
	}
	return nil
}

func (e *Engine) startReferral(ctx context.Context, tx pgx.Tx, doc *store.Document, h *semd.Document) error {
	id, err := uuid.NewV7()
	if err != nil {
		return fmt.Errorf("workflow: referral id: %w", err)
	}
	if err := store.CreateReferral(ctx, tx, store.NewReferral{ID: id, DocumentID: doc.ID, OrganizationID: doc.OrganizationID,
		SystemID: doc.SystemID, Deadline: e.now().Add(e.cfg.PackageDeadline)}); err != nil {
		return fmt.Errorf("workflow: start referral of document %s: %w", doc.ID, err)
	}
	var jobs []river.InsertManyParams
	for i, l := range h.LinkDocs {
		if err := store.CreateLink(ctx, tx, store.NewLink{ReferralID: id, Ordinal: i + 1, DocType: l.DocType, Root: l.Ref.Root, Ext: l.Ref.Extension,
			Series: l.Series, Number: l.Number}); err != nil {
			return fmt.Errorf("workflow: start referral of document %s: %w", doc.ID, err)
		}
		jobs = append(jobs, river.InsertManyParams{Args: FetchArgs{ReferralID: id, Ordinal: i + 1}})
	}
	if len(jobs) == 0 {
		jobs = append(jobs, river.InsertManyParams{Args: AssembleArgs{ReferralID: id}})
	}
	if _, err := e.River.InsertManyTx(ctx, tx, jobs); err != nil {
		return fmt.Errorf("workflow: queue fetches: %w", err)
	}
	return nil
}

// linkRow is a link with what its fetch needs.
type linkRow = store.LinkToFetch

type fetchWorker struct {
	river.WorkerDefaults[FetchArgs]
	e *Engine
}

func (w *fetchWorker) Work(ctx context.Context, job *river.Job[FetchArgs]) error {
	e := w.e
	// Calls an earlier run left under way (its process died) are attempts too.
	if err := e.reap(ctx, job.JobRow, func(tx pgx.Tx, n int) error {
		for range n {
			if err := e.lost(store.RetryLink(ctx, tx, job.Args.ReferralID, job.Args.Ordinal, CodeKilled, killedMessage)); err != nil && !stale(err) {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	l, err := store.GetLinkToFetch(ctx, e.Pool, job.Args.ReferralID, job.Args.Ordinal)
	if errors.Is(err, store.ErrNotFound) {
		return river.JobCancel(fmt.Errorf("link %s/%d no longer exists", job.Args.ReferralID, job.Args.Ordinal))
	}
	if err != nil {
		return err
	}
	if st := store.LinkState(l.State); st.Settled() {
		return e.settle(ctx, job, l, st, uuid.Nil, "", "", nil)
	}
	if e.now().After(l.DeadlineAt) {
		return e.settle(ctx, job, l, store.LinkUnavailable, uuid.Nil, "PACKAGE_DEADLINE",
			"the provider did not deliver the document before the package deadline; complete the referral with a re-fetch or a new version", nil)
	}
	// Already in the hub for this organisation (submitted, or fetched for
	// another referral)? LinkToFetch looked.
	if held := l.HeldDocumentID; held != uuid.Nil {
		return e.settle(ctx, job, l, store.LinkFetched, held, "", "", &logEntry{direction: "out", peer: "hub", operation: "cache", outcome: "ok", message: "already held"})
	}
	peer := "provider"
	if err := e.breakerWait(peer); err != nil {
		return err
	}
	client := e.providerFor(l.ProviderUrl)
	msgID := soapx.MessageID("fetch", l.ReferralID.String(), strconv.Itoa(l.Ordinal), strconv.Itoa(job.Attempt))
	entry := &logEntry{direction: "out", peer: peer, operation: "GetDocument", subject: l.ReferralID, messageID: msgID}
	var d *signed.Document
	callErr, err := e.attempt(ctx, job.JobRow, entry, func(ctx context.Context) (err error) {
		d, err = client.GetDocument(ctx, msgID, l.RefRoot, l.RefExtension)
		return err
	})
	if err != nil {
		return err
	}
	ctx, cancel := afterCall(ctx)
	defer cancel()
	code, msg := entry.code, entry.message
	if callErr != nil {
		class := soapx.ClassOf(callErr)
		if class == soapx.Permanent || job.Attempt >= job.MaxAttempts {
			return e.settle(ctx, job, l, store.LinkUnavailable, uuid.Nil, code, msg, entry)
		}
		if err := e.markRetrying(ctx, l, code, msg, entry); err != nil {
			return err
		}
		return e.retryDecision(ctx, job.JobRow, peer, callErr)
	}
	// The same checks as at the door.
	hdr, sigs, problem, pcode, checkErr := e.checkFetched(ctx, d, l)
	if checkErr != nil {
		// The hub failed (e.g. the ОГРН lookup found the database down), not
		// the document: the call is on record as answered, the step retried.
		if err := writeLog(ctx, e.Pool, *entry); err != nil {
			return err
		}
		return fmt.Errorf("workflow: checking fetched document %s^%s: %w", l.RefRoot, l.RefExtension, checkErr)
	}
	if problem != "" {
		entry.outcome, entry.code, entry.message = "permanent", pcode, problem
		return e.settle(ctx, job, l, store.LinkInvalid, uuid.Nil, pcode, problem, entry)
	}
	return pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		stored, _, err := e.Store.InsertDocument(ctx, tx, store.NewDocument{OrgID: l.OrganizationID, SystemID: l.SystemID, Kind: d.Kind,
			LocalID: hdr.ID.Extension, Content: d.Content, Header: hdr, Signatures: sigs})
		var conflict *store.ConflictError
		if errors.As(err, &conflict) {
			return e.settleTx(ctx, tx, job, l, store.LinkInvalid, uuid.Nil, codes.NotUniqueProvidedID, conflict.Error(), entry)
		}
		if err != nil {
			return err
		}
		entry.document = stored.ID
		return e.settleTx(ctx, tx, job, l, store.LinkFetched, stored.ID, "", "", entry)
	})
}

// checkFetched runs the door's checks on a fetched document (the one
// door, intake.Service.CheckEntering: it must be the document asked for,
// custodian the referral's organisation, signatures verified; no ФЛК, as
// before); it returns the parsed header and the verified signatures, or the
// problem and its code, or an error when the hub itself failed to check
// (then nothing about the document is known and the step is retried, never
// settled as invalid).
func (e *Engine) checkFetched(ctx context.Context, d *signed.Document, l *linkRow) (*semd.Document, []store.NewSignature, string, string, error) {
	sigs := wireSignatures(d.Signatures)
	c, err := e.Door.CheckEntering(ctx, d.Content, intake.Entry{Claims: semd.Claims{Kind: d.Kind, SubmitterOrg: l.OrgOid, Now: e.now()},
		Want: &semd.II{Root: l.RefRoot, Extension: l.RefExtension}, Signatures: sigs})
	if err != nil {
		var ce *codes.Error
		if errors.As(err, &ce) {
			return nil, nil, ce.Message, ce.Code, nil
		}
		return nil, nil, "", "", err
	}
	return c.Header, sigs, "", "", nil
}

// wireSignatures converts signatures as peers carry them to the stored form.
func wireSignatures(in []signed.Signature) []store.NewSignature {
	var out []store.NewSignature
	for _, s := range in {
		role := store.SignerDoctor
		if s.Role == signed.RoleOrganization {
			role = store.SignerOrganization
		}
		out = append(out, store.NewSignature{Role: role, CMS: s.CMS})
	}
	return out
}

func (e *Engine) markRetrying(ctx context.Context, l *linkRow, code, msg string, entry *logEntry) error {
	return pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		if err := e.lost(store.RetryLink(ctx, tx, l.ReferralID, l.Ordinal, code, msg)); err != nil && !stale(err) {
			return err
		}
		return writeLog(ctx, tx, *entry)
	})
}

func (e *Engine) settle(ctx context.Context, job *river.Job[FetchArgs], l *linkRow, state store.LinkState, docID uuid.UUID, code, msg string, entry *logEntry) error {
	return pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		return e.settleTx(ctx, tx, job, l, state, docID, code, msg, entry)
	})
}

// settleTx records a link's final state, completes the fetch job and, if it
// was the last link of its referral to settle, queues the assembly — all in tx.
func (e *Engine) settleTx(ctx context.Context, tx pgx.Tx, job *river.Job[FetchArgs], l *linkRow, state store.LinkState, docID uuid.UUID, code, msg string, entry *logEntry) error {
	// Lock the referral: concurrent last-settlers serialise here, so exactly
	// one sees "no unsettled links left".
	refState, systemID, err := store.LockReferral(ctx, tx, l.ReferralID)
	if err != nil {
		return fmt.Errorf("workflow: settle link %s/%d: %w", l.ReferralID, l.Ordinal, err)
	}
	open := int64(-1)                        // unknown until counted
	if !store.LinkState(l.State).Settled() { // else a re-run of a link already settled
		attempts := 0
		if entry.peerOrEmpty() != "" {
			attempts = 1
		}
		n, err := store.SettleLinkOpen(ctx, tx, l.ReferralID, l.Ordinal, store.LinkOutcome{State: state, Document: docID, Attempts: attempts,
			Code: code, Message: msg})
		if err := e.lost(err); err != nil && !stale(err) {
			return err
		} else if err == nil {
			open = n // the settle counted the others still open
		}
	}
	if entry != nil && entry.operation != "" {
		if entry.subject == uuid.Nil {
			entry.subject = l.ReferralID
		}
		if err := writeLog(ctx, tx, *entry); err != nil {
			return err
		}
	}
	if open < 0 {
		if open, err = store.OpenLinks(ctx, tx, l.ReferralID); err != nil {
			return err
		}
	}
	if open == 0 && refState == store.RefAssembling {
		// The last link settled: assemble here, in this transaction, with
		// the referral locked above — as the assembly job would, without a
		// job of its own (one job, its fetch, lock and commit less per flow).
		if err := e.assembleTx(ctx, tx, l.ReferralID, systemID); err != nil {
			return err
		}
	}
	return completeTx(ctx, tx, job)
}

func (l *logEntry) peerOrEmpty() string {
	if l == nil || l.peer == "hub" {
		return ""
	}
	return l.peer
}

type assembleWorker struct {
	river.WorkerDefaults[AssembleArgs]
	e *Engine
}

// Work assembles a referral whose links settled without a fetch doing it:
// a referral without links, one re-fetched or taken up again by an
// operator (the last fetch to settle assembles in its own transaction,
// settleTx).
func (w *assembleWorker) Work(ctx context.Context, job *river.Job[AssembleArgs]) error {
	e := w.e
	id := job.Args.ReferralID
	return pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		state, systemID, err := store.LockReferral(ctx, tx, id)
		if err != nil {
			return fmt.Errorf("workflow: assemble referral %s: %w", id, err)
		}
		if state == store.RefAssembling {
			if err := e.assembleTx(ctx, tx, id, systemID); err != nil {
				return err
			}
		}
		return completeTx(ctx, tx, job)
	})
}

// assembleTx judges the package of referral id, which tx has locked in the
// assembling state: complete → assembled and its send queued; else held
// as incomplete and the МИС told.
func (e *Engine) assembleTx(ctx context.Context, tx pgx.Tx, id, systemID uuid.UUID) error {
	missing, err := store.MissingLinks(ctx, tx, id)
	if err != nil {
		return err
	}
	if len(missing) == 0 {
		if err := store.AssembleReferral(ctx, tx, id); err != nil {
			return err // cannot be stale: the row is locked in an allowed state
		}
		if _, err := e.River.InsertTx(ctx, tx, SendReferralArgs{ReferralID: id}, nil); err != nil {
			return fmt.Errorf("workflow: queue send of %s: %w", id, err)
		}
		return nil
	}
	if err := store.HoldIncomplete(ctx, tx, id,
		fmt.Sprintf("%d linked document(s) could not be assembled; the package is held, not sent", len(missing))); err != nil {
		return err
	}
	return e.notify(ctx, tx, nil, systemID, EventReferralIncomplete, id, map[string]any{"referral_id": id, "missing": missing})
}

type sendReferralWorker struct {
	river.WorkerDefaults[SendReferralArgs]
	e *Engine
}

func (w *sendReferralWorker) Work(ctx context.Context, job *river.Job[SendReferralArgs]) error {
	e := w.e
	id := job.Args.ReferralID
	// A send an earlier run left under way (its process died) is an attempt too.
	if err := e.reap(ctx, job.JobRow, func(tx pgx.Tx, n int) error {
		for range n {
			if err := e.lost(store.FailSend(ctx, tx, id, false, CodeKilled, killedMessage)); err != nil && !stale(err) {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	r, err := store.GetReferralToSend(ctx, e.Pool, id)
	if err != nil {
		return err
	}
	if store.ReferralState(r.State) != store.RefSending {
		return nil
	}
	// One round trip: the package's documents with their signatures and
	// the signer certificates the gate checks.
	p, err := store.PackageToSend(ctx, e.Pool, id)
	if err != nil {
		return err
	}
	if x := e.gate(p.Signers); x != nil {
		return e.blockReferral(ctx, job, r.DocumentID, r.SystemID, x)
	}
	if err := e.breakerWait(mse.Service); err != nil {
		return err
	}
	pkg := &mse.Referral{Referral: *p.Docs[0]}
	for _, d := range p.Docs[1:] {
		pkg.Linked = append(pkg.Linked, *d)
	}
	pkg.MessageID = soapx.MessageID("mse-send", id.String(), strconv.Itoa(r.Generation))
	pkg.SenderOrgOID, pkg.SenderSystem = r.OrgOid, r.SystemName
	entry := logEntry{direction: "out", peer: mse.Service, operation: "SendReferral", subject: id, document: r.DocumentID, messageID: pkg.MessageID}
	var rc *mse.Receipt
	callErr, err := e.attempt(ctx, job.JobRow, &entry, func(ctx context.Context) (err error) {
		rc, err = e.mse.SendReferral(ctx, *pkg)
		return err
	})
	if err != nil {
		return err
	}
	ctx, cancel := afterCall(ctx)
	defer cancel()
	code, msg := entry.code, entry.message
	if callErr != nil {
		permanent := soapx.ClassOf(callErr) == soapx.Permanent || job.Attempt >= job.MaxAttempts
		if err := pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
			err := e.lost(store.FailSend(ctx, tx, id, permanent, code, msg))
			if err != nil && !stale(err) {
				return err
			}
			if permanent && err == nil {
				if err := e.notify(ctx, tx, nil, r.SystemID, EventReferralFailed, id, map[string]any{"referral_id": id, "code": code, "message": msg}); err != nil {
					return err
				}
			}
			return writeLog(ctx, tx, entry)
		}); err != nil {
			return err
		}
		return e.retryDecision(ctx, job.JobRow, mse.Service, callErr)
	}
	if rc.Duplicate {
		entry.outcome = "duplicate"
	}
	return pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		if err := writeLog(ctx, tx, entry); err != nil {
			return err
		}
		err := e.lost(store.MarkSent(ctx, tx, id, rc.CaseID, pkg.MessageID))
		if stale(err) {
			// The bureau's answer arrived first (a result or return notice
			// stored while this answer was on its way): keep what the send
			// tells, not the state it would set.
			if err := store.KeepLateSend(ctx, tx, id, rc.CaseID, pkg.MessageID); err != nil {
				return err
			}
			return completeTx(ctx, tx, job)
		}
		if err != nil {
			return err
		}
		// The status poll, the МИС's callback and the citizen's notice go
		// to River in one insert.
		jobs := jobBatch{{Args: StatusArgs{ReferralID: id}, InsertOpts: &river.InsertOpts{ScheduledAt: e.now().Add(e.cfg.StatusPollInterval)}}}
		if err := e.notify(ctx, tx, &jobs, r.SystemID, EventReferralSent, id, map[string]any{"referral_id": id, "case_id": rc.CaseID}); err != nil {
			return err
		}
		// The bureau registered the referral under a case: the citizen is
		// told now rather than at the next status poll, which a quick
		// decision may overtake (the poll's REGISTERED raises it too; the
		// delivery's unique key keeps it one).
		if err := e.tellCitizenOfReferral(ctx, tx, &jobs, id, epgu.EventMSEReferralAccepted); err != nil {
			return err
		}
		if err := e.insert(ctx, tx, jobs); err != nil {
			return err
		}
		return completeTx(ctx, tx, job)
	})
}

type statusWorker struct {
	river.WorkerDefaults[StatusArgs]
	e *Engine
}

func (w *statusWorker) Work(ctx context.Context, job *river.Job[StatusArgs]) error {
	e := w.e
	id := job.Args.ReferralID
	if err := e.reap(ctx, job.JobRow, nil); err != nil {
		return err
	}
	state, caseID, err := store.ReferralToFollow(ctx, e.Pool, id)
	if err != nil {
		return err
	}
	if (state != store.RefSent && state != store.RefAccepted) || caseID == nil {
		return nil // settled by a result or a return notice
	}
	if err := e.breakerWait(mse.Service); err != nil {
		return err
	}
	entry := logEntry{direction: "out", peer: mse.Service, operation: "GetReferralStatus", subject: id}
	var st *mse.Status
	callErr, err := e.attempt(ctx, job.JobRow, &entry, func(ctx context.Context) (err error) {
		st, err = e.mse.GetReferralStatus(ctx, *caseID)
		return err
	})
	if err != nil {
		return err
	}
	ctx, cancel := afterCall(ctx)
	defer cancel()
	if err := pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		if callErr == nil && state == store.RefSent && (st.Status == "REGISTERED" || st.Status == "EXAM_SCHEDULED") {
			err := e.lost(store.MarkAccepted(ctx, tx, id))
			if err != nil && !stale(err) {
				return err
			}
			if err == nil {
				if err := e.tellCitizenOfReferral(ctx, tx, nil, id, epgu.EventMSEReferralAccepted); err != nil {
					return err
				}
			}
		}
		return writeLog(ctx, tx, entry)
	}); err != nil {
		return err
	}
	if callErr != nil {
		return e.retryDecision(ctx, job.JobRow, mse.Service, callErr)
	}
	return river.JobSnooze(e.cfg.StatusPollInterval) // keep following until a result settles it
}
