-- The MSE referral flow's reads and writes besides its state transitions.

-- name: CreateReferral :exec
INSERT INTO mse_referrals (id, document_id, organization_id, system_id, state, deadline_at)
VALUES (@id, @document_id, @organization_id, @system_id, @state, @deadline_at);

-- name: CreateLink :exec
INSERT INTO mse_links (referral_id, ordinal, doc_type, ref_root, ref_extension, series, number, state)
VALUES (@referral_id, @ordinal, @doc_type, @ref_root, @ref_extension, @series, @number, @state);

-- name: LinkToFetch :one
-- A link with what its fetch needs, in one round trip: the referral's
-- organisation, system, its provider URL and the package deadline, and
-- the id of a document the organisation already holds under the link's
-- CDA id (the nil UUID: none; then the provider is asked).
SELECT l.referral_id, l.ordinal, l.doc_type, l.ref_root, l.ref_extension, l.state,
    r.organization_id, r.system_id, o.oid AS org_oid, r.deadline_at, s.provider_url,
    coalesce((SELECT d.id FROM document_keys k JOIN documents d ON d.id = k.document_id
        WHERE k.cda_root = l.ref_root AND k.cda_extension = l.ref_extension AND d.organization_id = r.organization_id
        LIMIT 1), '00000000-0000-0000-0000-000000000000')::uuid AS held_document_id
FROM mse_links l JOIN mse_referrals r ON r.id = l.referral_id JOIN organizations o ON o.id = r.organization_id
    JOIN information_systems s ON s.id = r.system_id
WHERE l.referral_id = @referral_id AND l.ordinal = @ordinal;

-- name: LockReferral :one
-- Locks a referral: concurrent steps on it (the last links settling, an
-- assembly, a re-fetch) serialise here.
SELECT state, system_id FROM mse_referrals WHERE id = @id FOR UPDATE;

-- name: OpenLinks :one
SELECT count(*) FROM mse_links WHERE referral_id = @referral_id AND state NOT IN ('fetched', 'unavailable', 'invalid');

-- name: MissingLinks :many
SELECT ordinal, doc_type, ref_root, ref_extension, state, coalesce(last_error_code, '')::text AS last_error_code,
    coalesce(last_error, '')::text AS last_error
FROM mse_links WHERE referral_id = @referral_id AND state <> 'fetched' ORDER BY ordinal;

-- name: PendingLinks :many
SELECT ordinal FROM mse_links WHERE referral_id = @referral_id AND state = 'pending' ORDER BY ordinal;

-- name: ReferralToSend :one
SELECT r.state, r.document_id, r.generation, r.system_id, o.oid AS org_oid, s.name AS system_name
FROM mse_referrals r JOIN organizations o ON o.id = r.organization_id JOIN information_systems s ON s.id = r.system_id
WHERE r.id = @id;

-- name: KeepLateSend :exec
-- The bureau's answer to a send arrived after its result or return notice
-- had settled the referral: keep what the send told, not its state.
UPDATE mse_referrals SET case_id = coalesce(case_id, @case_id), message_id = coalesce(message_id, @message_id),
    sent_at = coalesce(sent_at, now()), attempts = attempts + 1
WHERE id = @id;

-- name: PackageToSend :many
-- A referral's package as it travels, in one round trip: the referral's
-- document (pos 0), then its fetched links' documents in order; one row
-- per signature (ordered), carrying its CMS and the certificate facts the
-- gate checks; the document's content on its first row only, so it
-- crosses the wire once.
WITH pkg AS (
    SELECT r.document_id, 0::integer AS pos FROM mse_referrals r WHERE r.id = @referral_id
    UNION ALL
    SELECT l.document_id, l.ordinal AS pos FROM mse_links l
    WHERE l.referral_id = @referral_id AND l.state = 'fetched' AND l.document_id IS NOT NULL
)
SELECT p.pos::integer AS pos, d.id, d.kind, d.cda_root, d.cda_extension,
    (CASE WHEN row_number() OVER (PARTITION BY p.pos ORDER BY s.ordinal) = 1 THEN d.content END)::bytea AS content,
    coalesce(s.role, '')::text AS role, s.cms::bytea AS cms, coalesce(s.signer_subject, '')::text AS signer_subject,
    coalesce(s.signer_serial, '')::text AS signer_serial, s.cert_not_before, s.cert_not_after, s.signer_issuer_der
FROM pkg p JOIN documents d ON d.id = p.document_id LEFT JOIN document_signatures s ON s.document_id = d.id
ORDER BY p.pos, s.ordinal;

-- name: ReferralToFollow :one
SELECT state, case_id FROM mse_referrals WHERE id = @id;

-- name: DocumentSystem :one
SELECT system_id FROM documents WHERE id = @id;

-- name: SignerCertificates :many
-- The signer certificates of documents, earliest expiry first, for the
-- signer-certificate check before a send.
SELECT document_id, role, coalesce(signer_subject, '')::text AS signer_subject, coalesce(signer_serial, '')::text AS signer_serial,
    cert_not_before, cert_not_after, signer_issuer_der
FROM document_signatures WHERE document_id = ANY(@document_ids::uuid[]) AND cert_not_after IS NOT NULL ORDER BY cert_not_after;

-- name: LockReferralByCDA :one
-- The referral a bureau's result names by the referral document's CDA id, locked.
SELECT r.id, r.organization_id, r.system_id, r.state FROM mse_referrals r JOIN document_keys k ON k.document_id = r.document_id
WHERE k.cda_root = @cda_root AND k.cda_extension = @cda_extension FOR UPDATE OF r;

-- name: InsertResult :execrows
-- A result or return notice; one already stored (the same message id,
-- fetched again after a lost acknowledgement) is left as it is.
INSERT INTO mse_results (id, message_id, referral_id, organization_id, case_id, type, reason, kind,
    referral_root, referral_extension, cda_root, cda_extension, content, signatures, check_error)
VALUES (@id, @message_id, @referral_id, @organization_id, @case_id, @type, @reason, @kind,
    @referral_root, @referral_extension, @cda_root, @cda_extension, @content, @signatures, @check_error)
ON CONFLICT (message_id) DO NOTHING;
