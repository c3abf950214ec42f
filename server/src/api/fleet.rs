//! Fleet: sites, drones, drone status, and the online/offline handling fed by the drones'
//! MQTT status topic.

use aviary_core::auth::Action;
use aviary_core::mission::FailureReason;
use aviary_core::wire::{WirePosition, WireVelocity};
use aviary_core::{DroneId, DroneStatus, MissionEvent, MissionId, MissionStatus, OrgId, SiteId};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use deadpool_postgres::GenericClient;
use serde::Deserialize;

use super::parse_id;
use crate::alerts::{Alert, AlertKind};
use crate::auth::AuthUser;
use crate::error::{ApiError, Json, ServerError};
use crate::{AppState, Shared, audit};

/// A position in request and response bodies.
pub use aviary_core::wire::WireLatLon as Position;

/// `POST /sites` body.
pub use aviary_core::wire::CreateSite;

/// A site.
pub use aviary_core::wire::FleetSite as SiteView;

/// `POST /drones` body.
pub use aviary_core::wire::CreateDrone;

/// `PATCH /drones/{id}/status` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PatchStatus {
    /// `available`, `charging`, `maintenance` or `offline`.
    pub status: String,
}

/// A drone, with its latest telemetry.
pub use aviary_core::wire::FleetDrone as DroneView;

const DRONE_SELECT: &str =
    "SELECT d.drone_id, d.site_id, d.serial_number, d.model, d.status, d.online, l.battery_level,
    GREATEST(d.last_seen, l.time), d.home_lat, d.home_lon, d.firmware_version,
    l.lat, l.lon, l.altitude, l.speed, l.heading, l.mission_id
    FROM drones d LEFT JOIN drone_latest l ON l.drone_id = d.drone_id";

fn drone_view(r: &tokio_postgres::Row) -> DroneView {
    DroneView {
        drone_id: DroneId(r.get(0)),
        site_id: SiteId(r.get(1)),
        serial_number: r.get(2),
        model: r.get(3),
        status: r.get(4),
        online: r.get(5),
        battery_level: r.get(6),
        last_seen: r.get(7),
        home: Position {
            lat: r.get(8),
            lon: r.get(9),
        },
        firmware_version: r.get(10),
        position: match (r.get(11), r.get(12), r.get(13)) {
            (Some(lat), Some(lon), Some(altitude)) => Some(WirePosition { lat, lon, altitude }),
            _ => None,
        },
        velocity: match (r.get(14), r.get(15)) {
            (Some(speed), Some(heading)) => Some(WireVelocity { speed, heading }),
            _ => None,
        },
        mission_id: r.get::<_, Option<uuid::Uuid>>(16).map(MissionId),
    }
}

fn check_position(p: Position) -> Result<(), ApiError> {
    aviary_core::LatLon::checked(p.lat, p.lon)
        .map(|_| ())
        .map_err(|e| ApiError::Unprocessable(e.to_string()))
}

/// `GET /sites`.
pub async fn list_sites(
    State(s): State<AppState>,
    user: AuthUser,
) -> Result<Json<Vec<SiteView>>, ApiError> {
    user.require(Action::Read)?;
    let rows = s
        .pool
        .get()
        .await?
        .query(
            "SELECT site_id, name, lat, lon, timezone FROM sites WHERE org_id = $1 ORDER BY name",
            &[&user.org_id.0],
        )
        .await?;
    Ok(Json(
        rows.iter()
            .map(|r| SiteView {
                site_id: SiteId(r.get(0)),
                name: r.get(1),
                location: Position {
                    lat: r.get(2),
                    lon: r.get(3),
                },
                timezone: r.get(4),
            })
            .collect(),
    ))
}

/// `POST /sites`.
pub async fn create_site(
    State(s): State<AppState>,
    user: AuthUser,
    Json(b): Json<CreateSite>,
) -> Result<(StatusCode, Json<SiteView>), ApiError> {
    user.require(Action::ManageDrones)?;
    check_position(b.location)?;
    let tz = b.timezone.unwrap_or_else(|| "UTC".into());
    if tz.parse::<chrono_tz::Tz>().is_err() {
        return Err(ApiError::Unprocessable(format!("unknown time zone {tz:?}")));
    }
    let id = SiteId::new_random();
    let mut conn = s.pool.get().await?;
    let tx = conn.transaction().await?;
    tx.execute(
        "INSERT INTO sites (site_id, org_id, name, lat, lon, timezone) VALUES ($1, $2, $3, $4, $5, $6)",
        &[&id.0, &user.org_id.0, &b.name, &b.location.lat, &b.location.lon, &tz],
    )
    .await?;
    audit::append(
        &tx,
        &s.audit_key,
        Some(user.org_id),
        Some(user.user_id),
        "site.create",
        &format!("site:{id}"),
        &serde_json::json!({ "name": b.name }),
    )
    .await?;
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(SiteView {
            site_id: id,
            name: b.name,
            location: b.location,
            timezone: tz,
        }),
    ))
}

