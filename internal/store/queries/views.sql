-- What the API shows of the flows: referrals with their links, results,
-- deliveries, and the troubles operators look at. @org NULL: any
-- organisation (operators).

-- name: ReferralView :one
SELECT r.id, r.document_id, d.cda_root, d.cda_extension, r.state, r.attempts, r.case_id, r.return_reason,
    r.last_error_code, r.last_error, r.deadline_at, r.received_at, r.assembled_at, r.sent_at, r.accepted_at, r.returned_at, r.result_at
FROM mse_referrals r JOIN documents d ON d.id = r.document_id
WHERE (r.id = @id OR r.document_id = @id) AND (sqlc.narg(org)::uuid IS NULL OR r.organization_id = sqlc.narg(org));

-- name: ReferralLinks :many
SELECT ordinal, doc_type, ref_root, ref_extension, state, document_id, attempts, last_error_code, last_error, updated_at
FROM mse_links WHERE referral_id = @referral_id ORDER BY ordinal;

-- name: LatestResult :one
-- The latest result or return notice of a referral. One that failed the
-- door's checks is kept for operators, never handed to the МИС (@org set).
SELECT id, referral_id, message_id, case_id, type, reason, kind, referral_root, referral_extension, cda_root, cda_extension,
    check_error, received_at, content, signatures
FROM mse_results
WHERE referral_id = (SELECT r.id FROM mse_referrals r WHERE r.id = @referral OR r.document_id = @referral)
    AND (sqlc.narg(org)::uuid IS NULL OR check_error IS NULL)
ORDER BY id DESC LIMIT 1;

-- name: ResultsFeed :many
-- Results and return notices after a cursor, oldest first: of @org's
-- referrals and passing the checks; or (@orphans) the unmatched and the
-- failed ones, for operators.
SELECT id, referral_id, message_id, case_id, type, reason, kind, referral_root, referral_extension, cda_root, cda_extension,
    check_error, received_at, content, signatures
FROM mse_results
WHERE id > @after AND (sqlc.narg(org)::uuid IS NULL OR organization_id = sqlc.narg(org))
    AND (NOT @orphans::boolean OR referral_id IS NULL OR check_error IS NOT NULL)
    AND (@orphans::boolean OR sqlc.narg(org)::uuid IS NULL OR check_error IS NULL)
ORDER BY id LIMIT @max_items::integer;

-- name: DocumentDeliveries :many
SELECT * FROM deliveries WHERE document_id = @document_id AND (sqlc.narg(org)::uuid IS NULL OR organization_id = sqlc.narg(org))
ORDER BY recipient;

-- name: DeliveryByID :one
SELECT * FROM deliveries WHERE id = @id;

-- name: TroubledDeliveries :many
-- Deliveries failed or blocked; pending/retrying for longer than
-- @stuck_after since created, or snoozed @snooze_trouble times.
SELECT sqlc.embed(dl),
    (CASE WHEN state IN ('failed', 'blocked_certificate') THEN state WHEN snoozes >= @snooze_trouble::integer THEN 'snoozed_repeatedly' ELSE 'overdue' END)::text AS reason,
    (CASE WHEN state IN ('failed', 'blocked_certificate') THEN updated_at ELSE created_at END)::timestamptz AS since
FROM deliveries dl
WHERE state IN ('failed', 'blocked_certificate')
    OR (state IN ('pending', 'retrying') AND (created_at < now() - @stuck_after::interval OR snoozes >= @snooze_trouble::integer))
ORDER BY dl.created_at LIMIT 500;

-- name: TroubledReferrals :many
-- Referrals incomplete, failed or blocked; under way for longer than
-- @stuck_after in their state (sending: since assembled); sent/accepted
-- with no result @result_deadline after sending.
SELECT id, reason::text AS reason, since::timestamptz AS since FROM (
    SELECT id, received_at,
        CASE WHEN state IN ('incomplete', 'failed', 'blocked_certificate') THEN state
            WHEN state IN ('sent', 'accepted') THEN 'no_result' ELSE 'overdue' END AS reason,
        CASE WHEN state IN ('sent', 'accepted') THEN sent_at
            WHEN state = 'sending' THEN coalesce(assembled_at, updated_at) ELSE updated_at END AS since,
        state
    FROM mse_referrals
    WHERE state IN ('incomplete', 'failed', 'blocked_certificate', 'received', 'assembling', 'sending', 'sent', 'accepted')) r
WHERE reason <> 'overdue' AND reason <> 'no_result'
    OR (reason = 'overdue' AND since < now() - @stuck_after::interval)
    OR (reason = 'no_result' AND since < now() - @result_deadline::interval)
ORDER BY received_at LIMIT 500;
