-- Aviary fleet server schema, version 5: the instances that joined each ingest share group.
-- An instance's persistent MQTT session stays in the broker's share group after it stopped
-- (by design: a restart under the same name resumes it). One that never comes back keeps
-- taking its share of the telemetry into a queue nobody reads: every live instance reports a
-- member whose heartbeat stopped and that did not leave as stale (`/healthz`, `/metrics`),
-- until `aviary-server leave --instance NAME` clears its session.
CREATE TABLE ingest_members (
    share_group  TEXT NOT NULL,
    instance_id  TEXT NOT NULL,
    joined_at    TIMESTAMPTZ NOT NULL,   -- last subscription granted (every connection)
    last_seen    TIMESTAMPTZ NOT NULL,
    left_at      TIMESTAMPTZ,
    PRIMARY KEY (share_group, instance_id)
);
