//! The thin async driver around the handshakes: owns the tokio runtime on the named thread
//! `aviary-mavlink`, the socket, timers, per-vehicle state and the GCS heartbeat. The app
//! talks to it only through [`LinkHandle`] (bounded request channel) and [`LinkEvents`]
//! (bounded event channel), and is woken by the injected closure.
//!
//! One file per role: `types` (configuration, vehicle identity and state, events), `handle`
//! (the app's [`LinkHandle`] and [`LinkEvents`]), `transport` (sockets and byte streams,
//! [`spawn`]); the `Driver` here (its loop, sending, heartbeats, reconnection, ticks), with
//! what it does on receiving in `inbound` and on the app's requests in `requests`.

mod handle;
mod inbound;
mod requests;
mod transport;
mod types;

use handle::Request;
pub use handle::{LinkEvents, LinkHandle};
pub use transport::spawn;
use transport::{Inbound, Transport, spawn_stream};
pub use types::{
    Attitude, EVENT_CAPACITY, LinkConfig, LinkError, LinkEvent, LinkStats, MissionOp, PlanState,
    SigningKey, VehicleId, VehicleState, VehicleType, WindEstimate,
};

use crate::mav::codec::{self, Decoded, RxCounters};
use crate::mav::command::{
    Autopilot, CommandEvent, CommandFailure, CommandOutcome, CommandSpec, CommandTransaction,
};
use crate::mav::mission::{Download, MissionError, MissionEvent, Upload};
use crate::mav::sequence::{ActionFailure, ActionSequence, FailureCause, SeqEvent};
use crate::mav::terrain;
use crate::mav::tlog::TlogWriter;
use aviary_core::Clock;
use aviary_core::vehicle::LandedState;
use mav::MavMessage;
use mavlink::dialects::ardupilotmega as mav;
use mavlink::{MavHeader, SigningData};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
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

    /// Puts the vehicle's state where [`LinkHandle::vehicle`] reads it.
    fn share_state(&mut self, id: VehicleId) {
        if let Some(v) = self.vehicles.get(&id) {
            self.shared
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(id, v.state.clone());
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
