//! What the link shows the app: its configuration, the vehicles it hears, their state and
//! the events it sends.

use crate::mav::address::LinkAddress;
use crate::mav::command::{Autopilot, CommandOutcome};
use crate::mav::mission::{MissionError, MissionItem, MissionTiming};
use crate::mav::sequence::{ActionFailure, ActionKind};
use crate::mav::terrain::{TerrainReport, TerrainSource};
use crate::mav::tlog::TlogError;
use aviary_core::vehicle::{FlightMode, LandedState, ModeClass, VehicleFact};
use aviary_core::{Clock, LatLon, SystemClock};
use mavlink::dialects::ardupilotmega as mav;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

/// A MAVLink 2 signing key. Its `Debug` never shows the secret.
#[derive(Clone)]
pub struct SigningKey {
    /// The 32-byte shared secret.
    pub secret: [u8; 32],
    /// Our link id in signatures.
    pub link_id: u8,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("secret", &"<redacted>")
            .field("link_id", &self.link_id)
            .finish()
    }
}

/// Capacity of a link's event channel to the app ([`LinkConfig::new`]): the desktop drains it
/// once a frame, and its live views repaint every 100 ms; 5,000 drones at 10 Hz queue 5,000
/// positions and 500 heartbeats in that time. A full channel makes the link merge a vehicle's
/// updates (`coalesced_states`), so each merged position never reaches the app or its store;
/// 16,384 holds three frames of such a fleet (`aviary bench live`).
pub const EVENT_CAPACITY: usize = 16_384;

/// Configuration of one `MAVLink` link.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// Where to connect.
    pub address: LinkAddress,
    /// Our system id (ground stations use 255).
    pub gcs_system_id: u8,
    /// Our component id (`MAV_COMP_ID_MISSIONPLANNER` = 190).
    pub gcs_component_id: u8,
    /// Capacity of the event channel to the app.
    pub event_capacity: usize,
    /// Capacity of the request channel from the app.
    pub request_capacity: usize,
    /// Write every frame sent and received to this `.tlog`.
    pub tlog: Option<PathBuf>,
    /// Sign outgoing frames and reject unsigned or replayed incoming ones.
    pub signing: Option<SigningKey>,
    /// Ask each vehicle for telemetry at this rate on discovery (`REQUEST_DATA_STREAM`), as
    /// `ArduPilot` sends only heartbeats until asked. `None`: do not ask.
    pub request_streams_hz: Option<u16>,
    /// Mission protocol timing (the protocol's defaults unless a test shrinks them).
    pub mission_timing: MissionTiming,
    /// How often timers and link-loss are checked.
    pub tick: Duration,
    /// The clock every timer and the link-loss check read (the system clock; tests move a
    /// [`aviary_core::ManualClock`] instead of waiting). The `tick` only paces the checks.
    pub clock: Arc<dyn Clock>,
    /// Answer the vehicles' `TERRAIN_REQUEST`s from this DEM (`None`: leave them unanswered).
    pub terrain: Option<TerrainSource>,
    /// Ask a vehicle that does terrain (it sent a `TERRAIN_REQUEST` or `TERRAIN_REPORT`) for
    /// a `TERRAIN_REPORT` at its position this often (`TERRAIN_CHECK`).
    pub terrain_check_every: Duration,
}

impl LinkConfig {
    /// Defaults for `address`: system 255, component 190, 4 Hz streams, no log, no signing.
    pub fn new(address: LinkAddress) -> Self {
        Self {
            address,
            gcs_system_id: 255,
            gcs_component_id: 190,
            event_capacity: EVENT_CAPACITY,
            request_capacity: 256,
            tlog: None,
            signing: None,
            request_streams_hz: Some(4),
            mission_timing: MissionTiming::default(),
            tick: Duration::from_millis(50),
            clock: Arc::new(SystemClock),
            terrain: None,
            terrain_check_every: Duration::from_secs(2),
        }
    }
}

/// Errors starting or using a link.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    /// Socket could not be opened.
    #[error("cannot open {address}: {source}")]
    Open {
        /// The address.
        address: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The runtime thread could not be started.
    #[error("cannot start the link runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// The telemetry log could not be created.
    #[error(transparent)]
    Tlog(#[from] TlogError),
    /// The request queue is full (the link is overloaded); try again.
    #[error("link request queue is full")]
    Busy,
    /// The link has shut down.
    #[error("link is closed")]
    Closed,
    /// The vehicle's heartbeats stopped; requests fail at once until it is back.
    #[error("vehicle {0} is lost (no heartbeat); nothing was sent")]
    VehicleLost(VehicleId),
    /// No heartbeat from this vehicle ever arrived on this link.
    #[error("vehicle {0} has never been heard on this link")]
    NeverHeard(VehicleId),
}

/// A vehicle on a link: the address it talks from and its system id (system ids may repeat
/// across addresses, e.g. simulated fleets larger than 254).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VehicleId {
    /// Source address of the vehicle's packets: the UDP sender, the TCP server, or
    /// [`SERIAL_PEER`] on a serial link (one port, one peer).
    pub peer: SocketAddr,
    /// `MAVLink` system id.
    pub system_id: u8,
}

