package workflow

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/riverqueue/river"

	"github.com/emdhub/hub/adapters/mse"
	"github.com/emdhub/hub/internal/codes"
	"github.com/emdhub/hub/internal/intake"
	"github.com/emdhub/hub/internal/nsi"
	"github.com/emdhub/hub/internal/semd"
	"github.com/emdhub/hub/internal/signed"
	"github.com/emdhub/hub/internal/soapx"
	"github.com/emdhub/hub/internal/store"
)

// Referral states.
const (
	RefReceived       = "received"
	RefAssembling     = "assembling"
	RefIncomplete     = "incomplete"
	RefSending        = "sending"
	RefSent           = "sent"
	RefAccepted       = "accepted"
	RefReturned       = "returned"
	RefResultReceived = "result_received"
	RefFailed         = "failed"
	RefBlocked        = "blocked_certificate" // stopped by the certificate gate
	RefSuperseded     = "superseded"          // a newer signed version took over
)

// Link states.
const (
	LinkPending     = "pending"
	LinkFetched     = "fetched"
	LinkRetrying    = "retrying"
	LinkUnavailable = "unavailable"
	LinkInvalid     = "invalid"
)

// IntakeHook starts the flow a newly accepted document begins, inside the
// intake transaction: an MSE referral's package, or a certificate's deliveries.
func (e *Engine) IntakeHook(ctx context.Context, tx pgx.Tx, doc *store.Document, h *semd.Document, kind *nsi.Kind) error {
	if err := e.supersede(ctx, tx, doc, h); err != nil {
		return err
	}
	if kind.Type == "34" {
		return e.startReferral(ctx, tx, doc, h)
	}
	if isCertificate(kind.Kind) {
		return e.startCertificate(ctx, tx, doc)
	}
	return nil
}

