//! `/api/v1/schedules` (scheduled missions: create, list, read, change, delete, confirm a run,
//! the organisation's unattended-start setting) and `GET /api/v1/sites/{id}/weather`. Scoped
//! by organisation; reading needs `Read`, scheduling a start needs `CommandMission` (the same
//! role as starting a mission by hand), the unattended setting `ManageUsers` (admins).

use aviary_core::auth::Action;
use aviary_core::schedule::{Recurrence, RunKey, ScheduleSpec};
use aviary_core::{LatLon, MissionId, SiteId};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use chrono::{NaiveDate, NaiveTime, Utc};
use serde::Deserialize;

use super::parse_id;
use crate::auth::AuthUser;
use crate::error::{ApiError, Json, ServerError};
use crate::{AppState, audit};

/// `POST /schedules` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSchedule {
    /// The mission flown at each run.
    pub mission_id: MissionId,
    /// Site-local time, `HH:MM`.
    pub local_time: String,
    /// `{"kind":"once"}`, `{"kind":"daily"}` or `{"kind":"weekly","days":["Mon","Thu"]}`.
    pub recurrence: Recurrence,
    /// First local date.
    pub start_date: NaiveDate,
    /// Last local date, inclusive.
    #[serde(default)]
    pub end_date: Option<NaiveDate>,
    /// Minutes before the start the checks run (default 10).
    #[serde(default)]
    pub lead_time_min: Option<i32>,
}

/// `PATCH /schedules/{id}` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchSchedule {
    /// Pause or resume the schedule.
    #[serde(default)]
    pub enabled: Option<bool>,
    /// Minutes before the start the checks run.
    #[serde(default)]
    pub lead_time_min: Option<i32>,
}

/// `POST /schedules/{id}/runs/{date}/confirm` body: start, or decline with a reason.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confirm {
    /// Start the run.
    pub start: bool,
    /// Why not (required when declining).
    #[serde(default)]
    pub reason: Option<String>,
}

/// `PUT /schedules/settings` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Scheduled runs start without an operator (each start audited).
    pub unattended_starts: bool,
}

/// `GET /sites/{id}/weather` query.
#[derive(Debug, Deserialize)]
pub struct WeatherQuery {
    /// Drone model whose limits apply (default `Aviary X4`).
    pub model: Option<String>,
    /// Minutes from now to the start of the window (default 0).
    pub in_min: Option<i64>,
    /// Window length, minutes (default 60).
    pub duration_min: Option<i64>,
    /// Highest flight height, metres (default 120).
    pub alt_m: Option<f64>,
}

fn lead_s(min: Option<i32>) -> Result<i32, ApiError> {
    let min = min.unwrap_or(10);
    if (0..=1440).contains(&min) {
        Ok(min * 60)
    } else {
        Err(ApiError::Unprocessable(format!(
            "lead_time_min must be 0..1440, got {min}"
        )))
    }
}

fn view(r: &tokio_postgres::Row, now: chrono::DateTime<Utc>) -> serde_json::Value {
    let spec: Option<ScheduleSpec> = serde_json::from_value(r.get(2)).ok();
    let next: Vec<serde_json::Value> = spec
        .as_ref()
        .map(|s| crate::schedules::next_runs(s, now, 5))
        .unwrap_or_default()
        .into_iter()
        .map(|(d, at)| serde_json::json!({ "local_date": d, "at": at }))
        .collect();
    serde_json::json!({
        "schedule_id": r.get::<_, uuid::Uuid>(0),
        "mission_id": r.get::<_, uuid::Uuid>(1),
        "spec": r.get::<_, serde_json::Value>(2),
        "lead_time_min": r.get::<_, i32>(3) / 60,
        "enabled": r.get::<_, bool>(4),
        "created_at": r.get::<_, chrono::DateTime<Utc>>(5),
        "next_runs": next,
    })
}

const SELECT: &str =
    "SELECT schedule_id, mission_id, spec, lead_time_s, enabled, created_at FROM schedules";

/// `GET /schedules`.
pub async fn list(
    State(s): State<AppState>,
    user: AuthUser,
) -> Result<Json<Vec<serde_json::Value>>, ApiError> {
    user.require(Action::Read)?;
    let rows = s
        .pool
        .get()
        .await?
        .query(
            &format!("{SELECT} WHERE org_id = $1 ORDER BY created_at DESC LIMIT 500"),
            &[&user.org_id.0],
        )
        .await?;
    let now = s.clock.now();
    Ok(Json(rows.iter().map(|r| view(r, now)).collect()))
}

