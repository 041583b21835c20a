-- Monthly partitions for the tables that grow with every document (issue 16
-- item 4): documents, document_signatures, exchange_log, intake_attempts.
-- internal/retention creates them ahead and drops whole months past
-- HUB_RETENTION_MONTHS, never a month still holding a live flow.
--
-- Why documents is range-partitioned on its id, not on received_at:
-- the id is a UUIDv7 (its first 48 bits are the Unix time in ms), so a
-- month is the id range [uuid7_floor(month), uuid7_floor(next month)). The
-- primary key stays (id) and every foreign key to documents(id) —
-- mse_referrals, mse_links, deliveries (and superseded_by), epgu notices —
-- stays a one-column key: partitioning on received_at would have made the
-- key (id, received_at) and forced that column into five other tables and
-- every join. A lookup by id is pruned to one partition at run time.
--
-- UNIQUE (cda_root, cda_extension) cannot be kept on a partitioned table
-- (a unique constraint must contain the partition key, and the same CDA id
-- arriving in two months must still be one document). It moves to a narrow
-- unpartitioned key table, document_keys, written in the same statement as
-- the document (InsertDocument: insert the key ON CONFLICT DO NOTHING, then
-- the document only when the key was new), so a resubmission or a conflict
-- is still detected by one unique index probe, across all months. Retention
-- deletes a month's keys with its documents; documents itself no longer
-- needs an index on the CDA id (lookups go through document_keys).
--
-- document_signatures is partitioned too, on document_id with the same
-- bounds: with two CMS of 2–4 KB per document it is as large as documents
-- (docs/performance.md), and dropping a month of documents must not mean
-- deleting hundreds of millions of signature rows one by one.
--
-- exchange_log and intake_attempts are partitioned on their time column
-- `at`; their bigserial ids are still unique (one sequence) but the primary
-- key becomes (id, at) because it must contain the partition key.
--
-- Every table has a DEFAULT partition: a row outside the months created
-- (a clock far off, a test or a seed writing old times, a maintenance run
-- missed for months) is still taken in, never refused. Rows there are an
-- operator warning (hub_partition_default_rows), and retention never drops
-- the default partition.

-- The smallest UUIDv7 of the millisecond ts: the lower bound of ts's ids.
CREATE FUNCTION uuid7_floor(ts timestamptz) RETURNS uuid LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT (lpad(to_hex(floor(extract(epoch FROM ts) * 1000)::bigint), 12, '0') || '00000000000000000000')::uuid
$$;

-- Creates the partitions of the month starting at m (a first day, UTC) for
-- the four tables, those missing only; returns how many it created.
CREATE FUNCTION hub_create_month_partitions(m date) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    lo timestamptz := date_trunc('month', m::timestamp) AT TIME ZONE 'UTC';
    hi timestamptz := (date_trunc('month', m::timestamp) + interval '1 month') AT TIME ZONE 'UTC';
    suffix text := to_char(date_trunc('month', m::timestamp), '"p"YYYYMM');
    made integer := 0;
    -- Documents and signatures are written once and never updated: the
    -- insert-driven autovacuum (every 2 % of new rows) freezes their pages
    -- as it goes, so a finished month is never rewritten by an
    -- anti-wraparound vacuum years later (docs/performance.md).
    frozen text := 'autovacuum_freeze_min_age = 0, autovacuum_vacuum_insert_scale_factor = 0.02';
BEGIN
    IF to_regclass('documents_' || suffix) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF documents FOR VALUES FROM (%L) TO (%L) WITH (%s)',
            'documents_' || suffix, uuid7_floor(lo), uuid7_floor(hi), frozen);
        made := made + 1;
    END IF;
    IF to_regclass('document_signatures_' || suffix) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF document_signatures FOR VALUES FROM (%L) TO (%L) WITH (%s)',
            'document_signatures_' || suffix, uuid7_floor(lo), uuid7_floor(hi), frozen);
        made := made + 1;
    END IF;
    IF to_regclass('exchange_log_' || suffix) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF exchange_log FOR VALUES FROM (%L) TO (%L)',
            'exchange_log_' || suffix, lo, hi);
        made := made + 1;
    END IF;
    IF to_regclass('intake_attempts_' || suffix) IS NULL THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF intake_attempts FOR VALUES FROM (%L) TO (%L)',
            'intake_attempts_' || suffix, lo, hi);
        made := made + 1;
    END IF;
    RETURN made;
END
$$;

