-- Scheduled missions (issue 21). A schedule runs one mission once or on a recurrence at a
-- site-local time (`spec`: aviary_core::schedule::ScheduleSpec as JSON); each run is a row
-- keyed by its schedule and local date, so a date never gives two runs, and the row is locked
-- (FOR UPDATE SKIP LOCKED) by the one instance that moves it on.

-- Starts without an operator are allowed per organisation (each one audited).
ALTER TABLE organizations ADD COLUMN unattended_starts BOOLEAN NOT NULL DEFAULT false;

CREATE TABLE schedules (
    schedule_id          UUID PRIMARY KEY,
    org_id               UUID NOT NULL REFERENCES organizations(org_id),
    mission_id           UUID NOT NULL REFERENCES missions(mission_id),
    spec                 JSONB NOT NULL,
    lead_time_s          INT NOT NULL DEFAULT 600 CHECK (lead_time_s BETWEEN 0 AND 86400),
    enabled              BOOLEAN NOT NULL DEFAULT true,
    -- Runs due up to here exist as rows; the next pass adds the ones after it (a run due while
    -- every instance was down is added late and then started in the grace window or missed).
    materialized_until   TIMESTAMPTZ,
    created_by           UUID REFERENCES users(user_id),
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX schedules_org ON schedules (org_id);

CREATE TABLE schedule_runs (
    schedule_id  UUID NOT NULL REFERENCES schedules(schedule_id) ON DELETE CASCADE,
    local_date   DATE NOT NULL,
    due_at       TIMESTAMPTZ NOT NULL,
    phase        TEXT NOT NULL
                 CHECK (phase IN ('upcoming', 'ready', 'awaiting_confirmation', 'started', 'missed')),
    state        JSONB NOT NULL,
    outcome      TEXT NOT NULL DEFAULT '',
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (schedule_id, local_date)
);
CREATE INDEX schedule_runs_open ON schedule_runs (due_at)
    WHERE phase IN ('upcoming', 'ready', 'awaiting_confirmation');
