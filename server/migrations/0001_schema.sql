-- Aviary fleet server schema, version 1: the design's section 4.1 tables.
-- Positions are plain latitude/longitude columns (no PostGIS dependency).

CREATE TABLE organizations (
    org_id      UUID PRIMARY KEY,
    name        VARCHAR(255) NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE sites (
    site_id     UUID PRIMARY KEY,
    org_id      UUID NOT NULL REFERENCES organizations(org_id),
    name        VARCHAR(255) NOT NULL,
    lat         DOUBLE PRECISION NOT NULL,
    lon         DOUBLE PRECISION NOT NULL,
    timezone    VARCHAR(50) NOT NULL DEFAULT 'UTC',
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX sites_org ON sites (org_id);

CREATE TABLE drones (
    drone_id         UUID PRIMARY KEY,
    org_id           UUID NOT NULL REFERENCES organizations(org_id),
    site_id          UUID NOT NULL REFERENCES sites(site_id),
    serial_number    VARCHAR(100) NOT NULL UNIQUE,
    model            VARCHAR(100) NOT NULL,
    status           TEXT NOT NULL DEFAULT 'available'
                     CHECK (status IN ('available', 'in_mission', 'charging', 'maintenance', 'offline')),
    battery_level    INT CHECK (battery_level BETWEEN 0 AND 100),
    last_seen        TIMESTAMPTZ,
    home_lat         DOUBLE PRECISION NOT NULL,
    home_lon         DOUBLE PRECISION NOT NULL,
    firmware_version VARCHAR(50) NOT NULL DEFAULT '',
    online           BOOLEAN NOT NULL DEFAULT false,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX drones_site_status ON drones (site_id, status);
CREATE INDEX drones_status_battery ON drones (status, battery_level);
CREATE INDEX drones_org ON drones (org_id);

CREATE TABLE users (
    user_id        UUID PRIMARY KEY,
    org_id         UUID NOT NULL REFERENCES organizations(org_id),
    email          VARCHAR(255) NOT NULL UNIQUE,
    password_hash  TEXT NOT NULL,
    role           TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'analyst')),
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE TABLE missions (
    mission_id          UUID PRIMARY KEY,
    org_id              UUID NOT NULL REFERENCES organizations(org_id),
    site_id             UUID NOT NULL REFERENCES sites(site_id),
    drone_id            UUID REFERENCES drones(drone_id),
    name                VARCHAR(255) NOT NULL,
    status              TEXT NOT NULL
                        CHECK (status IN ('planned', 'in_progress', 'paused', 'completed', 'aborted', 'failed', 'deleted')),
    survey_area         JSONB NOT NULL,
    flight_pattern      VARCHAR(50) NOT NULL,
    parameters          JSONB NOT NULL,
    scheduled_start     TIMESTAMPTZ,
    actual_start        TIMESTAMPTZ,
    actual_end          TIMESTAMPTZ,
    paused_at           TIMESTAMPTZ,
    estimated_duration  INT NOT NULL,
    estimated_distance  DOUBLE PRECISION NOT NULL,
    waypoints           JSONB NOT NULL,
    created_by          UUID REFERENCES users(user_id),
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at          TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX missions_site_status ON missions (site_id, status, created_at DESC);
CREATE INDEX missions_drone_status ON missions (drone_id, status);
CREATE INDEX missions_status_sched ON missions (status, scheduled_start);
CREATE INDEX missions_org ON missions (org_id);

-- Commands sent to drones and their outcomes (design section 6.3).
CREATE TABLE commands (
    cmd_id      UUID PRIMARY KEY,
    org_id      UUID NOT NULL REFERENCES organizations(org_id),
    mission_id  UUID REFERENCES missions(mission_id),
    drone_id    UUID NOT NULL REFERENCES drones(drone_id),
    action      TEXT NOT NULL,
    issued_by   UUID REFERENCES users(user_id),
    issued_at   TIMESTAMPTZ NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'executed', 'rejected', 'unacknowledged')),
    resolved_at TIMESTAMPTZ,
    detail      TEXT NOT NULL DEFAULT ''
);
CREATE INDEX commands_mission ON commands (mission_id, issued_at);

-- Telemetry, natively partitioned by day. Partitions are created on demand by the ingest
-- and dropped by the retention task; there is no default partition on purpose (a row for a
-- day without a partition is a bug to surface, not to hide).
CREATE TABLE drone_telemetry (
    time            TIMESTAMPTZ NOT NULL,
    drone_id        UUID NOT NULL,
    mission_id      UUID,
    lat             DOUBLE PRECISION NOT NULL,
    lon             DOUBLE PRECISION NOT NULL,
    altitude        DOUBLE PRECISION NOT NULL,
    speed           DOUBLE PRECISION NOT NULL,
    heading         DOUBLE PRECISION NOT NULL,
    battery_level   DOUBLE PRECISION NOT NULL,
    status          VARCHAR(50) NOT NULL,
    progress        DOUBLE PRECISION NOT NULL,
    received_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (time, drone_id)
) PARTITION BY RANGE (time);
CREATE INDEX drone_telemetry_mission ON drone_telemetry (mission_id, time);
CREATE INDEX drone_telemetry_drone ON drone_telemetry (drone_id, time DESC);

-- Latest sample per drone (the design's Redis "drones:live"), upserted once per batch.
CREATE TABLE drone_latest (
    drone_id        UUID PRIMARY KEY,
    time            TIMESTAMPTZ NOT NULL,
    mission_id      UUID,
    lat             DOUBLE PRECISION NOT NULL,
    lon             DOUBLE PRECISION NOT NULL,
    altitude        DOUBLE PRECISION NOT NULL,
    speed           DOUBLE PRECISION NOT NULL,
    heading         DOUBLE PRECISION NOT NULL,
    battery_level   DOUBLE PRECISION NOT NULL,
    status          VARCHAR(50) NOT NULL,
    progress        DOUBLE PRECISION NOT NULL
);

-- Append-only audit log, hash-chained: hash = sha256(prev_hash || canonical row).
CREATE TABLE audit_log (
    seq         BIGINT PRIMARY KEY,
    time        TIMESTAMPTZ NOT NULL,
    org_id      UUID,
    user_id     UUID,
    action      TEXT NOT NULL,
    target      TEXT NOT NULL,
    detail      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
-- The chain's head, written in the same transaction as each row: detects a deleted tail.
CREATE TABLE audit_head (
    id    INT PRIMARY KEY CHECK (id = 1),
    seq   BIGINT NOT NULL,
    hash  TEXT NOT NULL
);
