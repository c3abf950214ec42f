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
