-- The certificate delivery flow's reads and writes besides its state transitions.

-- name: CreateDelivery :exec
INSERT INTO deliveries (id, document_id, organization_id, recipient, state, message_id)
VALUES (@id, @document_id, @organization_id, @recipient, @state, @message_id);

-- name: DeliveryToSend :one
SELECT dl.document_id, dl.organization_id, dl.recipient, dl.state, dl.message_id, dl.event, o.oid AS org_oid,
    doc.kind, coalesce(doc.series, '')::text AS series, coalesce(doc.number, '')::text AS number,
    coalesce(doc.patient_snils, '')::text AS patient_snils, doc.cda_root, doc.cda_extension
FROM deliveries dl JOIN documents doc ON doc.id = dl.document_id JOIN organizations o ON o.id = dl.organization_id
WHERE dl.id = @id;

-- name: CountSnooze :exec
UPDATE deliveries SET snoozes = snoozes + 1 WHERE id = @id;

-- name: LockDeliveryForReplay :one
SELECT dl.state, dl.recipient, dl.document_id, d.kind, d.content, o.oid AS org_oid
FROM deliveries dl JOIN documents d ON d.id = dl.document_id JOIN organizations o ON o.id = dl.organization_id
WHERE dl.id = @id FOR UPDATE OF dl;
