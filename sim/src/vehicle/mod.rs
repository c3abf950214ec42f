//! One simulated `ArduCopter` as a ground station sees it: modes, arming, the mission protocol
//! (server side), commands, telemetry streams and failsafes. I/O-free: the runtime feeds it
//! received messages ([`Vehicle::handle`]) and time ([`Vehicle::tick`]) and sends what comes
//! back.

#![expect(
    deprecated,
    reason = "ArduPilot still speaks MISSION_ITEM, MISSION_REQUEST, SET_MODE and REQUEST_DATA_STREAM, and so do MAVProxy and Mission Planner"
)]

use crate::flight::{self, BatteryModel, Environment, Guidance, Kinematics, Limits, PackModel};
use crate::wpnav::{NavLimits, Track};
use autopilot::RtlStage;
use aviary_core::LatLon;
use mav::MavMessage;
use mavlink::dialects::ardupilotmega as mav;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
pub use terrain::TerrainOptions;
use terrain::TerrainState;

/// `ArduCopter` flight modes (`custom_mode` of HEARTBEAT) the simulator implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CopterMode {
    /// Manual; the simulator treats it as holding position.
    Stabilize,
    /// Altitude hold; treated like LOITER.
    AltHold,
    /// Flies the uploaded mission.
    Auto,
    /// Follows commands from the ground station (takeoff, reposition).
    Guided,
    /// Holds position.
    Loiter,
    /// Returns home and lands.
    Rtl,
    /// Lands where it is.
    Land,
    /// Stops as fast as possible and holds.
    Brake,
}

impl CopterMode {
    /// The `custom_mode` number `ArduCopter` uses.
    pub const fn custom_mode(self) -> u32 {
        match self {
            Self::Stabilize => 0,
            Self::AltHold => 2,
            Self::Auto => 3,
            Self::Guided => 4,
            Self::Loiter => 5,
            Self::Rtl => 6,
            Self::Land => 9,
            Self::Brake => 17,
        }
    }

    /// The mode for an `ArduCopter` `custom_mode` number, if simulated.
    pub const fn from_custom_mode(n: u32) -> Option<Self> {
        Some(match n {
            0 => Self::Stabilize,
            2 => Self::AltHold,
            3 => Self::Auto,
            4 => Self::Guided,
            5 => Self::Loiter,
            6 => Self::Rtl,
            9 => Self::Land,
            17 => Self::Brake,
            _ => return None,
        })
    }

    /// Whether `ArduCopter` needs a position estimate (GPS) for this mode.
    pub const fn requires_gps(self) -> bool {
        matches!(
            self,
            Self::Auto | Self::Guided | Self::Loiter | Self::Rtl | Self::Brake
        )
    }

    /// Whether `ArduCopter` arms in this mode (`Mode::allows_arming`): not in AUTO (without
    /// `AUTO_OPTIONS`), RTL, LAND or BRAKE.
    pub const fn allows_arming(self) -> bool {
        matches!(
            self,
            Self::Stabilize | Self::AltHold | Self::Guided | Self::Loiter
        )
    }

    /// Upper-case name as `ArduCopter` prints it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Stabilize => "STABILIZE",
            Self::AltHold => "ALT_HOLD",
            Self::Auto => "AUTO",
            Self::Guided => "GUIDED",
            Self::Loiter => "LOITER",
            Self::Rtl => "RTL",
            Self::Land => "LAND",
            Self::Brake => "BRAKE",
        }
    }
}

