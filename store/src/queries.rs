//! Reads and writes of fleet, missions, commands, audit and telemetry.

use super::sql::{sql_limit, status_sql_list};
use super::{ImportedMission, Store, StoreError};
use aviary_core::auth::Role;
use aviary_core::geo::LatLon;
use aviary_core::mission::{MissionEvent, MissionStatus};
use aviary_core::model::{
    AuditEvent, Drone, DroneId, DroneStatus, FleetStatusCounts, Mission, MissionId, OrgId,
    Organization, Site, SiteId, TelemetrySample, User, UserId,
};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, params};
use uuid::Uuid;

fn us(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_us(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(v).unwrap_or_default()
}

fn opt_us(v: Option<i64>) -> Option<DateTime<Utc>> {
    v.map(from_us)
}

/// Which missions to list. Empty fields match everything; results are newest first.
#[derive(Debug, Clone, Default)]
pub struct MissionFilter {
    /// Only this site.
    pub site_id: Option<SiteId>,
    /// Only this drone.
    pub drone_id: Option<DroneId>,
    /// Only these statuses (empty: all but deleted).
    pub statuses: Vec<MissionStatus>,
    /// Created at or after.
    pub from: Option<DateTime<Utc>>,
    /// Created before.
    pub to: Option<DateTime<Utc>>,
    /// At most this many (0: no limit).
    pub limit: usize,
}

/// A half-open time range `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelemetryRange {
    /// Inclusive start.
    pub from: DateTime<Utc>,
    /// Exclusive end.
    pub to: DateTime<Utc>,
}

impl TelemetryRange {
    /// Every sample ever stored.
    pub fn all() -> Self {
        Self {
            from: DateTime::<Utc>::MIN_UTC,
            to: DateTime::<Utc>::MAX_UTC,
        }
    }
}

const DRONE_COLS: &str = "drone_id, site_id, serial_number, model, status, battery_pct, last_seen, home_lat_deg, \
                          home_lon_deg, firmware_version, link, created_at";
const MISSION_COLS: &str = "mission_id, org_id, site_id, drone_id, name, status, survey_area, flight_pattern, \
                            parameters, scheduled_start, actual_start, actual_end, paused_at, estimated_duration_s, \
                            estimated_distance_m, waypoints, created_by, created_at";
const TELEMETRY_COLS: &str = "drone_id, time_us, mission_id, lat_deg, lon_deg, alt_rel_m, speed_mps, heading_deg, battery_pct, signal_pct, status";

/// A row decoded into raw parts; JSON and enum fields are parsed afterwards so decode errors
/// can name the file.
struct RawMission {
    m: Mission,
    status: String,
    area: String,
    pattern: String,
    params: String,
    waypoints: String,
}

impl Store {
    // --- organisations, sites, users --------------------------------------------------

