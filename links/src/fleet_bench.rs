//! The load tool behind `aviary bench fleet`: simulated drones publish section-3.2 telemetry
//! through the broker to an **already running** fleet server, and the tool measures what that
//! server does with it, from outside, as its users would.
//!
//! - **Ingest**: the server's Prometheus counters (`GET /metrics`) before and after —
//!   `aviary_ingest_rows_total` (rows committed to PostgreSQL) and the sample → commit
//!   histogram `aviary_ingest_lag_seconds` (its quantiles are bucket upper bounds). The counters
//!   are one instance's: point the tool at a single-instance server.
//! - **End to end**: one mission created through the REST API for each of the first `watched`
//!   drones (a drone's telemetry may name only the mission the server assigned to that very
//!   drone; any other is dropped as foreign), whose telemetry carries its id, and a WebSocket
//!   client on each `/ws/missions/{id}/live`;
//!   latency is the sample's timestamp (set when the drone publishes) → the WebSocket message
//!   arriving, on the one system clock of this machine.
//! - **REST reads**: a paced client alternating the drone list and a drone's latest telemetry.
//!   The server's per-user API rate limit (`aviary-server serve --api-rate`, 100/s by default)
//!   must be above `rest_rps`, or the excess is answered 429 and counted in `rest_limited`.
//!
//! The first `registered` drones are registered on the server (site `bench`, serial numbers
//! `BENCH-0001`…, reused by later runs) so the reads hit real rows (the watched drones are among
//! them); the missions are deleted at the end. [`run`] is blocking: it
//! starts a tokio runtime of its own (worker threads `aviary-fleet-bench`) and returns a
//! [`FleetBenchReport`]. Progress is logged with `tracing`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aviary_core::samples::percentile;
use aviary_core::wire::{TelemetryUpdate, WireLatLon, WirePosition, WireVelocity};
use aviary_core::{DroneId, MissionId};
use futures_util::StreamExt;
use rumqttc::{AsyncClient, Event, Packet, QoS};

use crate::fleet::{Api, DroneSpec, FleetConfig, FleetError, PollError, Registration};
use crate::mqtt::{BrokerAddr, topics};

/// What to run.
#[derive(Debug, Clone)]
pub struct FleetBenchOptions {
    /// The server and an admin account of the organisation the bench drones join.
    pub server: FleetConfig,
    /// The broker the server ingests from.
    pub broker: BrokerAddr,
    /// Simulated drones.
    pub drones: usize,
    /// Telemetry rate per drone, Hz.
    pub rate_hz: f64,
    /// Length of the publishing phase.
    pub seconds: f64,
    /// Drones each flying a watched mission of its own (their messages are timed to the
    /// WebSocket clients); at most `registered`.
    pub watched: usize,
    /// Drones registered on the server (the REST reads ask for them).
    pub registered: usize,
    /// MQTT connections the drones share.
    pub publishers: usize,
    /// `QoS` 1 messages each publisher connection keeps in flight.
    pub inflight: u16,
    /// REST requests per second in the read phase (0: no read phase).
    pub rest_rps: u64,
    /// Length of the read phase.
    pub rest_seconds: f64,
    /// The ingest counts as finished when it made no progress for this long.
    pub drain_idle: Duration,
}

impl FleetBenchOptions {
    /// The load (1,000 drones at 10 Hz for 20 s, 1,000 reads/s for 10 s) against
    /// `server` through `broker`.
    pub fn new(server: FleetConfig, broker: BrokerAddr) -> Self {
        Self {
            server,
            broker,
            drones: 1000,
            rate_hz: 10.0,
            seconds: 20.0,
            watched: 10,
            registered: 100,
            publishers: 20,
            inflight: 1000,
            rest_rps: 1000,
            rest_seconds: 10.0,
            drain_idle: Duration::from_secs(10),
        }
    }
}