/// A fault a trainer injects into one drone at run time.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Fault {
    /// Total link loss in both directions (`true`) or link restored (`false`).
    LinkLoss {
        /// Whether the link is down.
        active: bool,
    },
    /// Drop this percentage of packets in each direction (0 = none).
    PacketLoss {
        /// Percent of packets dropped, 0..=100.
        pct: f64,
    },
    /// GPS lost (`true`) or back (`false`). In a GPS mode the copter lands.
    GpsLoss {
        /// Whether the GPS is lost.
        active: bool,
    },
    /// The battery suddenly reads this remaining percentage (low-battery failsafe test).
    LowBattery {
        /// New remaining charge, percent.
        remaining_pct: f64,
    },
    /// A motor fails: forced, uncontrolled descent.
    MotorFailure,
    /// A gust: extra wind for a while.
    WindGust {
        /// Gust speed, m/s.
        speed_mps: f64,
        /// Direction the gust blows towards, degrees from north.
        towards_deg: f64,
        /// How long it lasts, simulated seconds.
        duration_s: f64,
    },
    /// Steady wind from now on.
    Wind {
        /// Wind speed, m/s.
        speed_mps: f64,
        /// Direction the wind blows towards, degrees from north.
        towards_deg: f64,
    },
}

/// A stored mission item as the simulator holds it (for checks from outside).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StoredItem {
    /// `MAV_CMD` number.
    pub command: u16,
    /// `param1`..`param4`.
    pub params: [f32; 4],
    /// Latitude, 1e7 degrees.
    pub x: i32,
    /// Longitude, 1e7 degrees.
    pub y: i32,
    /// Altitude, metres.
    pub z: f32,
}

/// Tunables of one simulated vehicle.
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleConfig {
    /// `MAVLink` system id (1..=254 is what ground stations expect).
    pub system_id: u8,
    /// Home / start position.
    pub home: LatLon,
    /// Home altitude above mean sea level, metres (`GLOBAL_POSITION_INT.alt`, `HOME_POSITION`).
    pub home_alt_amsl_m: f64,
    /// The autopilot's unique id (`AUTOPILOT_VERSION.uid`), non-zero; the same for the same
    /// drone across restarts.
    pub uid: u64,
    /// Airframe limits.
    pub limits: Limits,
    /// Waypoint navigation (acceleration along the track, corner speed).
    pub nav: NavLimits,
    /// Battery model.
    pub battery: BatteryModel,
    /// The battery pack (voltage, capacity).
    pub pack: PackModel,
    /// Low-battery failsafe threshold (RTL), percent.
    pub battery_low_pct: f64,
    /// Critical battery threshold (LAND), percent.
    pub battery_critical_pct: f64,
    /// Steady wind.
    pub wind: Environment,
    /// GPS noise, one standard deviation, metres.
    pub gps_noise_m: f64,
    /// GCS heartbeat loss failsafe (RTL) after this long without one, wall seconds.
    pub gcs_failsafe_s: f64,
    /// RTL altitude, metres above home (`RTL_ALT`).
    pub rtl_alt_m: f64,
    /// Hover above home before landing in RTL, simulated seconds (`RTL_LOIT_TIME`).
    pub rtl_loiter_s: f64,
    /// Time on the ground before the land detector fires and the vehicle disarms, simulated
    /// seconds (`LAND_DETECTOR_TRIGGER_SEC`).
    pub land_detect_s: f64,
    /// Default mission cruise speed, m/s (`WPNAV_SPEED`).
    pub cruise_speed_mps: f64,
    /// Stream telemetry without being asked, at these rates. `None` behaves like `ArduPilot`:
    /// only HEARTBEAT until `REQUEST_DATA_STREAM` or `SET_MESSAGE_INTERVAL`.
    pub default_streams: Option<StreamRates>,
    /// Seed of the noise generator (GPS noise, packet loss).
    pub seed: u64,
    /// During an upload, re-request the awaited item after this long without one, wall
    /// seconds (`ArduPilot`: 1 s).
    pub mission_rerequest_s: f64,
    /// Cancel an upload after this long without an item, wall seconds (`ArduPilot`'s
    /// `upload_timeout_ms`: 8 s).
    pub mission_upload_timeout_s: f64,
    /// Terrain (`TERRAIN_ENABLE`): ask the ground station for terrain data, report it and
    /// refuse to arm while it is pending. `None` (the default): no terrain.
    pub terrain: Option<TerrainOptions>,
}