func (e *Engine) startReferral(ctx context.Context, tx pgx.Tx, doc *store.Document, h *semd.Document) error {
	id, err := uuid.NewV7()
	if err != nil {
		return err
	}
	state := RefAssembling
	if _, err := tx.Exec(ctx, `INSERT INTO mse_referrals (id, document_id, organization_id, system_id, state, deadline_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, id, doc.ID, doc.OrganizationID, doc.SystemID, state, e.now().Add(e.cfg.PackageDeadline)); err != nil {
		return fmt.Errorf("workflow: create referral: %w", err)
	}
	var jobs []river.InsertManyParams
	for i, l := range h.LinkDocs {
		if _, err := tx.Exec(ctx, `INSERT INTO mse_links (referral_id, ordinal, doc_type, ref_root, ref_extension, series, number, state)
			VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending')`, id, i+1, l.DocType, l.Ref.Root, l.Ref.Extension, store.NullString(l.Series), store.NullString(l.Number)); err != nil {
			return fmt.Errorf("workflow: create link: %w", err)
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

type linkRow struct {
	referralID         uuid.UUID
	ordinal            int
	docType, root, ext string
	state              string
	orgID, systemID    uuid.UUID
	orgOID             string
	deadline           time.Time
}

type fetchWorker struct {
	river.WorkerDefaults[FetchArgs]
	e *Engine
}

func (w *fetchWorker) Work(ctx context.Context, job *river.Job[FetchArgs]) error {
	e := w.e
	// Calls an earlier run left under way (its process died) are attempts too.
	if err := e.reap(ctx, job.JobRow, func(tx pgx.Tx, n int) error {
		for range n {
			if _, err := e.transition(ctx, tx, TrLinkRetry, job.Args.ReferralID, job.Args.Ordinal, CodeKilled, killedMessage); err != nil && !stale(err) {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	var l linkRow
	err := e.Pool.QueryRow(ctx, `SELECT l.referral_id, l.ordinal, l.doc_type, l.ref_root, l.ref_extension, l.state,
			r.organization_id, r.system_id, o.oid, r.deadline_at
		FROM mse_links l JOIN mse_referrals r ON r.id = l.referral_id JOIN organizations o ON o.id = r.organization_id
		WHERE l.referral_id = $1 AND l.ordinal = $2`, job.Args.ReferralID, job.Args.Ordinal).
		Scan(&l.referralID, &l.ordinal, &l.docType, &l.root, &l.ext, &l.state, &l.orgID, &l.systemID, &l.orgOID, &l.deadline)
	if errors.Is(err, pgx.ErrNoRows) {
		return river.JobCancel(fmt.Errorf("link %s/%d no longer exists", job.Args.ReferralID, job.Args.Ordinal))
	}
	if err != nil {
		return err
	}
	if l.state == LinkFetched || l.state == LinkUnavailable || l.state == LinkInvalid {
		return e.settle(ctx, job, l, l.state, uuid.Nil, "", "", nil)
	}
	if e.now().After(l.deadline) {
		return e.settle(ctx, job, l, LinkUnavailable, uuid.Nil, "PACKAGE_DEADLINE",
			"the provider did not deliver the document before the package deadline; complete the referral with a re-fetch or a new version", nil)
	}
	// Already in the hub for this organisation (submitted, or fetched for another referral)?
	var held uuid.UUID
	err = e.Pool.QueryRow(ctx, `SELECT id FROM documents WHERE organization_id = $1 AND cda_root = $2 AND cda_extension = $3`,
		l.orgID, l.root, l.ext).Scan(&held)
	if err == nil {
		return e.settle(ctx, job, l, LinkFetched, held, "", "", &logEntry{direction: "out", peer: "hub", operation: "cache", outcome: "ok", message: "already held"})
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	peer := "provider"
	if err := e.gate(peer); err != nil {
		return err
	}
	client, err := e.providerFor(ctx, e.Pool, l.systemID)
	if err != nil {
		return err
	}
	msgID := soapx.MessageID("fetch", l.referralID.String(), strconv.Itoa(l.ordinal), strconv.Itoa(job.Attempt))
	entry := &logEntry{direction: "out", peer: peer, operation: "GetDocument", subject: l.referralID, messageID: msgID}
	cctx, obs, err := e.startCall(ctx, job.JobRow, entry)
	if err != nil {
		return err
	}
	start := time.Now()
	d, callErr := client.GetDocument(cctx, msgID, l.root, l.ext)
	entry.finish(obs, start, callErr)
	ctx, cancel := afterCall(ctx)
	defer cancel()
	code, msg := entry.code, entry.message
	if callErr != nil {
		class := soapx.ClassOf(callErr)
		if class == soapx.Permanent || job.Attempt >= job.MaxAttempts {
			return e.settle(ctx, job, l, LinkUnavailable, uuid.Nil, code, msg, entry)
		}
		if err := e.markRetrying(ctx, l, code, msg, entry); err != nil {
			return err
		}
		return e.retryDecision(ctx, job.JobRow, peer, callErr)
	}
	e.breaks.success(peer)
	// The same checks as at the door.
	hdr, sigs, problem, pcode, checkErr := e.checkFetched(d, l)
	if checkErr != nil {
		// The hub failed (e.g. the ОГРН lookup found the database down), not
		// the document: the call is on record as answered, the step retried.
		if err := writeLog(ctx, e.Pool, *entry); err != nil {
			return err
		}
		return fmt.Errorf("workflow: checking fetched document %s^%s: %w", l.root, l.ext, checkErr)
	}
	if problem != "" {
		entry.outcome, entry.code, entry.message = "permanent", pcode, problem
		return e.settle(ctx, job, l, LinkInvalid, uuid.Nil, pcode, problem, entry)
	}
	return pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		stored, _, err := e.Store.InsertDocument(ctx, tx, store.NewDocument{OrgID: l.orgID, SystemID: l.systemID, Kind: d.Kind,
			LocalID: hdr.ID.Extension, Content: d.Content, Header: hdr, Signatures: sigs})
		var conflict *store.ConflictError
		if errors.As(err, &conflict) {
			return e.settleTx(ctx, tx, job, l, LinkInvalid, uuid.Nil, codes.NotUniqueProvidedID, conflict.Error(), entry)
		}
		if err != nil {
			return err
		}
		entry.document = stored.ID
		return e.settleTx(ctx, tx, job, l, LinkFetched, stored.ID, "", "", entry)
	})
}

// checkFetched runs the intake checks on a fetched document, signatures
// included; it returns the parsed header and the verified signatures, or
// the problem and its code, or an error when the hub itself failed to
// check (then nothing about the document is known and the step is retried,
// never settled as invalid).
func (e *Engine) checkFetched(d *signed.Document, l linkRow) (*semd.Document, []store.NewSignature, string, string, error) {
	hdr, err := semd.ParseLimited(d.Content, intake.DocLimits(e.cfg)) // the door's limits
	if err != nil {
		var pe *semd.ParseError
		if errors.As(err, &pe) {
			return nil, nil, pe.Message, pe.Code, nil
		}
		return nil, nil, err.Error(), codes.InvalidContent, nil
	}
	if hdr.ID.Root != l.root || hdr.ID.Extension != l.ext {
		return nil, nil, fmt.Sprintf("the provider returned document %s for %s^%s", hdr.ID, l.root, l.ext), codes.AttributeMismatch, nil
	}
	kind, err := semd.Check(hdr, semd.Claims{Kind: d.Kind, SubmitterOrg: l.orgOID, Now: e.now()})
	if err != nil {
		var ce *semd.CheckError
		if errors.As(err, &ce) {
			return nil, nil, ce.Problems[0].Message, ce.Code(), nil
		}
		return nil, nil, err.Error(), codes.ValidationError, nil
	}
	sigs := wireSignatures(d.Signatures)
	if err := e.Signatures.Check(d.Content, hdr, kind, sigs, e.now()); err != nil {
		var ce *codes.Error
		if errors.As(err, &ce) {
			return nil, nil, ce.Message, ce.Code, nil
		}
		return nil, nil, "", "", err
	}
	return hdr, sigs, "", "", nil
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

func (e *Engine) markRetrying(ctx context.Context, l linkRow, code, msg string, entry *logEntry) error {
	return pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		if _, err := e.transition(ctx, tx, TrLinkRetry, l.referralID, l.ordinal, store.NullString(code), store.NullString(msg)); err != nil && !stale(err) {
			return err
		}
		return writeLog(ctx, tx, *entry)
	})
}

func (e *Engine) settle(ctx context.Context, job *river.Job[FetchArgs], l linkRow, state string, docID uuid.UUID, code, msg string, entry *logEntry) error {
	return pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		return e.settleTx(ctx, tx, job, l, state, docID, code, msg, entry)
	})
}

// settleTx records a link's final state, completes the fetch job and, if it
// was the last link of its referral to settle, queues the assembly — all in tx.
func (e *Engine) settleTx(ctx context.Context, tx pgx.Tx, job *river.Job[FetchArgs], l linkRow, state string, docID uuid.UUID, code, msg string, entry *logEntry) error {
	// Lock the referral: concurrent last-settlers serialise here, so exactly
	// one sees "no unsettled links left".
	var refState string
	if err := tx.QueryRow(ctx, `SELECT state FROM mse_referrals WHERE id = $1 FOR UPDATE`, l.referralID).Scan(&refState); err != nil {
		return err
	}
	if l.state == LinkPending || l.state == LinkRetrying { // else a re-run of a link already settled
		attempts := 0
		if entry.peerOrEmpty() != "" {
			attempts = 1
		}
		if _, err := e.transition(ctx, tx, linkSettles[state], l.referralID, l.ordinal, store.NullUUID(docID), attempts,
			store.NullString(code), store.NullString(msg)); err != nil && !stale(err) {
			return err
		}
	}
	if entry != nil && entry.operation != "" {
		if entry.subject == uuid.Nil {
			entry.subject = l.referralID
		}
		if err := writeLog(ctx, tx, *entry); err != nil {
			return err
		}
	}
	var open int
	if err := tx.QueryRow(ctx, `SELECT count(*) FROM mse_links WHERE referral_id = $1 AND state NOT IN ('fetched', 'unavailable', 'invalid')`,
		l.referralID).Scan(&open); err != nil {
		return err
	}
	if open == 0 && refState == RefAssembling {
		if _, err := e.River.InsertTx(ctx, tx, AssembleArgs{ReferralID: l.referralID}, nil); err != nil {
			return err
		}
	}
	return completeTx(ctx, tx, job)
}

var linkSettles = map[string]*Transition{LinkFetched: TrLinkFetched, LinkUnavailable: TrLinkUnavailable, LinkInvalid: TrLinkInvalid}

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

func (w *assembleWorker) Work(ctx context.Context, job *river.Job[AssembleArgs]) error {
	e := w.e
	return pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		var state string
		var systemID uuid.UUID
		if err := tx.QueryRow(ctx, `SELECT state, system_id FROM mse_referrals WHERE id = $1 FOR UPDATE`, job.Args.ReferralID).Scan(&state, &systemID); err != nil {
			return err
		}
		if state == RefAssembling {
			rows, err := tx.Query(ctx, `SELECT ordinal, doc_type, ref_root, ref_extension, state, coalesce(last_error_code, ''), coalesce(last_error, '')
				FROM mse_links WHERE referral_id = $1 AND state <> 'fetched' ORDER BY ordinal`, job.Args.ReferralID)
			if err != nil {
				return err
			}
			missing, err := pgx.CollectRows(rows, pgx.RowToMap)
			if err != nil {
				return err
			}
			if len(missing) == 0 {
				if _, err := e.transition(ctx, tx, TrReferralAssembled, job.Args.ReferralID); err != nil {
					return err // cannot be stale: the row is locked in an allowed state
				}
				if _, err := e.River.InsertTx(ctx, tx, SendReferralArgs{ReferralID: job.Args.ReferralID}, nil); err != nil {
					return err
				}
			} else {
				if _, err := e.transition(ctx, tx, TrReferralIncomplete, job.Args.ReferralID,
					fmt.Sprintf("%d linked document(s) could not be assembled; the package is held, not sent", len(missing))); err != nil {
					return err
				}
				if err := e.notify(ctx, tx, systemID, EventReferralIncomplete, job.Args.ReferralID, map[string]any{"referral_id": job.Args.ReferralID, "missing": missing}); err != nil {
					return err
				}
			}
		}
		return completeTx(ctx, tx, job)
	})
}

