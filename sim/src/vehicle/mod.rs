//! One simulated `ArduCopter` as a ground station sees it: modes, arming, the mission protocol
//! (server side), commands, telemetry streams and failsafes. I/O-free: the runtime feeds it
//! received messages ([`Vehicle::handle`]) and time ([`Vehicle::tick`]) and sends what comes
//! back.

#![expect(
    deprecated,
    reason = "ArduPilot still speaks MISSION_ITEM, MISSION_REQUEST, SET_MODE and REQUEST_DATA_STREAM, and so do MAVProxy and Mission Planner"
)]

use crate::flight::{self, BatteryModel, Environment, Guidance, Kinematics, Limits};
use aviary_core::LatLon;
use mav::MavMessage;
use mavlink::dialects::ardupilotmega as mav;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::collections::HashMap;

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
    /// Home altitude above mean sea level, metres.
    pub home_alt_amsl_m: f64,
    /// Airframe limits.
    pub limits: Limits,
    /// Battery model.
    pub battery: BatteryModel,
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
}

impl VehicleConfig {
    /// Defaults for a drone with `system_id` starting at `home`.
    pub fn new(system_id: u8, home: LatLon) -> Self {
        Self {
            system_id,
            home,
            home_alt_amsl_m: 488.0,
            limits: Limits::default(),
            battery: BatteryModel::default(),
            battery_low_pct: 20.0,
            battery_critical_pct: 10.0,
            wind: Environment::default(),
            gps_noise_m: 0.3,
            gcs_failsafe_s: 5.0,
            rtl_alt_m: 15.0,
            cruise_speed_mps: 10.0,
            default_streams: None,
            seed: u64::from(system_id),
            mission_rerequest_s: 1.0,
            mission_upload_timeout_s: 8.0,
        }
    }
}

/// Telemetry rates used when streaming by default.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StreamRates {
    /// `GLOBAL_POSITION_INT`, Hz.
    pub position_hz: f64,
    /// `ATTITUDE`, `VFR_HUD`, `SYS_STATUS`, `GPS_RAW_INT`, `BATTERY_STATUS` and
    /// `MISSION_CURRENT`, Hz.
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
const ALT_TOLERANCE_M: f64 = 1.0;
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
    /// Climbing to an altitude above the current spot.
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
    stream_interval_s: HashMap<u32, f64>,
    stream_due_s: HashMap<u32, f64>,
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
}

const STREAMABLE: [u32; 8] = [
    id::SYS_STATUS,
    id::GPS_RAW_INT,
    id::ATTITUDE,
    id::GLOBAL_POSITION_INT,
    id::MISSION_CURRENT,
    id::VFR_HUD,
    id::BATTERY_STATUS,
    id::HOME_POSITION,
];

impl Vehicle {
    /// A disarmed vehicle on the ground at home, in STABILIZE.
    pub fn new(cfg: VehicleConfig) -> Self {
        let mut stream_interval_s = HashMap::new();
        if let Some(r) = cfg.default_streams {
            if r.position_hz > 0.0 {
                stream_interval_s.insert(id::GLOBAL_POSITION_INT, 1.0 / r.position_hz);
            }
            for m in [
                id::ATTITUDE,
                id::VFR_HUD,
                id::SYS_STATUS,
                id::GPS_RAW_INT,
                id::BATTERY_STATUS,
                id::MISSION_CURRENT,
            ] {
                if r.status_hz > 0.0 {
                    stream_interval_s.insert(m, 1.0 / r.status_hz);
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
            stream_interval_s,
            stream_due_s: HashMap::new(),
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
        out
    }

    /// Re-requests the awaited item after `mission_rerequest_s` without one and gives up after
    /// `mission_upload_timeout_s` (`ArduPilot`'s `MissionItemProtocol::update`: 1 s and 8 s),
    /// keeping the previous mission. The vehicle's re-requests are half of the protocol's
    /// loss recovery: they rescue an upload whose request or item was lost while the ground
    /// station is still waiting.

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
        let guidance = self.guidance(out);
        let env = self.environment();
        self.kin = flight::step(&self.kin, &guidance, &self.cfg.limits, &env, dt);
        self.battery_pct = flight::drain_battery(
            self.battery_pct,
            &self.kin,
            self.armed,
            &self.cfg.battery,
            dt,
        );
        if self.phase != Phase::Ground
            && self.kin.on_ground()
            && matches!(
                guidance,
                Guidance::Land { .. } | Guidance::Uncontrolled { .. }
            )
        {
            self.phase = Phase::Ground;
            self.disarm(out, "Landed: disarming");
        }
    }

    /// Chooses what the airframe does this sub-step, advancing the mission as items complete.

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
mod protocol;
mod telemetry;
#[cfg(test)]
mod tests;
