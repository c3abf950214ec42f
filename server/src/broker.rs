//! The server's two MQTT clients.
//!
//! * **Ingest** (`{instance}-ingest`, persistent session, manual acks) subscribes to the shared
//!   subscription `$share/aviary/drones/+/telemetry` (group configurable) at QoS 1, so the instances on one broker
//!   split the drones' telemetry. A message is acknowledged only after the batch holding it
//!   is committed: a crash loses nothing (the broker redelivers) and the insert ignores the
//!   duplicate. A graceful stop unsubscribes, drains, commits, acknowledges, then disconnects,
//!   so the other instances take over without a gap.
//! * **Live** (`{instance}-live-<random>`, clean session) subscribes to every drone's
//!   telemetry, acks and status and to `aviary/missions/+/events`: it fans telemetry out to
//!   this instance's WebSocket clients (so any instance serves any client), resolves the
//!   commands this instance sent, marks drones online/offline, completes and fails missions,
//!   and raises alerts. Mission events (status changes, command outcomes) are published to
//!   the broker so every instance's clients see them.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aviary_core::wire::{CommandAck, DroneCommand, TelemetryUpdate};
use aviary_core::{DroneId, MissionId};
use rumqttc::{AsyncClient, Event, MqttOptions, Packet, Publish, QoS};
use tokio::sync::{broadcast, oneshot};

use crate::Shared;
use crate::alerts::{Alert, AlertKind};
use crate::telemetry::{self, Row};

/// The shared subscription every instance's ingest joins (`group` is usually `aviary`).
pub fn shared_telemetry(group: &str) -> String {
    format!("$share/{group}/drones/+/telemetry")
}

fn poisoned<T>(e: std::sync::PoisonError<T>) -> T {
    e.into_inner()
}

fn drone_topic(topic: &str) -> Option<(DroneId, &str)> {
    let mut p = topic.split('/');
    (p.next()? == "drones").then_some(())?;
    let id = p.next()?.parse().ok()?;
    let kind = p.next()?;
    p.next().is_none().then_some((id, kind))
}

fn options(c: &crate::ServerConfig, client_id: String) -> MqttOptions {
    let mut o = MqttOptions::new(client_id, c.mqtt_host.clone(), c.mqtt_port);
    o.set_keep_alive(Duration::from_secs(10));
    o.set_max_packet_size(64 * 1024, 64 * 1024);
    if let Some((u, p)) = &c.mqtt_credentials {
        o.set_credentials(u.clone(), p.clone());
    }
    o
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
    pending: Mutex<HashMap<uuid::Uuid, (DroneId, oneshot::Sender<CommandAck>)>>,
}

