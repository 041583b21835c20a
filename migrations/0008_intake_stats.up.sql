-- Every attempt at the door (issue 14), accepted or refused, without content:
-- who, what kind, the outcome and its codes, the document's creation and
-- signing times, and whether the same document (system + local id) was
-- tried before. Accepted attempts are written in the intake transaction,
-- refusals in batches. The dashboards never read this table directly: a
-- periodic roll-up (internal/stats) folds it into the stats_* tables.
CREATE TABLE intake_attempts (
    id               bigserial PRIMARY KEY,
    at               timestamptz NOT NULL,
    organization_id  uuid NOT NULL,
    org_oid          text NOT NULL,
    region           text NOT NULL,           -- subject code from the ФРМО OID
    system_id        uuid NOT NULL,
    kind             text NOT NULL,           -- as declared ('' when missing)
    outcome          text NOT NULL CHECK (outcome IN ('accepted', 'refused')),
    codes            text[] NOT NULL DEFAULT '{}',
    created_at       timestamptz,             -- ClinicalDocument/effectiveTime, when parsed
    signed_at        timestamptz,             -- the organisation's CMS signingTime, when present
    repeat           boolean NOT NULL         -- the system tried this local id before
);
CREATE INDEX intake_attempts_at_idx ON intake_attempts (at);

-- The documents tried so far, as a hash of (system, local id): one probe
-- tells a repeat from a first try.
CREATE TABLE intake_tried (
    key bytea PRIMARY KEY
);

-- Roll-ups. scope: 'a' all regions (region = '', no system), 'r' per region
-- (no system), 's' per information system. grain: 'd' day, 'm' month
-- (bucket = the first day), days in Moscow time. Scopes 'a' and 'r' are
-- read through the primary key (scope, grain, bucket, region …): a region
-- filter reads the period's rows of every region, a few thousand at most;
-- scope 's' through the organisation and system indexes. A period is answered from
-- whole months plus the days at its edges, so no query reads more than
-- about two months of days.
CREATE TABLE stats_counts (
    scope            "char" NOT NULL,
    grain            "char" NOT NULL,
    bucket           date NOT NULL,
    region           text NOT NULL,
    system_id        uuid NOT NULL,           -- nil uuid unless scope 's'
    organization_id  uuid NOT NULL,           -- nil uuid unless scope 's'
    kind             text NOT NULL,
    attempts         bigint NOT NULL,
    accepted         bigint NOT NULL,
    refused          bigint NOT NULL,
    first_tries      bigint NOT NULL,         -- attempts that were not repeats: documents
    dated            bigint NOT NULL,         -- first tries whose delay is known
    delayed          bigint NOT NULL,         -- of those, submitted more than 5 days after signing
    PRIMARY KEY (scope, grain, bucket, region, system_id, kind)
) WITH (fillfactor = 80);  -- room for HOT updates: the roll-up adds to rows, their indexed columns never change
CREATE INDEX stats_counts_org_idx ON stats_counts (organization_id, grain, bucket) WHERE scope = 's';
CREATE INDEX stats_counts_system_idx ON stats_counts (system_id, grain, bucket) WHERE scope = 's';

CREATE TABLE stats_codes (
    scope            "char" NOT NULL,
    grain            "char" NOT NULL,
    bucket           date NOT NULL,
    region           text NOT NULL,
    system_id        uuid NOT NULL,
    organization_id  uuid NOT NULL,
    kind             text NOT NULL,
    code             text NOT NULL,
    n                bigint NOT NULL,
    PRIMARY KEY (scope, grain, bucket, region, system_id, kind, code)
) WITH (fillfactor = 80);
CREATE INDEX stats_codes_org_idx ON stats_codes (organization_id, grain, bucket) WHERE scope = 's';
CREATE INDEX stats_codes_system_idx ON stats_codes (system_id, grain, bucket) WHERE scope = 's';

-- Histograms of first tries: which 'c' days from creation to signature,
-- 's' days from signature to submission; days capped at 31 ("31 and more").
CREATE TABLE stats_lags (
    scope            "char" NOT NULL,
    grain            "char" NOT NULL,
    bucket           date NOT NULL,
    region           text NOT NULL,
    system_id        uuid NOT NULL,
    organization_id  uuid NOT NULL,
    kind             text NOT NULL,
    which            "char" NOT NULL,
    days             smallint NOT NULL,
    n                bigint NOT NULL,
    PRIMARY KEY (scope, grain, bucket, region, system_id, kind, which, days)
) WITH (fillfactor = 80);
CREATE INDEX stats_lags_org_idx ON stats_lags (organization_id, grain, bucket) WHERE scope = 's';
CREATE INDEX stats_lags_system_idx ON stats_lags (system_id, grain, bucket) WHERE scope = 's';

-- How far the roll-up has gone: attempts with at < rolled_to are in the stats_* tables.
CREATE TABLE stats_watermark (
    one        boolean PRIMARY KEY DEFAULT true CHECK (one),
    rolled_to  timestamptz NOT NULL
);
INSERT INTO stats_watermark (rolled_to) VALUES ('-infinity');

-- Console sign-in sessions: the cookie carries a random token, only its
-- SHA-256 is kept; a revoked key ends its sessions at once (the join on
-- api_keys at every request).
CREATE TABLE console_sessions (
    token_hash  bytea PRIMARY KEY,
    key_id      uuid NOT NULL REFERENCES api_keys(id),
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
