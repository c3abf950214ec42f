//! Simulated drones as MQTT clients: the cloud-side peer of Aviary's MQTT link and fleet server.
//!
//! Each drone connects to the broker with a retained last will `offline` on
//! `drones/{id}/status`, publishes a retained `online`, sends section-3.2 telemetry on
//! `drones/{id}/telemetry` at a fixed rate, executes commands from `drones/{id}/commands`
//! (`QoS` 1) and acknowledges each on `drones/{id}/ack`. A command id seen before (a `QoS` 1
//! redelivery) is neither executed nor acknowledged again.
//!
//! Flight uses the same pure model as the `MAVLink` simulator ([`crate::flight::step`] and
//! [`crate::flight::drain_battery`]); the mission logic is the small I/O-free [`Autopilot`].
//!
//! Entry points: [`run`] for the CLI (`aviary sim --mqtt URL`: a fleet on the named thread
//! `aviary-sim-mqtt`), [`MqttDrone::spawn`] for one drone inside an existing tokio runtime
//! (tests, benches). [`MqttDrone::kill`] drops the connection without a DISCONNECT, as a crash
//! would; [`MqttDrone::freeze`] keeps the socket open but silent, as a hung process would.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use aviary_core::wire::{
    AckStatus, CommandAck, CommandAction, DroneCommand, TelemetryUpdate, WirePosition, WireVelocity,
};
use aviary_core::{DroneId, LatLon, MissionId};
use rumqttc::{AsyncClient, Event, LastWill, MqttOptions, Packet, QoS};
use tokio::sync::{mpsc, watch};

use crate::flight::{self, BatteryModel, Environment, Guidance, Kinematics, Limits};

// --- errors and configuration ----------------------------------------------------------------

/// Errors of the MQTT drone simulator.
#[derive(Debug, thiserror::Error)]
pub enum MqttDroneError {
    /// The broker URL could not be read.
    #[error("invalid broker URL {url:?}: {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The simulator thread or runtime could not be started.
    #[error("could not start the MQTT simulator: {0}")]
    Io(#[from] std::io::Error),
    /// The drone's task is gone.
    #[error("the simulated drone is not running")]
    Stopped,
}

/// Broker address of a drone: `mqtt://[user:password@]host[:port]` or `host[:port]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broker {
    /// Host or IP.
    pub host: String,
    /// Port (1883 by default).
    pub port: u16,
    /// User and password from the URL, if any.
    pub credentials: Option<(String, String)>,
}

impl Broker {
    /// Parses a broker URL.
    pub fn parse(url: &str) -> Result<Self, MqttDroneError> {
        let bad = |reason| MqttDroneError::BadUrl {
            url: url.to_owned(),
            reason,
        };
        let rest = match url.split_once("://") {
            Some(("mqtt" | "tcp", rest)) => rest,
            Some(_) => return Err(bad("scheme must be mqtt://")),
            None => url,
        };
        let rest = rest.trim_end_matches('/');
        let (credentials, hostport) = match rest.rsplit_once('@') {
            Some((c, hp)) => {
                let (u, p) = c
                    .split_once(':')
                    .ok_or_else(|| bad("credentials must be user:password"))?;
                (Some((u.to_owned(), p.to_owned())), hp)
            }
            None => (None, rest),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse()
                    .map_err(|_| bad("port must be a number 1..65535"))?,
            ),
            None => (hostport, 1883),
        };
        if host.is_empty() {
            return Err(bad("missing host"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
            credentials,
        })
    }
}

