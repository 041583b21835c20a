-- Kinds added or replaced by operators at run time (issue 12 item 4): each
-- upload of a kind's bundle (zip: <kind>.sch, optional xsd/ and books.json,
-- samples/*.xml) is a new version of that kind. At most one version of a
-- kind is active; the door of every process enforces it (internal/kinds).
--   active      in force
--   inactive    uploaded without activation, never in force yet
--   superseded  was in force, replaced by another version or rolled back
-- Every state change commits with its audit_log row and a NOTIFY on the
-- channel hub_kinds (payload: the kind), which every process LISTENs to.
CREATE TABLE kind_bundles (
    kind             text NOT NULL,                    -- НСИ 1520 code ("121")
    version          integer NOT NULL CHECK (version > 0),  -- 1, 2, … per kind
    sha256           bytea NOT NULL,                   -- of the zip as uploaded
    bundle           bytea NOT NULL,                   -- the zip itself
    uploaded_by_key  uuid REFERENCES api_keys(id),     -- the operator key that uploaded it
    uploaded_by      text NOT NULL,                    -- that key's name
    uploaded_at      timestamptz NOT NULL DEFAULT now(),
    state            text NOT NULL CHECK (state IN ('active', 'inactive', 'superseded')),
    state_changed_at timestamptz NOT NULL DEFAULT now(),
    note             text NOT NULL DEFAULT '',
    PRIMARY KEY (kind, version)
);
CREATE UNIQUE INDEX kind_bundles_one_active ON kind_bundles (kind) WHERE state = 'active';
