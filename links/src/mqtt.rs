//! The MQTT drone link: drones that talk to a broker instead of a `MAVLink` socket.
//!
//! Topics (design sections 3.2 and 6.3), `{id}` being the drone's UUID:
//!
//! | topic | direction | `QoS` | payload |
//! |---|---|---|---|
//! | `drones/{id}/telemetry` | drone → | 0 or 1 | [`TelemetryUpdate`] JSON |
//! | `drones/{id}/commands` | → drone | 1 | [`DroneCommand`] JSON, unique `cmd_id` |
//! | `drones/{id}/ack` | drone → | 1 | [`CommandAck`] JSON |
//! | `drones/{id}/status` | drone → | 1, retained | `online`; `offline` as the last will |
//!
//! [`MqttLink::spawn`] starts a `rumqttc` client on its own tokio runtime on the named thread
//! `aviary-mqtt-link`, sends [`MqttLinkEvent`]s on a bounded channel and calls the injected
//! wake-up closure after each one, so the app never blocks on the network and `links` never
//! imports a UI crate. Commands are tracked by [`tracker::CommandTracker`]: each gets a fresh
//! id, a duplicate ack is dropped, and a command without an ack within
//! [`tracker::DEFAULT_ACK_TIMEOUT`] is reported [`CommandOutcome::Unacknowledged`] and is
//! never resent unless the operator calls [`MqttLink::retry_command`].
//!
//! A drone that dies is reported offline twice over: by the broker's delivery of its last will
//! (at once when its TCP connection drops; after about 1.5 × its keep-alive when it hangs
//! with the socket open — Mosquitto 2.0.11 is measured late or never for keep-alives under
//! 5 s), and by the link's own watchdog, which declares a drone offline after
//! [`MqttLinkConfig::drone_silence_timeout`] without telemetry (default 1.5 × the 5 s drone
//! keep-alive), independent of the broker.

pub mod tracker;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use aviary_core::MissionId;
use aviary_core::wire::{CommandAck, CommandAction, DroneCommand, TelemetryUpdate};
use aviary_core::{Clock, DroneId, SystemClock};
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use tokio::sync::mpsc;
use uuid::Uuid;

pub use tracker::{
    CommandOutcome, CommandReport, CommandTracker, DEFAULT_ACK_TIMEOUT, RetryError,
    is_safety_critical,
};

// --- topics ----------------------------------------------------------------------------

/// Topic names and parsing.
pub mod topics {
    use aviary_core::DroneId;

    /// Every drone's telemetry.
    pub const ALL_TELEMETRY: &str = "drones/+/telemetry";
    /// Every drone's acknowledgements.
    pub const ALL_ACKS: &str = "drones/+/ack";
    /// Every drone's status.
    pub const ALL_STATUS: &str = "drones/+/status";
    /// Retained status payload while connected.
    pub const ONLINE: &str = "online";
    /// Status payload of the last will.
    pub const OFFLINE: &str = "offline";

    /// `drones/{id}/telemetry`.
    pub fn telemetry(id: DroneId) -> String {
        format!("drones/{id}/telemetry")
    }
    /// `drones/{id}/commands`.
    pub fn commands(id: DroneId) -> String {
        format!("drones/{id}/commands")
    }
    /// `drones/{id}/ack`.
    pub fn ack(id: DroneId) -> String {
        format!("drones/{id}/ack")
    }
    /// `drones/{id}/status`.
    pub fn status(id: DroneId) -> String {
        format!("drones/{id}/status")
    }

    /// The last segment of a drone topic.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum Kind {
        /// `telemetry`.
        Telemetry,
        /// `commands`.
        Commands,
        /// `ack`.
        Ack,
        /// `status`.
        Status,
    }

    /// Splits `drones/{uuid}/{kind}`; `None` for anything else.
    pub fn parse(topic: &str) -> Option<(DroneId, Kind)> {
        let mut parts = topic.split('/');
        if parts.next()? != "drones" {
            return None;
        }
        let id: DroneId = parts.next()?.parse().ok()?;
        let kind = match parts.next()? {
            "telemetry" => Kind::Telemetry,
            "commands" => Kind::Commands,
            "ack" => Kind::Ack,
            "status" => Kind::Status,
            _ => return None,
        };
        parts.next().is_none().then_some((id, kind))
    }
}

// --- configuration -----------------------------------------------------------------------