/// `POST /schedules`: the site's time zone is the mission's site's.
pub async fn create(
    State(s): State<AppState>,
    user: AuthUser,
    Json(b): Json<CreateSchedule>,
) -> Result<(StatusCode, Json<serde_json::Value>), ApiError> {
    user.require(Action::CommandMission)?;
    let local_time = NaiveTime::parse_from_str(&b.local_time, "%H:%M")
        .or_else(|_| NaiveTime::parse_from_str(&b.local_time, "%H:%M:%S"))
        .map_err(|_| {
            ApiError::Unprocessable(format!("local_time {:?} is not HH:MM", b.local_time))
        })?;
    let lead = lead_s(b.lead_time_min)?;
    let mut conn = s.pool.get().await?;
    let tx = conn.transaction().await?;
    let zone: String = tx
        .query_opt(
            "SELECT st.timezone FROM missions m JOIN sites st ON st.site_id = m.site_id
             WHERE m.mission_id = $1 AND m.org_id = $2 AND m.status <> 'deleted'",
            &[&b.mission_id.0, &user.org_id.0],
        )
        .await?
        .ok_or(ApiError::NotFound("mission"))?
        .get(0);
    let timezone: chrono_tz::Tz = zone
        .parse()
        .map_err(|_| ApiError::Conflict(format!("the site's time zone {zone:?} is unknown")))?;
    let spec = ScheduleSpec {
        timezone,
        local_time,
        recurrence: b.recurrence,
        start_date: b.start_date,
        end_date: b.end_date,
    };
    spec.validate()
        .map_err(|e| ApiError::Unprocessable(e.to_string()))?;
    let id = uuid::Uuid::new_v4();
    let spec_json = serde_json::to_value(&spec).map_err(ServerError::from)?;
    tx.execute(
        "INSERT INTO schedules (schedule_id, org_id, mission_id, spec, lead_time_s, created_by)
         VALUES ($1, $2, $3, $4, $5, $6)",
        &[
            &id,
            &user.org_id.0,
            &b.mission_id.0,
            &spec_json,
            &lead,
            &user.user_id.0,
        ],
    )
    .await?;
    audit::append(
        &tx,
        &s.audit_key,
        Some(user.org_id),
        Some(user.user_id),
        "schedule.create",
        &format!("schedule:{id}"),
        &serde_json::json!({ "mission_id": b.mission_id, "spec": spec_json }),
    )
    .await?;
    let row = tx
        .query_one(&format!("{SELECT} WHERE schedule_id = $1"), &[&id])
        .await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(view(&row, s.clock.now()))))
}

/// `GET /schedules/{id}`: the schedule, its next runs and its recorded runs (newest first).
pub async fn get_one(
    State(s): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(Action::Read)?;
    let id: uuid::Uuid = parse_id(&id, "schedule")?;
    let conn = s.pool.get().await?;
    let row = conn
        .query_opt(
            &format!("{SELECT} WHERE schedule_id = $1 AND org_id = $2"),
            &[&id, &user.org_id.0],
        )
        .await?
        .ok_or(ApiError::NotFound("schedule"))?;
    let runs = conn
        .query(
            "SELECT local_date, due_at, phase, outcome, updated_at FROM schedule_runs
             WHERE schedule_id = $1 ORDER BY local_date DESC LIMIT 100",
            &[&id],
        )
        .await?;
    let mut v = view(&row, s.clock.now());
    v["runs"] = runs
        .iter()
        .map(|r| {
            serde_json::json!({
                "local_date": r.get::<_, NaiveDate>(0),
                "due_at": r.get::<_, chrono::DateTime<Utc>>(1),
                "phase": r.get::<_, String>(2),
                "outcome": r.get::<_, String>(3),
                "updated_at": r.get::<_, chrono::DateTime<Utc>>(4),
            })
        })
        .collect();
    Ok(Json(v))
}

/// `PATCH /schedules/{id}`.
pub async fn update(
    State(s): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(b): Json<PatchSchedule>,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(Action::CommandMission)?;
    let id: uuid::Uuid = parse_id(&id, "schedule")?;
    let lead = b.lead_time_min.map(|m| lead_s(Some(m))).transpose()?;
    let mut conn = s.pool.get().await?;
    let tx = conn.transaction().await?;
    let row = tx
        .query_opt(
            "UPDATE schedules SET enabled = COALESCE($3, enabled),
                 lead_time_s = COALESCE($4, lead_time_s)
             WHERE schedule_id = $1 AND org_id = $2
             RETURNING schedule_id, mission_id, spec, lead_time_s, enabled, created_at",
            &[&id, &user.org_id.0, &b.enabled, &lead],
        )
        .await?
        .ok_or(ApiError::NotFound("schedule"))?;
    audit::append(
        &tx,
        &s.audit_key,
        Some(user.org_id),
        Some(user.user_id),
        "schedule.update",
        &format!("schedule:{id}"),
        &serde_json::json!({ "enabled": b.enabled, "lead_time_min": b.lead_time_min }),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(view(&row, s.clock.now())))
}

