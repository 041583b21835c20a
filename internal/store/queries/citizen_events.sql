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

-- name: AwaitDocumentNotice :exec
INSERT INTO epgu_document_notices (document_id, patient_snils, day) VALUES (@document_id, @patient_snils, @day)
ON CONFLICT (document_id) DO NOTHING;

-- name: OpenNoticeBatches :many
-- Citizens and days before @before with documents not yet batched, with
-- the first document (and its organisation) of each.
SELECT n.patient_snils, n.day, (array_agg(n.document_id ORDER BY n.created_at, n.document_id))[1]::uuid AS first_document,
    (array_agg(d.organization_id ORDER BY n.created_at, n.document_id))[1]::uuid AS organization_id
FROM epgu_document_notices n JOIN documents d ON d.id = n.document_id
WHERE n.delivery_id IS NULL AND n.day < @before::date
GROUP BY n.patient_snils, n.day ORDER BY n.day LIMIT 500;

-- name: CreateNoticeBatch :one
-- The batch of a citizen's day unless it exists; no row when it does.
INSERT INTO epgu_notice_batches (patient_snils, day, delivery_id) VALUES (@patient_snils, @day, @delivery_id)
ON CONFLICT (patient_snils, day) DO NOTHING RETURNING delivery_id;

-- name: FillNoticeBatch :exec
UPDATE epgu_document_notices SET delivery_id = @delivery_id
WHERE patient_snils = @patient_snils AND day = @day AND delivery_id IS NULL;

-- name: NoticeBatchDocuments :many
-- What a batch tells: each document's kind, organisation and date — never its content.
SELECT d.kind, o.name AS organization, d.effective_time
FROM epgu_document_notices n JOIN documents d ON d.id = n.document_id JOIN organizations o ON o.id = d.organization_id
WHERE n.delivery_id = @delivery_id ORDER BY n.created_at, n.document_id;
