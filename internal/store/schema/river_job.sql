-- The part of River's river_job table the hub's queries read (the exchange
-- log's orphan sweep). River creates and migrates the real table itself
-- (rivermigrate); this file only tells sqlc its shape.
CREATE TABLE river_job (
    id    bigserial PRIMARY KEY,
    state text NOT NULL
);