impl VehicleConfig {
    /// Defaults for a drone with `system_id` starting at `home`.
    pub fn new(system_id: u8, home: LatLon) -> Self {
        Self {
            system_id,
            home,
            home_alt_amsl_m: 488.0,
            uid: uid_for(u64::from(system_id), home),
            limits: Limits::default(),
            nav: NavLimits::default(),
            battery: BatteryModel::default(),
            pack: PackModel::default(),
            battery_low_pct: 20.0,
            battery_critical_pct: 10.0,
            wind: Environment::default(),
            gps_noise_m: 0.3,
            gcs_failsafe_s: 5.0,
            rtl_alt_m: 15.0,
            rtl_loiter_s: 5.0,
            land_detect_s: 1.0,
            cruise_speed_mps: 10.0,
            default_streams: None,
            seed: u64::from(system_id),
            mission_rerequest_s: 1.0,
            mission_upload_timeout_s: 8.0,
            terrain: None,
        }
    }
}

/// A stable, non-zero autopilot uid for simulated drone number `index` (its position in the
/// fleet), the same every time that drone starts.
pub fn uid_for_index(index: u32) -> u64 {
    mix(0x5349_4d5f_4156_4941 ^ u64::from(index))
}

/// The default uid of a vehicle: from its system id and home, so a drone restarted with the
/// same settings keeps its identity.
fn uid_for(system_id: u64, home: LatLon) -> u64 {
    mix(system_id ^ home.lat_deg.to_bits().rotate_left(17) ^ home.lon_deg.to_bits())
}

/// `SplitMix64`'s finaliser; never returns 0.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)).max(1)
}

/// Telemetry rates used when streaming by default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamRates {
    /// `GLOBAL_POSITION_INT`, Hz.
    pub position_hz: f64,
    /// `ATTITUDE`, `VFR_HUD`, `SYS_STATUS`, `GPS_RAW_INT`, `BATTERY_STATUS`,
    /// `MISSION_CURRENT` and `EXTENDED_SYS_STATE`, Hz.
    pub status_hz: f64,
}

/// Time handed to [`Vehicle::tick`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tick {
    /// Simulated seconds since the last tick (already multiplied by the speed-up).
    pub dt_sim_s: f64,
    /// Simulated seconds since boot.
    pub sim_time_s: f64,
    /// Wall seconds since boot: link timing (stream rates, heartbeat, GCS failsafe) runs on
    /// the wall clock, as a ground station sees it, whatever the speed-up.
    pub wall_time_s: f64,
}

const MAX_SUBSTEP_S: f64 = 0.1;
const WP_RADIUS_M: f64 = 2.0;
const COMPONENT_ID: u8 = 1;

/// One stored mission item (`MISSION_ITEM_INT` semantics, `x`/`y` in 1e7 degrees).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Item {
    command: mav::MavCmd,
    frame: mav::MavFrame,
    params: [f32; 4],
    x: i32,
    y: i32,
    z: f32,
}

impl Item {
    fn pos(&self) -> Option<LatLon> {
        (self.x != 0 || self.y != 0)
            .then(|| LatLon::new(f64::from(self.x) / 1e7, f64::from(self.y) / 1e7))
    }
}

/// Upload in progress (we are the server: we request items).
#[derive(Debug, Clone)]
struct Upload {
    count: u16,
    items: Vec<Item>,
    partner: (u8, u8),
    last_request_wall_s: f64,
    last_item_wall_s: f64,
    use_int: bool,
}

/// Where the autopilot is within the current mode.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// On the ground, motors idle or off.
    Ground,
    /// Climbing to an altitude above the current spot (`landed_state` TAKEOFF).
    Takeoff { alt_rel_m: f64 },
    /// Flying with some guidance.
    Flying,
}

