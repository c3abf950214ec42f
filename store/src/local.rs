//! What the desktop keeps for weather and its own scheduler (schema v7): weather limits per
//! drone model, the weather recorded with a mission (forecast at start, wind measured), and
//! local schedules with the state of each run.

use super::{Store, StoreError};
use aviary_core::model::{MissionId, SiteId};
use aviary_core::schedule::{RunState, ScheduleSpec};
use aviary_core::weather::WeatherLimits;
use aviary_core::weather_log::{MeasuredWind, StartForecast};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;

fn us(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_us(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(v).unwrap_or_default()
}

/// A mission the desktop starts on a schedule. Each run flies a copy of `mission` (the
/// template stays planned, so a recurring survey can fly again).
#[derive(Debug, Clone, PartialEq)]
pub struct LocalSchedule {
    /// Its id (a run is this id and a local date).
    pub id: Uuid,
    /// The planned mission each run copies.
    pub mission: MissionId,
    /// The mission's site (its time zone is in `spec`).
    pub site: SiteId,
    /// When it runs.
    pub spec: ScheduleSpec,
    /// When it was made.
    pub created_at: DateTime<Utc>,
}

/// A run as stored: its state and the mission it started, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRun {
    /// Its state (key, due time, phase with reasons).
    pub state: RunState,
    /// The copy of the template that was started.
    pub mission: Option<MissionId>,
}

/// The weather recorded with one mission.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MissionWeather {
    /// The forecast verdict when it started.
    pub forecast: Option<StartForecast>,
    /// The wind its drone measured.
    pub measured: Option<MeasuredWind>,
}

const FORECAST: &str = "forecast_at_start";
const MEASURED: &str = "measured_wind";

impl Store {
    fn json_error(&self, what: &'static str, e: &serde_json::Error) -> StoreError {
        StoreError::Decode {
            path: self.path.clone(),
            what,
            detail: e.to_string(),
        }
    }

    // --- weather limits -----------------------------------------------------------------------