impl std::fmt::Display for VehicleId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}@{}", self.system_id, self.peer)
    }
}

/// What we know about the vehicle's stored mission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanState {
    /// Unknown (never transferred, or a transfer failed).
    Unknown,
    /// A transfer is running.
    Transferring,
    /// Matches what we last uploaded or downloaded.
    Synced {
        /// Item count, home included.
        items: u16,
    },
}

/// What kind of vehicle it is, from the heartbeat's `MAV_TYPE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum VehicleType {
    /// Quadrotor.
    Quadrotor,
    /// Hexarotor.
    Hexarotor,
    /// Octorotor.
    Octorotor,
    /// Tricopter.
    Tricopter,
    /// Coaxial or dodecarotor and other multirotors.
    OtherMultirotor,
    /// Helicopter.
    Helicopter,
    /// Fixed wing.
    FixedWing,
    /// VTOL (tailsitter, tiltrotor, quadplane).
    Vtol,
    /// Ground rover.
    Rover,
    /// Surface boat.
    Boat,
    /// Submarine.
    Submarine,
    /// Airship or balloon.
    Airship,
    /// Any other `MAV_TYPE` (the number).
    Other(u32),
}

impl VehicleType {
    /// The type a heartbeat reports.
    pub fn from_mav_type(t: mav::MavType) -> Self {
        use mav::MavType as T;
        match t {
            T::MAV_TYPE_QUADROTOR => Self::Quadrotor,
            T::MAV_TYPE_HEXAROTOR => Self::Hexarotor,
            T::MAV_TYPE_OCTOROTOR => Self::Octorotor,
            T::MAV_TYPE_TRICOPTER => Self::Tricopter,
            T::MAV_TYPE_COAXIAL | T::MAV_TYPE_DODECAROTOR | T::MAV_TYPE_DECAROTOR => {
                Self::OtherMultirotor
            }
            T::MAV_TYPE_HELICOPTER => Self::Helicopter,
            T::MAV_TYPE_FIXED_WING => Self::FixedWing,
            T::MAV_TYPE_VTOL_TAILSITTER_DUOROTOR
            | T::MAV_TYPE_VTOL_TAILSITTER_QUADROTOR
            | T::MAV_TYPE_VTOL_TILTROTOR
            | T::MAV_TYPE_VTOL_FIXEDROTOR
            | T::MAV_TYPE_VTOL_TAILSITTER
            | T::MAV_TYPE_VTOL_TILTWING
            | T::MAV_TYPE_VTOL_RESERVED5 => Self::Vtol,
            T::MAV_TYPE_GROUND_ROVER => Self::Rover,
            T::MAV_TYPE_SURFACE_BOAT => Self::Boat,
            T::MAV_TYPE_SUBMARINE => Self::Submarine,
            T::MAV_TYPE_AIRSHIP | T::MAV_TYPE_FREE_BALLOON => Self::Airship,
            other => Self::Other(other as u32),
        }
    }

    /// Lower-case name (`quadrotor`, `fixed_wing`, …; `mav_type_<n>` for others).
    pub fn name(self) -> String {
        match self {
            Self::Quadrotor => "quadrotor".into(),
            Self::Hexarotor => "hexarotor".into(),
            Self::Octorotor => "octorotor".into(),
            Self::Tricopter => "tricopter".into(),
            Self::OtherMultirotor => "multirotor".into(),
            Self::Helicopter => "helicopter".into(),
            Self::FixedWing => "fixed_wing".into(),
            Self::Vtol => "vtol".into(),
            Self::Rover => "rover".into(),
            Self::Boat => "boat".into(),
            Self::Submarine => "submarine".into(),
            Self::Airship => "airship".into(),
            Self::Other(n) => format!("mav_type_{n}"),
        }
    }
}

