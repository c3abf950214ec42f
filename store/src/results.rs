//! What the reports read: mission results, the mission history joined with them, a mission's
//! commands with their times and acknowledgement, and the audit events of one target.

use super::{Store, StoreError};
use aviary_core::mission::MissionStatus;
use aviary_core::model::{AuditEvent, DroneId, MissionId, SiteId, UserId};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, Row, Transaction, params};
use uuid::Uuid;

fn us(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_us(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(v).unwrap_or_default()
}

// --- types ------------------------------------------------------------------------------

/// One mission for [`Store::import_missions`], with its result when it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct ImportedMission {
    /// The mission, as stored (status and lifecycle times included).
    pub mission: aviary_core::model::Mission,
    /// Its figures (`mission_id` must be the mission's).
    pub result: Option<MissionResult>,
}

/// Who computed a [`MissionResult`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResultSource {
    /// The store, when the mission ended: telemetry figures only (no coverage, no photos,
    /// which need the survey geometry and the camera).
    Store,
    /// The mission report: every figure, from the cleaned telemetry.
    Report,
}

impl ResultSource {
    /// Stored spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Store => "store",
            Self::Report => "report",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "store" => Some(Self::Store),
            "report" => Some(Self::Report),
            _ => None,
        }
    }
}

/// A mission's figures once it has ended. Figures that could not be measured (no telemetry,
/// or not computed by [`ResultSource::Store`]) are `None`, never zero.
#[derive(Debug, Clone, PartialEq)]
pub struct MissionResult {
    /// The mission.
    pub mission_id: MissionId,
    /// How it ended: completed, aborted or failed.
    pub outcome: MissionStatus,
    /// When it ended (the lifecycle's end time).
    pub ended_at: DateTime<Utc>,
    /// Telemetry samples the figures were computed from.
    pub samples: u64,
    /// First sample.
    pub first_sample: Option<DateTime<Utc>>,
    /// Last sample.
    pub last_sample: Option<DateTime<Utc>>,
    /// `last_sample - first_sample`, seconds.
    pub duration_s: Option<f64>,
    /// Length of the flown track, metres.
    pub distance_m: Option<f64>,
    /// Survey area covered by the camera, m².
    pub covered_area_m2: Option<f64>,
    /// Covered share of the survey area, percent.
    pub coverage_pct: Option<f64>,
    /// Photos taken (estimated from the trigger spacing).
    pub photos: Option<u64>,
    /// Battery at the first sample, percent.
    pub battery_start_pct: Option<f64>,
    /// Battery at the last sample, percent.
    pub battery_end_pct: Option<f64>,
    /// Highest battery level seen, percent.
    pub battery_max_pct: Option<f64>,
    /// Lowest battery level seen, percent.
    pub battery_min_pct: Option<f64>,
    /// Who computed it.
    pub source: ResultSource,
    /// When it was computed.
    pub computed_at: DateTime<Utc>,
}

/// Which missions [`Store::mission_records`] lists. Empty fields match everything.
///
/// The period applies to when the mission flew (its actual start), or to its creation when
/// it never started, so a mission planned last month and flown today is in today's history.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordFilter {
    /// Only this site.
    pub site_id: Option<SiteId>,
    /// Only this drone.
    pub drone_id: Option<DroneId>,
    /// Only these statuses (empty: all but deleted).
    pub statuses: Vec<MissionStatus>,
    /// Started (or created) at or after.
    pub from: Option<DateTime<Utc>>,
    /// Started (or created) before.
    pub to: Option<DateTime<Utc>>,
    /// At most this many (0: no limit).
    pub limit: usize,
}

/// One row of the mission history: the mission's identity and lifecycle times, with its
/// result when it has one. Reads none of the mission's geometry, so listing 100,000 of them
/// is cheap.
#[derive(Debug, Clone, PartialEq)]
pub struct MissionHistoryEntry {
    /// Mission id.
    pub id: MissionId,
    /// Mission name.
    pub name: String,
    /// Site.
    pub site_id: SiteId,
    /// Drone, if assigned.
    pub drone_id: Option<DroneId>,
    /// Lifecycle status.
    pub status: MissionStatus,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// Started.
    pub actual_start: Option<DateTime<Utc>>,
    /// Ended.
    pub actual_end: Option<DateTime<Utc>>,
    /// Figures, once the mission ended (missions ended before schema v3 have none).
    pub result: Option<MissionResult>,
}

