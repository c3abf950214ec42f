//! Sockets and time around the I/O-free [`Vehicle`]: one tokio runtime on a named thread,
//! one task and one UDP socket per drone.
//!
//! # Port scheme
//! Like SITL instances started with `--out udp:GCS`, every drone owns a UDP socket bound to
//! `bind_ip:base_port + index` (or an ephemeral port when `base_port` is 0) and sends all its
//! traffic to the ground-station address (`udpout` style). The ground station replies to the
//! source address of each packet, so it can address every drone separately even when system
//! ids repeat: system ids are `1 + index % 254`, unique for fleets of up to 254 drones.

use crate::vehicle::{
    CopterMode, Fault, StoredItem, StreamRates, TerrainOptions, Tick, Vehicle, VehicleConfig,
};
use aviary_core::LatLon;
use mavlink::dialects::ardupilotmega::MavMessage;
use mavlink::{MavHeader, MavlinkReader};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// Errors of the simulator runtime.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// The tokio runtime or its thread could not be started.
    #[error("could not start the simulator runtime: {0}")]
    Runtime(#[source] std::io::Error),
    /// A drone socket could not be bound.
    #[error("could not bind drone socket {addr}: {source}")]
    Bind {
        /// Address we tried.
        addr: SocketAddr,
        /// Why it failed.
        #[source]
        source: std::io::Error,
    },
    /// No drone with that id.
    #[error("no simulated drone with id {0}")]
    NoSuchDrone(u32),
    /// The drone's control queue is full or the drone has stopped.
    #[error("drone {0} is not accepting control messages")]
    ControlClosed(u32),
    /// The simulator has shut down.
    #[error("the simulator has shut down")]
    ShutDown,
}

/// Configuration of a whole simulated fleet.
#[derive(Debug, Clone)]
pub struct SimConfig {
    /// Where the drones send (the ground station's `udpin` address).
    pub gcs_addr: SocketAddr,
    /// Address drone sockets bind to.
    pub bind_ip: IpAddr,
    /// First drone port; drone `i` binds `base_port + i`. 0 = ephemeral ports.
    pub base_port: u16,
    /// Simulated seconds per wall second.
    pub speedup: f64,
    /// Physics/autopilot ticks per wall second.
    pub tick_hz: f64,
    /// Number of drones started with the simulator.
    pub drones: u32,
    /// Home of drone 0; the others line up 10 m apart east of it.
    pub home: LatLon,
    /// Altitude of the homes above mean sea level, metres (`GLOBAL_POSITION_INT.alt`,
    /// `HOME_POSITION`; SITL's `--home lat,lon,alt`).
    pub home_alt_amsl_m: f64,
    /// Stream telemetry without being asked (the app sees drones instantly); `None` behaves
    /// like `ArduPilot` (HEARTBEAT only until rates are requested).
    pub default_streams: Option<StreamRates>,
    /// GPS noise, metres (one sigma).
    pub gps_noise_m: f64,
    /// GCS heartbeat failsafe timeout, wall seconds.
    pub gcs_failsafe_s: f64,
    /// Mission upload: re-request an awaited item after this long, wall seconds (1 s, as
    /// `ArduPilot`).
    pub mission_rerequest_s: f64,
    /// Mission upload: cancel after this long without an item, wall seconds (8 s, as
    /// `ArduPilot`).
    pub mission_upload_timeout_s: f64,
    /// `ArduPilot`-like terrain on every drone added with [`SimHandle::add_drone`] (`None`:
    /// off, the default).
    pub terrain: Option<TerrainOptions>,
}

impl SimConfig {
    /// Defaults: drones on ephemeral loopback ports sending to `gcs_addr`, real time,
    /// `ArduPilot`-like silent streams.
    pub fn new(gcs_addr: SocketAddr, drones: u32) -> Self {
        Self {
            gcs_addr,
            bind_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
            base_port: 0,
            speedup: 1.0,
            tick_hz: 20.0,
            drones,
            home: LatLon::new(47.397_742, 8.545_594),
            home_alt_amsl_m: 488.0,
            default_streams: None,
            gps_noise_m: 0.3,
            gcs_failsafe_s: 5.0,
            mission_rerequest_s: 1.0,
            mission_upload_timeout_s: 8.0,
            terrain: None,
        }
    }
}

