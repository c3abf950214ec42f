//! The thin async driver around the handshakes: owns the tokio runtime on the named thread
//! `aviary-mavlink`, the socket, timers, per-vehicle state and the GCS heartbeat. The app
//! talks to it only through [`LinkHandle`] (bounded request channel) and [`LinkEvents`]
//! (bounded event channel), and is woken by the injected closure.

use super::address::LinkAddress;
use super::codec::{self, Decoded, RxCounters};
use super::command::{
    self, Autopilot, CommandEvent, CommandFailure, CommandOutcome, CommandSpec, CommandStep,
    CommandTransaction,
};
use super::mission::{
    Download, MissionAction, MissionError, MissionEvent, MissionItem, MissionTiming, Upload,
};
use super::sequence::{
    ActionFailure, ActionKind, ActionSequence, FailureCause, MissionRequest, SeqEvent, SeqStep,
    VehicleView,
};
use super::terrain::{self, TerrainReport, TerrainSource};
use super::tlog::{TlogError, TlogWriter};
use aviary_core::vehicle::{FlightMode, LandedState, ModeClass, VehicleFact};
use aviary_core::wire::CommandAction;
use aviary_core::{Clock, LatLon, SystemClock};
use mav::MavMessage;
use mavlink::dialects::ardupilotmega as mav;
use mavlink::{AsyncMavlinkReader, MavHeader, SigningConfig, SigningData};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Wake-up closure the link calls after it queued events (the app passes
/// `ctx.request_repaint()`; tests pass a no-op).
pub type WakeFn = Arc<dyn Fn() + Send + Sync>;

/// The [`VehicleId::peer`] of vehicles on a serial link, which has no socket address.
pub const SERIAL_PEER: SocketAddr =
    SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED), 0);

/// Link lost after this long without a heartbeat.
pub const LINK_LOST_AFTER: Duration = Duration::from_millis(3500);

/// A `tcpout` link whose connection ended tries to connect again this often.
pub const RECONNECT_EVERY: Duration = Duration::from_secs(1);

/// How long after discovery the link waits for `AUTOPILOT_VERSION` (asked for twice) before it
/// reports the vehicle identified without a unique id.
pub const IDENTIFY_WAIT: Duration = Duration::from_secs(3);

/// Below this altitude above home (and [`ON_GROUND_SPEED_MPS`]) an armed vehicle that does not
/// report `EXTENDED_SYS_STATE` is taken to be on the ground.
pub const ON_GROUND_ALT_M: f64 = 0.5;
/// See [`ON_GROUND_ALT_M`].
pub const ON_GROUND_SPEED_MPS: f64 = 0.5;

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

enum Request {
    Upload {
        id: VehicleId,
        items: Vec<MissionItem>,
        op: MissionOp,
    },
    Download {
        id: VehicleId,
    },
    Commands {
        id: VehicleId,
        specs: Vec<CommandSpec>,
    },
    Action {
        id: VehicleId,
        action: CommandAction,
        abort_lands: bool,
    },
    Streams {
        id: VehicleId,
        hz: u16,
    },
    MissionAction {
        id: VehicleId,
        request: MissionRequest,
    },
    TerrainCheck {
        id: VehicleId,
        at: LatLon,
    },
    SetTerrain(Option<TerrainSource>),
}

/// How to stop the runtime thread: a stop signal and the thread to join.
type Shutdown = (
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
);

/// The app's side of a link: send requests. Cheap to clone.
#[derive(Clone)]
pub struct LinkHandle {
    tx: mpsc::Sender<Request>,
    stats: Arc<LinkStats>,
    vehicles: Arc<Mutex<HashMap<VehicleId, VehicleState>>>,
    shutdown: Arc<Mutex<Option<Shutdown>>>,
    local_addr: Option<SocketAddr>,
}

impl std::fmt::Debug for LinkHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkHandle")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

/// The app's receiving side: events, bounded.
#[derive(Debug)]
pub struct LinkEvents {
    rx: mpsc::Receiver<LinkEvent>,
}

impl LinkEvents {
    /// Next event if one is queued (never blocks; for the UI's `logic`).
    pub fn try_recv(&mut self) -> Option<LinkEvent> {
        self.rx.try_recv().ok()
    }

    /// Waits for the next event (async contexts).
    pub async fn recv(&mut self) -> Option<LinkEvent> {
        self.rx.recv().await
    }

    /// Waits up to `timeout` for the next event (plain threads, tests, CLI).
    pub fn recv_timeout(&mut self, timeout: Duration) -> Option<LinkEvent> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            match self.rx.try_recv() {
                Ok(e) => return Some(e),
                Err(mpsc::error::TryRecvError::Disconnected) => return None,
                Err(mpsc::error::TryRecvError::Empty) => {
                    if std::time::Instant::now() >= deadline {
                        return None;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }
}

impl LinkHandle {
    fn send(&self, r: Request) -> Result<(), LinkError> {
        self.tx.try_send(r).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => LinkError::Busy,
            mpsc::error::TrySendError::Closed(_) => LinkError::Closed,
        })
    }

    /// Our local socket address (UDP links), e.g. the port a `udpin:…:0` link bound.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// Counters.
    pub fn stats(&self) -> &LinkStats {
        &self.stats
    }

    /// Latest state of every known vehicle.
    pub fn vehicles(&self) -> Vec<VehicleState> {
        let mut v: Vec<_> = self
            .vehicles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        v.sort_by_key(|s| s.id);
        v
    }

    /// Latest state of one vehicle.
    pub fn vehicle(&self, id: VehicleId) -> Option<VehicleState> {
        self.vehicles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
    }

    /// Uploads `items` (home first). Result: [`LinkEvent::MissionDone`] with [`MissionOp::Upload`].
    /// Superseded for flying by [`LinkHandle::mission_action`] with
    /// [`MissionRequest::Start`], which uploads, verifies and starts in one request.
    pub fn upload_mission(&self, id: VehicleId, items: Vec<MissionItem>) -> Result<(), LinkError> {
        self.send(Request::Upload {
            id,
            items,
            op: MissionOp::Upload,
        })
    }

    /// Downloads the vehicle's mission. Result: [`LinkEvent::MissionDone`] with the items.
    pub fn download_mission(&self, id: VehicleId) -> Result<(), LinkError> {
        self.send(Request::Download { id })
    }

    /// Clears the vehicle's mission.
    pub fn clear_mission(&self, id: VehicleId) -> Result<(), LinkError> {
        self.send(Request::Upload {
            id,
            items: Vec::new(),
            op: MissionOp::Clear,
        })
    }

    /// Sends commands in order, each after the previous one is confirmed. Outcomes arrive as
    /// [`LinkEvent::Command`].
    pub fn commands(&self, id: VehicleId, specs: Vec<CommandSpec>) -> Result<(), LinkError> {
        self.send(Request::Commands { id, specs })
    }

    /// Arms the motors.
    pub fn arm(&self, id: VehicleId) -> Result<(), LinkError> {
        self.commands(id, vec![command::arm()])
    }

    /// Disarms the motors.
    pub fn disarm(&self, id: VehicleId) -> Result<(), LinkError> {
        self.commands(id, vec![command::disarm()])
    }

    /// Takes off to `alt_m` above home (vehicle in GUIDED and armed).
    pub fn takeoff(&self, id: VehicleId, alt_m: f32) -> Result<(), LinkError> {
        self.commands(id, vec![command::takeoff(alt_m)])
    }

    /// Changes flight mode to `custom_mode` (confirmed by heartbeat).
    pub fn set_mode(&self, id: VehicleId, custom_mode: u32) -> Result<(), LinkError> {
        let autopilot = self
            .vehicle(id)
            .map_or(Autopilot::ArduPilot, |v| v.autopilot);
        self.commands(id, vec![CommandSpec::set_mode(autopilot, custom_mode)])
    }

    /// A mission action (start, pause, resume, RTL, land, abort) mapped for the vehicle's
    /// flight stack. `abort_lands`: abort lands in place instead of returning home.
    /// Superseded by [`LinkHandle::mission_action`], which also makes the vehicle armable,
    /// confirms every step and undoes a failed start.
    pub fn action(
        &self,
        id: VehicleId,
        action: CommandAction,
        abort_lands: bool,
    ) -> Result<(), LinkError> {
        self.send(Request::Action {
            id,
            action,
            abort_lands,
        })
    }

    /// Runs a mission action as a whole on the vehicle (upload, mode changes, arming, start,
    /// each confirmed by ack and heartbeat; see [`super::sequence`]). `Ok`: exactly one
    /// [`LinkEvent::ActionResult`] follows. `Err`: nothing was sent — the vehicle is lost or
    /// was never heard ([`LinkError::VehicleLost`], [`LinkError::NeverHeard`]), or the link is
    /// busy or closed.
    ///
    /// This supersedes [`LinkHandle::action`], [`LinkHandle::commands`] and
    /// [`LinkHandle::upload_mission`] for mission control: the caller names no `MAV_CMD`.
    pub fn mission_action(&self, id: VehicleId, request: MissionRequest) -> Result<(), LinkError> {
        match self.vehicle(id) {
            None => return Err(LinkError::NeverHeard(id)),
            Some(v) if !v.link_up => return Err(LinkError::VehicleLost(id)),
            Some(_) => {}
        }
        self.send(Request::MissionAction { id, request })
    }

