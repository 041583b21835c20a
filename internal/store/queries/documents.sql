-- Documents taken in at the door and their detached signatures. @org NULL:
-- any organisation (operators).

-- name: InsertDocument :one
-- No row when the CDA id is taken (an idempotent repeat, or a conflict):
-- the key goes into document_keys first (the uniqueness across every
-- monthly partition, migration 0011) and the document only if it was new.
WITH k AS (
    INSERT INTO document_keys (cda_root, cda_extension, document_id) VALUES (@cda_root, @cda_extension, @id)
    ON CONFLICT (cda_root, cda_extension) DO NOTHING RETURNING document_id
)
INSERT INTO documents (id, organization_id, system_id, kind, doc_type, local_id, cda_root, cda_extension,
    set_root, set_extension, version_number, title, effective_time, patient_snils, patient_enp,
    series, number, content, content_sha256, header)
SELECT k.document_id, @organization_id, @system_id, @kind, @doc_type, @local_id, @cda_root, @cda_extension,
    @set_root, @set_extension, @version_number, @title, @effective_time, sqlc.narg(patient_snils), sqlc.narg(patient_enp),
    sqlc.narg(series), sqlc.narg(number), @content, @content_sha256, @header
FROM k
RETURNING received_at;

-- name: DocumentByCDA :one
SELECT d.id, d.content_sha256, d.organization_id FROM document_keys k JOIN documents d ON d.id = k.document_id
WHERE k.cda_root = @cda_root AND k.cda_extension = @cda_extension;

-- name: InsertSignatures :exec
-- All of a document's signatures in one statement. Arrays cannot carry
-- NULLs through sqlc's types, so a signature not verified (signed false)
-- stores NULL signer columns, and "" is NULL for the ОГРН and СНИЛС.
INSERT INTO document_signatures (document_id, ordinal, role, cms, cms_sha256,
    signer_subject, signer_issuer, signer_serial, signer_ogrn, signer_snils, key_bits, cert_not_before, cert_not_after, cert_sha256, signer_issuer_der)
SELECT @document_id, (@ordinals::integer[])[i], (@roles::text[])[i], (@cms::bytea[])[i], (@cms_sha256s::bytea[])[i],
    CASE WHEN (@signed::boolean[])[i] THEN (@subjects::text[])[i] END,
    CASE WHEN (@signed::boolean[])[i] THEN (@issuers::text[])[i] END,
    CASE WHEN (@signed::boolean[])[i] THEN (@serials::text[])[i] END,
    nullif((@ogrns::text[])[i], ''), nullif((@snilses::text[])[i], ''),
    CASE WHEN (@signed::boolean[])[i] THEN (@key_bits::integer[])[i] END,
    CASE WHEN (@signed::boolean[])[i] THEN (@not_befores::timestamptz[])[i] END,
    CASE WHEN (@signed::boolean[])[i] THEN (@not_afters::timestamptz[])[i] END,
    CASE WHEN (@signed::boolean[])[i] THEN (@cert_sha256s::bytea[])[i] END,
    CASE WHEN (@signed::boolean[])[i] THEN (@issuer_ders::bytea[])[i] END
FROM generate_series(1, cardinality(@ordinals::integer[])) AS i;

-- name: GetDocument :one
SELECT d.id, d.organization_id, d.system_id, d.kind, d.doc_type, d.local_id, d.cda_root, d.cda_extension,
    d.set_root, d.set_extension, d.version_number, d.title, d.effective_time, coalesce(d.patient_snils, '')::text AS patient_snils,
    coalesce(d.patient_enp, '')::text AS patient_enp, coalesce(d.series, '')::text AS series, coalesce(d.number, '')::text AS number,
    length(d.content)::integer AS size, d.content_sha256, d.received_at, d.header
FROM documents d
WHERE d.id = @id AND (sqlc.narg(org)::uuid IS NULL OR d.organization_id = sqlc.narg(org));