impl Commands {
    /// Has the broker deliver `drone`'s retained status again: a fresh subscription to its
    /// status topic redelivers the retained message, which the live loop applies like any
    /// status change (a duplicate changes nothing). The extra subscription is dropped after
    /// a few seconds.
    pub fn refresh_status(&self, drone: DroneId) {
        let client = self.client.clone();
        let topic = format!("drones/{drone}/status");
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
                format!("drones/{drone}/commands"),
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
                format!("aviary/missions/{mission}/events"),
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
    AsyncClient::new(options(config, id), 4096)
}

/// Builds the command registry around the live client.
pub fn commands(client: AsyncClient) -> Commands {
    Commands {
        client,
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
    let mut completed: HashSet<MissionId> = HashSet::new();
    let mut low_battery: HashSet<DroneId> = HashSet::new();
    loop {
        tokio::select! {
            _ = &mut stop => {
                let _ = shared.commands.client.try_disconnect();
                status_worker.abort();
                return;
            }
            () = async { if let Some(t) = retry_at { tokio::time::sleep_until(t).await } }, if retry_at.is_some() => retry_at = None,
            ev = eventloop.poll(), if retry_at.is_none() => match ev {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    let c = &shared.commands.client;
                    for (f, q) in [("drones/+/telemetry", QoS::AtMostOnce), ("drones/+/ack", QoS::AtLeastOnce), ("drones/+/status", QoS::AtLeastOnce), ("aviary/missions/+/events", QoS::AtMostOnce)] {
                        if let Err(e) = c.subscribe(f, q).await {
                            tracing::warn!(error = %e, filter = f, "live subscribe failed");
                        }
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => on_live(&shared, &p, &status_tx, &mut completed, &mut low_battery),
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "live MQTT connection lost; retrying");
                    retry_at = Some(tokio::time::Instant::now() + Duration::from_millis(500));
                }
            }
        }
    }
}

fn on_live(
    shared: &Arc<Shared>,
    p: &Publish,
    status_tx: &tokio::sync::mpsc::Sender<(DroneId, bool)>,
    completed: &mut HashSet<MissionId>,
    low_battery: &mut HashSet<DroneId>,
) {
    if let Some(rest) = p.topic.strip_prefix("aviary/missions/") {
        if let Some(Ok(mission)) = rest.strip_suffix("/events").map(str::parse::<MissionId>)
            && let Ok(text) = std::str::from_utf8(&p.payload)
        {
            let n = shared.hub.publish(mission, &Arc::from(text));
            shared
                .metrics
                .ws_messages
                .fetch_add(n as u64, Ordering::Relaxed);
        }
        return;
    }
    let Some((drone, kind)) = drone_topic(&p.topic) else {
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
                let n = shared.hub.publish(m, &Arc::from(text));
                shared
                    .metrics
                    .ws_messages
                    .fetch_add(n as u64, Ordering::Relaxed);
                if t.status == "completed" && completed.insert(m) {
                    let s = Arc::clone(shared);
                    tokio::spawn(
                        async move { crate::api::missions::on_drone_finished(&s, m).await },
                    );
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

/// Handle to the ingest task.
#[derive(Debug)]
pub struct Ingest {
    stop: Option<oneshot::Sender<()>>,
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

    /// Graceful stop: unsubscribe, drain, commit, acknowledge, disconnect.
    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
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

struct Batch {
    rows: Vec<Row>,
    pubs: Vec<Publish>,
}

fn accept(shared: &Shared, p: &Publish, batch: &mut Batch) -> bool {
    let now = chrono::Utc::now();
    let ok = drone_topic(&p.topic).and_then(|(drone, kind)| {
        let t: TelemetryUpdate = serde_json::from_slice(&p.payload).ok()?;
        let fresh = t.timestamp > now - shared.config.retention
            && t.timestamp < now + chrono::Duration::days(1);
        (kind == "telemetry"
            && t.drone_id == drone
            && fresh
            && t.position.lat.is_finite()
            && t.position.lon.is_finite())
        .then_some(t)
    });
    shared
        .metrics
        .ingest_received
        .fetch_add(1, Ordering::Relaxed);
    if let Some(t) = ok {
        batch.rows.push(Row {
            t,
            received_at: now,
        });
        batch.pubs.push(p.clone());
        true
    } else {
        shared
            .metrics
            .ingest_rejected
            .fetch_add(1, Ordering::Relaxed);
        false
    }
}

async fn flush(shared: &Shared, client: &AsyncClient, batch: &mut Batch) -> bool {
    if batch.rows.is_empty() {
        return true;
    }
    let result = match shared.pool.get().await {
        Ok(mut conn) => telemetry::write_batch(&mut conn, &shared.partitions, &batch.rows).await,
        Err(e) => Err(e.into()),
    };
    match result {
        Ok(_) => {
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
            for p in batch.pubs.drain(..) {
                if let Err(e) = client.try_ack(&p) {
                    tracing::warn!(error = %e, "ack not queued; the broker will redeliver (duplicates are ignored)");
                }
            }
            batch.rows.clear();
            true
        }
        Err(e) => {
            shared
                .metrics
                .ingest_write_errors
                .fetch_add(1, Ordering::Relaxed);
            tracing::warn!(error = %e, rows = batch.rows.len(), "telemetry batch not written; retrying");
            false
        }
    }
}

/// Hands the batch to the writer task (which commits, then acknowledges).
async fn hand_off(writer: &tokio::sync::mpsc::Sender<Batch>, batch: &mut Batch) {
    if batch.rows.is_empty() {
        return;
    }
    let full = std::mem::replace(
        batch,
        Batch {
            rows: Vec::new(),
            pubs: Vec::new(),
        },
    );
    if writer.send(full).await.is_err() {
        tracing::error!("the ingest writer stopped; the broker will redeliver what it held");
    }
}

/// Commits batches in order and acknowledges their messages, retrying a failed commit (the
/// messages stay unacknowledged meanwhile, so nothing is lost). Runs apart from the MQTT event
/// loop so a slow database never starves the connection's keep-alive.
async fn write_loop(
    shared: Arc<Shared>,
    client: AsyncClient,
    mut batches: tokio::sync::mpsc::Receiver<Batch>,
) {
    while let Some(mut batch) = batches.recv().await {
        while !flush(&shared, &client, &mut batch).await {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
}

async fn run_ingest(shared: Arc<Shared>, mut stop: oneshot::Receiver<()>) {
    let mut o = options(
        &shared.config,
        format!("{}-ingest", shared.config.instance_id),
    );
    o.set_clean_session(false);
    o.set_manual_acks(true);
    let (client, mut eventloop) = AsyncClient::new(o, 65_536);
    let mut batch = Batch {
        rows: Vec::new(),
        pubs: Vec::new(),
    };
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
    loop {
        tokio::select! {
            _ = &mut stop => break,
            () = async { if let Some(t) = retry_at { tokio::time::sleep_until(t).await } }, if retry_at.is_some() => retry_at = None,
            ev = eventloop.poll(), if retry_at.is_none() => match ev {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    if let Err(e) = client.subscribe(shared_telemetry(&shared.config.ingest_share_group), QoS::AtLeastOnce).await {
                        tracing::warn!(error = %e, "ingest subscribe failed");
                    }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if !accept(&shared, &p, &mut batch) && let Err(e) = client.try_ack(&p) {
                        tracing::warn!(error = %e, "ack of a refused message not queued");
                    }
                    if batch.rows.len() >= window {
                        hand_off(&writer_tx, &mut batch).await;
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "ingest MQTT connection lost; retrying");
                    retry_at = Some(tokio::time::Instant::now() + Duration::from_millis(500));
                }
            },
            _ = tick.tick() => hand_off(&writer_tx, &mut batch).await,
        }
    }
    // Graceful stop: leave the share so the broker routes to the other instances, take what
    // is already in flight, commit it, acknowledge it, then disconnect.
    if let Err(e) = client
        .unsubscribe(shared_telemetry(&shared.config.ingest_share_group))
        .await
    {
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
                if !accept(&shared, &p, &mut batch) {
                    let _ = client.try_ack(&p);
                }
                if batch.rows.len() >= window {
                    hand_off(&writer_tx, &mut batch).await;
                }
            }
            Ok(Ok(Event::Incoming(Packet::UnsubAck(_)))) => unsubscribed = true,
            Ok(Ok(_)) => {}
            Ok(Err(_)) | Err(_) => break,
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
    let _ = client.disconnect().await;
    // Let the acks and the DISCONNECT reach the socket.
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while let Ok(ev) = eventloop.poll().await {
            if matches!(ev, Event::Outgoing(rumqttc::Outgoing::Disconnect)) {
                break;
            }
        }
    })
    .await;
}