/// Identity and addresses of one running simulated drone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DroneInfo {
    /// Simulator-local id (the index it was created with).
    pub id: u32,
    /// `MAVLink` system id.
    pub system_id: u8,
    /// The drone's own UDP address (the source address the ground station sees).
    pub local_addr: SocketAddr,
    /// Where the drone sends.
    pub gcs_addr: SocketAddr,
}

/// Per-drone counters.
#[derive(Debug, Default)]
pub struct DroneCounters {
    /// `MAVLink` messages sent (after fault-injected drops).
    pub sent: std::sync::atomic::AtomicU64,
    /// `GLOBAL_POSITION_INT` messages sent.
    pub position_sent: std::sync::atomic::AtomicU64,
    /// `MAVLink` messages received and handled.
    pub received: std::sync::atomic::AtomicU64,
}

/// What a drone is doing, refreshed after every tick and every handled message (for trainer
/// panels and tests; the ground station sees the same over `MAVLink`).
#[derive(Debug, Clone, PartialEq)]
pub struct DroneSnapshot {
    /// Flight mode.
    pub mode: CopterMode,
    /// Motors armed.
    pub armed: bool,
    /// True position.
    pub pos: LatLon,
    /// Altitude above home, metres.
    pub alt_rel_m: f64,
    /// Battery remaining, percent.
    pub battery_pct: f64,
    /// Current mission item.
    pub current_seq: u16,
    /// Stored mission, home first.
    pub mission: Vec<StoredItem>,
}

impl DroneSnapshot {
    fn of(v: &Vehicle) -> Self {
        Self {
            mode: v.mode(),
            armed: v.armed(),
            pos: v.kinematics().pos,
            alt_rel_m: v.kinematics().alt_rel_m,
            battery_pct: v.battery_pct(),
            current_seq: v.current_seq(),
            mission: v.mission_items(),
        }
    }
}

enum Control {
    Fault(Fault),
}

struct DroneEntry {
    info: DroneInfo,
    snapshot: Arc<Mutex<DroneSnapshot>>,
    control: mpsc::Sender<Control>,
    counters: Arc<DroneCounters>,
}

struct Shared {
    drones: BTreeMap<u32, DroneEntry>,
    next_id: u32,
}

/// Handle to a running simulator. Dropping it (or calling [`SimHandle::shutdown`]) stops
/// every drone and the runtime thread.
pub struct SimHandle {
    rt: tokio::runtime::Handle,
    cfg: SimConfig,
    shared: Arc<Mutex<Shared>>,
    epoch: tokio::time::Instant,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl std::fmt::Debug for SimHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimHandle")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

/// Entry point of the simulator.
#[derive(Debug)]
pub struct Simulator;

impl Simulator {
    /// Starts the runtime thread (`aviary-sim`) and `config.drones` drones.
    pub fn spawn(config: SimConfig) -> Result<SimHandle, SimError> {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(SimError::Runtime)?;
        let handle = rt.handle().clone();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("aviary-sim".into())
            .spawn(move || {
                rt.block_on(async move {
                    let _ = stop_rx.await;
                });
                rt.shutdown_timeout(Duration::from_millis(200));
            })
            .map_err(SimError::Runtime)?;
        let epoch = tokio::time::Instant::now();
        let sim = SimHandle {
            rt: handle,
            shared: Arc::new(Mutex::new(Shared {
                drones: BTreeMap::new(),
                next_id: 0,
            })),
            epoch,
            stop: Some(stop_tx),
            thread: Some(thread),
            cfg: config,
        };
        for _ in 0..sim.cfg.drones {
            sim.add_drone()?;
        }
        Ok(sim)
    }
}

impl SimHandle {
    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The simulator's start instant: `time_boot_ms` of every drone counts simulated
    /// milliseconds from here (equal to wall milliseconds at speed-up 1).
    pub fn epoch(&self) -> std::time::Instant {
        self.epoch.into_std()
    }

    /// The configuration the simulator runs with.
    pub fn config(&self) -> &SimConfig {
        &self.cfg
    }

