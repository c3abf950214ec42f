//! Ingest must never stop (issue 15): a message that does not fit the schema is recorded as a
//! dead letter and the others are stored; a row the database refuses is isolated; an
//! oversized payload is dropped and counted while the connection stays up (against a private
//! Mosquitto with the shipped limits); `/healthz` and `/metrics` report the ingest's health
//! and fail while the broker refuses; `mqtt://` / `mqtts://user:pass@…?ca=` broker URLs.

use std::time::Duration;

use aviary_core::DroneId;
use aviary_core::wire::TelemetryUpdate;
use aviary_server::telemetry::{self, Row};
use serde_json::Value;

use crate::common::{self, Http};
use crate::private_broker::{self as pb, count, publish, sample, wait_for};

const ROWS: &str = "SELECT count(*) FROM drone_telemetry WHERE drone_id = $1";
const DEAD: &str = "SELECT count(*) FROM ingest_dead_letters WHERE drone_id = $1";

fn at(ms: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() - chrono::Duration::seconds(60) + chrono::Duration::milliseconds(ms)
}

fn bytes(v: &Value) -> Vec<u8> {
    serde_json::to_vec(v).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_does_not_fit_the_schema_is_dead_lettered_and_ingest_goes_on() {
    let Some(t) = common::start("ingest-bad").await else {
        return;
    };
    let server = &t.server;
    let drone = DroneId::new_random();
    pb::ready(server).await;
    let (c, _task) = pb::client(t.mqtt_port, &format!("bad-{drone}"), None);
    publish(&c, drone, bytes(&sample(drone, None, at(0), "idle"))).await;
    publish(
        &c,
        drone,
        bytes(&sample(drone, None, at(1), &"x".repeat(60))),
    )
    .await;
    publish(
        &c,
        drone,
        bytes(&sample(drone, None, at(2), "nul\u{0}byte")),
    )
    .await;
    let mut inf = sample(drone, None, at(3), "idle");
    inf["battery"] = 1e300.into();
    inf["position"]["lat"] = 91.0.into();
    publish(&c, drone, bytes(&inf)).await;
    publish(&c, drone, b"{not json".to_vec()).await;
    publish(&c, drone, bytes(&sample(drone, None, at(4), "idle"))).await;

    wait_for(
        "the good samples stored",
        Duration::from_secs(20),
        || async { count(server, ROWS, drone).await == 2 },
    )
    .await;
    wait_for(
        "the bad ones dead-lettered",
        Duration::from_secs(20),
        || async { count(server, DEAD, drone).await == 4 },
    )
    .await;
    let conn = server.state.pool.get().await.expect("pool");
    let reasons: Vec<String> = conn
        .query(
            "SELECT reason FROM ingest_dead_letters WHERE drone_id = $1 ORDER BY id",
            &[&drone.0],
        )
        .await
        .expect("dead letters")
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("status is 60 characters")),
        "{reasons:?}"
    );
    assert!(reasons.iter().any(|r| r.contains("NUL")), "{reasons:?}");
    assert!(
        reasons.iter().any(|r| r.contains("position.lat")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|r| r.contains("not a telemetry message")),
        "{reasons:?}"
    );
    let (prefix, size): (Vec<u8>, i32) = {
        let r = conn
            .query_one(
                "SELECT payload_prefix, payload_bytes FROM ingest_dead_letters WHERE drone_id = $1 AND reason LIKE 'status is 60%'",
                &[&drone.0],
            )
            .await
            .expect("row");
        (r.get(0), r.get(1))
    };
    assert_eq!(
        prefix.len(),
        telemetry::DEAD_LETTER_PREFIX_BYTES.min(size as usize)
    );
    assert!(prefix.starts_with(b"{"));
    let metrics = server.state.metrics.render();
    // At least these four (other tests' messages on the shared broker reach this ingest too).
    let dead_total: u64 = metrics
        .lines()
        .find_map(|l| l.strip_prefix("aviary_ingest_dead_letters_total "))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(dead_total >= 4, "{metrics}");

    // Nothing went back to the queue: the next sample is stored at once.
    publish(&c, drone, bytes(&sample(drone, None, at(5), "idle"))).await;
    wait_for("a later sample stored", Duration::from_secs(20), || async {
        count(server, ROWS, drone).await == 3
    })
    .await;
    assert_eq!(count(server, DEAD, drone).await, 4, "no dead letter twice");
}

