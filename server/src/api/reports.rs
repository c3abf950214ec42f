//! Reports as JSON summaries computed in SQL, and CSV export of a mission's telemetry. (PDF
//! reports are written by the desktop app's `aviary-reports`; the server does not depend on it.)

use aviary_core::auth::Action;
use aviary_core::{MissionId, SiteId};
use axum::extract::{Path, State};
use axum::response::IntoResponse;
use deadpool_postgres::GenericClient;
use serde::Deserialize;

use super::parse_id;
use crate::auth::AuthUser;
use crate::error::{ApiError, Json};
use crate::{AppState, telemetry};

/// `GET /reports/missions/{id}`.
pub async fn mission(
    State(s): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(Action::ViewReports)?;
    let id: MissionId = parse_id(&id, "mission")?;
    let conn = s.pool.get().await?;
    let m = super::missions::load(&conn, user.org_id, id).await?;
    let t = conn
        .query_one(
            "SELECT count(*), min(time), max(time), min(battery_level), max(battery_level), max(altitude), avg(speed), max(progress)
             FROM drone_telemetry WHERE mission_id = $1",
            &[&id.0],
        )
        .await?;
    let distance: Option<f64> = conn
        .query_one(
            "SELECT sum(2 * 6371008.8 * asin(sqrt(power(sin(radians(lat - plat) / 2), 2)
                 + cos(radians(plat)) * cos(radians(lat)) * power(sin(radians(lon - plon) / 2), 2))))
             FROM (SELECT lat, lon, lag(lat) OVER w AS plat, lag(lon) OVER w AS plon
                   FROM drone_telemetry WHERE mission_id = $1 WINDOW w AS (ORDER BY time)) x WHERE plat IS NOT NULL",
            &[&id.0],
        )
        .await?
        .get(0);
    let cmds = conn.query("SELECT status, count(*) FROM commands WHERE mission_id = $1 GROUP BY status ORDER BY status", &[&id.0]).await?;
    let (first, last): (
        Option<chrono::DateTime<chrono::Utc>>,
        Option<chrono::DateTime<chrono::Utc>>,
    ) = (t.get(1), t.get(2));
    let (bmin, bmax): (Option<f64>, Option<f64>) = (t.get(3), t.get(4));
    Ok(Json(serde_json::json!({
        "mission_id": id,
        "name": m.name,
        "status": m.status,
        "drone_id": m.drone_id,
        "site_id": m.site_id,
        "actual_start": m.actual_start,
        "actual_end": m.actual_end,
        "estimated_duration_s": m.estimated_duration,
        "estimated_distance_m": m.estimated_distance,
        "waypoints_count": m.waypoints_count,
        "telemetry": {
            "samples": t.get::<_, i64>(0),
            "first": first,
            "last": last,
            "flight_time_s": first.zip(last).map(|(a, b)| (b - a).num_milliseconds() as f64 / 1000.0),
            "distance_flown_m": distance.unwrap_or(0.0),
            "battery_used_pct": bmax.zip(bmin).map(|(a, b)| a - b),
            "max_altitude_m": t.get::<_, Option<f64>>(5),
            "avg_speed_mps": t.get::<_, Option<f64>>(6),
            "max_progress_pct": t.get::<_, Option<f64>>(7),
        },
        "commands": cmds.iter().map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1))).collect::<std::collections::BTreeMap<_, _>>(),
    })))
}