/// Live state of one vehicle.
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleState {
    /// Which vehicle.
    pub id: VehicleId,
    /// Component id of its autopilot.
    pub component_id: u8,
    /// Flight stack.
    pub autopilot: Autopilot,
    /// Mode name (`AUTO`, `GUIDED`, …).
    pub mode: String,
    /// Raw `custom_mode`.
    pub custom_mode: u32,
    /// Motors armed.
    pub armed: bool,
    /// Position, if reported.
    pub pos: Option<LatLon>,
    /// Altitude above home, metres.
    pub alt_rel_m: f64,
    /// Altitude above mean sea level, metres.
    pub alt_amsl_m: f64,
    /// Ground speed, m/s.
    pub ground_speed_mps: f64,
    /// Climb rate, m/s.
    pub climb_mps: f64,
    /// Heading, degrees.
    pub heading_deg: f64,
    /// Battery remaining, percent, if reported.
    pub battery_pct: Option<f64>,
    /// Battery voltage, volts, if reported.
    pub battery_v: Option<f64>,
    /// Battery current, amperes, if reported (`SYS_STATUS.current_battery`; -1 is unknown).
    pub battery_current_a: Option<f64>,
    /// Attitude, once an `ATTITUDE` has arrived. It rides along with the next state report
    /// (position, battery, …) rather than being one of its own, so the attitude rate does not
    /// multiply the app's events and stored samples.
    pub attitude: Option<Attitude>,
    /// Home as the vehicle reports it (`HOME_POSITION`), if it did.
    pub home: Option<LatLon>,
    /// Home altitude above mean sea level, metres, if reported.
    pub home_alt_amsl_m: Option<f64>,
    /// GPS fix type (`GPS_FIX_TYPE`: 0–1 none, 2 = 2D, 3 = 3D, …).
    pub gps_fix: u8,
    /// Satellites visible.
    pub gps_sats: u8,
    /// Share of frames received, from sequence numbers, percent (moving average).
    pub link_quality_pct: f64,
    /// Heartbeat seen within [`LINK_LOST_AFTER`].
    pub link_up: bool,
    /// When the last heartbeat arrived.
    pub last_heartbeat: std::time::Instant,
    /// `time_boot_ms` of the last position report.
    pub time_boot_ms: u32,
    /// When the last position report arrived.
    pub position_received: Option<std::time::Instant>,
    /// Current mission item.
    pub mission_seq: u16,
    /// Stored mission as far as we know.
    pub plan: PlanState,
    /// What the current mode does.
    pub mode_class: ModeClass,
    /// On the ground or flying: `EXTENDED_SYS_STATE` where the vehicle sends it, else inferred
    /// (disarmed: on the ground; armed below [`ON_GROUND_ALT_M`] and slower than
    /// [`ON_GROUND_SPEED_MPS`]: on the ground; otherwise in the air).
    pub landed: LandedState,
    /// Whether `landed` comes from the vehicle's `EXTENDED_SYS_STATE` (else it is inferred).
    pub landed_reported: bool,
    /// Items in the vehicle's mission (home included), when known from a transfer.
    pub mission_total: Option<u16>,
    /// Kind of vehicle (`MAV_TYPE`).
    pub vehicle_type: VehicleType,
    /// `AUTOPILOT_VERSION.uid` (the autopilot's unique id), when it reported a non-zero one.
    /// (`uid2`, a `MAVLink` 2 extension, is not decoded by the `mavlink` crate's dialect.)
    pub uid: Option<u64>,
    /// The autopilot's own wind estimate (ArduPilot `WIND`, or `WIND_COV`), when it sends one.
    pub wind: Option<WindEstimate>,
    /// The autopilot's last `TERRAIN_REPORT` (terrain height, sub-grids pending and loaded),
    /// when it does terrain.
    pub terrain: Option<TerrainReport>,
}

/// Orientation of the vehicle (`ATTITUDE`), degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Attitude {
    /// Roll, right wing down positive, degrees.
    pub roll_deg: f64,
    /// Pitch, nose up positive, degrees.
    pub pitch_deg: f64,
    /// Yaw, clockwise from north, 0–360 degrees.
    pub yaw_deg: f64,
}

/// Wind as the vehicle estimates it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindEstimate {
    /// Horizontal wind speed, m/s.
    pub speed_mps: f64,
    /// Direction the wind comes from, degrees true.
    pub from_deg: f64,
}

impl WindEstimate {
    /// From a wind velocity blowing towards north and east, m/s (`WIND_COV`'s NED x and y);
    /// `None` when either is unknown (NaN).
    pub fn from_ne(wind_n_mps: f64, wind_e_mps: f64) -> Option<Self> {
        (wind_n_mps.is_finite() && wind_e_mps.is_finite()).then(|| Self {
            speed_mps: wind_n_mps.hypot(wind_e_mps),
            from_deg: (-wind_e_mps)
                .atan2(-wind_n_mps)
                .to_degrees()
                .rem_euclid(360.0),
        })
    }
}

impl VehicleState {
    /// The current mode as the shared vocabulary.
    pub fn flight_mode(&self) -> FlightMode {
        FlightMode {
            name: self.mode.clone(),
            class: self.mode_class,
        }
    }
}

