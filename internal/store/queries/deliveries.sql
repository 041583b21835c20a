-- The certificate delivery flow's reads and writes besides its state transitions.

-- name: CreateDelivery :exec
INSERT INTO deliveries (id, document_id, organization_id, recipient, state, message_id)
VALUES (@id, @document_id, @organization_id, @recipient, @state, @message_id);

-- name: DeliveryWithSigners :many
-- A delivery with what its call needs and its document's signatures, in
-- one round trip: one row per signature (ordered) with the certificate
-- facts the gate checks; with @with_content (a recipient that carries
-- the document, ЕГР ЗАГС) also the CMS blobs and, on the first row only,
-- the document's content.
SELECT dl.document_id, dl.organization_id, dl.recipient, dl.state, dl.message_id, dl.event, o.oid AS org_oid,
    doc.kind, coalesce(doc.series, '')::text AS series, coalesce(doc.number, '')::text AS number,
    coalesce(doc.patient_snils, '')::text AS patient_snils, doc.cda_root, doc.cda_extension,
    (CASE WHEN @with_content::boolean AND row_number() OVER (ORDER BY s.ordinal) = 1 THEN doc.content END)::bytea AS content,
    coalesce(s.role, '')::text AS role, (CASE WHEN @with_content::boolean THEN s.cms END)::bytea AS cms,
    coalesce(s.signer_subject, '')::text AS signer_subject, coalesce(s.signer_serial, '')::text AS signer_serial,
    s.cert_not_before, s.cert_not_after, s.signer_issuer_der
FROM deliveries dl JOIN organizations o ON o.id = dl.organization_id
    -- The documents and their signatures are read by id through LATERAL …
    -- OFFSET 0, so each is an index lookup in one partition: as plain joins
    -- the planner hashed the whole documents table (a sequential scan of
    -- every partition per delivery, growing with what is stored;
    -- TestDeliveryReadsByIndex).
    CROSS JOIN LATERAL (SELECT d.kind, d.series, d.number, d.patient_snils, d.cda_root, d.cda_extension, d.content
        FROM documents d WHERE d.id = dl.document_id OFFSET 0) doc
    LEFT JOIN LATERAL (SELECT x.ordinal, x.role, x.cms, x.signer_subject, x.signer_serial, x.cert_not_before, x.cert_not_after, x.signer_issuer_der
        FROM document_signatures x WHERE x.document_id = dl.document_id OFFSET 0) s ON true
WHERE dl.id = @id
ORDER BY s.ordinal;

-- name: CountSnooze :exec
UPDATE deliveries SET snoozes = snoozes + 1 WHERE id = @id;

-- name: LockDeliveryForReplay :one
SELECT dl.state, dl.recipient, dl.document_id, d.kind, d.content, o.oid AS org_oid
FROM deliveries dl JOIN documents d ON d.id = dl.document_id JOIN organizations o ON o.id = dl.organization_id
WHERE dl.id = @id FOR UPDATE OF dl;
