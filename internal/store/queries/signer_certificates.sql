-- X.509 signer certificates seen in the hub's documents.

-- name: ExpiringSignerCertificates :many
-- The certificates that stop being valid in [from_time, until_time), soonest first,
-- by organisation and system, with the work not yet sent that each signs.
SELECT min(sg.signer_subject)::text AS subject, min(coalesce(sg.signer_issuer, ''))::text AS issuer,
    min(coalesce(sg.signer_serial, ''))::text AS serial, min(coalesce(sg.signer_ogrn, ''))::text AS ogrn,
    min(coalesce(sg.signer_snils, ''))::text AS snils, min(sg.role)::text AS role, min(coalesce(sg.key_bits, 0))::integer AS key_bits,
    min(sg.cert_not_after)::timestamptz AS not_after,
    o.id AS org_id, o.oid AS org_oid, o.name AS org_name, o.region AS org_region, sys.id AS system_id, sys.name AS system_name,
    count(DISTINCT d.id)::integer AS documents, max(d.received_at)::timestamptz AS last_seen,
    ((SELECT count(*) FROM deliveries dl JOIN document_signatures s2 ON s2.document_id = dl.document_id
        WHERE s2.cert_sha256 = sg.cert_sha256 AND dl.organization_id = o.id AND dl.state IN ('pending', 'retrying'))
    + (SELECT count(*) FROM mse_referrals r JOIN document_signatures s3 ON s3.document_id = r.document_id
        WHERE s3.cert_sha256 = sg.cert_sha256 AND r.organization_id = o.id AND r.state IN ('received', 'assembling', 'sending')))::integer AS waiting
FROM document_signatures sg
JOIN documents d ON d.id = sg.document_id
JOIN organizations o ON o.id = d.organization_id
JOIN information_systems sys ON sys.id = d.system_id
WHERE sg.cert_not_after >= @from_time AND sg.cert_not_after < @until_time AND (sqlc.narg(org)::uuid IS NULL OR d.organization_id = sqlc.narg(org))
GROUP BY sg.cert_sha256, o.id, sys.id
ORDER BY min(sg.cert_not_after), o.oid, sys.name
LIMIT @max_items::integer;
