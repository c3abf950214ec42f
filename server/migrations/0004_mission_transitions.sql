-- Aviary fleet server schema, version 4: every change of a mission's state, with its cause.
-- Written by `lifecycle::apply` (the only code that changes `missions.status` after creation)
-- and, for the finer phases the drone reports without a status change (returning, landed), by
-- the live client. The report covers the whole flight from these rows.
CREATE TABLE mission_transitions (
    id           BIGSERIAL PRIMARY KEY,
    mission_id   UUID NOT NULL REFERENCES missions(mission_id),
    org_id       UUID NOT NULL REFERENCES organizations(org_id),
    at           TIMESTAMPTZ NOT NULL,
    from_status  TEXT NOT NULL,
    to_status    TEXT NOT NULL,
    phase        TEXT NOT NULL,
    cause        TEXT NOT NULL,
    reason       TEXT,
    user_id      UUID REFERENCES users(user_id)
);
CREATE INDEX mission_transitions_mission ON mission_transitions (mission_id, id);
