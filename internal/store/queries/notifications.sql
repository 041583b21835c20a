-- The outbox of events for a МИС (the notify queue calls callback URLs from it).

-- name: CreateNotification :one
-- Records an event and returns the system's callback URL ('' if none).
INSERT INTO notifications (id, system_id, event, subject_id, payload) VALUES (@id, @system_id, @event, @subject_id, @payload)
RETURNING coalesce((SELECT callback_url FROM information_systems WHERE id = @system_id), '')::text AS callback_url;

-- name: NotificationToSend :one
SELECT n.event, n.subject_id, n.payload, s.callback_url, s.callback_secret,
    (CASE WHEN s.callback_secret_prev_until > now() THEN s.callback_secret_prev END)::bytea AS previous_secret, n.delivered_at
FROM notifications n JOIN information_systems s ON s.id = n.system_id WHERE n.id = @id;

-- name: NotificationDelivered :exec
UPDATE notifications SET attempts = attempts + 1, delivered_at = now(), last_error = NULL WHERE id = @id;

-- name: NotificationFailed :exec
UPDATE notifications SET attempts = attempts + 1, last_error = @last_error WHERE id = @id;