impl MissionHistoryEntry {
    /// The time that places the mission in the history: actual start, else creation.
    pub fn when(&self) -> DateTime<Utc> {
        self.actual_start.unwrap_or(self.created_at)
    }
}

/// One mission as a summary reads it (from `mission_figures`, schema v5): the identity of a
/// [`MissionHistoryEntry`] with the figures a summary takes from its result. Listing 100,000
/// of them reads one table in time order and nothing else.
///
/// With a complete result ([`ResultSource::Report`]) the times are the result's first and
/// last samples, falling back to the recorded start and end; otherwise they are the recorded
/// start and end, and the figures are those of the result if it has one.
#[derive(Debug, Clone, PartialEq)]
pub struct MissionFigures {
    /// Mission id.
    pub id: MissionId,
    /// Mission name.
    pub name: String,
    /// Site.
    pub site_id: SiteId,
    /// Drone, if assigned.
    pub drone_id: Option<DroneId>,
    /// Lifecycle status.
    pub status: MissionStatus,
    /// Created.
    pub created_at: DateTime<Utc>,
    /// First sample (complete result), else the recorded start.
    pub start: Option<DateTime<Utc>>,
    /// Last sample (complete result), else the recorded end.
    pub end: Option<DateTime<Utc>>,
    /// Who computed its result; `None` when it has none.
    pub source: Option<ResultSource>,
    /// Flight time, seconds (the result's `duration_s`).
    pub duration_s: Option<f64>,
    /// Length of the flown track, metres.
    pub distance_m: Option<f64>,
    /// Survey area covered by the camera, m².
    pub covered_area_m2: Option<f64>,
    /// Battery at the first sample minus battery at the last, percent points; `None` when
    /// either is unknown.
    pub battery_used_pct: Option<f64>,
}

impl MissionFigures {
    /// True when its result is complete (computed by the mission report).
    pub fn is_complete(&self) -> bool {
        self.source == Some(ResultSource::Report)
    }

    /// The history entry of a mission whose result is not complete, without the result
    /// (`None` for a complete one, whose times are the samples'); read the result with
    /// [`Store::mission_result`] when it is needed.
    pub fn incomplete_entry(&self) -> Option<MissionHistoryEntry> {
        (!self.is_complete()).then(|| MissionHistoryEntry {
            id: self.id,
            name: self.name.clone(),
            site_id: self.site_id,
            drone_id: self.drone_id,
            status: self.status,
            created_at: self.created_at,
            actual_start: self.start,
            actual_end: self.end,
            result: None,
        })
    }
}

/// Whether the drone acknowledged a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandAck {
    /// Sent, no answer yet.
    Pending,
    /// The drone accepted it.
    Confirmed,
    /// Refused, or no answer after the retries.
    Failed,
    /// A state written by another version (kept verbatim).
    Other(String),
}

impl CommandAck {
    /// Parses the stored status.
    pub fn parse(s: &str) -> Self {
        match s {
            "pending" => Self::Pending,
            "confirmed" => Self::Confirmed,
            "failed" => Self::Failed,
            other => Self::Other(other.to_owned()),
        }
    }

    /// Stored spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Pending => "pending",
            Self::Confirmed => "confirmed",
            Self::Failed => "failed",
            Self::Other(s) => s,
        }
    }
}

/// A command sent to a drone, with its times and acknowledgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandEntry {
    /// Command id.
    pub id: Uuid,
    /// The drone it was sent to.
    pub drone_id: DroneId,
    /// Action, e.g. `pause`, `rtl`.
    pub action: String,
    /// Acknowledgement state.
    pub ack: CommandAck,
    /// Extra detail (the mode it confirmed, why it failed).
    pub detail: String,
    /// When it was first sent.
    pub sent_at: DateTime<Utc>,
    /// When its state last changed (the acknowledgement time once confirmed or failed).
    pub updated_at: DateTime<Utc>,
}

// --- queries ----------------------------------------------------------------------------

