//! Domain records: the design's data model (section 4.1) as typed Rust.

use crate::geo::LatLon;
use crate::mission::MissionStatus;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A fresh random id.
            pub fn new_random() -> Self {
                Self(Uuid::new_v4())
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }

        impl std::str::FromStr for $name {
            type Err = uuid::Error;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

id_type!(
    /// Organisation id.
    OrgId
);
id_type!(
    /// Site id.
    SiteId
);
id_type!(
    /// Drone id.
    DroneId
);
id_type!(
    /// Mission id.
    MissionId
);
id_type!(
    /// User id.
    UserId
);

/// An organisation: the tenant that owns sites, drones, users and missions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Organization {
    /// Primary key.
    pub id: OrgId,
    /// Display name.
    pub name: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// A facility where drones are based.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Site {
    /// Primary key.
    pub id: SiteId,
    /// Owning organisation.
    pub org_id: OrgId,
    /// Display name.
    pub name: String,
    /// Reference position.
    pub location: LatLon,
    /// IANA time zone, e.g. `Europe/Amsterdam`.
    pub timezone: chrono_tz::Tz,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl Site {
    /// `t` in the site's local time.
    pub fn local_time(&self, t: DateTime<Utc>) -> DateTime<chrono_tz::Tz> {
        t.with_timezone(&self.timezone)
    }
}

/// Operational status of a drone (design: `drones.status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum DroneStatus {
    /// Ready for a mission.
    Available,
    /// Flying a mission.
    InMission,
    /// On the charger.
    Charging,
    /// Taken out of service by an operator.
    Maintenance,
    /// Not heard from.
    Offline,
}

impl DroneStatus {
    /// Every status.
    pub const ALL: [DroneStatus; 5] = [
        Self::Available,
        Self::InMission,
        Self::Charging,
        Self::Maintenance,
        Self::Offline,
    ];

    /// The design's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::InMission => "in_mission",
            Self::Charging => "charging",
            Self::Maintenance => "maintenance",
            Self::Offline => "offline",
        }
    }

    /// Parses the design's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

impl DroneStatus {
    /// The status in words, as the window, reports and messages show it (`in mission`).
    pub const fn label(self) -> &'static str {
        match self {
            Self::InMission => "in mission",
            other => other.as_str(),
        }
    }
}

/// Words for people (`in progress`); [`DroneStatus::as_str`] is the stored spelling.
impl std::fmt::Display for DroneStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// A drone in the fleet.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Drone {
    /// Primary key.
    pub id: DroneId,
    /// Site the drone is based at.
    pub site_id: SiteId,
    /// Manufacturer serial number, unique across the fleet.
    pub serial_number: String,
    /// Airframe model.
    pub model: String,
    /// Operational status.
    pub status: DroneStatus,
    /// Last reported battery, percent 0..=100.
    pub battery_pct: u8,
    /// Last time anything was heard from the drone.
    pub last_seen: Option<DateTime<Utc>>,
    /// Home / takeoff position.
    pub home: LatLon,
    /// Autopilot firmware version string.
    pub firmware_version: String,
    /// Link address (`udpin:...`, `mqtt:...`) or `None` when not connected.
    pub link: Option<String>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// Survey pattern a mission flies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlightPattern {
    /// Parallel back-and-forth transects.
    Lawnmower,
    /// Lawnmower plus a perpendicular second pass.
    Crosshatch,
    /// Inset loops following the boundary.
    Perimeter,
    /// Contour-parallel inward spiral.
    Spiral,
}

impl FlightPattern {
    /// Every pattern.
    pub const ALL: [FlightPattern; 4] = [
        Self::Lawnmower,
        Self::Crosshatch,
        Self::Perimeter,
        Self::Spiral,
    ];

    /// Lower-case name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Lawnmower => "lawnmower",
            Self::Crosshatch => "crosshatch",
            Self::Perimeter => "perimeter",
            Self::Spiral => "spiral",
        }
    }
}