type sendReferralWorker struct {
	river.WorkerDefaults[SendReferralArgs]
	e *Engine
}

func (w *sendReferralWorker) Work(ctx context.Context, job *river.Job[SendReferralArgs]) error {
	e := w.e
	// A send an earlier run left under way (its process died) is an attempt too.
	if err := e.reap(ctx, job.JobRow, func(tx pgx.Tx, n int) error {
		for range n {
			if _, err := e.transition(ctx, tx, TrReferralSendRetry, job.Args.ReferralID, CodeKilled, killedMessage); err != nil && !stale(err) {
				return err
			}
		}
		return nil
	}); err != nil {
		return err
	}
	var state, orgOID, systemName string
	var docID, systemID uuid.UUID
	var generation int
	err := e.Pool.QueryRow(ctx, `SELECT r.state, r.document_id, r.generation, r.system_id, o.oid, s.name
		FROM mse_referrals r JOIN organizations o ON o.id = r.organization_id JOIN information_systems s ON s.id = r.system_id
		WHERE r.id = $1`, job.Args.ReferralID).Scan(&state, &docID, &generation, &systemID, &orgOID, &systemName)
	if err != nil {
		return err
	}
	if state != RefSending {
		return nil
	}
	pkgDocs, err := e.packageDocs(ctx, job.Args.ReferralID, docID)
	if err != nil {
		return err
	}
	if x, err := e.checkCertificates(ctx, e.Pool, pkgDocs); err != nil {
		return err
	} else if x != nil {
		return e.blockReferral(ctx, job, docID, systemID, x)
	}
	if err := e.gate(mse.Service); err != nil {
		return err
	}
	pkg, err := e.loadPackage(ctx, pkgDocs)
	if err != nil {
		return err
	}
	pkg.MessageID = soapx.MessageID("mse-send", job.Args.ReferralID.String(), strconv.Itoa(generation))
	pkg.SenderOrgOID, pkg.SenderSystem = orgOID, systemName
	entry := logEntry{direction: "out", peer: mse.Service, operation: "SendReferral", subject: job.Args.ReferralID, document: docID, messageID: pkg.MessageID}
	cctx, obs, err := e.startCall(ctx, job.JobRow, &entry)
	if err != nil {
		return err
	}
	start := time.Now()
	rc, callErr := e.mse.SendReferral(cctx, *pkg)
	entry.finish(obs, start, callErr)
	ctx, cancel := afterCall(ctx)
	defer cancel()
	code, msg := entry.code, entry.message
	if callErr != nil {
		permanent := soapx.ClassOf(callErr) == soapx.Permanent || job.Attempt >= job.MaxAttempts
		if err := pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
			t := TrReferralSendRetry
			if permanent {
				t = TrReferralFailed
			}
			_, err := e.transition(ctx, tx, t, job.Args.ReferralID, store.NullString(code), store.NullString(msg))
			if err != nil && !stale(err) {
				return err
			}
			if permanent && err == nil {
				if err := e.notify(ctx, tx, systemID, EventReferralFailed, job.Args.ReferralID, map[string]any{"referral_id": job.Args.ReferralID, "code": code, "message": msg}); err != nil {
					return err
				}
			}
			return writeLog(ctx, tx, entry)
		}); err != nil {
			return err
		}
		return e.retryDecision(ctx, job.JobRow, mse.Service, callErr)
	}
	e.breaks.success(mse.Service)
	if rc.Duplicate {
		entry.outcome = "duplicate"
	}
	return pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		if err := writeLog(ctx, tx, entry); err != nil {
			return err
		}
		_, err := e.transition(ctx, tx, TrReferralSent, job.Args.ReferralID, rc.CaseID, pkg.MessageID)
		if stale(err) {
			// The bureau's answer arrived first (a result or return notice
			// stored while this answer was on its way): keep what the send
			// tells, not the state it would set.
			if _, err := tx.Exec(ctx, `UPDATE mse_referrals SET case_id = coalesce(case_id, $2), message_id = coalesce(message_id, $3),
				sent_at = coalesce(sent_at, now()), attempts = attempts + 1 WHERE id = $1`, job.Args.ReferralID, rc.CaseID, pkg.MessageID); err != nil {
				return err
			}
			return completeTx(ctx, tx, job)
		}
		if err != nil {
			return err
		}
		if _, err := e.River.InsertTx(ctx, tx, StatusArgs{ReferralID: job.Args.ReferralID}, &river.InsertOpts{ScheduledAt: e.now().Add(e.cfg.StatusPollInterval)}); err != nil {
			return err
		}
		if err := e.notify(ctx, tx, systemID, EventReferralSent, job.Args.ReferralID, map[string]any{"referral_id": job.Args.ReferralID, "case_id": rc.CaseID}); err != nil {
			return err
		}
		return completeTx(ctx, tx, job)
	})
}