/// Errors of the MQTT link.
#[derive(Debug, thiserror::Error)]
pub enum MqttLinkError {
    /// The broker URL could not be read.
    #[error("invalid broker URL {url:?}: {reason}")]
    BadUrl {
        /// The URL given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The link thread could not be started.
    #[error("could not start the MQTT link thread: {0}")]
    Thread(#[from] std::io::Error),
    /// The link has stopped (its thread ended).
    #[error("the MQTT link is not running")]
    Stopped,
    /// Too many requests are queued for the link; try again.
    #[error("the MQTT link is busy (request queue full)")]
    Busy,
    /// The CA certificates for a TLS broker could not be read.
    #[error("CA certificates {path}: {reason}")]
    CaFile {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// Where a broker is, parsed from `mqtt://[user:password@]host[:port]` (or `host[:port]`),
/// or over TLS from `mqtts://[user:password@]host[:port][?ca=PATH]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAddr {
    /// Host name or IP.
    pub host: String,
    /// TCP port (default 1883; 8883 for `mqtts://`).
    pub port: u16,
    /// User name and password, if the URL has them.
    pub credentials: Option<(String, String)>,
    /// TLS, with the certificates the broker's certificate must chain to; `None`: plain TCP.
    pub tls: Option<CaBundle>,
}

/// PEM certificates a TLS broker's certificate must chain to (a private CA, or the system's
/// bundle). The broker's certificate must also name the host connected to.
#[derive(Clone, PartialEq, Eq)]
pub struct CaBundle {
    /// Where the certificates were read from.
    pub path: std::path::PathBuf,
    pem: Arc<[u8]>,
}

impl std::fmt::Debug for CaBundle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaBundle")
            .field("path", &self.path)
            .field("bytes", &self.pem.len())
            .finish()
    }
}

/// Where Linux distributions keep the system's CA bundle (`SSL_CERT_FILE` first).
const SYSTEM_CA_BUNDLES: [&str; 4] = [
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
    "/etc/ssl/ca-bundle.pem",
];

impl CaBundle {
    /// Reads PEM certificates from `path`.
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self, MqttLinkError> {
        let path = path.as_ref().to_path_buf();
        let bad = |reason: String| MqttLinkError::CaFile {
            path: path.clone(),
            reason,
        };
        let pem = std::fs::read(&path).map_err(|e| bad(e.to_string()))?;
        if !pem
            .windows(b"-----BEGIN CERTIFICATE-----".len())
            .any(|w| w == b"-----BEGIN CERTIFICATE-----")
        {
            return Err(bad("no PEM certificate in the file".into()));
        }
        Ok(Self {
            pem: pem.into(),
            path,
        })
    }

    /// The system's CA bundle: `SSL_CERT_FILE`, else the first of the usual Linux paths.
    pub fn system() -> Result<Self, MqttLinkError> {
        if let Some(p) = std::env::var_os("SSL_CERT_FILE") {
            return Self::from_file(p);
        }
        SYSTEM_CA_BUNDLES
            .iter()
            .find(|p| std::path::Path::new(p).is_file())
            .map_or_else(
                || {
                    Err(MqttLinkError::CaFile {
                        path: SYSTEM_CA_BUNDLES[0].into(),
                        reason: "no system CA bundle (install ca-certificates, or give the \
                                 broker's CA with ?ca=PATH)"
                            .into(),
                    })
                },
                Self::from_file,
            )
    }

