//! The server's two MQTT clients.
//!
//! * **Ingest** (`{instance}-ingest`, persistent session, manual acks) subscribes to the shared
//!   subscription `$share/{group}/{prefix}/drones/+/telemetry` at QoS 1 (group and topic prefix
//!   configurable: [`crate::ServerConfig::ingest_share_group`],
//!   [`crate::ServerConfig::mqtt_topic_prefix`]), so the instances of one deployment on one
//!   broker split its drones' telemetry. A message is acknowledged only after the batch holding it
//!   is committed: a crash loses nothing (the broker redelivers) and the insert ignores the
//!   duplicate. The session is keyed by the instance's stable name and re-subscribed on every
//!   connection (a broker restarted without persistence forgets it). A graceful stop commits
//!   and acknowledges what was taken and disconnects without unsubscribing
//!   ([`StopMode::KeepSession`]: the broker queues this instance's share until it is back);
//!   scaling down leaves the share first ([`StopMode::Leave`]) so the others take over.
//! * **Live** (`{instance}-live-<random>`, clean session) subscribes to every drone's
//!   telemetry, acks and status and to `aviary/missions/+/events` (all under the prefix,
//!   [`crate::topics::Topics`]): it fans telemetry out to
//!   this instance's WebSocket clients (so any instance serves any client), resolves the
//!   commands this instance sent, marks drones online/offline, completes and fails missions,
//!   and raises alerts. Mission events (status changes, command outcomes) are published to
//!   the broker so every instance's clients see them.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aviary_core::wire::{CommandAck, DroneCommand, TelemetryUpdate};
use aviary_core::{DroneId, MissionId, OrgId};
use deadpool_postgres::GenericClient;
use rumqttc::{AsyncClient, Event, Packet, Publish, QoS};
use tokio::sync::{broadcast, oneshot};

use crate::Shared;
use crate::alerts::{Alert, AlertKind};
use crate::error::ServerError;
use crate::telemetry::{self, DeadLetter, Row};

/// The shared subscription every instance of the deployment joins.
fn shared_telemetry(c: &crate::ServerConfig) -> String {
    c.topics().shared_telemetry(&c.ingest_share_group)
}

fn poisoned<T>(e: std::sync::PoisonError<T>) -> T {
    e.into_inner()
}

/// Whether the broker granted every filter of a subscription.
fn granted(a: &rumqttc::SubAck) -> bool {
    a.return_codes
        .iter()
        .all(|c| matches!(c, rumqttc::SubscribeReasonCode::Success(_)))
}

/// Words for a broken or refused connection (a refusal names the broker's reason).
fn connection_error(e: &rumqttc::ConnectionError) -> String {
    match e {
        rumqttc::ConnectionError::ConnectionRefused(code) => {
            format!("the broker refused the connection: {code:?}")
        }
        other => other.to_string(),
    }
}

// --- WebSocket fan-out hub -------------------------------------------------------------------

/// Per-mission broadcast channels to this instance's WebSocket clients.
#[derive(Debug, Default)]
pub struct Hub {
    channels: Mutex<HashMap<MissionId, broadcast::Sender<Arc<str>>>>,
}

impl Hub {
    /// A receiver of every message for `mission`.
    pub fn subscribe(&self, mission: MissionId) -> broadcast::Receiver<Arc<str>> {
        let mut c = self.channels.lock().unwrap_or_else(poisoned);
        c.retain(|_, tx| tx.receiver_count() > 0);
        c.entry(mission)
            .or_insert_with(|| broadcast::channel(1024).0)
            .subscribe()
    }

    /// Sends to the mission's clients, if any. Returns how many receive it.
    pub fn publish(&self, mission: MissionId, msg: &Arc<str>) -> usize {
        let c = self.channels.lock().unwrap_or_else(poisoned);
        c.get(&mission)
            .map_or(0, |tx| tx.send(Arc::clone(msg)).unwrap_or(0))
    }
}

// --- mission assignments ---------------------------------------------------------------------

/// How long a mission's assigned drone is reused before it is read again.
pub const ASSIGNMENT_TTL: Duration = Duration::from_secs(2);

/// Which drone the server assigned each mission to (`missions.drone_id`), read from the
/// database and reused for [`ASSIGNMENT_TTL`]. A drone's telemetry may touch (be stored for,
/// be shown on the WebSocket of, finish) only the mission assigned to that very drone: the
/// `mission_id` in a message is the drone's claim, not a fact, and a drone of one
/// organisation must never write into another's mission.
#[derive(Debug, Default)]
pub struct Assignments {
    cache: Mutex<HashMap<MissionId, (Option<DroneId>, Instant)>>,
}

