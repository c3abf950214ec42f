//! Wire types shared by `links` (MQTT drones, fleet-server client) and `server`: the
//! WebSocket/MQTT JSON of the design's section 3.2 and the command/ack pair of section 6.3.

use crate::mission::MissionEvent;
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

/// The lifecycle event a command applies once the drone confirms it: abort, RTH and land all
/// end the mission (the drone stays busy until it reports landing). One mapping for the
/// desktop and the fleet server.
pub const fn mission_event(action: CommandAction) -> MissionEvent {
    match action {
        CommandAction::Start => MissionEvent::Start,
        CommandAction::Pause => MissionEvent::Pause,
        CommandAction::Resume => MissionEvent::Resume,
        CommandAction::Abort | CommandAction::Rth | CommandAction::Land => MissionEvent::Abort,
    }
}

/// Below this altitude above takeoff a drone that reports no flight is on the ground, metres.
pub const ON_GROUND_ALT_M: f64 = 1.0;

impl TelemetryUpdate {
    /// What the drone says about itself in this message, as the supervisor's facts: the same
    /// vocabulary as a `MAVLink` vehicle's, so the MQTT path feeds the same supervisor.
    /// The `status` string is the drone's own account of its flight (`in_progress`, `paused`,
    /// `returning`, `landing`, or a ground state such as `available`, `completed`,
    /// `aborted`); together with its altitude it gives mode, armed and landed state.
    pub fn facts(&self) -> Vec<crate::vehicle::VehicleFact> {
        use crate::vehicle::{FlightMode, LandedState, ModeClass, VehicleFact};
        let alt = self.position.altitude;
        let low = alt < ON_GROUND_ALT_M;
        let status = self.status.to_ascii_lowercase();
        let (class, name, landed) = match status.as_str() {
            "in_progress" | "in_mission" | "flying" | "takeoff" => (
                ModeClass::Auto,
                "MISSION",
                if low {
                    LandedState::Takeoff
                } else {
                    LandedState::InAir
                },
            ),
            "paused" | "hold" | "loiter" => (ModeClass::Hold, "HOLD", LandedState::InAir),
            "returning" | "rth" | "rtl" => (ModeClass::Return, "RTL", LandedState::InAir),
            "landing" => (ModeClass::Land, "LAND", LandedState::Landing),
            _ if low => (ModeClass::Other, "STANDBY", LandedState::OnGround),
            // A ground status while high up: the drone is still flying, in no mission mode.
            _ => (ModeClass::Other, "STANDBY", LandedState::InAir),
        };
        let landed = if landed == LandedState::InAir && low && class == ModeClass::Hold {
            LandedState::OnGround
        } else {
            landed
        };
        vec![
            VehicleFact::Heartbeat {
                mode: FlightMode {
                    name: name.to_owned(),
                    class,
                },
                armed: landed != LandedState::OnGround,
            },
            VehicleFact::Landed { state: landed },
            VehicleFact::Motion {
                alt_rel_m: alt,
                ground_speed_mps: self.velocity.speed,
            },
            VehicleFact::Battery {
                remaining_pct: Some(self.battery),
                voltage_v: None,
            },
        ]
    }
}

#[cfg(test)]
mod telemetry_fact_tests {
    use super::*;
    use crate::vehicle::{LandedState, ModeClass, VehicleFact};

    fn update(status: &str, alt: f64) -> TelemetryUpdate {
        TelemetryUpdate {
            kind: "telemetry_update".into(),
            mission_id: None,
            drone_id: DroneId::new_random(),
            timestamp: DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
            position: WirePosition {
                lat: 47.0,
                lon: 8.0,
                altitude: alt,
            },
            velocity: WireVelocity {
                speed: 5.0,
                heading: 0.0,
            },
            battery: 61.0,
            status: status.into(),
            progress: 10.0,
        }
    }

    fn mode_and_landed(u: &TelemetryUpdate) -> (ModeClass, bool, LandedState) {
        let f = u.facts();
        let (class, armed) = match &f[0] {
            VehicleFact::Heartbeat { mode, armed } => (mode.class, *armed),
            other => panic!("heartbeat first, got {other:?}"),
        };
        let VehicleFact::Landed { state } = f[1] else {
            panic!("landed second");
        };
        (class, armed, state)
    }

    #[test]
    fn an_mqtt_drones_status_and_altitude_become_the_supervisors_facts() {
        assert_eq!(
            mode_and_landed(&update("in_progress", 40.0)),
            (ModeClass::Auto, true, LandedState::InAir)
        );
        assert_eq!(
            mode_and_landed(&update("returning", 40.0)),
            (ModeClass::Return, true, LandedState::InAir)
        );
        assert_eq!(
            mode_and_landed(&update("landing", 3.0)),
            (ModeClass::Land, true, LandedState::Landing)
        );
        // "completed" in the air is not landed: the vehicle, not the word, decides.
        assert_eq!(
            mode_and_landed(&update("completed", 35.0)),
            (ModeClass::Other, true, LandedState::InAir)
        );
        assert_eq!(
            mode_and_landed(&update("completed", 0.2)),
            (ModeClass::Other, false, LandedState::OnGround)
        );
        let f = update("paused", 40.0).facts();
        assert!(f.contains(&VehicleFact::Battery {
            remaining_pct: Some(61.0),
            voltage_v: None
        }));
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