fn row(drone: DroneId, ms: i64, status: &str) -> Row {
    let t: TelemetryUpdate =
        serde_json::from_value(sample(drone, None, at(ms), status)).expect("sample");
    Row {
        t,
        received_at: chrono::Utc::now(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_row_the_database_refuses_is_isolated_and_the_rest_of_the_batch_is_stored() {
    let Some(t) = common::start("ingest-split").await else {
        return;
    };
    let drone = DroneId::new_random();
    // Past the validation on purpose: what PostgreSQL itself refuses.
    let rows: Vec<Row> = (0..9)
        .map(|i| match i {
            2 => row(drone, i, "nul\u{0}byte"),
            7 => row(drone, i, &"y".repeat(51)),
            _ => row(drone, i, "idle"),
        })
        .collect();
    let mut conn = t.server.state.pool.get().await.expect("pool");
    let written = telemetry::write_isolating(&mut conn, &t.server.state.partitions, &rows)
        .await
        .expect("the database answers");
    assert_eq!(written.inserted, 7);
    let refused: Vec<usize> = written.refused.iter().map(|(i, _)| *i).collect();
    assert_eq!(refused, vec![2, 7], "{:?}", written.refused);
    assert!(
        written.refused[1].1.contains("22001"),
        "{:?}",
        written.refused
    );
    drop(conn);
    assert_eq!(count(&t.server, ROWS, drone).await, 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oversized_message_is_dropped_and_counted_and_the_connection_stays_up() {
    // The shipped limits: the broker's packet limit is the server clients' own, and its
    // payload limit a little lower, so the broker never sends what the server cannot read.
    let max_packet: usize = pb::shipped_setting("max_packet_size")
        .expect("the shipped mosquitto.conf sets max_packet_size")
        .parse()
        .expect("number");
    let max_payload: usize = pb::shipped_setting("message_size_limit")
        .expect("the shipped mosquitto.conf sets message_size_limit")
        .parse()
        .expect("number");
    assert_eq!(max_packet, aviary_server::config::MQTT_MAX_PACKET_BYTES);
    assert!(max_payload < max_packet);
    let Some(broker) = pb::start(&format!(
        "max_packet_size {max_packet}\nmessage_size_limit {max_payload}"
    )) else {
        return;
    };
    let Some((server, _guard)) = pb::server_with("ingest-big", |c| {
        c.mqtt_port = broker.port;
        c.mqtt_host = "127.0.0.1".into();
    })
    .await
    else {
        return;
    };
    let drone = DroneId::new_random();
    pb::ready(&server).await;
    let (c, _task) = pb::client(broker.port, &format!("big-{drone}"), None);
    publish(&c, drone, bytes(&sample(drone, None, at(0), "idle"))).await;
    wait_for(
        "the first sample stored",
        Duration::from_secs(20),
        || async { count(&server, ROWS, drone).await == 1 },
    )
    .await;
    // 100 KB: the broker passes it, the ingest drops and counts it.
    let mut big = sample(drone, None, at(1), "idle");
    big["padding"] = "p".repeat(100_000).into();
    publish(&c, drone, bytes(&big)).await;
    // Over the broker's payload limit: the broker drops it.
    let mut huge = sample(drone, None, at(2), "idle");
    huge["padding"] = "p".repeat(max_payload + 10).into();
    publish(&c, drone, bytes(&huge)).await;
    publish(&c, drone, bytes(&sample(drone, None, at(3), "idle"))).await;
    wait_for(
        "the sample after them stored",
        Duration::from_secs(20),
        || async { count(&server, ROWS, drone).await == 2 },
    )
    .await;
    let m = &server.state.metrics;
    wait_for(
        "the oversized message counted",
        Duration::from_secs(10),
        || async {
            m.ingest_oversized
                .load(std::sync::atomic::Ordering::Relaxed)
                == 1
        },
    )
    .await;
    assert_eq!(count(&server, DEAD, drone).await, 1);
    let h = m.ingest_health();
    assert!(h.connected, "{h:?}");
    assert_eq!(
        m.ingest_connects.load(std::sync::atomic::Ordering::Relaxed),
        1,
        "the ingest never reconnected"
    );
    assert_eq!(
        m.ingest_connection_errors
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
    server.shutdown().await;
}

async fn healthz(http: &Http) -> (u16, Value) {
    http.call("GET", "/healthz", None, None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_and_metrics_report_the_ingest() {
    let Some(t) = common::start("ingest-health").await else {
        return;
    };
    let http = Http::new(t.server.addr);
    wait_for("healthy", Duration::from_secs(10), || async {
        healthz(&http).await.0 == 200
    })
    .await;
    let drone = DroneId::new_random();
    pb::ready(&t.server).await;
    let (c, _task) = pb::client(t.mqtt_port, &format!("health-{drone}"), None);
    publish(&c, drone, bytes(&sample(drone, None, at(0), "idle"))).await;
    publish(
        &c,
        drone,
        bytes(&sample(drone, None, at(1), &"z".repeat(51))),
    )
    .await;
    wait_for(
        "a commit and a dead letter",
        Duration::from_secs(20),
        || async {
            let (_, h) = healthz(&http).await;
            h["ingest"]["last_insert"].is_string()
                && h["ingest"]["dead_letters"].as_u64() >= Some(1)
        },
    )
    .await;
    let (st, h) = healthz(&http).await;
    assert_eq!(st, 200, "{h}");
    assert_eq!(h["status"], "ok");
    assert_eq!(h["database"], "ok");
    assert_eq!(h["ingest"]["connected"], true);
    assert!(h["ingest"]["lag_seconds"].is_number(), "{h}");
    let (st, text) = http.raw("GET", "/metrics", None, None, Vec::new()).await;
    assert_eq!(st, 200);
    for line in [
        "aviary_ingest_connected 1\n",
        "aviary_ingest_dead_letters_total ",
        "aviary_ingest_last_insert_timestamp_seconds ",
        "aviary_ingest_lag_last_seconds ",
    ] {
        assert!(text.contains(line), "{line:?} in {text}");
    }
}

/// A broker that requires a password: `srv` / `right`.
fn password_broker(dir: std::path::PathBuf, extra: &str) -> pb::Broker {
    let passwd = pb::password_file(&dir, &[("srv", "right")]);
    pb::start_in(
        dir,
        &format!(
            "allow_anonymous false\npassword_file {}\n{extra}",
            passwd.display()
        ),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn healthz_fails_while_the_broker_refuses_and_a_broker_url_logs_in() {
    if !pb::have(&["mosquitto", "mosquitto_passwd"]) {
        return;
    }
    let broker = password_broker(pb::broker_dir(), "");
    let port = broker.port;
    for (url, ok) in [
        (format!("mqtt://127.0.0.1:{port}"), false),
        (format!("mqtt://srv:wrong@127.0.0.1:{port}"), false),
        (format!("mqtt://srv:right@127.0.0.1:{port}"), true),
    ] {
        let Some((server, _guard)) = pb::server_with("ingest-auth", |c| {
            c.set_broker_url(&url).expect("url");
        })
        .await
        else {
            return;
        };
        let http = Http::new(server.addr);
        let want = if ok { 200 } else { 503 };
        wait_for(
            &format!("{url}: healthz {want}"),
            Duration::from_secs(10),
            || async {
                let (st, h) = healthz(&http).await;
                st == want && (ok || h["ingest"]["last_error"].is_string())
            },
        )
        .await;
        let (_, h) = healthz(&http).await;
        if ok {
            assert_eq!(h["ingest"]["connected"], true, "{h}");
            let drone = DroneId::new_random();
            let (c, _task) = pb::client(port, &format!("auth-{drone}"), Some(("srv", "right")));
            publish(&c, drone, bytes(&sample(drone, None, at(0), "idle"))).await;
            wait_for(
                "stored through the authenticated broker",
                Duration::from_secs(20),
                || async { count(&server, ROWS, drone).await == 1 },
            )
            .await;
        } else {
            assert_eq!(h["status"], "unhealthy", "{h}");
            assert_eq!(h["ingest"]["connected"], false, "{h}");
            let why = h["ingest"]["last_error"].as_str().unwrap_or_default();
            assert!(why.contains("refused"), "{h}");
            assert!(
                !why.contains("wrong"),
                "no password in the health answer: {h}"
            );
            let (_, text) = http.raw("GET", "/metrics", None, None, Vec::new()).await;
            assert!(text.contains("aviary_ingest_connected 0\n"), "{text}");
        }
        server.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_mqtts_broker_url_with_a_private_ca_connects() {
    if !pb::have(&["mosquitto", "mosquitto_passwd", "openssl"]) {
        return;
    }
    let dir = pb::broker_dir();
    let ca = pb::make_certs(&dir);
    let tls = format!(
        "cafile {}\ncertfile {}\nkeyfile {}\ntls_version tlsv1.2",
        ca.display(),
        dir.join("server.crt").display(),
        dir.join("server.key").display()
    );
    let broker = password_broker(dir, &tls);
    let url = format!(
        "mqtts://srv:right@127.0.0.1:{}?ca={}",
        broker.port,
        ca.display()
    );
    let Some((server, _guard)) = pb::server_with("ingest-tls", |c| {
        c.set_broker_url(&url).expect("url");
    })
    .await
    else {
        return;
    };
    assert!(server.state.config.mqtt_tls.is_some());
    let http = Http::new(server.addr);
    wait_for("healthy over TLS", Duration::from_secs(10), || async {
        let (st, h) = healthz(&http).await;
        if st != 200 {
            eprintln!("{h}");
        }
        st == 200
    })
    .await;
    server.shutdown().await;
    // Plain MQTT to the TLS listener is refused, and health says so.
    let plain = format!("mqtt://srv:right@127.0.0.1:{}", broker.port);
    let Some((server, _guard2)) = pb::server_with("ingest-tls-plain", |c| {
        c.set_broker_url(&plain).expect("url");
    })
    .await
    else {
        return;
    };
    let http = Http::new(server.addr);
    // Not a fixed wait: the ingest's refused connection is seen, then health reports it.
    wait_for(
        "the plain connection refused",
        Duration::from_secs(10),
        || async { server.state.metrics.ingest_health().last_error.is_some() },
    )
    .await;
    let (st, h) = healthz(&http).await;
    assert_eq!(st, 503, "{h}");
    assert_eq!(h["ingest"]["connected"], false, "{h}");
    server.shutdown().await;
}

#[test]
fn broker_urls_parse_like_the_desktop() {
    use aviary_server::config::BrokerUrl;
    let b = BrokerUrl::parse("mqtt://u:p@127.0.0.1:1884").expect("valid");
    assert_eq!(
        (b.host.as_str(), b.port, b.credentials, b.tls),
        ("127.0.0.1", 1884, Some(("u".into(), "p".into())), None)
    );
    assert_eq!(BrokerUrl::parse("localhost").expect("valid").port, 1883);
    assert_eq!(BrokerUrl::parse("10.0.0.1:1999").expect("valid").port, 1999);
    for bad in [
        "http://x",
        "mqtt://:1883",
        "mqtt://h:99999",
        "mqtt://h?ca=/x",
        "mqtt://u@h",
    ] {
        assert!(BrokerUrl::parse(bad).is_err(), "{bad}");
    }
    let missing =
        BrokerUrl::parse("mqtts://u:secret@h:8884?ca=/nonexistent/ca.crt").expect_err("no CA file");
    assert!(
        missing.to_string().contains("/nonexistent/ca.crt"),
        "{missing}"
    );
    assert!(!missing.to_string().contains("secret"), "{missing}");
}