/// One simulated MQTT drone.
#[derive(Debug, Clone)]
pub struct MqttDroneConfig {
    /// Broker to connect to.
    pub broker: Broker,
    /// The drone's id (also its MQTT client id and, with per-drone credentials, its user name).
    pub drone_id: DroneId,
    /// Takeoff and landing point.
    pub home: LatLon,
    /// Survey route flown after a `start` (takeoff and return are added).
    pub route: Vec<LatLon>,
    /// Cruise altitude above home, metres.
    pub alt_rel_m: f64,
    /// Cruise speed, m/s.
    pub speed_mps: f64,
    /// Telemetry rate, Hz.
    pub telemetry_hz: f64,
    /// Simulated seconds per wall-clock second (1 = real time; tests fly faster).
    pub time_scale: f64,
    /// MQTT keep-alive; the broker declares the drone offline after 1.5 × this of silence.
    pub keep_alive: Duration,
    /// `QoS` of telemetry (`AtLeastOnce` so a persistent server session loses nothing).
    pub telemetry_qos: QoS,
    /// Starting battery, percent.
    pub battery_pct: f64,
}

impl MqttDroneConfig {
    /// A drone at `home` with a 60 m square survey route, 10 Hz telemetry, 5 s keep-alive.
    pub fn new(broker: Broker, drone_id: DroneId, home: LatLon) -> Self {
        Self {
            broker,
            drone_id,
            home,
            route: square_route(home, 60.0),
            alt_rel_m: 30.0,
            speed_mps: 8.0,
            telemetry_hz: 10.0,
            time_scale: 1.0,
            keep_alive: Duration::from_secs(5),
            telemetry_qos: QoS::AtLeastOnce,
            battery_pct: 100.0,
        }
    }
}

/// A square of side `side_m` metres with one corner at `origin` (north-east of it).
pub fn square_route(origin: LatLon, side_m: f64) -> Vec<LatLon> {
    let dlat = side_m / 111_320.0;
    let dlon = side_m / (111_320.0 * origin.lat_deg.to_radians().cos().max(0.01));
    vec![
        LatLon::new(origin.lat_deg + dlat, origin.lon_deg),
        LatLon::new(origin.lat_deg + dlat, origin.lon_deg + dlon),
        LatLon::new(origin.lat_deg, origin.lon_deg + dlon),
        origin,
    ]
}

// --- the autopilot (no I/O) -----------------------------------------------------------------

/// Where the simulated drone is in its mission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// On the ground, motors off.
    Idle,
    /// Climbing to cruise altitude over home.
    Takeoff,
    /// Flying the route towards waypoint `leg`.
    Survey {
        /// Index of the waypoint being flown to.
        leg: usize,
    },
    /// Holding position during the survey; resumes towards `leg`.
    Paused {
        /// Index of the waypoint to resume towards.
        leg: usize,
    },
    /// Flying home at cruise altitude.
    Returning,
    /// Descending over the current position.
    Landing,
}

/// Mission status the drone reports, in the design's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissionState {
    /// No mission.
    None,
    /// Flying it.
    InProgress,
    /// Held.
    Paused,
    /// Route finished.
    Completed,
    /// Stopped by abort or RTH.
    Aborted,
}

impl MissionState {
    const fn as_str(self) -> &'static str {
        match self {
            Self::None => "available",
            Self::InProgress => "in_progress",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Aborted => "aborted",
        }
    }
}

/// Ids of recently executed commands: enough to recognise `QoS` 1 redeliveries.
#[derive(Debug, Default)]
pub struct SeenCommands {
    set: HashSet<uuid::Uuid>,
    order: VecDeque<uuid::Uuid>,
}

impl SeenCommands {
    const CAPACITY: usize = 1024;

    /// True the first time `id` is seen; false for a duplicate.
    pub fn first_time(&mut self, id: uuid::Uuid) -> bool {
        if !self.set.insert(id) {
            return false;
        }
        self.order.push_back(id);
        if self.order.len() > Self::CAPACITY
            && let Some(old) = self.order.pop_front()
        {
            self.set.remove(&old);
        }
        true
    }
}

