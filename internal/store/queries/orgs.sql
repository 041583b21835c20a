-- Organisations (МО, by their ФРМО OID), their information systems (МИС)
-- and the API keys the systems and operators authenticate with.

-- name: EnsureOrganization :one
-- Creates the organisation or returns the one with that OID (the no-op
-- update makes RETURNING see the existing row).
INSERT INTO organizations (id, oid, name, region) VALUES (@id, @oid, @name, @region)
ON CONFLICT (oid) DO UPDATE SET oid = EXCLUDED.oid
RETURNING id, oid, name, region, created_at;

-- name: OrganizationByOID :one
SELECT id, oid, name, region, created_at FROM organizations WHERE oid = @oid;

-- name: OrganizationOGRNByID :one
SELECT coalesce(ogrn, '')::text FROM organizations WHERE id = @id;

-- name: OrganizationOGRNByOID :one
SELECT ogrn FROM organizations WHERE oid = @oid;

-- name: SetOrganizationOGRN :one
-- Records the ОГРН unless another one is on record: no row then.
UPDATE organizations SET ogrn = @ogrn WHERE id = @id AND (ogrn IS NULL OR ogrn = @ogrn) RETURNING ogrn;

-- name: OrganizationExists :one
SELECT EXISTS (SELECT 1 FROM organizations WHERE id = @id);

-- name: CreateSystem :one
INSERT INTO information_systems (id, organization_id, name) VALUES (@id, @organization_id, @name) RETURNING created_at;

-- name: SystemName :one
SELECT name FROM information_systems WHERE id = @id;

-- name: ListSystems :many
SELECT s.id, s.organization_id, s.name, s.created_at, o.oid AS org_oid, o.name AS org_name, o.region AS org_region
FROM information_systems s JOIN organizations o ON o.id = s.organization_id
ORDER BY o.oid, s.name;

-- name: CreateKey :exec
INSERT INTO api_keys (id, key_hash, role, system_id, name) VALUES (@id, @key_hash, @role, sqlc.narg(system_id), @name);

-- name: Authenticate :one
-- Resolves a key hash to its principal: revoked keys (a revoked_at in the
-- past) and keys of disabled systems are not found. Notes when the key was
-- last used, at most once a minute, skipping a row a concurrent request holds.
WITH k AS (
    SELECT k.id, k.role, k.name, k.last_used_at, s.id AS sys_id, s.name AS sys_name, o.id AS org_id, o.oid, o.name AS org_name
    FROM api_keys k
    LEFT JOIN information_systems s ON s.id = k.system_id
    LEFT JOIN organizations o ON o.id = s.organization_id
    WHERE k.key_hash = @key_hash AND (k.revoked_at IS NULL OR k.revoked_at > now()) AND (k.system_id IS NULL OR s.disabled_at IS NULL)
), used AS (
    UPDATE api_keys SET last_used_at = now()
    WHERE id = (SELECT a.id FROM api_keys a JOIN k ON k.id = a.id
        WHERE a.last_used_at IS NULL OR a.last_used_at < now() - interval '1 minute'
        FOR UPDATE OF a SKIP LOCKED)
)
SELECT id, role, name, sys_id, sys_name, org_id, oid, org_name FROM k;
