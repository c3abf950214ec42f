//! Isolation between organisations and drones (issues 15 and 14): telemetry and status touch
//! only the mission the server itself assigned to the sending drone. A drone of organisation
//! B, or an unassigned drone of A, publishing A's running mission id on its own topic (with
//! status `completed`) is dropped and counted: never on A's WebSocket, never stored, never
//! finishes A's mission.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use aviary_core::auth::Role;
use aviary_core::{DroneId, LatLon, MissionId};
use aviary_sim::mqtt_drone::{Broker, MqttDrone, MqttDroneConfig};
use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::common::{self, Http};
use crate::private_broker::{self as pb, publish, sample, wait_for};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drone_cannot_write_into_a_mission_not_assigned_to_it() {
    let Some(test) = common::start("iso").await else {
        return;
    };
    let server = &test.server;
    let http = Http::new(server.addr);
    let (a_drone, b_drone, a_spare) = (
        DroneId::new_random(),
        DroneId::new_random(),
        DroneId::new_random(),
    );
    let org_a = common::org(server, &http, "orga", a_drone).await;
    let _b = common::org(server, &http, "orgb", b_drone).await;
    let op = org_a.token(Role::Operator).to_owned();
    let (st, spare) = http
        .call(
            "POST",
            "/api/v1/drones",
            Some(org_a.token(Role::Admin)),
            Some(&json!({ "drone_id": a_spare, "site_id": org_a.site, "serial_number": format!("SPARE-{a_spare}"), "model": "SimCopter", "home": { "lat": 47.397, "lon": 8.545 } })),
        )
        .await;
    assert_eq!(st, 201, "{spare}");
    pb::ready(server).await;

    // A's drone flies A's mission (real time: it stays in progress for this test).
    let drone = MqttDrone::spawn(MqttDroneConfig::new(
        Broker::parse(&format!("{}:{}", test.mqtt_host, test.mqtt_port)).expect("broker"),
        a_drone,
        LatLon::new(47.397, 8.545),
    ));
    wait_for("A's drone online", Duration::from_secs(10), || async {
        let (_, d) = http
            .call("GET", &format!("/api/v1/drones/{a_drone}"), Some(&op), None)
            .await;
        d["online"] == true
    })
    .await;
    let (st, created) = http
        .call(
            "POST",
            "/api/v1/missions",
            Some(&op),
            Some(&common::mission_body(org_a.site, Some(a_drone))),
        )
        .await;
    assert_eq!(st, 201, "{created}");
    let mission: MissionId =
        serde_json::from_value(created["mission_id"].clone()).expect("mission id");
    let url = format!(
        "ws://{}/ws/missions/{mission}/live?token={}",
        server.addr,
        org_a.token(Role::Analyst)
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("ws");
    let (st, r) = http
        .call(
            "POST",
            &format!("/api/v1/missions/{mission}/start"),
            Some(&op),
            None,
        )
        .await;
    assert_eq!(st, 200, "{r}");

    let mut seen: Vec<Value> = Vec::new();
    let mut next = async |seen: &mut Vec<Value>, until: Instant| {
        while let Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(m)))) =
            tokio::time::timeout(until.saturating_duration_since(Instant::now()), ws.next()).await
        {
            seen.push(serde_json::from_str(&m).expect("json"));
            if Instant::now() >= until {
                break;
            }
        }
    };
    // The assigned drone's telemetry reaches the feed.
    let end = Instant::now() + Duration::from_secs(15);
    while Instant::now() < end
        && !seen
            .iter()
            .any(|v| v["type"] == "telemetry_update" && v["drone_id"] == a_drone.to_string())
    {
        next(&mut seen, Instant::now() + Duration::from_millis(500)).await;
    }
    assert!(
        seen.iter()
            .any(|v| v["type"] == "telemetry_update" && v["drone_id"] == a_drone.to_string()),
        "A's own drone is on A's feed: {seen:?}"
    );

    // B's drone and A's unassigned drone claim A's mission, on their own topics, and say it
    // is completed.
    let metrics = &server.state.metrics;
    let (live0, ingest0) = (
        metrics.live_foreign_mission.load(Ordering::Relaxed),
        metrics.ingest_foreign_mission.load(Ordering::Relaxed),
    );
    for (intruder, name) in [(b_drone, "b"), (a_spare, "spare")] {
        let (client, _task) =
            pb::client(test.mqtt_port, &format!("intruder-{name}-{intruder}"), None);
        for i in 0..3 {
            let at = chrono::Utc::now() + chrono::Duration::milliseconds(i);
            let body = serde_json::to_vec(&sample(intruder, Some(mission), at, "completed"))
                .expect("json");
            publish(&client, intruder, body).await;
        }
    }
    wait_for(
        "the forged samples dropped by both clients",
        Duration::from_secs(20),
        || async {
            metrics.live_foreign_mission.load(Ordering::Relaxed) >= live0 + 6
                && metrics.ingest_foreign_mission.load(Ordering::Relaxed) >= ingest0 + 6
        },
    )
    .await;
    // Whatever the feed got meanwhile, and a little more.
    next(&mut seen, Instant::now() + Duration::from_secs(1)).await;
    for v in &seen {
        if v["type"] == "telemetry_update" {
            assert_eq!(
                v["drone_id"],
                a_drone.to_string(),
                "only A's assigned drone on A's feed: {v}"
            );
        }
    }

    let conn = server.state.pool.get().await.expect("pool");
    let stored: i64 = conn
        .query_one(
            "SELECT count(*) FROM drone_telemetry WHERE drone_id = ANY($1)",
            &[&vec![b_drone.0, a_spare.0]],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(stored, 0, "nothing of the intruders stored");
    let latest: i64 = conn
        .query_one(
            "SELECT count(*) FROM drone_latest WHERE mission_id = $1 AND drone_id <> $2",
            &[&mission.0, &a_drone.0],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(latest, 0);
    let dead: i64 = conn
        .query_one(
            "SELECT count(*) FROM ingest_dead_letters WHERE drone_id = ANY($1) AND reason LIKE '%is not assigned to drone%'",
            &[&vec![b_drone.0, a_spare.0]],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(dead, 6, "each forged sample recorded once");
    let ours: i64 = conn
        .query_one(
            "SELECT count(*) FROM drone_telemetry WHERE drone_id = $1 AND mission_id = $2",
            &[&a_drone.0, &mission.0],
        )
        .await
        .expect("count")
        .get(0);
    assert!(
        ours > 0,
        "the assigned drone's samples are stored with the mission"
    );
    drop(conn);
    let (_, mv) = http
        .call(
            "GET",
            &format!("/api/v1/missions/{mission}"),
            Some(&op),
            None,
        )
        .await;
    assert_eq!(
        mv["status"], "in_progress",
        "no intruder finished A's mission: {mv}"
    );
    let metrics = metrics.render();
    assert!(
        metrics.contains("aviary_live_foreign_mission_total "),
        "{metrics}"
    );
    drone.stop().await;
}