/// The drone's brain: commands in, acks and guidance out. No sockets, no clock.
#[derive(Debug)]
pub struct Autopilot {
    home: LatLon,
    route: Vec<LatLon>,
    alt_rel_m: f64,
    speed_mps: f64,
    limits: Limits,
    battery_model: BatteryModel,
    /// Kinematic state.
    pub kin: Kinematics,
    /// Battery, percent.
    pub battery_pct: f64,
    /// Mission phase.
    pub phase: Phase,
    /// Mission status reported.
    pub mission_state: MissionState,
    /// Mission being flown.
    pub mission_id: Option<MissionId>,
    seen: SeenCommands,
}

impl Autopilot {
    /// On the ground at `cfg.home`.
    pub fn new(cfg: &MqttDroneConfig) -> Self {
        Self {
            home: cfg.home,
            route: cfg.route.clone(),
            alt_rel_m: cfg.alt_rel_m,
            speed_mps: cfg.speed_mps,
            limits: Limits::default(),
            battery_model: BatteryModel::default(),
            kin: Kinematics::at_rest(cfg.home, 0.0),
            battery_pct: cfg.battery_pct,
            phase: Phase::Idle,
            mission_state: MissionState::None,
            mission_id: None,
            seen: SeenCommands::default(),
        }
    }

    /// Handles a command. `None` for a duplicate (already executed and acknowledged once).
    pub fn command(&mut self, cmd: &DroneCommand) -> Option<CommandAck> {
        if !self.seen.first_time(cmd.cmd_id) {
            return None;
        }
        let airborne = !matches!(self.phase, Phase::Idle);
        let result: Result<(), &str> = match (cmd.action, self.phase) {
            (CommandAction::Start, Phase::Idle) if self.route.is_empty() => Err("no route loaded"),
            (CommandAction::Start, Phase::Idle) => {
                self.phase = Phase::Takeoff;
                self.mission_state = MissionState::InProgress;
                self.mission_id = cmd.mission_id;
                Ok(())
            }
            (CommandAction::Start, _) => Err("already flying"),
            (CommandAction::Pause, Phase::Survey { leg }) => {
                self.phase = Phase::Paused { leg };
                self.mission_state = MissionState::Paused;
                Ok(())
            }
            (CommandAction::Pause, _) => Err("not flying a survey"),
            (CommandAction::Resume, Phase::Paused { leg }) => {
                self.phase = Phase::Survey { leg };
                self.mission_state = MissionState::InProgress;
                Ok(())
            }
            (CommandAction::Resume, _) => Err("not paused"),
            (CommandAction::Abort | CommandAction::Rth, _) if airborne => {
                self.phase = Phase::Returning;
                if matches!(
                    self.mission_state,
                    MissionState::InProgress | MissionState::Paused
                ) {
                    self.mission_state = MissionState::Aborted;
                }
                Ok(())
            }
            (CommandAction::Land, _) if airborne => {
                self.phase = Phase::Landing;
                if matches!(
                    self.mission_state,
                    MissionState::InProgress | MissionState::Paused
                ) {
                    self.mission_state = MissionState::Aborted;
                }
                Ok(())
            }
            (CommandAction::Abort | CommandAction::Rth | CommandAction::Land, _) => {
                Err("on the ground")
            }
        };
        Some(match result {
            Ok(()) => CommandAck {
                cmd_id: cmd.cmd_id,
                status: AckStatus::Executed,
                detail: String::new(),
            },
            Err(why) => CommandAck {
                cmd_id: cmd.cmd_id,
                status: AckStatus::Rejected,
                detail: why.to_owned(),
            },
        })
    }

    fn guidance(&self) -> Guidance {
        let go = |pos, alt_rel_m| Guidance::GoTo {
            pos,
            alt_rel_m,
            speed_mps: self.speed_mps,
        };
        match self.phase {
            Phase::Idle => Guidance::Idle,
            Phase::Takeoff | Phase::Returning => go(self.home, self.alt_rel_m),
            Phase::Survey { leg } => go(
                self.route[leg.min(self.route.len().saturating_sub(1))],
                self.alt_rel_m,
            ),
            Phase::Paused { .. } => Guidance::Hold {
                pos: self.kin.pos,
                alt_rel_m: self.kin.alt_rel_m,
            },
            Phase::Landing => Guidance::Land { pos: self.kin.pos },
        }
    }

