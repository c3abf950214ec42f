//! Server settings. `main.rs` fills them from the command line and environment; tests build
//! them directly.

use std::net::SocketAddr;
use std::time::Duration;

use crate::error::ServerError;

/// The MQTT packet limit of the server's clients, equal to `max_packet_size` in the shipped
/// `deploy/mosquitto/mosquitto.conf` (the broker's `message_size_limit` is a little lower, so
/// a too large payload is dropped by the broker and its publisher stays connected).
pub const MQTT_MAX_PACKET_BYTES: usize = 256 * 1024;

/// Everything the server needs to run.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// HTTP listen address (port 0 picks a free one).
    pub listen: SocketAddr,
    /// tokio-postgres connection string (`host=127.0.0.1 user=postgres dbname=aviary`).
    pub database_url: String,
    /// PostgreSQL schema holding the server's tables (created if missing).
    pub db_schema: String,
    /// Connection pool size.
    pub db_pool_size: usize,
    /// MQTT broker host.
    pub mqtt_host: String,
    /// MQTT broker port.
    pub mqtt_port: u16,
    /// MQTT user and password, if the broker needs them.
    pub mqtt_credentials: Option<(String, String)>,
    /// TLS to the broker (`mqtts://`): the CA certificates its certificate must chain to.
    /// `None`: plain TCP.
    pub mqtt_tls: Option<CaBundle>,
    /// Largest MQTT packet the server's clients send or accept, bytes. Must be at least the
    /// broker's own limit (`max_packet_size` in `deploy/mosquitto/mosquitto.conf`): a larger
    /// packet from the broker breaks the connection, and the broker would redeliver it forever.
    pub mqtt_max_packet_bytes: usize,
    /// Largest telemetry payload the ingest stores, bytes; a larger one is counted and
    /// recorded as a dead letter (a sample is a few hundred bytes).
    pub ingest_max_payload_bytes: usize,
    /// Unique, stable name of this instance: its MQTT client ids derive from it, and the
    /// ingest's persistent session (its place in the share group, and what the broker queues
    /// for it while it is down) is keyed by it. Restart with the same name to resume it; an
    /// instance retired for good leaves first (`RunningServer::leave`, `aviary-server leave`).
    pub instance_id: String,
    /// HS256 secret for JWTs (at least 32 bytes).
    pub jwt_secret: Vec<u8>,
    /// JWT `iss`.
    pub jwt_issuer: String,
    /// JWT `aud`.
    pub jwt_audience: String,
    /// JWT lifetime.
    pub token_ttl: Duration,
    /// Origins allowed to open WebSockets (browsers send `Origin`); others get 403.
    pub allowed_origins: Vec<String>,
    /// Largest accepted request body, bytes.
    pub max_body_bytes: usize,
    /// Login attempts per client IP per minute.
    pub login_per_minute: u32,
    /// API requests per user per second (token bucket, burst twice this).
    pub api_per_second: u32,
    /// How long a command waits for the drone's ack.
    pub ack_timeout: Duration,
    /// Telemetry kept this long; older daily partitions are dropped.
    pub retention: chrono::Duration,
    /// Shared-subscription group of the ingest (`$share/{group}/drones/+/telemetry`): every
    /// instance of one deployment uses the same group, and two deployments on one broker use
    /// different ones (each then stores every message once).
    pub ingest_share_group: String,
    /// Prefix of every MQTT topic the server uses ([`crate::topics::Topics`]): empty (the
    /// default) for the design's names at the root (`drones/{id}/telemetry`, which the desktop
    /// app and the simulated drones use); `acme` puts them under `acme/` so two deployments on
    /// one broker each see only their own drones. Checked when the server starts.
    pub mqtt_topic_prefix: String,
    /// Another member of the share group whose heartbeat is older than this (and that did not
    /// leave) is reported as stale.
    pub stale_member_after: Duration,
    /// Largest telemetry batch written with one COPY.
    pub ingest_batch_max: usize,
    /// The broker's limit of unacknowledged `QoS` 1 messages per client (Mosquitto's
    /// `max_inflight_messages`, default 20). The ingest acknowledges only after committing,
    /// so it commits as soon as this many are held: waiting longer would stall the broker.
    pub ingest_broker_inflight: usize,
    /// Longest a sample waits in the ingest buffer.
    pub ingest_flush_interval: Duration,
    /// PagerDuty Events v2 endpoint (`http://...`); none disables alerts.
    pub alert_webhook_url: Option<String>,
    /// PagerDuty routing key.
    pub alert_routing_key: String,
    /// Battery percentage below which a battery-low alert fires.
    pub battery_low_pct: f64,
    /// HMAC key of the audit chain and its signed checkpoints (at least 32 bytes). Kept out
    /// of the database so whoever can write the tables cannot forge the chain.
    pub audit_secret: Vec<u8>,
    /// Password hashes (Argon2id, 19 MiB each) computed at once; 0: one per core.
    pub password_hash_slots: usize,
    /// Longest a login waits for a hashing slot before it is answered 429.
    pub password_queue_wait: Duration,
    /// Wrong passwords an account may take before it is locked.
    pub login_lock_after: u32,
    /// First lock of an account; each further wrong password doubles it (up to 15 min).
    pub login_lock_base: Duration,
    /// The Open-Meteo compatible `/v1/forecast` endpoint (plain http) for every site's weather.
    pub weather_url: String,
    /// A scheduled run seen this late (e.g. after a restart) still starts; later it is missed.
    pub schedule_grace: chrono::Duration,
}