    /// The limits a model flies under: the edited ones, else the built-in defaults.
    pub fn weather_limits(&self, model: &str) -> Result<WeatherLimits, StoreError> {
        let stored: Option<String> = self
            .conn
            .query_row(
                "SELECT limits FROM weather_limits WHERE model = ?1",
                [model.trim()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        match stored {
            Some(json) => {
                serde_json::from_str(&json).map_err(|e| self.json_error("weather limits", &e))
            }
            None => Ok(WeatherLimits::for_model(model)),
        }
    }

    /// Every model with edited limits.
    pub fn edited_weather_limits(&self) -> Result<Vec<(String, WeatherLimits)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT model, limits FROM weather_limits ORDER BY model")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter()
            .map(|(m, json)| {
                serde_json::from_str(&json)
                    .map(|l| (m, l))
                    .map_err(|e| self.json_error("weather limits", &e))
            })
            .collect()
    }

    /// Stores a model's limits; `None` goes back to the built-in defaults.
    pub fn set_weather_limits(
        &self,
        model: &str,
        limits: Option<&WeatherLimits>,
    ) -> Result<(), StoreError> {
        let model = model.trim();
        match limits {
            Some(l) => {
                let json = serde_json::to_string(l).map_err(|e| self.json_error("limits", &e))?;
                self.conn
                    .execute(
                        "INSERT INTO weather_limits (model, limits, updated_at) VALUES (?1, ?2, ?3)
                         ON CONFLICT(model) DO UPDATE SET limits = excluded.limits,
                           updated_at = excluded.updated_at",
                        params![model, json, us(self.clock.now())],
                    )
                    .map_err(|e| self.err(e))?;
            }
            None => {
                self.conn
                    .execute("DELETE FROM weather_limits WHERE model = ?1", [model])
                    .map_err(|e| self.err(e))?;
            }
        }
        Ok(())
    }

    // --- weather of a mission -----------------------------------------------------------------

    /// Records the forecast a mission started under.
    pub fn put_start_forecast(
        &self,
        mission: MissionId,
        forecast: &StartForecast,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(forecast).map_err(|e| self.json_error("forecast", &e))?;
        self.put_mission_weather(mission, FORECAST, &json)
    }

    /// Records the wind a mission's drone measured.
    pub fn put_measured_wind(
        &self,
        mission: MissionId,
        wind: &MeasuredWind,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(wind).map_err(|e| self.json_error("wind", &e))?;
        self.put_mission_weather(mission, MEASURED, &json)
    }

    fn put_mission_weather(
        &self,
        mission: MissionId,
        kind: &str,
        json: &str,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO mission_weather (mission_id, kind, time_us, data)
                 VALUES (?1, ?2, ?3, ?4)",
                params![mission.0, kind, us(self.clock.now()), json],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The weather recorded with a mission.
    pub fn mission_weather(&self, mission: MissionId) -> Result<MissionWeather, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT kind, data FROM mission_weather WHERE mission_id = ?1")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([mission.0], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        let mut out = MissionWeather::default();
        for (kind, json) in rows {
            match kind.as_str() {
                FORECAST => {
                    out.forecast = Some(
                        serde_json::from_str(&json)
                            .map_err(|e| self.json_error("forecast at start", &e))?,
                    );
                }
                MEASURED => {
                    out.measured = Some(
                        serde_json::from_str(&json)
                            .map_err(|e| self.json_error("measured wind", &e))?,
                    );
                }
                _ => {}
            }
        }
        Ok(out)
    }

    // --- local schedules ----------------------------------------------------------------------

    /// Stores a schedule (new or changed).
    pub fn save_schedule(&self, s: &LocalSchedule) -> Result<(), StoreError> {
        let spec = serde_json::to_string(&s.spec).map_err(|e| self.json_error("schedule", &e))?;
        self.conn
            .execute(
                "INSERT OR REPLACE INTO local_schedules
                   (schedule_id, mission_id, site_id, spec, created_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![s.id, s.mission.0, s.site.0, spec, us(s.created_at)],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Every local schedule, oldest first.
    pub fn list_schedules(&self) -> Result<Vec<LocalSchedule>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT schedule_id, mission_id, site_id, spec, created_at FROM local_schedules
                 ORDER BY created_at",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, Uuid>(0)?,
                    r.get::<_, Uuid>(1)?,
                    r.get::<_, Uuid>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, i64>(4)?,
                ))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter()
            .map(|(id, mission, site, spec, created)| {
                Ok(LocalSchedule {
                    id,
                    mission: MissionId(mission),
                    site: SiteId(site),
                    spec: serde_json::from_str(&spec)
                        .map_err(|e| self.json_error("schedule", &e))?,
                    created_at: from_us(created),
                })
            })
            .collect()
    }

    /// Deletes a schedule and its runs.
    pub fn delete_schedule(&self, id: Uuid) -> Result<(), StoreError> {
        self.conn
            .execute("DELETE FROM local_schedules WHERE schedule_id = ?1", [id])
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Stores a run's state (one row per schedule and local date).
    pub fn save_run(&self, run: &StoredRun) -> Result<(), StoreError> {
        let state =
            serde_json::to_string(&run.state).map_err(|e| self.json_error("run state", &e))?;
        self.conn
            .execute(
                "INSERT OR REPLACE INTO local_schedule_runs
                   (schedule_id, local_date, due_us, phase, state, mission_id, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    run.state.key.schedule,
                    run.state.key.local_date.to_string(),
                    us(run.state.due),
                    run.state.phase.as_str(),
                    state,
                    run.mission.map(|m| m.0),
                    us(self.clock.now()),
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Stored runs due in `[from, to)`, by due time.
    pub fn runs_between(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<StoredRun>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT state, mission_id FROM local_schedule_runs
                 WHERE due_us >= ?1 AND due_us < ?2 ORDER BY due_us",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![us(from), us(to)], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, Option<Uuid>>(1)?))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        rows.into_iter()
            .map(|(state, mission)| {
                Ok(StoredRun {
                    state: serde_json::from_str(&state)
                        .map_err(|e| self.json_error("run state", &e))?,
                    mission: mission.map(MissionId),
                })
            })
            .collect()
    }

    /// Missed runs due in `[from, to)`, per site.
    pub fn missed_runs_by_site(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(SiteId, u64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT s.site_id, count(*) FROM local_schedule_runs r
                 JOIN local_schedules s ON s.schedule_id = r.schedule_id
                 WHERE r.phase = 'missed' AND r.due_us >= ?1 AND r.due_us < ?2
                 GROUP BY s.site_id ORDER BY s.site_id",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(params![us(from), us(to)], |r| {
                Ok((
                    SiteId(r.get::<_, Uuid>(0)?),
                    u64::try_from(r.get::<_, i64>(1)?).unwrap_or(0),
                ))
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }
}
