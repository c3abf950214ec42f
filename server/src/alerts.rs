//! Alert webhooks in the PagerDuty Events v2 shape (`routing_key`, `event_action`,
//! `dedup_key`, `payload{summary, source, severity, timestamp, component, group, class,
//! custom_details}`), posted by a background task fed through a bounded channel so an alert
//! never blocks ingest or a request. Plain `http://` endpoints only (put a TLS relay in front
//! of PagerDuty's HTTPS endpoint).

use std::sync::Arc;
use std::sync::atomic::Ordering;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use tokio::sync::mpsc;

use crate::metrics::Metrics;

/// Kinds of alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// A drone's battery fell below the threshold.
    BatteryLow,
    /// A drone went offline.
    LinkLost,
    /// A command was rejected or not acknowledged.
    CommandFailed,
    /// A scheduled run could not start (its reasons in the summary).
    ScheduleMissed,
}

impl AlertKind {
    const fn severity(self) -> &'static str {
        match self {
            Self::BatteryLow => "warning",
            Self::LinkLost | Self::CommandFailed => "critical",
            Self::ScheduleMissed => "error",
        }
    }
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Alert {
    /// Kind.
    pub kind: AlertKind,
    /// One-line summary.
    pub summary: String,
    /// Drone or mission concerned (`drone:<id>`).
    pub source: String,
    /// De-duplication key (same key = same incident for PagerDuty).
    pub dedup_key: String,
    /// Extra fields.
    pub details: serde_json::Value,
}

/// The PagerDuty Events v2 body of an alert.
pub fn pagerduty_body(
    routing_key: &str,
    a: &Alert,
    now: chrono::DateTime<chrono::Utc>,
) -> serde_json::Value {
    serde_json::json!({
        "routing_key": routing_key,
        "event_action": "trigger",
        "dedup_key": a.dedup_key,
        "payload": {
            "summary": a.summary,
            "source": a.source,
            "severity": a.kind.severity(),
            "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "component": "aviary-server",
            "group": "fleet",
            "class": a.kind,
            "custom_details": a.details,
        }
    })
}

/// Handle to the alert task; cloning is cheap.
#[derive(Debug, Clone)]
pub struct Alerts {
    tx: Option<mpsc::Sender<Alert>>,
}

impl Alerts {
    /// Starts the sender task (or a disabled handle when `url` is `None`).
    pub fn start(url: Option<String>, routing_key: String, metrics: Arc<Metrics>) -> Self {
        let Some(url) = url else {
            return Self { tx: None };
        };
        let (tx, mut rx) = mpsc::channel::<Alert>(1024);
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        tokio::spawn(async move {
            while let Some(a) = rx.recv().await {
                let body = pagerduty_body(&routing_key, &a, chrono::Utc::now()).to_string();
                let req = hyper::Request::post(url.as_str())
                    .header(hyper::header::CONTENT_TYPE, "application/json")
                    .body(Full::new(Bytes::from(body)));
                let ok = match req {
                    Ok(req) => match client.request(req).await {
                        Ok(resp) => {
                            let status = resp.status();
                            // Drain the body so the connection can be reused.
                            let _ = resp.into_body().collect().await;
                            status.is_success()
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "alert webhook unreachable");
                            false
                        }
                    },
                    Err(e) => {
                        tracing::error!(error = %e, "alert webhook URL invalid");
                        false
                    }
                };
                let counter = if ok {
                    &metrics.alerts_sent
                } else {
                    &metrics.alerts_failed
                };
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
        Self { tx: Some(tx) }
    }

    /// Queues an alert; drops it (with a log line) if the queue is full.
    pub fn raise(&self, a: Alert) {
        if let Some(tx) = &self.tx
            && let Err(e) = tx.try_send(a)
        {
            tracing::warn!(error = %e, "alert queue full; alert dropped");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_has_the_events_v2_shape() {
        let a = Alert {
            kind: AlertKind::BatteryLow,
            summary: "battery 15%".into(),
            source: "drone:x".into(),
            dedup_key: "battery_low/x".into(),
            details: serde_json::json!({"battery": 15.0}),
        };
        let b = pagerduty_body(
            "rk",
            &a,
            chrono::DateTime::from_timestamp(0, 0).unwrap_or_default(),
        );
        assert_eq!(b["event_action"], "trigger");
        assert_eq!(b["routing_key"], "rk");
        assert_eq!(b["payload"]["severity"], "warning");
        assert_eq!(b["payload"]["class"], "battery_low");
        assert_eq!(b["payload"]["timestamp"], "1970-01-01T00:00:00.000Z");
    }
}