impl ServerConfig {
    /// Development defaults: local PostgreSQL and Mosquitto, a random JWT secret.
    pub fn local_defaults() -> Self {
        let secret: [u8; 32] = rand::random();
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: "host=127.0.0.1 user=postgres dbname=postgres".into(),
            db_schema: "aviary".into(),
            db_pool_size: 16,
            mqtt_host: "127.0.0.1".into(),
            mqtt_port: 1883,
            mqtt_credentials: None,
            mqtt_tls: None,
            mqtt_max_packet_bytes: MQTT_MAX_PACKET_BYTES,
            ingest_max_payload_bytes: 16 * 1024,
            instance_id: "aviary-server-1".into(),
            jwt_secret: secret.to_vec(),
            jwt_issuer: "aviary-server".into(),
            jwt_audience: "aviary-api".into(),
            token_ttl: Duration::from_mins(15),
            allowed_origins: vec![
                "http://localhost:8080".into(),
                "http://127.0.0.1:8080".into(),
            ],
            max_body_bytes: 256 * 1024,
            login_per_minute: 10,
            api_per_second: 100,
            ack_timeout: Duration::from_secs(5),
            retention: chrono::Duration::days(730),
            ingest_share_group: "aviary".into(),
            mqtt_topic_prefix: String::new(),
            stale_member_after: Duration::from_mins(1),
            ingest_batch_max: 5000,
            ingest_broker_inflight: 20,
            ingest_flush_interval: Duration::from_millis(20),
            alert_webhook_url: None,
            alert_routing_key: String::new(),
            battery_low_pct: 20.0,
            audit_secret: rand::random::<[u8; 32]>().to_vec(),
            password_hash_slots: 0,
            password_queue_wait: Duration::from_secs(2),
            login_lock_after: 5,
            login_lock_base: Duration::from_secs(30),
            weather_url: "http://api.open-meteo.com/v1/forecast".into(),
            schedule_grace: chrono::Duration::minutes(15),
        }
    }
}

// --- broker URLs -----------------------------------------------------------------------------
// The same URL forms as the desktop (`links::mqtt::BrokerAddr`, copied: the server must not
// depend on `links`).