    /// Asks the vehicle for its terrain height at `at` (`TERRAIN_CHECK`); the answer arrives
    /// as [`VehicleState::terrain`]. A vehicle that lacks data there starts loading it.
    pub fn terrain_check(&self, id: VehicleId, at: LatLon) -> Result<(), LinkError> {
        self.send(Request::TerrainCheck { id, at })
    }

    /// Answers the vehicles' `TERRAIN_REQUEST`s from `source` from now on (`None`: leave them
    /// unanswered), as [`LinkConfig::terrain`] does from the start: the operator changed the
    /// DEM of a running ground station. Blocks already sent stay with the vehicles.
    pub fn set_terrain(&self, source: Option<TerrainSource>) -> Result<(), LinkError> {
        self.send(Request::SetTerrain(source))
    }

    /// Asks the vehicle to stream all telemetry at `hz`.
    pub fn request_streams(&self, id: VehicleId, hz: u16) -> Result<(), LinkError> {
        self.send(Request::Streams { id, hz })
    }

    /// Stops the link and joins its thread. Other clones become [`LinkError::Closed`].
    pub fn shutdown(&self) {
        let taken = self
            .shutdown
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some((stop, thread)) = taken {
            let _ = stop.send(());
            let _ = thread.join();
        }
    }
}

// --- transport -----------------------------------------------------------------------------

enum Inbound {
    Datagram {
        from: SocketAddr,
        bytes: Vec<u8>,
    },
    Raw {
        from: SocketAddr,
        raw: Box<mavlink::MAVLinkMessageRaw>,
    },
    /// The transport ended; `generation` tells a stale stream's end from the current one's.
    Closed {
        generation: u64,
        why: String,
    },
    /// A `tcpout` link connected again.
    Reconnected {
        generation: u64,
        write: mpsc::Sender<Vec<u8>>,
    },
    /// A reconnection attempt failed.
    ConnectFailed,
}

enum Transport {
    Udp {
        sock: Arc<tokio::net::UdpSocket>,
        fixed_peer: Option<SocketAddr>,
    },
    /// A byte stream (TCP, serial) to one peer; a writer task drains `write`.
    Stream {
        write: mpsc::Sender<Vec<u8>>,
        peer: SocketAddr,
        /// Which connection `write` belongs to (counts reconnections).
        generation: u64,
        /// Where to connect again when the stream ends (`tcpout`); `None` for serial.
        reconnect: Option<SocketAddr>,
        /// The stream ended and has not been replaced yet.
        down: bool,
    },
}

impl Transport {
    /// Sends without waiting; a full socket buffer drops the frame (UDP semantics).
    fn send(&self, to: SocketAddr, bytes: &[u8]) -> bool {
        match self {
            Self::Udp { sock, fixed_peer } => {
                sock.try_send_to(bytes, fixed_peer.unwrap_or(to)).is_ok()
            }
            Self::Stream { write, .. } => write.try_send(bytes.to_vec()).is_ok(),
        }
    }
}

/// Receive buffer asked for on UDP links: a fleet's burst of telemetry must not overflow
/// the kernel's default (about 200 KB) while the runtime thread is briefly descheduled.
/// The kernel caps it at `net.core.rmem_max`.
const UDP_RECV_BUFFER_BYTES: usize = 4 << 20;

fn udp_socket(bind: SocketAddr) -> std::io::Result<tokio::net::UdpSocket> {
    let domain = if bind.is_ipv4() {
        socket2::Domain::IPV4
    } else {
        socket2::Domain::IPV6
    };
    let sock = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
    // Best effort: a smaller buffer still works, it just drops sooner under load.
    let _ = sock.set_recv_buffer_size(UDP_RECV_BUFFER_BYTES);
    sock.set_nonblocking(true)?;
    sock.bind(&bind.into())?;
    tokio::net::UdpSocket::from_std(sock.into())
}

async fn open(
    address: &LinkAddress,
    inbound: mpsc::Sender<Inbound>,
) -> Result<(Transport, Option<SocketAddr>), LinkError> {
    let open_err = |source| LinkError::Open {
        address: address.to_string(),
        source,
    };
    match address {
        LinkAddress::UdpIn(a) | LinkAddress::UdpOut(a) => {
            let fixed_peer = matches!(address, LinkAddress::UdpOut(_)).then_some(*a);
            let bind: SocketAddr = if fixed_peer.is_some() {
                if a.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }
                    .parse()
                    .map_err(|_| open_err(std::io::ErrorKind::InvalidInput.into()))?
            } else {
                *a
            };
            let sock = Arc::new(udp_socket(bind).map_err(open_err)?);
            let local = sock.local_addr().ok();
            let rx_sock = Arc::clone(&sock);
            tokio::spawn(async move {
                let mut buf = vec![0u8; 65_536];
                loop {
                    match rx_sock.recv_from(&mut buf).await {
                        Ok((n, from)) => {
                            if inbound
                                .send(Inbound::Datagram {
                                    from,
                                    bytes: buf[..n].to_vec(),
                                })
                                .await
                                .is_err()
                            {
                                break;
                            }
                        }
                        // ICMP "port unreachable" of an earlier send shows up here on Linux: not fatal.
                        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
                        Err(e) => {
                            let _ = inbound
                                .send(Inbound::Closed {
                                    generation: 0,
                                    why: e.to_string(),
                                })
                                .await;
                            break;
                        }
                    }
                }
            });
            Ok((Transport::Udp { sock, fixed_peer }, local))
        }
        LinkAddress::TcpOut(a) => {
            let stream = tokio::net::TcpStream::connect(a).await.map_err(open_err)?;
            let _ = stream.set_nodelay(true);
            let local = stream.local_addr().ok();
            let (read, write) = stream.into_split();
            let write = spawn_stream(read, write, *a, inbound, 0);
            Ok((
                Transport::Stream {
                    write,
                    peer: *a,
                    generation: 0,
                    reconnect: Some(*a),
                    down: false,
                },
                local,
            ))
        }
        LinkAddress::Serial { path, baud } => {
            use tokio_serial::SerialPortBuilderExt;
            // 8N1 without flow control, as telemetry radios and autopilot UARTs default to.
            let port = tokio_serial::new(path, *baud)
                .data_bits(tokio_serial::DataBits::Eight)
                .parity(tokio_serial::Parity::None)
                .stop_bits(tokio_serial::StopBits::One)
                .flow_control(tokio_serial::FlowControl::None)
                .open_native_async()
                .map_err(|e| open_err(e.into()))?;
            let (read, write) = tokio::io::split(port);
            let write = spawn_stream(read, write, SERIAL_PEER, inbound, 0);
            Ok((
                Transport::Stream {
                    write,
                    peer: SERIAL_PEER,
                    generation: 0,
                    reconnect: None,
                    down: false,
                },
                None,
            ))
        }
    }
}

/// Frames queued for a byte stream's writer task: about a second of telemetry at 57,600 baud
/// many times over; a full queue drops the frame as a full UDP buffer would.
const STREAM_WRITE_QUEUE: usize = 1024;

/// Starts the reader and writer tasks of a byte stream (TCP, serial) and returns the writer's
/// queue. The `mavlink` crate finds the frames in the stream (resynchronising after garbage);
/// an I/O error or the end of the stream ends the reader with [`Inbound::Closed`], never a
/// silent retry loop.
fn spawn_stream<R, W>(
    read: R,
    mut write: W,
    peer: SocketAddr,
    inbound: mpsc::Sender<Inbound>,
    generation: u64,
) -> mpsc::Sender<Vec<u8>>
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (wtx, mut wrx) = mpsc::channel::<Vec<u8>>(STREAM_WRITE_QUEUE);
    let write_errors = inbound.clone();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Some(b) = wrx.recv().await {
            if let Err(e) = write.write_all(&b).await {
                let _ = write_errors
                    .send(Inbound::Closed {
                        generation,
                        why: e.to_string(),
                    })
                    .await;
                break;
            }
        }
    });
    tokio::spawn(async move {
        let mut reader = AsyncMavlinkReader::new(read);
        loop {
            match reader.read_any_raw_message::<MavMessage>().await {
                Ok(raw) => {
                    if inbound
                        .send(Inbound::Raw {
                            from: peer,
                            raw: Box::new(raw),
                        })
                        .await
                        .is_err()
                    {
                        break;
                    }
                }
                Err(mavlink::error::MessageReadError::Io(e)) => {
                    let why = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                        format!("connection to {peer} closed by the vehicle")
                    } else {
                        e.to_string()
                    };
                    let _ = inbound.send(Inbound::Closed { generation, why }).await;
                    break;
                }
                Err(mavlink::error::MessageReadError::Parse(_)) => {}
            }
        }
    });
    wtx
}

