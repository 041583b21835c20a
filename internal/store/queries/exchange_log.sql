-- The exchange log: every call to or from a peer, written as 'started'
-- before it goes out and settled with its outcome after.

-- name: StartCall :one
INSERT INTO exchange_log (direction, peer, operation, subject_id, document_id, message_id, outcome, job_id)
VALUES (@direction, @peer, @operation, @subject_id, @document_id, @message_id, @outcome, @job_id) RETURNING id, at;

-- name: SettleCall :exec
-- By its key (id, at): the table is partitioned by month on at
-- (migration 0011), and with at given the update probes one partition's
-- index, not every month's kept.
UPDATE exchange_log SET outcome = @outcome, code = @code, message = @message, duration_ms = @duration_ms, http_status = @http_status,
    document_id = coalesce(sqlc.narg(document_id), document_id), message_id = coalesce(sqlc.narg(message_id), message_id)
WHERE id = @id AND at = @at;

-- name: LogCall :exec
INSERT INTO exchange_log (direction, peer, operation, subject_id, document_id, message_id, outcome, code, message, duration_ms, http_status, job_id)
VALUES (@direction, @peer, @operation, @subject_id, @document_id, @message_id, @outcome, @code, @message, @duration_ms, @http_status, @job_id);

-- name: ReapKilled :many
-- Settles as killed the calls a job left 'started' on an earlier run.
UPDATE exchange_log SET outcome = 'killed', code = @code,
    message = 'the call was under way when its process died; outcome unknown, made again under the same message id',
    duration_ms = greatest(0, (extract(epoch FROM now() - at) * 1000)::integer)
WHERE job_id = @job_id AND outcome = 'started' RETURNING peer;

-- name: SweepOrphanCalls :execrows
-- Settles as killed the calls left 'started' by jobs that will never run again.
UPDATE exchange_log x SET outcome = 'killed', code = @code,
    message = 'the call was under way when its process died, and its job never ran again',
    duration_ms = greatest(0, (extract(epoch FROM now() - x.at) * 1000)::integer)
WHERE x.outcome = 'started' AND x.job_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM river_job j WHERE j.id = x.job_id
    AND j.state IN ('available', 'pending', 'retryable', 'running', 'scheduled'));