const RESULT_COLS: &str = "mission_id, outcome, ended_at, samples, first_sample_us, last_sample_us, duration_s, \
                           distance_m, covered_area_m2, coverage_pct, photos, battery_start_pct, battery_end_pct, \
                           battery_max_pct, battery_min_pct, source, computed_at";

/// A result row with its enum fields decoded, or the stored text when it is not one we know
/// (turned into an error naming the file afterwards; allocates only then).
type RawResult = (
    MissionResult,
    Result<MissionStatus, String>,
    Result<ResultSource, String>,
);

impl Store {
    /// Stores (or replaces) a mission's result. Written on the `synchronous=FULL` connection.
    pub fn save_mission_result(&self, r: &MissionResult) -> Result<(), StoreError> {
        write_result(&self.conn, r).map_err(|e| self.err(e))
    }

    /// A mission's result, `None` when it has none (not ended, or ended before schema v3).
    pub fn mission_result(&self, id: MissionId) -> Result<Option<MissionResult>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {RESULT_COLS} FROM mission_results WHERE mission_id = ?1"
            ))
            .map_err(|e| self.err(e))?;
        let raw = stmt
            .query_row([id.0], |r| raw_result(r, 0))
            .optional()
            .map_err(|e| self.err(e))?;
        raw.map(|r| self.finish_result(r)).transpose()
    }

    /// The mission history: missions passing `f`, newest first (by actual start, else
    /// creation), each with its result when it has one.
    pub fn mission_records(
        &self,
        f: &RecordFilter,
    ) -> Result<Vec<MissionHistoryEntry>, StoreError> {
        let status_list = super::sql::status_sql_list(&f.statuses);
        let limit = super::sql::sql_limit(f.limit);
        // `coalesce(actual_start, created_at)` is spelled as in the expression indexes
        // `missions_history` (covering: every column read here) and `missions_site_when`.
        // `+status` keeps the planner off the status index, which would read every row's
        // overflow pages and sort them.
        let sql = format!(
            "SELECT mission_id, name, site_id, drone_id, status, created_at, actual_start, actual_end
             FROM missions
             WHERE (?1 IS NULL OR site_id = ?1) AND (?2 IS NULL OR drone_id = ?2)
               AND +status IN ({status_list})
               AND (?3 IS NULL OR coalesce(actual_start, created_at) >= ?3)
               AND (?4 IS NULL OR coalesce(actual_start, created_at) < ?4)
             ORDER BY coalesce(actual_start, created_at) DESC LIMIT ?5"
        );
        let mut stmt = self.conn.prepare_cached(&sql).map_err(|e| self.err(e))?;
        let mut rows = stmt
            .query(params![
                f.site_id.map(|s| s.0),
                f.drone_id.map(|d| d.0),
                f.from.map(us),
                f.to.map(us),
                limit
            ])
            .map_err(|e| self.err(e))?;
        let mut entries = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            entries.push(self.history_entry(r)?);
        }
        drop(rows);
        self.attach_results(&mut entries)?;
        Ok(entries)
    }

    /// Every mission placed before `to` (by actual start, else creation; all of them when
    /// `None`), deleted ones excepted, newest first, with the figures of its result: what
    /// [`Self::mission_records`] lists, read from the one table `mission_figures` that the
    /// store keeps in step with missions and results. Missions placed at the same
    /// microsecond come in descending id order.
    pub fn mission_figures(
        &self,
        to: Option<DateTime<Utc>>,
    ) -> Result<Vec<MissionFigures>, StoreError> {
        // Only the columns a summary uses; the record's times and battery use are worked out
        // here, which costs SQLite less than handing over the columns they come from. The
        // status is filtered while decoding (deleted and unknown ones skipped, as the
        // history's `status IN (...)` does), which costs less than SQLite's IN-list lookup.
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT mission_id, site_id, drone_id, status, created_at,
                        CASE WHEN source = 'report' THEN coalesce(first_sample_us, actual_start)
                             ELSE actual_start END,
                        CASE WHEN source = 'report' THEN coalesce(last_sample_us, actual_end)
                             ELSE actual_end END,
                        source, duration_s, distance_m, covered_area_m2,
                        battery_start_pct - battery_end_pct, name
                 FROM mission_figures WHERE when_us < ?1
                 ORDER BY when_us DESC, mission_id DESC",
            )
            .map_err(|e| self.err(e))?;
        let mut rows = stmt
            .query([to.map_or(i64::MAX, us)])
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            if let Some(f) = self.figures_row(r)? {
                out.push(f);
            }
        }
        Ok(out)
    }

    /// Decodes one row of [`Self::mission_figures`]; enum texts are parsed in place. `None`
    /// for a deleted mission or a status this build does not know.
    fn figures_row(&self, r: &Row<'_>) -> Result<Option<MissionFigures>, StoreError> {
        let map = |e| self.err(e);
        let status = r
            .get_ref(3)
            .map_err(map)?
            .as_str()
            .map_err(|e| self.err(rusqlite::Error::from(e)))?;
        let Some(status) = MissionStatus::parse(status).filter(|s| *s != MissionStatus::Deleted)
        else {
            return Ok(None);
        };
        let source = decode_opt_text(r, 7, ResultSource::parse)
            .map_err(map)?
            .map(|o| o.map_err(|s| self.decode_error("result source", s)))
            .transpose()?;
        Ok(Some(MissionFigures {
            id: MissionId(r.get(0).map_err(map)?),
            name: r.get(12).map_err(map)?,
            site_id: SiteId(r.get(1).map_err(map)?),
            drone_id: r.get::<_, Option<Uuid>>(2).map_err(map)?.map(DroneId),
            status,
            created_at: from_us(r.get(4).map_err(map)?),
            start: r.get::<_, Option<i64>>(5).map_err(map)?.map(from_us),
            end: r.get::<_, Option<i64>>(6).map_err(map)?.map(from_us),
            source,
            duration_s: r.get(8).map_err(map)?,
            distance_m: r.get(9).map_err(map)?,
            covered_area_m2: r.get(10).map_err(map)?,
            battery_used_pct: r.get(11).map_err(map)?,
        }))
    }

    /// Decodes one row of the history query; the status is parsed in place (no allocation
    /// per row).
    fn history_entry(&self, r: &Row<'_>) -> Result<MissionHistoryEntry, StoreError> {
        let map = |e| self.err(e);
        let status = r.get_ref(4).map_err(map)?;
        let status_text = status
            .as_str()
            .map_err(|e| self.err(rusqlite::Error::from(e)))?;
        let status = MissionStatus::parse(status_text)
            .ok_or_else(|| self.decode_error("mission status", status_text.to_owned()))?;
        Ok(MissionHistoryEntry {
            id: MissionId(r.get(0).map_err(map)?),
            name: r.get(1).map_err(map)?,
            site_id: SiteId(r.get(2).map_err(map)?),
            drone_id: r.get::<_, Option<Uuid>>(3).map_err(map)?.map(DroneId),
            status,
            created_at: from_us(r.get(5).map_err(map)?),
            actual_start: r.get::<_, Option<i64>>(6).map_err(map)?.map(from_us),
            actual_end: r.get::<_, Option<i64>>(7).map_err(map)?.map(from_us),
            result: None,
        })
    }

    /// Fills in each entry's result. A few entries look their results up by key; many are
    /// merged with one scan of the results table in key order (the entries' ids sorted
    /// alongside), which for 100,000 missions is several times faster than as many random
    /// B-tree lookups or a hash join.
    fn attach_results(&self, entries: &mut [MissionHistoryEntry]) -> Result<(), StoreError> {
        /// Below this many entries, one lookup each.
        const LOOKUP_MAX: usize = 2_000;
        if entries.len() <= LOOKUP_MAX {
            for e in entries.iter_mut() {
                e.result = self.mission_result(e.id)?;
            }
            return Ok(());
        }
        // Uuid orders by its bytes, as SQLite orders the BLOB key (memcmp).
        let mut wanted: Vec<(MissionId, usize)> =
            entries.iter().enumerate().map(|(i, e)| (e.id, i)).collect();
        wanted.sort_unstable_by_key(|&(id, _)| id);
        let mut wanted = wanted.into_iter().peekable();
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {RESULT_COLS} FROM mission_results ORDER BY mission_id"
            ))
            .map_err(|e| self.err(e))?;
        let mut rows = stmt.query([]).map_err(|e| self.err(e))?;
        while let Some(r) = rows.next().map_err(|e| self.err(e))? {
            let id = MissionId(r.get(0).map_err(|e| self.err(e))?);
            while wanted.next_if(|&(w, _)| w < id).is_some() {}
            let Some((_, i)) = wanted.next_if(|&(w, _)| w == id) else {
                if wanted.peek().is_none() {
                    break;
                }
                continue;
            };
            let raw = raw_result(r, 0).map_err(|e| self.err(e))?;
            entries[i].result = Some(self.finish_result(raw)?);
        }
        Ok(())
    }

    /// Commands of a mission in the order sent, with their times and acknowledgement.
    pub fn mission_commands(&self, mission: MissionId) -> Result<Vec<CommandEntry>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT cmd_id, drone_id, action, status, detail, sent_at, updated_at FROM commands
                 WHERE mission_id = ?1 ORDER BY sent_at, rowid",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([mission.0], |r| {
                Ok(CommandEntry {
                    id: r.get(0)?,
                    drone_id: DroneId(r.get(1)?),
                    action: r.get(2)?,
                    ack: CommandAck::parse(&r.get::<_, String>(3)?),
                    detail: r.get(4)?,
                    sent_at: from_us(r.get(5)?),
                    updated_at: from_us(r.get(6)?),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    /// Audit events about `target` (e.g. a mission id), oldest first. Served by the
    /// `audit_target_time` index.
    pub fn audit_for_target(&self, target: &str) -> Result<Vec<AuditEvent>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT time_us, user_id, action, target, detail FROM audit_log
                 WHERE target = ?1 ORDER BY time_us, seq",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([target], |r| {
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

    /// The query plan SQLite chooses for `sql` (one line per step), for tests that check an
    /// index is used.
    pub fn explain_query_plan(&self, sql: &str) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| r.get::<_, String>(3))
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<_, _>>().map_err(|e| self.err(e))
    }

    fn finish_result(
        &self,
        (mut r, outcome, source): RawResult,
    ) -> Result<MissionResult, StoreError> {
        r.outcome = outcome.map_err(|s| self.decode_error("result outcome", s))?;
        r.source = source.map_err(|s| self.decode_error("result source", s))?;
        Ok(r)
    }

    fn decode_error(&self, what: &'static str, detail: String) -> StoreError {
        StoreError::Decode {
            path: self.path.clone(),
            what,
            detail,
        }
    }
}

