//! Versioned migrations. `PRAGMA user_version` holds the applied version; each migration runs
//! in its own transaction, so a crash leaves the file at the previous version.

use super::StoreError;
use rusqlite::Connection;
use std::path::Path;

/// `PRAGMA application_id` of an Aviary database: "AVRY".
pub const APPLICATION_ID: i64 = 0x4156_5259;

/// Migrations in order; index + 1 is the version each one produces.
const MIGRATIONS: &[&str] = &[
    // 1: the design's schema (section 4.1), ids as 16-byte UUID blobs, times as µs since epoch.
    r"
    CREATE TABLE organizations (
        org_id      BLOB PRIMARY KEY,
        name        TEXT NOT NULL,
        created_at  INTEGER NOT NULL
    );
    CREATE TABLE sites (
        site_id     BLOB PRIMARY KEY,
        org_id      BLOB NOT NULL REFERENCES organizations(org_id),
        name        TEXT NOT NULL,
        lat_deg     REAL NOT NULL,
        lon_deg     REAL NOT NULL,
        timezone    TEXT NOT NULL,
        created_at  INTEGER NOT NULL
    );
    CREATE TABLE drones (
        drone_id         BLOB PRIMARY KEY,
        site_id          BLOB NOT NULL REFERENCES sites(site_id),
        serial_number    TEXT NOT NULL UNIQUE,
        model            TEXT NOT NULL,
        status           TEXT NOT NULL,
        battery_pct      INTEGER NOT NULL CHECK (battery_pct BETWEEN 0 AND 100),
        last_seen        INTEGER,
        home_lat_deg     REAL NOT NULL,
        home_lon_deg     REAL NOT NULL,
        firmware_version TEXT NOT NULL,
        link             TEXT,
        created_at       INTEGER NOT NULL
    );
    CREATE INDEX drones_site_status ON drones(site_id, status);
    CREATE INDEX drones_status_battery ON drones(status, battery_pct);
    CREATE TABLE users (
        user_id     BLOB PRIMARY KEY,
        org_id      BLOB NOT NULL REFERENCES organizations(org_id),
        email       TEXT NOT NULL UNIQUE,
        role        TEXT NOT NULL,
        created_at  INTEGER NOT NULL
    );
    CREATE TABLE missions (
        mission_id           BLOB PRIMARY KEY,
        org_id               BLOB NOT NULL REFERENCES organizations(org_id),
        site_id              BLOB NOT NULL REFERENCES sites(site_id),
        drone_id             BLOB REFERENCES drones(drone_id),
        name                 TEXT NOT NULL,
        status               TEXT NOT NULL,
        survey_area          TEXT NOT NULL,
        flight_pattern       TEXT NOT NULL,
        parameters           TEXT NOT NULL,
        scheduled_start      INTEGER,
        actual_start         INTEGER,
        actual_end           INTEGER,
        paused_at            INTEGER,
        estimated_duration_s REAL NOT NULL,
        estimated_distance_m REAL NOT NULL,
        waypoints            TEXT NOT NULL,
        created_by           BLOB,
        created_at           INTEGER NOT NULL
    );
    CREATE INDEX missions_site_status_created ON missions(site_id, status, created_at DESC);
    CREATE INDEX missions_drone_status ON missions(drone_id, status);
    CREATE INDEX missions_status_scheduled ON missions(status, scheduled_start);
    CREATE INDEX missions_created ON missions(created_at DESC);
    CREATE TABLE telemetry (
        drone_id     BLOB NOT NULL,
        time_us      INTEGER NOT NULL,
        mission_id   BLOB,
        lat_deg      REAL NOT NULL,
        lon_deg      REAL NOT NULL,
        alt_rel_m    REAL NOT NULL,
        speed_mps    REAL NOT NULL,
        heading_deg  REAL NOT NULL,
        battery_pct  REAL NOT NULL,
        signal_pct   REAL NOT NULL,
        status       TEXT NOT NULL,
        PRIMARY KEY (drone_id, time_us)
    ) WITHOUT ROWID;
    CREATE INDEX telemetry_mission_time ON telemetry(mission_id, time_us) WHERE mission_id IS NOT NULL;
    CREATE INDEX telemetry_time ON telemetry(time_us);
    CREATE TABLE commands (
        cmd_id      BLOB PRIMARY KEY,
        drone_id    BLOB NOT NULL,
        mission_id  BLOB,
        action      TEXT NOT NULL,
        status      TEXT NOT NULL,
        detail      TEXT NOT NULL DEFAULT '',
        sent_at     INTEGER NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    CREATE INDEX commands_mission ON commands(mission_id, sent_at);
    CREATE TABLE audit_log (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        time_us    INTEGER NOT NULL,
        user_id    BLOB,
        action     TEXT NOT NULL,
        target     TEXT NOT NULL,
        detail     TEXT NOT NULL
    );
    ",
    // v2: the time-only telemetry index cost one extra B-tree insert per sample (a fifth of the
    // writer's time) and served only retention, which now walks the (drone_id, time_us) key
    // drone by drone.
    "DROP INDEX IF EXISTS telemetry_time;",
    // v3: what the reports read. `mission_results` holds a mission's figures, written when it
    // ends (from its telemetry) and completed by the mission report (coverage, photos), so a
    // summary over 100,000 missions never reads telemetry. The history is placed in time by
    // its actual start, else its creation: an expression index per listing order. The audit
    // index serves "events of this mission" without scanning the whole log.
    r"
    CREATE TABLE mission_results (
        mission_id        BLOB PRIMARY KEY,
        outcome           TEXT NOT NULL,
        ended_at          INTEGER NOT NULL,
        samples           INTEGER NOT NULL,
        first_sample_us   INTEGER,
        last_sample_us    INTEGER,
        duration_s        REAL,
        distance_m        REAL,
        covered_area_m2   REAL,
        coverage_pct      REAL,
        photos            INTEGER,
        battery_start_pct REAL,
        battery_end_pct   REAL,
        battery_max_pct   REAL,
        battery_min_pct   REAL,
        source            TEXT NOT NULL,
        computed_at       INTEGER NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX mission_results_ended ON mission_results(ended_at);
    CREATE INDEX missions_when ON missions(coalesce(actual_start, created_at) DESC);
    CREATE INDEX missions_site_when ON missions(site_id, coalesce(actual_start, created_at) DESC);
    CREATE INDEX audit_target_time ON audit_log(target, time_us);
    ",
    // v4: the history in time order from one covering index. A mission row carries its
    // survey area and waypoints (kilobytes of JSON, in overflow pages) before `actual_start`
    // and `created_at`, so reading those from the table walked every overflow chain: ~0.5 s
    // for 100,000 missions. This index holds every column the history lists, leading with
    // the time that places a mission; it replaces `missions_when`.
    r"
    CREATE INDEX missions_history ON missions(coalesce(actual_start, created_at), site_id,
        drone_id, status, created_at, actual_start, actual_end, mission_id, name);
    DROP INDEX missions_when;
    ",
    // v5: the organisation report's rows in one table. Listing a year of history with its
    // figures read two B-trees (the history index, then `mission_results` merged by key):
    // 25 columns and a sort per mission, 224 ms for 100,000 missions. `mission_figures`
    // holds one row per mission in time order with only what a summary reads, kept in step
    // with `missions` and `mission_results` by the triggers below (every write path: insert,
    // replace, lifecycle update, delete, results written or replaced), so it cannot drift
    // from them; the migration fills it from the rows already there.
    r"
    CREATE TABLE mission_figures (
        when_us           INTEGER NOT NULL,
        mission_id        BLOB NOT NULL,
        site_id           BLOB NOT NULL,
        drone_id          BLOB,
        status            TEXT NOT NULL,
        created_at        INTEGER NOT NULL,
        actual_start      INTEGER,
        actual_end        INTEGER,
        outcome           TEXT,
        source            TEXT,
        first_sample_us   INTEGER,
        last_sample_us    INTEGER,
        duration_s        REAL,
        distance_m        REAL,
        covered_area_m2   REAL,
        battery_start_pct REAL,
        battery_end_pct   REAL,
        name              TEXT NOT NULL,
        PRIMARY KEY (when_us, mission_id)
    ) WITHOUT ROWID;
    INSERT INTO mission_figures
        SELECT coalesce(m.actual_start, m.created_at), m.mission_id, m.site_id, m.drone_id,
               m.status, m.created_at, m.actual_start, m.actual_end, r.outcome, r.source,
               r.first_sample_us, r.last_sample_us, r.duration_s, r.distance_m,
               r.covered_area_m2, r.battery_start_pct, r.battery_end_pct, m.name
        FROM missions m LEFT JOIN mission_results r ON r.mission_id = m.mission_id;
    -- A replaced mission (INSERT OR REPLACE) does not fire delete triggers: its old row goes
    -- here, found through the mission's old time.
    CREATE TRIGGER mission_figures_replace BEFORE INSERT ON missions BEGIN
        DELETE FROM mission_figures WHERE mission_id = NEW.mission_id AND when_us =
            (SELECT coalesce(actual_start, created_at) FROM missions WHERE mission_id = NEW.mission_id);
    END;
    CREATE TRIGGER mission_figures_insert AFTER INSERT ON missions BEGIN
        INSERT OR REPLACE INTO mission_figures
            SELECT coalesce(NEW.actual_start, NEW.created_at), NEW.mission_id, NEW.site_id,
                   NEW.drone_id, NEW.status, NEW.created_at, NEW.actual_start, NEW.actual_end,
                   r.outcome, r.source, r.first_sample_us, r.last_sample_us, r.duration_s,
                   r.distance_m, r.covered_area_m2, r.battery_start_pct, r.battery_end_pct, NEW.name
            FROM (SELECT 1) LEFT JOIN mission_results r ON r.mission_id = NEW.mission_id;
    END;
    CREATE TRIGGER mission_figures_update AFTER UPDATE ON missions BEGIN
        DELETE FROM mission_figures
            WHERE when_us = coalesce(OLD.actual_start, OLD.created_at) AND mission_id = OLD.mission_id;
        INSERT OR REPLACE INTO mission_figures
            SELECT coalesce(NEW.actual_start, NEW.created_at), NEW.mission_id, NEW.site_id,
                   NEW.drone_id, NEW.status, NEW.created_at, NEW.actual_start, NEW.actual_end,
                   r.outcome, r.source, r.first_sample_us, r.last_sample_us, r.duration_s,
                   r.distance_m, r.covered_area_m2, r.battery_start_pct, r.battery_end_pct, NEW.name
            FROM (SELECT 1) LEFT JOIN mission_results r ON r.mission_id = NEW.mission_id;
    END;
    CREATE TRIGGER mission_figures_delete AFTER DELETE ON missions BEGIN
        DELETE FROM mission_figures
            WHERE when_us = coalesce(OLD.actual_start, OLD.created_at) AND mission_id = OLD.mission_id;
    END;
    -- Results: INSERT OR REPLACE fires the insert trigger; an update or delete (no write path
    -- does either today) is followed as well.
    CREATE TRIGGER mission_figures_result_insert AFTER INSERT ON mission_results BEGIN
        UPDATE mission_figures SET outcome = NEW.outcome, source = NEW.source,
            first_sample_us = NEW.first_sample_us, last_sample_us = NEW.last_sample_us,
            duration_s = NEW.duration_s, distance_m = NEW.distance_m,
            covered_area_m2 = NEW.covered_area_m2, battery_start_pct = NEW.battery_start_pct,
            battery_end_pct = NEW.battery_end_pct
        WHERE mission_id = NEW.mission_id AND when_us =
            (SELECT coalesce(actual_start, created_at) FROM missions WHERE mission_id = NEW.mission_id);
    END;
    CREATE TRIGGER mission_figures_result_update AFTER UPDATE ON mission_results BEGIN
        UPDATE mission_figures SET outcome = NULL, source = NULL, first_sample_us = NULL,
            last_sample_us = NULL, duration_s = NULL, distance_m = NULL, covered_area_m2 = NULL,
            battery_start_pct = NULL, battery_end_pct = NULL
        WHERE mission_id = OLD.mission_id AND when_us =
            (SELECT coalesce(actual_start, created_at) FROM missions WHERE mission_id = OLD.mission_id);
        UPDATE mission_figures SET outcome = NEW.outcome, source = NEW.source,
            first_sample_us = NEW.first_sample_us, last_sample_us = NEW.last_sample_us,
            duration_s = NEW.duration_s, distance_m = NEW.distance_m,
            covered_area_m2 = NEW.covered_area_m2, battery_start_pct = NEW.battery_start_pct,
            battery_end_pct = NEW.battery_end_pct
        WHERE mission_id = NEW.mission_id AND when_us =
            (SELECT coalesce(actual_start, created_at) FROM missions WHERE mission_id = NEW.mission_id);
    END;
    CREATE TRIGGER mission_figures_result_delete AFTER DELETE ON mission_results BEGIN
        UPDATE mission_figures SET outcome = NULL, source = NULL, first_sample_us = NULL,
            last_sample_us = NULL, duration_s = NULL, distance_m = NULL, covered_area_m2 = NULL,
            battery_start_pct = NULL, battery_end_pct = NULL
        WHERE mission_id = OLD.mission_id AND when_us =
            (SELECT coalesce(actual_start, created_at) FROM missions WHERE mission_id = OLD.mission_id);
    END;
    ",
    // The mission supervisor: the finer phase the vehicle's reports put a mission in, why it
    // failed, and every transition with its cause (so a report covers the whole flight).
    r"
    ALTER TABLE missions ADD COLUMN phase TEXT;
    ALTER TABLE missions ADD COLUMN failure_reason TEXT;
    CREATE TABLE mission_transitions (
        mission_id  BLOB NOT NULL REFERENCES missions(mission_id) ON DELETE CASCADE,
        time_us     INTEGER NOT NULL,
        from_phase  TEXT NOT NULL,
        to_phase    TEXT NOT NULL,
        cause       TEXT NOT NULL,
        reason      TEXT
    );
    CREATE INDEX mission_transitions_mission_time ON mission_transitions(mission_id, time_us);
    ",
    // v7: the desktop's weather and its local scheduler (issue 21): weather limits edited per
    // drone model (a model without a row has the built-in defaults), the forecast at a
    // mission's start and the wind its drone measured, and the schedules the desktop runs
    // itself without a fleet server, with each run's state (a run is its schedule and its
    // local date, so one date never gives two runs and a restart picks up where it was).
    r"
    CREATE TABLE weather_limits (
        model       TEXT PRIMARY KEY,
        limits      TEXT NOT NULL,
        updated_at  INTEGER NOT NULL
    );
    CREATE TABLE mission_weather (
        mission_id  BLOB NOT NULL REFERENCES missions(mission_id) ON DELETE CASCADE,
        kind        TEXT NOT NULL,
        time_us     INTEGER NOT NULL,
        data        TEXT NOT NULL,
        PRIMARY KEY (mission_id, kind)
    );
    CREATE TABLE local_schedules (
        schedule_id BLOB PRIMARY KEY,
        mission_id  BLOB NOT NULL REFERENCES missions(mission_id) ON DELETE CASCADE,
        site_id     BLOB NOT NULL,
        spec        TEXT NOT NULL,
        created_at  INTEGER NOT NULL
    );
    CREATE TABLE local_schedule_runs (
        schedule_id BLOB NOT NULL REFERENCES local_schedules(schedule_id) ON DELETE CASCADE,
        local_date  TEXT NOT NULL,
        due_us      INTEGER NOT NULL,
        phase       TEXT NOT NULL,
        state       TEXT NOT NULL,
        mission_id  BLOB,
        updated_at  INTEGER NOT NULL,
        PRIMARY KEY (schedule_id, local_date)
    );
    CREATE INDEX local_schedule_runs_due ON local_schedule_runs(due_us);
    ",
    // v8: the operator's alerts (issue 18), so an open alert is on the Monitor again after a
    // restart and the alert history can be paged. The id is the app's own alert id (an
    // integer key, no uuid: the app numbers its alerts and continues after the highest one).
    // The history reads newest first, optionally one drone's; restoring reads the open ones
    // (a partial index, small however long the history) and retention deletes by time.
    r"
    CREATE TABLE alerts (
        alert_id        INTEGER PRIMARY KEY,
        drone_id        BLOB,
        kind            TEXT NOT NULL,
        severity        TEXT NOT NULL,
        message         TEXT NOT NULL,
        raised_at       INTEGER NOT NULL,
        acknowledged_at INTEGER,
        acknowledged_by TEXT,
        mission_id      BLOB
    );
    CREATE INDEX alerts_raised ON alerts(raised_at);
    CREATE INDEX alerts_drone_raised ON alerts(drone_id, raised_at);
    CREATE INDEX alerts_open ON alerts(raised_at) WHERE acknowledged_at IS NULL;
    ",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Refuses files that are not Aviary databases, before anything is written to them.
pub(super) fn check_identity(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let err = |e| StoreError::from_sqlite(path, e);
    // Reading the schema is the first access that touches the file's header.
    let tables: i64 = conn
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
            [],
            |r| r.get(0),
        )
        .map_err(err)?;
    let application_id: i64 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(err)?;
    if application_id == APPLICATION_ID || (application_id == 0 && tables == 0) {
        Ok(())
    } else {
        Err(StoreError::Foreign {
            path: path.to_path_buf(),
            application_id,
            tables,
        })
    }
}

/// Brings the database up to [`SCHEMA_VERSION`].
pub(super) fn migrate(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let err = |e| StoreError::from_sqlite(path, e);
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .map_err(err)?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::NewerSchema {
            path: path.to_path_buf(),
            found: version,
            supported: SCHEMA_VERSION,
        });
    }
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(version).unwrap_or(0))
    {
        let to = i as i64 + 1;
        let batch = format!(
            "BEGIN IMMEDIATE;\n{sql}\nPRAGMA application_id = {APPLICATION_ID};\nPRAGMA user_version = {to};\nCOMMIT;"
        );
        if let Err(e) = conn.execute_batch(&batch) {
            // Leave the file at the previous version.
            let _rollback = conn.execute_batch("ROLLBACK");
            return Err(err(e));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file left at version 1 by an earlier build upgrades in place: its rows stay, the
    /// time-only telemetry index goes.
    #[test]
    fn v1_file_upgrades_to_current_keeping_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v1.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "BEGIN;\n{}\nPRAGMA application_id = {APPLICATION_ID};\nPRAGMA user_version = 1;\nCOMMIT;",
            MIGRATIONS[0]
        ))
        .unwrap();
        conn.execute(
            "INSERT INTO telemetry VALUES (x'01', 5, NULL, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 'available')",
            [],
        )
        .unwrap();
        check_identity(&conn, &path).unwrap();
        migrate(&conn, &path).unwrap();
        let version: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        let indexes: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'telemetry_time'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(indexes, 0);
        let rows: i64 = conn
            .query_row("SELECT count(*) FROM telemetry", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, 1);
    }
    /// A file left at version 2 upgrades in place to the current version: every row stays,
    /// the results table and the report indexes appear, and old missions simply have no
    /// result yet.
    #[test]
    fn v2_file_upgrades_to_current_keeping_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v2.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "BEGIN;\n{}\n{}\nPRAGMA application_id = {APPLICATION_ID};\nPRAGMA user_version = 2;\nCOMMIT;",
            MIGRATIONS[0], MIGRATIONS[1]
        ))
        .unwrap();
        conn.execute_batch(
            "INSERT INTO organizations VALUES (x'01', 'Org', 0);
             INSERT INTO sites VALUES (x'02', x'01', 'Site', 51.9, 4.48, 'Europe/Amsterdam', 0);
             INSERT INTO missions VALUES (x'03', x'01', x'02', NULL, 'old survey', 'completed', '{}',
                 'lawnmower', '{}', NULL, 10, 20, NULL, 600.0, 2500.0, '[]', NULL, 5);
             INSERT INTO telemetry VALUES (x'04', 15, x'03', 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 'in_mission');
             INSERT INTO commands VALUES (x'05', x'04', x'03', 'pause', 'confirmed', '', 11, 12);
             INSERT INTO audit_log (time_us, user_id, action, target, detail)
                 VALUES (10, NULL, 'mission.start', 'm', 'in_progress');",
        )
        .unwrap();
        check_identity(&conn, &path).unwrap();
        migrate(&conn, &path).unwrap();
        let one = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(one("PRAGMA user_version"), SCHEMA_VERSION);
        assert_eq!(SCHEMA_VERSION, 8);
        for table in ["missions", "telemetry", "commands", "audit_log", "sites"] {
            assert_eq!(one(&format!("SELECT count(*) FROM {table}")), 1, "{table}");
        }
        // v7: weather limits, mission weather and local schedules start empty; v8: alerts too.
        for table in [
            "weather_limits",
            "mission_weather",
            "local_schedules",
            "local_schedule_runs",
            "alerts",
        ] {
            assert_eq!(one(&format!("SELECT count(*) FROM {table}")), 0, "{table}");
        }
        assert_eq!(one("SELECT count(*) FROM mission_results"), 0);
        for index in [
            "audit_target_time",
            "mission_results_ended",
            "mission_transitions_mission_time",
            "missions_history",
            "missions_site_when",
        ] {
            assert_eq!(
                one(&format!(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = '{index}'"
                )),
                1,
                "{index}"
            );
        }
        assert_eq!(
            one("SELECT actual_start FROM missions WHERE name = 'old survey'"),
            10
        );
        // Running the migrations again changes nothing.
        migrate(&conn, &path).unwrap();
        assert_eq!(one("PRAGMA user_version"), SCHEMA_VERSION);
    }

    /// A file left at version 4 upgrades in place: every row stays, and `mission_figures`
    /// is filled from the missions and their results, then kept in step by the triggers.
    #[test]
    fn v4_file_upgrades_to_current_keeping_rows() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v4.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "BEGIN;\n{}\nPRAGMA application_id = {APPLICATION_ID};\nPRAGMA user_version = 4;\nCOMMIT;",
            MIGRATIONS[..4].join("\n")
        ))
        .unwrap();
        conn.execute_batch(
            "INSERT INTO organizations VALUES (x'01', 'Org', 0);
             INSERT INTO sites VALUES (x'02', x'01', 'Site', 51.9, 4.48, 'Europe/Amsterdam', 0);
             INSERT INTO missions VALUES (x'03', x'01', x'02', NULL, 'flown', 'completed', '{}',
                 'lawnmower', '{}', NULL, 10, 20, NULL, 600.0, 2500.0, '[]', NULL, 5);
             INSERT INTO missions VALUES (x'04', x'01', x'02', NULL, 'planned', 'planned', '{}',
                 'lawnmower', '{}', NULL, NULL, NULL, NULL, 600.0, 2500.0, '[]', NULL, 7);
             INSERT INTO mission_results VALUES (x'03', 'completed', 20, 9, 11, 19, 8.0, 120.5,
                 900.0, 95.0, 12, 90.0, 80.5, 90.0, 80.5, 'report', 21);
             INSERT INTO audit_log (time_us, user_id, action, target, detail)
                 VALUES (10, NULL, 'mission.start', 'm', 'in_progress');",
        )
        .unwrap();
        check_identity(&conn, &path).unwrap();
        migrate(&conn, &path).unwrap();
        let one = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(one("PRAGMA user_version"), SCHEMA_VERSION);
        for (table, rows) in [
            ("missions", 2),
            ("mission_results", 1),
            ("audit_log", 1),
            ("mission_figures", 2),
        ] {
            assert_eq!(
                one(&format!("SELECT count(*) FROM {table}")),
                rows,
                "{table}"
            );
        }
        let row = |id: &str| -> (i64, String, Option<String>, Option<f64>, Option<f64>) {
            conn.query_row(
                &format!(
                    "SELECT when_us, name, source, distance_m, battery_end_pct
                     FROM mission_figures WHERE mission_id = x'{id}'"
                ),
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap()
        };
        assert_eq!(
            row("03"),
            (
                10,
                "flown".into(),
                Some("report".into()),
                Some(120.5),
                Some(80.5)
            )
        );
        assert_eq!(row("04"), (7, "planned".into(), None, None, None));
        // The triggers follow later writes: the planned mission starts, then is deleted.
        conn.execute_batch("UPDATE missions SET actual_start = 30 WHERE mission_id = x'04'")
            .unwrap();
        assert_eq!(row("04").0, 30);
        conn.execute_batch("DELETE FROM missions WHERE mission_id = x'04'")
            .unwrap();
        assert_eq!(one("SELECT count(*) FROM mission_figures"), 1);
        migrate(&conn, &path).unwrap();
        assert_eq!(one("PRAGMA user_version"), SCHEMA_VERSION);
    }

    /// A file left at version 7 (before alerts were kept) upgrades in place: its rows stay and
    /// an empty `alerts` table with its indexes appears, ready for the app's alert ids.
    #[test]
    fn v7_file_upgrades_with_an_empty_alerts_table() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v7.db");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(&format!(
            "BEGIN;\n{}\nPRAGMA application_id = {APPLICATION_ID};\nPRAGMA user_version = 7;\nCOMMIT;",
            MIGRATIONS[..7].join("\n")
        ))
        .unwrap();
        conn.execute_batch(
            "INSERT INTO organizations VALUES (x'01', 'Org', 0);
             INSERT INTO weather_limits VALUES ('Quad X8', '{}', 3);",
        )
        .unwrap();
        check_identity(&conn, &path).unwrap();
        migrate(&conn, &path).unwrap();
        let one = |sql: &str| -> i64 { conn.query_row(sql, [], |r| r.get(0)).unwrap() };
        assert_eq!(one("PRAGMA user_version"), 8);
        assert_eq!(one("SELECT count(*) FROM organizations"), 1);
        assert_eq!(one("SELECT count(*) FROM weather_limits"), 1);
        assert_eq!(one("SELECT count(*) FROM alerts"), 0);
        for index in ["alerts_raised", "alerts_drone_raised", "alerts_open"] {
            assert_eq!(
                one(&format!(
                    "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = '{index}'"
                )),
                1,
                "{index}"
            );
        }
        conn.execute_batch(
            "INSERT INTO alerts (alert_id, drone_id, kind, severity, message, raised_at)
                 VALUES (7, x'04', 'link_lost', 'critical', 'MAV-3: no telemetry for 5 s', 10);",
        )
        .unwrap();
        assert_eq!(
            one("SELECT count(*) FROM alerts WHERE acknowledged_at IS NULL"),
            1
        );
        migrate(&conn, &path).unwrap();
        assert_eq!(one("PRAGMA user_version"), SCHEMA_VERSION);
    }
}