impl Assignments {
    /// `None`: not cached (or too old); `Some(None)`: known to have no drone.
    #[expect(
        clippy::option_option,
        reason = "not cached and cached as unassigned differ"
    )]
    fn cached(&self, mission: MissionId, now: Instant) -> Option<Option<DroneId>> {
        let cache = self.cache.lock().unwrap_or_else(poisoned);
        cache
            .get(&mission)
            .filter(|(_, at)| now.duration_since(*at) < ASSIGNMENT_TTL)
            .map(|(d, _)| *d)
    }

    /// The drone each of `missions` is assigned to (`None`: no such mission, or no drone);
    /// `now` is the server clock's monotonic instant (cache ages).
    pub async fn lookup<C: GenericClient>(
        &self,
        client: &C,
        missions: &[MissionId],
        now: Instant,
    ) -> Result<HashMap<MissionId, Option<DroneId>>, ServerError> {
        let mut out = HashMap::with_capacity(missions.len());
        let mut missing: Vec<uuid::Uuid> = Vec::new();
        for m in missions {
            match self.cached(*m, now) {
                Some(d) => {
                    out.insert(*m, d);
                }
                None => missing.push(m.0),
            }
        }
        if missing.is_empty() {
            return Ok(out);
        }
        let rows = client
            .query(
                "SELECT mission_id, drone_id FROM missions WHERE mission_id = ANY($1)",
                &[&missing],
            )
            .await?;
        let found: HashMap<uuid::Uuid, Option<uuid::Uuid>> =
            rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let mut cache = self.cache.lock().unwrap_or_else(poisoned);
        if cache.len() > 100_000 {
            cache.retain(|_, (_, at)| now.duration_since(*at) < ASSIGNMENT_TTL);
        }
        for id in missing {
            let d = found.get(&id).copied().flatten().map(DroneId);
            cache.insert(MissionId(id), (d, now));
            out.insert(MissionId(id), d);
        }
        Ok(out)
    }

    /// The drone `mission` is assigned to; reads the database only when not cached.
    pub async fn assigned(
        &self,
        pool: &deadpool_postgres::Pool,
        mission: MissionId,
        now: Instant,
    ) -> Result<Option<DroneId>, ServerError> {
        if let Some(d) = self.cached(mission, now) {
            return Ok(d);
        }
        let conn = pool.get().await?;
        Ok(self
            .lookup(&conn, &[mission], now)
            .await?
            .get(&mission)
            .copied()
            .flatten())
    }
}

// --- commands --------------------------------------------------------------------------------

/// What became of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandResult {
    /// Executed by the drone.
    Executed {
        /// Publish → ack.
        latency: Duration,
    },
    /// Refused by the drone.
    Rejected {
        /// The drone's reason.
        detail: String,
    },
    /// No ack within the timeout; the command was not resent.
    Unacknowledged,
}

/// Commands this instance sent and waits for.
#[derive(Debug)]
pub struct Commands {
    client: AsyncClient,
    /// [`crate::ServerConfig::mqtt_topic_prefix`].
    topic_prefix: String,
    pending: Mutex<HashMap<uuid::Uuid, (DroneId, oneshot::Sender<CommandAck>)>>,
}

