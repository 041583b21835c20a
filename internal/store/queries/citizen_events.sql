-- ЕПГУ notices of MSE events to citizens (issue 15): one delivery per
-- referral document and event, the deliveries' unique key keeping it so.

-- name: CreateEventDelivery :one
-- Creates the delivery of an event unless it exists; no row when it does.
INSERT INTO deliveries (id, document_id, organization_id, recipient, state, message_id, event)
VALUES (@id, @document_id, @organization_id, 'epgu', @state, @message_id, @event)
ON CONFLICT (document_id, recipient, event) DO NOTHING
RETURNING id;

-- name: DeliveryNotNotifiable :one
-- The citizen cannot be told on ЕПГУ: the attempt is counted, the reason kept.
UPDATE deliveries SET state = @to_state, attempts = attempts + @attempts::integer, last_error_code = @last_error_code,
    last_error = @last_error, updated_at = now()
WHERE id = @id AND state = ANY(@from_states::text[]) RETURNING id;

-- name: ReferralDocument :one
SELECT document_id, organization_id FROM mse_referrals WHERE id = @id;
