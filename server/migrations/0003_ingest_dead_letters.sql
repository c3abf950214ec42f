-- Aviary fleet server schema, version 3: telemetry the ingest could not store.
-- A message that fails validation or the database's own checks is recorded here (never
-- retried: one bad message must not stop the ingest) and acknowledged to the broker.
CREATE TABLE ingest_dead_letters (
    id              BIGSERIAL PRIMARY KEY,
    time            TIMESTAMPTZ NOT NULL DEFAULT now(),
    drone_id        UUID,
    topic           TEXT NOT NULL,
    payload_prefix  BYTEA NOT NULL,
    payload_bytes   INT NOT NULL,
    reason          TEXT NOT NULL
);
CREATE INDEX ingest_dead_letters_time ON ingest_dead_letters (time);
