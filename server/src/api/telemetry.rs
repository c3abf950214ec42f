//! Telemetry reads: a drone's latest sample, a mission's stream (cursor-paged by time) and
//! its thinned replay.

use aviary_core::auth::Action;
use aviary_core::wire::TelemetryUpdate;
use aviary_core::{DroneId, MissionId};
use axum::extract::{Path, Query, State};
use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::parse_id;
use crate::auth::AuthUser;
use crate::error::{ApiError, Json};
use crate::{AppState, telemetry};

/// `GET /drones/{id}/telemetry/latest`.
pub async fn latest(
    State(s): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<TelemetryUpdate>, ApiError> {
    user.require(Action::Read)?;
    let id: DroneId = parse_id(&id, "drone")?;
    let conn = s.pool.get().await?;
    super::fleet::load(&conn, user.org_id, id).await?;
    telemetry::latest(&conn, id)
        .await?
        .map(Json)
        .ok_or(ApiError::NotFound("telemetry"))
}

/// Stream query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StreamQuery {
    /// Only samples after this time (the previous page's last `timestamp`).
    pub since: Option<DateTime<Utc>>,
    /// Page size (default 1000, at most 10000).
    pub limit: Option<i64>,
}

/// `GET /missions/{id}/telemetry`: oldest first, paged with `since`.
pub async fn mission_stream(
    State(s): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Query(q): Query<StreamQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(Action::Read)?;
    let id: MissionId = parse_id(&id, "mission")?;
    let conn = s.pool.get().await?;
    super::missions::load(&conn, user.org_id, id).await?;
    let limit = q.limit.unwrap_or(1000).clamp(1, 10_000);
    let samples = telemetry::mission_samples(&conn, id, q.since, limit).await?;
    let next = (samples.len() as i64 == limit)
        .then(|| samples.last().map(|t| t.timestamp))
        .flatten();
    Ok(Json(
        serde_json::json!({ "mission_id": id, "samples": samples, "next_since": next }),
    ))
}

/// Replay query.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplayQuery {
    /// One sample per this many milliseconds (default 1000).
    pub step_ms: Option<i64>,
    /// At most this many samples (default 10000).
    pub limit: Option<i64>,
}

/// `GET /missions/{id}/replay`: the mission thinned to one sample per step, for playback.
pub async fn mission_replay(
    State(s): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Query(q): Query<ReplayQuery>,
) -> Result<Json<serde_json::Value>, ApiError> {
    user.require(Action::Read)?;
    let id: MissionId = parse_id(&id, "mission")?;
    let conn = s.pool.get().await?;
    super::missions::load(&conn, user.org_id, id).await?;
    let step = q.step_ms.unwrap_or(1000).clamp(1, 3_600_000);
    let samples =
        telemetry::mission_replay(&conn, id, step, q.limit.unwrap_or(10_000).clamp(1, 100_000))
            .await?;
    Ok(Json(
        serde_json::json!({ "mission_id": id, "step_ms": step, "samples": samples }),
    ))
}
