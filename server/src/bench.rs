//! The load tool behind `aviary-server bench`: simulated drones publish section-3.2
//! telemetry through the broker into an in-process server (fresh schema, dropped afterwards),
//! a WebSocket client measures drone-publish → client latency on one mission, and a paced
//! HTTP client measures REST reads (drone list, latest telemetry).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aviary_core::{DroneId, MissionId};
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::json;

use crate::{ServerConfig, ServerError};

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Simulated drones.
    pub drones: usize,
    /// Telemetry rate per drone, Hz.
    pub rate_hz: f64,
    /// Length of the telemetry phase.
    pub seconds: u64,
    /// Drones whose telemetry carries the watched mission (their messages are timed end to end).
    pub watched_drones: usize,
    /// MQTT connections the drones share.
    pub publishers: usize,
    /// REST requests per second in the read phase.
    pub rest_rps: u64,
    /// Length of the read phase.
    pub rest_seconds: u64,
}

/// Results.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchReport {
    /// Messages published.
    pub published: u64,
    /// Rows found in PostgreSQL afterwards.
    pub stored: i64,
    /// Publish rate achieved, messages/s.
    pub publish_rate: f64,
    /// Rows committed per second, first publish to last commit.
    pub ingest_rate: f64,
    /// Sample time → commit, p50 / p99 (bucket upper bounds), seconds.
    pub ingest_lag_p50_s: f64,
    /// See `ingest_lag_p50_s`.
    pub ingest_lag_p99_s: f64,
    /// Drone publish → WebSocket client, samples measured.
    pub e2e_samples: usize,
    /// p50, milliseconds.
    pub e2e_p50_ms: f64,
    /// p99, milliseconds.
    pub e2e_p99_ms: f64,
    /// REST requests answered.
    pub rest_requests: u64,
    /// REST requests that failed (non-200).
    pub rest_errors: u64,
    /// Achieved REST rate.
    pub rest_rate: f64,
    /// p50, milliseconds.
    pub rest_p50_ms: f64,
    /// p99, milliseconds.
    pub rest_p99_ms: f64,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

async fn call(
    client: &HttpClient,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&serde_json::Value>,
) -> Result<(u16, serde_json::Value), ServerError> {
    let mut b = hyper::Request::builder().method(method).uri(url);
    if let Some(t) = token {
        b = b.header("authorization", format!("Bearer {t}"));
    }
    let bytes = match body {
        Some(v) => {
            b = b.header("content-type", "application/json");
            serde_json::to_vec(v)?
        }
        None => Vec::new(),
    };
    let req = b
        .body(Full::new(Bytes::from(bytes)))
        .map_err(|e| ServerError::Config(e.to_string()))?;
    let resp = client
        .request(req)
        .await
        .map_err(|e| ServerError::Config(format!("HTTP: {e}")))?;
    let status = resp.status().as_u16();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| ServerError::Config(format!("HTTP body: {e}")))?
        .to_bytes();
    Ok((
        status,
        serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
    ))
}

fn check(
    what: &str,
    r: (u16, serde_json::Value),
    want: u16,
) -> Result<serde_json::Value, ServerError> {
    if r.0 == want {
        Ok(r.1)
    } else {
        Err(ServerError::Config(format!("{what}: HTTP {} {}", r.0, r.1)))
    }
}

/// Runs the benchmark against the broker and database in `config` (its schema is created and
/// dropped). Progress goes to stderr; the report is returned.
pub async fn run(
    mut config: ServerConfig,
    opts: &BenchOptions,
) -> Result<BenchReport, ServerError> {
    let tag = uuid::Uuid::new_v4().simple().to_string();
    config.db_schema = format!("aviary_bench_{}", &tag[..12]);
    config.instance_id = format!("bench-{}", &tag[..12]);
    config.ingest_share_group = format!("bench{}", &tag[..12]);
    config.listen = std::net::SocketAddr::from(([127, 0, 0, 1], 0));
    config.api_per_second = 1_000_000;
    let server = crate::start(config.clone()).await?;
    let result = bench(&server, &config, opts).await;
    server.shutdown().await;
    crate::db::drop_schema(
        &crate::db::pool(&config.database_url, &config.db_schema, 2)?,
        &config.db_schema,
    )
    .await?;
    result
}