impl Commands {
    /// Has the broker deliver `drone`'s retained status again: a fresh subscription to its
    /// status topic redelivers the retained message, which the live loop applies like any
    /// status change (a duplicate changes nothing). The extra subscription is dropped after
    /// a few seconds.
    pub fn refresh_status(&self, drone: DroneId) {
        let client = self.client.clone();
        let topic = crate::topics::Topics::new(&self.topic_prefix).drone(drone, "status");
        tokio::spawn(async move {
            if let Err(e) = client.subscribe(topic.as_str(), QoS::AtLeastOnce).await {
                tracing::warn!(error = %e, %topic, "status refresh not requested");
                return;
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
            let _ = client.unsubscribe(topic).await;
        });
    }

    /// Publishes `cmd` to the drone (QoS 1) and waits up to `timeout` for its ack.
    pub async fn send(
        &self,
        drone: DroneId,
        cmd: &DroneCommand,
        timeout: Duration,
    ) -> Result<CommandResult, crate::error::ServerError> {
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .unwrap_or_else(poisoned)
            .insert(cmd.cmd_id, (drone, tx));
        let sent = Instant::now();
        let body = serde_json::to_vec(cmd)?;
        if let Err(e) = self
            .client
            .publish(
                crate::topics::Topics::new(&self.topic_prefix).drone(drone, "commands"),
                QoS::AtLeastOnce,
                false,
                body,
            )
            .await
        {
            self.pending
                .lock()
                .unwrap_or_else(poisoned)
                .remove(&cmd.cmd_id);
            return Err(e.into());
        }
        let r = tokio::time::timeout(timeout, rx).await;
        self.pending
            .lock()
            .unwrap_or_else(poisoned)
            .remove(&cmd.cmd_id);
        Ok(match r {
            Ok(Ok(ack)) => match ack.status {
                aviary_core::wire::AckStatus::Executed => CommandResult::Executed {
                    latency: sent.elapsed(),
                },
                aviary_core::wire::AckStatus::Rejected => {
                    CommandResult::Rejected { detail: ack.detail }
                }
            },
            _ => CommandResult::Unacknowledged,
        })
    }

    /// An ack from `drone`; resolves the waiter if this instance sent the command. Duplicate
    /// acks find no waiter and are ignored.
    fn on_ack(&self, drone: DroneId, ack: CommandAck) {
        let mut p = self.pending.lock().unwrap_or_else(poisoned);
        if p.get(&ack.cmd_id).is_some_and(|(d, _)| *d == drone)
            && let Some((_, tx)) = p.remove(&ack.cmd_id)
        {
            // The waiter may have timed out just now; then the ack is late and dropped.
            let _ = tx.send(ack);
        }
    }

    /// Publishes a mission event to every instance's WebSocket clients.
    pub async fn publish_event(&self, mission: MissionId, event: &serde_json::Value) {
        if let Err(e) = self
            .client
            .publish(
                crate::topics::Topics::new(&self.topic_prefix).mission_events(mission),
                QoS::AtMostOnce,
                false,
                event.to_string(),
            )
            .await
        {
            tracing::warn!(error = %e, "mission event not published");
        }
    }
}

// --- live client -----------------------------------------------------------------------------

/// Creates the live client; [`run_live`] drives it.
pub fn live_client(config: &crate::ServerConfig) -> (AsyncClient, rumqttc::EventLoop) {
    let id = format!(
        "{}-live-{}",
        config.instance_id,
        uuid::Uuid::new_v4().simple()
    );
    AsyncClient::new(config.mqtt_options(id), 4096)
}

/// Builds the command registry around the live client.
pub fn commands(client: AsyncClient, config: &crate::ServerConfig) -> Commands {
    Commands {
        client,
        topic_prefix: config.mqtt_topic_prefix.clone(),
        pending: Mutex::new(HashMap::new()),
    }
}

/// Drives the live client until `stop` fires.
pub async fn run_live(
    shared: Arc<Shared>,
    mut eventloop: rumqttc::EventLoop,
    mut stop: oneshot::Receiver<()>,
) {
    let mut retry_at: Option<tokio::time::Instant> = None;
    // Status changes of one drone must be applied in the order they came: one worker.
    let (status_tx, mut status_rx) = tokio::sync::mpsc::channel::<(DroneId, bool)>(1024);
    let worker_state = Arc::clone(&shared);
    let status_worker = tokio::spawn(async move {
        while let Some((drone, online)) = status_rx.recv().await {
            crate::api::fleet::on_drone_status(&worker_state, drone, online).await;
        }
    });
    // Telemetry naming a mission goes through one worker that checks the mission is assigned
    // to the drone (a database read at most every few seconds per mission), in order.
    let (mission_tx, mission_rx) = tokio::sync::mpsc::channel::<MissionSample>(4096);
    let mission_worker = tokio::spawn(mission_feed(Arc::clone(&shared), mission_rx));
    let mut low_battery: HashSet<DroneId> = HashSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => {
                let _ = shared.commands.client.try_disconnect();
                status_worker.abort();
                mission_worker.abort();
                shared.metrics.live_connected.store(false, Ordering::Relaxed);
                return;
            }
            () = async { if let Some(t) = retry_at { tokio::time::sleep_until(t).await } }, if retry_at.is_some() => retry_at = None,
            ev = eventloop.poll(), if retry_at.is_none() => match ev {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let c = &shared.commands.client;
                    let t = shared.config.topics();
                    for (f, q) in [(t.all_drones("telemetry"), QoS::AtMostOnce), (t.all_drones("ack"), QoS::AtLeastOnce), (t.all_drones("status"), QoS::AtLeastOnce), (t.all_mission_events(), QoS::AtMostOnce)] {
                        if let Err(e) = c.subscribe(f.as_str(), q).await {
                            tracing::warn!(error = %e, filter = %f, "live subscribe failed");
                        }
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => on_live(&shared, &p, &status_tx, &mission_tx, &mut low_battery),
                Ok(Event::Incoming(Packet::SubAck(a))) => {
                    let ok = granted(&a);
                    if !ok {
                        tracing::error!("the broker refused a live subscription (check its ACL)");
                    }
                    shared.metrics.live_connected.store(ok, Ordering::Relaxed);
                }
                Ok(_) => {}
                Err(e) => {
                    shared.metrics.live_connected.store(false, Ordering::Relaxed);
                    tracing::warn!(error = %connection_error(&e), "live MQTT connection lost; retrying");
                    retry_at = Some(tokio::time::Instant::now() + Duration::from_millis(500));
                }
            }
        }
    }
}

/// What a drone's `status` says about its mission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DroneSays {
    /// Flying it (or anything else).
    Flying,
    /// Flying home (`returning`, `landing`).
    FlyingHome,
    /// The whole route is flown (`completed`).
    RouteFlown,
    /// Stopped by abort or RTH (`aborted`).
    Aborted,
}

impl DroneSays {
    fn of(status: &str) -> Self {
        match status {
            "returning" | "landing" => Self::FlyingHome,
            "completed" => Self::RouteFlown,
            "aborted" => Self::Aborted,
            _ => Self::Flying,
        }
    }
}

/// A drone's telemetry naming a mission, for that mission's WebSocket clients.
struct MissionSample {
    drone: DroneId,
    mission: MissionId,
    text: Arc<str>,
    says: DroneSays,
    /// Its telemetry shows it on the ground ([`crate::lifecycle::on_ground`]).
    on_ground: bool,
}