/// The simulated autopilot.
#[derive(Debug)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "independent autopilot flags (armed, GPS, motor, pause, link) read better than a bitset"
)]
pub struct Vehicle {
    cfg: VehicleConfig,
    kin: Kinematics,
    mode: CopterMode,
    armed: bool,
    phase: Phase,
    battery_pct: f64,
    gps_ok: bool,
    motor_failed: bool,
    wind: Environment,
    gust: Option<(Environment, f64)>,
    /// Mission items; index 0 is home.
    mission: Vec<Item>,
    current_seq: u16,
    last_reached: Option<u16>,
    auto_paused: bool,
    guided_target: Option<(LatLon, f64)>,
    hold_target: Option<(LatLon, f64)>,
    upload: Option<Upload>,
    /// Count of the last completed upload, to re-acknowledge a repeated last item.
    last_upload_count: Option<u16>,
    streams: telemetry::Streams,
    last_heartbeat_wall_s: f64,
    last_gcs_heartbeat_wall_s: Option<f64>,
    gcs_failsafe_active: bool,
    battery_failsafe: u8,
    last_mission_current_sent: Option<u16>,
    link_down: bool,
    packet_loss_pct: f64,
    rng: SmallRng,
    mission_version: u64,
    sim_time_s: f64,
    wall_time_s: f64,
    speed_mps: f64,
    /// The mission may run on the ground: set by `MISSION_START` or a GUIDED takeoff, as
    /// `ArduCopter`'s `auto_armed` (arming alone does not start an AUTO mission).
    auto_armed: bool,
    /// The mission ran to its end (`MISSION_START` then starts it from the top).
    mission_complete: bool,
    /// The leg being flown in AUTO or RTL.
    track: Option<Track>,
    /// Altitude above home the current track starts at (its target altitude moves from it
    /// to the waypoint's along the track).
    track_from_alt_m: f64,
    /// Where an RTL stands.
    rtl: RtlStage,
    /// Altitude when the RTL started: it returns at this or `RTL_ALT`, whichever is higher.
    rtl_return_alt_m: f64,
    /// Hovering over the current waypoint until then (its hold time or its altitude).
    wp_hold_until_s: Option<f64>,
    /// When the vehicle touched down, for the land detector.
    touchdown_s: Option<f64>,
    /// Descending to land (LAND, or the landing part of RTL or of a mission item).
    landing: bool,
    /// The EKF failsafe has fired (GPS lost) and not cleared.
    ekf_failsafe: bool,
    /// Terrain cache and requests, when terrain is enabled.
    terrain: Option<TerrainState>,
}

/// Message ids used for streams.
mod id {
    pub const HEARTBEAT: u32 = 0;
    pub const SYS_STATUS: u32 = 1;
    pub const GPS_RAW_INT: u32 = 24;
    pub const ATTITUDE: u32 = 30;
    pub const GLOBAL_POSITION_INT: u32 = 33;
    pub const MISSION_CURRENT: u32 = 42;
    pub const VFR_HUD: u32 = 74;
    pub const AUTOPILOT_VERSION: u32 = 148;
    pub const BATTERY_STATUS: u32 = 147;
    pub const HOME_POSITION: u32 = 242;
    pub const EXTENDED_SYS_STATE: u32 = 245;
    /// ArduPilot's wind estimate.
    pub const WIND: u32 = 168;
}

const STREAMABLE: [u32; 10] = [
    id::SYS_STATUS,
    id::GPS_RAW_INT,
    id::ATTITUDE,
    id::GLOBAL_POSITION_INT,
    id::MISSION_CURRENT,
    id::VFR_HUD,
    id::BATTERY_STATUS,
    id::HOME_POSITION,
    id::EXTENDED_SYS_STATE,
    id::WIND,
];