/// Rendered `GET /drones` answers per organisation, reused for [`DRONE_LIST_TTL`]: the
/// design's `drones:live` cache. A desktop polls the list every second and a 1,000-drone list
/// is ~500 KB of JSON, so many clients share one query and one serialisation. Changes made
/// through the API (new drone, status, online/offline) drop the organisation's entry at once;
/// only the latest-telemetry fields can be up to the TTL old.
#[derive(Debug, Default)]
pub struct DroneListCache {
    entries: std::sync::Mutex<std::collections::HashMap<OrgId, (std::time::Instant, Bytes)>>,
}

/// How long a rendered drone list is reused.
pub const DRONE_LIST_TTL: std::time::Duration = std::time::Duration::from_millis(250);

impl DroneListCache {
    /// `org`'s list when it was rendered less than [`DRONE_LIST_TTL`] before `now` (the
    /// server clock's monotonic instant).
    fn get(&self, org: OrgId, now: std::time::Instant) -> Option<Bytes> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(&org)
            .filter(|(at, _)| now.saturating_duration_since(*at) < DRONE_LIST_TTL)
            .map(|(_, b)| b.clone())
    }

    fn put(&self, org: OrgId, body: Bytes, now: std::time::Instant) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.insert(org, (now, body));
        }
    }

    /// Drops `org`'s list (after a change).
    pub fn invalidate(&self, org: OrgId) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.remove(&org);
        }
    }

    /// Drops every list (a change whose organisation is not at hand).
    pub fn invalidate_all(&self) {
        if let Ok(mut entries) = self.entries.lock() {
            entries.clear();
        }
    }
}

