-- Workflow state: MSE referral packages and their links, bureau results,
-- certificate deliveries, notifications to МИС, and the exchange log.

ALTER TABLE information_systems
    ADD COLUMN provider_url    text,   -- this МИС's document provider endpoint (GetDocument)
    ADD COLUMN callback_url    text,   -- optional: where the hub POSTs notifications
    ADD COLUMN callback_secret bytea;  -- HMAC-SHA256 key for those notifications

CREATE TABLE mse_referrals (
    id               uuid PRIMARY KEY,
    document_id      uuid NOT NULL UNIQUE REFERENCES documents(id),
    organization_id  uuid NOT NULL REFERENCES organizations(id),
    system_id        uuid NOT NULL REFERENCES information_systems(id),
    state            text NOT NULL CHECK (state IN ('received', 'assembling', 'incomplete', 'sending', 'sent', 'accepted',
                                                    'returned', 'result_received', 'failed', 'blocked_certificate')),
    generation       integer NOT NULL DEFAULT 1,  -- bumped by a re-fetch; part of the send message id
    message_id       text,
    case_id          text,
    return_reason    text,
    last_error_code  text,
    last_error       text,
    deadline_at      timestamptz NOT NULL,        -- unsettled links are settled as unavailable after this
    received_at      timestamptz NOT NULL DEFAULT now(),
    assembled_at     timestamptz,
    sent_at          timestamptz,
    accepted_at      timestamptz,
    returned_at      timestamptz,
    result_at        timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mse_referrals_org_idx ON mse_referrals (organization_id, id DESC);
CREATE INDEX mse_referrals_state_idx ON mse_referrals (state, updated_at);

CREATE TABLE mse_links (
    referral_id      uuid NOT NULL REFERENCES mse_referrals(id),
    ordinal          integer NOT NULL,
    doc_type         text NOT NULL,
    ref_root         text NOT NULL,
    ref_extension    text NOT NULL,
    series           text,
    number           text,
    state            text NOT NULL CHECK (state IN ('pending', 'fetched', 'retrying', 'unavailable', 'invalid')),
    document_id      uuid REFERENCES documents(id),
    attempts         integer NOT NULL DEFAULT 0,
    last_error_code  text,
    last_error       text,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (referral_id, ordinal)
);
CREATE INDEX mse_links_state_idx ON mse_links (state) WHERE state IN ('retrying', 'unavailable', 'invalid');

-- Results and return notices from the bureau. referral_id is NULL for a
-- result that matches no referral: kept and shown to operators, never dropped.
CREATE TABLE mse_results (
    id                 uuid PRIMARY KEY,             -- UUIDv7: the feed cursor
    message_id         text NOT NULL UNIQUE,         -- the bureau's id: a re-fetched result is recognised
    referral_id        uuid REFERENCES mse_referrals(id),
    organization_id    uuid REFERENCES organizations(id),
    case_id            text NOT NULL,
    type               text NOT NULL CHECK (type IN ('RESULT', 'RETURN_NOTICE')),
    reason             text,
    kind               text NOT NULL,
    referral_root      text NOT NULL,
    referral_extension text NOT NULL,
    cda_root           text NOT NULL,
    cda_extension      text NOT NULL,
    content            bytea NOT NULL,
    signatures         jsonb NOT NULL,               -- [{role, cms (base64)}]
    check_error        text,                         -- set when the document failed the intake checks
    received_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX mse_results_org_idx ON mse_results (organization_id, id);

CREATE TABLE deliveries (
    id               uuid PRIMARY KEY,
    document_id      uuid NOT NULL REFERENCES documents(id),
    organization_id  uuid NOT NULL REFERENCES organizations(id),
    recipient        text NOT NULL CHECK (recipient IN ('zags', 'epgu')),
    state            text NOT NULL CHECK (state IN ('pending', 'retrying', 'delivered', 'failed', 'blocked_certificate')),
    generation       integer NOT NULL DEFAULT 1,      -- bumped by an operator replay
    message_id       text NOT NULL,
    receipt_id       text,
    duplicate        boolean NOT NULL DEFAULT false,  -- the peer said it had it already
    attempts         integer NOT NULL DEFAULT 0,
    last_error_code  text,
    last_error       text,
    created_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at     timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (document_id, recipient)
);
CREATE INDEX deliveries_state_idx ON deliveries (state, updated_at);

-- Outbox of events for МИС: the results feed reads it, the notify queue
-- calls callback URLs from it.
CREATE TABLE notifications (
    id           uuid PRIMARY KEY,
    system_id    uuid NOT NULL REFERENCES information_systems(id),
    event        text NOT NULL,
    subject_id   uuid NOT NULL,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    delivered_at timestamptz,
    attempts     integer NOT NULL DEFAULT 0,
    last_error   text
);

-- Every exchange with a peer, both directions: the dashboards and the audit trail.
CREATE TABLE exchange_log (
    id           bigserial PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    direction    text NOT NULL CHECK (direction IN ('out', 'in')),
    peer         text NOT NULL,
    operation    text NOT NULL,
    subject_id   uuid,           -- referral, delivery or link owner
    document_id  uuid,
    message_id   text,
    outcome      text NOT NULL,  -- ok, duplicate, transient, unavailable, rate_limited, permanent, skipped
    code         text,
    message      text,
    duration_ms  integer NOT NULL DEFAULT 0,
    http_status  integer
);
CREATE INDEX exchange_log_at_idx ON exchange_log (at);
CREATE INDEX exchange_log_subject_idx ON exchange_log (subject_id);
