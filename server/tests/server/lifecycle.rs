//! A mission's whole life through the API, flown by a simulated MQTT drone, watched over the
//! WebSocket.

use std::time::{Duration, Instant};

use aviary_core::auth::Role;
use aviary_core::{DroneId, LatLon};
use aviary_sim::mqtt_drone::{Broker, MqttDrone, MqttDroneConfig};
use futures_util::StreamExt;
use serde_json::Value;

use crate::common::{self, Http};

async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

async fn mission_status(http: &Http, token: &str, id: &str) -> String {
    let (_, m) = http
        .call("GET", &format!("/api/v1/missions/{id}"), Some(token), None)
        .await;
    m["status"].as_str().unwrap_or_default().to_owned()
}

async fn drone_status(http: &Http, token: &str, id: DroneId) -> String {
    let (_, d) = http
        .call("GET", &format!("/api/v1/drones/{id}"), Some(token), None)
        .await;
    d["status"].as_str().unwrap_or_default().to_owned()
}

/// The simulated drone is on the ground, or in the last centimetres of its landing (the server
/// sees touchdown in telemetry sampled a few milliseconds of flight earlier).
fn touching_down(drone: &MqttDrone) -> bool {
    use aviary_sim::mqtt_drone::Phase;
    let s = drone.snapshot();
    s.phase == Phase::Idle || (s.phase == Phase::Landing && s.alt_rel_m <= 0.1)
}