/// Starts a link: opens the transport on a new runtime thread named `aviary-mavlink` and
/// returns the handle and the event receiver. `wake` is called whenever events were queued.
pub fn spawn(config: LinkConfig, wake: WakeFn) -> Result<(LinkHandle, LinkEvents), LinkError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(LinkError::Runtime)?;
    let tlog = config.tlog.as_deref().map(TlogWriter::create).transpose()?;
    let (req_tx, req_rx) = mpsc::channel(config.request_capacity.max(1));
    let (ev_tx, ev_rx) = mpsc::channel(config.event_capacity.max(16));
    let (in_tx, in_rx) = mpsc::channel(8192);
    let (transport, local_addr) = rt.block_on(open(&config.address, in_tx.clone()))?;
    let stats = Arc::new(LinkStats::default());
    let vehicles = Arc::new(Mutex::new(HashMap::new()));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
    let driver = Driver {
        signing: config.signing.as_ref().map(|k| {
            SigningData::from_config(SigningConfig::new(k.secret, k.link_id, true, false))
        }),
        cfg: config,
        transport,
        ev_tx,
        wake,
        stats: Arc::clone(&stats),
        shared: Arc::clone(&vehicles),
        vehicles: HashMap::new(),
        backlog: VecDeque::new(),
        tlog,
        seq: 0,
        buf: Vec::with_capacity(300),
        decoded: Vec::new(),
        heartbeats_due: Vec::new(),
        heartbeats_per_tick: 1,
        woke: false,
        inbound: in_tx,
        reconnect_due: None,
        connecting: false,
        seq_inbox: VecDeque::new(),
        seq_running: false,
    };
    let thread = std::thread::Builder::new()
        .name("aviary-mavlink".into())
        .spawn(move || rt.block_on(driver.run(req_rx, in_rx, stop_rx)))
        .map_err(LinkError::Runtime)?;
    Ok((
        LinkHandle {
            tx: req_tx,
            stats,
            vehicles,
            shutdown: Arc::new(Mutex::new(Some((stop_tx, thread)))),
            local_addr,
        },
        LinkEvents { rx: ev_rx },
    ))
}

// --- driver --------------------------------------------------------------------------------

enum Transfer {
    Upload { sm: Upload, op: MissionOp },
    Download { sm: Download },
}

/// Who started a command or a transfer: the app (old requests, answered with
/// [`LinkEvent::Command`] / [`LinkEvent::MissionDone`]) or a mission-action sequence (answered
/// to the sequence only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    App,
    Sequence,
}

struct PendingCommand {
    tx: CommandTransaction,
    deadline: Option<Instant>,
    then: VecDeque<CommandSpec>,
    owner: Owner,
}

struct Vehicle {
    state: VehicleState,
    addr: SocketAddr,
    last_hb: Instant,
    last_seq: HashMap<u8, u8>,
    transfer: Option<(Transfer, Option<Instant>)>,
    transfer_owner: Owner,
    commands: Vec<PendingCommand>,
    dirty: bool,
    sequence: Option<ActionSequence>,
    seq_deadline: Option<Instant>,
    /// When we last asked for `AUTOPILOT_VERSION` and how often; `None` once identified.
    identify: Option<(Instant, u8)>,
    /// Last facts sent, to send changes only.
    last_fact: (Option<(String, bool)>, LandedState, Option<u16>),
    /// When to send the next `TERRAIN_CHECK`; `None` until the vehicle shows it does terrain.
    terrain_check_due: Option<Instant>,
}

/// Up to this many GCS heartbeats are sent at once; more are spread over the second.
const HEARTBEATS_AT_ONCE: usize = 64;

/// The heartbeat this ground station sends each vehicle once a second.
fn gcs_heartbeat() -> MavMessage {
    MavMessage::HEARTBEAT(mav::HEARTBEAT_DATA {
        custom_mode: 0,
        mavtype: mav::MavType::MAV_TYPE_GCS,
        autopilot: mav::MavAutopilot::MAV_AUTOPILOT_INVALID,
        base_mode: mav::MavModeFlag::empty(),
        system_status: mav::MavState::MAV_STATE_ACTIVE,
        mavlink_version: 3,
    })
}

struct Driver {
    cfg: LinkConfig,
    transport: Transport,
    ev_tx: mpsc::Sender<LinkEvent>,
    wake: WakeFn,
    stats: Arc<LinkStats>,
    shared: Arc<Mutex<HashMap<VehicleId, VehicleState>>>,
    vehicles: HashMap<VehicleId, Vehicle>,
    backlog: VecDeque<LinkEvent>,
    tlog: Option<TlogWriter>,
    signing: Option<SigningData>,
    seq: u8,
    buf: Vec<u8>,
    /// Vehicles still owed this second's GCS heartbeat (a `udpin` link hearing many
    /// vehicles): sent [`Self::heartbeats_per_tick`] a tick, so a fleet's heartbeats are not
    /// thousands of sends in one go while nothing is received.
    heartbeats_due: Vec<SocketAddr>,
    /// See [`Self::heartbeats_due`].
    heartbeats_per_tick: usize,
    decoded: Vec<Decoded>,
    woke: bool,
    /// For reconnected streams' reader tasks.
    inbound: mpsc::Sender<Inbound>,
    /// When a `tcpout` link tries to connect again.
    reconnect_due: Option<Instant>,
    /// A connection attempt is under way.
    connecting: bool,
    /// Events for the mission-action sequences, handled in order by `run_sequences`.
    seq_inbox: VecDeque<(VehicleId, SeqEvent)>,
    seq_running: bool,
}

const BACKLOG_MAX: usize = 100_000;

/// The injected clock's monotonic instant as tokio's (timers and deadlines).
fn clock_now(clock: &dyn Clock) -> Instant {
    Instant::from_std(clock.instant())
}

fn now_us() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as u64)
}

/// Whether a heartbeat is a vehicle's (not a ground station's, a gimbal's or a camera's).
pub(crate) fn is_vehicle(hb: &mav::HEARTBEAT_DATA) -> bool {
    use mav::MavType as T;
    hb.autopilot != mav::MavAutopilot::MAV_AUTOPILOT_INVALID
        && !matches!(
            hb.mavtype,
            T::MAV_TYPE_GCS
                | T::MAV_TYPE_ONBOARD_CONTROLLER
                | T::MAV_TYPE_GIMBAL
                | T::MAV_TYPE_ADSB
                | T::MAV_TYPE_CAMERA
                | T::MAV_TYPE_ANTENNA_TRACKER
        )
}

/// The flight stack a heartbeat names.
pub(crate) fn autopilot_of(hb: &mav::HEARTBEAT_DATA) -> Autopilot {
    match hb.autopilot {
        mav::MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA => Autopilot::ArduPilot,
        mav::MavAutopilot::MAV_AUTOPILOT_PX4 => Autopilot::Px4,
        _ => Autopilot::Other,
    }
}