/// `GET /drones`: the organisation's drones with their latest telemetry, by serial number.
pub async fn list_drones(State(s): State<AppState>, user: AuthUser) -> Result<Response, ApiError> {
    user.require(Action::Read)?;
    let body = if let Some(b) = s.drone_lists.get(user.org_id, s.clock.instant()) {
        b
    } else {
        let rows = s
            .pool
            .get()
            .await?
            .query(
                &format!("{DRONE_SELECT} WHERE d.org_id = $1 ORDER BY d.serial_number"),
                &[&user.org_id.0],
            )
            .await?;
        let drones: Vec<DroneView> = rows.iter().map(drone_view).collect();
        let b = Bytes::from(serde_json::to_vec(&drones).map_err(|e| {
            ApiError::Internal(ServerError::Config(format!(
                "cannot encode the drone list: {e}"
            )))
        })?);
        s.drone_lists.put(user.org_id, b.clone(), s.clock.instant());
        b
    };
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// `GET /sites/{id}/drones`.
pub async fn site_drones(
    State(s): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<Vec<DroneView>>, ApiError> {
    user.require(Action::Read)?;
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
    let rows = conn
        .query(
            &format!(
                "{DRONE_SELECT} WHERE d.org_id = $1 AND d.site_id = $2 ORDER BY d.serial_number"
            ),
            &[&user.org_id.0, &site.0],
        )
        .await?;
    Ok(Json(rows.iter().map(drone_view).collect()))
}

/// Loads a drone of the caller's organisation.
pub async fn load<C: GenericClient>(c: &C, org: OrgId, id: DroneId) -> Result<DroneView, ApiError> {
    c.query_opt(
        &format!("{DRONE_SELECT} WHERE d.drone_id = $1 AND d.org_id = $2"),
        &[&id.0, &org.0],
    )
    .await?
    .as_ref()
    .map(drone_view)
    .ok_or(ApiError::NotFound("drone"))
}

/// `GET /drones/{id}`.
pub async fn get_drone(
    State(s): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
) -> Result<Json<DroneView>, ApiError> {
    user.require(Action::Read)?;
    let id = parse_id(&id, "drone")?;
    Ok(Json(load(&s.pool.get().await?, user.org_id, id).await?))
}

/// `POST /drones`.
pub async fn create_drone(
    State(s): State<AppState>,
    user: AuthUser,
    Json(b): Json<CreateDrone>,
) -> Result<(StatusCode, Json<DroneView>), ApiError> {
    user.require(Action::ManageDrones)?;
    check_position(b.home)?;
    let id = b.drone_id.unwrap_or_else(DroneId::new_random);
    let mut conn = s.pool.get().await?;
    if conn
        .query_opt(
            "SELECT 1 FROM sites WHERE site_id = $1 AND org_id = $2",
            &[&b.site_id.0, &user.org_id.0],
        )
        .await?
        .is_none()
    {
        return Err(ApiError::NotFound("site"));
    }
    let tx = conn.transaction().await?;
    let inserted = tx
        .execute(
            "INSERT INTO drones (drone_id, org_id, site_id, serial_number, model, home_lat, home_lon, firmware_version)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING",
            &[&id.0, &user.org_id.0, &b.site_id.0, &b.serial_number, &b.model, &b.home.lat, &b.home.lon, &b.firmware_version],
        )
        .await?;
    if inserted == 0 {
        return Err(ApiError::Conflict(
            "a drone with this id or serial number exists".into(),
        ));
    }
    audit::append(
        &tx,
        &s.audit_key,
        Some(user.org_id),
        Some(user.user_id),
        "drone.create",
        &format!("drone:{id}"),
        &serde_json::json!({ "serial": b.serial_number }),
    )
    .await?;
    tx.commit().await?;
    s.drone_lists.invalidate(user.org_id);
    // A drone that came online before it was registered (a simulator, a drone powered on
    // first): its retained `online` found no row then. Ask the broker for it again.
    s.commands.refresh_status(id);
    Ok((
        StatusCode::CREATED,
        Json(load(&conn, user.org_id, id).await?),
    ))
}

/// `PATCH /drones/{id}/status`.
pub async fn patch_status(
    State(s): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    Json(b): Json<PatchStatus>,
) -> Result<Json<DroneView>, ApiError> {
    user.require(Action::ManageDrones)?;
    let id: DroneId = parse_id(&id, "drone")?;
    let status = DroneStatus::parse(&b.status)
        .ok_or_else(|| ApiError::Unprocessable(format!("unknown drone status {:?}", b.status)))?;
    if status == DroneStatus::InMission {
        return Err(ApiError::Unprocessable(
            "in_mission is set by starting a mission, not by hand".into(),
        ));
    }
    let mut conn = s.pool.get().await?;
    let current = load(&conn, user.org_id, id).await?;
    if current.status == "in_mission" {
        return Err(ApiError::Conflict(
            "the drone is flying a mission; end the mission first".into(),
        ));
    }
    let tx = conn.transaction().await?;
    tx.execute(
        "UPDATE drones SET status = $3 WHERE drone_id = $1 AND org_id = $2",
        &[&id.0, &user.org_id.0, &status.as_str()],
    )
    .await?;
    audit::append(
        &tx,
        &s.audit_key,
        Some(user.org_id),
        Some(user.user_id),
        "drone.status",
        &format!("drone:{id}"),
        &serde_json::json!({ "from": current.status, "to": status.as_str() }),
    )
    .await?;
    tx.commit().await?;
    s.drone_lists.invalidate(user.org_id);
    Ok(Json(load(&conn, user.org_id, id).await?))
}

/// A drone's MQTT status changed: record it; when it went offline, alert and fail the
/// missions it was flying (lifecycle `Fail(ConnectionLost)`).
pub async fn on_drone_status(s: &Shared, drone: DroneId, online: bool) {
    if let Err(e) = status_changed(s, drone, online).await {
        tracing::warn!(error = %e, drone = %drone, "could not record the drone's status");
    }
}

async fn status_changed(s: &Shared, drone: DroneId, online: bool) -> Result<(), ServerError> {
    let mut conn = s.pool.get().await?;
    let tx = conn.transaction().await?;
    let Some(r) = tx
        .query_opt(
            "UPDATE drones SET online = $2, last_seen = $3 WHERE drone_id = $1 AND online <> $2 RETURNING org_id",
            &[&drone.0, &online, &s.clock.now()],
        )
        .await?
    else {
        return Ok(());
    };
    let org = OrgId(r.get(0));
    audit::append(
        &tx,
        &s.audit_key,
        Some(org),
        None,
        if online {
            "drone.online"
        } else {
            "drone.offline"
        },
        &format!("drone:{drone}"),
        &serde_json::json!({}),
    )
    .await?;
    let mut failed: Vec<MissionId> = Vec::new();
    if !online {
        let now = s.clock.now();
        let flying = tx
            .query(
                "SELECT mission_id FROM missions WHERE drone_id = $1 AND status IN ('in_progress', 'paused')",
                &[&drone.0],
            )
            .await?;
        for r in flying {
            let id = MissionId(r.get(0));
            let applied = crate::lifecycle::apply(
                &tx,
                id,
                Some(org),
                MissionEvent::Fail(FailureReason::ConnectionLost),
                now,
                crate::lifecycle::Cause {
                    user: None,
                    text: "drone: offline (link lost)",
                },
                None,
                false,
            )
            .await?;
            if let crate::lifecycle::Applied::Changed(_) = applied {
                audit::append(
                    &tx,
                    &s.audit_key,
                    Some(org),
                    None,
                    "mission.fail",
                    &format!("mission:{id}"),
                    &serde_json::json!({ "reason": "connection_lost" }),
                )
                .await?;
                failed.push(id);
            }
        }
        // Unreachable, so not flying for us: the operator sees it offline.
        tx.execute(
            "UPDATE drones SET status = 'available' WHERE drone_id = $1 AND status = 'in_mission'",
            &[&drone.0],
        )
        .await?;
    }
    tx.commit().await?;
    s.drone_lists.invalidate_all();
    if !online {
        s.alerts.raise(Alert {
            kind: AlertKind::LinkLost,
            summary: format!("drone {drone} is offline"),
            source: format!("drone:{drone}"),
            dedup_key: format!("link_lost/{drone}"),
            details: serde_json::json!({ "failed_missions": failed }),
        });
    }
    for id in failed {
        let event = crate::missions::status_event(
            id,
            MissionStatus::Failed,
            Some("connection_lost"),
            s.clock.now(),
        );
        s.commands.publish_event(id, &event).await;
    }
    Ok(())
}