/// Results, one JSON object.
#[derive(Debug, Clone, serde::Serialize)]
pub struct FleetBenchReport {
    /// Drones simulated.
    pub drones: usize,
    /// Rate per drone, Hz.
    pub rate_hz: f64,
    /// Length of the publishing phase, seconds.
    pub seconds: f64,
    /// Messages acknowledged by the broker (`QoS` 1).
    pub published: u64,
    /// Rows the server committed during the run (`aviary_ingest_rows_total` delta).
    pub stored: u64,
    /// Publish rate achieved, messages/s.
    pub publish_rate: f64,
    /// Rows committed per second, first publish to the last commit seen.
    pub ingest_rate: f64,
    /// Sample → commit, p50 (bucket upper bound), seconds.
    pub ingest_lag_p50_s: f64,
    /// Sample → commit, p99 (bucket upper bound), seconds.
    pub ingest_lag_p99_s: f64,
    /// Drone publish → WebSocket client: samples measured.
    pub e2e_samples: usize,
    /// p50, milliseconds.
    pub e2e_p50_ms: f64,
    /// p99, milliseconds.
    pub e2e_p99_ms: f64,
    /// REST requests answered.
    pub rest_requests: u64,
    /// REST requests that failed (not 200, 429 excepted).
    pub rest_errors: u64,
    /// REST requests refused by the server's rate limit (429).
    pub rest_limited: u64,
    /// Achieved REST rate.
    pub rest_rate: f64,
    /// p50, milliseconds.
    pub rest_p50_ms: f64,
    /// p99, milliseconds.
    pub rest_p99_ms: f64,
}