-- The old tables are renamed, their rows copied into the partitioned ones,
-- and dropped; the foreign keys that pointed at them are recreated.
ALTER TABLE documents RENAME TO documents_unpartitioned;
ALTER TABLE document_signatures RENAME TO document_signatures_unpartitioned;
ALTER TABLE exchange_log RENAME TO exchange_log_unpartitioned;
ALTER TABLE intake_attempts RENAME TO intake_attempts_unpartitioned;
ALTER INDEX documents_pkey RENAME TO documents_unpartitioned_pkey;
ALTER INDEX documents_org_id_idx RENAME TO documents_unpartitioned_org_id_idx;
ALTER INDEX documents_org_kind_idx RENAME TO documents_unpartitioned_org_kind_idx;
ALTER INDEX documents_snils_idx RENAME TO documents_unpartitioned_snils_idx;
ALTER INDEX documents_set_idx RENAME TO documents_unpartitioned_set_idx;
ALTER INDEX document_signatures_pkey RENAME TO document_signatures_unpartitioned_pkey;
ALTER INDEX document_signatures_not_after_idx RENAME TO document_signatures_unpartitioned_not_after_idx;
ALTER INDEX document_signatures_cert_idx RENAME TO document_signatures_unpartitioned_cert_idx;
ALTER INDEX exchange_log_pkey RENAME TO exchange_log_unpartitioned_pkey;
ALTER INDEX exchange_log_at_idx RENAME TO exchange_log_unpartitioned_at_idx;
ALTER INDEX exchange_log_subject_idx RENAME TO exchange_log_unpartitioned_subject_idx;
ALTER INDEX exchange_log_started_idx RENAME TO exchange_log_unpartitioned_started_idx;
ALTER INDEX intake_attempts_pkey RENAME TO intake_attempts_unpartitioned_pkey;
ALTER INDEX intake_attempts_at_idx RENAME TO intake_attempts_unpartitioned_at_idx;

CREATE TABLE documents (
    id               uuid NOT NULL,           -- UUIDv7: time ordered, the list cursor and the partition key
    organization_id  uuid NOT NULL REFERENCES organizations(id),
    system_id        uuid NOT NULL REFERENCES information_systems(id),
    kind             text NOT NULL,
    doc_type         text NOT NULL,
    local_id         text NOT NULL,
    cda_root         text NOT NULL,           -- unique with cda_extension through document_keys
    cda_extension    text NOT NULL,
    set_root         text NOT NULL,
    set_extension    text NOT NULL,
    version_number   integer NOT NULL,
    title            text NOT NULL,
    effective_time   timestamptz NOT NULL,
    patient_snils    text,
    patient_enp      text,
    series           text,
    number           text,
    content          bytea NOT NULL,
    content_sha256   bytea NOT NULL,
    header           jsonb NOT NULL,
    received_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (id)
) PARTITION BY RANGE (id);
CREATE INDEX documents_org_id_idx ON documents (organization_id, id DESC);
CREATE INDEX documents_org_kind_idx ON documents (organization_id, kind, id DESC);
CREATE INDEX documents_snils_idx ON documents (patient_snils) WHERE patient_snils IS NOT NULL;
CREATE INDEX documents_set_idx ON documents (organization_id, set_root, set_extension, version_number);
CREATE TABLE documents_default PARTITION OF documents DEFAULT;

-- The CDA ids taken: one row per document, across every month.
CREATE TABLE document_keys (
    cda_root       text NOT NULL,
    cda_extension  text NOT NULL,
    document_id    uuid NOT NULL,  -- no foreign key: the key is written first, in the same statement
    PRIMARY KEY (cda_root, cda_extension)
);

CREATE TABLE document_signatures (
    document_id       uuid NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal           integer NOT NULL,
    role              text NOT NULL CHECK (role IN ('doctor', 'organization')),
    cms               bytea NOT NULL,
    cms_sha256        bytea NOT NULL,
    signer_subject    text,
    signer_issuer     text,
    signer_serial     text,
    signer_ogrn       text,
    signer_snils      text,
    key_bits          integer,
    cert_not_before   timestamptz,
    cert_not_after    timestamptz,
    cert_sha256       bytea,
    signer_issuer_der bytea,
    PRIMARY KEY (document_id, ordinal)
) PARTITION BY RANGE (document_id);
CREATE INDEX document_signatures_not_after_idx ON document_signatures (cert_not_after);
CREATE INDEX document_signatures_cert_idx ON document_signatures (cert_sha256);
CREATE TABLE document_signatures_default PARTITION OF document_signatures DEFAULT;

