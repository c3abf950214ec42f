//! Prometheus metrics, rendered by hand in the text exposition format (`GET /metrics`):
//! ingest rate and lag, WebSocket clients, command latency and outcomes, alerts.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

/// Upper bounds (seconds) of the latency histograms' buckets.
const BUCKETS_S: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// A cumulative histogram with fixed buckets.
#[derive(Debug, Default)]
pub struct Histogram {
    counts: [AtomicU64; BUCKETS_S.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Histogram {
    /// Records one observation, seconds.
    pub fn observe(&self, seconds: f64) {
        let s = seconds.max(0.0);
        if let Some(i) = BUCKETS_S.iter().position(|b| s <= *b) {
            self.counts[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add((s * 1e6) as u64, Ordering::Relaxed);
    }

    /// Upper bound of the bucket holding quantile `q` (0..1); `+Inf` past the last bucket,
    /// `NaN` when empty.
    pub fn quantile(&self, q: f64) -> f64 {
        let n = self.count.load(Ordering::Relaxed);
        if n == 0 {
            return f64::NAN;
        }
        let want = (n as f64 * q).ceil() as u64;
        let mut cum = 0;
        for (i, b) in BUCKETS_S.iter().enumerate() {
            cum += self.counts[i].load(Ordering::Relaxed);
            if cum >= want {
                return *b;
            }
        }
        f64::INFINITY
    }

    /// Number of observations.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }

    fn render(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        let mut cum = 0;
        for (i, b) in BUCKETS_S.iter().enumerate() {
            cum += self.counts[i].load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{b}\"}} {cum}");
        }
        let n = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {n}");
        let _ = writeln!(
            out,
            "{name}_sum {}",
            self.sum_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count {n}");
    }
}

/// Every metric of one server instance.
#[derive(Debug, Default)]
pub struct Metrics {
    /// Telemetry messages received by the ingest.
    pub ingest_received: AtomicU64,
    /// Telemetry rows committed to PostgreSQL.
    pub ingest_rows: AtomicU64,
    /// COPY batches committed.
    pub ingest_batches: AtomicU64,
    /// Messages refused (malformed JSON, topic mismatch, timestamp out of range).
    pub ingest_rejected: AtomicU64,
    /// Batch writes that failed and were retried.
    pub ingest_write_errors: AtomicU64,
    /// Sample time → commit, seconds.
    pub ingest_lag: Histogram,
    /// Lag of the newest batch, microseconds.
    pub ingest_last_lag_us: AtomicI64,
    /// Connected WebSocket clients.
    pub ws_clients: AtomicI64,
    /// Messages sent to WebSocket clients.
    pub ws_messages: AtomicU64,
    /// Messages a slow WebSocket client missed.
    pub ws_lagged: AtomicU64,
    /// Command publish → ack, seconds.
    pub command_latency: Histogram,
    /// Commands executed.
    pub commands_executed: AtomicU64,
    /// Commands rejected by the drone.
    pub commands_rejected: AtomicU64,
    /// Commands without an ack in time.
    pub commands_unacknowledged: AtomicU64,
    /// HTTP requests answered.
    pub http_requests: AtomicU64,
    /// Requests refused by a rate limit.
    pub rate_limited: AtomicU64,
    /// Alerts delivered to the webhook.
    pub alerts_sent: AtomicU64,
    /// Alerts that could not be delivered.
    pub alerts_failed: AtomicU64,
    /// Messages the ingest could not store and acknowledged anyway (invalid, refused by the
    /// database, oversized, foreign mission): each one a row of `ingest_dead_letters`.
    pub ingest_dead_letters: AtomicU64,
    /// Dead letters that could not be recorded (the messages were still acknowledged).
    pub ingest_dead_letter_write_errors: AtomicU64,
    /// Telemetry payloads over the ingest's size limit.
    pub ingest_oversized: AtomicU64,
    /// Telemetry naming a mission the server did not assign to the sending drone: not stored.
    pub ingest_foreign_mission: AtomicU64,
    /// The same, seen by the live client: not shown on any WebSocket, finishes nothing.
    pub live_foreign_mission: AtomicU64,
    /// Connections of the ingest client accepted by the broker (`CONNACK`s).
    pub ingest_connects: AtomicU64,
    /// Ingest connection attempts that failed or connections that broke.
    pub ingest_connection_errors: AtomicU64,
    /// Whether the ingest client is connected to the broker and subscribed now.
    pub ingest_connected: AtomicBool,
    /// Whether the live client is connected to the broker now.
    pub live_connected: AtomicBool,
    /// When the ingest last committed a batch, Unix milliseconds (0: never).
    pub ingest_last_insert_ms: AtomicI64,
    /// Why the ingest's connection last failed (empty while connected).
    pub ingest_last_error: Mutex<String>,
    /// Other members of the share group that stopped without leaving (see `members`).
    pub ingest_stale_members: Mutex<Vec<String>>,
}

/// The ingest's health as `GET /healthz` reports it (the same figures are in `/metrics`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct IngestHealth {
    /// The ingest client is connected to the broker.
    pub connected: bool,
    /// The live client (WebSocket fan-out, commands) is connected to the broker.
    pub live_connected: bool,
    /// Why the ingest's connection last failed, while it is down.
    pub last_error: Option<String>,
    /// Sample time to commit of the newest committed batch, seconds.
    pub lag_seconds: f64,
    /// When the ingest last committed a batch.
    pub last_insert: Option<chrono::DateTime<chrono::Utc>>,
    /// Messages not stored and recorded as dead letters.
    pub dead_letters: u64,
    /// Failed batch writes (retried).
    pub write_errors: u64,
    /// Other members of this deployment's share group that stopped without leaving: the
    /// broker still queues their share of the telemetry (see `members`).
    pub stale_members: Vec<String>,
}

impl Metrics {
    /// The ingest client is connected and subscribed.
    pub fn ingest_up(&self) {
        self.ingest_connected.store(true, Ordering::Relaxed);
        self.ingest_last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
    }

    /// The ingest client's connection failed or was refused.
    pub fn ingest_down(&self, why: String) {
        self.ingest_connected.store(false, Ordering::Relaxed);
        self.ingest_connection_errors
            .fetch_add(1, Ordering::Relaxed);
        *self
            .ingest_last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = why;
    }

    /// A batch was committed at `at`.
    pub fn ingest_committed(&self, at: chrono::DateTime<chrono::Utc>) {
        self.ingest_last_insert_ms
            .store(at.timestamp_millis(), Ordering::Relaxed);
    }

    /// The ingest's health now.
    pub fn ingest_health(&self) -> IngestHealth {
        let last_error = self
            .ingest_last_error
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        let last_ms = self.ingest_last_insert_ms.load(Ordering::Relaxed);
        IngestHealth {
            connected: self.ingest_connected.load(Ordering::Relaxed),
            live_connected: self.live_connected.load(Ordering::Relaxed),
            last_error: (!last_error.is_empty()).then_some(last_error),
            lag_seconds: self.ingest_last_lag_us.load(Ordering::Relaxed) as f64 / 1e6,
            last_insert: (last_ms > 0)
                .then(|| chrono::DateTime::from_timestamp_millis(last_ms))
                .flatten(),
            dead_letters: self.ingest_dead_letters.load(Ordering::Relaxed),
            write_errors: self.ingest_write_errors.load(Ordering::Relaxed),
            stale_members: self.stale_members(),
        }
    }

    /// The stale members now.
    pub fn stale_members(&self) -> Vec<String> {
        self.ingest_stale_members
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Records the stale members; returns the previous list.
    pub fn set_stale_members(&self, now: Vec<String>) -> Vec<String> {
        std::mem::replace(
            &mut *self
                .ingest_stale_members
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
            now,
        )
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(4096);
        let counters: [(&str, &str, &AtomicU64); 14] = [
            (
                "aviary_ingest_messages_total",
                "Telemetry messages received from the broker.",
                &self.ingest_received,
            ),
            (
                "aviary_ingest_rows_total",
                "Telemetry rows committed to PostgreSQL.",
                &self.ingest_rows,
            ),
            (
                "aviary_ingest_batches_total",
                "COPY batches committed.",
                &self.ingest_batches,
            ),
            (
                "aviary_ingest_rejected_total",
                "Telemetry messages refused.",
                &self.ingest_rejected,
            ),
            (
                "aviary_ingest_write_errors_total",
                "Failed batch writes (retried).",
                &self.ingest_write_errors,
            ),
            (
                "aviary_ws_messages_total",
                "Messages sent to WebSocket clients.",
                &self.ws_messages,
            ),
            (
                "aviary_ws_lagged_total",
                "Messages slow WebSocket clients missed.",
                &self.ws_lagged,
            ),
            (
                "aviary_commands_executed_total",
                "Commands acknowledged as executed.",
                &self.commands_executed,
            ),
            (
                "aviary_commands_rejected_total",
                "Commands rejected by the drone.",
                &self.commands_rejected,
            ),
            (
                "aviary_commands_unacknowledged_total",
                "Commands without an ack in time.",
                &self.commands_unacknowledged,
            ),
            (
                "aviary_http_requests_total",
                "HTTP requests answered.",
                &self.http_requests,
            ),
            (
                "aviary_rate_limited_total",
                "Requests refused by a rate limit.",
                &self.rate_limited,
            ),
            (
                "aviary_alerts_sent_total",
                "Alerts delivered to the webhook.",
                &self.alerts_sent,
            ),
            (
                "aviary_alerts_failed_total",
                "Alerts that could not be delivered.",
                &self.alerts_failed,
            ),
        ];
        for (name, help, v) in counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        }
        let ingest_counters: [(&str, &str, &AtomicU64); 7] = [
            (
                "aviary_ingest_dead_letters_total",
                "Telemetry messages not stored and recorded as dead letters.",
                &self.ingest_dead_letters,
            ),
            (
                "aviary_ingest_dead_letter_write_errors_total",
                "Dead letters that could not be recorded.",
                &self.ingest_dead_letter_write_errors,
            ),
            (
                "aviary_ingest_oversized_total",
                "Telemetry payloads over the ingest's size limit.",
                &self.ingest_oversized,
            ),
            (
                "aviary_ingest_foreign_mission_total",
                "Telemetry for a mission not assigned to the sending drone (not stored).",
                &self.ingest_foreign_mission,
            ),
            (
                "aviary_live_foreign_mission_total",
                "Telemetry for a mission not assigned to the sending drone (not shown).",
                &self.live_foreign_mission,
            ),
            (
                "aviary_ingest_connects_total",
                "Ingest connections accepted by the broker.",
                &self.ingest_connects,
            ),
            (
                "aviary_ingest_connection_errors_total",
                "Ingest connection attempts refused or connections lost.",
                &self.ingest_connection_errors,
            ),
        ];
        for (name, help, v) in ingest_counters {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Ordering::Relaxed)
            );
        }
        let gauges: [(&str, &str, f64); 4] = [
            (
                "aviary_ingest_stale_members",
                "Members of the ingest share group that stopped without leaving.",
                self.stale_members().len() as f64,
            ),
            (
                "aviary_ingest_connected",
                "1 while the ingest client is connected to the broker.",
                f64::from(u8::from(self.ingest_connected.load(Ordering::Relaxed))),
            ),
            (
                "aviary_live_connected",
                "1 while the live client is connected to the broker.",
                f64::from(u8::from(self.live_connected.load(Ordering::Relaxed))),
            ),
            (
                "aviary_ingest_last_insert_timestamp_seconds",
                "Unix time of the ingest's last committed batch (0: never).",
                self.ingest_last_insert_ms.load(Ordering::Relaxed) as f64 / 1e3,
            ),
        ];
        for (name, help, v) in gauges {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {v}");
        }
        let _ = writeln!(
            out,
            "# HELP aviary_ws_clients Connected WebSocket clients.\n# TYPE aviary_ws_clients gauge\naviary_ws_clients {}",
            self.ws_clients.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP aviary_ingest_lag_last_seconds Sample-to-commit lag of the newest batch.\n# TYPE aviary_ingest_lag_last_seconds gauge\naviary_ingest_lag_last_seconds {}",
            self.ingest_last_lag_us.load(Ordering::Relaxed) as f64 / 1e6
        );
        self.ingest_lag.render(
            &mut out,
            "aviary_ingest_lag_seconds",
            "Sample time to database commit.",
        );
        self.command_latency.render(
            &mut out,
            "aviary_command_latency_seconds",
            "Command publish to drone ack.",
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.ingest_rows.fetch_add(7, Ordering::Relaxed);
        m.command_latency.observe(0.004);
        m.command_latency.observe(0.3);
        let text = m.render();
        assert!(text.contains("aviary_ingest_rows_total 7\n"), "{text}");
        assert!(text.contains("aviary_command_latency_seconds_bucket{le=\"0.005\"} 1\n"));
        assert!(text.contains("aviary_command_latency_seconds_bucket{le=\"0.5\"} 2\n"));
        assert!(text.contains("aviary_command_latency_seconds_count 2\n"));
        assert!(text.contains("# TYPE aviary_ws_clients gauge"));
        assert!((m.command_latency.quantile(0.5) - 0.005).abs() < 1e-12);
        assert!((m.command_latency.quantile(0.99) - 0.5).abs() < 1e-12);
    }
}