async fn summary<C: GenericClient>(
    c: &C,
    org: aviary_core::OrgId,
    site: Option<SiteId>,
) -> Result<serde_json::Value, ApiError> {
    let site = site.map(|s| s.0);
    let missions = c
        .query("SELECT status, count(*) FROM missions WHERE org_id = $1 AND ($2::uuid IS NULL OR site_id = $2) GROUP BY status", &[&org.0, &site])
        .await?;
    let drones = c
        .query("SELECT status, count(*) FROM drones WHERE org_id = $1 AND ($2::uuid IS NULL OR site_id = $2) GROUP BY status", &[&org.0, &site])
        .await?;
    let r = c
        .query_one(
            "SELECT (SELECT count(*) FROM drones WHERE org_id = $1 AND ($2::uuid IS NULL OR site_id = $2) AND online),
                    (SELECT count(*) FROM sites WHERE org_id = $1 AND ($2::uuid IS NULL OR site_id = $2)),
                    (SELECT COALESCE(sum(EXTRACT(EPOCH FROM actual_end - actual_start)), 0)::float8 FROM missions
                       WHERE org_id = $1 AND ($2::uuid IS NULL OR site_id = $2) AND actual_end IS NOT NULL AND actual_start IS NOT NULL),
                    (SELECT count(*) FROM drone_telemetry t JOIN drones d ON d.drone_id = t.drone_id
                       WHERE d.org_id = $1 AND ($2::uuid IS NULL OR d.site_id = $2) AND t.time > now() - interval '24 hours')",
            &[&org.0, &site],
        )
        .await?;
    let map = |rows: &[tokio_postgres::Row]| {
        rows.iter()
            .map(|r| (r.get::<_, String>(0), r.get::<_, i64>(1)))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    Ok(serde_json::json!({
        "missions_by_status": map(&missions),
        "drones_by_status": map(&drones),
        "drones_online": r.get::<_, i64>(0),
        "sites": r.get::<_, i64>(1),
        "flight_hours": r.get::<_, f64>(2) / 3600.0,
        "telemetry_samples_24h": r.get::<_, i64>(3),
    }))
}

/// `GET /reports/org-summary`.
pub async fn org_summary(
    State(s): State<AppState>,
    user: AuthUser,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(Action::ViewReports)?;
    let mut v = summary(&s.pool.get().await?, user.org_id, None).await?;
    v["org_id"] = serde_json::json!(user.org_id);
    Ok(Json(v))
}

/// `GET /reports/site/{id}/summary`.
pub async fn site_summary(
    State(s): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(Action::ViewReports)?;
    let site: SiteId = parse_id(&id, "site")?;
    let conn = s.pool.get().await?;
    if conn
        .query_opt(
            "SELECT 1 FROM sites WHERE site_id = $1 AND org_id = $2",
            &[&site.0, &user.org_id.0],
        )
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound("site"));
    }
    let mut v = summary(&conn, user.org_id, Some(site)).await?;
    v["site_id"] = serde_json::json!(site);
    Ok(Json(v))
}

/// `POST /reports/export` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExportRequest {
    /// Mission to export.
    pub mission_id: MissionId,
    /// `csv` (PDF is produced by the desktop app).
    pub format: String,
}

/// `POST /reports/export`: a mission's telemetry as CSV.
pub async fn export(
    State(s): State<AppState>,
    user: AuthUser,
    Json(b): Json<ExportRequest>,
) -> Result<axum::response::Response, ApiError> {
    user.require(Action::ViewReports)?;
    if b.format != "csv" {
        return Err(ApiError::Unprocessable(format!(
            "format {:?} is not exported by the server (use \"csv\"; PDF reports come from the desktop app)",
            b.format
        )));
    }
    let conn = s.pool.get().await?;
    super::missions::load(&conn, user.org_id, b.mission_id).await?;
    let samples = telemetry::mission_samples(&conn, b.mission_id, None, 1_000_000).await?;
    let mut out = String::from(
        "timestamp,drone_id,lat,lon,altitude_m,speed_mps,heading_deg,battery_pct,status,progress_pct\n",
    );
    for t in samples {
        use std::fmt::Write as _;
        let _ = writeln!(
            out,
            "{},{},{},{},{},{},{},{},{},{}",
            t.timestamp
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            t.drone_id,
            t.position.lat,
            t.position.lon,
            t.position.altitude,
            t.velocity.speed,
            t.velocity.heading,
            t.battery,
            t.status.replace(',', " "),
            t.progress
        );
    }
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "text/csv; charset=utf-8".to_owned(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"mission-{}.csv\"", b.mission_id),
            ),
        ],
        out,
    )
        .into_response())
}