    /// The PEM text.
    pub fn pem(&self) -> &[u8] {
        &self.pem
    }
}

impl BrokerAddr {
    /// Parses a broker URL: `mqtt://` (or no scheme) for plain TCP; `mqtts://` for TLS, trusting
    /// the CA certificates of the file named by `?ca=PATH`, or the system's CA bundle without it.
    pub fn parse(url: &str) -> Result<Self, MqttLinkError> {
        let bad = |reason| MqttLinkError::BadUrl {
            url: url.to_owned(),
            reason,
        };
        let (tls, rest) = match url.split_once("://") {
            Some(("mqtt" | "tcp", rest)) => (false, rest),
            Some(("mqtts" | "ssl", rest)) => (true, rest),
            Some(_) => return Err(bad("scheme must be mqtt:// or mqtts://")),
            None => (false, url),
        };
        let (rest, ca_file) = match rest.split_once('?') {
            Some((r, query)) => {
                let Some(path) = query.strip_prefix("ca=") else {
                    return Err(bad("the only URL parameter is ca=PATH"));
                };
                if !tls {
                    return Err(bad("ca=PATH needs mqtts://"));
                }
                (r, Some(path))
            }
            None => (rest, None),
        };
        let rest = rest.trim_end_matches('/');
        let (credentials, hostport) = match rest.rsplit_once('@') {
            Some((cred, hp)) => {
                let (u, p) = cred
                    .split_once(':')
                    .ok_or_else(|| bad("credentials must be user:password"))?;
                (Some((u.to_owned(), p.to_owned())), hp)
            }
            None => (None, rest),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| bad("port must be a number 1..65535"))?,
            ),
            None => (hostport, if tls { 8883 } else { 1883 }),
        };
        if host.is_empty() || host.contains('/') {
            return Err(bad("missing host"));
        }
        let tls = match (tls, ca_file) {
            (false, _) => None,
            (true, Some(path)) => Some(CaBundle::from_file(path)?),
            (true, None) => Some(CaBundle::system()?),
        };
        Ok(Self {
            host: host.to_owned(),
            port,
            credentials,
            tls,
        })
    }

    /// `rumqttc` options for this broker (TLS through rustls when the URL was `mqtts://`).
    pub fn options(&self, client_id: &str, keep_alive: Duration) -> MqttOptions {
        let mut o = MqttOptions::new(client_id, self.host.clone(), self.port);
        o.set_keep_alive(keep_alive.max(Duration::from_secs(1)));
        if let Some((u, p)) = &self.credentials {
            o.set_credentials(u.clone(), p.clone());
        }
        if let Some(ca) = &self.tls {
            o.set_transport(rumqttc::Transport::tls_with_config(
                rumqttc::TlsConfiguration::Simple {
                    ca: ca.pem.to_vec(),
                    alpn: None,
                    client_auth: None,
                },
            ));
        }
        o
    }
}

/// Settings of an [`MqttLink`].
#[derive(Debug, Clone)]
pub struct MqttLinkConfig {
    /// The broker.
    pub broker: BrokerAddr,
    /// MQTT client id (unique per app instance).
    pub client_id: String,
    /// Keep-alive of the link's own connection.
    pub keep_alive: Duration,
    /// How long a command waits for its ack.
    pub ack_timeout: Duration,
    /// Capacity of the event channel to the app. When full, telemetry is dropped (and counted);
    /// status changes and command outcomes wait for room.
    pub event_capacity: usize,
    /// Pause between reconnection attempts.
    pub reconnect_delay: Duration,
    /// A drone heard from (telemetry or `online`) and then silent this long is reported
    /// [`OfflineReason::Silent`]. Set it to 1.5 × the drones' keep-alive.
    pub drone_silence_timeout: Duration,
    /// The clock that decides silence and command timeouts (the system clock; tests move a
    /// [`aviary_core::ManualClock`]). Reconnection pauses stay on the runtime's timers.
    pub clock: Arc<dyn Clock>,
}

impl MqttLinkConfig {
    /// Defaults for `url`: 30 s keep-alive, 5 s ack timeout, 4096 events.
    pub fn new(url: &str) -> Result<Self, MqttLinkError> {
        Ok(Self {
            broker: BrokerAddr::parse(url)?,
            client_id: format!("aviary-link-{}", Uuid::new_v4().simple()),
            keep_alive: Duration::from_secs(30),
            ack_timeout: DEFAULT_ACK_TIMEOUT,
            event_capacity: 4096,
            reconnect_delay: Duration::from_secs(1),
            drone_silence_timeout: Duration::from_millis(7500),
            clock: Arc::new(SystemClock),
        })
    }
}

// --- events and requests -----------------------------------------------------------------

/// What the link tells the app.
#[derive(Debug, Clone, PartialEq)]
pub enum MqttLinkEvent {
    /// Connected (or reconnected) to the broker and subscribed.
    Connected,
    /// The connection to the broker failed or dropped; the link keeps retrying.
    ConnectionLost {
        /// The error, for the operator.
        error: String,
    },
    /// A telemetry update.
    Telemetry(Box<TelemetryUpdate>),
    /// The drone's retained status says `online`.
    DroneOnline(DroneId),
    /// The drone is offline.
    DroneOffline {
        /// Which drone.
        drone_id: DroneId,
        /// How the link knows.
        reason: OfflineReason,
    },
    /// A command was resolved (executed, rejected, or unacknowledged).
    Command(CommandReport),
    /// A message on a drone topic that could not be read.
    Malformed {
        /// Topic it came on.
        topic: String,
        /// Why it was refused.
        error: String,
    },
}