    /// Inserts or replaces an organisation.
    pub fn upsert_org(&self, org: &Organization) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO organizations (org_id, name, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT(org_id) DO UPDATE SET name = excluded.name",
                params![org.id.0, org.name, us(org.created_at)],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Every organisation.
    pub fn list_orgs(&self) -> Result<Vec<Organization>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT org_id, name, created_at FROM organizations ORDER BY name")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Organization {
                    id: OrgId(r.get(0)?),
                    name: r.get(1)?,
                    created_at: from_us(r.get(2)?),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Inserts or replaces a site.
    pub fn upsert_site(&self, site: &Site) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO sites (site_id, org_id, name, lat_deg, lon_deg, timezone, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT(site_id) DO UPDATE SET name = excluded.name, lat_deg = excluded.lat_deg,
                   lon_deg = excluded.lon_deg, timezone = excluded.timezone",
                params![
                    site.id.0,
                    site.org_id.0,
                    site.name,
                    site.location.lat_deg,
                    site.location.lon_deg,
                    site.timezone.name(),
                    us(site.created_at)
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Every site, by name.
    pub fn list_sites(&self) -> Result<Vec<Site>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT site_id, org_id, name, lat_deg, lon_deg, timezone, created_at FROM sites ORDER BY name")
            .map_err(|e| self.err(e))?;
        let raw = stmt
            .query_map([], |r| {
                Ok((
                    SiteId(r.get(0)?),
                    OrgId(r.get(1)?),
                    r.get::<_, String>(2)?,
                    LatLon::new(r.get(3)?, r.get(4)?),
                    r.get::<_, String>(5)?,
                    from_us(r.get(6)?),
                ))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        raw.into_iter()
            .map(|(id, org_id, name, location, tz, created_at)| {
                let timezone = tz
                    .parse::<chrono_tz::Tz>()
                    .map_err(|e| self.decode("site time zone", e.to_string()))?;
                Ok(Site {
                    id,
                    org_id,
                    name,
                    location,
                    timezone,
                    created_at,
                })
            })
            .collect()
    }

    /// Inserts or replaces a user. The e-mail must be unique.
    pub fn upsert_user(&self, user: &User) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO users (user_id, org_id, email, role, created_at) VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT(user_id) DO UPDATE SET email = excluded.email, role = excluded.role",
                params![user.id.0, user.org_id.0, user.email, user.role.as_str(), us(user.created_at)],
            )
            .map_err(|e| self.unique(e, "e-mail", &user.email))?;
        Ok(())
    }

    /// A user by id.
    pub fn get_user(&self, id: UserId) -> Result<User, StoreError> {
        let raw = self
            .conn
            .query_row(
                "SELECT user_id, org_id, email, role, created_at FROM users WHERE user_id = ?1",
                [id.0],
                |r| {
                    Ok((
                        UserId(r.get(0)?),
                        OrgId(r.get(1)?),
                        r.get::<_, String>(2)?,
                        r.get::<_, String>(3)?,
                        from_us(r.get(4)?),
                    ))
                },
            )
            .optional()
            .map_err(|e| self.err(e))?
            .ok_or_else(|| StoreError::NotFound {
                kind: "user",
                id: id.to_string(),
            })?;
        let role = Role::parse(&raw.3).ok_or_else(|| self.decode("user role", raw.3.clone()))?;
        Ok(User {
            id: raw.0,
            org_id: raw.1,
            email: raw.2,
            role,
            created_at: raw.4,
        })
    }

    // --- drones ---------------------------------------------------------------------------

    /// Adds a drone. Its serial number must be unique.
    pub fn insert_drone(&self, d: &Drone) -> Result<(), StoreError> {
        write_drone_on(&self.conn, d).map_err(|e| self.unique(e, "serial number", &d.serial_number))
    }

    /// Adds many drones in one transaction (one wait for the disk, not one per drone: a fleet
    /// powering up files a thousand vehicles a second). Each drone's outcome is its own — a
    /// serial number already stored refuses that drone ([`StoreError::Duplicate`]) and the
    /// others are still added; an error of the transaction itself (disk full, I/O) adds none
    /// and is the outer error.
    pub fn insert_drones(
        &mut self,
        drones: &[Drone],
    ) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| StoreError::from_sqlite(&path, e))?;
        let mut outcomes = Vec::with_capacity(drones.len());
        for d in drones {
            outcomes.push(match write_drone_on(&tx, d) {
                Ok(()) => Ok(()),
                // A constraint refuses this drone's row only (SQLite undoes that statement).
                Err(e) if is_unique(&e) => Err(StoreError::Duplicate {
                    what: "serial number",
                    value: d.serial_number.clone(),
                }),
                Err(e)
                    if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation) =>
                {
                    Err(StoreError::from_sqlite(&path, e))
                }
                // Anything else (I/O, disk full) is the transaction's: nothing is added.
                Err(e) => return Err(StoreError::from_sqlite(&path, e)),
            });
        }
        tx.commit().map_err(|e| StoreError::from_sqlite(&path, e))?;
        Ok(outcomes)
    }

    /// A drone by id.
    pub fn get_drone(&self, id: DroneId) -> Result<Drone, StoreError> {
        self.drone_where("drone_id", &id.0)?
            .ok_or_else(|| StoreError::NotFound {
                kind: "drone",
                id: id.to_string(),
            })
    }

    /// The drone with this serial number, if any (one indexed lookup: a link identifying
    /// thousands of vehicles asks once per vehicle).
    pub fn drone_by_serial(&self, serial: &str) -> Result<Option<Drone>, StoreError> {
        self.drone_where("serial_number", &serial)
    }

    /// The drone whose `column` (a unique column named by this file) equals `value`.
    fn drone_where(
        &self,
        column: &str,
        value: &dyn rusqlite::ToSql,
    ) -> Result<Option<Drone>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {DRONE_COLS} FROM drones WHERE {column} = ?1"
            ))
            .map_err(|e| self.err(e))?;
        let raw = stmt
            .query_row([value], raw_drone)
            .optional()
            .map_err(|e| self.err(e))?;
        raw.map(|r| self.finish_drone(r)).transpose()
    }

    /// Drones, optionally of one site and one status, by serial number.
    pub fn list_drones(
        &self,
        site: Option<SiteId>,
        status: Option<DroneStatus>,
    ) -> Result<Vec<Drone>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {DRONE_COLS} FROM drones WHERE (?1 IS NULL OR site_id = ?1) AND (?2 IS NULL OR status = ?2)
                 ORDER BY serial_number"
            ))
            .map_err(|e| self.err(e))?;
        let raws = stmt
            .query_map(
                params![site.map(|s| s.0), status.map(DroneStatus::as_str)],
                raw_drone,
            )
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        raws.into_iter().map(|r| self.finish_drone(r)).collect()
    }

    /// Up to `limit` drones whose serial number sorts after `after` (from the first when
    /// `None`), by serial number: the fleet read a page at a time, so re-reading thousands of
    /// drones is spread over several short reads (one indexed range scan each).
    pub fn list_drones_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Drone>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {DRONE_COLS} FROM drones WHERE (?1 IS NULL OR serial_number > ?1)
                 ORDER BY serial_number LIMIT ?2"
            ))
            .map_err(|e| self.err(e))?;
        let raws = stmt
            .query_map(params![after, sql_limit(limit)], raw_drone)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        raws.into_iter().map(|r| self.finish_drone(r)).collect()
    }

    /// Sets a drone's operational status (e.g. maintenance).
    pub fn set_drone_status(&self, id: DroneId, status: DroneStatus) -> Result<(), StoreError> {
        let n = self
            .conn
            .execute(
                "UPDATE drones SET status = ?2 WHERE drone_id = ?1",
                params![id.0, status.as_str()],
            )
            .map_err(|e| self.err(e))?;
        if n == 0 {
            return Err(StoreError::NotFound {
                kind: "drone",
                id: id.to_string(),
            });
        }
        Ok(())
    }

    /// Records what was last heard from a drone: battery and time.
    pub fn touch_drone(
        &self,
        id: DroneId,
        battery_pct: u8,
        seen: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE drones SET battery_pct = ?2, last_seen = ?3 WHERE drone_id = ?1",
                params![id.0, battery_pct.min(100), us(seen)],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Drones per status at one site (design: `site:{id}:fleet_status`).
    pub fn fleet_status_counts(&self, site: SiteId) -> Result<FleetStatusCounts, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT status, count(*) FROM drones WHERE site_id = ?1 GROUP BY status",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([site.0], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, u32>(1)?))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        let mut counts = FleetStatusCounts::default();
        for (s, n) in rows {
            let status =
                DroneStatus::parse(&s).ok_or_else(|| self.decode("drone status", s.clone()))?;
            for _ in 0..n {
                counts.add(status);
            }
        }
        Ok(counts)
    }

    fn finish_drone(&self, (mut d, status): (Drone, String)) -> Result<Drone, StoreError> {
        d.status = DroneStatus::parse(&status)
            .ok_or_else(|| self.decode("drone status", status.clone()))?;
        Ok(d)
    }

    // --- missions ---------------------------------------------------------------------------

    /// Saves a new mission.
    pub fn insert_mission(&self, m: &Mission) -> Result<(), StoreError> {
        self.write_mission(m, "INSERT")
    }

    /// Replaces a stored mission with `m` (same id).
    pub fn update_mission(&self, m: &Mission) -> Result<(), StoreError> {
        let exists: bool = self
            .conn
            .query_row(
                "SELECT 1 FROM missions WHERE mission_id = ?1",
                [m.id.0],
                |_| Ok(true),
            )
            .optional()
            .map_err(|e| self.err(e))?
            .unwrap_or(false);
        if !exists {
            return Err(StoreError::NotFound {
                kind: "mission",
                id: m.id.to_string(),
            });
        }
        self.write_mission(m, "REPLACE")
    }

    fn write_mission(&self, m: &Mission, verb: &str) -> Result<(), StoreError> {
        write_mission_on(&self.conn, m, verb).map_err(|e| self.mission_write_error(e))
    }

    fn mission_write_error(&self, e: MissionWriteError) -> StoreError {
        match e {
            MissionWriteError::Json(e) => self.decode("mission JSON", e.to_string()),
            MissionWriteError::Sql(e) => self.err(e),
        }
    }

    /// Imports many missions, each with its result when it has one, in one transaction: all
    /// of them or none. For moving a history between stores (and seeding large ones) at
    /// thousands of missions per second, where one `insert_mission` per transaction would
    /// wait for the disk each time. A mission id already stored is refused
    /// ([`StoreError::Duplicate`]) and nothing is written; so is a result that names another
    /// mission than the one it comes with. Returns the number of missions imported.
    pub fn import_missions(&mut self, items: &[ImportedMission]) -> Result<usize, StoreError> {
        for item in items {
            if let Some(r) = &item.result
                && r.mission_id != item.mission.id
            {
                return Err(StoreError::ImportMismatch {
                    mission: item.mission.id.to_string(),
                    result: r.mission_id.to_string(),
                });
            }
        }
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| StoreError::from_sqlite(&path, e))?;
        for item in items {
            if let Err(e) = write_mission_on(&tx, &item.mission, "INSERT") {
                return Err(match e {
                    MissionWriteError::Sql(e) if is_constraint(&e) => StoreError::Duplicate {
                        what: "mission id",
                        value: item.mission.id.to_string(),
                    },
                    MissionWriteError::Sql(e) => StoreError::from_sqlite(&path, e),
                    MissionWriteError::Json(e) => StoreError::Decode {
                        path: path.clone(),
                        what: "mission JSON",
                        detail: e.to_string(),
                    },
                });
            }
            if let Some(r) = &item.result {
                super::results::write_result(&tx, r)
                    .map_err(|e| StoreError::from_sqlite(&path, e))?;
            }
        }
        tx.commit().map_err(|e| StoreError::from_sqlite(&path, e))?;
        Ok(items.len())
    }

    /// A mission by id.
    pub fn get_mission(&self, id: MissionId) -> Result<Mission, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {MISSION_COLS} FROM missions WHERE mission_id = ?1"
            ))
            .map_err(|e| self.err(e))?;
        let raw = stmt
            .query_row([id.0], raw_mission)
            .optional()
            .map_err(|e| self.err(e))?;
        self.finish_mission(raw.ok_or_else(|| StoreError::NotFound {
            kind: "mission",
            id: id.to_string(),
        })?)
    }

    /// Missions matching `f`, newest first (mission history).
    pub fn list_missions(&self, f: &MissionFilter) -> Result<Vec<Mission>, StoreError> {
        let status_list = status_sql_list(&f.statuses);
        let limit = sql_limit(f.limit);
        let sql = format!(
            "SELECT {MISSION_COLS} FROM missions
             WHERE (?1 IS NULL OR site_id = ?1) AND (?2 IS NULL OR drone_id = ?2) AND status IN ({status_list})
               AND (?3 IS NULL OR created_at >= ?3) AND (?4 IS NULL OR created_at < ?4)
             ORDER BY created_at DESC LIMIT ?5"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let raws = stmt
            .query_map(
                params![
                    f.site_id.map(|s| s.0),
                    f.drone_id.map(|d| d.0),
                    f.from.map(us),
                    f.to.map(us),
                    limit
                ],
                raw_mission,
            )
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        raws.into_iter().map(|r| self.finish_mission(r)).collect()
    }

    /// Applies a lifecycle event to a stored mission at the clock's time, atomically, and
    /// records it in the audit log. Illegal transitions change nothing.
    pub fn apply_mission_event(
        &mut self,
        id: MissionId,
        event: MissionEvent,
        user: Option<UserId>,
    ) -> Result<Mission, StoreError> {
        let now = self.clock.now();
        let mut m = self.get_mission(id)?;
        let mut life = m.lifecycle();
        life.handle(event, now)?;
        m.apply_lifecycle(&life);
        let ended = m.status.is_terminal() && m.status != MissionStatus::Deleted;
        if ended {
            // The result is computed from committed telemetry: let the writer commit what is
            // queued first. A failed flush (full disk, writer gone) must not block ending the
            // mission; the result then covers the samples that were committed and says how
            // many (`samples`), and the mission report recomputes it later.
            let _committed_what_it_could = self.writer.flush();
        }
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| StoreError::from_sqlite(&self.path, e))?;
        let path = self.path.clone();
        let map = |e| StoreError::from_sqlite(&path, e);
        if m.status == MissionStatus::Deleted {
            tx.execute("DELETE FROM missions WHERE mission_id = ?1", [m.id.0])
                .map_err(map)?;
        } else {
            tx.execute(
                "UPDATE missions SET status = ?2, actual_start = ?3, actual_end = ?4, paused_at = ?5 WHERE mission_id = ?1",
                params![m.id.0, m.status.as_str(), m.actual_start.map(us), m.actual_end.map(us), m.paused_at.map(us)],
            )
            .map_err(map)?;
        }
        if ended {
            super::results::write_result_from_telemetry(
                &tx,
                m.id,
                m.status,
                m.actual_end.unwrap_or(now),
                now,
            )
            .map_err(map)?;
        }
        tx.execute(
            "INSERT INTO audit_log (time_us, user_id, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![us(now), user.map(|u| u.0), format!("mission.{}", event.name()), m.id.to_string(), m.status.as_str()],
        )
        .map_err(map)?;
        tx.commit().map_err(map)?;
        Ok(m)
    }

    /// Fails paused missions whose pause is older than the timeout; returns them.
    pub fn expire_paused_missions(&mut self) -> Result<Vec<Mission>, StoreError> {
        let now = self.clock.now();
        let paused = self.list_missions(&MissionFilter {
            statuses: vec![MissionStatus::Paused],
            ..MissionFilter::default()
        })?;
        let mut failed = Vec::new();
        for m in paused {
            let mut life = m.lifecycle();
            if life.tick(now).is_some() {
                failed.push(self.apply_mission_event(
                    m.id,
                    MissionEvent::Fail(aviary_core::mission::FailureReason::PauseTimeout),
                    None,
                )?);
            }
        }
        Ok(failed)
    }

    fn finish_mission(&self, r: RawMission) -> Result<Mission, StoreError> {
        let mut m = r.m;
        m.status = MissionStatus::parse(&r.status)
            .ok_or_else(|| self.decode("mission status", r.status.clone()))?;
        m.flight_pattern = r
            .pattern
            .parse()
            .map_err(|e: String| self.decode("flight pattern", e))?;
        m.survey_area =
            serde_json::from_str(&r.area).map_err(|e| self.decode("survey area", e.to_string()))?;
        m.parameters = serde_json::from_str(&r.params)
            .map_err(|e| self.decode("mission parameters", e.to_string()))?;
        m.waypoints = serde_json::from_str(&r.waypoints)
            .map_err(|e| self.decode("waypoints", e.to_string()))?;
        Ok(m)
    }

    // --- commands and audit -----------------------------------------------------------------

    /// Records a command sent to a drone, or updates its status (pending, confirmed, failed).
    pub fn record_command(
        &self,
        cmd_id: Uuid,
        drone: DroneId,
        mission: Option<MissionId>,
        action: &str,
        status: &str,
        detail: &str,
    ) -> Result<(), StoreError> {
        let now = us(self.clock.now());
        self.conn
            .execute(
                "INSERT INTO commands (cmd_id, drone_id, mission_id, action, status, detail, sent_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)
                 ON CONFLICT(cmd_id) DO UPDATE SET status = excluded.status, detail = excluded.detail,
                   updated_at = excluded.updated_at",
                params![cmd_id, drone.0, mission.map(|m| m.0), action, status, detail, now],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Appends to the audit log.
    pub fn append_audit(&self, ev: &AuditEvent) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT INTO audit_log (time_us, user_id, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![us(ev.time), ev.user_id.map(|u| u.0), ev.action, ev.target, ev.detail],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The audit log, oldest first.
    pub fn audit_log(&self) -> Result<Vec<AuditEvent>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT time_us, user_id, action, target, detail FROM audit_log ORDER BY seq",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(AuditEvent {
                    time: from_us(r.get(0)?),
                    user_id: r.get::<_, Option<Uuid>>(1)?.map(UserId),
                    action: r.get(2)?,
                    target: r.get(3)?,
                    detail: r.get(4)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    // --- telemetry ----------------------------------------------------------------------------

    /// A mission's telemetry in `range`, oldest first.
    pub fn mission_telemetry(
        &self,
        mission: MissionId,
        range: TelemetryRange,
    ) -> Result<Vec<TelemetrySample>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {TELEMETRY_COLS} FROM telemetry WHERE mission_id = ?1 AND time_us >= ?2 AND time_us < ?3 ORDER BY time_us"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![mission.0, us(range.from), us(range.to)], raw_sample)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter().map(|r| self.finish_sample(r)).collect()
    }

    /// A drone's telemetry in `range`, oldest first.
    pub fn drone_telemetry(
        &self,
        drone: DroneId,
        range: TelemetryRange,
    ) -> Result<Vec<TelemetrySample>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {TELEMETRY_COLS} FROM telemetry WHERE drone_id = ?1 AND time_us >= ?2 AND time_us < ?3 ORDER BY time_us"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![drone.0, us(range.from), us(range.to)], raw_sample)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter().map(|r| self.finish_sample(r)).collect()
    }

    /// The newest sample of every registered drone that has telemetry.
    pub fn latest_telemetry(&self) -> Result<Vec<TelemetrySample>, StoreError> {
        // One index seek per drone on the (drone_id, time_us) primary key.
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {cols} FROM drones d JOIN telemetry t ON t.drone_id = d.drone_id
                 AND t.time_us = (SELECT max(time_us) FROM telemetry WHERE drone_id = d.drone_id)
                 ORDER BY d.serial_number",
                cols = TELEMETRY_COLS
                    .split(", ")
                    .map(|c| format!("t.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], raw_sample)
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter().map(|r| self.finish_sample(r)).collect()
    }

    /// Number of telemetry samples stored.
    pub fn telemetry_count(&self) -> Result<u64, StoreError> {
        let n: i64 = self
            .conn
            .query_row("SELECT count(*) FROM telemetry", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        Ok(n.unsigned_abs())
    }

    fn finish_sample(
        &self,
        (mut s, status): (TelemetrySample, String),
    ) -> Result<TelemetrySample, StoreError> {
        s.status = DroneStatus::parse(&status)
            .ok_or_else(|| self.decode("telemetry status", status.clone()))?;
        Ok(s)
    }

    // --- helpers ------------------------------------------------------------------------------

    fn decode(&self, what: &'static str, detail: String) -> StoreError {
        StoreError::Decode {
            path: self.path.clone(),
            what,
            detail,
        }
    }

    fn unique(&self, e: rusqlite::Error, what: &'static str, value: &str) -> StoreError {
        if e.sqlite_error_code() == Some(rusqlite::ErrorCode::ConstraintViolation)
            && e.to_string().contains("UNIQUE")
        {
            StoreError::Duplicate {
                what,
                value: value.to_string(),
            }
        } else {
            self.err(e)
        }
    }
}

/// Why writing a mission row failed.
enum MissionWriteError {
    Json(serde_json::Error),
    Sql(rusqlite::Error),
}

/// A primary-key clash (an id already stored), not another constraint such as a missing
/// site (foreign key).
fn is_constraint(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

/// A unique column's clash (a serial number or id already stored).
fn is_unique(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

/// Writes one drone row on `conn` (the main connection or a transaction on it).
fn write_drone_on(conn: &rusqlite::Connection, d: &Drone) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(&format!(
        "INSERT INTO drones ({DRONE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
    ))?;
    stmt.execute(params![
        d.id.0,
        d.site_id.0,
        d.serial_number,
        d.model,
        d.status.as_str(),
        d.battery_pct.min(100),
        d.last_seen.map(us),
        d.home.lat_deg,
        d.home.lon_deg,
        d.firmware_version,
        d.link,
        us(d.created_at)
    ])?;
    Ok(())
}

/// Writes one mission row on `conn` (the main connection or a transaction on it).
fn write_mission_on(
    conn: &rusqlite::Connection,
    m: &Mission,
    verb: &str,
) -> Result<(), MissionWriteError> {
    let area = serde_json::to_string(&m.survey_area).map_err(MissionWriteError::Json)?;
    let params_json = serde_json::to_string(&m.parameters).map_err(MissionWriteError::Json)?;
    let waypoints = serde_json::to_string(&m.waypoints).map_err(MissionWriteError::Json)?;
    conn.prepare_cached(&format!(
        "{verb} INTO missions ({MISSION_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, \
         ?13, ?14, ?15, ?16, ?17, ?18)"
    ))
    .and_then(|mut stmt| {
        stmt.execute(params![
            m.id.0,
            m.org_id.0,
            m.site_id.0,
            m.drone_id.map(|d| d.0),
            m.name,
            m.status.as_str(),
            area,
            m.flight_pattern.as_str(),
            params_json,
            m.scheduled_start.map(us),
            m.actual_start.map(us),
            m.actual_end.map(us),
            m.paused_at.map(us),
            m.estimated_duration_s,
            m.estimated_distance_m,
            waypoints,
            m.created_by.map(|u| u.0),
            us(m.created_at)
        ])
    })
    .map_err(MissionWriteError::Sql)?;
    Ok(())
}

fn raw_drone(r: &Row<'_>) -> rusqlite::Result<(Drone, String)> {
    Ok((
        Drone {
            id: DroneId(r.get(0)?),
            site_id: SiteId(r.get(1)?),
            serial_number: r.get(2)?,
            model: r.get(3)?,
            status: DroneStatus::Offline,
            battery_pct: r.get(5)?,
            last_seen: opt_us(r.get(6)?),
            home: LatLon::new(r.get(7)?, r.get(8)?),
            firmware_version: r.get(9)?,
            link: r.get(10)?,
            created_at: from_us(r.get(11)?),
        },
        r.get(4)?,
    ))
}

fn raw_mission(r: &Row<'_>) -> rusqlite::Result<RawMission> {
    Ok(RawMission {
        m: Mission {
            id: MissionId(r.get(0)?),
            org_id: OrgId(r.get(1)?),
            site_id: SiteId(r.get(2)?),
            drone_id: r.get::<_, Option<Uuid>>(3)?.map(DroneId),
            name: r.get(4)?,
            status: MissionStatus::Planned,
            survey_area: aviary_core::model::SurveyArea::default(),
            flight_pattern: aviary_core::model::FlightPattern::Lawnmower,
            parameters: aviary_core::model::MissionParams::default(),
            scheduled_start: opt_us(r.get(9)?),
            actual_start: opt_us(r.get(10)?),
            actual_end: opt_us(r.get(11)?),
            paused_at: opt_us(r.get(12)?),
            estimated_duration_s: r.get(13)?,
            estimated_distance_m: r.get(14)?,
            waypoints: Vec::new(),
            created_by: r.get::<_, Option<Uuid>>(16)?.map(UserId),
            created_at: from_us(r.get(17)?),
        },
        status: r.get(5)?,
        area: r.get(6)?,
        pattern: r.get(7)?,
        params: r.get(8)?,
        waypoints: r.get(15)?,
    })
}

fn raw_sample(r: &Row<'_>) -> rusqlite::Result<(TelemetrySample, String)> {
    Ok((
        TelemetrySample {
            drone_id: DroneId(r.get(0)?),
            time: from_us(r.get(1)?),
            mission_id: r.get::<_, Option<Uuid>>(2)?.map(MissionId),
            pos: LatLon::new(r.get(3)?, r.get(4)?),
            alt_rel_m: r.get(5)?,
            speed_mps: r.get(6)?,
            heading_deg: r.get(7)?,
            battery_pct: r.get(8)?,
            signal_pct: r.get(9)?,
            status: DroneStatus::Offline,
        },
        r.get(10)?,
    ))
}