/// Why the bench could not run.
#[derive(Debug, thiserror::Error)]
pub enum FleetBenchError {
    /// Talking to the server failed.
    #[error(transparent)]
    Server(#[from] FleetError),
    /// The token was refused right after login.
    #[error("the server refused the bench account's fresh token")]
    Unauthorized,
    /// The WebSocket did not open.
    #[error("cannot open the mission WebSocket {url}: {reason}")]
    WebSocket {
        /// The URL (without the token).
        url: String,
        /// Why.
        reason: String,
    },
    /// `/metrics` does not carry the ingest counters.
    #[error("the server's /metrics has no {0}")]
    Metrics(&'static str),
    /// Options out of range.
    #[error("{0}")]
    Options(&'static str),
    /// The runtime could not start.
    #[error("cannot start the bench runtime: {0}")]
    Runtime(#[from] std::io::Error),
}

fn poll_error(e: PollError) -> FleetBenchError {
    match e {
        PollError::Unauthorized => FleetBenchError::Unauthorized,
        PollError::Other(e) => FleetBenchError::Server(e),
    }
}

/// Runs the bench (blocking) on a runtime of its own.
pub fn run(opts: &FleetBenchOptions) -> Result<FleetBenchReport, FleetBenchError> {
    let positive = |x: f64| x.is_finite() && x > 0.0;
    if opts.drones == 0 || !positive(opts.rate_hz) || !positive(opts.seconds) {
        return Err(FleetBenchError::Options(
            "drones, rate and seconds must be positive",
        ));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("aviary-fleet-bench")
        .enable_all()
        .build()?;
    runtime.block_on(bench(opts))
}

// --- metrics ------------------------------------------------------------------------------

/// The ingest counters of one `/metrics` scrape.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IngestCounters {
    /// `aviary_ingest_rows_total`.
    pub rows: u64,
    /// `aviary_ingest_lag_seconds_bucket`: (upper bound, cumulative count), `+Inf` last.
    pub lag_buckets: Vec<(f64, u64)>,
}

impl IngestCounters {
    /// Reads the Prometheus text exposition.
    pub fn parse(text: &str) -> Result<Self, FleetBenchError> {
        let mut rows = None;
        let mut lag_buckets = Vec::new();
        for line in text.lines() {
            if let Some(v) = line.strip_prefix("aviary_ingest_rows_total ") {
                rows = v.trim().parse().ok();
            } else if let Some(rest) = line.strip_prefix("aviary_ingest_lag_seconds_bucket{le=\"")
                && let Some((le, count)) = rest.split_once("\"} ")
                && let Ok(count) = count.trim().parse::<u64>()
            {
                let le = if le == "+Inf" {
                    f64::INFINITY
                } else {
                    le.parse()
                        .map_err(|_| FleetBenchError::Metrics("readable lag buckets"))?
                };
                lag_buckets.push((le, count));
            }
        }
        Ok(Self {
            rows: rows.ok_or(FleetBenchError::Metrics("aviary_ingest_rows_total"))?,
            lag_buckets,
        })
    }

    /// Quantile `q` of the observations made between `before` and `self`: the upper bound of
    /// the bucket that holds it (`NaN` when nothing was observed).
    pub fn lag_quantile_since(&self, before: &Self, q: f64) -> f64 {
        let earlier = |le: f64| {
            before
                .lag_buckets
                .iter()
                .find(|(b, _)| b.total_cmp(&le).is_eq())
                .map_or(0, |(_, c)| *c)
        };
        let delta: Vec<(f64, u64)> = self
            .lag_buckets
            .iter()
            .map(|(le, c)| (*le, c.saturating_sub(earlier(*le))))
            .collect();
        let total = delta.last().map_or(0, |(_, c)| *c);
        if total == 0 {
            return f64::NAN;
        }
        let want = (total as f64 * q).ceil() as u64;
        delta
            .iter()
            .find(|(_, c)| *c >= want)
            .map_or(f64::INFINITY, |(le, _)| *le)
    }
}

async fn scrape(api: &Api) -> Result<IngestCounters, FleetBenchError> {
    let (status, body) = api
        .request(hyper::Method::GET, "/metrics", None)
        .await
        .map_err(FleetBenchError::Server)?;
    if status != 200 {
        return Err(FleetBenchError::Metrics("answer (HTTP status not 200)"));
    }
    IngestCounters::parse(&String::from_utf8_lossy(&body))
}

// --- the run ------------------------------------------------------------------------------

const HOME: WireLatLon = WireLatLon {
    lat: 47.397,
    lon: 8.545,
};

async fn bench(opts: &FleetBenchOptions) -> Result<FleetBenchReport, FleetBenchError> {
    let mut api = Api::new(opts.server.clone());
    api.login().await?;
    let drones = setup_drones(&api, opts).await?;
    // The server lets a drone's telemetry touch only the mission assigned to that drone: one
    // mission per watched drone, each a registered drone of this organisation.
    let watched = opts
        .watched
        .clamp(1, opts.registered.clamp(1, drones.len()));
    let mut missions = Vec::with_capacity(watched);
    for d in &drones[..watched] {
        missions.push(create_mission(&api, *d).await?);
    }
    let before = scrape(&api).await?;
    let api = Arc::new(api);

    let mut watchers = Vec::with_capacity(missions.len());
    for m in &missions {
        watchers.push(watch_mission(&api, *m).await?);
    }
    tracing::info!(
        drones = opts.drones,
        rate_hz = opts.rate_hz,
        seconds = opts.seconds,
        broker = %format!("{}:{}", opts.broker.host, opts.broker.port),
        "publishing"
    );
    let started = Instant::now();
    let (published, publish_s) = publish(opts, &drones, &missions).await;

    // Wait for the ingest to commit what was published (or to stall).
    let mut last = before.clone();
    let mut last_change = Instant::now();
    loop {
        let now = scrape(&api).await?;
        if now.rows != last.rows {
            last_change = Instant::now();
        }
        last = now;
        if last.rows.saturating_sub(before.rows) >= published
            || last_change.elapsed() >= opts.drain_idle
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let ingest_s = (last_change - started).as_secs_f64();
    let stored = last.rows.saturating_sub(before.rows);
    // Stragglers of the watched drones arrive within the drain; then stop the client.
    let mut e2e = Vec::new();
    for (stop, task) in watchers {
        let _ = stop.send(());
        e2e.extend(task.await.unwrap_or_default());
    }
    e2e.sort_by(f64::total_cmp);
    tracing::info!(published, stored, "ingest done; REST phase");

    let (mut rest_ms, rest_errors, rest_limited, rest_s) = rest_reads(&api, opts, &drones).await;
    rest_ms.sort_by(f64::total_cmp);
    // The watched missions were only feeds to listen to; the registered drones stay for the
    // next run.
    for mission in &missions {
        let path = format!("/api/v1/missions/{mission}");
        match api.request(hyper::Method::DELETE, &path, None).await {
            Ok((200..=299, _)) => {}
            Ok((status, _)) => tracing::warn!(status, %path, "bench mission not deleted"),
            Err(e) => tracing::warn!(error = %e, %path, "bench mission not deleted"),
        }
    }
    Ok(FleetBenchReport {
        drones: opts.drones,
        rate_hz: opts.rate_hz,
        seconds: opts.seconds,
        published,
        stored,
        publish_rate: published as f64 / publish_s.max(1e-9),
        ingest_rate: stored as f64 / ingest_s.max(1e-9),
        ingest_lag_p50_s: last.lag_quantile_since(&before, 0.5),
        ingest_lag_p99_s: last.lag_quantile_since(&before, 0.99),
        e2e_samples: e2e.len(),
        e2e_p50_ms: percentile(&e2e, 0.5),
        e2e_p99_ms: percentile(&e2e, 0.99),
        rest_requests: rest_ms.len() as u64,
        rest_errors,
        rest_limited,
        rest_rate: rest_ms.len() as f64 / rest_s.max(1e-9),
        rest_p50_ms: percentile(&rest_ms, 0.5),
        rest_p99_ms: percentile(&rest_ms, 0.99),
    })
}

/// Registers the first `registered` drones (reusing earlier runs' by serial number); the rest
/// get fresh ids.
async fn setup_drones(
    api: &Api,
    opts: &FleetBenchOptions,
) -> Result<Vec<DroneId>, FleetBenchError> {
    let n = opts.registered.clamp(1, opts.drones);
    let registration = Registration {
        site_name: "bench".into(),
        site_location: HOME,
        timezone: None,
        drones: (0..n)
            .map(|i| DroneSpec {
                drone_id: DroneId::new_random(),
                serial_number: format!("BENCH-{:04}", i + 1),
                model: "Aviary bench".into(),
                home: HOME,
            })
            .collect(),
    };
    let (_, registered) = api.register(&registration).await.map_err(poll_error)?;
    let mut drones: Vec<DroneId> = registered.into_iter().map(|(id, _)| id).collect();
    drones.extend((n..opts.drones).map(|_| DroneId::new_random()));
    Ok(drones)
}

async fn create_mission(api: &Api, drone: DroneId) -> Result<MissionId, FleetBenchError> {
    let sites: Vec<aviary_core::wire::FleetSite> =
        api.get("/api/v1/sites").await.map_err(poll_error)?;
    let site = sites
        .iter()
        .find(|s| s.name == "bench")
        .map(|s| s.site_id)
        .ok_or(FleetError::Decode {
            path: "/api/v1/sites".into(),
            reason: "the bench site is missing after registration".into(),
        })?;
    let body = serde_json::json!({
        "site_id": site, "drone_id": drone, "name": "bench", "flight_pattern": "lawnmower",
        "survey_area": { "type": "Polygon", "coordinates": [[[8.5450, 47.3970], [8.5462, 47.3970],
            [8.5462, 47.3978], [8.5450, 47.3978], [8.5450, 47.3970]]] },
        "parameters": { "altitude": 50, "speed": 5, "overlap": 70 }
    });
    let created: serde_json::Value = api
        .post("/api/v1/missions", &body)
        .await
        .map_err(poll_error)?;
    serde_json::from_value(created["mission_id"].clone()).map_err(|e| {
        FleetBenchError::Server(FleetError::Decode {
            path: "/api/v1/missions".into(),
            reason: e.to_string(),
        })
    })
}

type WsTask = tokio::task::JoinHandle<Vec<f64>>;

/// Opens the mission's live WebSocket; the task returns publish → arrival latencies (ms) of
/// its telemetry once told to stop.
async fn watch_mission(
    api: &Api,
    mission: MissionId,
) -> Result<(tokio::sync::oneshot::Sender<()>, WsTask), FleetBenchError> {
    let base = api.config.base_url.replacen("http://", "ws://", 1);
    let url = format!("{base}/ws/missions/{mission}/live");
    let token = api.token.clone().unwrap_or_default();
    let (mut ws, _) = tokio_tungstenite::connect_async(format!("{url}?token={token}"))
        .await
        .map_err(|e| FleetBenchError::WebSocket {
            url: url.clone(),
            reason: e.to_string(),
        })?;
    let (stop_tx, mut stop) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(async move {
        let mut lat_ms = Vec::new();
        loop {
            tokio::select! {
                _ = &mut stop => break,
                m = ws.next() => match m {
                    Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t))) => {
                        let arrived = chrono::Utc::now();
                        if let Ok(u) = serde_json::from_str::<TelemetryUpdate>(&t) {
                            lat_ms.push((arrived - u.timestamp).num_microseconds().unwrap_or(0) as f64 / 1000.0);
                        }
                    }
                    Some(Ok(_)) => {}
                    Some(Err(e)) => { tracing::warn!(error = %e, "bench WebSocket failed"); break; }
                    None => break,
                }
            }
        }
        let _ = ws.close(None).await;
        lat_ms
    });
    Ok((stop_tx, task))
}

/// Publishes for `opts.seconds` over `opts.publishers` connections; returns the messages the
/// broker acknowledged and the publishing time (seconds, without the final flush).
/// The first `missions.len()` drones name their own mission.
async fn publish(
    opts: &FleetBenchOptions,
    drones: &[DroneId],
    missions: &[MissionId],
) -> (u64, f64) {
    let per = drones.len().div_ceil(opts.publishers.max(1)).max(1);
    let deadline = Instant::now() + Duration::from_secs_f64(opts.seconds);
    let acked = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for (k, chunk) in drones.chunks(per).enumerate() {
        let chunk: Vec<(DroneId, Option<MissionId>)> = chunk
            .iter()
            .enumerate()
            .map(|(i, d)| (*d, missions.get(k * per + i).copied()))
            .collect();
        let mut o = opts.broker.options(
            &format!("aviary-bench-{k}-{}", uuid::Uuid::new_v4().simple()),
            Duration::from_secs(30),
        );
        o.set_inflight(opts.inflight.max(1));
        let (client, eventloop) = AsyncClient::new(o, 10_000);
        tasks.push(tokio::spawn(publisher(
            client,
            eventloop,
            chunk,
            opts.rate_hz,
            deadline,
            Arc::clone(&acked),
        )));
    }
    let mut publish_s: f64 = 0.0;
    for t in tasks {
        if let Ok(s) = t.await {
            publish_s = publish_s.max(s);
        }
    }
    (acked.load(Ordering::Relaxed), publish_s)
}

/// One publisher connection: its drones at `rate_hz` until `deadline`, then waits (up to 10 s)
/// for the broker to acknowledge everything. Returns when it stopped publishing, seconds
/// after its start.
async fn publisher(
    client: AsyncClient,
    mut eventloop: rumqttc::EventLoop,
    drones: Vec<(DroneId, Option<MissionId>)>,
    rate_hz: f64,
    deadline: Instant,
    acked_total: Arc<AtomicU64>,
) -> f64 {
    let acked = Arc::new(AtomicU64::new(0));
    let acks = Arc::clone(&acked);
    let pump = tokio::spawn(async move {
        loop {
            match eventloop.poll().await {
                Ok(Event::Incoming(Packet::PubAck(_))) => {
                    acks.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Event::Outgoing(rumqttc::Outgoing::Disconnect)) => break,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "bench publisher connection failed");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    });
    let started = Instant::now();
    let mut sent = 0u64;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate_hz));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut step = 0u64;
    while Instant::now() < deadline {
        tick.tick().await;
        step += 1;
        for (i, (drone, mission)) in drones.iter().enumerate() {
            let update = sample(*drone, *mission, i, step);
            let Ok(body) = serde_json::to_vec(&update) else {
                continue;
            };
            if client
                .publish(topics::telemetry(*drone), QoS::AtLeastOnce, false, body)
                .await
                .is_ok()
            {
                sent += 1;
            }
        }
    }
    let publish_s = started.elapsed().as_secs_f64();
    let flush_end = Instant::now() + Duration::from_secs(10);
    while acked.load(Ordering::Relaxed) < sent && Instant::now() < flush_end {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let _ = client.disconnect().await;
    let _ = tokio::time::timeout(Duration::from_secs(2), pump).await;
    acked_total.fetch_add(acked.load(Ordering::Relaxed).min(sent), Ordering::Relaxed);
    publish_s
}

/// A drone's sample: circling its slot of a grid near the bench site, timestamped now.
fn sample(drone: DroneId, mission: Option<MissionId>, slot: usize, step: u64) -> TelemetryUpdate {
    let angle = step as f64 * 0.05;
    let (row, col) = ((slot / 40) as f64, (slot % 40) as f64);
    TelemetryUpdate {
        kind: "telemetry_update".into(),
        mission_id: mission,
        drone_id: drone,
        timestamp: chrono::Utc::now(),
        position: WirePosition {
            lat: HOME.lat + row * 0.0005 + 0.0001 * angle.sin(),
            lon: HOME.lon + col * 0.0007 + 0.00015 * angle.cos(),
            altitude: 50.0,
        },
        velocity: WireVelocity {
            speed: 5.0,
            heading: (angle.to_degrees() + 90.0).rem_euclid(360.0),
        },
        battery: 80.0,
        status: "in_progress".into(),
        progress: 50.0,
    }
}

/// The read phase: `rest_rps` paced GETs for `rest_seconds`, alternating the drone list and a
/// registered drone's latest telemetry. Returns latencies (ms), errors, 429s and the phase
/// length (s).
async fn rest_reads(
    api: &Arc<Api>,
    opts: &FleetBenchOptions,
    drones: &[DroneId],
) -> (Vec<f64>, u64, u64, f64) {
    if opts.rest_rps == 0 || opts.rest_seconds <= 0.0 {
        return (Vec::new(), 0, 0, 0.0);
    }
    let registered = opts.registered.clamp(1, drones.len());
    let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / opts.rest_rps as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let total = (opts.rest_rps as f64 * opts.rest_seconds).round() as u64;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total as usize);
    for i in 0..total {
        tick.tick().await;
        let path = if i % 2 == 0 {
            "/api/v1/drones".to_owned()
        } else {
            format!(
                "/api/v1/drones/{}/telemetry/latest",
                drones[(i as usize / 2) % registered]
            )
        };
        let api = Arc::clone(api);
        tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let status = api
                .request(hyper::Method::GET, &path, None)
                .await
                .map_or(0, |(s, _)| s);
            (t.elapsed().as_secs_f64() * 1000.0, status)
        }));
    }
    let (mut ms, mut errors, mut limited) = (Vec::with_capacity(tasks.len()), 0, 0);
    for t in tasks {
        if let Ok((elapsed_ms, status)) = t.await {
            ms.push(elapsed_ms);
            match status {
                200 => {}
                429 => limited += 1,
                _ => errors += 1,
            }
        }
    }
    (ms, errors, limited, started.elapsed().as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRAPE: &str = "# TYPE aviary_ingest_rows_total counter\naviary_ingest_rows_total 120\n\
        aviary_ingest_lag_seconds_bucket{le=\"0.01\"} 10\naviary_ingest_lag_seconds_bucket{le=\"0.05\"} 100\n\
        aviary_ingest_lag_seconds_bucket{le=\"+Inf\"} 120\naviary_ingest_lag_seconds_count 120\n";

    #[test]
    fn ingest_counters_and_lag_quantiles_since_a_baseline() {
        let after = IngestCounters::parse(SCRAPE).expect("parse");
        assert_eq!(after.rows, 120);
        assert_eq!(after.lag_buckets.len(), 3);
        let before = IngestCounters {
            rows: 20,
            lag_buckets: vec![(0.01, 10), (0.05, 20), (f64::INFINITY, 20)],
        };
        // Since the baseline: 0 in ≤ 10 ms, 80 in ≤ 50 ms, 20 beyond.
        assert!((after.lag_quantile_since(&before, 0.5) - 0.05).abs() < 1e-12);
        assert!(after.lag_quantile_since(&before, 0.99).is_infinite());
        assert!(
            after.lag_quantile_since(&after, 0.5).is_nan(),
            "nothing new"
        );
        assert!(matches!(
            IngestCounters::parse("other_metric 1\n"),
            Err(FleetBenchError::Metrics("aviary_ingest_rows_total"))
        ));
    }
}