/// How the link learned that a drone is offline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfflineReason {
    /// Its status topic says `offline`: the broker delivered its last will, or it stopped cleanly.
    Status,
    /// No telemetry for [`MqttLinkConfig::drone_silence_timeout`].
    Silent,
}

/// Per-drone liveness, without I/O: who was heard when, who is already reported offline.
#[derive(Debug, Default)]
pub struct Liveness {
    last_heard: std::collections::HashMap<DroneId, std::time::Instant>,
    offline: std::collections::HashSet<DroneId>,
}

impl Liveness {
    /// A message from `id` at `now`. True when the drone was offline and is back.
    pub fn heard(&mut self, id: DroneId, now: std::time::Instant) -> bool {
        self.last_heard.insert(id, now);
        self.offline.remove(&id)
    }

    /// The drone's status said offline. True when this is news.
    pub fn gone(&mut self, id: DroneId) -> bool {
        self.offline.insert(id)
    }

    /// Drones silent for `timeout` at `now` that were not yet reported.
    pub fn silent(&mut self, now: std::time::Instant, timeout: Duration) -> Vec<DroneId> {
        let newly: Vec<DroneId> = self
            .last_heard
            .iter()
            .filter(|(id, t)| {
                now.saturating_duration_since(**t) >= timeout && !self.offline.contains(id)
            })
            .map(|(id, _)| *id)
            .collect();
        self.offline.extend(newly.iter().copied());
        newly
    }
}

#[derive(Debug)]
enum Request {
    Send {
        drone_id: DroneId,
        command: DroneCommand,
    },
    Retry {
        cmd_id: Uuid,
    },
}

/// Counters readable from any thread.
#[derive(Debug, Default)]
pub struct LinkCounters {
    /// Telemetry updates received.
    pub telemetry: AtomicU64,
    /// Telemetry updates dropped because the app's queue was full.
    pub telemetry_dropped: AtomicU64,
    /// Commands published (retries included).
    pub commands_published: AtomicU64,
    /// Messages on drone topics that could not be parsed.
    pub malformed: AtomicU64,
}

/// Wake-up closure called after each event (the app passes `request_repaint`).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

// --- the link ------------------------------------------------------------------------------

/// A running MQTT link: a handle to its thread.
pub struct MqttLink {
    requests: mpsc::Sender<Request>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
    counters: Arc<LinkCounters>,
}

impl std::fmt::Debug for MqttLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttLink")
            .field("counters", &self.counters)
            .finish_non_exhaustive()
    }
}

impl MqttLink {
    /// Starts the link on the named thread `aviary-mqtt-link` with its own tokio runtime.
    /// Returns the handle and the bounded event receiver the app drains each frame.
    pub fn spawn(
        config: MqttLinkConfig,
        wake: Waker,
    ) -> Result<(Self, std_mpsc::Receiver<MqttLinkEvent>), MqttLinkError> {
        let (ev_tx, ev_rx) = std_mpsc::sync_channel(config.event_capacity.max(16));
        let (req_tx, req_rx) = mpsc::channel(256);
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel();
        let counters = Arc::new(LinkCounters::default());
        let c = Arc::clone(&counters);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let thread = std::thread::Builder::new()
            .name("aviary-mqtt-link".into())
            .spawn(move || {
                let sink = EventSink {
                    tx: ev_tx,
                    wake,
                    counters: c,
                };
                runtime.block_on(drive(config, req_rx, stop_rx, sink));
            })?;
        Ok((
            Self {
                requests: req_tx,
                shutdown: Some(stop_tx),
                thread: Some(thread),
                counters,
            },
            ev_rx,
        ))
    }

    /// Publishes `action` to `drone_id` (`QoS` 1) under a fresh command id, which is returned.
    /// Its outcome arrives later as [`MqttLinkEvent::Command`].
    pub fn send_command(
        &self,
        drone_id: DroneId,
        action: CommandAction,
        mission_id: Option<MissionId>,
    ) -> Result<Uuid, MqttLinkError> {
        let command = CommandTracker::new_command(action, mission_id);
        let id = command.cmd_id;
        self.push(Request::Send { drone_id, command })?;
        Ok(id)
    }