/// Missions this instance already acted on for one kind of report (the database makes the
/// actions idempotent; this only spares it the repeats). Bounded.
#[derive(Default)]
struct Seen(HashSet<MissionId>);

impl Seen {
    fn first(&mut self, m: MissionId) -> bool {
        if self.0.len() > 100_000 {
            self.0.clear();
        }
        self.0.insert(m)
    }
}

/// Shows each sample on its mission's WebSocket and feeds the mission's lifecycle, only when
/// the server assigned that mission to the sending drone; anything else is dropped and
/// counted. The drone's word ends a mission only on touchdown: `returning`/`landing` (or a
/// drone that says `completed` while still in the air) records the return leg (phase
/// `returning`); `completed` on the ground finishes the mission; any end on the ground frees
/// the drone.
async fn mission_feed(
    shared: Arc<Shared>,
    mut samples: tokio::sync::mpsc::Receiver<MissionSample>,
) {
    let (mut returning, mut landed) = (Seen::default(), Seen::default());
    while let Some(s) = samples.recv().await {
        match shared
            .assignments
            .assigned(&shared.pool, s.mission, shared.clock.instant())
            .await
        {
            Ok(Some(d)) if d == s.drone => {}
            Ok(assigned) => {
                shared
                    .metrics
                    .live_foreign_mission
                    .fetch_add(1, Ordering::Relaxed);
                tracing::debug!(drone = %s.drone, mission = %s.mission, ?assigned, "telemetry for a mission not assigned to the drone dropped");
                continue;
            }
            Err(e) => {
                tracing::warn!(error = %telemetry::describe(&e), mission = %s.mission, "mission assignment not read; live sample dropped");
                continue;
            }
        }
        let n = shared.hub.publish(s.mission, &s.text);
        shared
            .metrics
            .ws_messages
            .fetch_add(n as u64, Ordering::Relaxed);
        let flying_home =
            s.says == DroneSays::FlyingHome || (s.says == DroneSays::RouteFlown && !s.on_ground);
        let ended = matches!(s.says, DroneSays::RouteFlown | DroneSays::Aborted);
        if flying_home && returning.first(s.mission) {
            let st = Arc::clone(&shared);
            let (d, m) = (s.drone, s.mission);
            tokio::spawn(async move {
                let r = match st.pool.get().await {
                    Ok(c) => crate::lifecycle::drone_returning(&c, d, m, st.clock.now()).await,
                    Err(e) => Err(e.into()),
                };
                if let Err(e) = r {
                    tracing::warn!(error = %e, mission = %m, "return leg not recorded");
                }
            });
        }
        if ended && s.on_ground && landed.first(s.mission) {
            let st = Arc::clone(&shared);
            let (d, m, finished) = (s.drone, s.mission, s.says == DroneSays::RouteFlown);
            tokio::spawn(async move { on_touchdown(&st, d, m, finished).await });
        }
    }
}

/// The mission's drone is down after its mission ended: record the touchdown, complete the
/// mission if the drone flew the whole route, and free the drone.
async fn on_touchdown(shared: &Shared, drone: DroneId, mission: MissionId, route_flown: bool) {
    let r = match shared.pool.get().await {
        Ok(c) => crate::lifecycle::drone_landed(&c, drone, mission, shared.clock.now()).await,
        Err(e) => Err(e.into()),
    };
    match r {
        Ok(true) => shared.drone_lists.invalidate_all(),
        Ok(false) => {}
        Err(e) => tracing::warn!(error = %e, %mission, "touchdown not recorded"),
    }
    if route_flown {
        let now = shared.clock.now();
        match crate::missions::finish(shared, mission, now).await {
            Ok(Some(to)) => {
                let event = crate::missions::status_event(mission, to, None, now);
                shared.commands.publish_event(mission, &event).await;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, %mission, "could not complete the mission"),
        }
    }
}