    /// Advances the flight by `dt_s` simulated seconds (sub-stepped at 0.1 s).
    pub fn step(&mut self, dt_s: f64) {
        let mut left = dt_s;
        while left > 1e-9 {
            let dt = left.min(0.1);
            left -= dt;
            let armed = !matches!(self.phase, Phase::Idle);
            self.kin = flight::step(
                &self.kin,
                &self.guidance(),
                &self.limits,
                &Environment::default(),
                dt,
            );
            self.battery_pct =
                flight::drain_battery(self.battery_pct, &self.kin, armed, &self.battery_model, dt);
            self.advance_phase();
        }
    }

    fn arrived(&self, target: LatLon, alt_rel_m: f64) -> bool {
        self.kin.pos.distance_m(target) < 1.5 && (self.kin.alt_rel_m - alt_rel_m).abs() < 1.0
    }

    fn advance_phase(&mut self) {
        self.phase = match self.phase {
            Phase::Takeoff if self.kin.alt_rel_m >= self.alt_rel_m - 1.0 => {
                Phase::Survey { leg: 0 }
            }
            Phase::Survey { leg } if self.arrived(self.route[leg], self.alt_rel_m) => {
                if leg + 1 < self.route.len() {
                    Phase::Survey { leg: leg + 1 }
                } else {
                    self.mission_state = MissionState::Completed;
                    Phase::Returning
                }
            }
            Phase::Returning if self.kin.pos.distance_m(self.home) < 1.5 => Phase::Landing,
            Phase::Landing if self.kin.on_ground() => Phase::Idle,
            p => p,
        };
    }

    /// Mission progress, percent: legs done plus the share of the current leg.
    pub fn progress_pct(&self) -> f64 {
        let n = self.route.len().max(1) as f64;
        match (self.phase, self.mission_state) {
            (_, MissionState::Completed) => 100.0,
            (_, MissionState::None) | (Phase::Takeoff, _) => 0.0,
            (Phase::Survey { leg } | Phase::Paused { leg }, _) => {
                let from = if leg == 0 {
                    self.home
                } else {
                    self.route[leg - 1]
                };
                let to = self.route[leg];
                let total = from.distance_m(to).max(1e-6);
                let share = (1.0 - self.kin.pos.distance_m(to) / total).clamp(0.0, 1.0);
                ((leg as f64 + share) / n * 100.0).clamp(0.0, 100.0)
            }
            _ => 0.0,
        }
    }

    /// The drone's own account of its flight: the mission state, or where it is in the
    /// flight home once the route is done (`returning`, `landing`) — a drone whose route is
    /// finished is not done until it has landed.
    pub const fn status(&self) -> &'static str {
        match self.phase {
            Phase::Returning => "returning",
            Phase::Landing => "landing",
            _ => self.mission_state.as_str(),
        }
    }

    /// The telemetry message for now.
    pub fn telemetry(
        &self,
        drone_id: DroneId,
        timestamp: chrono::DateTime<chrono::Utc>,
    ) -> TelemetryUpdate {
        TelemetryUpdate {
            kind: "telemetry_update".to_owned(),
            mission_id: self.mission_id,
            drone_id,
            timestamp,
            position: WirePosition {
                lat: self.kin.pos.lat_deg,
                lon: self.kin.pos.lon_deg,
                altitude: self.kin.alt_rel_m,
            },
            velocity: WireVelocity {
                speed: self.kin.ground_speed_mps(),
                heading: self.kin.heading_deg,
            },
            battery: (self.battery_pct * 10.0).round() / 10.0,
            status: self.status().to_owned(),
            progress: (self.progress_pct() * 10.0).round() / 10.0,
        }
    }
}