    /// The operator's explicit retry of a command reported unacknowledged, under the same id.
    /// Unknown or already resolved ids are ignored by the link.
    pub fn retry_command(&self, cmd_id: Uuid) -> Result<(), MqttLinkError> {
        self.push(Request::Retry { cmd_id })
    }

    fn push(&self, r: Request) -> Result<(), MqttLinkError> {
        self.requests.try_send(r).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => MqttLinkError::Busy,
            mpsc::error::TrySendError::Closed(_) => MqttLinkError::Stopped,
        })
    }

    /// Counters (telemetry received and dropped, commands published).
    pub fn counters(&self) -> &LinkCounters {
        &self.counters
    }

    /// Disconnects cleanly and joins the thread.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            // The receiver is gone only if the thread already ended; nothing to stop then.
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take()
            && t.join().is_err()
        {
            tracing::error!("the MQTT link thread panicked");
        }
    }
}

impl Drop for MqttLink {
    fn drop(&mut self) {
        self.stop();
    }
}

struct EventSink {
    tx: std_mpsc::SyncSender<MqttLinkEvent>,
    wake: Waker,
    counters: Arc<LinkCounters>,
}

impl EventSink {
    /// Telemetry: dropped and counted when the app is behind.
    fn lossy(&self, ev: MqttLinkEvent) -> bool {
        match self.tx.try_send(ev) {
            Ok(()) => {
                (self.wake)();
                true
            }
            Err(std_mpsc::TrySendError::Full(_)) => {
                self.counters
                    .telemetry_dropped
                    .fetch_add(1, Ordering::Relaxed);
                (self.wake)();
                true
            }
            Err(std_mpsc::TrySendError::Disconnected(_)) => false,
        }
    }

    /// Status and command outcomes: must reach the operator, so wait for room.
    async fn reliable(&self, mut ev: MqttLinkEvent) -> bool {
        loop {
            match self.tx.try_send(ev) {
                Ok(()) => {
                    (self.wake)();
                    return true;
                }
                Err(std_mpsc::TrySendError::Full(back)) => {
                    ev = back;
                    (self.wake)();
                    tokio::time::sleep(Duration::from_millis(5)).await;
                }
                Err(std_mpsc::TrySendError::Disconnected(_)) => return false,
            }
        }
    }
}

/// How many subscriptions [`subscribe_all`] asks for (one SUBACK each).
const SUBSCRIPTIONS: usize = 3;

async fn subscribe_all(client: &AsyncClient) -> Result<(), rumqttc::ClientError> {
    client
        .subscribe(topics::ALL_TELEMETRY, QoS::AtMostOnce)
        .await?;
    client.subscribe(topics::ALL_ACKS, QoS::AtLeastOnce).await?;
    client.subscribe(topics::ALL_STATUS, QoS::AtLeastOnce).await
}