impl Vehicle {
    /// A disarmed vehicle on the ground at home, in STABILIZE.
    pub fn new(cfg: VehicleConfig) -> Self {
        let mut streams = telemetry::Streams::default();
        if let Some(r) = cfg.default_streams {
            if r.position_hz > 0.0 {
                streams.set_interval(id::GLOBAL_POSITION_INT, Some(1.0 / r.position_hz));
            }
            for m in [
                id::ATTITUDE,
                id::VFR_HUD,
                id::SYS_STATUS,
                id::GPS_RAW_INT,
                id::BATTERY_STATUS,
                id::MISSION_CURRENT,
                id::EXTENDED_SYS_STATE,
                id::WIND,
            ] {
                if r.status_hz > 0.0 {
                    streams.set_interval(m, Some(1.0 / r.status_hz));
                }
            }
        }
        let home_item = Item {
            command: mav::MavCmd::MAV_CMD_NAV_WAYPOINT,
            frame: mav::MavFrame::MAV_FRAME_GLOBAL,
            params: [0.0; 4],
            x: (cfg.home.lat_deg * 1e7) as i32,
            y: (cfg.home.lon_deg * 1e7) as i32,
            z: cfg.home_alt_amsl_m as f32,
        };
        Self {
            kin: Kinematics::at_rest(cfg.home, 0.0),
            mode: CopterMode::Stabilize,
            armed: false,
            phase: Phase::Ground,
            battery_pct: 100.0,
            gps_ok: true,
            motor_failed: false,
            wind: cfg.wind,
            gust: None,
            mission: vec![home_item],
            current_seq: 0,
            last_reached: None,
            auto_paused: false,
            guided_target: None,
            hold_target: None,
            upload: None,
            last_upload_count: None,
            streams,
            last_heartbeat_wall_s: f64::NEG_INFINITY,
            last_gcs_heartbeat_wall_s: None,
            gcs_failsafe_active: false,
            battery_failsafe: 0,
            last_mission_current_sent: None,
            link_down: false,
            packet_loss_pct: 0.0,
            rng: SmallRng::seed_from_u64(cfg.seed),
            mission_version: 0,
            sim_time_s: 0.0,
            wall_time_s: 0.0,
            speed_mps: cfg.cruise_speed_mps,
            auto_armed: false,
            mission_complete: false,
            track: None,
            track_from_alt_m: 0.0,
            rtl: RtlStage::Climb,
            rtl_return_alt_m: 0.0,
            wp_hold_until_s: None,
            touchdown_s: None,
            landing: false,
            ekf_failsafe: false,
            terrain: cfg.terrain.map(TerrainState::new),
            cfg,
        }
    }

    // --- read-only view --------------------------------------------------------------

    /// `MAVLink` system id.
    pub fn system_id(&self) -> u8 {
        self.cfg.system_id
    }
    /// Current flight mode.
    pub fn mode(&self) -> CopterMode {
        self.mode
    }
    /// Whether the motors are armed.
    pub fn armed(&self) -> bool {
        self.armed
    }
    /// True kinematic state.
    pub fn kinematics(&self) -> &Kinematics {
        &self.kin
    }
    /// Battery remaining, percent.
    pub fn battery_pct(&self) -> f64 {
        self.battery_pct
    }
    /// Number of mission items stored, home included.
    pub fn mission_len(&self) -> usize {
        self.mission.len()
    }
    /// The autopilot's unique id, as `AUTOPILOT_VERSION` reports it.
    pub fn uid(&self) -> u64 {
        self.cfg.uid
    }
    /// The waypoint speed now (`WPNAV_SPEED`, or the last `DO_CHANGE_SPEED`), m/s.
    pub fn wp_speed_mps(&self) -> f64 {
        self.speed_mps
    }
    /// `EXTENDED_SYS_STATE.landed_state` as `ArduCopter` reports it.
    pub fn landed_state(&self) -> mav::MavLandedState {
        use mav::MavLandedState as L;
        if !self.armed || self.phase == Phase::Ground {
            L::MAV_LANDED_STATE_ON_GROUND
        } else if self.landing || self.touchdown_s.is_some() {
            L::MAV_LANDED_STATE_LANDING
        } else if matches!(self.phase, Phase::Takeoff { .. }) {
            L::MAV_LANDED_STATE_TAKEOFF
        } else {
            L::MAV_LANDED_STATE_IN_AIR
        }
    }
    /// Current mission item.
    pub fn current_seq(&self) -> u16 {
        self.current_seq
    }
    /// The stored mission, home first.
    pub fn mission_items(&self) -> Vec<StoredItem> {
        self.mission
            .iter()
            .map(|i| StoredItem {
                command: i.command as u16,
                params: i.params,
                x: i.x,
                y: i.y,
                z: i.z,
            })
            .collect()
    }

