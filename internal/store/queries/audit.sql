-- The audit log: who changed keys and callbacks, written in the change's
-- own transaction.

-- name: InsertAudit :exec
INSERT INTO audit_log (actor, actor_key_id, actor_name, action, target_key_id, system_id, details)
VALUES (@actor, sqlc.narg(actor_key_id), @actor_name, @action, sqlc.narg(target_key_id), sqlc.narg(system_id), @details);

-- name: ListAudit :many
-- Newest first, before the id cursor (0: from the newest), of one system
-- (the nil UUID: every system).
SELECT id, at, actor, actor_key_id, actor_name, action, target_key_id, system_id, details
FROM audit_log
WHERE (@before::bigint = 0 OR id < @before) AND (@system_id::uuid = '00000000-0000-0000-0000-000000000000' OR system_id = @system_id)
ORDER BY id DESC LIMIT @max_items::integer;