async fn drive(
    config: MqttLinkConfig,
    mut requests: mpsc::Receiver<Request>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
    sink: EventSink,
) {
    let mut opts = config.broker.options(&config.client_id, config.keep_alive);
    opts.set_max_packet_size(64 * 1024, 64 * 1024);
    let (client, mut eventloop): (AsyncClient, EventLoop) = AsyncClient::new(opts, 256);
    let mut tracker = CommandTracker::new(config.ack_timeout);
    let mut retry_at: Option<tokio::time::Instant> = None;
    let mut liveness = Liveness::default();
    // SUBACKs still awaited since the last CONNACK: `Connected` is said once the broker has
    // acknowledged every subscription, so nothing a drone publishes after it is missed.
    let mut subacks_due = 0usize;
    let mut watchdog =
        tokio::time::interval((config.drone_silence_timeout / 10).max(Duration::from_millis(50)));
    watchdog.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let clock = Arc::clone(&config.clock);
    loop {
        // The next command deadline, as a wait on the runtime's timer from the clock's now;
        // the watchdog also checks them, so a moved test clock is seen within one of its ticks.
        let ack_wait = tracker
            .next_deadline()
            .map(|d| d.saturating_duration_since(clock.instant()));
        tokio::select! {
            _ = &mut stop => {
                // Best effort: the broker drops the session either way.
                let _ = client.try_disconnect();
                let _ = tokio::time::timeout(Duration::from_millis(200), eventloop.poll()).await;
                return;
            }
            () = async { if let Some(t) = retry_at { tokio::time::sleep_until(t).await } }, if retry_at.is_some() => {
                retry_at = None;
            }
            ev = eventloop.poll(), if retry_at.is_none() => match ev {
                Ok(Event::Incoming(Packet::ConnAck(_))) => {
                    if let Err(e) = subscribe_all(&client).await {
                        tracing::warn!(error = %e, "MQTT subscribe failed");
                        if !sink.reliable(MqttLinkEvent::Connected).await { return; }
                    } else {
                        subacks_due = SUBSCRIPTIONS;
                    }
                }
                Ok(Event::Incoming(Packet::SubAck(_))) if subacks_due > 0 => {
                    subacks_due -= 1;
                    if subacks_due == 0 && !sink.reliable(MqttLinkEvent::Connected).await { return; }
                }
                Ok(Event::Incoming(Packet::Publish(p))) => {
                    if !handle_publish(&p.topic, &p.payload, clock.instant(), &mut tracker, &mut liveness, &sink).await { return; }
                }
                Ok(_) => {}
                Err(e) => {
                    if !sink.reliable(MqttLinkEvent::ConnectionLost { error: e.to_string() }).await { return; }
                    retry_at = Some(tokio::time::Instant::now() + config.reconnect_delay);
                }
            },
            req = requests.recv() => {
                let Some(req) = req else { return };
                let now = clock.instant();
                let (drone_id, command) = match req {
                    Request::Send { drone_id, command } => {
                        tracker.sent(drone_id, command.clone(), now);
                        (drone_id, command)
                    }
                    Request::Retry { cmd_id } => match tracker.retry(cmd_id, now) {
                        Ok(x) => x,
                        Err(e) => { tracing::info!(error = %e, "retry ignored"); continue; }
                    },
                };
                match serde_json::to_vec(&command) {
                    Ok(body) => {
                        if let Err(e) = client.publish(topics::commands(drone_id), QoS::AtLeastOnce, false, body).await {
                            tracing::warn!(error = %e, "command publish failed; it will be reported unacknowledged");
                        } else {
                            sink.counters.commands_published.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    Err(e) => tracing::error!(error = %e, "command not serialisable"),
                }
            }
            _ = watchdog.tick() => {
                let now = clock.instant();
                for drone_id in liveness.silent(now, config.drone_silence_timeout) {
                    if !sink.reliable(MqttLinkEvent::DroneOffline { drone_id, reason: OfflineReason::Silent }).await { return; }
                }
                for r in tracker.on_tick(now) {
                    if !sink.reliable(MqttLinkEvent::Command(r)).await { return; }
                }
            }
            () = async { if let Some(w) = ack_wait { tokio::time::sleep(w).await } }, if ack_wait.is_some() => {
                for r in tracker.on_tick(clock.instant()) {
                    if !sink.reliable(MqttLinkEvent::Command(r)).await { return; }
                }
            }
        }
    }
}

/// Handles one incoming publish. Returns false when the app has gone away.
async fn handle_publish(
    topic: &str,
    payload: &[u8],
    now: std::time::Instant,
    tracker: &mut CommandTracker,
    liveness: &mut Liveness,
    sink: &EventSink,
) -> bool {
    let malformed = |error: String| {
        sink.counters.malformed.fetch_add(1, Ordering::Relaxed);
        MqttLinkEvent::Malformed {
            topic: topic.to_owned(),
            error,
        }
    };
    let Some((drone_id, kind)) = topics::parse(topic) else {
        return sink
            .reliable(malformed("not a drones/{uuid}/{kind} topic".into()))
            .await;
    };
    match kind {
        topics::Kind::Telemetry => match serde_json::from_slice::<TelemetryUpdate>(payload) {
            Ok(t) if t.drone_id == drone_id => {
                sink.counters.telemetry.fetch_add(1, Ordering::Relaxed);
                if liveness.heard(drone_id, now)
                    && !sink.reliable(MqttLinkEvent::DroneOnline(drone_id)).await
                {
                    return false;
                }
                sink.lossy(MqttLinkEvent::Telemetry(Box::new(t)))
            }
            Ok(_) => {
                sink.reliable(malformed("drone_id does not match the topic".into()))
                    .await
            }
            Err(e) => sink.reliable(malformed(e.to_string())).await,
        },
        topics::Kind::Ack => match serde_json::from_slice::<CommandAck>(payload) {
            Ok(ack) => match tracker.on_ack(drone_id, &ack, now) {
                Some(r) => sink.reliable(MqttLinkEvent::Command(r)).await,
                None => true,
            },
            Err(e) => sink.reliable(malformed(e.to_string())).await,
        },
        topics::Kind::Status => match payload {
            b"online" => {
                liveness.heard(drone_id, now);
                sink.reliable(MqttLinkEvent::DroneOnline(drone_id)).await
            }
            b"offline" => {
                if liveness.gone(drone_id) {
                    sink.reliable(MqttLinkEvent::DroneOffline {
                        drone_id,
                        reason: OfflineReason::Status,
                    })
                    .await
                } else {
                    true
                }
            }
            // An empty retained message clears the status: nothing to report.
            b"" => true,
            _ => {
                sink.reliable(malformed("status must be online or offline".into()))
                    .await
            }
        },
        topics::Kind::Commands => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broker_urls() {
        let b = BrokerAddr::parse("mqtt://u:p@127.0.0.1:1884").expect("valid");
        assert_eq!(
            (b.host.as_str(), b.port, b.credentials),
            ("127.0.0.1", 1884, Some(("u".into(), "p".into())))
        );
        assert_eq!(BrokerAddr::parse("localhost").expect("valid").port, 1883);
        assert!(matches!(
            BrokerAddr::parse("http://x"),
            Err(MqttLinkError::BadUrl { .. })
        ));
        assert!(matches!(
            BrokerAddr::parse("mqtt://:1883"),
            Err(MqttLinkError::BadUrl { .. })
        ));
        assert!(matches!(
            BrokerAddr::parse("mqtt://h:99999"),
            Err(MqttLinkError::BadUrl { .. })
        ));
        assert!(matches!(
            BrokerAddr::parse("mqtt://h?ca=/x"),
            Err(MqttLinkError::BadUrl { .. })
        ));
    }

    #[test]
    fn tls_broker_urls_read_their_ca() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ca = dir.path().join("ca.crt");
        std::fs::write(
            &ca,
            "-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        let b = BrokerAddr::parse(&format!("mqtts://d:pw@broker.example?ca={}", ca.display()))
            .expect("valid");
        assert_eq!((b.host.as_str(), b.port), ("broker.example", 8883));
        assert_eq!(b.tls.as_ref().map(|t| t.path.clone()), Some(ca.clone()));
        assert!(
            !format!("{b:?}").contains("BEGIN"),
            "Debug does not dump the PEM"
        );
        let missing = BrokerAddr::parse("mqtts://h:8884?ca=/nonexistent/ca.crt").unwrap_err();
        assert!(
            missing.to_string().contains("/nonexistent/ca.crt"),
            "{missing}"
        );
        std::fs::write(&ca, "not a certificate").expect("write");
        let not_pem = BrokerAddr::parse(&format!("mqtts://h?ca={}", ca.display())).unwrap_err();
        assert!(
            not_pem.to_string().contains("no PEM certificate"),
            "{not_pem}"
        );
    }

    #[test]
    fn liveness_reports_silence_once_and_recovery() {
        let t0 = std::time::Instant::now();
        let (a, b) = (DroneId::new_random(), DroneId::new_random());
        let mut l = Liveness::default();
        let timeout = Duration::from_millis(7500);
        assert!(!l.heard(a, t0));
        assert!(!l.heard(b, t0 + Duration::from_secs(5)));
        assert!(
            l.silent(t0 + Duration::from_millis(7499), timeout)
                .is_empty()
        );
        assert_eq!(l.silent(t0 + timeout, timeout), vec![a]);
        assert!(
            l.silent(t0 + Duration::from_secs(9), timeout).is_empty(),
            "reported once"
        );
        assert!(l.heard(a, t0 + Duration::from_secs(10)), "back online");
        assert!(l.gone(b));
        assert!(!l.gone(b));
    }

    #[test]
    fn topics_round_trip() {
        let id = DroneId::new_random();
        assert_eq!(
            topics::parse(&topics::telemetry(id)),
            Some((id, topics::Kind::Telemetry))
        );
        assert_eq!(
            topics::parse(&topics::commands(id)),
            Some((id, topics::Kind::Commands))
        );
        assert_eq!(
            topics::parse(&topics::ack(id)),
            Some((id, topics::Kind::Ack))
        );
        assert_eq!(
            topics::parse(&topics::status(id)),
            Some((id, topics::Kind::Status))
        );
        assert_eq!(topics::parse("drones/not-a-uuid/status"), None);
        assert_eq!(topics::parse(&format!("drones/{id}/status/extra")), None);
    }
}