    /// Increases whenever the stored mission changes.
    pub fn mission_version(&self) -> u64 {
        self.mission_version
    }

    /// Whether AUTO is paused by `DO_PAUSE_CONTINUE`.
    pub fn auto_paused(&self) -> bool {
        self.auto_paused
    }

    /// Whether a packet in either direction should be dropped now (link-loss and packet-loss
    /// faults). Uses the vehicle's seeded generator.
    pub fn should_drop_packet(&mut self) -> bool {
        self.link_down
            || (self.packet_loss_pct > 0.0
                && self.rng.random_range(0.0..100.0) < self.packet_loss_pct)
    }
    // --- time -------------------------------------------------------------------------

    /// Advances physics and autopilot by `tick` and returns due telemetry and events.
    pub fn tick(&mut self, tick: Tick) -> Vec<MavMessage> {
        let mut out = Vec::new();
        self.wall_time_s = tick.wall_time_s;
        let mut remaining = tick.dt_sim_s.max(0.0);
        while remaining > 1e-9 {
            let dt = remaining.min(MAX_SUBSTEP_S);
            remaining -= dt;
            self.sim_time_s += dt;
            self.physics_step(dt, &mut out);
        }
        self.sim_time_s = tick.sim_time_s.max(self.sim_time_s);
        self.failsafes(&mut out);
        self.upload_timeout(&mut out);
        self.streams(&mut out);
        self.terrain_tick(&mut out);
        out
    }

    fn environment(&self) -> Environment {
        let mut env = self.wind;
        if let Some((g, _)) = self.gust {
            env.wind_n_mps += g.wind_n_mps;
            env.wind_e_mps += g.wind_e_mps;
        }
        env
    }

    fn physics_step(&mut self, dt: f64, out: &mut Vec<MavMessage>) {
        if let Some((g, left)) = self.gust {
            self.gust = (left - dt > 0.0).then_some((g, left - dt));
        }
        let guidance = self.guidance(dt, out);
        let env = self.environment();
        self.kin = flight::step(&self.kin, &guidance, &self.cfg.limits, &env, dt);
        self.battery_pct = flight::drain_battery(
            self.battery_pct,
            &self.kin,
            self.armed,
            &self.cfg.battery,
            dt,
        );
        self.landing = matches!(guidance, Guidance::Land { .. });
        if self.phase == Phase::Ground || !self.kin.on_ground() {
            self.touchdown_s = None;
            return;
        }
        match guidance {
            // A motor failure ends on the ground: the crash check disarms at once.
            Guidance::Uncontrolled { .. } => self.disarm(out),
            Guidance::Land { .. } => {
                let since = *self.touchdown_s.get_or_insert(self.sim_time_s);
                if self.sim_time_s - since >= self.cfg.land_detect_s - 1e-9 {
                    self.land_complete(out);
                }
            }
            _ => {}
        }
    }

    /// Component id the vehicle sends from (`MAV_COMP_ID_AUTOPILOT1`).
    pub const fn component_id() -> u8 {
        COMPONENT_ID
    }
}

fn statustext(severity: mav::MavSeverity, text: &str) -> MavMessage {
    MavMessage::STATUSTEXT(mav::STATUSTEXT_DATA {
        severity,
        text: text.into(),
    })
}

mod autopilot;
mod failsafe;
mod protocol;
mod telemetry;
mod terrain;
#[cfg(test)]
mod terrain_tests;
#[cfg(test)]
mod tests;