    /// Adds a drone with default settings; returns its identity and address.
    pub fn add_drone(&self) -> Result<DroneInfo, SimError> {
        let id = self.lock().next_id;
        let home = self
            .cfg
            .home
            .offset_ne(0.0, 10.0 * f64::from(id % 100))
            .offset_ne(10.0 * f64::from(id / 100), 0.0);
        let mut vc = VehicleConfig::new((1 + id % 254) as u8, home);
        vc.home_alt_amsl_m = self.cfg.home_alt_amsl_m;
        // Drone number `id` has the same autopilot uid in every run.
        vc.uid = crate::vehicle::uid_for_index(id);
        vc.default_streams = self.cfg.default_streams;
        vc.gps_noise_m = self.cfg.gps_noise_m;
        vc.gcs_failsafe_s = self.cfg.gcs_failsafe_s;
        vc.mission_rerequest_s = self.cfg.mission_rerequest_s;
        vc.mission_upload_timeout_s = self.cfg.mission_upload_timeout_s;
        vc.terrain = self.cfg.terrain;
        vc.seed = u64::from(id) + 1;
        self.add_drone_with(vc)
    }

    /// Adds a drone with an explicit vehicle configuration.
    pub fn add_drone_with(&self, vc: VehicleConfig) -> Result<DroneInfo, SimError> {
        let mut shared = self.lock();
        let id = shared.next_id;
        let port = if self.cfg.base_port == 0 {
            0
        } else {
            self.cfg.base_port.saturating_add(id as u16)
        };
        let addr = SocketAddr::new(self.cfg.bind_ip, port);
        let std_sock =
            std::net::UdpSocket::bind(addr).map_err(|source| SimError::Bind { addr, source })?;
        std_sock
            .set_nonblocking(true)
            .map_err(|source| SimError::Bind { addr, source })?;
        let local_addr = std_sock
            .local_addr()
            .map_err(|source| SimError::Bind { addr, source })?;
        let info = DroneInfo {
            id,
            system_id: vc.system_id,
            local_addr,
            gcs_addr: self.cfg.gcs_addr,
        };
        let (tx, rx) = mpsc::channel(32);
        let counters = Arc::new(DroneCounters::default());
        let vehicle = Vehicle::new(vc);
        let snapshot = Arc::new(Mutex::new(DroneSnapshot::of(&vehicle)));
        let task = DroneTask {
            snapshot: Arc::clone(&snapshot),
            mission_version: vehicle.mission_version(),
            vehicle,
            gcs: self.cfg.gcs_addr,
            speedup: self.cfg.speedup.max(0.0),
            tick: Duration::from_secs_f64(1.0 / self.cfg.tick_hz.clamp(1.0, 1000.0)),
            epoch: self.epoch,
            counters: Arc::clone(&counters),
            seq: 0,
            // Golden-ratio spacing spreads any number of drones evenly over the period.
            phase: (f64::from(id) * 0.618_033_988_75).fract(),
        };
        let _guard = self.rt.enter();
        let sock = tokio::net::UdpSocket::from_std(std_sock)
            .map_err(|source| SimError::Bind { addr, source })?;
        self.rt.spawn(task.run(sock, rx));
        shared.drones.insert(
            id,
            DroneEntry {
                info: info.clone(),
                snapshot,
                control: tx,
                counters,
            },
        );
        shared.next_id += 1;
        Ok(info)
    }

    /// Stops and removes a drone (its socket closes; the ground station sees a lost link).
    pub fn remove_drone(&self, id: u32) -> Result<(), SimError> {
        // Dropping the control sender ends the drone's task.
        self.lock()
            .drones
            .remove(&id)
            .map(|_| ())
            .ok_or(SimError::NoSuchDrone(id))
    }

    /// Injects a fault into drone `id` at run time.
    pub fn inject_fault(&self, id: u32, fault: Fault) -> Result<(), SimError> {
        let shared = self.lock();
        let entry = shared.drones.get(&id).ok_or(SimError::NoSuchDrone(id))?;
        entry
            .control
            .try_send(Control::Fault(fault))
            .map_err(|_| SimError::ControlClosed(id))
    }

    /// The running drones and their addresses.
    pub fn drones(&self) -> Vec<DroneInfo> {
        self.lock()
            .drones
            .values()
            .map(|d| d.info.clone())
            .collect()
    }

    /// What drone `id` is doing now.
    pub fn snapshot(&self, id: u32) -> Option<DroneSnapshot> {
        self.lock().drones.get(&id).map(|d| {
            d.snapshot
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
        })
    }

    /// Counters of drone `id` (messages sent and received).
    pub fn counters(&self, id: u32) -> Option<Arc<DroneCounters>> {
        self.lock().drones.get(&id).map(|d| Arc::clone(&d.counters))
    }

    /// Stops every drone and the runtime thread, waiting for it.
    pub fn shutdown(mut self) {
        self.stop_now();
    }

