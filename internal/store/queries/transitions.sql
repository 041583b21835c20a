-- The state transitions of the three flows (internal/store/flows.go holds
-- their table: names, from-states, to-states). Each is one guarded UPDATE:
-- it changes the row only while the row is in one of @from, so the slower
-- of two racing steps changes nothing (and its caller hears
-- ErrStaleTransition) instead of overwriting the faster one's state.

-- name: ReferralAssembled :one
UPDATE mse_referrals SET state = @to_state, assembled_at = now(), updated_at = now()
WHERE id = @id AND state = ANY(@from_states::text[]) RETURNING id;

-- name: ReferralIncomplete :one
UPDATE mse_referrals SET state = @to_state, assembled_at = now(), updated_at = now(),
    last_error_code = 'INCOMPLETE_PACKAGE', last_error = @last_error
WHERE id = @id AND state = ANY(@from_states::text[]) RETURNING id;

-- name: ReferralSendAttempt :one
-- A send attempt that did not get through: retried (to sending) or given up (to failed).
UPDATE mse_referrals SET state = @to_state, attempts = attempts + 1, last_error_code = @last_error_code,
    last_error = @last_error, updated_at = now()
WHERE id = @id AND state = ANY(@from_states::text[]) RETURNING id;

-- name: ReferralSent :one
UPDATE mse_referrals SET state = @to_state, attempts = attempts + 1, case_id = @case_id, message_id = @message_id,
    sent_at = now(), updated_at = now(), last_error_code = NULL, last_error = NULL
WHERE id = @id AND state = ANY(@from_states::text[]) RETURNING id;

-- name: ReferralAccepted :one
UPDATE mse_referrals SET state = @to_state, accepted_at = now(), updated_at = now()
WHERE id = @id AND state = ANY(@from_states::text[]) RETURNING id;

-- name: ReferralResult :one
UPDATE mse_referrals SET state = @to_state, result_at = now(), case_id = coalesce(case_id, @case_id), updated_at = now()
WHERE id = @id AND state = ANY(@from_states::text[]) RETURNING id;

-- name: ReferralReturned :one
UPDATE mse_referrals SET state = @to_state, returned_at = now(), case_id = coalesce(case_id, @case_id),
    return_reason = coalesce(sqlc.narg(reason), return_reason), updated_at = now()
WHERE id = @id AND state = ANY(@from_states::text[]) RETURNING id;

-- name: ReferralBlocked :one
UPDATE mse_referrals SET state = @to_state, last_error_code = @last_error_code, last_error = @last_error, updated_at = now()
WHERE id = @id AND state = ANY(@from_states::text[]) RETURNING id;

-- name: ReferralRefetch :one
UPDATE mse_referrals SET state = @to_state, generation = generation + 1, deadline_at = @deadline_at,
    last_error_code = NULL, last_error = NULL, updated_at = now()
WHERE id = @id AND state = ANY(@from_states::text[]) RETURNING id;

-- name: ReferralsSuperseded :execrows
-- Retires the referrals of older versions (same organisation and setId,
-- lower versionNumber) of document @new_document.
UPDATE mse_referrals r SET state = @to_state, superseded_by = @new_document, updated_at = now()
FROM documents d
WHERE d.id = r.document_id AND d.organization_id = @organization_id AND d.set_root = @set_root
    AND d.set_extension = @set_extension AND d.version_number < @version_number::integer AND r.state = ANY(@from_states::text[]);

-- name: LinkRetry :one
UPDATE mse_links SET state = @to_state, attempts = attempts + 1, last_error_code = @last_error_code,
    last_error = @last_error, updated_at = now()
WHERE referral_id = @referral_id AND ordinal = @ordinal AND state = ANY(@from_states::text[]) RETURNING referral_id;

-- name: LinkSettle :one
-- Also returns how many of the referral's other links are still open (the
-- statement's snapshot, without this link): with the referral locked first
-- (LockReferral), the settler that finds none is the last.
UPDATE mse_links SET state = @to_state, document_id = coalesce(sqlc.narg(document_id), document_id),
    attempts = attempts + @add_attempts::integer,
    last_error_code = coalesce(sqlc.narg(last_error_code), last_error_code),
    last_error = coalesce(sqlc.narg(last_error), last_error), updated_at = now()
WHERE mse_links.referral_id = @referral_id AND mse_links.ordinal = @ordinal AND mse_links.state = ANY(@from_states::text[])
RETURNING mse_links.referral_id, (SELECT count(*) FROM mse_links o WHERE o.referral_id = @referral_id AND o.ordinal <> @ordinal
    AND o.state NOT IN ('fetched', 'unavailable', 'invalid'))::bigint AS others_open;

-- name: LinksRefetch :execrows
UPDATE mse_links SET state = @to_state, attempts = 0, updated_at = now()
WHERE referral_id = @referral_id AND state = ANY(@from_states::text[]);

-- name: DeliveryAttempt :one
-- A delivery attempt that did not get through: retried (to retrying) or given up (to failed).
UPDATE deliveries SET state = @to_state, attempts = attempts + 1, last_error_code = @last_error_code,
    last_error = @last_error, updated_at = now()
WHERE id = @id AND state = ANY(@from_states::text[]) RETURNING id;

-- name: DeliveryDelivered :one
UPDATE deliveries SET state = @to_state, attempts = attempts + 1, receipt_id = @receipt_id, duplicate = @duplicate,
    delivered_at = now(), updated_at = now(), last_error_code = NULL, last_error = NULL
WHERE id = @id AND state = ANY(@from_states::text[]) RETURNING id;

-- name: DeliveryBlocked :one
UPDATE deliveries SET state = @to_state, last_error_code = @last_error_code, last_error = @last_error, updated_at = now()
WHERE id = @id AND state = ANY(@from_states::text[]) RETURNING id;

-- name: DeliveryReplay :one
UPDATE deliveries SET state = @to_state, generation = generation + 1, snoozes = 0,
    last_error_code = NULL, last_error = NULL, updated_at = now()
WHERE id = @id AND state = ANY(@from_states::text[]) RETURNING id;

-- name: DeliveriesSuperseded :execrows
UPDATE deliveries dl SET state = @to_state, superseded_by = @new_document, updated_at = now()
FROM documents d
WHERE d.id = dl.document_id AND d.organization_id = @organization_id AND d.set_root = @set_root
    AND d.set_extension = @set_extension AND d.version_number < @version_number::integer AND dl.state = ANY(@from_states::text[])
    AND dl.event <> 'NEW_MEDICAL_DOCUMENTS'; -- a citizen's daily notice covers other documents too: it stays

-- The state a refused transition found (for its log line and error).

-- name: ReferralState :one
SELECT state FROM mse_referrals WHERE id = @id;

-- name: LinkState :one
SELECT state FROM mse_links WHERE referral_id = @referral_id AND ordinal = @ordinal;

-- name: DeliveryState :one
SELECT state FROM deliveries WHERE id = @id;