async fn bench(
    server: &crate::RunningServer,
    config: &ServerConfig,
    opts: &BenchOptions,
) -> Result<BenchReport, ServerError> {
    let base = format!("http://{}", server.addr);
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(256)
        .build_http();
    let password = format!("bench-{}", uuid::Uuid::new_v4());
    crate::bootstrap_org(&server.state, "bench", "bench@aviary.test", &password)
        .await
        .map_err(|e| ServerError::Config(e.to_string()))?;
    let login = check(
        "login",
        call(
            &client,
            "POST",
            &format!("{base}/api/v1/auth/login"),
            None,
            Some(&json!({ "email": "bench@aviary.test", "password": password })),
        )
        .await?,
        200,
    )?;
    let token = login["token"].as_str().unwrap_or_default().to_owned();
    let site = check(
        "site",
        call(
            &client,
            "POST",
            &format!("{base}/api/v1/sites"),
            Some(&token),
            Some(&json!({ "name": "bench", "location": { "lat": 47.397, "lon": 8.545 } })),
        )
        .await?,
        201,
    )?;
    let site_id = site["site_id"].clone();
    let drones: Vec<DroneId> = (0..opts.drones).map(|_| DroneId::new_random()).collect();
    // Register the first 100 drones so the list and latest-telemetry reads have real rows.
    for (i, d) in drones.iter().take(100).enumerate() {
        check(
            "drone",
            call(&client, "POST", &format!("{base}/api/v1/drones"), Some(&token), Some(&json!({ "drone_id": d, "site_id": site_id, "serial_number": format!("B-{i}"), "model": "bench", "home": { "lat": 47.397, "lon": 8.545 } }))).await?,
            201,
        )?;
    }
    let mission = check(
        "mission",
        call(
            &client,
            "POST",
            &format!("{base}/api/v1/missions"),
            Some(&token),
            Some(&json!({ "site_id": site_id, "drone_id": drones[0], "name": "bench", "flight_pattern": "lawnmower",
                "survey_area": { "type": "Polygon", "coordinates": [[[8.5450, 47.3970], [8.5462, 47.3970], [8.5462, 47.3978], [8.5450, 47.3978]]] },
                "parameters": { "altitude": 50, "speed": 5, "overlap": 70 } })),
        )
        .await?,
        201,
    )?;
    let mission_id: MissionId = serde_json::from_value(mission["mission_id"].clone())?;

    // WebSocket client timing drone publish → delivery.
    let ws_url = format!(
        "ws://{}/ws/missions/{mission_id}/live?token={token}",
        server.addr
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url.as_str())
        .await
        .map_err(|e| ServerError::Config(format!("WebSocket: {e}")))?;
    let ws_task = tokio::spawn(async move {
        let mut lat_ms = Vec::new();
        while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_secs(5), ws.next()).await {
            if let tokio_tungstenite::tungstenite::Message::Text(t) = m
                && let Ok(v) = serde_json::from_str::<serde_json::Value>(&t)
                && v["type"] == "telemetry_update"
                && let Some(ts) = v["timestamp"]
                    .as_str()
                    .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
            {
                lat_ms.push(
                    (chrono::Utc::now() - ts.with_timezone(&chrono::Utc))
                        .num_microseconds()
                        .unwrap_or(0) as f64
                        / 1000.0,
                );
            }
        }
        lat_ms
    });

    // Publishers: `publishers` connections, each driving a slice of the drones at rate_hz.
    let published = Arc::new(AtomicU64::new(0));
    let deadline = Instant::now() + Duration::from_secs(opts.seconds);
    let per = opts.drones.div_ceil(opts.publishers.max(1));
    let mut tasks = Vec::new();
    eprintln!(
        "bench: {} drones at {} Hz for {} s through {}:{}",
        opts.drones, opts.rate_hz, opts.seconds, config.mqtt_host, config.mqtt_port
    );
    let started = Instant::now();
    for (k, chunk) in drones.chunks(per.max(1)).enumerate() {
        let chunk: Vec<(DroneId, bool)> = chunk
            .iter()
            .enumerate()
            // Only the drone the mission is assigned to may publish for it: the server drops
            // (and counts) telemetry naming a mission not assigned to its drone.
            .map(|(i, d)| (*d, k * per + i < opts.watched_drones.min(1)))
            .collect();
        let mut o = rumqttc::MqttOptions::new(
            format!("bench-pub-{k}-{}", uuid::Uuid::new_v4().simple()),
            config.mqtt_host.clone(),
            config.mqtt_port,
        );
        o.set_keep_alive(Duration::from_secs(30));
        o.set_inflight(1000);
        let (c, mut ev) = rumqttc::AsyncClient::new(o, 10_000);
        let published = Arc::clone(&published);
        let rate = opts.rate_hz;
        let prefix = config.mqtt_topic_prefix.clone();
        tasks.push(tokio::spawn(async move {
            let pump = tokio::spawn(async move { while ev.poll().await.is_ok() {} });
            let mut tick = tokio::time::interval(Duration::from_secs_f64(1.0 / rate));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let topics = crate::topics::Topics::new(&prefix);
            while Instant::now() < deadline {
                tick.tick().await;
                for (d, watched) in &chunk {
                    let t = json!({
                        "type": "telemetry_update", "mission_id": if *watched { Some(mission_id) } else { None }, "drone_id": d,
                        "timestamp": chrono::Utc::now(), "position": { "lat": 47.397, "lon": 8.545, "altitude": 50.0 },
                        "velocity": { "speed": 5.0, "heading": 90.0 }, "battery": 80.0, "status": "in_progress", "progress": 50.0
                    });
                    if c.publish(topics.drone(*d, "telemetry"), rumqttc::QoS::AtLeastOnce, false, t.to_string()).await.is_ok() {
                        published.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            // Let the client flush its queue.
            tokio::time::sleep(Duration::from_secs(2)).await;
            let _ = c.disconnect().await;
            let _ = tokio::time::timeout(Duration::from_secs(2), pump).await;
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let publish_elapsed = started.elapsed().as_secs_f64() - 2.0;
    let published = published.load(Ordering::Relaxed);
    // Wait for the ingest to drain.
    let conn = server.state.pool.get().await?;
    let mut stored: i64 = 0;
    let drain_deadline = Instant::now() + Duration::from_mins(2);
    let mut last_change = Instant::now();
    while Instant::now() < drain_deadline && last_change.elapsed() < Duration::from_secs(10) {
        let n: i64 = conn
            .query_one("SELECT count(*) FROM drone_telemetry", &[])
            .await?
            .get(0);
        if n != stored {
            stored = n;
            last_change = Instant::now();
        }
        if stored as u64 >= published {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ingest_elapsed = started.elapsed().as_secs_f64()
        - last_change
            .elapsed()
            .as_secs_f64()
            .min(started.elapsed().as_secs_f64());
    let mut e2e = ws_task.await.unwrap_or_default();
    e2e.sort_by(f64::total_cmp);
    let m = &server.state.metrics;
    let (lag50, lag99) = (m.ingest_lag.quantile(0.5), m.ingest_lag.quantile(0.99));
    eprintln!(
        "bench: {published} published, {stored} stored; REST phase {} req/s for {} s",
        opts.rest_rps, opts.rest_seconds
    );

    // REST reads: drone list and latest telemetry, alternating, paced.
    let mut rest_tasks = Vec::new();
    let mut tick =
        tokio::time::interval(Duration::from_secs_f64(1.0 / opts.rest_rps.max(1) as f64));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let rest_started = Instant::now();
    let total = opts.rest_rps * opts.rest_seconds;
    for i in 0..total {
        tick.tick().await;
        let client = client.clone();
        let url = if i % 2 == 0 {
            format!("{base}/api/v1/drones")
        } else {
            format!(
                "{base}/api/v1/drones/{}/telemetry/latest",
                drones[(i as usize / 2) % drones.len().min(100)]
            )
        };
        let token = token.clone();
        rest_tasks.push(tokio::spawn(async move {
            let t = Instant::now();
            let ok = call(&client, "GET", &url, Some(&token), None)
                .await
                .is_ok_and(|(s, _)| s == 200);
            (t.elapsed().as_secs_f64() * 1000.0, ok)
        }));
    }
    let mut rest_ms = Vec::with_capacity(rest_tasks.len());
    let mut errors = 0;
    for t in rest_tasks {
        if let Ok((ms, ok)) = t.await {
            rest_ms.push(ms);
            if !ok {
                errors += 1;
            }
        }
    }
    let rest_elapsed = rest_started.elapsed().as_secs_f64();
    rest_ms.sort_by(f64::total_cmp);
    Ok(BenchReport {
        published,
        stored,
        publish_rate: published as f64 / publish_elapsed.max(1e-9),
        ingest_rate: stored as f64 / ingest_elapsed.max(1e-9),
        ingest_lag_p50_s: lag50,
        ingest_lag_p99_s: lag99,
        e2e_samples: e2e.len(),
        e2e_p50_ms: percentile(&e2e, 0.5),
        e2e_p99_ms: percentile(&e2e, 0.99),
        rest_requests: rest_ms.len() as u64,
        rest_errors: errors,
        rest_rate: rest_ms.len() as f64 / rest_elapsed.max(1e-9),
        rest_p50_ms: percentile(&rest_ms, 0.5),
        rest_p99_ms: percentile(&rest_ms, 0.99),
    })
}