// packageDocs lists the documents a referral's package carries: the
// referral itself, then its fetched links in order.
func (e *Engine) packageDocs(ctx context.Context, referralID, docID uuid.UUID) ([]uuid.UUID, error) {
	rows, err := e.Pool.Query(ctx, `SELECT document_id FROM mse_links WHERE referral_id = $1 AND state = 'fetched' ORDER BY ordinal`, referralID)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[uuid.UUID])
	if err != nil {
		return nil, err
	}
	return append([]uuid.UUID{docID}, ids...), nil
}

// loadPackage loads the documents of packageDocs as they travel.
func (e *Engine) loadPackage(ctx context.Context, docs []uuid.UUID) (*mse.Referral, error) {
	ref, err := e.loadSigned(ctx, docs[0])
	if err != nil {
		return nil, err
	}
	pkg := &mse.Referral{Referral: *ref}
	for _, id := range docs[1:] {
		d, err := e.loadSigned(ctx, id)
		if err != nil {
			return nil, err
		}
		pkg.Linked = append(pkg.Linked, *d)
	}
	return pkg, nil
}

func (e *Engine) loadSigned(ctx context.Context, docID uuid.UUID) (*signed.Document, error) {
	d := &signed.Document{}
	if err := e.Pool.QueryRow(ctx, `SELECT kind, cda_root, cda_extension, content FROM documents WHERE id = $1`, docID).
		Scan(&d.Kind, &d.Root, &d.Extension, &d.Content); err != nil {
		return nil, fmt.Errorf("workflow: load document %s: %w", docID, err)
	}
	rows, err := e.Pool.Query(ctx, `SELECT role, cms FROM document_signatures WHERE document_id = $1 ORDER BY ordinal`, docID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var role string
		var cms []byte
		if err := rows.Scan(&role, &cms); err != nil {
			return nil, err
		}
		r := signed.RoleDoctor
		if role == store.SignerOrganization {
			r = signed.RoleOrganization
		}
		d.Signatures = append(d.Signatures, signed.Signature{Role: r, CMS: cms})
	}
	return d, rows.Err()
}