    fn stop_now(&mut self) {
        self.lock().drones.clear();
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.stop_now();
    }
}

struct DroneTask {
    vehicle: Vehicle,
    snapshot: Arc<Mutex<DroneSnapshot>>,
    mission_version: u64,
    gcs: SocketAddr,
    speedup: f64,
    tick: Duration,
    epoch: tokio::time::Instant,
    counters: Arc<DroneCounters>,
    seq: u8,
    /// Fraction of the tick period this drone's ticks are offset by.
    phase: f64,
}

impl DroneTask {
    async fn run(mut self, sock: tokio::net::UdpSocket, mut control: mpsc::Receiver<Control>) {
        // Spread the fleet's ticks over the tick period: a thousand drones sending in the same
        // instant overflow the ground station's socket buffer, real fleets are not in phase.
        let phase = self.tick.mul_f64(self.phase);
        let mut interval = tokio::time::interval_at(tokio::time::Instant::now() + phase, self.tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let start_wall_s = self.epoch.elapsed().as_secs_f64();
        let mut last_sim_s = start_wall_s * self.speedup;
        let mut buf = vec![0u8; 65_536];
        let mut out_buf = Vec::with_capacity(512);
        loop {
            tokio::select! {
                _ = interval.tick() => {
                    let wall_s = self.epoch.elapsed().as_secs_f64();
                    let sim_s = wall_s * self.speedup;
                    let msgs = self.vehicle.tick(Tick { dt_sim_s: sim_s - last_sim_s, sim_time_s: sim_s, wall_time_s: wall_s });
                    last_sim_s = sim_s;
                    if self.send_all(&sock, &msgs, &mut out_buf).await.is_err() {
                        // The socket is gone (closed by the OS): nothing more this drone can do.
                        break;
                    }
                }
                r = sock.recv_from(&mut buf) => {
                    let Ok((n, _from)) = r else { continue };
                    let msgs = self.receive(&buf[..n]);
                    if self.send_all(&sock, &msgs, &mut out_buf).await.is_err() {
                        break;
                    }
                }
                c = control.recv() => match c {
                    Some(Control::Fault(f)) => {
                        let msgs = self.vehicle.inject(f);
                        if self.send_all(&sock, &msgs, &mut out_buf).await.is_err() {
                            break;
                        }
                    }
                    None => break,
                },
            }
        }
    }

    fn receive(&mut self, datagram: &[u8]) -> Vec<MavMessage> {
        let mut replies = Vec::new();
        let mut reader = MavlinkReader::new(datagram);
        // Garbage is skipped by the reader; an unparsable frame ends the datagram.
        while let Ok((header, msg)) = reader.read_any_message::<MavMessage>() {
            if self.vehicle.should_drop_packet() {
                continue;
            }
            self.counters
                .received
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            replies.extend(
                self.vehicle
                    .handle(header.system_id as u8, header.component_id, &msg),
            );
        }
        replies
    }

    fn publish(&mut self) {
        let mut snap = self.snapshot.lock().unwrap_or_else(PoisonError::into_inner);
        let v = &self.vehicle;
        snap.mode = v.mode();
        snap.armed = v.armed();
        snap.pos = v.kinematics().pos;
        snap.alt_rel_m = v.kinematics().alt_rel_m;
        snap.battery_pct = v.battery_pct();
        snap.current_seq = v.current_seq();
        if v.mission_version() != self.mission_version {
            self.mission_version = v.mission_version();
            snap.mission = v.mission_items();
        }
    }

    async fn send_all(
        &mut self,
        sock: &tokio::net::UdpSocket,
        msgs: &[MavMessage],
        buf: &mut Vec<u8>,
    ) -> std::io::Result<()> {
        self.publish();
        for msg in msgs {
            let header = MavHeader {
                system_id: u32::from(self.vehicle.system_id()),
                component_id: Vehicle::component_id(),
                sequence: self.seq,
            };
            self.seq = self.seq.wrapping_add(1);
            if self.vehicle.should_drop_packet() {
                continue;
            }
            buf.clear();
            if mavlink::write_v2_msg(buf, header, msg).is_err() {
                continue;
            }
            match sock.send_to(buf, self.gcs).await {
                Ok(_) => {
                    self.counters
                        .sent
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if matches!(msg, MavMessage::GLOBAL_POSITION_INT(_)) {
                        self.counters
                            .position_sent
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                // Nobody listening yet (ICMP port unreachable) is normal for udpout: keep going.
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::ConnectionRefused | std::io::ErrorKind::WouldBlock
                    ) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}