CREATE TABLE exchange_log (
    id           bigint NOT NULL DEFAULT nextval('exchange_log_id_seq'),
    at           timestamptz NOT NULL DEFAULT now(),
    direction    text NOT NULL CHECK (direction IN ('out', 'in')),
    peer         text NOT NULL,
    operation    text NOT NULL,
    subject_id   uuid,
    document_id  uuid,
    message_id   text,
    outcome      text NOT NULL,
    code         text,
    message      text,
    duration_ms  integer NOT NULL DEFAULT 0,
    http_status  integer,
    job_id       bigint,
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
ALTER SEQUENCE exchange_log_id_seq OWNED BY exchange_log.id;
CREATE INDEX exchange_log_at_idx ON exchange_log (at);
CREATE INDEX exchange_log_subject_idx ON exchange_log (subject_id);
CREATE INDEX exchange_log_started_idx ON exchange_log (job_id) WHERE outcome = 'started';
CREATE TABLE exchange_log_default PARTITION OF exchange_log DEFAULT;

CREATE TABLE intake_attempts (
    id               bigint NOT NULL DEFAULT nextval('intake_attempts_id_seq'),
    at               timestamptz NOT NULL,
    organization_id  uuid NOT NULL,
    org_oid          text NOT NULL,
    region           text NOT NULL,
    system_id        uuid NOT NULL,
    kind             text NOT NULL,
    outcome          text NOT NULL CHECK (outcome IN ('accepted', 'refused')),
    codes            text[] NOT NULL DEFAULT '{}',
    created_at       timestamptz,
    signed_at        timestamptz,
    repeat           boolean NOT NULL,
    PRIMARY KEY (id, at)
) PARTITION BY RANGE (at);
ALTER SEQUENCE intake_attempts_id_seq OWNED BY intake_attempts.id;
CREATE INDEX intake_attempts_at_idx ON intake_attempts (at);
CREATE TABLE intake_attempts_default PARTITION OF intake_attempts DEFAULT;

-- Months for the rows already there (UTC), and this month and the next two.
DO $$
DECLARE
    first date := least(
        (SELECT min(received_at) FROM documents_unpartitioned),
        (SELECT min(at) FROM exchange_log_unpartitioned),
        (SELECT min(at) FROM intake_attempts_unpartitioned),
        now())::date;
    m date;
BEGIN
    -- Rows older than two years stay in the default partitions (retention can read them there).
    first := greatest(first, (now() - interval '2 years')::date);
    m := date_trunc('month', first::timestamp)::date;
    WHILE m <= (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '2 months')::date LOOP
        PERFORM hub_create_month_partitions(m);
        m := (m + interval '1 month')::date;
    END LOOP;
END
$$;

INSERT INTO documents SELECT id, organization_id, system_id, kind, doc_type, local_id, cda_root, cda_extension,
    set_root, set_extension, version_number, title, effective_time, patient_snils, patient_enp, series, number,
    content, content_sha256, header, received_at FROM documents_unpartitioned;
INSERT INTO document_keys SELECT cda_root, cda_extension, id FROM documents_unpartitioned;
INSERT INTO document_signatures SELECT document_id, ordinal, role, cms, cms_sha256, signer_subject, signer_issuer,
    signer_serial, signer_ogrn, signer_snils, key_bits, cert_not_before, cert_not_after, cert_sha256, signer_issuer_der
    FROM document_signatures_unpartitioned;
INSERT INTO exchange_log SELECT id, at, direction, peer, operation, subject_id, document_id, message_id, outcome, code,
    message, duration_ms, http_status, job_id FROM exchange_log_unpartitioned;
INSERT INTO intake_attempts SELECT id, at, organization_id, org_oid, region, system_id, kind, outcome, codes,
    created_at, signed_at, repeat FROM intake_attempts_unpartitioned;

-- The sequences now belong to the new tables, so the old ones drop alone;
-- CASCADE drops the foreign keys that pointed at the old documents.
DROP TABLE document_signatures_unpartitioned;
DROP TABLE documents_unpartitioned CASCADE;
DROP TABLE exchange_log_unpartitioned;
DROP TABLE intake_attempts_unpartitioned;

ALTER TABLE mse_referrals ADD CONSTRAINT mse_referrals_document_id_fkey FOREIGN KEY (document_id) REFERENCES documents(id);
ALTER TABLE mse_referrals ADD CONSTRAINT mse_referrals_superseded_by_fkey FOREIGN KEY (superseded_by) REFERENCES documents(id);
ALTER TABLE mse_links ADD CONSTRAINT mse_links_document_id_fkey FOREIGN KEY (document_id) REFERENCES documents(id);
ALTER TABLE deliveries ADD CONSTRAINT deliveries_document_id_fkey FOREIGN KEY (document_id) REFERENCES documents(id);
ALTER TABLE deliveries ADD CONSTRAINT deliveries_superseded_by_fkey FOREIGN KEY (superseded_by) REFERENCES documents(id);
ALTER TABLE epgu_document_notices ADD CONSTRAINT epgu_document_notices_document_id_fkey FOREIGN KEY (document_id) REFERENCES documents(id);

-- Retention's drops are audited like the operators' actions, by the hub itself.
ALTER TABLE audit_log DROP CONSTRAINT audit_log_actor_check;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_actor_check CHECK (actor IN ('operator', 'mis', 'cli', 'hub'));