-- name: DocumentSignatures :many
SELECT ordinal, role, length(cms)::integer AS size, cms_sha256, signer_subject, coalesce(signer_issuer, '')::text AS signer_issuer,
    coalesce(signer_serial, '')::text AS signer_serial, coalesce(signer_ogrn, '')::text AS signer_ogrn,
    coalesce(signer_snils, '')::text AS signer_snils, coalesce(key_bits, 0)::integer AS key_bits, cert_not_before, cert_not_after
FROM document_signatures WHERE document_id = @document_id ORDER BY ordinal;

-- name: CheckDocument :one
SELECT id FROM documents WHERE id = @id AND (sqlc.narg(org)::uuid IS NULL OR organization_id = sqlc.narg(org));

-- name: DocumentContent :one
SELECT content FROM documents WHERE id = @id AND (sqlc.narg(org)::uuid IS NULL OR organization_id = sqlc.narg(org));

-- name: ListDocuments :many
-- A page of one organisation's documents, newest first (keyset on the
-- UUIDv7 id: a NULL before is the first page); every NULL filter selects
-- all. The organisation is a plain equality, not an optional filter, so a
-- cached generic plan still walks documents_org_id_idx.
SELECT d.id, d.organization_id, d.system_id, d.kind, d.doc_type, d.local_id, d.cda_root, d.cda_extension,
    d.set_root, d.set_extension, d.version_number, d.title, d.effective_time, coalesce(d.patient_snils, '')::text AS patient_snils,
    coalesce(d.patient_enp, '')::text AS patient_enp, coalesce(d.series, '')::text AS series, coalesce(d.number, '')::text AS number,
    length(d.content)::integer AS size, d.content_sha256, d.received_at
FROM documents d
WHERE d.organization_id = @org
    AND (sqlc.narg(kind)::text IS NULL OR d.kind = sqlc.narg(kind))
    AND (sqlc.narg(patient_snils)::text IS NULL OR d.patient_snils = sqlc.narg(patient_snils))
    AND (sqlc.narg(system_id)::uuid IS NULL OR d.system_id = sqlc.narg(system_id))
    AND (sqlc.narg(since)::timestamptz IS NULL OR d.received_at >= sqlc.narg(since))
    AND (sqlc.narg(until)::timestamptz IS NULL OR d.received_at < sqlc.narg(until))
    AND (sqlc.narg(before)::uuid IS NULL OR d.id < sqlc.narg(before))
ORDER BY d.id DESC LIMIT @max_items::integer;

-- name: ListAllDocuments :many
-- ListDocuments over every organisation (operators).
SELECT d.id, d.organization_id, d.system_id, d.kind, d.doc_type, d.local_id, d.cda_root, d.cda_extension,
    d.set_root, d.set_extension, d.version_number, d.title, d.effective_time, coalesce(d.patient_snils, '')::text AS patient_snils,
    coalesce(d.patient_enp, '')::text AS patient_enp, coalesce(d.series, '')::text AS series, coalesce(d.number, '')::text AS number,
    length(d.content)::integer AS size, d.content_sha256, d.received_at
FROM documents d
WHERE true
    AND (sqlc.narg(kind)::text IS NULL OR d.kind = sqlc.narg(kind))
    AND (sqlc.narg(patient_snils)::text IS NULL OR d.patient_snils = sqlc.narg(patient_snils))
    AND (sqlc.narg(system_id)::uuid IS NULL OR d.system_id = sqlc.narg(system_id))
    AND (sqlc.narg(since)::timestamptz IS NULL OR d.received_at >= sqlc.narg(since))
    AND (sqlc.narg(until)::timestamptz IS NULL OR d.received_at < sqlc.narg(until))
    AND (sqlc.narg(before)::uuid IS NULL OR d.id < sqlc.narg(before))
ORDER BY d.id DESC LIMIT @max_items::integer;