fn on_live(
    shared: &Arc<Shared>,
    p: &Publish,
    status_tx: &tokio::sync::mpsc::Sender<(DroneId, bool)>,
    mission_tx: &tokio::sync::mpsc::Sender<MissionSample>,
    low_battery: &mut HashSet<DroneId>,
) {
    let topics = shared.config.topics();
    if let Some(mission) = topics.parse_mission_event(&p.topic) {
        if let Ok(text) = std::str::from_utf8(&p.payload) {
            let n = shared.hub.publish(mission, &Arc::from(text));
            shared
                .metrics
                .ws_messages
                .fetch_add(n as u64, Ordering::Relaxed);
        }
        return;
    }
    let Some((drone, kind)) = topics.parse_drone(&p.topic) else {
        return;
    };
    match kind {
        "telemetry" => {
            let Ok(t) = serde_json::from_slice::<TelemetryUpdate>(&p.payload) else {
                return;
            };
            if t.drone_id != drone {
                return;
            }
            if let Some(m) = t.mission_id
                && let Ok(text) = std::str::from_utf8(&p.payload)
            {
                let sample = MissionSample {
                    drone,
                    mission: m,
                    text: Arc::from(text),
                    says: DroneSays::of(&t.status),
                    on_ground: crate::lifecycle::on_ground(&t),
                };
                if mission_tx.try_send(sample).is_err() {
                    shared.metrics.ws_lagged.fetch_add(1, Ordering::Relaxed);
                }
            }
            if t.battery < shared.config.battery_low_pct {
                if low_battery.insert(drone) {
                    shared.alerts.raise(Alert {
                        kind: AlertKind::BatteryLow,
                        summary: format!("drone {drone} battery at {:.0}%", t.battery),
                        source: format!("drone:{drone}"),
                        dedup_key: format!("battery_low/{drone}"),
                        details: serde_json::json!({ "battery": t.battery, "mission_id": t.mission_id }),
                    });
                }
            } else if t.battery > shared.config.battery_low_pct + 5.0 {
                low_battery.remove(&drone);
            }
        }
        "ack" => {
            if let Ok(ack) = serde_json::from_slice::<CommandAck>(&p.payload) {
                shared.commands.on_ack(drone, ack);
            }
        }
        "status" => {
            let online = match &p.payload[..] {
                b"online" => true,
                b"offline" => false,
                _ => return,
            };
            if status_tx.try_send((drone, online)).is_err() {
                tracing::warn!(drone = %drone, "status queue full; status change dropped");
            }
        }
        _ => {}
    }
}

// --- ingest ----------------------------------------------------------------------------------

/// How the ingest stops.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StopMode {
    /// A restart (SIGTERM, SIGINT): commit and acknowledge what was taken, then disconnect
    /// without unsubscribing, so the persistent session keeps its place in the share group and
    /// the broker queues this instance's share until it is back under the same name.
    #[default]
    KeepSession,
    /// Scaling down for good: leave the share group first, so the other instances take over
    /// at once, and drain what the broker had already queued for this session.
    Leave,
}

/// Handle to the ingest task.
#[derive(Debug)]
pub struct Ingest {
    stop: Option<oneshot::Sender<StopMode>>,
    task: tokio::task::JoinHandle<()>,
}

impl Ingest {
    /// Starts the ingest client.
    pub fn start(shared: Arc<Shared>) -> Self {
        let (tx, rx) = oneshot::channel();
        let task = tokio::spawn(run_ingest(shared, rx));
        Self {
            stop: Some(tx),
            task,
        }
    }

    /// Graceful stop (see [`StopMode`]): take no more, commit and acknowledge what was taken,
    /// disconnect.
    pub async fn stop(mut self, mode: StopMode) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(mode);
        }
        if tokio::time::timeout(Duration::from_secs(30), &mut self.task)
            .await
            .is_err()
        {
            tracing::error!("ingest did not stop within 30 s; aborting it");
            self.task.abort();
        }
    }
}

/// What the event loop collected for the writer: samples to store and messages to record as
/// dead letters, each with the publish to acknowledge once it is done.
#[derive(Default)]
struct Batch {
    rows: Vec<Row>,
    pubs: Vec<Publish>,
    dead: Vec<DeadLetter>,
    dead_pubs: Vec<Publish>,
}

impl Batch {
    fn len(&self) -> usize {
        self.rows.len() + self.dead.len()
    }
}

