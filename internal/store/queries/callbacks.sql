-- The callback URL and HMAC secrets of an information system.

-- name: LockCallbackSecret :one
-- Whether the system has a secret, locking its row for the change.
SELECT (callback_secret IS NOT NULL)::boolean FROM information_systems WHERE id = @id FOR UPDATE;

-- name: SetCallback :exec
-- A NULL secret keeps the current one.
UPDATE information_systems SET callback_url = sqlc.narg(url), callback_secret = coalesce(sqlc.narg(secret)::bytea, callback_secret) WHERE id = @id;

-- name: RotateCallbackSecret :one
-- The current secret becomes the previous one, signing for grace_us
-- microseconds more (none when there was no secret).
UPDATE information_systems
SET callback_secret_prev = callback_secret,
    callback_secret_prev_until = CASE WHEN callback_secret IS NULL THEN NULL ELSE now() + sqlc.arg(grace_us)::bigint * interval '1 microsecond' END,
    callback_secret = @secret
WHERE id = @id RETURNING callback_secret_prev_until;

-- name: CallbackOf :one
SELECT callback_url, (callback_secret IS NOT NULL)::boolean AS secret_issued,
    callback_secret_prev_until, coalesce(callback_secret_prev_until > now(), false)::boolean AS previous_still_signs
FROM information_systems WHERE id = @id;