/// The mission's stored transitions: `from>to phase cause`, in order.
async fn transitions(server: &aviary_server::RunningServer, id: &str) -> Vec<String> {
    server
        .state
        .pool
        .get()
        .await
        .expect("pool")
        .query(
            "SELECT from_status, to_status, phase, cause FROM mission_transitions WHERE mission_id = $1 ORDER BY id",
            &[&uuid::Uuid::parse_str(id).expect("uuid")],
        )
        .await
        .expect("transitions")
        .iter()
        .map(|r| {
            format!(
                "{}>{} {} {}",
                r.get::<_, String>(0),
                r.get::<_, String>(1),
                r.get::<_, String>(2),
                r.get::<_, String>(3)
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mission_lifecycle_through_the_api_with_a_simulated_mqtt_drone() {
    let Some(t) = common::start("life").await else {
        return;
    };
    let (server, mh, mp) = (t.server, t.mqtt_host.clone(), t.mqtt_port);
    let http = Http::new(server.addr);
    let drone_id = DroneId::new_random();
    let org = common::org(&server, &http, "life", drone_id).await;
    let op = org.token(Role::Operator).to_owned();

    let mut cfg = MqttDroneConfig::new(
        Broker::parse(&format!("{mh}:{mp}")).expect("broker"),
        drone_id,
        LatLon::new(47.397, 8.545),
    );
    cfg.time_scale = 10.0;
    let drone = MqttDrone::spawn(cfg);
    wait_until(
        "the drone online in the API",
        Duration::from_secs(10),
        || async {
            let (_, d) = http
                .call(
                    "GET",
                    &format!("/api/v1/drones/{drone_id}"),
                    Some(&op),
                    None,
                )
                .await;
            d["online"] == true
        },
    )
    .await;

    let (st, created) = http
        .call(
            "POST",
            "/api/v1/missions",
            Some(&op),
            Some(&common::mission_body(org.site, Some(drone_id))),
        )
        .await;
    assert_eq!(st, 201, "{created}");
    assert_eq!(created["status"], "planned");
    assert!(
        created["waypoints_count"].as_u64().unwrap_or(0) > 4,
        "the planner generated waypoints: {created}"
    );
    assert!(created["estimated_duration"].as_i64().unwrap_or(0) > 0);
    let id = created["mission_id"].as_str().expect("id").to_owned();

    // An analyst watches live.
    let url = format!(
        "ws://{}/ws/missions/{id}/live?token={}",
        server.addr,
        org.token(Role::Analyst)
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(url.as_str())
        .await
        .expect("ws");

    let (st, body) = http
        .call(
            "POST",
            &format!("/api/v1/missions/{id}/pause"),
            Some(&op),
            None,
        )
        .await;
    assert_eq!(st, 409, "a planned mission cannot be paused: {body}");
    let (st, _) = http
        .call(
            "POST",
            &format!("/api/v1/missions/{id}/start"),
            Some(org.token(Role::Analyst)),
            None,
        )
        .await;
    assert_eq!(st, 403, "analysts never command");

    let (st, r) = http
        .call(
            "POST",
            &format!("/api/v1/missions/{id}/start"),
            Some(&op),
            None,
        )
        .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(
        (r["status"].as_str(), r["mission_status"].as_str()),
        (Some("executed"), Some("in_progress"))
    );
    let (_, m) = http
        .call("GET", &format!("/api/v1/missions/{id}"), Some(&op), None)
        .await;
    assert_eq!(m["status"], "in_progress");
    assert!(m["actual_start"].is_string());

    // Live telemetry for this mission reaches the WebSocket in the section 3.2 shape.
    let mut kinds = std::collections::BTreeSet::new();
    let end = Instant::now() + Duration::from_secs(10);
    // The start's `command_result` and `mission_status` may come first: wait for telemetry.
    while !kinds.contains("telemetry_update") && Instant::now() < end {
        let Ok(Some(Ok(tokio_tungstenite::tungstenite::Message::Text(t)))) =
            tokio::time::timeout(Duration::from_secs(5), ws.next()).await
        else {
            continue;
        };
        let v: Value = serde_json::from_str(&t).expect("json");
        if v["type"] == "telemetry_update" {
            assert_eq!(v["mission_id"], id.as_str());
            assert_eq!(v["drone_id"], drone_id.to_string());
            assert!(
                v["position"]["lat"].is_number()
                    && v["velocity"]["speed"].is_number()
                    && v["battery"].is_number()
            );
        }
        kinds.insert(v["type"].as_str().unwrap_or_default().to_owned());
    }
    assert!(kinds.contains("telemetry_update"), "{kinds:?}");

    wait_until("the survey leg", Duration::from_secs(10), || async {
        matches!(
            drone.snapshot().phase,
            aviary_sim::mqtt_drone::Phase::Survey { .. }
        )
    })
    .await;
    let (st, r) = http
        .call(
            "POST",
            &format!("/api/v1/missions/{id}/pause"),
            Some(&op),
            None,
        )
        .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(mission_status(&http, &op, &id).await, "paused");
    let (st, r) = http
        .call(
            "POST",
            &format!("/api/v1/missions/{id}/resume"),
            Some(&op),
            None,
        )
        .await;
    assert_eq!(st, 200, "{r}");
    // The drone finishes the route; the server completes the mission from its telemetry.
    wait_until("the mission completed", Duration::from_secs(40), || async {
        mission_status(&http, &op, &id).await == "completed"
    })
    .await;
    let (st, body) = http
        .call("DELETE", &format!("/api/v1/missions/{id}"), Some(&op), None)
        .await;
    assert_eq!(st, 409, "a flown mission cannot be deleted: {body}");
    // Completed only on touchdown: every change went through the lifecycle and is stored with
    // its cause, the return leg and the landing included.
    assert_eq!(
        transitions(&server, &id).await,
        [
            "planned>in_progress in_progress operator: start",
            "in_progress>paused paused operator: pause",
            "paused>in_progress in_progress operator: resume",
            "in_progress>in_progress returning drone: flying home",
            "in_progress>in_progress landed drone: on the ground",
            "in_progress>completed completed drone: route flown, landed",
        ]
    );
    assert!(
        touching_down(&drone),
        "completed only once the drone is down: {:?}",
        drone.snapshot()
    );
    assert_eq!(drone_status(&http, &op, drone_id).await, "available");

    // Stored telemetry, latest, replay and the report.
    wait_until("stored telemetry", Duration::from_secs(5), || async {
        let (_, t) = http
            .call(
                "GET",
                &format!("/api/v1/missions/{id}/telemetry"),
                Some(&op),
                None,
            )
            .await;
        t["samples"].as_array().is_some_and(|s| s.len() > 10)
    })
    .await;
    let (st, latest) = http
        .call(
            "GET",
            &format!("/api/v1/drones/{drone_id}/telemetry/latest"),
            Some(&op),
            None,
        )
        .await;
    assert_eq!(st, 200, "{latest}");
    assert_eq!(latest["type"], "telemetry_update");
    let (st, replay) = http
        .call(
            "GET",
            &format!("/api/v1/missions/{id}/replay?step_ms=1000"),
            Some(&op),
            None,
        )
        .await;
    assert_eq!(st, 200);
    assert!(!replay["samples"].as_array().expect("samples").is_empty());
    let (st, report) = http
        .call(
            "GET",
            &format!("/api/v1/reports/missions/{id}"),
            Some(org.token(Role::Analyst)),
            None,
        )
        .await;
    assert_eq!(st, 200, "{report}");
    assert!(
        report["telemetry"]["distance_flown_m"]
            .as_f64()
            .unwrap_or(0.0)
            > 50.0,
        "{report}"
    );
    assert_eq!(report["commands"]["executed"], 3, "{report}");
    let (st, csv) = http
        .raw(
            "POST",
            "/api/v1/reports/export",
            Some(&op),
            Some("application/json"),
            serde_json::to_vec(&serde_json::json!({ "mission_id": id, "format": "csv" }))
                .expect("json"),
        )
        .await;
    assert_eq!(st, 200);
    assert!(csv.starts_with("timestamp,drone_id,lat,lon"), "{csv}");
    let (st, summary) = http
        .call("GET", "/api/v1/reports/org-summary", Some(&op), None)
        .await;
    assert_eq!(st, 200);
    assert_eq!(summary["missions_by_status"]["completed"], 1, "{summary}");

    // A second mission: start, then return to home ends it (aborted).
    let (_, m2) = http
        .call(
            "POST",
            "/api/v1/missions",
            Some(&op),
            Some(&common::mission_body(org.site, Some(drone_id))),
        )
        .await;
    let id2 = m2["mission_id"].as_str().expect("id").to_owned();
    wait_until("the drone landed", Duration::from_secs(30), || async {
        drone.snapshot().phase == aviary_sim::mqtt_drone::Phase::Idle
    })
    .await;
    let (st, r) = http
        .call(
            "POST",
            &format!("/api/v1/missions/{id2}/start"),
            Some(&op),
            None,
        )
        .await;
    assert_eq!(st, 200, "{r}");
    wait_until("the survey leg", Duration::from_secs(10), || async {
        matches!(
            drone.snapshot().phase,
            aviary_sim::mqtt_drone::Phase::Survey { .. }
        )
    })
    .await;
    let (st, r) = http
        .call(
            "POST",
            &format!("/api/v1/missions/{id2}/rth"),
            Some(org.token(Role::Admin)),
            None,
        )
        .await;
    assert_eq!(st, 200, "{r}");
    assert_eq!(mission_status(&http, &op, &id2).await, "aborted");
    // The mission ended, the flight did not: the drone stays busy until it reports touchdown,
    // and nothing else starts on it meanwhile.
    assert_eq!(drone_status(&http, &op, drone_id).await, "in_mission");
    let (_, m_busy) = http
        .call(
            "POST",
            "/api/v1/missions",
            Some(&op),
            Some(&common::mission_body(org.site, Some(drone_id))),
        )
        .await;
    let busy_id = m_busy["mission_id"].as_str().expect("id").to_owned();
    let (st, body) = http
        .call(
            "POST",
            &format!("/api/v1/missions/{busy_id}/start"),
            Some(&op),
            None,
        )
        .await;
    assert_eq!(st, 409, "no start on a drone flying home: {body}");
    wait_until(
        "the drone available after landing",
        Duration::from_secs(30),
        || async { drone_status(&http, &op, drone_id).await == "available" },
    )
    .await;
    assert!(
        touching_down(&drone),
        "available only once the drone is down: {:?}",
        drone.snapshot()
    );
    // The drone may report flying home while its ack is still on the way (recorded before the
    // abort, then); never after it.
    let t2 = transitions(&server, &id2).await;
    let early_home = "in_progress>in_progress returning drone: flying home";
    assert_eq!(
        t2.iter()
            .filter(|t| t.as_str() != early_home || t2[1] != early_home)
            .map(String::as_str)
            .collect::<Vec<_>>(),
        [
            "planned>in_progress in_progress operator: start",
            "in_progress>aborted returning operator: rth",
            "aborted>aborted landed drone: on the ground",
        ],
        "{t2:?}"
    );

    // A third mission on a drone that dies: the start is unacknowledged (504, not resent).
    let (_, m3) = http
        .call(
            "POST",
            "/api/v1/missions",
            Some(&op),
            Some(&common::mission_body(org.site, Some(drone_id))),
        )
        .await;
    let id3 = m3["mission_id"].as_str().expect("id").to_owned();
    drone.kill().await;
    wait_until("the drone offline", Duration::from_secs(5), || async {
        let (_, d) = http
            .call(
                "GET",
                &format!("/api/v1/drones/{drone_id}"),
                Some(&op),
                None,
            )
            .await;
        d["online"] == false
    })
    .await;
    let t0 = Instant::now();
    let (st, body) = http
        .call(
            "POST",
            &format!("/api/v1/missions/{id3}/start"),
            Some(&op),
            None,
        )
        .await;
    assert_eq!(st, 504, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("not resent"),
        "{body}"
    );
    assert!(t0.elapsed() >= Duration::from_secs(3));
    assert_eq!(
        mission_status(&http, &op, &id3).await,
        "planned",
        "an unacknowledged start changes nothing"
    );

    let (_, v) = http
        .call("GET", "/api/v1/audit/verify", Some(&op), None)
        .await;
    assert_eq!(v["ok"], true, "{v}");
    let (st, metrics) = http.raw("GET", "/metrics", None, None, Vec::new()).await;
    assert_eq!(st, 200);
    for name in [
        "aviary_ingest_rows_total",
        "aviary_ingest_lag_seconds_bucket",
        "aviary_ws_clients 1",
        "aviary_command_latency_seconds_count 5",
        "aviary_commands_unacknowledged_total 1",
    ] {
        assert!(metrics.contains(name), "{name} missing from\n{metrics}");
    }
    let (st, doc) = http.call("GET", "/api/v1/openapi.json", None, None).await;
    assert_eq!(st, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["paths"]["/api/v1/missions/{id}/start"]["post"].is_object());
    drop(ws);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pause_past_its_timeout_fails_the_mission_and_sends_the_drone_home() {
    let clock = common::manual_clock();
    let Some(t) =
        common::start_clocked("pausetimeout", std::sync::Arc::new(clock.clone()), |_| {}).await
    else {
        return;
    };
    let (server, mh, mp) = (t.server, t.mqtt_host.clone(), t.mqtt_port);
    let http = Http::new(server.addr);
    let drone_id = DroneId::new_random();
    let org = common::org(&server, &http, "pausetimeout", drone_id).await;
    let op = org.token(Role::Operator).to_owned();
    let mut cfg = MqttDroneConfig::new(
        Broker::parse(&format!("{mh}:{mp}")).expect("broker"),
        drone_id,
        LatLon::new(47.397, 8.545),
    );
    cfg.time_scale = 10.0;
    let drone = MqttDrone::spawn(cfg);
    wait_until("the drone online", Duration::from_secs(10), || async {
        let (_, d) = http
            .call(
                "GET",
                &format!("/api/v1/drones/{drone_id}"),
                Some(&op),
                None,
            )
            .await;
        d["online"] == true
    })
    .await;
    let (st, created) = http
        .call(
            "POST",
            "/api/v1/missions",
            Some(&op),
            Some(&common::mission_body(org.site, Some(drone_id))),
        )
        .await;
    assert_eq!(st, 201, "{created}");
    let id = created["mission_id"].as_str().expect("id").to_owned();
    for action in ["start", "pause"] {
        if action == "pause" {
            wait_until("the survey leg", Duration::from_secs(10), || async {
                matches!(
                    drone.snapshot().phase,
                    aviary_sim::mqtt_drone::Phase::Survey { .. }
                )
            })
            .await;
        }
        let (st, r) = http
            .call(
                "POST",
                &format!("/api/v1/missions/{id}/{action}"),
                Some(&op),
                None,
            )
            .await;
        assert_eq!(st, 200, "{action}: {r}");
    }

    // The server's clock moves past the lifecycle's pause timeout (not waited for): a
    // maintenance pass just before it leaves the mission paused, one after it fails it.
    let timeout = aviary_core::mission::PAUSE_TIMEOUT;
    clock.advance(timeout - chrono::Duration::seconds(1));
    aviary_server::maintenance_pass(&server.state, false)
        .await
        .expect("maintenance");
    assert_eq!(mission_status(&http, &op, &id).await, "paused");
    clock.advance(chrono::Duration::seconds(2));
    aviary_server::maintenance_pass(&server.state, false)
        .await
        .expect("maintenance");
    assert_eq!(mission_status(&http, &op, &id).await, "failed");
    // The drone is sent home and stays busy until it has landed.
    wait_until("the drone flying home", Duration::from_secs(10), || async {
        drone.snapshot().mission_state == aviary_sim::mqtt_drone::MissionState::Aborted
    })
    .await;
    assert_eq!(drone_status(&http, &op, drone_id).await, "in_mission");
    wait_until(
        "the drone available after landing",
        Duration::from_secs(40),
        || async { drone_status(&http, &op, drone_id).await == "available" },
    )
    .await;
    assert!(touching_down(&drone), "{:?}", drone.snapshot());
    let tr = transitions(&server, &id).await;
    assert_eq!(
        tr.first().map(String::as_str),
        Some("planned>in_progress in_progress operator: start")
    );
    assert!(
        tr.iter()
            .any(|t| t == "paused>failed failed server: paused too long"),
        "{tr:?}"
    );
    assert_eq!(
        tr.last().map(String::as_str),
        Some("failed>failed landed drone: on the ground"),
        "{tr:?}"
    );
    let (_, report) = http
        .call(
            "GET",
            &format!("/api/v1/reports/missions/{id}"),
            Some(&op),
            None,
        )
        .await;
    assert_eq!(
        report["commands"]["executed"], 3,
        "start, pause, the server's RTH: {report}"
    );
    drone.stop().await;
    server.shutdown().await;
}