impl std::fmt::Display for FlightPattern {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for FlightPattern {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!(
                    "unknown pattern {s:?} (expected lawnmower, crosshatch, perimeter or spiral)"
                )
            })
    }
}

/// What the drone does at a waypoint.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum WaypointAction {
    /// Fly through.
    FlyThrough,
    /// Take off to the waypoint's altitude.
    Takeoff,
    /// Start triggering the camera every `distance_m`.
    CameraTriggerStart {
        /// Trigger distance, metres.
        distance_m: f64,
    },
    /// Stop triggering the camera.
    CameraTriggerStop,
    /// Return to launch.
    ReturnToLaunch,
    /// Land here.
    Land,
}

/// One mission waypoint, altitude relative to takeoff.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Waypoint {
    /// Position.
    pub pos: LatLon,
    /// Altitude above takeoff, metres.
    pub alt_rel_m: f64,
    /// What to do here.
    pub action: WaypointAction,
}

/// Survey parameters as stored with a mission (design: `missions.parameters` JSONB).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MissionParams {
    /// Altitude above takeoff, metres.
    pub altitude_m: f64,
    /// Cruise speed, m/s.
    pub speed_mps: f64,
    /// Side overlap, percent.
    pub side_overlap_pct: f64,
    /// Front overlap, percent.
    pub front_overlap_pct: f64,
    /// Gimbal pitch, degrees (-90 = nadir).
    pub gimbal_angle_deg: f64,
    /// Built-in camera name (as `aviary plan --camera` takes it); `None`: the planner's
    /// default camera. Absent in missions stored before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub camera: Option<String>,
    /// Sweep angle of the transects, degrees clockwise from north; `None`: chosen
    /// automatically for the shortest path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sweep_angle_deg: Option<f64>,
    /// Set when the mission follows the terrain ([`MissionParams::altitude_m`] is then the
    /// height above the ground): what was planned, for the report's planned-against-flown
    /// height above the ground. `None`: flown at one altitude above home.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terrain: Option<PlannedTerrain>,
}

/// A terrain-following mission's plan: the height above the ground asked for and the ground
/// under each of its waypoints, so the height above the ground actually flown can be told
/// from telemetry (altitude above home) without the DEM.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedTerrain {
    /// Height above the ground planned, metres.
    pub agl_m: f64,
    /// Largest planned departure below it between waypoints, metres.
    pub tolerance_m: f64,
    /// Smallest height above the ground along the planned path, metres.
    pub min_clearance_m: f64,
    /// Ground height at home above mean sea level, metres.
    pub home_amsl_m: f64,
    /// Ground height above mean sea level under each waypoint of the mission, in order,
    /// metres (`None` for items without a position of their own: camera commands).
    pub ground_amsl_m: Vec<Option<f64>>,
    /// The terrain data planned over (`SRTM 1" N47E008.hgt`, `Terrarium z12 (6 tiles)`).
    pub source: String,
    /// The mission flies one altitude above mean sea level (it does not follow the
    /// terrain; `agl_m` is its height over the ground at the area's centre): always uploaded
    /// above sea level, never in the terrain frame.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sea_level: bool,
}

impl Default for MissionParams {
    fn default() -> Self {
        Self {
            altitude_m: 50.0,
            speed_mps: 5.0,
            side_overlap_pct: 70.0,
            front_overlap_pct: 80.0,
            gimbal_angle_deg: -90.0,
            camera: None,
            sweep_angle_deg: None,
            terrain: None,
        }
    }
}

/// A survey polygon: outer ring plus holes, WGS84, rings not closed (first != last).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
pub struct SurveyArea {
    /// Outer boundary.
    pub exterior: Vec<LatLon>,
    /// Holes (areas not to fly over).
    pub holes: Vec<Vec<LatLon>>,
}