/// Which mission transfer an event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissionOp {
    /// Upload.
    Upload,
    /// Download.
    Download,
    /// Clear (upload of an empty mission).
    Clear,
}

/// Events from the link to the app.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkEvent {
    /// A new vehicle sent its first heartbeat.
    VehicleDiscovered {
        /// Which vehicle.
        id: VehicleId,
        /// Its flight stack.
        autopilot: Autopilot,
    },
    /// New telemetry for a vehicle (may be coalesced when the app falls behind).
    State(Box<VehicleState>),
    /// Progress or result of a command.
    Command {
        /// Which vehicle.
        id: VehicleId,
        /// The command.
        command: mav::MavCmd,
        /// Pending, confirmed or failed with a reason.
        outcome: CommandOutcome,
    },
    /// Mission transfer progress.
    MissionProgress {
        /// Which vehicle.
        id: VehicleId,
        /// Which transfer.
        op: MissionOp,
        /// Items done.
        done: u16,
        /// Items total.
        total: u16,
    },
    /// Mission transfer result. Uploads and clears carry no items.
    MissionDone {
        /// Which vehicle.
        id: VehicleId,
        /// Which transfer.
        op: MissionOp,
        /// Items downloaded (empty for upload/clear) or why it failed.
        result: Result<Vec<MissionItem>, MissionError>,
    },
    /// The vehicle reached a mission item.
    ItemReached {
        /// Which vehicle.
        id: VehicleId,
        /// Item sequence number.
        seq: u16,
    },
    /// No heartbeat for [`LINK_LOST_AFTER`].
    LinkLost {
        /// Which vehicle.
        id: VehicleId,
    },
    /// Heartbeats again.
    LinkRecovered {
        /// Which vehicle.
        id: VehicleId,
    },
    /// `STATUSTEXT` from the vehicle.
    StatusText {
        /// Which vehicle.
        id: VehicleId,
        /// `MAV_SEVERITY` (0 = emergency … 7 = debug).
        severity: u8,
        /// The text.
        text: String,
    },
    /// The transport failed (the link keeps trying where it can).
    TransportError(String),
    /// The result of a [`LinkHandle::mission_action`]: exactly one per accepted request.
    ActionResult {
        /// Which vehicle.
        id: VehicleId,
        /// Which action.
        request: ActionKind,
        /// Done, or which step failed, why and what the vehicle said.
        result: Result<(), ActionFailure>,
    },
    /// What the vehicle is: its type from the first heartbeat and its autopilot's unique id
    /// (`AUTOPILOT_VERSION`), once known or once [`IDENTIFY_WAIT`] passed without one. A
    /// vehicle that comes back on another address (a restarted UDP vehicle) reports the same
    /// `uid`; the app keys drones on it.
    VehicleIdentified {
        /// Which vehicle (address and system id).
        id: VehicleId,
        /// `AUTOPILOT_VERSION.uid`, if non-zero.
        uid: Option<u64>,
        /// Its kind.
        vehicle_type: VehicleType,
    },
    /// A change the vehicle reported about itself, in the supervisor's vocabulary: mode or
    /// armed (heartbeat), landed state, current mission item. Sent on change only; the link
    /// also sends `LinkUp`/`LinkLost` facts beside [`LinkEvent::LinkRecovered`] and
    /// [`LinkEvent::LinkLost`].
    Fact {
        /// Which vehicle.
        id: VehicleId,
        /// The fact.
        fact: VehicleFact,
    },
}

/// Counters of a link, readable at any time.
#[derive(Debug, Default)]
pub struct LinkStats {
    /// Frames received and accepted.
    pub frames_rx: AtomicU64,
    /// Frames sent.
    pub frames_tx: AtomicU64,
    /// `GLOBAL_POSITION_INT` received.
    pub positions_rx: AtomicU64,
    /// Bytes that were not part of a valid frame.
    pub malformed_bytes: AtomicU64,
    /// Valid frames that did not parse.
    pub unparsed_frames: AtomicU64,
    /// Frames rejected by signing.
    pub rejected_signature: AtomicU64,
    /// State updates merged because the app fell behind.
    pub coalesced_states: AtomicU64,
    /// Frames we could not send (socket buffer full).
    pub send_dropped: AtomicU64,
    /// `TERRAIN_REQUEST`s received.
    pub terrain_requests_rx: AtomicU64,
    /// `TERRAIN_DATA` sent in answer.
    pub terrain_data_tx: AtomicU64,
    /// Requested 4 × 4 sub-grids not sent because the DEM lacks a point of them.
    pub terrain_subgrids_missing: AtomicU64,
}
