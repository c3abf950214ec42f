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

    // --- faults -----------------------------------------------------------------------

    /// Applies a fault now. Returns the messages the autopilot sends in reaction.
    pub fn inject(&mut self, fault: Fault) -> Vec<MavMessage> {
        let mut out = Vec::new();
        match fault {
            Fault::LinkLoss { active } => self.link_down = active,
            Fault::PacketLoss { pct } => self.packet_loss_pct = pct.clamp(0.0, 100.0),
            Fault::GpsLoss { active } => {
                self.gps_ok = !active;
                if active {
                    out.push(statustext(
                        mav::MavSeverity::MAV_SEVERITY_CRITICAL,
                        "GPS Glitch",
                    ));
                    if self.armed
                        && self.phase != Phase::Ground
                        && !matches!(self.mode, CopterMode::Land)
                    {
                        out.push(statustext(
                            mav::MavSeverity::MAV_SEVERITY_CRITICAL,
                            "EKF Failsafe: changed to LAND Mode",
                        ));
                        self.set_mode(CopterMode::Land);
                    }
                } else {
                    out.push(statustext(
                        mav::MavSeverity::MAV_SEVERITY_INFO,
                        "GPS Glitch cleared",
                    ));
                }
            }
            Fault::LowBattery { remaining_pct } => {
                self.battery_pct = remaining_pct.clamp(0.0, 100.0);
            }
            Fault::MotorFailure => {
                self.motor_failed = true;
                out.push(statustext(
                    mav::MavSeverity::MAV_SEVERITY_EMERGENCY,
                    "Motor failure: forced landing",
                ));
            }
            Fault::WindGust {
                speed_mps,
                towards_deg,
                duration_s,
            } => {
                let r = towards_deg.to_radians();
                self.gust = Some((
                    Environment {
                        wind_n_mps: speed_mps * r.cos(),
                        wind_e_mps: speed_mps * r.sin(),
                    },
                    duration_s,
                ));
            }
            Fault::Wind {
                speed_mps,
                towards_deg,
            } => {
                let r = towards_deg.to_radians();
                self.wind = Environment {
                    wind_n_mps: speed_mps * r.cos(),
                    wind_e_mps: speed_mps * r.sin(),
                };
            }
        }
        out
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
    fn upload_timeout(&mut self, out: &mut Vec<MavMessage>) {
        let now = self.wall_time_s;
        let (rerequest_s, give_up_s) = (
            self.cfg.mission_rerequest_s,
            self.cfg.mission_upload_timeout_s,
        );
        let Some(up) = self.upload.as_mut() else {
            return;
        };
        if now - up.last_item_wall_s > give_up_s {
            let partner = up.partner;
            self.upload = None;
            out.push(mission_ack(
                partner.0,
                partner.1,
                mav::MavMissionResult::MAV_MISSION_OPERATION_CANCELLED,
            ));
        } else if now - up.last_request_wall_s > rerequest_s {
            up.last_request_wall_s = now;
            out.push(mission_request(
                up.partner,
                up.items.len() as u16,
                up.use_int,
            ));
        }
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
    fn guidance(&mut self, out: &mut Vec<MavMessage>) -> Guidance {
        if self.motor_failed && (self.armed || self.phase != Phase::Ground) {
            return Guidance::Uncontrolled { descent_mps: 3.0 };
        }
        if !self.armed {
            return Guidance::Idle;
        }
        let here = self.stop_point();
        match self.phase {
            Phase::Ground => {
                if self.mode == CopterMode::Auto {
                    self.auto_advance(out)
                } else {
                    Guidance::Idle
                }
            }
            Phase::Takeoff { alt_rel_m } => {
                if self.kin.alt_rel_m >= alt_rel_m - ALT_TOLERANCE_M * 0.5 {
                    self.phase = Phase::Flying;
                    if self.mode == CopterMode::Auto {
                        self.item_reached(out);
                        return self.auto_advance(out);
                    }
                    self.guided_target = Some((self.kin.pos, alt_rel_m));
                }
                let pos = self.hold_target.map_or(self.kin.pos, |h| h.0);
                Guidance::Hold { pos, alt_rel_m }
            }
            Phase::Flying => match self.mode {
                CopterMode::Auto => {
                    if self.auto_paused {
                        let (pos, alt) = *self.hold_target.get_or_insert(here);
                        Guidance::Hold {
                            pos,
                            alt_rel_m: alt,
                        }
                    } else {
                        self.auto_advance(out)
                    }
                }
                CopterMode::Guided => {
                    let (pos, alt) = *self.guided_target.get_or_insert(here);
                    Guidance::GoTo {
                        pos,
                        alt_rel_m: alt,
                        speed_mps: self.speed_mps,
                    }
                }
                CopterMode::Rtl => self.rtl_guidance(),
                CopterMode::Land => Guidance::Land {
                    pos: self.hold_target.get_or_insert(here).0,
                },
                CopterMode::Loiter
                | CopterMode::Brake
                | CopterMode::Stabilize
                | CopterMode::AltHold => {
                    let (pos, alt) = *self.hold_target.get_or_insert(here);
                    Guidance::Hold {
                        pos,
                        alt_rel_m: alt,
                    }
                }
            },
        }
    }

    /// Where the vehicle comes to rest if it brakes now at the acceleration limit.
    fn stop_point(&self) -> (LatLon, f64) {
        let v = self.kin.ground_speed_mps();
        let d = v * v / (2.0 * self.cfg.limits.accel_mps2.max(0.1));
        let pos = if v > 0.1 {
            self.kin
                .pos
                .offset_ne(self.kin.vel_n_mps / v * d, self.kin.vel_e_mps / v * d)
        } else {
            self.kin.pos
        };
        (pos, self.kin.alt_rel_m)
    }

    fn rtl_guidance(&mut self) -> Guidance {
        let home = self.cfg.home;
        let return_alt = self.cfg.rtl_alt_m.max(0.0);
        let dist = self.kin.pos.distance_m(home);
        if dist > WP_RADIUS_M {
            // Climb first (to RTL_ALT), then fly home at that altitude.
            let target_alt = self.kin.alt_rel_m.max(return_alt);
            if self.kin.alt_rel_m < return_alt - ALT_TOLERANCE_M {
                return Guidance::Hold {
                    pos: self.hold_target.get_or_insert((self.kin.pos, target_alt)).0,
                    alt_rel_m: return_alt,
                };
            }
            return Guidance::GoTo {
                pos: home,
                alt_rel_m: target_alt,
                speed_mps: self.cfg.cruise_speed_mps,
            };
        }
        Guidance::Land { pos: home }
    }

    /// Guidance for the current AUTO item; completes items and moves on.
    fn auto_advance(&mut self, out: &mut Vec<MavMessage>) -> Guidance {
        loop {
            if self.current_seq == 0 {
                self.current_seq = 1;
            }
            let Some(item) = self.mission.get(usize::from(self.current_seq)).copied() else {
                // Mission complete: hold where we are (ArduCopter loiters at the last waypoint).
                let (pos, alt) = *self
                    .hold_target
                    .get_or_insert((self.kin.pos, self.kin.alt_rel_m));
                return if self.phase == Phase::Ground {
                    Guidance::Idle
                } else {
                    Guidance::Hold {
                        pos,
                        alt_rel_m: alt,
                    }
                };
            };
            self.announce_current(out);
            let alt = f64::from(item.z);
            match item.command {
                mav::MavCmd::MAV_CMD_NAV_TAKEOFF => {
                    if self.phase == Phase::Ground {
                        self.phase = Phase::Takeoff {
                            alt_rel_m: alt.max(1.0),
                        };
                        self.hold_target = Some((self.kin.pos, alt.max(1.0)));
                        return Guidance::Hold {
                            pos: self.kin.pos,
                            alt_rel_m: alt.max(1.0),
                        };
                    }
                    if self.kin.alt_rel_m >= alt - ALT_TOLERANCE_M {
                        self.item_reached(out);
                        continue;
                    }
                    return Guidance::Hold {
                        pos: self.hold_target.map_or(self.kin.pos, |h| h.0),
                        alt_rel_m: alt,
                    };
                }
                mav::MavCmd::MAV_CMD_NAV_WAYPOINT | mav::MavCmd::MAV_CMD_NAV_LOITER_UNLIM => {
                    if self.phase == Phase::Ground {
                        // ArduCopter does not take off on a plain waypoint: it stays on the ground.
                        return Guidance::Idle;
                    }
                    let target = item.pos().unwrap_or(self.kin.pos);
                    if self.kin.pos.distance_m(target) <= WP_RADIUS_M
                        && (self.kin.alt_rel_m - alt).abs() <= ALT_TOLERANCE_M
                        && item.command == mav::MavCmd::MAV_CMD_NAV_WAYPOINT
                    {
                        self.item_reached(out);
                        continue;
                    }
                    return Guidance::GoTo {
                        pos: target,
                        alt_rel_m: alt,
                        speed_mps: self.speed_mps,
                    };
                }
                mav::MavCmd::MAV_CMD_NAV_LAND => {
                    let target = item.pos().unwrap_or(self.kin.pos);
                    if self.kin.pos.distance_m(target) > WP_RADIUS_M {
                        return Guidance::GoTo {
                            pos: target,
                            alt_rel_m: self.kin.alt_rel_m,
                            speed_mps: self.speed_mps,
                        };
                    }
                    return Guidance::Land { pos: target };
                }
                mav::MavCmd::MAV_CMD_NAV_RETURN_TO_LAUNCH => {
                    self.item_reached(out);
                    self.set_mode(CopterMode::Rtl);
                    return self.rtl_guidance();
                }
                mav::MavCmd::MAV_CMD_DO_CHANGE_SPEED => {
                    if item.params[1] > 0.0 {
                        self.speed_mps =
                            f64::from(item.params[1]).min(self.cfg.limits.max_speed_mps);
                    }
                    self.item_reached(out);
                }
                // Camera, servo, ROI and other DO commands complete at once.
                _ => self.item_reached(out),
            }
        }
    }

    fn announce_current(&mut self, out: &mut Vec<MavMessage>) {
        if self.last_mission_current_sent != Some(self.current_seq) {
            self.last_mission_current_sent = Some(self.current_seq);
            out.push(self.mission_current());
        }
    }

    fn item_reached(&mut self, out: &mut Vec<MavMessage>) {
        if self.last_reached != Some(self.current_seq) {
            self.last_reached = Some(self.current_seq);
            out.push(MavMessage::MISSION_ITEM_REACHED(
                mav::MISSION_ITEM_REACHED_DATA {
                    seq: self.current_seq,
                },
            ));
        }
        self.hold_target = None;
        self.current_seq = self.current_seq.saturating_add(1);
        if usize::from(self.current_seq) < self.mission.len() {
            self.announce_current(out);
        }
    }

    fn failsafes(&mut self, out: &mut Vec<MavMessage>) {
        let airborne = self.armed && self.phase != Phase::Ground;
        // Battery: RTL at the low threshold, LAND at the critical one (each once).
        if airborne
            && self.battery_failsafe < 2
            && self.battery_pct <= self.cfg.battery_critical_pct
        {
            self.battery_failsafe = 2;
            out.push(statustext(
                mav::MavSeverity::MAV_SEVERITY_CRITICAL,
                "Battery failsafe: critical, LAND",
            ));
            self.set_mode(CopterMode::Land);
        } else if airborne
            && self.battery_failsafe < 1
            && self.battery_pct <= self.cfg.battery_low_pct
        {
            self.battery_failsafe = 1;
            out.push(statustext(
                mav::MavSeverity::MAV_SEVERITY_WARNING,
                "Battery failsafe: low, RTL",
            ));
            if !matches!(self.mode, CopterMode::Land | CopterMode::Rtl) {
                self.set_mode(CopterMode::Rtl);
            }
        }
        // GCS heartbeat: only once a GCS has been heard, as ArduPilot does.
        if let Some(last) = self.last_gcs_heartbeat_wall_s {
            let lost = self.wall_time_s - last > self.cfg.gcs_failsafe_s;
            if lost && !self.gcs_failsafe_active && airborne {
                self.gcs_failsafe_active = true;
                out.push(statustext(
                    mav::MavSeverity::MAV_SEVERITY_CRITICAL,
                    "GCS Failsafe: RTL",
                ));
                if !matches!(self.mode, CopterMode::Land | CopterMode::Rtl) {
                    self.set_mode(CopterMode::Rtl);
                }
            } else if !lost && self.gcs_failsafe_active {
                self.gcs_failsafe_active = false;
                out.push(statustext(
                    mav::MavSeverity::MAV_SEVERITY_INFO,
                    "GCS Failsafe Cleared",
                ));
            }
        }
    }

    fn streams(&mut self, out: &mut Vec<MavMessage>) {
        let now = self.wall_time_s;
        if now - self.last_heartbeat_wall_s >= 1.0 {
            self.last_heartbeat_wall_s = now;
            out.push(self.heartbeat());
        }
        for m in STREAMABLE {
            let Some(&interval) = self.stream_interval_s.get(&m) else {
                continue;
            };
            let due = self.stream_due_s.entry(m).or_insert(now);
            if now + 1e-9 >= *due {
                // Catch up without bursting after a stall.
                *due = (*due + interval).max(now);
                if let Some(msg) = self.message_by_id(m) {
                    out.push(msg);
                }
            }
        }
    }

    fn set_mode(&mut self, mode: CopterMode) {
        if self.mode == mode {
            return;
        }
        self.mode = mode;
        self.hold_target = None;
        self.auto_paused = false;
        if mode == CopterMode::Guided {
            self.guided_target = None;
        }
        if mode == CopterMode::Auto && self.phase != Phase::Ground {
            // Resume the mission where it stood (or from the start if it had finished).
            if usize::from(self.current_seq) >= self.mission.len() {
                self.current_seq = 1;
            }
        }
    }

    fn disarm(&mut self, out: &mut Vec<MavMessage>, why: &str) {
        if self.armed {
            self.armed = false;
            out.push(statustext(mav::MavSeverity::MAV_SEVERITY_INFO, why));
        }
        self.phase = Phase::Ground;
        self.motor_failed = false;
        if matches!(self.mode, CopterMode::Land | CopterMode::Rtl) {
            self.mode = CopterMode::Land;
        }
    }

    // --- receive ------------------------------------------------------------------------

    /// Handles one received message from system `from_sys`/`from_comp`; returns the replies.
    pub fn handle(&mut self, from_sys: u8, from_comp: u8, msg: &MavMessage) -> Vec<MavMessage> {
        let mut out = Vec::new();
        let me = self.cfg.system_id;
        let for_me = |t: u8| t == 0 || t == me;
        match msg {
            MavMessage::HEARTBEAT(hb) if hb.mavtype == mav::MavType::MAV_TYPE_GCS => {
                self.last_gcs_heartbeat_wall_s = Some(self.wall_time_s);
            }
            MavMessage::COMMAND_LONG(c) if for_me(c.target_system) => {
                let p = [
                    c.param1, c.param2, c.param3, c.param4, c.param5, c.param6, c.param7,
                ];
                let (result, extra) = self.command(c.command, p, None, &mut out);
                out.push(ack(c.command, result, from_sys, from_comp));
                out.extend(extra);
            }
            MavMessage::COMMAND_INT(c) if for_me(c.target_system) => {
                let pos = (c.x != 0 || c.y != 0)
                    .then(|| LatLon::new(f64::from(c.x) / 1e7, f64::from(c.y) / 1e7));
                let p = [
                    c.param1,
                    c.param2,
                    c.param3,
                    c.param4,
                    f32::NAN,
                    f32::NAN,
                    c.z,
                ];
                let (result, extra) = self.command(c.command, p, pos, &mut out);
                out.push(ack(c.command, result, from_sys, from_comp));
                out.extend(extra);
            }
            MavMessage::SET_MODE(m) if for_me(m.target_system) => {
                if let Some(mode) = CopterMode::from_custom_mode(m.custom_mode) {
                    let _ = self.change_mode(mode, &mut out);
                }
            }
            MavMessage::REQUEST_DATA_STREAM(r) if for_me(r.target_system) => {
                self.request_data_stream(r);
            }
            MavMessage::MISSION_COUNT(m) if for_me(m.target_system) => {
                self.upload_start(m.count, (from_sys, from_comp), true, &mut out);
            }
            MavMessage::MISSION_ITEM_INT(m) if for_me(m.target_system) => {
                let item = Item {
                    command: m.command,
                    frame: m.frame,
                    params: [m.param1, m.param2, m.param3, m.param4],
                    x: m.x,
                    y: m.y,
                    z: m.z,
                };
                self.upload_item(m.seq, item, (from_sys, from_comp), &mut out);
            }
            MavMessage::MISSION_ITEM(m) if for_me(m.target_system) => {
                let item = Item {
                    command: m.command,
                    frame: m.frame,
                    params: [m.param1, m.param2, m.param3, m.param4],
                    x: (f64::from(m.x) * 1e7).round() as i32,
                    y: (f64::from(m.y) * 1e7).round() as i32,
                    z: m.z,
                };
                if let Some(up) = self.upload.as_mut() {
                    up.use_int = false;
                }
                self.upload_item(m.seq, item, (from_sys, from_comp), &mut out);
            }
            MavMessage::MISSION_REQUEST_LIST(m) if for_me(m.target_system) => {
                out.push(MavMessage::MISSION_COUNT(mav::MISSION_COUNT_DATA {
                    target_system: from_sys,
                    target_component: from_comp,
                    count: self.mission.len() as u16,
                }));
            }
            MavMessage::MISSION_REQUEST_INT(m) if for_me(m.target_system) => {
                if let Some(item) = self.mission_item(m.seq, from_sys, from_comp, true) {
                    out.push(item);
                } else {
                    out.push(mission_ack(
                        from_sys,
                        from_comp,
                        mav::MavMissionResult::MAV_MISSION_INVALID_SEQUENCE,
                    ));
                }
            }
            MavMessage::MISSION_REQUEST(m) if for_me(m.target_system) => {
                if let Some(item) = self.mission_item(m.seq, from_sys, from_comp, false) {
                    out.push(item);
                } else {
                    out.push(mission_ack(
                        from_sys,
                        from_comp,
                        mav::MavMissionResult::MAV_MISSION_INVALID_SEQUENCE,
                    ));
                }
            }
            MavMessage::MISSION_CLEAR_ALL(m) if for_me(m.target_system) => {
                self.mission.truncate(1);
                self.mission_version += 1;
                self.current_seq = 0;
                self.upload = None;
                out.push(mission_ack(
                    from_sys,
                    from_comp,
                    mav::MavMissionResult::MAV_MISSION_ACCEPTED,
                ));
            }
            MavMessage::MISSION_SET_CURRENT(m)
                if for_me(m.target_system) && usize::from(m.seq) < self.mission.len() =>
            {
                self.current_seq = m.seq;
                self.last_reached = None;
                self.hold_target = None;
                out.push(self.mission_current());
            }
            _ => {}
        }
        out
    }

    fn request_data_stream(&mut self, r: &mav::REQUEST_DATA_STREAM_DATA) {
        let ids: &[u32] = match r.req_stream_id as u32 {
            0 => &STREAMABLE,
            2 => &[id::SYS_STATUS, id::GPS_RAW_INT, id::MISSION_CURRENT],
            6 => &[id::GLOBAL_POSITION_INT],
            10 => &[id::ATTITUDE],
            11 => &[id::VFR_HUD],
            12 => &[id::BATTERY_STATUS],
            _ => &[],
        };
        for &m in ids {
            if r.start_stop == 0 || r.req_message_rate == 0 {
                self.stream_interval_s.remove(&m);
            } else {
                self.stream_interval_s
                    .insert(m, 1.0 / f64::from(r.req_message_rate));
            }
        }
    }

    fn change_mode(&mut self, mode: CopterMode, out: &mut Vec<MavMessage>) -> mav::MavResult {
        use mav::MavResult::{MAV_RESULT_ACCEPTED, MAV_RESULT_FAILED};
        if matches!(
            mode,
            CopterMode::Auto
                | CopterMode::Guided
                | CopterMode::Loiter
                | CopterMode::Rtl
                | CopterMode::Brake
        ) && !self.gps_ok
        {
            out.push(statustext(
                mav::MavSeverity::MAV_SEVERITY_WARNING,
                "Mode change failed: requires position",
            ));
            return MAV_RESULT_FAILED;
        }
        if mode == CopterMode::Auto && self.mission.len() < 2 {
            out.push(statustext(
                mav::MavSeverity::MAV_SEVERITY_WARNING,
                "Mode change failed: no mission",
            ));
            return MAV_RESULT_FAILED;
        }
        self.set_mode(mode);
        if self.armed
            && self.phase == Phase::Ground
            && matches!(mode, CopterMode::Rtl | CopterMode::Land)
        {
            self.disarm(out, "Disarming motors");
        }
        MAV_RESULT_ACCEPTED
    }

    fn arming_checks(&self) -> Result<(), &'static str> {
        if !self.gps_ok {
            return Err("PreArm: GPS: no fix");
        }
        if self.battery_pct <= self.cfg.battery_low_pct {
            return Err("PreArm: Battery below minimum arming capacity");
        }
        if self.motor_failed {
            return Err("PreArm: Motors: check failed");
        }
        if matches!(
            self.mode,
            CopterMode::Rtl | CopterMode::Land | CopterMode::Brake
        ) {
            return Err("Arm: Mode not armable");
        }
        if self.mode == CopterMode::Auto && self.mission.len() < 2 {
            return Err("Arm: Mission: no mission");
        }
        Ok(())
    }

    /// Executes a command; returns its result and any messages to send after the ack.
    fn command(
        &mut self,
        cmd: mav::MavCmd,
        p: [f32; 7],
        pos: Option<LatLon>,
        out: &mut Vec<MavMessage>,
    ) -> (mav::MavResult, Vec<MavMessage>) {
        use mav::MavCmd as C;
        use mav::MavResult::{
            MAV_RESULT_ACCEPTED, MAV_RESULT_DENIED, MAV_RESULT_FAILED,
            MAV_RESULT_TEMPORARILY_REJECTED, MAV_RESULT_UNSUPPORTED,
        };
        let mut after = Vec::new();
        let result = match cmd {
            C::MAV_CMD_COMPONENT_ARM_DISARM => {
                if p[0] > 0.5 {
                    if self.armed {
                        MAV_RESULT_ACCEPTED
                    } else if let Err(why) = self.arming_checks() {
                        out.push(statustext(mav::MavSeverity::MAV_SEVERITY_CRITICAL, why));
                        MAV_RESULT_FAILED
                    } else {
                        self.armed = true;
                        self.phase = Phase::Ground;
                        self.battery_failsafe = 0;
                        out.push(statustext(
                            mav::MavSeverity::MAV_SEVERITY_INFO,
                            "Arming motors",
                        ));
                        MAV_RESULT_ACCEPTED
                    }
                } else if self.phase == Phase::Ground || (p[1] - 21196.0).abs() < 0.5 {
                    self.disarm(out, "Disarming motors");
                    MAV_RESULT_ACCEPTED
                } else {
                    MAV_RESULT_DENIED
                }
            }
            C::MAV_CMD_NAV_TAKEOFF => {
                let alt = f64::from(p[6]);
                if self.mode != CopterMode::Guided
                    || !self.armed
                    || self.phase != Phase::Ground
                    || !alt.is_finite()
                    || alt <= 0.0
                {
                    MAV_RESULT_FAILED
                } else {
                    self.phase = Phase::Takeoff { alt_rel_m: alt };
                    self.hold_target = Some((self.kin.pos, alt));
                    MAV_RESULT_ACCEPTED
                }
            }
            C::MAV_CMD_DO_SET_MODE => match CopterMode::from_custom_mode(p[1] as u32) {
                Some(mode) if (p[0] as u32) & 1 == 1 => self.change_mode(mode, out),
                _ => MAV_RESULT_UNSUPPORTED,
            },
            C::MAV_CMD_NAV_RETURN_TO_LAUNCH => self.change_mode(CopterMode::Rtl, out),
            C::MAV_CMD_NAV_LAND => self.change_mode(CopterMode::Land, out),
            C::MAV_CMD_MISSION_START => {
                if !self.armed {
                    MAV_RESULT_DENIED
                } else if self.mission.len() < 2 {
                    MAV_RESULT_FAILED
                } else {
                    let r = self.change_mode(CopterMode::Auto, out);
                    if r == MAV_RESULT_ACCEPTED {
                        let first = p[0] as u16;
                        self.current_seq = if first >= 1 && usize::from(first) < self.mission.len()
                        {
                            first
                        } else {
                            1
                        };
                        self.last_reached = None;
                        self.auto_paused = false;
                    }
                    r
                }
            }
            C::MAV_CMD_DO_PAUSE_CONTINUE => {
                if matches!(self.mode, CopterMode::Auto | CopterMode::Guided)
                    && self.phase != Phase::Ground
                {
                    self.auto_paused = p[0] < 0.5;
                    self.hold_target = self.auto_paused.then(|| self.stop_point());
                    if self.mode == CopterMode::Guided && self.auto_paused {
                        self.guided_target = Some(self.stop_point());
                    }
                    MAV_RESULT_ACCEPTED
                } else {
                    MAV_RESULT_TEMPORARILY_REJECTED
                }
            }
            C::MAV_CMD_DO_REPOSITION => {
                if self.mode != CopterMode::Guided || self.phase == Phase::Ground {
                    MAV_RESULT_DENIED
                } else {
                    let alt = if p[6].is_finite() {
                        f64::from(p[6])
                    } else {
                        self.kin.alt_rel_m
                    };
                    self.guided_target = Some((pos.unwrap_or(self.kin.pos), alt));
                    MAV_RESULT_ACCEPTED
                }
            }
            C::MAV_CMD_DO_CHANGE_SPEED => {
                if p[1] > 0.0 {
                    self.speed_mps = f64::from(p[1]).min(self.cfg.limits.max_speed_mps);
                }
                MAV_RESULT_ACCEPTED
            }
            C::MAV_CMD_SET_MESSAGE_INTERVAL => {
                let m = p[0] as u32;
                let interval_us = p[1];
                if STREAMABLE.contains(&m) || m == id::HEARTBEAT {
                    if m != id::HEARTBEAT {
                        if interval_us < 0.0 {
                            self.stream_interval_s.remove(&m);
                        } else if interval_us == 0.0 {
                            self.stream_interval_s.insert(m, 0.25);
                        } else {
                            self.stream_interval_s
                                .insert(m, f64::from(interval_us) / 1e6);
                        }
                        self.stream_due_s.remove(&m);
                    }
                    MAV_RESULT_ACCEPTED
                } else {
                    MAV_RESULT_UNSUPPORTED
                }
            }
            C::MAV_CMD_REQUEST_MESSAGE => match self.message_by_id(p[0] as u32) {
                Some(m) => {
                    after.push(m);
                    MAV_RESULT_ACCEPTED
                }
                None => MAV_RESULT_UNSUPPORTED,
            },
            C::MAV_CMD_GET_HOME_POSITION => {
                after.push(self.home_position());
                MAV_RESULT_ACCEPTED
            }
            C::MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES => {
                after.push(self.autopilot_version());
                MAV_RESULT_ACCEPTED
            }
            _ => MAV_RESULT_UNSUPPORTED,
        };
        (result, after)
    }

    // --- mission protocol (server side) ------------------------------------------------

    fn upload_start(
        &mut self,
        count: u16,
        partner: (u8, u8),
        use_int: bool,
        out: &mut Vec<MavMessage>,
    ) {
        if count == 0 {
            self.mission.truncate(1);
            self.mission_version += 1;
            self.current_seq = 0;
            self.upload = None;
            out.push(mission_ack(
                partner.0,
                partner.1,
                mav::MavMissionResult::MAV_MISSION_ACCEPTED,
            ));
            return;
        }
        if count > 700 {
            out.push(mission_ack(
                partner.0,
                partner.1,
                mav::MavMissionResult::MAV_MISSION_NO_SPACE,
            ));
            return;
        }
        self.last_upload_count = None;
        self.upload = Some(Upload {
            count,
            items: Vec::with_capacity(usize::from(count)),
            partner,
            last_request_wall_s: self.wall_time_s,
            last_item_wall_s: self.wall_time_s,
            use_int,
        });
        out.push(mission_request(partner, 0, use_int));
    }

    fn upload_item(&mut self, seq: u16, item: Item, from: (u8, u8), out: &mut Vec<MavMessage>) {
        let Some(up) = self.upload.as_mut() else {
            // A repeated last item after we finished: our ACK was lost, send it again.
            if self.last_upload_count.is_some_and(|n| seq + 1 == n) {
                out.push(mission_ack(
                    from.0,
                    from.1,
                    mav::MavMissionResult::MAV_MISSION_ACCEPTED,
                ));
            }
            return;
        };
        let expected = up.items.len() as u16;
        up.last_item_wall_s = self.wall_time_s;
        if seq != expected {
            // Duplicate or out of order: ask again for the one we need.
            up.last_request_wall_s = self.wall_time_s;
            out.push(mission_request(up.partner, expected, up.use_int));
            return;
        }
        if !matches!(
            item.frame,
            mav::MavFrame::MAV_FRAME_GLOBAL
                | mav::MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT
                | mav::MavFrame::MAV_FRAME_GLOBAL_INT
                | mav::MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT_INT
                | mav::MavFrame::MAV_FRAME_MISSION
        ) {
            let partner = up.partner;
            self.upload = None;
            out.push(mission_ack(
                partner.0,
                partner.1,
                mav::MavMissionResult::MAV_MISSION_UNSUPPORTED_FRAME,
            ));
            return;
        }
        up.items.push(item);
        if up.items.len() < usize::from(up.count) {
            up.last_request_wall_s = self.wall_time_s;
            out.push(mission_request(up.partner, expected + 1, up.use_int));
            return;
        }
        let Some(done) = self.upload.take() else {
            return;
        };
        let home = self.mission.first().copied();
        self.mission = done.items;
        self.mission_version += 1;
        // Item 0 is home: ArduPilot keeps its own home whatever the ground station sent.
        if let (Some(h), Some(first)) = (home, self.mission.first_mut()) {
            *first = h;
        }
        self.current_seq = 0;
        self.last_reached = None;
        self.last_upload_count = Some(done.count);
        out.push(mission_ack(
            done.partner.0,
            done.partner.1,
            mav::MavMissionResult::MAV_MISSION_ACCEPTED,
        ));
    }

    fn mission_item(&self, seq: u16, to_sys: u8, to_comp: u8, as_int: bool) -> Option<MavMessage> {
        let it = self.mission.get(usize::from(seq))?;
        let current = u8::from(seq == self.current_seq);
        Some(if as_int {
            MavMessage::MISSION_ITEM_INT(mav::MISSION_ITEM_INT_DATA {
                param1: it.params[0],
                param2: it.params[1],
                param3: it.params[2],
                param4: it.params[3],
                x: it.x,
                y: it.y,
                z: it.z,
                seq,
                command: it.command,
                target_system: to_sys,
                target_component: to_comp,
                frame: it.frame,
                current,
                autocontinue: 1,
            })
        } else {
            MavMessage::MISSION_ITEM(mav::MISSION_ITEM_DATA {
                param1: it.params[0],
                param2: it.params[1],
                param3: it.params[2],
                param4: it.params[3],
                x: (f64::from(it.x) / 1e7) as f32,
                y: (f64::from(it.y) / 1e7) as f32,
                z: it.z,
                seq,
                command: it.command,
                target_system: to_sys,
                target_component: to_comp,
                frame: it.frame,
                current,
                autocontinue: 1,
            })
        })
    }

    // --- telemetry ----------------------------------------------------------------------

    fn time_boot_ms(&self) -> u32 {
        (self.sim_time_s * 1000.0) as u32
    }

    /// A message by id, as `REQUEST_MESSAGE` and streams produce it.
    fn message_by_id(&mut self, m: u32) -> Option<MavMessage> {
        Some(match m {
            id::HEARTBEAT => self.heartbeat(),
            id::SYS_STATUS => self.sys_status(),
            id::GPS_RAW_INT => self.gps_raw_int(),
            id::ATTITUDE => self.attitude(),
            id::GLOBAL_POSITION_INT => self.global_position_int(),
            id::MISSION_CURRENT => self.mission_current(),
            id::VFR_HUD => self.vfr_hud(),
            id::BATTERY_STATUS => self.battery_status(),
            id::HOME_POSITION => self.home_position(),
            id::AUTOPILOT_VERSION => self.autopilot_version(),
            id::EXTENDED_SYS_STATE => {
                MavMessage::EXTENDED_SYS_STATE(mav::EXTENDED_SYS_STATE_DATA {
                    vtol_state: mav::MavVtolState::MAV_VTOL_STATE_UNDEFINED,
                    landed_state: if self.phase == Phase::Ground {
                        mav::MavLandedState::MAV_LANDED_STATE_ON_GROUND
                    } else {
                        mav::MavLandedState::MAV_LANDED_STATE_IN_AIR
                    },
                })
            }
            _ => return None,
        })
    }

    /// The HEARTBEAT this vehicle sends.
    pub fn heartbeat(&self) -> MavMessage {
        let mut base = mav::MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
            | mav::MavModeFlag::MAV_MODE_FLAG_STABILIZE_ENABLED;
        if self.armed {
            base |= mav::MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED;
        }
        if matches!(
            self.mode,
            CopterMode::Auto
                | CopterMode::Guided
                | CopterMode::Rtl
                | CopterMode::Loiter
                | CopterMode::Brake
        ) {
            base |= mav::MavModeFlag::MAV_MODE_FLAG_GUIDED_ENABLED;
        }
        if self.mode == CopterMode::Auto {
            base |= mav::MavModeFlag::MAV_MODE_FLAG_AUTO_ENABLED;
        }
        let status = if self.motor_failed || self.gcs_failsafe_active || self.battery_failsafe > 0 {
            mav::MavState::MAV_STATE_CRITICAL
        } else if self.armed {
            mav::MavState::MAV_STATE_ACTIVE
        } else {
            mav::MavState::MAV_STATE_STANDBY
        };
        MavMessage::HEARTBEAT(mav::HEARTBEAT_DATA {
            custom_mode: self.mode.custom_mode(),
            mavtype: mav::MavType::MAV_TYPE_QUADROTOR,
            autopilot: mav::MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
            base_mode: base,
            system_status: status,
            mavlink_version: 3,
        })
    }

    fn noisy_pos(&mut self) -> LatLon {
        if self.cfg.gps_noise_m <= 0.0 {
            return self.kin.pos;
        }
        // Sum of uniforms: close enough to a Gaussian for GPS jitter.
        let mut g = || {
            (0..4)
                .map(|_| self.rng.random_range(-1.0..1.0))
                .sum::<f64>()
                * 0.866
                * self.cfg.gps_noise_m
        };
        let (n, e) = (g(), g());
        self.kin.pos.offset_ne(n, e)
    }

    fn global_position_int(&mut self) -> MavMessage {
        let pos = if self.gps_ok {
            self.noisy_pos()
        } else {
            self.kin.pos
        };
        MavMessage::GLOBAL_POSITION_INT(mav::GLOBAL_POSITION_INT_DATA {
            time_boot_ms: self.time_boot_ms(),
            lat: (pos.lat_deg * 1e7) as i32,
            lon: (pos.lon_deg * 1e7) as i32,
            alt: ((self.cfg.home_alt_amsl_m + self.kin.alt_rel_m) * 1000.0) as i32,
            relative_alt: (self.kin.alt_rel_m * 1000.0) as i32,
            vx: (self.kin.vel_n_mps * 100.0) as i16,
            vy: (self.kin.vel_e_mps * 100.0) as i16,
            vz: (-self.kin.climb_mps * 100.0) as i16,
            hdg: (self.kin.heading_deg * 100.0) as u16 % 36000,
        })
    }

    fn gps_raw_int(&mut self) -> MavMessage {
        let pos = self.noisy_pos();
        let (fix, sats) = if self.gps_ok {
            (mav::GpsFixType::GPS_FIX_TYPE_3D_FIX, 14)
        } else {
            (mav::GpsFixType::GPS_FIX_TYPE_NO_FIX, 0)
        };
        let course = self
            .kin
            .vel_e_mps
            .atan2(self.kin.vel_n_mps)
            .to_degrees()
            .rem_euclid(360.0);
        MavMessage::GPS_RAW_INT(mav::GPS_RAW_INT_DATA {
            time_usec: (self.sim_time_s * 1e6) as u64,
            lat: if self.gps_ok {
                (pos.lat_deg * 1e7) as i32
            } else {
                0
            },
            lon: if self.gps_ok {
                (pos.lon_deg * 1e7) as i32
            } else {
                0
            },
            alt: ((self.cfg.home_alt_amsl_m + self.kin.alt_rel_m) * 1000.0) as i32,
            eph: if self.gps_ok { 70 } else { u16::MAX },
            epv: if self.gps_ok { 120 } else { u16::MAX },
            vel: (self.kin.ground_speed_mps() * 100.0) as u16,
            cog: (course * 100.0) as u16 % 36000,
            fix_type: fix,
            satellites_visible: sats,
        })
    }

    fn attitude(&self) -> MavMessage {
        // Lean into the velocity: about 1° of pitch/roll per m/s.
        let h = self.kin.heading_deg.to_radians();
        let fwd = self.kin.vel_n_mps * h.cos() + self.kin.vel_e_mps * h.sin();
        let right = -self.kin.vel_n_mps * h.sin() + self.kin.vel_e_mps * h.cos();
        let yaw = if h > std::f64::consts::PI {
            h - 2.0 * std::f64::consts::PI
        } else {
            h
        };
        MavMessage::ATTITUDE(mav::ATTITUDE_DATA {
            time_boot_ms: self.time_boot_ms(),
            roll: (right * 0.0175) as f32,
            pitch: (-fwd * 0.0175) as f32,
            yaw: yaw as f32,
            rollspeed: 0.0,
            pitchspeed: 0.0,
            yawspeed: 0.0,
        })
    }

    fn vfr_hud(&self) -> MavMessage {
        let env = self.environment();
        let air = (self.kin.vel_n_mps - env.wind_n_mps).hypot(self.kin.vel_e_mps - env.wind_e_mps);
        MavMessage::VFR_HUD(mav::VFR_HUD_DATA {
            airspeed: if self.armed { air as f32 } else { 0.0 },
            groundspeed: self.kin.ground_speed_mps() as f32,
            alt: (self.cfg.home_alt_amsl_m + self.kin.alt_rel_m) as f32,
            climb: self.kin.climb_mps as f32,
            heading: self.kin.heading_deg.round() as i16 % 360,
            throttle: if self.armed { 45 } else { 0 },
        })
    }

    fn sys_status(&self) -> MavMessage {
        use mav::MavSysStatusSensor as S;
        let present = S::MAV_SYS_STATUS_SENSOR_3D_GYRO
            | S::MAV_SYS_STATUS_SENSOR_3D_ACCEL
            | S::MAV_SYS_STATUS_SENSOR_GPS
            | S::MAV_SYS_STATUS_SENSOR_BATTERY;
        let mut health = present;
        if !self.gps_ok {
            health.remove(S::MAV_SYS_STATUS_SENSOR_GPS);
        }
        MavMessage::SYS_STATUS(mav::SYS_STATUS_DATA {
            onboard_control_sensors_present: present,
            onboard_control_sensors_enabled: present,
            onboard_control_sensors_health: health,
            load: 250,
            voltage_battery: (flight::battery_voltage_v(self.battery_pct) * 1000.0) as u16,
            current_battery: if self.armed { 1500 } else { 50 },
            battery_remaining: self.battery_pct.round() as i8,
            drop_rate_comm: (self.packet_loss_pct * 100.0) as u16,
            errors_comm: 0,
            errors_count1: 0,
            errors_count2: 0,
            errors_count3: 0,
            errors_count4: 0,
        })
    }

    fn battery_status(&self) -> MavMessage {
        let mut voltages = [u16::MAX; 10];
        let cell_mv = (flight::battery_voltage_v(self.battery_pct) * 250.0) as u16;
        voltages[..4].fill(cell_mv);
        MavMessage::BATTERY_STATUS(mav::BATTERY_STATUS_DATA {
            current_consumed: ((100.0 - self.battery_pct) * 50.0) as i32,
            energy_consumed: -1,
            temperature: i16::MAX,
            voltages,
            current_battery: if self.armed { 1500 } else { 50 },
            id: 0,
            battery_function: mav::MavBatteryFunction::MAV_BATTERY_FUNCTION_ALL,
            mavtype: mav::MavBatteryType::MAV_BATTERY_TYPE_LIPO,
            battery_remaining: self.battery_pct.round() as i8,
        })
    }

    fn home_position(&self) -> MavMessage {
        MavMessage::HOME_POSITION(mav::HOME_POSITION_DATA {
            latitude: (self.cfg.home.lat_deg * 1e7) as i32,
            longitude: (self.cfg.home.lon_deg * 1e7) as i32,
            altitude: (self.cfg.home_alt_amsl_m * 1000.0) as i32,
            x: 0.0,
            y: 0.0,
            z: 0.0,
            q: [1.0, 0.0, 0.0, 0.0],
            approach_x: 0.0,
            approach_y: 0.0,
            approach_z: 0.0,
        })
    }

    fn mission_current(&self) -> MavMessage {
        MavMessage::MISSION_CURRENT(mav::MISSION_CURRENT_DATA {
            seq: self.current_seq,
        })
    }

    fn autopilot_version(&self) -> MavMessage {
        use mav::MavProtocolCapability as P;
        MavMessage::AUTOPILOT_VERSION(mav::AUTOPILOT_VERSION_DATA {
            capabilities: P::MAV_PROTOCOL_CAPABILITY_MISSION_FLOAT
                | P::MAV_PROTOCOL_CAPABILITY_MISSION_INT
                | P::MAV_PROTOCOL_CAPABILITY_COMMAND_INT
                | P::MAV_PROTOCOL_CAPABILITY_SET_POSITION_TARGET_GLOBAL_INT
                | P::MAV_PROTOCOL_CAPABILITY_MAVLINK2,
            uid: u64::from(self.cfg.system_id),
            flight_sw_version: 0x0405_0700,
            middleware_sw_version: 0,
            os_sw_version: 0,
            board_version: 0,
            vendor_id: 0,
            product_id: 0,
            flight_custom_version: [0; 8],
            middleware_custom_version: [0; 8],
            os_custom_version: [0; 8],
        })
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

fn ack(command: mav::MavCmd, result: mav::MavResult, to_sys: u8, to_comp: u8) -> MavMessage {
    let _ = (to_sys, to_comp); // target fields are MAVLink 2 extensions, not generated here.
    MavMessage::COMMAND_ACK(mav::COMMAND_ACK_DATA { command, result })
}

fn mission_ack(to_sys: u8, to_comp: u8, result: mav::MavMissionResult) -> MavMessage {
    MavMessage::MISSION_ACK(mav::MISSION_ACK_DATA {
        target_system: to_sys,
        target_component: to_comp,
        mavtype: result,
    })
}

fn mission_request(partner: (u8, u8), seq: u16, use_int: bool) -> MavMessage {
    if use_int {
        MavMessage::MISSION_REQUEST_INT(mav::MISSION_REQUEST_INT_DATA {
            target_system: partner.0,
            target_component: partner.1,
            seq,
        })
    } else {
        MavMessage::MISSION_REQUEST(mav::MISSION_REQUEST_DATA {
            target_system: partner.0,
            target_component: partner.1,
            seq,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOME: LatLon = LatLon::new(47.397_742, 8.545_594);
    const GCS: (u8, u8) = (255, 190);

    fn vehicle() -> Vehicle {
        let mut cfg = VehicleConfig::new(1, HOME);
        cfg.gps_noise_m = 0.0;
        Vehicle::new(cfg)
    }

    struct Sim {
        v: Vehicle,
        t: f64,
        seen: Vec<MavMessage>,
    }

    impl Sim {
        fn new(v: Vehicle) -> Self {
            Self {
                v,
                t: 0.0,
                seen: Vec::new(),
            }
        }
        #[expect(
            clippy::needless_pass_by_value,
            reason = "test helper: call sites build the message inline"
        )]
        fn send(&mut self, msg: MavMessage) -> Vec<MavMessage> {
            let out = self.v.handle(GCS.0, GCS.1, &msg);
            self.seen.extend(out.iter().cloned());
            out
        }
        fn run(&mut self, seconds: f64) {
            let dt = 0.1;
            for _ in 0..(seconds / dt).round() as usize {
                self.t += dt;
                let out = self.v.tick(Tick {
                    dt_sim_s: dt,
                    sim_time_s: self.t,
                    wall_time_s: self.t,
                });
                self.seen.extend(out);
            }
        }
        fn command(&mut self, command: mav::MavCmd, p: [f32; 7]) -> mav::MavResult {
            let out = self.send(MavMessage::COMMAND_LONG(mav::COMMAND_LONG_DATA {
                param1: p[0],
                param2: p[1],
                param3: p[2],
                param4: p[3],
                param5: p[4],
                param6: p[5],
                param7: p[6],
                command,
                target_system: 1,
                target_component: 1,
                confirmation: 0,
            }));
            out.iter()
                .find_map(|m| match m {
                    MavMessage::COMMAND_ACK(a) if a.command == command => Some(a.result),
                    _ => None,
                })
                .unwrap()
        }
        fn set_mode(&mut self, mode: CopterMode) -> mav::MavResult {
            self.command(
                mav::MavCmd::MAV_CMD_DO_SET_MODE,
                [1.0, mode.custom_mode() as f32, 0.0, 0.0, 0.0, 0.0, 0.0],
            )
        }
    }

    fn item(seq: u16, command: mav::MavCmd, pos: LatLon, alt: f32) -> MavMessage {
        MavMessage::MISSION_ITEM_INT(mav::MISSION_ITEM_INT_DATA {
            param1: 0.0,
            param2: 0.0,
            param3: 0.0,
            param4: 0.0,
            x: (pos.lat_deg * 1e7) as i32,
            y: (pos.lon_deg * 1e7) as i32,
            z: alt,
            seq,
            command,
            target_system: 1,
            target_component: 1,
            frame: mav::MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT,
            current: 0,
            autocontinue: 1,
        })
    }

    fn requested(out: &[MavMessage]) -> Option<u16> {
        out.iter().find_map(|m| match m {
            MavMessage::MISSION_REQUEST_INT(r) => Some(r.seq),
            _ => None,
        })
    }

    fn acked(out: &[MavMessage]) -> Option<mav::MavMissionResult> {
        out.iter().find_map(|m| match m {
            MavMessage::MISSION_ACK(a) => Some(a.mavtype),
            _ => None,
        })
    }

    /// Home, takeoff to 20 m, two waypoints 100 m apart, land.
    fn upload_square(s: &mut Sim) {
        let items = [
            item(0, mav::MavCmd::MAV_CMD_NAV_WAYPOINT, HOME, 0.0),
            item(1, mav::MavCmd::MAV_CMD_NAV_TAKEOFF, HOME, 20.0),
            item(
                2,
                mav::MavCmd::MAV_CMD_NAV_WAYPOINT,
                HOME.offset_ne(100.0, 0.0),
                20.0,
            ),
            item(
                3,
                mav::MavCmd::MAV_CMD_NAV_WAYPOINT,
                HOME.offset_ne(100.0, 100.0),
                20.0,
            ),
            item(
                4,
                mav::MavCmd::MAV_CMD_NAV_LAND,
                HOME.offset_ne(100.0, 100.0),
                0.0,
            ),
        ];
        let out = s.send(MavMessage::MISSION_COUNT(mav::MISSION_COUNT_DATA {
            count: 5,
            target_system: 1,
            target_component: 1,
        }));
        assert_eq!(requested(&out), Some(0));
        for (i, it) in items.into_iter().enumerate() {
            let out = s.send(it);
            if i < 4 {
                assert_eq!(requested(&out), Some(i as u16 + 1));
            } else {
                assert_eq!(
                    acked(&out),
                    Some(mav::MavMissionResult::MAV_MISSION_ACCEPTED)
                );
            }
        }
    }

    #[test]
    fn only_heartbeat_until_streams_are_requested() {
        let mut s = Sim::new(vehicle());
        s.run(3.0);
        assert!(
            s.seen.iter().all(|m| matches!(m, MavMessage::HEARTBEAT(_))),
            "{:?}",
            s.seen
        );
        assert!(s.seen.len() >= 3);
        s.seen.clear();
        assert_eq!(
            s.command(
                mav::MavCmd::MAV_CMD_SET_MESSAGE_INTERVAL,
                [33.0, 100_000.0, 0.0, 0.0, 0.0, 0.0, 0.0]
            ),
            mav::MavResult::MAV_RESULT_ACCEPTED
        );
        s.run(1.0);
        let n = s
            .seen
            .iter()
            .filter(|m| matches!(m, MavMessage::GLOBAL_POSITION_INT(_)))
            .count();
        assert!((9..=11).contains(&n), "{n} positions at 10 Hz in 1 s");
        let out = s.send(MavMessage::REQUEST_DATA_STREAM(
            mav::REQUEST_DATA_STREAM_DATA {
                req_message_rate: 2,
                target_system: 1,
                target_component: 1,
                req_stream_id: mav::MavDataStream::MAV_DATA_STREAM_EXTENDED_STATUS,
                start_stop: 1,
            },
        ));
        assert!(out.is_empty());
        s.seen.clear();
        s.run(2.0);
        assert!(
            s.seen
                .iter()
                .any(|m| matches!(m, MavMessage::SYS_STATUS(_)))
        );
        assert!(
            s.seen
                .iter()
                .any(|m| matches!(m, MavMessage::GPS_RAW_INT(_)))
        );
    }

    #[test]
    fn default_streams_option_streams_at_once() {
        let mut cfg = VehicleConfig::new(3, HOME);
        cfg.default_streams = Some(StreamRates {
            position_hz: 5.0,
            status_hz: 1.0,
        });
        let mut s = Sim::new(Vehicle::new(cfg));
        s.run(1.0);
        assert!(
            s.seen
                .iter()
                .filter(|m| matches!(m, MavMessage::GLOBAL_POSITION_INT(_)))
                .count()
                >= 4
        );
        assert!(
            s.seen
                .iter()
                .any(|m| matches!(m, MavMessage::BATTERY_STATUS(_)))
        );
    }

    #[test]
    fn request_message_and_home_position() {
        let mut s = Sim::new(vehicle());
        assert_eq!(
            s.command(
                mav::MavCmd::MAV_CMD_REQUEST_MESSAGE,
                [242.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
            ),
            mav::MavResult::MAV_RESULT_ACCEPTED
        );
        assert!(s.seen.iter().any(|m| matches!(m, MavMessage::HOME_POSITION(h) if h.latitude == (HOME.lat_deg * 1e7) as i32)));
        assert_eq!(
            s.command(
                mav::MavCmd::MAV_CMD_REQUEST_MESSAGE,
                [148.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
            ),
            mav::MavResult::MAV_RESULT_ACCEPTED
        );
        assert!(
            s.seen
                .iter()
                .any(|m| matches!(m, MavMessage::AUTOPILOT_VERSION(_)))
        );
        assert_eq!(
            s.command(mav::MavCmd::MAV_CMD_GET_HOME_POSITION, [0.0; 7]),
            mav::MavResult::MAV_RESULT_ACCEPTED
        );
        assert_eq!(
            s.command(
                mav::MavCmd::MAV_CMD_REQUEST_MESSAGE,
                [9999.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
            ),
            mav::MavResult::MAV_RESULT_UNSUPPORTED
        );
    }

    #[test]
    fn mission_upload_download_clear_with_home_as_item_zero() {
        let mut s = Sim::new(vehicle());
        upload_square(&mut s);
        assert_eq!(s.v.mission_len(), 5);
        let out = s.send(MavMessage::MISSION_REQUEST_LIST(
            mav::MISSION_REQUEST_LIST_DATA {
                target_system: 1,
                target_component: 1,
            },
        ));
        assert!(matches!(&out[0], MavMessage::MISSION_COUNT(c) if c.count == 5));
        let out = s.send(MavMessage::MISSION_REQUEST_INT(
            mav::MISSION_REQUEST_INT_DATA {
                target_system: 1,
                target_component: 1,
                seq: 2,
            },
        ));
        assert!(
            matches!(&out[0], MavMessage::MISSION_ITEM_INT(i) if i.seq == 2 && i.x == (HOME.offset_ne(100.0, 0.0).lat_deg * 1e7) as i32)
        );
        let out = s.send(MavMessage::MISSION_REQUEST_INT(
            mav::MISSION_REQUEST_INT_DATA {
                target_system: 1,
                target_component: 1,
                seq: 9,
            },
        ));
        assert_eq!(
            acked(&out),
            Some(mav::MavMissionResult::MAV_MISSION_INVALID_SEQUENCE)
        );
        let out = s.send(MavMessage::MISSION_CLEAR_ALL(mav::MISSION_CLEAR_ALL_DATA {
            target_system: 1,
            target_component: 1,
        }));
        assert_eq!(
            acked(&out),
            Some(mav::MavMissionResult::MAV_MISSION_ACCEPTED)
        );
        assert_eq!(s.v.mission_len(), 1);
    }

    #[test]
    fn upload_recovers_from_duplicates_and_lost_requests_and_reacks() {
        let mut s = Sim::new(vehicle());
        s.send(MavMessage::MISSION_COUNT(mav::MISSION_COUNT_DATA {
            count: 2,
            target_system: 1,
            target_component: 1,
        }));
        // Our request for 1 was "lost": the GCS times out and repeats item 0.
        s.send(item(0, mav::MavCmd::MAV_CMD_NAV_WAYPOINT, HOME, 0.0));
        let out = s.send(item(0, mav::MavCmd::MAV_CMD_NAV_WAYPOINT, HOME, 0.0));
        assert_eq!(requested(&out), Some(1));
        let out = s.send(item(1, mav::MavCmd::MAV_CMD_NAV_TAKEOFF, HOME, 10.0));
        assert_eq!(
            acked(&out),
            Some(mav::MavMissionResult::MAV_MISSION_ACCEPTED)
        );
        // Our ACK was lost: the GCS repeats the last item and gets the ACK again.
        let out = s.send(item(1, mav::MavCmd::MAV_CMD_NAV_TAKEOFF, HOME, 10.0));
        assert_eq!(
            acked(&out),
            Some(mav::MavMissionResult::MAV_MISSION_ACCEPTED)
        );
        // A stalled upload is re-requested after 1 s and cancelled after 8 s.
        s.send(MavMessage::MISSION_COUNT(mav::MISSION_COUNT_DATA {
            count: 3,
            target_system: 1,
            target_component: 1,
        }));
        s.seen.clear();
        s.run(1.5);
        assert_eq!(requested(&s.seen), Some(0));
        s.run(5.0);
        assert_eq!(acked(&s.seen), None, "still waiting at 6.5 s");
        s.run(2.0);
        assert_eq!(
            acked(&s.seen),
            Some(mav::MavMissionResult::MAV_MISSION_OPERATION_CANCELLED)
        );
        assert_eq!(s.v.mission_len(), 2, "previous mission kept");
    }

    #[test]
    fn arming_checks_refuse_without_gps_and_without_mission_in_auto() {
        let mut s = Sim::new(vehicle());
        s.v.inject(Fault::GpsLoss { active: true });
        assert_eq!(
            s.command(
                mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
                [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
            ),
            mav::MavResult::MAV_RESULT_FAILED
        );
        assert!(s.seen.iter().any(|m| matches!(m, MavMessage::STATUSTEXT(t) if t.text.to_str().unwrap_or("").starts_with("PreArm"))));
        s.v.inject(Fault::GpsLoss { active: false });
        assert_eq!(
            s.set_mode(CopterMode::Auto),
            mav::MavResult::MAV_RESULT_FAILED,
            "AUTO needs a mission"
        );
        assert_eq!(
            s.command(
                mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
                [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
            ),
            mav::MavResult::MAV_RESULT_ACCEPTED
        );
        assert!(s.v.armed());
    }

    #[test]
    fn guided_takeoff_then_rtl_lands_home_and_disarms() {
        let mut s = Sim::new(vehicle());
        assert_eq!(
            s.command(
                mav::MavCmd::MAV_CMD_NAV_TAKEOFF,
                [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 15.0]
            ),
            mav::MavResult::MAV_RESULT_FAILED,
            "needs GUIDED + armed"
        );
        assert_eq!(
            s.set_mode(CopterMode::Guided),
            mav::MavResult::MAV_RESULT_ACCEPTED
        );
        assert_eq!(
            s.command(
                mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
                [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
            ),
            mav::MavResult::MAV_RESULT_ACCEPTED
        );
        assert_eq!(
            s.command(
                mav::MavCmd::MAV_CMD_NAV_TAKEOFF,
                [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 15.0]
            ),
            mav::MavResult::MAV_RESULT_ACCEPTED
        );
        s.run(15.0);
        assert!(
            (s.v.kinematics().alt_rel_m - 15.0).abs() < 1.0,
            "{:?}",
            s.v.kinematics()
        );
        assert_eq!(
            s.command(mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM, [0.0; 7]),
            mav::MavResult::MAV_RESULT_DENIED,
            "no disarm in flight"
        );
        assert_eq!(
            s.command(mav::MavCmd::MAV_CMD_NAV_RETURN_TO_LAUNCH, [0.0; 7]),
            mav::MavResult::MAV_RESULT_ACCEPTED
        );
        assert_eq!(s.v.mode(), CopterMode::Rtl);
        s.run(60.0);
        assert!(!s.v.armed(), "{:?}", s.v.kinematics());
        assert!(s.v.kinematics().pos.distance_m(HOME) < 3.0);
    }

    #[test]
    fn auto_mission_flies_pauses_resumes_and_lands() {
        let mut s = Sim::new(vehicle());
        upload_square(&mut s);
        assert_eq!(
            s.command(mav::MavCmd::MAV_CMD_MISSION_START, [0.0; 7]),
            mav::MavResult::MAV_RESULT_DENIED,
            "disarmed"
        );
        assert_eq!(
            s.set_mode(CopterMode::Guided),
            mav::MavResult::MAV_RESULT_ACCEPTED
        );
        assert_eq!(
            s.command(
                mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
                [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
            ),
            mav::MavResult::MAV_RESULT_ACCEPTED
        );
        assert_eq!(
            s.command(mav::MavCmd::MAV_CMD_MISSION_START, [0.0; 7]),
            mav::MavResult::MAV_RESULT_ACCEPTED
        );
        assert_eq!(s.v.mode(), CopterMode::Auto);
        s.run(20.0);
        assert!(
            s.seen
                .iter()
                .any(|m| matches!(m, MavMessage::MISSION_ITEM_REACHED(r) if r.seq == 1)),
            "takeoff reached"
        );
        // Pause: holds position.
        assert_eq!(
            s.command(mav::MavCmd::MAV_CMD_DO_PAUSE_CONTINUE, [0.0; 7]),
            mav::MavResult::MAV_RESULT_ACCEPTED
        );
        s.run(6.0);
        let held = s.v.kinematics().pos;
        s.run(5.0);
        assert!(s.v.kinematics().pos.distance_m(held) < 0.5);
        assert_eq!(
            s.command(
                mav::MavCmd::MAV_CMD_DO_PAUSE_CONTINUE,
                [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
            ),
            mav::MavResult::MAV_RESULT_ACCEPTED
        );
        // BRAKE then AUTO also resumes.
        assert_eq!(
            s.set_mode(CopterMode::Brake),
            mav::MavResult::MAV_RESULT_ACCEPTED
        );
        s.run(3.0);
        assert_eq!(
            s.set_mode(CopterMode::Auto),
            mav::MavResult::MAV_RESULT_ACCEPTED
        );
        s.run(120.0);
        for seq in 2..=3 {
            assert!(
                s.seen
                    .iter()
                    .any(|m| matches!(m, MavMessage::MISSION_ITEM_REACHED(r) if r.seq == seq)),
                "item {seq}"
            );
        }
        assert!(!s.v.armed(), "landed and disarmed: {:?}", s.v.kinematics());
        assert!(
            s.v.kinematics()
                .pos
                .distance_m(HOME.offset_ne(100.0, 100.0))
                < 3.0
        );
        assert!(s.v.battery_pct() < 100.0);
    }

    #[test]
    fn low_battery_triggers_rtl_and_gcs_loss_triggers_rtl() {
        let mut s = Sim::new(vehicle());
        s.set_mode(CopterMode::Guided);
        s.command(
            mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        );
        s.command(
            mav::MavCmd::MAV_CMD_NAV_TAKEOFF,
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0],
        );
        s.run(8.0);
        s.v.inject(Fault::LowBattery {
            remaining_pct: 19.0,
        });
        s.run(0.2);
        assert_eq!(s.v.mode(), CopterMode::Rtl);

        let mut s = Sim::new(vehicle());
        let gcs_hb = MavMessage::HEARTBEAT(mav::HEARTBEAT_DATA {
            custom_mode: 0,
            mavtype: mav::MavType::MAV_TYPE_GCS,
            autopilot: mav::MavAutopilot::MAV_AUTOPILOT_INVALID,
            base_mode: mav::MavModeFlag::empty(),
            system_status: mav::MavState::MAV_STATE_ACTIVE,
            mavlink_version: 3,
        });
        s.send(gcs_hb.clone());
        s.set_mode(CopterMode::Guided);
        s.command(
            mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        );
        s.command(
            mav::MavCmd::MAV_CMD_NAV_TAKEOFF,
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0],
        );
        s.run(4.0);
        s.send(gcs_hb);
        s.run(4.0);
        assert_eq!(
            s.v.mode(),
            CopterMode::Guided,
            "heartbeat 4 s ago: no failsafe yet"
        );
        s.run(2.0);
        assert_eq!(s.v.mode(), CopterMode::Rtl);
        assert!(s.seen.iter().any(|m| matches!(m, MavMessage::STATUSTEXT(t) if t.text.to_str().unwrap_or("").contains("GCS Failsafe"))));
    }

    #[test]
    fn motor_failure_forces_a_landing_and_gps_loss_lands() {
        let mut s = Sim::new(vehicle());
        s.set_mode(CopterMode::Guided);
        s.command(
            mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        );
        s.command(
            mav::MavCmd::MAV_CMD_NAV_TAKEOFF,
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 20.0],
        );
        s.run(12.0);
        s.v.inject(Fault::MotorFailure);
        s.run(10.0);
        assert!(s.v.kinematics().on_ground());
        assert!(!s.v.armed());

        let mut s = Sim::new(vehicle());
        s.set_mode(CopterMode::Guided);
        s.command(
            mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        );
        s.command(
            mav::MavCmd::MAV_CMD_NAV_TAKEOFF,
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0],
        );
        s.run(8.0);
        s.v.inject(Fault::GpsLoss { active: true });
        assert_eq!(s.v.mode(), CopterMode::Land);
        s.seen.clear();
        s.run(1.0);
        let _ = s.v.message_by_id(id::GPS_RAW_INT).map(|m| assert!(matches!(m, MavMessage::GPS_RAW_INT(g) if g.fix_type == mav::GpsFixType::GPS_FIX_TYPE_NO_FIX)));
    }

    #[test]
    fn wind_gust_pushes_a_hovering_drone_and_packet_loss_drops() {
        let mut s = Sim::new(vehicle());
        s.set_mode(CopterMode::Guided);
        s.command(
            mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        );
        s.command(
            mav::MavCmd::MAV_CMD_NAV_TAKEOFF,
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0],
        );
        s.run(8.0);
        let before = s.v.kinematics().pos;
        s.v.inject(Fault::WindGust {
            speed_mps: 15.0,
            towards_deg: 90.0,
            duration_s: 3.0,
        });
        s.run(2.0);
        assert!(s.v.kinematics().pos.distance_m(before) > 0.5);
        s.v.inject(Fault::PacketLoss { pct: 50.0 });
        let dropped = (0..1000).filter(|_| s.v.should_drop_packet()).count();
        assert!((400..600).contains(&dropped), "{dropped}");
        s.v.inject(Fault::LinkLoss { active: true });
        assert!((0..100).all(|_| s.v.should_drop_packet()));
    }

    #[test]
    fn heartbeat_reports_mode_armed_and_type() {
        let mut s = Sim::new(vehicle());
        s.set_mode(CopterMode::Guided);
        s.command(
            mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        );
        let MavMessage::HEARTBEAT(hb) = s.v.heartbeat() else {
            panic!()
        };
        assert_eq!(hb.custom_mode, 4);
        assert_eq!(hb.mavtype, mav::MavType::MAV_TYPE_QUADROTOR);
        assert_eq!(hb.autopilot, mav::MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA);
        assert!(
            hb.base_mode
                .contains(mav::MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED)
        );
    }
}