/// `DELETE /schedules/{id}` (its runs go with it).
pub async fn delete(
    State(s): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    user.require(Action::CommandMission)?;
    let id: uuid::Uuid = parse_id(&id, "schedule")?;
    let mut conn = s.pool.get().await?;
    let tx = conn.transaction().await?;
    let n = tx
        .execute(
            "DELETE FROM schedules WHERE schedule_id = $1 AND org_id = $2",
            &[&id, &user.org_id.0],
        )
        .await?;
    if n == 0 {
        return Err(ApiError::NotFound("schedule"));
    }
    audit::append(
        &tx,
        &s.audit_key,
        Some(user.org_id),
        Some(user.user_id),
        "schedule.delete",
        &format!("schedule:{id}"),
        &serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /schedules/{id}/runs/{date}/confirm`: the operator starts or declines a run waiting
/// for confirmation.
pub async fn confirm(
    State(s): State<AppState>,
    user: AuthUser,
    Path((id, date)): Path<(String, String)>,
    Json(b): Json<Confirm>,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(Action::CommandMission)?;
    let schedule: uuid::Uuid = parse_id(&id, "schedule")?;
    // Another organisation's schedule is not found, whatever the date.
    s.pool
        .get()
        .await?
        .query_opt(
            "SELECT 1 FROM schedules WHERE schedule_id = $1 AND org_id = $2",
            &[&schedule, &user.org_id.0],
        )
        .await?
        .ok_or(ApiError::NotFound("schedule"))?;
    let local_date = NaiveDate::parse_from_str(&date, "%Y-%m-%d")
        .map_err(|_| ApiError::BadRequest(format!("run date {date:?} is not YYYY-MM-DD")))?;
    let answer = if b.start {
        Ok(())
    } else {
        match b.reason.as_deref().map(str::trim) {
            Some(r) if !r.is_empty() => Err(r.to_owned()),
            _ => {
                return Err(ApiError::Unprocessable(
                    "declining a run needs a reason".into(),
                ));
            }
        }
    };
    let key = RunKey {
        schedule,
        local_date,
    };
    let phase = crate::schedules::answer(&s, &user, key, answer, s.clock.now()).await?;
    Ok(Json(serde_json::json!({ "phase": phase })))
}

/// `PUT /schedules/settings`: the organisation's unattended-start setting (admins; audited).
pub async fn settings(
    State(s): State<AppState>,
    user: AuthUser,
    Json(b): Json<Settings>,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(Action::ManageUsers)?;
    let mut conn = s.pool.get().await?;
    let tx = conn.transaction().await?;
    tx.execute(
        "UPDATE organizations SET unattended_starts = $2 WHERE org_id = $1",
        &[&user.org_id.0, &b.unattended_starts],
    )
    .await?;
    audit::append(
        &tx,
        &s.audit_key,
        Some(user.org_id),
        Some(user.user_id),
        "org.unattended_starts",
        &format!("org:{}", user.org_id),
        &serde_json::json!({ "unattended_starts": b.unattended_starts }),
    )
    .await?;
    tx.commit().await?;
    Ok(Json(
        serde_json::json!({ "unattended_starts": b.unattended_starts }),
    ))
}

/// `GET /sites/{id}/weather`: the site's forecast from the configured provider and the
/// verdict for a window (offline or stale data: `unknown`, with the error as its reason).
pub async fn site_weather(
    State(s): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Query(q): Query<WeatherQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(Action::Read)?;
    let site: SiteId = parse_id(&id, "site")?;
    let row = s
        .pool
        .get()
        .await?
        .query_opt(
            "SELECT lat, lon FROM sites WHERE site_id = $1 AND org_id = $2",
            &[&site.0, &user.org_id.0],
        )
        .await?
        .ok_or(ApiError::NotFound("site"))?;
    let at = LatLon::new(row.get(0), row.get(1));
    let now = s.clock.now();
    let fetched = crate::weather::fetch(
        &s.config.weather_url,
        at,
        std::time::Duration::from_secs(10),
        now,
    )
    .await;
    let model = q.model.unwrap_or_else(|| "Aviary X4".into());
    let start = now + chrono::Duration::minutes(q.in_min.unwrap_or(0).max(0));
    let verdict = crate::weather::verdict(
        fetched.as_ref().map_err(String::as_str),
        &model,
        start,
        chrono::Duration::minutes(q.duration_min.unwrap_or(60).clamp(1, 48 * 60)),
        q.alt_m.unwrap_or(120.0),
        now,
    );
    Ok(Json(serde_json::json!({
        "site_id": site,
        "verdict": verdict,
        "report": fetched.as_ref().ok(),
        "error": fetched.as_ref().err(),
    })))
}