impl Driver {
    async fn run(
        mut self,
        mut req_rx: mpsc::Receiver<Request>,
        mut in_rx: mpsc::Receiver<Inbound>,
        mut stop: tokio::sync::oneshot::Receiver<()>,
    ) {
        let mut tick = tokio::time::interval(self.cfg.tick.max(Duration::from_millis(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut heartbeat = tokio::time::interval(Duration::from_secs(1));
        heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut flush_tlog = tokio::time::interval(Duration::from_secs(1));
        loop {
            tokio::select! {
                _ = &mut stop => break,
                inbound = in_rx.recv() => match inbound {
                    Some(Inbound::Datagram { from, bytes }) => self.on_datagram(from, &bytes),
                    Some(Inbound::Raw { from, raw }) => {
                        let mut c = RxCounters::default();
                        if let Some(d) = codec::accept_raw(&raw, self.signing.as_ref(), &mut c) {
                            self.stats.frames_rx.fetch_add(1, Ordering::Relaxed);
                            self.on_frame(from, &d);
                        }
                        self.add_counters(c);
                    }
                    Some(Inbound::Closed { generation, why }) => self.on_closed(generation, why),
                    Some(Inbound::Reconnected { generation, write }) => {
                        self.on_reconnected(generation, write);
                    }
                    Some(Inbound::ConnectFailed) => {
                        self.connecting = false;
                        self.reconnect_due = Some(clock_now(&*self.cfg.clock) + RECONNECT_EVERY);
                    }
                    None => break,
                },
                req = req_rx.recv() => match req {
                    Some(r) => self.on_request(r),
                    None => break,
                },
                _ = tick.tick() => self.on_tick(),
                _ = heartbeat.tick() => self.send_gcs_heartbeat(),
                _ = flush_tlog.tick() => {
                    if let Some(Err(e)) = self.tlog.as_mut().map(TlogWriter::flush) {
                        self.tlog = None;
                        self.emit(LinkEvent::TransportError(e.to_string()));
                    }
                }
            }
            self.flush_events();
        }
        if let Some(t) = self.tlog.as_mut() {
            let _ = t.flush();
        }
        // Whatever is still pending will never complete: say so.
        let ids: Vec<VehicleId> = self.vehicles.keys().copied().collect();
        for id in ids {
            if let Some(v) = self.vehicles.get_mut(&id) {
                if let Some(seq) = v.sequence.take() {
                    let _ = self.ev_tx.try_send(LinkEvent::ActionResult {
                        id,
                        request: seq.kind(),
                        result: Err(ActionFailure {
                            vehicle: id,
                            step: seq.kind().to_string(),
                            cause: FailureCause::LinkClosed,
                            vehicle_said: Vec::new(),
                            disarmed_again: false,
                        }),
                    });
                }
                let cmds: Vec<_> = v
                    .commands
                    .drain(..)
                    .filter(|c| c.owner == Owner::App)
                    .map(|c| c.tx.spec().command)
                    .collect();
                let transfer = v.transfer.take().filter(|_| v.transfer_owner == Owner::App);
                for command in cmds {
                    let _ = self.ev_tx.try_send(LinkEvent::Command {
                        id,
                        command,
                        outcome: CommandOutcome::Failed(CommandFailure::LinkClosed),
                    });
                }
                if let Some((t, _)) = transfer {
                    let op = match t {
                        Transfer::Upload { op, .. } => op,
                        Transfer::Download { .. } => MissionOp::Download,
                    };
                    let _ = self.ev_tx.try_send(LinkEvent::MissionDone {
                        id,
                        op,
                        result: Err(MissionError::LinkClosed),
                    });
                }
            }
        }
        (self.wake)();
    }

    fn add_counters(&mut self, c: RxCounters) {
        self.stats
            .malformed_bytes
            .fetch_add(c.malformed_bytes, Ordering::Relaxed);
        self.stats
            .unparsed_frames
            .fetch_add(c.unparsed_frames, Ordering::Relaxed);
        self.stats
            .rejected_signature
            .fetch_add(c.rejected_signature, Ordering::Relaxed);
    }

    // --- events --------------------------------------------------------------------------

    /// Queues an event that must not be lost (outcomes, transfers, link changes).
    fn emit(&mut self, ev: LinkEvent) {
        if self.backlog.is_empty() {
            match self.ev_tx.try_send(ev) {
                Ok(()) => {
                    self.woke = true;
                    return;
                }
                Err(mpsc::error::TrySendError::Full(ev)) => self.backlog.push_back(ev),
                Err(mpsc::error::TrySendError::Closed(_)) => return,
            }
        } else {
            self.backlog.push_back(ev);
        }
        if self.backlog.len() > BACKLOG_MAX {
            self.backlog.pop_front();
        }
    }

    /// Publishes a vehicle's state now if the channel has room, otherwise later (coalesced).
    fn publish_state(&mut self, id: VehicleId) {
        let Some(v) = self.vehicles.get_mut(&id) else {
            return;
        };
        self.shared
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(id, v.state.clone());
        if self.backlog.is_empty() {
            match self
                .ev_tx
                .try_send(LinkEvent::State(Box::new(v.state.clone())))
            {
                Ok(()) => {
                    v.dirty = false;
                    self.woke = true;
                    return;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => return,
                Err(mpsc::error::TrySendError::Full(_)) => {}
            }
        }
        if v.dirty {
            self.stats.coalesced_states.fetch_add(1, Ordering::Relaxed);
        }
        v.dirty = true;
    }

    fn flush_events(&mut self) {
        while let Some(ev) = self.backlog.pop_front() {
            match self.ev_tx.try_send(ev) {
                Ok(()) => self.woke = true,
                Err(mpsc::error::TrySendError::Full(ev)) => {
                    self.backlog.push_front(ev);
                    break;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => {
                    self.backlog.clear();
                    break;
                }
            }
        }
        if self.woke {
            self.woke = false;
            (self.wake)();
        }
    }

    // --- sending -------------------------------------------------------------------------

    fn send_to(&mut self, to: SocketAddr, msg: &MavMessage) {
        let header = MavHeader {
            system_id: u32::from(self.cfg.gcs_system_id),
            component_id: self.cfg.gcs_component_id,
            sequence: self.seq,
        };
        self.seq = self.seq.wrapping_add(1);
        if codec::encode(header, msg, self.signing.as_ref(), &mut self.buf).is_err() {
            return;
        }
        if self.transport.send(to, &self.buf) {
            self.stats.frames_tx.fetch_add(1, Ordering::Relaxed);
            if let Some(t) = self.tlog.as_mut() {
                let _ = t.write(now_us(), &self.buf);
            }
        } else {
            self.stats.send_dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn send_gcs_heartbeat(&mut self) {
        let hb = gcs_heartbeat();
        let targets: Vec<SocketAddr> = match &self.transport {
            Transport::Udp {
                fixed_peer: Some(p),
                ..
            } => vec![*p],
            Transport::Stream { peer, .. } => vec![*peer],
            Transport::Udp {
                fixed_peer: None, ..
            } => {
                let mut t: Vec<_> = self.vehicles.values().map(|v| v.addr).collect();
                t.sort();
                t.dedup();
                t
            }
        };
        // Whatever the last second left is sent now: every vehicle hears us once a second.
        for to in std::mem::take(&mut self.heartbeats_due) {
            self.send_to(to, &hb);
        }
        if targets.len() <= HEARTBEATS_AT_ONCE {
            for to in targets {
                self.send_to(to, &hb);
            }
            return;
        }
        // Spread over the second's ticks (one spare, so the last share goes before the next
        // second starts).
        let ticks = (Duration::from_secs(1).as_millis()
            / self.cfg.tick.max(Duration::from_millis(1)).as_millis())
        .max(2) as usize
            - 1;
        self.heartbeats_per_tick = targets.len().div_ceil(ticks);
        self.heartbeats_due = targets;
        self.send_heartbeat_share();
    }

    /// This tick's share of the second's GCS heartbeats ([`Self::heartbeats_due`]).
    fn send_heartbeat_share(&mut self) {
        if self.heartbeats_due.is_empty() {
            return;
        }
        let hb = gcs_heartbeat();
        let keep = self
            .heartbeats_due
            .len()
            .saturating_sub(self.heartbeats_per_tick);
        let share: Vec<SocketAddr> = self.heartbeats_due.drain(keep..).collect();
        for to in share {
            self.send_to(to, &hb);
        }
    }

    // --- receiving -----------------------------------------------------------------------

    fn on_datagram(&mut self, from: SocketAddr, bytes: &[u8]) {
        let mut decoded = std::mem::take(&mut self.decoded);
        decoded.clear();
        let mut c = RxCounters::default();
        codec::decode_datagram(bytes, self.signing.as_ref(), &mut c, &mut decoded);
        self.stats.frames_rx.fetch_add(c.frames, Ordering::Relaxed);
        self.add_counters(c);
        for d in &decoded {
            self.on_frame(from, d);
        }
        self.decoded = decoded;
    }

    fn on_frame(&mut self, from: SocketAddr, d: &Decoded) {
        if let Some(t) = self.tlog.as_mut() {
            let _ = t.write(now_us(), &d.raw);
        }
        let Ok(system_id) = u8::try_from(d.header.system_id) else {
            return;
        };
        let id = VehicleId {
            peer: from,
            system_id,
        };
        if let MavMessage::HEARTBEAT(hb) = &d.msg {
            if !is_vehicle(hb) {
                return;
            }
            self.on_heartbeat(id, d.header.component_id, hb);
        }
        let Some(v) = self.vehicles.get_mut(&id) else {
            return;
        };
        // Link quality from sequence gaps (per component).
        let gap = v
            .last_seq
            .insert(d.header.component_id, d.header.sequence)
            .map_or(0, |prev| {
                d.header.sequence.wrapping_sub(prev).wrapping_sub(1)
            });
        let sample = if gap < 128 {
            1.0 / (1.0 + f64::from(gap))
        } else {
            1.0
        };
        v.state.link_quality_pct = v.state.link_quality_pct * 0.98 + sample * 100.0 * 0.02;
        let ours = |t: u8| t == 0 || t == self.cfg.gcs_system_id;
        match &d.msg {
            MavMessage::GLOBAL_POSITION_INT(p) => {
                self.stats.positions_rx.fetch_add(1, Ordering::Relaxed);
                let s = &mut v.state;
                s.pos = Some(LatLon::new(f64::from(p.lat) / 1e7, f64::from(p.lon) / 1e7));
                s.alt_rel_m = f64::from(p.relative_alt) / 1000.0;
                s.alt_amsl_m = f64::from(p.alt) / 1000.0;
                s.ground_speed_mps = f64::from(p.vx).hypot(f64::from(p.vy)) / 100.0;
                s.climb_mps = -f64::from(p.vz) / 100.0;
                if p.hdg != u16::MAX {
                    s.heading_deg = f64::from(p.hdg) / 100.0;
                }
                s.time_boot_ms = p.time_boot_ms;
                // A measurement (send → state latency of `aviary bench live`, mapped to Unix
                // time), so the system's monotonic clock, not the injected one.
                s.position_received = Some(std::time::Instant::now());
                self.infer_landed(id);
                self.emit_facts(id);
                self.publish_state(id);
            }
            MavMessage::SYS_STATUS(s) => {
                if s.battery_remaining >= 0 {
                    v.state.battery_pct = Some(f64::from(s.battery_remaining));
                }
                if s.voltage_battery != u16::MAX {
                    v.state.battery_v = Some(f64::from(s.voltage_battery) / 1000.0);
                }
                // 10 mA units; -1: the autopilot does not measure it.
                v.state.battery_current_a =
                    (s.current_battery >= 0).then(|| f64::from(s.current_battery) / 100.0);
                self.publish_state(id);
            }
            MavMessage::BATTERY_STATUS(b) if b.battery_remaining >= 0 => {
                v.state.battery_pct = Some(f64::from(b.battery_remaining));
                self.publish_state(id);
            }
            MavMessage::ATTITUDE(a) => {
                v.state.attitude = Some(Attitude {
                    roll_deg: f64::from(a.roll).to_degrees(),
                    pitch_deg: f64::from(a.pitch).to_degrees(),
                    yaw_deg: f64::from(a.yaw).to_degrees().rem_euclid(360.0),
                });
            }
            MavMessage::HOME_POSITION(h) => {
                v.state.home =
                    LatLon::checked(f64::from(h.latitude) / 1e7, f64::from(h.longitude) / 1e7).ok();
                v.state.home_alt_amsl_m = Some(f64::from(h.altitude) / 1000.0);
            }
            MavMessage::GPS_RAW_INT(g) => {
                v.state.gps_fix = g.fix_type as u8;
                v.state.gps_sats = g.satellites_visible;
                self.publish_state(id);
            }
            MavMessage::WIND(w) if w.speed.is_finite() && w.direction.is_finite() => {
                v.state.wind = Some(WindEstimate {
                    speed_mps: f64::from(w.speed),
                    from_deg: f64::from(w.direction).rem_euclid(360.0),
                });
                self.publish_state(id);
            }
            MavMessage::WIND_COV(w) => {
                if let Some(est) = WindEstimate::from_ne(f64::from(w.wind_x), f64::from(w.wind_y)) {
                    v.state.wind = Some(est);
                    self.publish_state(id);
                }
            }
            MavMessage::VFR_HUD(h) => {
                v.state.ground_speed_mps = f64::from(h.groundspeed);
                v.state.climb_mps = f64::from(h.climb);
                self.infer_landed(id);
                self.emit_facts(id);
                self.publish_state(id);
            }
            MavMessage::MISSION_CURRENT(m) => {
                let seq = m.seq;
                if v.state.mission_seq != seq {
                    v.state.mission_seq = seq;
                    self.emit_facts(id);
                    self.publish_state(id);
                }
                self.seq_event(id, SeqEvent::MissionCurrent(seq));
            }
            MavMessage::MISSION_ITEM_REACHED(r) => {
                let seq = r.seq;
                self.emit(LinkEvent::ItemReached { id, seq });
                self.emit(LinkEvent::Fact {
                    id,
                    fact: VehicleFact::ItemReached { seq },
                });
            }
            MavMessage::STATUSTEXT(t) => {
                let text = String::from_utf8_lossy(&t.text[..])
                    .trim_end_matches('\0')
                    .to_owned();
                let severity = t.severity as u8;
                self.emit(LinkEvent::StatusText {
                    id,
                    severity,
                    text: text.clone(),
                });
                self.emit(LinkEvent::Fact {
                    id,
                    fact: VehicleFact::StatusText {
                        severity,
                        text: text.clone(),
                    },
                });
                self.seq_event(id, SeqEvent::StatusText { severity, text });
            }
            MavMessage::EXTENDED_SYS_STATE(x) => {
                use mav::MavLandedState as L;
                let landed = match x.landed_state {
                    L::MAV_LANDED_STATE_ON_GROUND => LandedState::OnGround,
                    L::MAV_LANDED_STATE_IN_AIR => LandedState::InAir,
                    L::MAV_LANDED_STATE_TAKEOFF => LandedState::Takeoff,
                    L::MAV_LANDED_STATE_LANDING => LandedState::Landing,
                    L::MAV_LANDED_STATE_UNDEFINED => LandedState::Unknown,
                };
                if landed != LandedState::Unknown {
                    v.state.landed_reported = true;
                    if v.state.landed != landed {
                        v.state.landed = landed;
                        self.seq_event(id, SeqEvent::Landed(landed));
                        self.emit_facts(id);
                        self.publish_state(id);
                    }
                }
            }
            MavMessage::AUTOPILOT_VERSION(a) => {
                v.state.uid = (a.uid != 0).then_some(a.uid);
                if v.identify.is_some() {
                    self.identified(id);
                }
            }
            MavMessage::COMMAND_ACK(a) => {
                let (command, result) = (a.command, a.result);
                self.command_event(id, Some(command), CommandEvent::Ack(result));
            }
            MavMessage::MISSION_REQUEST_INT(r) if ours(r.target_system) => {
                self.mission_event(id, MissionEvent::Request { seq: r.seq });
            }
            #[expect(
                deprecated,
                reason = "ArduPilot and older stacks still request items with MISSION_REQUEST"
            )]
            MavMessage::MISSION_REQUEST(r) if ours(r.target_system) => {
                self.mission_event(id, MissionEvent::Request { seq: r.seq });
            }
            MavMessage::MISSION_COUNT(c) if ours(c.target_system) => {
                let count = c.count;
                self.mission_event(id, MissionEvent::Count { count });
                self.seq_event(id, SeqEvent::Count(count));
            }
            MavMessage::MISSION_ITEM_INT(i) if ours(i.target_system) => {
                let item = MissionItem {
                    command: i.command,
                    frame: i.frame,
                    current: i.current != 0,
                    autocontinue: i.autocontinue != 0,
                    params: [i.param1, i.param2, i.param3, i.param4],
                    x: i.x,
                    y: i.y,
                    z: i.z,
                };
                self.mission_event(id, MissionEvent::Item { seq: i.seq, item });
            }
            MavMessage::MISSION_ACK(a) if ours(a.target_system) => {
                self.mission_event(id, MissionEvent::Ack(a.mavtype));
            }
            MavMessage::TERRAIN_REQUEST(r) => {
                let addr = v.addr;
                if v.terrain_check_due.is_none() {
                    v.terrain_check_due = Some(clock_now(&*self.cfg.clock));
                }
                self.answer_terrain(addr, r);
            }
            MavMessage::TERRAIN_REPORT(r) => {
                v.state.terrain = Some(TerrainReport::from_mav(r));
                if v.terrain_check_due.is_none() {
                    v.terrain_check_due = Some(clock_now(&*self.cfg.clock));
                }
                self.publish_state(id);
            }
            _ => {}
        }
    }

    fn on_heartbeat(&mut self, id: VehicleId, component_id: u8, hb: &mav::HEARTBEAT_DATA) {
        let now = clock_now(&*self.cfg.clock);
        let autopilot = autopilot_of(hb);
        let armed = hb
            .base_mode
            .contains(mav::MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED);
        let mode = command::flight_mode(autopilot, hb.custom_mode);
        let mut discovered = false;
        let mut recovered = false;
        let v = self.vehicles.entry(id).or_insert_with(|| {
            discovered = true;
            Vehicle {
                state: VehicleState {
                    id,
                    component_id,
                    autopilot,
                    mode: String::new(),
                    custom_mode: hb.custom_mode,
                    armed,
                    pos: None,
                    alt_rel_m: 0.0,
                    alt_amsl_m: 0.0,
                    ground_speed_mps: 0.0,
                    climb_mps: 0.0,
                    heading_deg: 0.0,
                    battery_pct: None,
                    battery_v: None,
                    battery_current_a: None,
                    attitude: None,
                    home: None,
                    home_alt_amsl_m: None,
                    gps_fix: 0,
                    gps_sats: 0,
                    link_quality_pct: 100.0,
                    link_up: true,
                    last_heartbeat: now.into_std(),
                    time_boot_ms: 0,
                    position_received: None,
                    mission_seq: 0,
                    plan: PlanState::Unknown,
                    mode_class: mode.class,
                    landed: LandedState::Unknown,
                    landed_reported: false,
                    mission_total: None,
                    vehicle_type: VehicleType::from_mav_type(hb.mavtype),
                    uid: None,
                    wind: None,
                    terrain: None,
                },
                addr: id.peer,
                last_hb: now,
                last_seq: HashMap::new(),
                transfer: None,
                transfer_owner: Owner::App,
                commands: Vec::new(),
                dirty: false,
                sequence: None,
                seq_deadline: None,
                identify: None,
                last_fact: (None, LandedState::Unknown, None),
                terrain_check_due: None,
            }
        });
        if !v.state.link_up {
            v.state.link_up = true;
            recovered = true;
        }
        v.last_hb = now;
        v.state.last_heartbeat = now.into_std();
        v.state.component_id = component_id;
        v.state.autopilot = autopilot;
        v.state.custom_mode = hb.custom_mode;
        v.state.vehicle_type = VehicleType::from_mav_type(hb.mavtype);
        v.state.mode.clone_from(&mode.name);
        v.state.mode_class = mode.class;
        v.state.armed = armed;
        if discovered {
            self.emit(LinkEvent::VehicleDiscovered { id, autopilot });
        }
        if recovered {
            self.emit(LinkEvent::LinkRecovered { id });
        }
        if discovered || recovered {
            self.emit(LinkEvent::Fact {
                id,
                fact: VehicleFact::LinkUp,
            });
            if let Some(hz) = self.cfg.request_streams_hz {
                self.request_streams(id, hz);
            }
            self.request_identity(id);
        }
        self.infer_landed(id);
        self.emit_facts(id);
        self.publish_state(id);
        self.command_event(
            id,
            None,
            CommandEvent::Heartbeat {
                custom_mode: hb.custom_mode,
            },
        );
        self.seq_event(id, SeqEvent::Heartbeat { armed });
    }

    /// Asks for `AUTOPILOT_VERSION` (the unique id) and `EXTENDED_SYS_STATE` (landed state).
    fn request_identity(&mut self, id: VehicleId) {
        let Some(v) = self.vehicles.get_mut(&id) else {
            return;
        };
        let asked = v.identify.map_or(0, |(_, n)| n);
        if v.state.uid.is_none() {
            v.identify = Some((clock_now(&*self.cfg.clock), asked + 1));
        }
        let (addr, comp) = (v.addr, v.state.component_id);
        let target = (id.system_id, comp);
        let request = |msg_id: f32| {
            CommandSpec::long(
                mav::MavCmd::MAV_CMD_REQUEST_MESSAGE,
                [msg_id, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            )
            .to_message(target, 0)
        };
        self.send_to(addr, &request(148.0));
        self.send_to(addr, &request(245.0));
        // And keep the landed state coming where the autopilot honours intervals (1 Hz).
        let interval = CommandSpec::long(
            mav::MavCmd::MAV_CMD_SET_MESSAGE_INTERVAL,
            [245.0, 1e6, 0.0, 0.0, 0.0, 0.0, 0.0],
        )
        .to_message(target, 0);
        self.send_to(addr, &interval);
    }

    /// Landed state where the vehicle does not report it: disarmed is on the ground; armed,
    /// low and slow is on the ground; anything else is in the air.
    fn infer_landed(&mut self, id: VehicleId) {
        let Some(v) = self.vehicles.get_mut(&id) else {
            return;
        };
        let s = &mut v.state;
        if s.landed_reported {
            return;
        }
        let landed = if !s.armed
            || (s.alt_rel_m < ON_GROUND_ALT_M && s.ground_speed_mps < ON_GROUND_SPEED_MPS)
        {
            LandedState::OnGround
        } else {
            LandedState::InAir
        };
        if landed != s.landed {
            s.landed = landed;
            self.seq_event(id, SeqEvent::Landed(landed));
        }
    }

    /// Sends the facts that changed since the last call.
    fn emit_facts(&mut self, id: VehicleId) {
        let Some(v) = self.vehicles.get_mut(&id) else {
            return;
        };
        let mut facts = Vec::new();
        let hb = Some((v.state.mode.clone(), v.state.armed));
        if v.last_fact.0 != hb {
            v.last_fact.0.clone_from(&hb);
            facts.push(VehicleFact::Heartbeat {
                mode: v.state.flight_mode(),
                armed: v.state.armed,
            });
        }
        if v.last_fact.1 != v.state.landed {
            v.last_fact.1 = v.state.landed;
            facts.push(VehicleFact::Landed {
                state: v.state.landed,
            });
        }
        if v.last_fact.2 != Some(v.state.mission_seq) {
            v.last_fact.2 = Some(v.state.mission_seq);
            facts.push(VehicleFact::MissionCurrent {
                seq: v.state.mission_seq,
            });
        }
        for fact in facts {
            self.emit(LinkEvent::Fact { id, fact });
        }
    }

    fn identified(&mut self, id: VehicleId) {
        let Some(v) = self.vehicles.get_mut(&id) else {
            return;
        };
        v.identify = None;
        let ev = LinkEvent::VehicleIdentified {
            id,
            uid: v.state.uid,
            vehicle_type: v.state.vehicle_type,
        };
        self.emit(ev);
        self.publish_state(id);
    }

    /// The vehicle is lost: say so once, and fail at once whatever was waiting for it.
    fn lose_vehicle(&mut self, id: VehicleId) {
        let Some(v) = self.vehicles.get_mut(&id) else {
            return;
        };
        if !v.state.link_up {
            return;
        }
        v.state.link_up = false;
        let cmds: Vec<PendingCommand> = v.commands.drain(..).collect();
        let transfer = v.transfer.take().map(|(t, _)| (t, v.transfer_owner));
        if transfer.is_some() {
            v.state.plan = PlanState::Unknown;
        }
        self.emit(LinkEvent::LinkLost { id });
        self.emit(LinkEvent::Fact {
            id,
            fact: VehicleFact::LinkLost,
        });
        for c in cmds {
            let outcome = CommandOutcome::Failed(CommandFailure::VehicleLost);
            match c.owner {
                Owner::App => self.emit(LinkEvent::Command {
                    id,
                    command: c.tx.spec().command,
                    outcome,
                }),
                Owner::Sequence => self.seq_event(id, SeqEvent::CommandDone(outcome)),
            }
        }
        if let Some((t, owner)) = transfer {
            let err = MissionError::VehicleLost(id.to_string());
            let op = match t {
                Transfer::Upload { op, .. } => op,
                Transfer::Download { .. } => MissionOp::Download,
            };
            match owner {
                Owner::App => self.emit(LinkEvent::MissionDone {
                    id,
                    op,
                    result: Err(err),
                }),
                Owner::Sequence => self.seq_event(id, SeqEvent::Uploaded(Err(err))),
            }
        }
        self.seq_event(id, SeqEvent::Abandon(FailureCause::VehicleLost));
        self.publish_state(id);
    }

    // --- stream reconnection -------------------------------------------------------------

    fn on_closed(&mut self, generation: u64, why: String) {
        let lost = match &mut self.transport {
            Transport::Stream {
                generation: current,
                down,
                reconnect,
                ..
            } => {
                if generation != *current || *down {
                    // A stale end of an earlier connection, or the writer's twin report.
                    return;
                }
                *down = true;
                if reconnect.is_some() {
                    self.reconnect_due = Some(clock_now(&*self.cfg.clock) + RECONNECT_EVERY);
                }
                true
            }
            Transport::Udp { .. } => false,
        };
        self.emit(LinkEvent::TransportError(why));
        if lost {
            // Every vehicle behind this stream is gone now, not after the heartbeat timeout.
            let ids: Vec<VehicleId> = self.vehicles.keys().copied().collect();
            for id in ids {
                self.lose_vehicle(id);
            }
        }
    }

    fn start_reconnect(&mut self) {
        let Transport::Stream {
            reconnect: Some(addr),
            generation,
            ..
        } = &self.transport
        else {
            return;
        };
        let (addr, next) = (*addr, *generation + 1);
        self.connecting = true;
        self.reconnect_due = None;
        let inbound = self.inbound.clone();
        tokio::spawn(async move {
            let attempt =
                tokio::time::timeout(RECONNECT_EVERY, tokio::net::TcpStream::connect(addr)).await;
            let msg = match attempt {
                Ok(Ok(stream)) => {
                    let _ = stream.set_nodelay(true);
                    let (read, write) = stream.into_split();
                    let write = spawn_stream(read, write, addr, inbound.clone(), next);
                    Inbound::Reconnected {
                        generation: next,
                        write,
                    }
                }
                _ => Inbound::ConnectFailed,
            };
            let _ = inbound.send(msg).await;
        });
    }

    fn on_reconnected(&mut self, new_generation: u64, new_write: mpsc::Sender<Vec<u8>>) {
        self.connecting = false;
        if let Transport::Stream {
            write,
            generation,
            down,
            ..
        } = &mut self.transport
        {
            *write = new_write;
            *generation = new_generation;
            *down = false;
        }
        // Let the vehicle see a ground station at once.
        self.send_gcs_heartbeat();
    }

    #[expect(
        deprecated,
        reason = "REQUEST_DATA_STREAM is what ArduPilot honours for stream rates"
    )]
    fn request_streams(&mut self, id: VehicleId, hz: u16) {
        let Some(v) = self.vehicles.get(&id) else {
            return;
        };
        let (addr, comp) = (v.addr, v.state.component_id);
        let msg = MavMessage::REQUEST_DATA_STREAM(mav::REQUEST_DATA_STREAM_DATA {
            req_message_rate: hz,
            target_system: id.system_id,
            target_component: comp,
            req_stream_id: mav::MavDataStream::MAV_DATA_STREAM_ALL,
            start_stop: 1,
        });
        self.send_to(addr, &msg);
    }

    // --- handshakes ----------------------------------------------------------------------

    /// Why nothing can be sent to `id` now: never heard, or lost.
    fn unreachable(&self, id: VehicleId) -> Option<FailureCause> {
        match self.vehicles.get(&id) {
            None => Some(FailureCause::NeverHeard),
            Some(v) if !v.state.link_up => Some(FailureCause::VehicleLost),
            Some(_) => None,
        }
    }

    fn on_request(&mut self, r: Request) {
        match r {
            Request::Upload { id, items, op } => {
                if let Some(cause) = self.unreachable(id) {
                    let err = match cause {
                        FailureCause::NeverHeard => MissionError::NeverHeard(id.to_string()),
                        _ => MissionError::VehicleLost(id.to_string()),
                    };
                    self.emit(LinkEvent::MissionDone {
                        id,
                        op,
                        result: Err(err),
                    });
                    return;
                }
                if let Err(e) = self.start_upload(id, items, op, Owner::App) {
                    self.emit(LinkEvent::MissionDone {
                        id,
                        op,
                        result: Err(e),
                    });
                }
            }
            Request::Download { id } => {
                if let Some(cause) = self.unreachable(id) {
                    let err = match cause {
                        FailureCause::NeverHeard => MissionError::NeverHeard(id.to_string()),
                        _ => MissionError::VehicleLost(id.to_string()),
                    };
                    self.emit(LinkEvent::MissionDone {
                        id,
                        op: MissionOp::Download,
                        result: Err(err),
                    });
                    return;
                }
                let Some(v) = self.vehicles.get(&id) else {
                    return;
                };
                if v.transfer.is_some() {
                    self.emit(LinkEvent::MissionDone {
                        id,
                        op: MissionOp::Download,
                        result: Err(MissionError::Busy),
                    });
                    return;
                }
                let sm = Download::with_timing(
                    (id.system_id, v.state.component_id),
                    self.cfg.mission_timing,
                );
                self.start_transfer(id, Transfer::Download { sm }, Owner::App);
            }
            Request::Commands { id, specs } => self.start_commands(id, specs, Owner::App),
            Request::Action {
                id,
                action,
                abort_lands,
            } => {
                let autopilot = self
                    .vehicles
                    .get(&id)
                    .map_or(Autopilot::ArduPilot, |v| v.state.autopilot);
                let specs = command::action_commands(autopilot, action, abort_lands);
                self.start_commands(id, specs, Owner::App);
            }
            Request::Streams { id, hz } => self.request_streams(id, hz),
            Request::MissionAction { id, request } => self.start_sequence(id, &request),
            Request::TerrainCheck { id, at } => {
                if let Some(addr) = self.vehicles.get(&id).map(|v| v.addr) {
                    self.send_to(addr, &terrain::check(at));
                }
            }
            Request::SetTerrain(source) => self.cfg.terrain = source,
        }
    }

    /// Answers a `TERRAIN_REQUEST` with a `TERRAIN_DATA` per sub-grid the DEM covers.
    fn answer_terrain(&mut self, addr: SocketAddr, r: &mav::TERRAIN_REQUEST_DATA) {
        self.stats
            .terrain_requests_rx
            .fetch_add(1, Ordering::Relaxed);
        let Some(source) = self.cfg.terrain.clone() else {
            return;
        };
        let answer = terrain::answer(&*source.0, r);
        self.stats
            .terrain_subgrids_missing
            .fetch_add(u64::from(answer.missing), Ordering::Relaxed);
        for data in answer.data {
            self.send_to(addr, &MavMessage::TERRAIN_DATA(data));
            self.stats.terrain_data_tx.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn start_upload(
        &mut self,
        id: VehicleId,
        items: Vec<MissionItem>,
        op: MissionOp,
        owner: Owner,
    ) -> Result<(), MissionError> {
        let Some(v) = self.vehicles.get(&id) else {
            return Err(MissionError::NeverHeard(id.to_string()));
        };
        if v.transfer.is_some() {
            return Err(MissionError::Busy);
        }
        let sm = Upload::with_timing(
            items,
            (id.system_id, v.state.component_id),
            self.cfg.mission_timing,
        );
        self.start_transfer(id, Transfer::Upload { sm, op }, owner);
        Ok(())
    }

    // --- mission actions -----------------------------------------------------------------

    fn start_sequence(&mut self, id: VehicleId, request: &MissionRequest) {
        let kind = request.kind();
        let fail_now = |this: &mut Self, cause: FailureCause| {
            this.emit(LinkEvent::ActionResult {
                id,
                request: kind,
                result: Err(ActionFailure {
                    vehicle: id,
                    step: kind.to_string(),
                    cause,
                    vehicle_said: Vec::new(),
                    disarmed_again: false,
                }),
            });
        };
        if let Some(cause) = self.unreachable(id) {
            fail_now(self, cause);
            return;
        }
        let Some(v) = self.vehicles.get(&id) else {
            return;
        };
        if let Some(running) = v.sequence.as_ref().map(ActionSequence::kind) {
            // Return, land and abort replace whatever runs; anything else waits its turn.
            if matches!(kind, ActionKind::Rtl | ActionKind::Land | ActionKind::Abort) {
                self.seq_event(id, SeqEvent::Abandon(FailureCause::Superseded(kind)));
                // A replaced sequence may still be disarming or collecting texts: report it now.
                self.finish_sequence_now(id);
            } else {
                fail_now(self, FailureCause::Busy(running));
                return;
            }
        }
        let Some(v) = self.vehicles.get_mut(&id) else {
            return;
        };
        let view = VehicleView {
            autopilot: v.state.autopilot,
            mode_class: v.state.mode_class,
            armed: v.state.armed,
            landed: v.state.landed,
        };
        v.sequence = Some(ActionSequence::new(id, request, view));
        v.seq_deadline = None;
        self.seq_event(id, SeqEvent::Start);
    }

    /// Reports a sequence that was abandoned but is still winding down, so a new one can start.
    fn finish_sequence_now(&mut self, id: VehicleId) {
        for _ in 0..3 {
            let still = self.vehicles.get(&id).is_some_and(|v| v.sequence.is_some());
            if !still {
                return;
            }
            self.seq_event(
                id,
                SeqEvent::Abandon(FailureCause::Superseded(ActionKind::Abort)),
            );
        }
    }

    /// Queues an event for the vehicle's running sequence and runs the queue (events the
    /// sequence causes while it runs are queued behind it, never handled re-entrantly).
    fn seq_event(&mut self, id: VehicleId, event: SeqEvent) {
        if self.vehicles.get(&id).is_none_or(|v| v.sequence.is_none()) {
            return;
        }
        self.seq_inbox.push_back((id, event));
        if self.seq_running {
            return;
        }
        self.seq_running = true;
        while let Some((id, event)) = self.seq_inbox.pop_front() {
            let Some(v) = self.vehicles.get_mut(&id) else {
                continue;
            };
            let Some(seq) = v.sequence.as_mut() else {
                continue;
            };
            let kind = seq.kind();
            let steps = seq.handle(event);
            for step in steps {
                self.seq_step(id, kind, step);
            }
        }
        self.seq_running = false;
    }

    fn seq_step(&mut self, id: VehicleId, kind: ActionKind, step: SeqStep) {
        let Some(v) = self.vehicles.get_mut(&id) else {
            return;
        };
        let (addr, target) = (v.addr, (id.system_id, v.state.component_id));
        match step {
            SeqStep::Upload(items) => {
                if let Err(e) = self.start_upload(id, items, MissionOp::Upload, Owner::Sequence) {
                    self.seq_inbox.push_back((id, SeqEvent::Uploaded(Err(e))));
                }
            }
            SeqStep::RequestCount => {
                let msg = MavMessage::MISSION_REQUEST_LIST(mav::MISSION_REQUEST_LIST_DATA {
                    target_system: target.0,
                    target_component: target.1,
                });
                self.send_to(addr, &msg);
            }
            SeqStep::EndCount => {
                let msg = MavMessage::MISSION_ACK(mav::MISSION_ACK_DATA {
                    target_system: target.0,
                    target_component: target.1,
                    mavtype: mav::MavMissionResult::MAV_MISSION_ACCEPTED,
                });
                self.send_to(addr, &msg);
            }
            SeqStep::Command(spec) => self.start_commands(id, vec![spec], Owner::Sequence),
            SeqStep::SetCurrent(seq) => {
                #[expect(
                    deprecated,
                    reason = "ArduCopter 4.x and the simulator honour MISSION_SET_CURRENT, confirmed by MISSION_CURRENT"
                )]
                let msg = MavMessage::MISSION_SET_CURRENT(mav::MISSION_SET_CURRENT_DATA {
                    seq,
                    target_system: target.0,
                    target_component: target.1,
                });
                self.send_to(addr, &msg);
            }
            SeqStep::SetTimer(d) => v.seq_deadline = Some(clock_now(&*self.cfg.clock) + d),
            SeqStep::CancelTimer => v.seq_deadline = None,
            SeqStep::Done(result) => {
                v.sequence = None;
                v.seq_deadline = None;
                self.emit(LinkEvent::ActionResult {
                    id,
                    request: kind,
                    result,
                });
            }
        }
    }

    fn start_transfer(&mut self, id: VehicleId, t: Transfer, owner: Owner) {
        if let Some(v) = self.vehicles.get_mut(&id) {
            v.transfer = Some((t, None));
            v.transfer_owner = owner;
            v.state.plan = PlanState::Transferring;
        }
        self.mission_event(id, MissionEvent::Start);
    }

    fn mission_event(&mut self, id: VehicleId, event: MissionEvent) {
        let Some(v) = self.vehicles.get_mut(&id) else {
            return;
        };
        let Some((transfer, _)) = v.transfer.as_mut() else {
            return;
        };
        let (actions, op) = match transfer {
            Transfer::Upload { sm, op } => (sm.handle(event), *op),
            Transfer::Download { sm } => (sm.handle(event), MissionOp::Download),
        };
        let addr = v.addr;
        let mut finished = None;
        for a in actions {
            match a {
                MissionAction::Send(m) => self.send_to(addr, &m),
                MissionAction::SetTimer(d) => {
                    if let Some(v) = self.vehicles.get_mut(&id)
                        && let Some((_, dl)) = v.transfer.as_mut()
                    {
                        *dl = Some(clock_now(&*self.cfg.clock) + d);
                    }
                }
                MissionAction::Progress { done, total } => self.emit(LinkEvent::MissionProgress {
                    id,
                    op,
                    done,
                    total,
                }),
                MissionAction::UploadDone(r) => finished = Some(r.map(|()| Vec::new())),
                MissionAction::DownloadDone(r) => finished = Some(r),
            }
        }
        if let Some(result) = finished {
            let mut owner = Owner::App;
            if let Some(v) = self.vehicles.get_mut(&id) {
                let count = match (&v.transfer, &result) {
                    (Some((Transfer::Upload { sm, .. }, _)), Ok(_)) => Some(sm.len() as u16),
                    (_, Ok(items)) => Some(items.len() as u16),
                    _ => None,
                };
                v.transfer = None;
                owner = v.transfer_owner;
                v.state.plan =
                    count.map_or(PlanState::Unknown, |items| PlanState::Synced { items });
                v.state.mission_total = count.or(v.state.mission_total);
            }
            self.publish_state(id);
            match owner {
                Owner::App => self.emit(LinkEvent::MissionDone { id, op, result }),
                Owner::Sequence => {
                    self.seq_event(id, SeqEvent::Uploaded(result.map(|_| ())));
                }
            }
        }
    }

    /// Reports a command outcome to whoever asked.
    fn command_outcome(
        &mut self,
        id: VehicleId,
        command: mav::MavCmd,
        owner: Owner,
        outcome: CommandOutcome,
    ) {
        match owner {
            Owner::App => self.emit(LinkEvent::Command {
                id,
                command,
                outcome,
            }),
            Owner::Sequence if outcome != CommandOutcome::Pending => {
                self.seq_event(id, SeqEvent::CommandDone(outcome));
            }
            Owner::Sequence => {}
        }
    }

    fn start_commands(&mut self, id: VehicleId, specs: Vec<CommandSpec>, owner: Owner) {
        let mut specs: VecDeque<CommandSpec> = specs.into();
        let Some(first) = specs.pop_front() else {
            return;
        };
        let failure = match self.vehicles.get(&id) {
            None => Some(CommandFailure::UnknownVehicle),
            Some(v) if !v.state.link_up => Some(CommandFailure::VehicleLost),
            Some(v)
                if v.commands
                    .iter()
                    .any(|c| c.tx.spec().command == first.command) =>
            {
                Some(CommandFailure::Duplicate)
            }
            Some(_) => None,
        };
        if let Some(f) = failure {
            self.command_outcome(id, first.command, owner, CommandOutcome::Failed(f));
            return;
        }
        let Some(v) = self.vehicles.get_mut(&id) else {
            return;
        };
        let tx = CommandTransaction::new(
            first,
            (id.system_id, v.state.component_id),
            v.state.autopilot,
        );
        v.commands.push(PendingCommand {
            tx,
            deadline: None,
            then: specs,
            owner,
        });
        let idx = v.commands.len() - 1;
        self.drive_command(id, idx, CommandEvent::Start);
    }

    /// Feeds `event` to the pending commands of `id` (all of them, or those for `command`).
    fn command_event(&mut self, id: VehicleId, command: Option<mav::MavCmd>, event: CommandEvent) {
        let Some(v) = self.vehicles.get(&id) else {
            return;
        };
        let targets: Vec<usize> = v
            .commands
            .iter()
            .enumerate()
            .filter(|(_, c)| command.is_none_or(|cmd| c.tx.spec().command == cmd))
            .map(|(i, _)| i)
            .collect();
        // Back to front so removals do not shift the remaining indices.
        for idx in targets.into_iter().rev() {
            self.drive_command(id, idx, event);
        }
    }

    fn drive_command(&mut self, id: VehicleId, idx: usize, event: CommandEvent) {
        let Some(v) = self.vehicles.get_mut(&id) else {
            return;
        };
        let Some(pc) = v.commands.get_mut(idx) else {
            return;
        };
        let steps = pc.tx.handle(event);
        let command = pc.tx.spec().command;
        let owner = pc.owner;
        let addr = v.addr;
        let mut outcome_final = None;
        for s in steps {
            match s {
                CommandStep::Send(m) => self.send_to(addr, &m),
                CommandStep::SetTimer(d) => {
                    if let Some(pc) = self
                        .vehicles
                        .get_mut(&id)
                        .and_then(|v| v.commands.get_mut(idx))
                    {
                        pc.deadline = Some(clock_now(&*self.cfg.clock) + d);
                    }
                }
                CommandStep::Outcome(o) => {
                    let done = !matches!(o, CommandOutcome::Pending);
                    if owner == Owner::App {
                        self.emit(LinkEvent::Command {
                            id,
                            command,
                            outcome: o.clone(),
                        });
                    }
                    if done {
                        outcome_final = Some(o);
                    }
                }
            }
        }
        if let Some(o) = outcome_final {
            let Some(v) = self.vehicles.get_mut(&id) else {
                return;
            };
            if idx < v.commands.len() {
                let pc = v.commands.remove(idx);
                if pc.owner == Owner::Sequence {
                    // Removed first, so the sequence's next command is never a "duplicate".
                    self.command_outcome(id, command, Owner::Sequence, o);
                } else if o == CommandOutcome::Confirmed && !pc.then.is_empty() {
                    self.start_commands(id, pc.then.into(), Owner::App);
                }
            }
        }
    }

    fn on_tick(&mut self) {
        let now = clock_now(&*self.cfg.clock);
        self.send_heartbeat_share();
        if !self.connecting && self.reconnect_due.is_some_and(|d| d <= now) {
            self.start_reconnect();
        }
        let ids: Vec<VehicleId> = self.vehicles.keys().copied().collect();
        for id in ids {
            let Some(v) = self.vehicles.get_mut(&id) else {
                continue;
            };
            // Link lost?
            if v.state.link_up && now.duration_since(v.last_hb) > LINK_LOST_AFTER {
                self.lose_vehicle(id);
            }
            // Identity: ask again once, then report without a unique id.
            if let Some((asked, n)) = self.vehicles.get(&id).and_then(|v| v.identify)
                && now.duration_since(asked) >= IDENTIFY_WAIT / 2
            {
                if n < 2 {
                    self.request_identity(id);
                } else {
                    self.identified(id);
                }
            }
            // Sequence timer.
            if let Some(v) = self.vehicles.get_mut(&id)
                && v.seq_deadline.is_some_and(|d| d <= now)
            {
                v.seq_deadline = None;
                self.seq_event(id, SeqEvent::Timeout);
            }
            // Transfer timer.
            let Some(v) = self.vehicles.get_mut(&id) else {
                continue;
            };
            if let Some((_, Some(dl))) = v.transfer.as_ref()
                && *dl <= now
            {
                if let Some((_, d)) = v.transfer.as_mut() {
                    *d = None;
                }
                self.mission_event(id, MissionEvent::Timeout);
            }
            // Command timers (back to front: completed ones are removed).
            let Some(v) = self.vehicles.get_mut(&id) else {
                continue;
            };
            let due: Vec<usize> = v
                .commands
                .iter()
                .enumerate()
                .filter(|(_, c)| c.deadline.is_some_and(|d| d <= now))
                .map(|(i, _)| i)
                .collect();
            for idx in due.into_iter().rev() {
                if let Some(pc) = self
                    .vehicles
                    .get_mut(&id)
                    .and_then(|v| v.commands.get_mut(idx))
                {
                    pc.deadline = None;
                }
                self.drive_command(id, idx, CommandEvent::Timeout);
            }
            // Terrain: the vehicle's report at its position, now and then.
            if let Some(v) = self.vehicles.get_mut(&id)
                && v.state.link_up
                && v.terrain_check_due.is_some_and(|d| d <= now)
                && let Some(pos) = v.state.pos
            {
                v.terrain_check_due = Some(now + self.cfg.terrain_check_every);
                let addr = v.addr;
                self.send_to(addr, &terrain::check(pos));
            }
            // Coalesced state waiting for room in the channel.
            if self.vehicles.get(&id).is_some_and(|v| v.dirty) && self.backlog.is_empty() {
                self.publish_state(id);
            }
        }
    }
}
