//! Wire types shared by `links` (MQTT drones, fleet-server client) and `server`: the
//! WebSocket/MQTT JSON of the design's section 3.2 and the command/ack pair of section 6.3.

use crate::model::{DroneId, MissionId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Position block of a telemetry update.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WirePosition {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
    /// Altitude above takeoff, metres.
    pub altitude: f64,
}

/// Velocity block of a telemetry update.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct WireVelocity {
    /// Ground speed, m/s.
    pub speed: f64,
    /// Heading, degrees.
    pub heading: f64,
}

/// `telemetry_update` message (server → client, drone → broker).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TelemetryUpdate {
    /// Always `"telemetry_update"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Mission being flown.
    pub mission_id: Option<MissionId>,
    /// Drone.
    pub drone_id: DroneId,
    /// Sample time.
    pub timestamp: DateTime<Utc>,
    /// Position.
    pub position: WirePosition,
    /// Velocity.
    pub velocity: WireVelocity,
    /// Battery, percent.
    pub battery: f64,
    /// Mission or drone status string.
    pub status: String,
    /// Mission progress, percent.
    pub progress: f64,
}

/// A mission control action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommandAction {
    /// Start the uploaded mission.
    Start,
    /// Hold position.
    Pause,
    /// Continue the mission.
    Resume,
    /// Stop the mission and return home.
    Abort,
    /// Return to home.
    Rth,
    /// Land where you are.
    Land,
}

/// The action's wire spelling (`start`, `rth`, …).
pub const fn action_name(action: CommandAction) -> &'static str {
    match action {
        CommandAction::Start => "start",
        CommandAction::Pause => "pause",
        CommandAction::Resume => "resume",
        CommandAction::Abort => "abort",
        CommandAction::Rth => "rth",
        CommandAction::Land => "land",
    }
}

impl CommandAction {
    /// Every action.
    pub const ALL: [CommandAction; 6] = [
        Self::Start,
        Self::Pause,
        Self::Resume,
        Self::Abort,
        Self::Rth,
        Self::Land,
    ];

    /// Parses the wire spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| action_name(*a) == s)
    }
}

/// Command to a drone (`drones/{id}/commands`, QoS 1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DroneCommand {
    /// Unique per command; duplicates (QoS 1 redelivery) carry the same id.
    pub cmd_id: uuid::Uuid,
    /// What to do.
    pub action: CommandAction,
    /// Mission it concerns.
    pub mission_id: Option<MissionId>,
}

/// Outcome a drone reports for a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckStatus {
    /// Done.
    Executed,
    /// Refused (with a reason in `detail`).
    Rejected,
}

/// Acknowledgement (`drones/{id}/ack`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CommandAck {
    /// Id of the command acknowledged.
    pub cmd_id: uuid::Uuid,
    /// Outcome.
    pub status: AckStatus,
    /// Human-readable detail.
    #[serde(default)]
    pub detail: String,
}

/// A latitude/longitude pair in fleet-server request and response bodies.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireLatLon {
    /// Latitude, degrees.
    pub lat: f64,
    /// Longitude, degrees.
    pub lon: f64,
}

/// A site as the fleet server lists it (`GET /api/v1/sites`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetSite {
    /// Id.
    pub site_id: crate::model::SiteId,
    /// Name.
    pub name: String,
    /// Location.
    pub location: WireLatLon,
    /// IANA time zone.
    pub timezone: String,
}

/// A mission as the fleet server lists it (`GET /api/v1/missions`: the fields a desktop shows;
/// the rest of the server's mission view is ignored).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetMission {
    /// Id.
    pub mission_id: MissionId,
    /// Site.
    pub site_id: crate::model::SiteId,
    /// Drone assigned.
    pub drone_id: Option<DroneId>,
    /// Name.
    pub name: String,
    /// Lifecycle status.
    pub status: crate::MissionStatus,
    /// Planned start.
    pub scheduled_start: Option<DateTime<Utc>>,
    /// Actual start.
    pub actual_start: Option<DateTime<Utc>>,
    /// Actual end.
    pub actual_end: Option<DateTime<Utc>>,
    /// Planner's duration, seconds.
    pub estimated_duration: f64,
    /// Planner's distance, metres.
    pub estimated_distance: f64,
}

/// A drone as the fleet server lists it (`GET /api/v1/drones`, `GET /api/v1/sites/{id}/drones`),
/// with its latest telemetry when the server has any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FleetDrone {
    /// Id (the one the drone uses on MQTT).
    pub drone_id: DroneId,
    /// Site.
    pub site_id: crate::model::SiteId,
    /// Serial number.
    pub serial_number: String,
    /// Model.
    pub model: String,
    /// Fleet status (`available`, `in_mission`, `charging`, `maintenance`, `offline`).
    pub status: String,
    /// Connected to the broker (its retained status topic says `online`).
    pub online: bool,
    /// Battery from the latest telemetry, percent.
    pub battery_level: Option<f64>,
    /// Time of the latest telemetry or status change.
    pub last_seen: Option<DateTime<Utc>>,
    /// Home.
    pub home: WireLatLon,
    /// Firmware.
    pub firmware_version: String,
    /// Position of the latest telemetry sample.
    #[serde(default)]
    pub position: Option<WirePosition>,
    /// Velocity of the latest telemetry sample.
    #[serde(default)]
    pub velocity: Option<WireVelocity>,
    /// Mission the latest sample belongs to.
    #[serde(default)]
    pub mission_id: Option<MissionId>,
}

/// `POST /api/v1/auth/login` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// Account email.
    pub email: String,
    /// Password.
    pub password: String,
}

/// `POST /api/v1/auth/login` response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoginResponse {
    /// Bearer token.
    pub token: String,
    /// Always `"Bearer"`.
    pub token_type: String,
    /// Seconds until the token expires.
    pub expires_in: u64,
    /// The user.
    pub user_id: crate::model::UserId,
    /// The user's organisation.
    pub org_id: crate::model::OrgId,
    /// The user's role.
    pub role: crate::auth::Role,
}

/// `POST /api/v1/sites` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateSite {
    /// Name.
    pub name: String,
    /// Location.
    pub location: WireLatLon,
    /// IANA time zone (default UTC).
    #[serde(default)]
    pub timezone: Option<String>,
}

/// `POST /api/v1/drones` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateDrone {
    /// A preassigned id (the one the drone uses on MQTT); random if absent.
    #[serde(default)]
    pub drone_id: Option<DroneId>,
    /// Site.
    pub site_id: crate::model::SiteId,
    /// Serial number (unique).
    pub serial_number: String,
    /// Model.
    pub model: String,
    /// Home position.
    pub home: WireLatLon,
    /// Firmware version.
    #[serde(default)]
    pub firmware_version: String,
}