// --- the MQTT driver ------------------------------------------------------------------------

/// Counters of one simulated drone, readable from any thread.
#[derive(Debug, Default)]
pub struct MqttDroneCounters {
    /// Telemetry messages handed to the client.
    pub telemetry_sent: AtomicU64,
    /// Commands executed (or refused) and acknowledged.
    pub commands_handled: AtomicU64,
    /// Command deliveries ignored as duplicates.
    pub duplicates_ignored: AtomicU64,
    /// Command payloads that could not be parsed.
    pub malformed_commands: AtomicU64,
    /// Connections acknowledged by the broker.
    pub connects: AtomicU64,
}

/// What the drone reports about itself to its owner.
#[derive(Debug, Clone, PartialEq)]
pub struct DroneSnapshot {
    /// Phase.
    pub phase: Phase,
    /// Mission state.
    pub mission_state: MissionState,
    /// Position.
    pub pos: LatLon,
    /// Altitude above home, metres.
    pub alt_rel_m: f64,
    /// Battery, percent.
    pub battery_pct: f64,
    /// Connected to the broker.
    pub connected: bool,
}

/// A running simulated MQTT drone.
#[derive(Debug)]
pub struct MqttDrone {
    id: DroneId,
    frozen: Arc<AtomicBool>,
    stop: Option<mpsc::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    state: watch::Receiver<DroneSnapshot>,
    counters: Arc<MqttDroneCounters>,
}

impl MqttDrone {
    /// Connects and starts flying logic on the current tokio runtime.
    pub fn spawn(cfg: MqttDroneConfig) -> Self {
        let ap = Autopilot::new(&cfg);
        let snapshot = snapshot(&ap, false);
        let (state_tx, state_rx) = watch::channel(snapshot);
        let (stop_tx, stop_rx) = mpsc::channel(1);
        let frozen = Arc::new(AtomicBool::new(false));
        let counters = Arc::new(MqttDroneCounters::default());
        let id = cfg.drone_id;
        let task = tokio::spawn(drive(
            cfg,
            ap,
            stop_rx,
            Arc::clone(&frozen),
            state_tx,
            Arc::clone(&counters),
        ));
        Self {
            id,
            frozen,
            stop: Some(stop_tx),
            task,
            state: state_rx,
            counters,
        }
    }

    /// The drone's id.
    pub fn id(&self) -> DroneId {
        self.id
    }

    /// Latest state.
    pub fn snapshot(&self) -> DroneSnapshot {
        self.state.borrow().clone()
    }

    /// A receiver that changes with every simulation step.
    pub fn watch(&self) -> watch::Receiver<DroneSnapshot> {
        self.state.clone()
    }

    /// Counters.
    pub fn counters(&self) -> &MqttDroneCounters {
        &self.counters
    }

    /// Crash: the task ends and the TCP connection closes without an MQTT DISCONNECT, so the
    /// broker publishes the drone's last will (`offline`) at once.
    pub async fn kill(self) {
        self.task.abort();
        // The join error of an aborted task carries nothing to report.
        let _ = self.task.await;
    }

    /// Hang: the drone stops sending anything, keep-alive pings included, while its socket
    /// stays open; the broker declares it offline after 1.5 × keep-alive.
    pub fn freeze(&self) {
        self.frozen.store(true, Ordering::SeqCst);
    }

    /// Clean stop: publishes a retained `offline` and disconnects.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            // A closed channel means the task already ended.
            let _ = tx.send(()).await;
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), &mut self.task).await;
        self.task.abort();
    }
}

fn snapshot(ap: &Autopilot, connected: bool) -> DroneSnapshot {
    DroneSnapshot {
        phase: ap.phase,
        mission_state: ap.mission_state,
        pos: ap.kin.pos,
        alt_rel_m: ap.kin.alt_rel_m,
        battery_pct: ap.battery_pct,
        connected,
    }
}