/// Upserts a result on `conn` (the main connection or a transaction on it).
pub(super) fn write_result(conn: &rusqlite::Connection, r: &MissionResult) -> rusqlite::Result<()> {
    conn.prepare_cached(&format!(
        "INSERT OR REPLACE INTO mission_results ({RESULT_COLS})
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17)"
    ))?
    .execute(params![
        r.mission_id.0,
        r.outcome.as_str(),
        us(r.ended_at),
        i64::try_from(r.samples).unwrap_or(i64::MAX),
        r.first_sample.map(us),
        r.last_sample.map(us),
        r.duration_s,
        r.distance_m,
        r.covered_area_m2,
        r.coverage_pct,
        r.photos.map(|p| i64::try_from(p).unwrap_or(i64::MAX)),
        r.battery_start_pct,
        r.battery_end_pct,
        r.battery_max_pct,
        r.battery_min_pct,
        r.source.as_str(),
        us(r.computed_at)
    ])?;
    Ok(())
}

/// Computes a mission's result from its committed telemetry and stores it, inside `tx` (the
/// transaction that ends the mission). Coverage and photos are left to the mission report.
pub(super) fn write_result_from_telemetry(
    tx: &Transaction<'_>,
    mission: MissionId,
    outcome: MissionStatus,
    ended_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> rusqlite::Result<()> {
    let mut stmt = tx.prepare_cached(
        "SELECT time_us, lat_deg, lon_deg, battery_pct FROM telemetry
         WHERE mission_id = ?1 ORDER BY time_us",
    )?;
    let mut rows = stmt.query([mission.0])?;
    let mut r = MissionResult {
        mission_id: mission,
        outcome,
        ended_at,
        samples: 0,
        first_sample: None,
        last_sample: None,
        duration_s: None,
        distance_m: None,
        covered_area_m2: None,
        coverage_pct: None,
        photos: None,
        battery_start_pct: None,
        battery_end_pct: None,
        battery_max_pct: None,
        battery_min_pct: None,
        source: ResultSource::Store,
        computed_at: now,
    };
    let mut prev: Option<aviary_core::geo::LatLon> = None;
    let mut distance_m = 0.0;
    while let Some(row) = rows.next()? {
        let t = from_us(row.get(0)?);
        let pos = aviary_core::geo::LatLon::new(row.get(1)?, row.get(2)?);
        let battery_pct: f64 = row.get(3)?;
        // The same validity rule as the mission report: unusable samples are not counted.
        if !(pos.lat_deg.is_finite() && pos.lon_deg.is_finite() && battery_pct.is_finite()) {
            continue;
        }
        if let Some(p) = prev {
            distance_m += p.distance_m(pos);
        }
        prev = Some(pos);
        r.samples += 1;
        r.first_sample.get_or_insert(t);
        r.last_sample = Some(t);
        r.battery_start_pct.get_or_insert(battery_pct);
        r.battery_end_pct = Some(battery_pct);
        r.battery_max_pct = Some(
            r.battery_max_pct
                .map_or(battery_pct, |b| b.max(battery_pct)),
        );
        r.battery_min_pct = Some(
            r.battery_min_pct
                .map_or(battery_pct, |b| b.min(battery_pct)),
        );
    }
    if r.samples > 0 {
        r.distance_m = Some(distance_m);
        r.duration_s = r
            .first_sample
            .zip(r.last_sample)
            .map(|(a, b)| (b - a).num_milliseconds() as f64 / 1000.0);
    }
    drop(rows);
    write_result(tx, &r)
}

/// Decodes the result columns starting at column `at`.
fn raw_result(r: &Row<'_>, at: usize) -> rusqlite::Result<RawResult> {
    let opt_time = |i: usize| -> rusqlite::Result<Option<DateTime<Utc>>> {
        Ok(r.get::<_, Option<i64>>(at + i)?.map(from_us))
    };
    let u = |v: i64| u64::try_from(v).unwrap_or(0);
    Ok((
        MissionResult {
            mission_id: MissionId(r.get(at)?),
            outcome: MissionStatus::Completed,
            ended_at: from_us(r.get(at + 2)?),
            samples: u(r.get(at + 3)?),
            first_sample: opt_time(4)?,
            last_sample: opt_time(5)?,
            duration_s: r.get(at + 6)?,
            distance_m: r.get(at + 7)?,
            covered_area_m2: r.get(at + 8)?,
            coverage_pct: r.get(at + 9)?,
            photos: r.get::<_, Option<i64>>(at + 10)?.map(u),
            battery_start_pct: r.get(at + 11)?,
            battery_end_pct: r.get(at + 12)?,
            battery_max_pct: r.get(at + 13)?,
            battery_min_pct: r.get(at + 14)?,
            source: ResultSource::Store,
            computed_at: from_us(r.get(at + 16)?),
        },
        decode_text(r, at + 1, MissionStatus::parse)?,
        decode_text(r, at + 15, ResultSource::parse)?,
    ))
}

/// Parses a text column in place; the text is copied only when it does not parse.
fn decode_text<T>(
    r: &Row<'_>,
    i: usize,
    parse: impl Fn(&str) -> Option<T>,
) -> rusqlite::Result<Result<T, String>> {
    let text = r.get_ref(i)?.as_str()?;
    Ok(parse(text).ok_or_else(|| text.to_owned()))
}

/// [`decode_text`] of a nullable column: `None` for NULL.
fn decode_opt_text<T>(
    r: &Row<'_>,
    i: usize,
    parse: impl Fn(&str) -> Option<T>,
) -> rusqlite::Result<Option<Result<T, String>>> {
    match r.get_ref(i)? {
        rusqlite::types::ValueRef::Null => Ok(None),
        v => {
            let text = v.as_str()?;
            Ok(Some(parse(text).ok_or_else(|| text.to_owned())))
        }
    }
}
