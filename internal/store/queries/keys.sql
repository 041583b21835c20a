-- API keys as operators manage them (never the key itself: only its hash
-- is stored). Active: the key authenticates now (a revoked_at in the future
-- is a rotation's overlap).

-- name: GetKey :one
SELECT id, role, system_id, name, created_at, last_used_at, revoked_at, replaced_by,
    (revoked_at IS NULL OR revoked_at > now())::boolean AS active
FROM api_keys WHERE id = @id;

-- name: LockKey :one
SELECT id, role, system_id, name, created_at, last_used_at, revoked_at, replaced_by,
    (revoked_at IS NULL OR revoked_at > now())::boolean AS active
FROM api_keys WHERE id = @id FOR UPDATE;

-- name: ListKeys :many
-- The keys of one system, or with a NULL system the operators' keys.
SELECT id, role, system_id, name, created_at, last_used_at, revoked_at, replaced_by,
    (revoked_at IS NULL OR revoked_at > now())::boolean AS active
FROM api_keys WHERE system_id IS NOT DISTINCT FROM sqlc.narg(system_id)::uuid ORDER BY created_at, id;

-- name: RevokeKey :one
UPDATE api_keys SET revoked_at = now() WHERE id = @id
RETURNING id, role, system_id, name, created_at, last_used_at, revoked_at, replaced_by,
    (revoked_at IS NULL OR revoked_at > now())::boolean AS active;

-- name: RotateKey :one
-- Revokes the key after the overlap (microseconds; 0: now) and names its replacement.
UPDATE api_keys SET revoked_at = now() + sqlc.arg(overlap_us)::bigint * interval '1 microsecond', replaced_by = @replaced_by
WHERE id = @id
RETURNING id, role, system_id, name, created_at, last_used_at, revoked_at, replaced_by,
    (revoked_at IS NULL OR revoked_at > now())::boolean AS active;
