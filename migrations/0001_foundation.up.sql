-- Organisations (МО), their information systems (МИС), API keys, and
-- documents taken in with their detached signatures.

CREATE TABLE organizations (
    id          uuid PRIMARY KEY,
    oid         text NOT NULL UNIQUE,
    name        text NOT NULL,
    region      text NOT NULL,               -- subject code taken from the ФРМО OID
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE information_systems (
    id               uuid PRIMARY KEY,
    organization_id  uuid NOT NULL REFERENCES organizations(id),
    name             text NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    disabled_at      timestamptz,
    UNIQUE (organization_id, name)
);

-- API keys are stored only as SHA-256 of the key: keys are 256-bit random,
-- so a fast hash is enough and lookups stay one index probe.
CREATE TABLE api_keys (
    id          uuid PRIMARY KEY,
    key_hash    bytea NOT NULL UNIQUE,
    role        text NOT NULL CHECK (role IN ('mis', 'operator')),
    system_id   uuid REFERENCES information_systems(id),
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    CHECK ((role = 'mis') = (system_id IS NOT NULL))
);

CREATE TABLE documents (
    id               uuid PRIMARY KEY,        -- UUIDv7: time ordered, used as the list cursor
    organization_id  uuid NOT NULL REFERENCES organizations(id),
    system_id        uuid NOT NULL REFERENCES information_systems(id),
    kind             text NOT NULL,           -- НСИ 1520 code
    doc_type         text NOT NULL,           -- НСИ 1522 code (ClinicalDocument/code)
    local_id         text NOT NULL,
    cda_root         text NOT NULL,
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
    header           jsonb NOT NULL,          -- the parsed header, as shown by the API
    received_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (cda_root, cda_extension)
);
CREATE INDEX documents_org_id_idx ON documents (organization_id, id DESC);
CREATE INDEX documents_org_kind_idx ON documents (organization_id, kind, id DESC);
CREATE INDEX documents_snils_idx ON documents (patient_snils) WHERE patient_snils IS NOT NULL;

CREATE TABLE document_signatures (
    document_id  uuid NOT NULL REFERENCES documents(id) ON DELETE CASCADE,
    ordinal      integer NOT NULL,
    role         text NOT NULL CHECK (role IN ('doctor', 'organization')),
    cms          bytea NOT NULL,
    cms_sha256   bytea NOT NULL,
    PRIMARY KEY (document_id, ordinal)
);