type statusWorker struct {
	river.WorkerDefaults[StatusArgs]
	e *Engine
}

func (w *statusWorker) Work(ctx context.Context, job *river.Job[StatusArgs]) error {
	e := w.e
	if err := e.reap(ctx, job.JobRow, nil); err != nil {
		return err
	}
	var state string
	var caseID *string
	if err := e.Pool.QueryRow(ctx, `SELECT state, case_id FROM mse_referrals WHERE id = $1`, job.Args.ReferralID).Scan(&state, &caseID); err != nil {
		return err
	}
	if (state != RefSent && state != RefAccepted) || caseID == nil {
		return nil // settled by a result or a return notice
	}
	if err := e.gate(mse.Service); err != nil {
		return err
	}
	entry := logEntry{direction: "out", peer: mse.Service, operation: "GetReferralStatus", subject: job.Args.ReferralID}
	cctx, obs, err := e.startCall(ctx, job.JobRow, &entry)
	if err != nil {
		return err
	}
	start := time.Now()
	st, callErr := e.mse.GetReferralStatus(cctx, *caseID)
	entry.finish(obs, start, callErr)
	ctx, cancel := afterCall(ctx)
	defer cancel()
	if err := pgx.BeginFunc(ctx, e.Pool, func(tx pgx.Tx) error {
		if callErr == nil && state == RefSent && (st.Status == "REGISTERED" || st.Status == "EXAM_SCHEDULED") {
			if _, err := e.transition(ctx, tx, TrReferralAccepted, job.Args.ReferralID); err != nil && !stale(err) {
				return err
			}
		}
		return writeLog(ctx, tx, entry)
	}); err != nil {
		return err
	}
	if callErr != nil {
		return e.retryDecision(ctx, job.JobRow, mse.Service, callErr)
	}
	e.breaks.success(mse.Service)
	return river.JobSnooze(e.cfg.StatusPollInterval) // keep following until a result settles it
}
