//! Two server instances on one broker and one database: the shared subscription splits the
//! ingest; one instance stops mid-stream; no sample is lost and a WebSocket client on the
//! other keeps receiving.

use std::time::{Duration, Instant};

use aviary_core::DroneId;
use aviary_core::auth::Role;
use futures_util::StreamExt;
use serde_json::json;
use std::sync::atomic::Ordering;

use crate::common::{self, Http};

/// Samples published in the test.
const TOTAL: usize = 2000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_one_stops_mid_stream_nothing_lost() {
    let Some((pg, mh, mp)) = common::services() else {
        return;
    };
    let schema = common::schema();
    let _guard = common::SchemaGuard {
        pg: pg.clone(),
        schema: schema.clone(),
    };
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let first = aviary_server::start_with_cost(
        common::config(&pg, &mh, mp, &schema, &format!("a-{tag}")),
        common::TEST_COST,
    )
    .await
    .expect("a");
    let second = aviary_server::start_with_cost(
        common::config(&pg, &mh, mp, &schema, &format!("b-{tag}")),
        common::TEST_COST,
    )
    .await
    .expect("b");
    let (http_a, http_b) = (Http::new(first.addr), Http::new(second.addr));
    let drones: Vec<DroneId> = (0..10).map(|_| DroneId::new_random()).collect();
    let org = common::org(&first, &http_a, "clus", drones[0]).await;
    let (status, created) = http_b
        .call(
            "POST",
            "/api/v1/missions",
            Some(org.token(Role::Operator)),
            Some(&common::mission_body(org.site, Some(drones[0]))),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    let mission = created["mission_id"].as_str().expect("id").to_owned();
    let url = format!(
        "ws://{}/ws/missions/{mission}/live?token={}",
        second.addr,
        org.token(Role::Analyst)
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("ws on b");

    let mut o = rumqttc::MqttOptions::new(format!("fleet-{tag}"), mh.clone(), mp);
    o.set_keep_alive(Duration::from_secs(10));
    o.set_inflight(100);
    let (client, mut events) = rumqttc::AsyncClient::new(o, 1000);
    let pump = tokio::spawn(async move { while events.poll().await.is_ok() {} });
    tokio::time::sleep(Duration::from_millis(500)).await;

    let t0 = chrono::Utc::now() - chrono::Duration::seconds(10);
    // The WebSocket client on B records which samples it sees, concurrently.
    let reader = tokio::spawn(async move {
        let mut seen = std::collections::HashSet::new();
        while let Ok(Some(Ok(msg))) = tokio::time::timeout(Duration::from_secs(4), ws.next()).await
        {
            if let tokio_tungstenite::tungstenite::Message::Text(t) = msg {
                let v: serde_json::Value = serde_json::from_str(&t).expect("json");
                if v["type"] == "telemetry_update" {
                    seen.insert(v["position"]["altitude"].as_f64().unwrap_or(-1.0) as i64);
                }
            }
        }
        seen
    });
    let publisher = client.clone();
    let drones2 = drones.clone();
    let mission2 = mission.clone();
    let (half_tx, half_rx) = tokio::sync::oneshot::channel();
    let (resume_tx, resume_rx) = tokio::sync::oneshot::channel::<()>();
    let send = tokio::spawn(async move {
        let mut half = Some((half_tx, resume_rx));
        for i in 0..TOTAL {
            // Only the drone the mission is assigned to may publish for it (the others' samples
            // would be dropped as foreign); the other drones are registered but silent.
            let d = drones2[0];
            // The altitude carries the sample number so the WebSocket side can tell which it saw
            // (a progress over 100 % would be refused as invalid).
            let t = json!({
                "type": "telemetry_update", "mission_id": mission2, "drone_id": d,
                "timestamp": t0 + chrono::Duration::milliseconds(i as i64),
                "position": { "lat": 47.0, "lon": 8.0, "altitude": i as f64 }, "velocity": { "speed": 3.0, "heading": 10.0 },
                "battery": 80.0, "status": "in_progress", "progress": 50.0
            });
            publisher
                .publish(
                    format!("drones/{d}/telemetry"),
                    rumqttc::QoS::AtLeastOnce,
                    false,
                    t.to_string(),
                )
                .await
                .expect("publish");
            if i == TOTAL / 2
                && let Some((h, resume)) = half.take()
            {
                let _ = h.send(());
                resume.await.expect("resume");
            }
            // 500 messages a second: what two debug-build instances commit comfortably with
            // Mosquitto's default 20 in-flight messages per client (its default queue of 1000
            // per client would otherwise overflow and drop; see deploy/mosquitto).
            if i % 5 == 0 {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    });
    half_rx.await.expect("half way");
    let a_rows_before = first.state.metrics.ingest_rows.load(Ordering::Relaxed);
    first.shutdown().await;
    resume_tx.send(()).expect("resume publisher");
    send.await.expect("publisher");
    let seen = reader.await.expect("reader");
    let second_half: Vec<i64> = ((TOTAL / 2 + 1) as i64..TOTAL as i64).collect();
    let missed: Vec<i64> = second_half
        .iter()
        .copied()
        .filter(|i| !seen.contains(i))
        .collect();
    assert!(
        missed.is_empty(),
        "the client on B missed {} samples sent after A stopped: {:?}",
        missed.len(),
        &missed[..missed.len().min(10)]
    );

    // Every published sample is in PostgreSQL exactly once.
    let conn = second.state.pool.get().await.expect("conn");
    let mut count: i64 = 0;
    let end = Instant::now() + Duration::from_secs(20);
    while Instant::now() < end {
        count = conn
            .query_one(
                "SELECT count(*) FROM drone_telemetry WHERE mission_id = $1",
                &[&uuid::Uuid::parse_str(&mission).expect("uuid")],
            )
            .await
            .expect("count")
            .get(0);
        if count as usize >= TOTAL {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        count as usize, TOTAL,
        "no telemetry lost (A ingested {a_rows_before} before stopping)"
    );
    let b_rows = second.state.metrics.ingest_rows.load(Ordering::Relaxed);
    assert!(
        a_rows_before > 0 && b_rows > 0,
        "the shared subscription split the load: A {a_rows_before}, B {b_rows}"
    );
    println!(
        "cluster: A ingested {a_rows_before} rows before stopping, B {b_rows}; the WebSocket on B saw {} of {TOTAL} samples",
        seen.len()
    );
    drop(conn);
    pump.abort();
    second.shutdown().await;
}