/// A mission (design: `missions` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mission {
    /// Primary key.
    pub id: MissionId,
    /// Owning organisation.
    pub org_id: OrgId,
    /// Site it is flown from.
    pub site_id: SiteId,
    /// Assigned drone, if any.
    pub drone_id: Option<DroneId>,
    /// Display name.
    pub name: String,
    /// Lifecycle status.
    pub status: MissionStatus,
    /// Area to survey.
    pub survey_area: SurveyArea,
    /// Pattern.
    pub flight_pattern: FlightPattern,
    /// Parameters.
    pub parameters: MissionParams,
    /// When the operator plans to fly.
    pub scheduled_start: Option<DateTime<Utc>>,
    /// When the drone started.
    pub actual_start: Option<DateTime<Utc>>,
    /// When the mission ended.
    pub actual_end: Option<DateTime<Utc>>,
    /// When the current pause began (drives the 5-minute failure).
    pub paused_at: Option<DateTime<Utc>>,
    /// Planner's estimate, seconds.
    pub estimated_duration_s: f64,
    /// Planner's estimate, metres.
    pub estimated_distance_m: f64,
    /// Planned waypoints.
    pub waypoints: Vec<Waypoint>,
    /// Who created it.
    pub created_by: Option<UserId>,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

impl Mission {
    /// The lifecycle state machine for this mission's stored fields.
    pub fn lifecycle(&self) -> crate::mission::MissionLifecycle {
        crate::mission::MissionLifecycle::restore(
            self.status,
            self.actual_start,
            self.actual_end,
            self.paused_at,
        )
    }

    /// Copies a lifecycle's fields back into the record.
    pub fn apply_lifecycle(&mut self, l: &crate::mission::MissionLifecycle) {
        self.status = l.status();
        self.actual_start = l.actual_start();
        self.actual_end = l.actual_end();
        self.paused_at = l.paused_at();
    }
}

/// One telemetry sample (design: `drone_telemetry`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TelemetrySample {
    /// Sample time, UTC.
    pub time: DateTime<Utc>,
    /// Mission being flown, if any.
    pub mission_id: Option<MissionId>,
    /// Reporting drone.
    pub drone_id: DroneId,
    /// Position.
    pub pos: LatLon,
    /// Altitude above takeoff, metres.
    pub alt_rel_m: f64,
    /// Ground speed, m/s.
    pub speed_mps: f64,
    /// Heading, degrees 0..360.
    pub heading_deg: f64,
    /// Battery remaining, percent.
    pub battery_pct: f64,
    /// Link quality, percent 0..=100.
    pub signal_pct: f64,
    /// Free-form vehicle status (flight mode, e.g. `AUTO`).
    pub status: DroneStatus,
}

/// Who did something, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// When.
    pub time: DateTime<Utc>,
    /// Who (None: the system itself).
    pub user_id: Option<UserId>,
    /// Verb, e.g. `mission.start`.
    pub action: String,
    /// What it was done to, e.g. a mission id.
    pub target: String,
    /// Extra detail as JSON text.
    pub detail: String,
}

/// A person using Aviary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Primary key.
    pub id: UserId,
    /// Organisation.
    pub org_id: OrgId,
    /// Login, unique.
    pub email: String,
    /// Permissions.
    pub role: crate::auth::Role,
    /// Creation time.
    pub created_at: DateTime<Utc>,
}

/// Count of drones per status at a site (design: `site:{id}:fleet_status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FleetStatusCounts {
    /// Ready.
    pub available: u32,
    /// Flying.
    pub in_mission: u32,
    /// On charge.
    pub charging: u32,
    /// Out of service.
    pub maintenance: u32,
    /// Not heard from.
    pub offline: u32,
}

impl FleetStatusCounts {
    /// Adds one drone of status `s`.
    pub fn add(&mut self, s: DroneStatus) {
        match s {
            DroneStatus::Available => self.available += 1,
            DroneStatus::InMission => self.in_mission += 1,
            DroneStatus::Charging => self.charging += 1,
            DroneStatus::Maintenance => self.maintenance += 1,
            DroneStatus::Offline => self.offline += 1,
        }
    }

    /// Total drones counted.
    pub const fn total(&self) -> u32 {
        self.available + self.in_mission + self.charging + self.maintenance + self.offline
    }
}