/// PEM certificates a TLS broker's certificate must chain to (a private CA, or the system's
/// bundle). The broker's certificate must also name the host connected to.
#[derive(Clone, PartialEq, Eq)]
pub struct CaBundle {
    /// Where the certificates were read from.
    pub path: std::path::PathBuf,
    pem: std::sync::Arc<[u8]>,
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
    pub fn from_file(path: impl AsRef<std::path::Path>) -> Result<Self, ServerError> {
        let path = path.as_ref().to_path_buf();
        let bad = |reason: String| {
            ServerError::Config(format!("broker CA file {}: {reason}", path.display()))
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
    pub fn system() -> Result<Self, ServerError> {
        if let Some(p) = std::env::var_os("SSL_CERT_FILE") {
            return Self::from_file(p);
        }
        SYSTEM_CA_BUNDLES
            .iter()
            .find(|p| std::path::Path::new(p).is_file())
            .map_or_else(
                || {
                    Err(ServerError::Config(
                        "no system CA bundle (install ca-certificates, or give the broker's \
                         CA with ?ca=PATH)"
                            .into(),
                    ))
                },
                Self::from_file,
            )
    }

    /// The PEM text.
    pub fn pem(&self) -> &[u8] {
        &self.pem
    }
}

/// A broker parsed from `mqtt://[user:password@]host[:port]` (or `host[:port]`), or over TLS
/// from `mqtts://[user:password@]host[:port][?ca=PATH]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerUrl {
    /// Host name or IP.
    pub host: String,
    /// TCP port (default 1883; 8883 for `mqtts://`).
    pub port: u16,
    /// User name and password, if the URL has them.
    pub credentials: Option<(String, String)>,
    /// TLS, with the certificates the broker's certificate must chain to; `None`: plain TCP.
    pub tls: Option<CaBundle>,
}

impl BrokerUrl {
    /// Parses a broker URL: `mqtt://` (or no scheme) for plain TCP; `mqtts://` for TLS, trusting
    /// the CA certificates of the file named by `?ca=PATH`, or the system's CA bundle without it.
    pub fn parse(url: &str) -> Result<Self, ServerError> {
        // The URL may hold a password: name the problem, never echo the URL.
        let bad = |reason: &str| ServerError::Config(format!("broker URL: {reason}"));
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
}

impl ServerConfig {
    /// MQTT options for one of the server's clients (broker, credentials, TLS, packet
    /// limits): the ingest, the live client and the membership probe share them.
    pub fn mqtt_options(&self, client_id: String) -> rumqttc::MqttOptions {
        let mut o = rumqttc::MqttOptions::new(client_id, self.mqtt_host.clone(), self.mqtt_port);
        o.set_keep_alive(Duration::from_secs(10));
        // As large as the broker's own limit: a packet larger than ours would break the
        // connection, and a persistent session would get it redelivered after every reconnect.
        o.set_max_packet_size(self.mqtt_max_packet_bytes, self.mqtt_max_packet_bytes);
        if let Some((u, p)) = &self.mqtt_credentials {
            o.set_credentials(u.clone(), p.clone());
        }
        if let Some(ca) = &self.mqtt_tls {
            o.set_transport(rumqttc::Transport::tls_with_config(
                rumqttc::TlsConfiguration::Simple {
                    ca: ca.pem().to_vec(),
                    alpn: None,
                    client_auth: None,
                },
            ));
        }
        o
    }

    /// The MQTT topic names under [`Self::mqtt_topic_prefix`].
    pub fn topics(&self) -> crate::topics::Topics<'_> {
        crate::topics::Topics::new(&self.mqtt_topic_prefix)
    }

    /// Points both MQTT clients at `url` (see [`BrokerUrl::parse`]).
    pub fn set_broker_url(&mut self, url: &str) -> Result<(), ServerError> {
        let b = BrokerUrl::parse(url)?;
        self.mqtt_host = b.host;
        self.mqtt_port = b.port;
        self.mqtt_credentials = b.credentials;
        self.mqtt_tls = b.tls;
        Ok(())
    }
}
