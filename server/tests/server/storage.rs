//! PostgreSQL-level behaviour: the audit chain under tampering, daily partitions and
//! retention, de-duplicated COPY batches; and the alert webhook.

use std::time::Duration;

use aviary_core::DroneId;
use aviary_core::auth::Role;
use aviary_core::wire::TelemetryUpdate;
use aviary_server::telemetry::{self, Partitions, Row};
use serde_json::json;

use crate::common::{self, Http};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_chain_detects_edited_deleted_and_reordered_rows() {
    let Some(t) = common::start("audit").await else {
        return;
    };
    let server = t.server;
    let http = Http::new(server.addr);
    let org = common::org(&server, &http, "aud", DroneId::new_random()).await;
    for _ in 0..3 {
        let (st, _) = http
            .call(
                "POST",
                "/api/v1/missions",
                Some(org.token(Role::Operator)),
                Some(&common::mission_body(org.site, None)),
            )
            .await;
        assert_eq!(st, 201);
    }
    let (st, v) = http
        .call(
            "GET",
            "/api/v1/audit/verify",
            Some(org.token(Role::Admin)),
            None,
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(v["ok"], true, "{v}");
    let rows = v["rows"].as_i64().expect("rows");
    assert!(
        rows >= 8,
        "users, site, drone and missions are audited: {v}"
    );
    let (st, _) = http
        .call(
            "GET",
            "/api/v1/audit/verify",
            Some(org.token(Role::Analyst)),
            None,
        )
        .await;
    assert_eq!(st, 403, "analysts do not read the audit log");

    let conn = server.state.pool.get().await.expect("conn");
    let verify = || async {
        aviary_server::audit::verify(
            &server.state.pool.get().await.expect("conn"),
            &server.state.audit_key,
            &[],
        )
        .await
        .expect("verify")
    };
    // Edit a row's detail.
    conn.execute(
        "UPDATE audit_log SET detail = '{\"forged\":1}' WHERE seq = 4",
        &[],
    )
    .await
    .expect("edit");
    let v = verify().await;
    assert!(
        !v.ok
            && v.problems
                .iter()
                .any(|p| p.contains("row 4") && p.contains("edited")),
        "{v:?}"
    );
    conn.execute(
        "UPDATE audit_log SET detail = (SELECT detail FROM audit_log WHERE seq = 5) WHERE seq = 4",
        &[],
    )
    .await
    .expect("edit back wrongly");
    // Reorder: swap two rows' positions.
    let schema_tx =
        "UPDATE audit_log SET seq = CASE seq WHEN 6 THEN -7 WHEN 7 THEN -6 END WHERE seq IN (6, 7)";
    conn.execute(schema_tx, &[]).await.expect("swap");
    conn.execute("UPDATE audit_log SET seq = -seq WHERE seq < 0", &[])
        .await
        .expect("swap back signs");
    let v = verify().await;
    assert!(
        v.problems
            .iter()
            .any(|p| p.contains("row 6") || p.contains("row 7")),
        "{v:?}"
    );
    // Delete a row in the middle and the last one.
    conn.execute("DELETE FROM audit_log WHERE seq = 2", &[])
        .await
        .expect("delete");
    let last: i64 = conn
        .query_one("SELECT max(seq) FROM audit_log", &[])
        .await
        .expect("max")
        .get(0);
    conn.execute("DELETE FROM audit_log WHERE seq = $1", &[&last])
        .await
        .expect("delete tail");
    let v = verify().await;
    assert!(
        v.problems
            .iter()
            .any(|p| p.contains("row 3") && p.contains("deleted")),
        "{v:?}"
    );
    assert!(
        v.problems.iter().any(|p| p.contains("deleted at the end")),
        "{v:?}"
    );
    drop(conn);
    server.shutdown().await;
}

fn sample(drone: DroneId, t: chrono::DateTime<chrono::Utc>) -> Row {
    let mut u: TelemetryUpdate = serde_json::from_value(json!({
        "type": "telemetry_update", "mission_id": null, "drone_id": drone, "timestamp": t,
        "position": { "lat": 47.0, "lon": 8.0, "altitude": 30.0 }, "velocity": { "speed": 3.0, "heading": 10.0 },
        "battery": 80.0, "status": "in_progress", "progress": 1.0
    }))
    .expect("json");
    u.timestamp = t;
    Row {
        t: u,
        received_at: chrono::Utc::now(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn daily_partitions_copy_batches_and_retention() {
    let Some((pg, _, _)) = common::services() else {
        return;
    };
    let schema = common::schema();
    let _guard = common::SchemaGuard {
        pg: pg.clone(),
        schema: schema.clone(),
    };
    let pool = aviary_server::db::pool(&format!("{pg} dbname=postgres"), &schema, 2).expect("pool");
    assert_eq!(
        aviary_server::db::migrate(&pool, &schema)
            .await
            .expect("migrate"),
        (1..=aviary_server::db::SCHEMA_VERSION).collect::<Vec<_>>(),
        "every migration applies to a fresh schema"
    );
    assert!(
        aviary_server::db::migrate(&pool, &schema)
            .await
            .expect("again")
            .is_empty(),
        "migrations apply once"
    );
    let parts = Partitions::default();
    let now = chrono::Utc::now();
    let drone = DroneId::new_random();
    let old = now - chrono::Duration::days(800);
    let rows: Vec<Row> = (0..500)
        .map(|i| sample(drone, now - chrono::Duration::milliseconds(i * 100)))
        .chain([sample(drone, old)])
        .collect();
    let mut conn = pool.get().await.expect("conn");
    assert_eq!(
        telemetry::write_batch(&mut conn, &parts, &rows)
            .await
            .expect("copy"),
        501
    );
    // A redelivered batch inserts nothing twice.
    assert_eq!(
        telemetry::write_batch(&mut conn, &parts, &rows[..100])
            .await
            .expect("copy"),
        0
    );
    let count: i64 = conn
        .query_one("SELECT count(*) FROM drone_telemetry", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(count, 501);
    let latest = telemetry::latest(&conn, drone)
        .await
        .expect("latest")
        .expect("some");
    assert_eq!(
        latest.timestamp.timestamp_micros(),
        rows[0].t.timestamp.timestamp_micros()
    );
    let partitions: Vec<String> = conn
        .query("SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace WHERE p.relname = 'drone_telemetry' AND n.nspname = $1", &[&schema])
        .await
        .expect("partitions")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        partitions.contains(&telemetry::partition_name(old.date_naive())),
        "{partitions:?}"
    );
    assert!(
        partitions.contains(&telemetry::partition_name(now.date_naive())),
        "{partitions:?}"
    );
    // Default retention: two years. The 800-day-old partition goes, today's stays.
    let dropped = telemetry::drop_expired(&conn, &parts, now, chrono::Duration::days(730))
        .await
        .expect("retention");
    assert_eq!(dropped, vec![telemetry::partition_name(old.date_naive())]);
    let count: i64 = conn
        .query_one("SELECT count(*) FROM drone_telemetry", &[])
        .await
        .expect("count")
        .get(0);
    assert_eq!(count, 500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_reach_a_pagerduty_shaped_webhook() {
    let Some((pg, mh, mp)) = common::services() else {
        return;
    };
    // A local receiver standing in for PagerDuty.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<serde_json::Value>(16);
    let app = axum::Router::new().route(
        "/v2/enqueue",
        axum::routing::post(move |axum::Json(v): axum::Json<serde_json::Value>| {
            let tx = tx.clone();
            async move {
                let _ = tx.send(v).await;
                (axum::http::StatusCode::ACCEPTED, "{\"status\":\"success\"}")
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let hook = listener.local_addr().expect("addr");
    let receiver = tokio::spawn(async move { axum::serve(listener, app).await });

    let schema = common::schema();
    let _guard = common::SchemaGuard {
        pg: pg.clone(),
        schema: schema.clone(),
    };
    let mut cfg = common::config(
        &pg,
        &mh,
        mp,
        &schema,
        &format!("alerts-{}", uuid::Uuid::new_v4().simple()),
    );
    cfg.alert_webhook_url = Some(format!("http://{hook}/v2/enqueue"));
    cfg.alert_routing_key = "test-routing-key".into();
    let server = aviary_server::start_with_cost(cfg, common::TEST_COST)
        .await
        .expect("start");
    let http = Http::new(server.addr);
    let drone = DroneId::new_random();
    let _org = common::org(&server, &http, "alrt", drone).await;

    let mut o = rumqttc::MqttOptions::new(format!("alert-drone-{drone}"), mh.clone(), mp);
    o.set_keep_alive(Duration::from_secs(5));
    let (c, mut ev) = rumqttc::AsyncClient::new(o, 16);
    let pump = tokio::spawn(async move { while ev.poll().await.is_ok() {} });
    // Give the server's live client its subscriptions.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut t = sample(drone, chrono::Utc::now()).t;
    t.battery = 12.0;
    c.publish(
        format!("drones/{drone}/status"),
        rumqttc::QoS::AtLeastOnce,
        false,
        "online",
    )
    .await
    .expect("online");
    c.publish(
        format!("drones/{drone}/telemetry"),
        rumqttc::QoS::AtLeastOnce,
        false,
        serde_json::to_vec(&t).expect("json"),
    )
    .await
    .expect("telemetry");
    let battery = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("battery alert in time")
        .expect("alert");
    assert_eq!(battery["routing_key"], "test-routing-key");
    assert_eq!(battery["event_action"], "trigger");
    assert_eq!(battery["dedup_key"], format!("battery_low/{drone}"));
    assert_eq!(battery["payload"]["severity"], "warning");
    assert_eq!(battery["payload"]["source"], format!("drone:{drone}"));
    assert!(
        battery["payload"]["summary"]
            .as_str()
            .unwrap_or_default()
            .contains("12%")
    );
    c.publish(
        format!("drones/{drone}/status"),
        rumqttc::QoS::AtLeastOnce,
        false,
        "offline",
    )
    .await
    .expect("offline");
    let lost = tokio::time::timeout(Duration::from_secs(10), rx.recv())
        .await
        .expect("link alert in time")
        .expect("alert");
    assert_eq!(lost["dedup_key"], format!("link_lost/{drone}"));
    assert_eq!(lost["payload"]["severity"], "critical");
    assert_eq!(lost["payload"]["class"], "link_lost");
    pump.abort();
    server.shutdown().await;
    receiver.abort();
}