/// Reads one telemetry message; the error says why it cannot be stored.
fn parse_telemetry(
    shared: &Shared,
    p: &Publish,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<TelemetryUpdate, String> {
    let limit = shared.config.ingest_max_payload_bytes;
    if p.payload.len() > limit {
        shared
            .metrics
            .ingest_oversized
            .fetch_add(1, Ordering::Relaxed);
        return Err(format!(
            "payload of {} bytes is over the limit of {limit}",
            p.payload.len()
        ));
    }
    let (drone, kind) = shared
        .config
        .topics()
        .parse_drone(&p.topic)
        .filter(|(_, kind)| *kind == "telemetry")
        .ok_or_else(|| {
            format!(
                "topic is not {}",
                shared
                    .config
                    .topics()
                    .all_drones("telemetry")
                    .replace('+', "{uuid}")
            )
        })?;
    debug_assert_eq!(kind, "telemetry");
    let t: TelemetryUpdate =
        serde_json::from_slice(&p.payload).map_err(|e| format!("not a telemetry message: {e}"))?;
    if t.drone_id != drone {
        return Err(format!(
            "drone_id {} is not the topic's drone {drone}",
            t.drone_id
        ));
    }
    if t.timestamp <= now - shared.config.retention
        || t.timestamp >= now + chrono::Duration::days(1)
    {
        return Err(format!(
            "timestamp {} is outside the retention window",
            t.timestamp
        ));
    }
    telemetry::check(&t)?;
    Ok(t)
}

/// Sorts one message into the batch: a sample to store, or a dead letter.
fn accept(shared: &Shared, p: &Publish, batch: &mut Batch) {
    let now = shared.clock.now();
    shared
        .metrics
        .ingest_received
        .fetch_add(1, Ordering::Relaxed);
    match parse_telemetry(shared, p, now) {
        Ok(t) => {
            batch.rows.push(Row {
                t,
                received_at: now,
            });
            batch.pubs.push(p.clone());
        }
        Err(reason) => {
            shared
                .metrics
                .ingest_rejected
                .fetch_add(1, Ordering::Relaxed);
            tracing::debug!(topic = %p.topic, %reason, "telemetry refused");
            batch.dead.push(DeadLetter::new(
                shared.config.topics().parse_drone(&p.topic).map(|(d, _)| d),
                &p.topic,
                &p.payload,
                reason,
            ));
            batch.dead_pubs.push(p.clone());
        }
    }
}

fn ack_all(client: &AsyncClient, pubs: &mut Vec<Publish>) {
    for p in pubs.drain(..) {
        if let Err(e) = client.try_ack(&p) {
            tracing::warn!(error = %e, "ack not queued; the broker will redeliver (duplicates are ignored)");
        }
    }
}

/// Stores the batch's samples (isolating any row the database refuses), records its dead
/// letters, and acknowledges everything. Fails, changing nothing that matters, only when the
/// database cannot be used: the caller retries.
async fn flush(
    shared: &Shared,
    client: &AsyncClient,
    batch: &mut Batch,
) -> Result<(), ServerError> {
    let mut conn = None;
    if !batch.rows.is_empty() {
        let c = shared.pool.get().await?;
        drop_foreign(shared, &c, batch).await?;
        conn = Some(c);
    }
    if let Some(mut conn) = conn.filter(|_| !batch.rows.is_empty()) {
        let written =
            telemetry::write_isolating(&mut conn, &shared.partitions, &batch.rows).await?;
        drop(conn);
        for (i, reason) in written.refused.iter().rev() {
            let row = batch.rows.remove(*i);
            let p = batch.pubs.remove(*i);
            tracing::warn!(drone = %row.t.drone_id, %reason, "telemetry refused by the database");
            batch.dead.push(DeadLetter::new(
                Some(row.t.drone_id),
                &p.topic,
                &p.payload,
                format!("refused by the database: {reason}"),
            ));
            batch.dead_pubs.push(p);
        }
        // A measurement, not a decision: sample time (the drone's clock) → commit on this
        // machine's wall clock, for the lag histogram and `/healthz`.
        let now = chrono::Utc::now();
        for r in &batch.rows {
            let lag = (now - r.t.timestamp).num_microseconds().unwrap_or(0);
            shared.metrics.ingest_lag.observe(lag as f64 / 1e6);
        }
        if let Some(r) = batch.rows.last() {
            shared.metrics.ingest_last_lag_us.store(
                (now - r.t.timestamp).num_microseconds().unwrap_or(0),
                Ordering::Relaxed,
            );
        }
        shared
            .metrics
            .ingest_rows
            .fetch_add(batch.rows.len() as u64, Ordering::Relaxed);
        shared
            .metrics
            .ingest_batches
            .fetch_add(1, Ordering::Relaxed);
        shared.metrics.ingest_committed(now);
        ack_all(client, &mut batch.pubs);
        batch.rows.clear();
    }
    if !batch.dead.is_empty() {
        // A dead letter is a record for the operator, not a promise: if it cannot be written
        // the message is still acknowledged, so it never comes back to block the ingest.
        let recorded = match shared.pool.get().await {
            Ok(conn) => telemetry::record_dead_letters(&conn, &batch.dead).await,
            Err(e) => Err(e.into()),
        };
        if let Err(e) = recorded {
            shared
                .metrics
                .ingest_dead_letter_write_errors
                .fetch_add(batch.dead.len() as u64, Ordering::Relaxed);
            tracing::warn!(error = %telemetry::describe(&e), n = batch.dead.len(), "dead letters not recorded");
        }
        shared
            .metrics
            .ingest_dead_letters
            .fetch_add(batch.dead.len() as u64, Ordering::Relaxed);
        batch.dead.clear();
        ack_all(client, &mut batch.dead_pubs);
    }
    Ok(())
}

/// Moves every sample that names a mission the server did not assign to its drone to the dead
/// letters: it is never stored (nor, in the live client, shown or allowed to finish a mission).
async fn drop_foreign(
    shared: &Shared,
    conn: &deadpool_postgres::Object,
    batch: &mut Batch,
) -> Result<(), ServerError> {
    let mut missions: Vec<MissionId> = batch.rows.iter().filter_map(|r| r.t.mission_id).collect();
    if missions.is_empty() {
        return Ok(());
    }
    missions.sort_unstable_by_key(|m| m.0);
    missions.dedup();
    let assigned = shared
        .assignments
        .lookup(conn, &missions, shared.clock.instant())
        .await?;
    let rows = std::mem::take(&mut batch.rows);
    let pubs = std::mem::take(&mut batch.pubs);
    for (row, p) in rows.into_iter().zip(pubs) {
        let drone = row.t.drone_id;
        match row.t.mission_id {
            Some(m) if assigned.get(&m).copied().flatten() != Some(drone) => {
                shared
                    .metrics
                    .ingest_foreign_mission
                    .fetch_add(1, Ordering::Relaxed);
                batch.dead.push(DeadLetter::new(
                    Some(drone),
                    &p.topic,
                    &p.payload,
                    format!("mission {m} is not assigned to drone {drone}"),
                ));
                batch.dead_pubs.push(p);
            }
            _ => {
                batch.rows.push(row);
                batch.pubs.push(p);
            }
        }
    }
    Ok(())
}

/// Hands the batch to the writer task (which commits, then acknowledges).
async fn hand_off(writer: &tokio::sync::mpsc::Sender<Batch>, batch: &mut Batch) {
    if batch.len() == 0 {
        return;
    }
    let full = std::mem::take(batch);
    if writer.send(full).await.is_err() {
        tracing::error!("the ingest writer stopped; the broker will redeliver what it held");
    }
}

/// Commits batches in order and acknowledges their messages, retrying a batch only while the
/// database cannot be used (the messages stay unacknowledged meanwhile, so nothing is lost);
/// a message the database refuses is isolated and dead-lettered, never retried. Runs apart
/// from the MQTT event loop so a slow database never starves the connection's keep-alive.
async fn write_loop(
    shared: Arc<Shared>,
    client: AsyncClient,
    mut batches: tokio::sync::mpsc::Receiver<Batch>,
) {
    while let Some(mut batch) = batches.recv().await {
        while let Err(e) = flush(&shared, &client, &mut batch).await {
            shared
                .metrics
                .ingest_write_errors
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %telemetry::describe(&e), rows = batch.rows.len(), "telemetry batch not written; retrying");
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

async fn run_ingest(shared: Arc<Shared>, mut stop: oneshot::Receiver<StopMode>) {
    let mut o = shared
        .config
        .mqtt_options(crate::members::ingest_client_id(&shared.config.instance_id));
    o.set_clean_session(false);
    o.set_manual_acks(true);
    let (client, mut eventloop) = AsyncClient::new(o, 65_536);
    let mut batch = Batch::default();
    let mut tick = tokio::time::interval(shared.config.ingest_flush_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut retry_at: Option<tokio::time::Instant> = None;
    // Half the broker's in-flight window per batch: one batch is committed while the next fills.
    let window = shared
        .config
        .ingest_batch_max
        .min(shared.config.ingest_broker_inflight / 2)
        .max(1);
    let (writer_tx, writer_rx) = tokio::sync::mpsc::channel::<Batch>(64);
    let writer = tokio::spawn(write_loop(Arc::clone(&shared), client.clone(), writer_rx));
    let mode = 'run: loop {
        if let Some(t) = retry_at.take() {
            loop {
                tokio::select! {
                    m = &mut stop => break 'run m.unwrap_or_default(),
                    () = tokio::time::sleep_until(t) => break,
                    _ = tick.tick() => hand_off(&writer_tx, &mut batch).await,
                }
            }
        }
        // One poll future is kept while the flush ticks: dropping it mid-way (as a `select!`
        // over a fresh `poll()` would every tick) restarts a connection whose handshake takes
        // longer than a tick, so a TLS broker was never reached.
        let ev = {
            let poll = eventloop.poll();
            tokio::pin!(poll);
            loop {
                tokio::select! {
                    m = &mut stop => break 'run m.unwrap_or_default(),
                    ev = &mut poll => break ev,
                    _ = tick.tick() => hand_off(&writer_tx, &mut batch).await,
                }
            }
        };
        match ev {
            Ok(Event::Incoming(Packet::ConnAck(_))) => {
                shared
                    .metrics
                    .ingest_connects
                    .fetch_add(1, Ordering::Relaxed);
                if let Err(e) = client
                    .subscribe(shared_telemetry(&shared.config), QoS::AtLeastOnce)
                    .await
                {
                    tracing::warn!(error = %e, "ingest subscribe failed");
                }
            }
            Ok(Event::Incoming(Packet::Publish(p))) => {
                accept(&shared, &p, &mut batch);
                if batch.len() >= window {
                    hand_off(&writer_tx, &mut batch).await;
                }
            }
            // Healthy once subscribed, not merely connected: a broker whose ACL refuses the
            // subscription delivers nothing.
            Ok(Event::Incoming(Packet::SubAck(a))) => {
                if granted(&a) {
                    shared.metrics.ingest_up();
                    let st = Arc::clone(&shared);
                    tokio::spawn(async move {
                        if let Err(e) = crate::members::joined(&st).await {
                            tracing::warn!(error = %e, "share group membership not recorded");
                        }
                    });
                } else {
                    shared.metrics.ingest_down(format!(
                        "the broker refused the subscription to {} (check its ACL)",
                        shared_telemetry(&shared.config)
                    ));
                }
            }
            Ok(_) => {}
            Err(e) => {
                let why = connection_error(&e);
                tracing::warn!(error = %why, "ingest MQTT connection lost; retrying");
                shared.metrics.ingest_down(why);
                retry_at = Some(tokio::time::Instant::now() + Duration::from_millis(500));
            }
        }
    };
    match mode {
        // A restart: take no more messages. What this session holds unacknowledged, and what
        // the broker queues for it while it is down, comes back when the same instance
        // reconnects (the session is persistent and keyed by the instance's stable name).
        StopMode::KeepSession => {}
        // Leaving for good: leave the share so the broker routes to the other instances, take
        // what is already in flight, commit it, acknowledge it, then disconnect.
        StopMode::Leave => {
            leave_share(
                &shared,
                &client,
                &mut eventloop,
                &writer_tx,
                &mut batch,
                window,
            )
            .await;
        }
    }
    hand_off(&writer_tx, &mut batch).await;
    drop(writer_tx);
    if tokio::time::timeout(Duration::from_secs(10), writer)
        .await
        .is_err()
    {
        tracing::error!(
            "ingest writer did not finish in 10 s; unacknowledged messages stay with the broker"
        );
    }
    // The DISCONNECT queues behind the acks the writer queued: both reach the socket in order.
    // Messages still arriving meanwhile are not acknowledged (the broker keeps them).
    let _ = client.disconnect().await;
    shared
        .metrics
        .ingest_connected
        .store(false, Ordering::Relaxed);
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Ok(ev) = eventloop.poll().await {
            if matches!(ev, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
                break;
            }
        }
    })
    .await;
}

/// Leaves the shared subscription and takes (and hands to the writer) what the broker had
/// already queued for this session, until the line is quiet (bounded).
async fn leave_share(
    shared: &Arc<Shared>,
    client: &AsyncClient,
    eventloop: &mut rumqttc::EventLoop,
    writer_tx: &tokio::sync::mpsc::Sender<Batch>,
    batch: &mut Batch,
    window: usize,
) {
    if let Err(e) = client.unsubscribe(shared_telemetry(&shared.config)).await {
        tracing::warn!(error = %e, "unsubscribe failed");
    }
    // Messages the broker already queued for this session still arrive after the UNSUBACK:
    // take them until the line has been quiet for a while (bounded), committing as we go so
    // the broker keeps sending.
    let give_up = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut unsubscribed = false;
    while tokio::time::Instant::now() < give_up {
        let quiet = if unsubscribed {
            Duration::from_millis(500)
        } else {
            Duration::from_secs(2)
        };
        match tokio::time::timeout(quiet, eventloop.poll()).await {
            Ok(Ok(Event::Incoming(Packet::Publish(p)))) => {
                accept(shared, &p, batch);
                if batch.len() >= window {
                    hand_off(writer_tx, batch).await;
                }
            }
            Ok(Ok(Event::Incoming(Packet::UnsubAck(_)))) => unsubscribed = true,
            Ok(Ok(_)) => {}
            Ok(Err(_)) | Err(_) => break,
        }
    }
}

// --- broker ACL ------------------------------------------------------------------------------

/// The shipped static part of the broker's ACL (drones, fleet servers).
pub const SHIPPED_ACL: &str = include_str!("../../deploy/mosquitto/aviary.acl");

/// The broker user name of an organisation's desktop apps.
pub fn desktop_user(org: OrgId) -> String {
    format!("aviary-org-{org}")
}

/// The per-organisation part of the broker's ACL: one desktop user per organisation
/// ([`desktop_user`]) that may read its own drones' telemetry, acks and status and command
/// them, and nothing of any other organisation. Topic names stay the design's
/// (`drones/{id}/…`); the scope comes from listing each organisation's drones.
pub fn desktop_acl(orgs: &[(OrgId, Vec<DroneId>)]) -> String {
    use std::fmt::Write as _;
    let mut out = String::from(
        "\n# --- Desktop apps, one broker user per organisation (generated by `aviary-server\n\
         # broker-acl` from the fleet database; regenerate when drones are added, then SIGHUP).\n",
    );
    for (org, drones) in orgs {
        let _ = writeln!(out, "\nuser {}", desktop_user(*org));
        for d in drones {
            let _ = writeln!(
                out,
                "topic read drones/{d}/telemetry\ntopic read drones/{d}/ack\ntopic read drones/{d}/status\ntopic write drones/{d}/commands"
            );
        }
    }
    out
}

/// The whole ACL for the broker: [`SHIPPED_ACL`] and [`desktop_acl`] of every organisation
/// and drone in the database, every rule under the deployment's topic prefix
/// ([`crate::topics::Topics::scope_acl`]).
pub async fn broker_acl<C: GenericClient>(
    client: &C,
    topics: crate::topics::Topics<'_>,
) -> Result<String, ServerError> {
    let orgs = client
        .query(
            "SELECT o.org_id, COALESCE(array_agg(d.drone_id ORDER BY d.drone_id) FILTER (WHERE d.drone_id IS NOT NULL), '{}')
             FROM organizations o LEFT JOIN drones d ON d.org_id = o.org_id
             GROUP BY o.org_id ORDER BY o.org_id",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            let drones: Vec<uuid::Uuid> = r.get(1);
            (OrgId(r.get(0)), drones.into_iter().map(DroneId).collect())
        })
        .collect::<Vec<_>>();
    Ok(topics.scope_acl(&format!("{SHIPPED_ACL}{}", desktop_acl(&orgs))))
}