fn status_topic(id: DroneId) -> String {
    format!("drones/{id}/status")
}

fn options(cfg: &MqttDroneConfig) -> MqttOptions {
    let mut o = MqttOptions::new(
        format!("drone-{}", cfg.drone_id),
        cfg.broker.host.clone(),
        cfg.broker.port,
    );
    o.set_keep_alive(cfg.keep_alive.max(Duration::from_secs(1)));
    o.set_last_will(LastWill::new(
        status_topic(cfg.drone_id),
        "offline",
        QoS::AtLeastOnce,
        true,
    ));
    // A persistent session: commands queued while the link blipped are still delivered.
    o.set_clean_session(false);
    if let Some((u, p)) = &cfg.broker.credentials {
        o.set_credentials(u.clone(), p.clone());
    }
    o
}

async fn drive(
    cfg: MqttDroneConfig,
    mut ap: Autopilot,
    mut stop: mpsc::Receiver<()>,
    frozen: Arc<AtomicBool>,
    state: watch::Sender<DroneSnapshot>,
    counters: Arc<MqttDroneCounters>,
) {
    let id = cfg.drone_id;
    let (client, mut eventloop) = AsyncClient::new(options(&cfg), 64);
    let period = Duration::from_secs_f64(1.0 / cfg.telemetry_hz.clamp(0.1, 100.0));
    let mut ticker = tokio::time::interval(period);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let commands_topic = format!("drones/{id}/commands");
    let ack_topic = format!("drones/{id}/ack");
    let telemetry_topic = format!("drones/{id}/telemetry");
    let mut connected = false;
    let mut retry_at: Option<tokio::time::Instant> = None;
    loop {
        if frozen.load(Ordering::SeqCst) {
            // Hold the event loop (and so the socket) without ever polling it again.
            let _keep_socket_open = &mut eventloop;
            let _ = stop.recv().await;
            return;
        }
        tokio::select! {
            _ = stop.recv() => {
                let _ = client.publish(status_topic(id), QoS::AtLeastOnce, true, "offline").await;
                let _ = client.disconnect().await;
                let _ = tokio::time::timeout(Duration::from_secs(1), async {
                    while let Ok(ev) = eventloop.poll().await {
                        if matches!(ev, Event::Outgoing(rumqttc::Outgoing::Disconnect)) { break; }
                    }
                }).await;
                return;
            }
            () = async { if let Some(t) = retry_at { tokio::time::sleep_until(t).await } }, if retry_at.is_some() => {
                retry_at = None;
            }
            ev = eventloop.poll(), if retry_at.is_none() => match ev {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    connected = true;
                    counters.connects.fetch_add(1, Ordering::Relaxed);
                    if let Err(e) = client.subscribe(&commands_topic, QoS::AtLeastOnce).await {
                        tracing::warn!(drone = %id, error = %e, "subscribe failed");
                    }
                    if let Err(e) = client.publish(status_topic(id), QoS::AtLeastOnce, true, "online").await {
                        tracing::warn!(drone = %id, error = %e, "status publish failed");
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) if p.topic == commands_topic => {
                    match serde_json::from_slice::<DroneCommand>(&p.payload) {
                        Ok(cmd) => match ap.command(&cmd) {
                            Some(ack) => {
                                counters.commands_handled.fetch_add(1, Ordering::Relaxed);
                                match serde_json::to_vec(&ack) {
                                    Ok(body) => if let Err(e) = client.publish(&ack_topic, QoS::AtLeastOnce, false, body).await {
                                        tracing::warn!(drone = %id, error = %e, "ack publish failed");
                                    },
                                    Err(e) => tracing::error!(error = %e, "ack not serialisable"),
                                }
                            }
                            None => { counters.duplicates_ignored.fetch_add(1, Ordering::Relaxed); }
                        },
                        Err(e) => {
                            counters.malformed_commands.fetch_add(1, Ordering::Relaxed);
                            tracing::warn!(drone = %id, error = %e, "malformed command ignored");
                        }
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    connected = false;
                    tracing::info!(drone = %id, error = %e, "broker connection lost; retrying");
                    retry_at = Some(tokio::time::Instant::now() + Duration::from_millis(500));
                }
            },
            _ = ticker.tick() => {
                ap.step(period.as_secs_f64() * cfg.time_scale);
                state.send_replace(snapshot(&ap, connected));
                if connected {
                    let t = ap.telemetry(id, chrono::Utc::now());
                    match serde_json::to_vec(&t) {
                        Ok(body) => match client.try_publish(&telemetry_topic, cfg.telemetry_qos, false, body) {
                            Ok(()) => { counters.telemetry_sent.fetch_add(1, Ordering::Relaxed); }
                            Err(e) => tracing::debug!(drone = %id, error = %e, "telemetry skipped (client queue full)"),
                        },
                        Err(e) => tracing::error!(error = %e, "telemetry not serialisable"),
                    }
                }
            }
        }
    }
}

// --- a fleet for the CLI --------------------------------------------------------------------

/// Options of [`run`].
#[derive(Debug, Clone)]
pub struct FleetOptions {
    /// Number of drones.
    pub drones: u32,
    /// Home of the first drone; the others stand 10 m apart to the east.
    pub home: LatLon,
    /// Telemetry rate per drone, Hz.
    pub telemetry_hz: f64,
    /// Simulated seconds per wall second.
    pub time_scale: f64,
    /// Fixed drone ids (for drones registered on a fleet server); random when shorter.
    pub ids: Vec<DroneId>,
    /// Fixed homes (drone `i` at `homes[i]`, e.g. the stored drones of a desktop's sites);
    /// drones beyond it stand 10 m apart to the east of `home`.
    pub homes: Vec<LatLon>,
}

impl Default for FleetOptions {
    fn default() -> Self {
        Self {
            drones: 1,
            home: LatLon::new(37.7749, -122.4194),
            telemetry_hz: 10.0,
            time_scale: 1.0,
            ids: Vec::new(),
            homes: Vec::new(),
        }
    }
}

/// A running fleet of MQTT drones on the thread `aviary-sim-mqtt`.
#[derive(Debug)]
pub struct MqttFleet {
    ids: Vec<DroneId>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl MqttFleet {
    /// Ids of the drones, in creation order.
    pub fn drone_ids(&self) -> &[DroneId] {
        &self.ids
    }

    /// Blocks until the fleet stops (after [`MqttFleet::shutdown`] from another handle owner,
    /// or forever for a CLI run ended by Ctrl-C).
    pub fn wait(mut self) {
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!("the MQTT simulator thread panicked");
        }
    }

    /// Stops every drone cleanly (retained `offline`) and joins the thread.
    pub fn shutdown(mut self) {
        if let Some(tx) = self.stop.take() {
            // The receiver is gone only if the thread already ended.
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!("the MQTT simulator thread panicked");
        }
    }
}

/// Starts `options.drones` simulated drones against the broker at `url` (the CLI's
/// `aviary sim --mqtt URL`). Returns at once; the drones run on the thread `aviary-sim-mqtt`
/// until [`MqttFleet::shutdown`].
pub fn run(url: &str, options: &FleetOptions) -> Result<MqttFleet, MqttDroneError> {
    let broker = Broker::parse(url)?;
    let ids: Vec<DroneId> = (0..options.drones as usize)
        .map(|i| {
            options
                .ids
                .get(i)
                .copied()
                .unwrap_or_else(DroneId::new_random)
        })
        .collect();
    let configs: Vec<MqttDroneConfig> =
        ids.iter()
            .enumerate()
            .map(|(i, id)| {
                let dlon = 10.0 * i as f64
                    / (111_320.0 * options.home.lat_deg.to_radians().cos().max(0.01));
                let home = options.homes.get(i).copied().unwrap_or_else(|| {
                    LatLon::new(options.home.lat_deg, options.home.lon_deg + dlon)
                });
                let mut c = MqttDroneConfig::new(broker.clone(), *id, home);
                c.telemetry_hz = options.telemetry_hz;
                c.time_scale = options.time_scale;
                c
            })
            .collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("aviary-sim-mqtt-worker")
        .enable_all()
        .build()?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("aviary-sim-mqtt".into())
        .spawn(move || {
            runtime.block_on(async move {
                let drones: Vec<MqttDrone> = configs.into_iter().map(MqttDrone::spawn).collect();
                // Either an explicit stop or the handle being dropped ends the fleet.
                let _ = stop_rx.await;
                for d in drones {
                    d.stop().await;
                }
            });
        })?;
    Ok(MqttFleet {
        ids,
        stop: Some(stop_tx),
        thread: Some(thread),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> MqttDroneConfig {
        let b = Broker::parse("mqtt://127.0.0.1:1883").expect("valid");
        MqttDroneConfig::new(b, DroneId::new_random(), LatLon::new(47.0, 8.0))
    }

    fn cmd(action: CommandAction) -> DroneCommand {
        DroneCommand {
            cmd_id: uuid::Uuid::new_v4(),
            action,
            mission_id: Some(MissionId::new_random()),
        }
    }

    #[test]
    fn flies_the_route_and_completes() {
        let c = cfg();
        let mut ap = Autopilot::new(&c);
        let start = cmd(CommandAction::Start);
        assert_eq!(
            ap.command(&start).map(|a| a.status),
            Some(AckStatus::Executed)
        );
        assert_eq!(ap.command(&start), None, "a redelivered command is ignored");
        let mut saw_progress = false;
        for _ in 0..2000 {
            ap.step(0.5);
            saw_progress |= ap.progress_pct() > 10.0 && ap.progress_pct() < 90.0;
            if ap.phase == Phase::Idle {
                break;
            }
        }
        assert!(saw_progress);
        assert_eq!(ap.mission_state, MissionState::Completed);
        assert_eq!(ap.phase, Phase::Idle, "landed at home");
        assert!(ap.kin.pos.distance_m(c.home) < 2.0);
        assert!(ap.battery_pct < 100.0);
        assert!((ap.progress_pct() - 100.0).abs() < 1e-9);
    }

    #[test]
    fn pause_resume_abort_and_refusals() {
        let mut ap = Autopilot::new(&cfg());
        let r = ap.command(&cmd(CommandAction::Pause)).expect("first");
        assert_eq!(
            (r.status, r.detail.as_str()),
            (AckStatus::Rejected, "not flying a survey")
        );
        ap.command(&cmd(CommandAction::Start));
        for _ in 0..100 {
            ap.step(0.2);
        }
        assert!(matches!(ap.phase, Phase::Survey { .. }), "{:?}", ap.phase);
        assert_eq!(
            ap.command(&cmd(CommandAction::Pause)).map(|a| a.status),
            Some(AckStatus::Executed)
        );
        assert_eq!(
            ap.telemetry(DroneId::new_random(), chrono::Utc::now())
                .status,
            "paused"
        );
        assert_eq!(
            ap.command(&cmd(CommandAction::Resume)).map(|a| a.status),
            Some(AckStatus::Executed)
        );
        assert_eq!(
            ap.command(&cmd(CommandAction::Abort)).map(|a| a.status),
            Some(AckStatus::Executed)
        );
        assert_eq!(ap.phase, Phase::Returning);
        assert_eq!(ap.mission_state, MissionState::Aborted);
        assert_eq!(
            ap.command(&cmd(CommandAction::Start)).map(|a| a.status),
            Some(AckStatus::Rejected)
        );
    }

    #[test]
    fn broker_urls() {
        assert_eq!(Broker::parse("127.0.0.1:1900").expect("valid").port, 1900);
        assert!(Broker::parse("ws://x").is_err());
    }
}
