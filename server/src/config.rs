//! Server settings. `main.rs` fills them from the command line and environment; tests build
//! them directly.

use std::net::SocketAddr;
use std::time::Duration;

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
    /// Unique name of this instance: its MQTT client ids derive from it, and the ingest's
    /// persistent session is keyed by it (restart with the same name to resume it).
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
    /// instance of one deployment uses the same group.
    pub ingest_share_group: String,
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
            ingest_batch_max: 5000,
            ingest_broker_inflight: 20,
            ingest_flush_interval: Duration::from_millis(20),
            alert_webhook_url: None,
            alert_routing_key: String::new(),
            battery_low_pct: 20.0,
        }
    }
}
