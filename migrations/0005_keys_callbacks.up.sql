-- Key management and callback hardening (issue 10, items 7, 8, 16).

-- Keys: when each was last used (to the minute: authentication writes at
-- most once a minute per key), and which key replaced it on rotation. A
-- revoked_at in the future is a scheduled revocation (rotation with overlap):
-- the key works until then.
ALTER TABLE api_keys
    ADD COLUMN last_used_at   timestamptz,
    ADD COLUMN replaced_by    uuid REFERENCES api_keys(id);
CREATE INDEX api_keys_system_idx ON api_keys (system_id, created_at);

-- Callback secret rotation: after a rotation the previous secret keeps
-- signing (a second signature) until callback_secret_prev_until, so a МИС
-- can deploy the new one without a gap.
ALTER TABLE information_systems
    ADD COLUMN callback_secret_prev       bytea,
    ADD COLUMN callback_secret_prev_until timestamptz;

-- Who did what to keys, systems and callbacks. Written in the same
-- transaction as the change it records, so neither exists without the other.
CREATE TABLE audit_log (
    id            bigserial PRIMARY KEY,
    at            timestamptz NOT NULL DEFAULT now(),
    actor         text NOT NULL CHECK (actor IN ('operator', 'mis', 'cli')),
    actor_key_id  uuid REFERENCES api_keys(id),  -- the key that made the call; NULL for the CLI
    actor_name    text NOT NULL,                 -- the key's name, or the OS user running the CLI
    action        text NOT NULL,                 -- key.issue, key.revoke, key.rotate, callback.set, callback.secret.rotate
    target_key_id uuid REFERENCES api_keys(id),
    system_id     uuid REFERENCES information_systems(id),
    details       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_system_idx ON audit_log (system_id, id);
