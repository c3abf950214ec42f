//! Restarts and several instances lose nothing (issue 15): a graceful stop keeps the ingest's
//! persistent session so a restart under the same (stable) name gets what was published while
//! it was down; the ingest re-subscribes after a broker restart; a member of the share group
//! that stopped and never came back is reported as stale and can be removed; two deployments
//! on one broker each store everything, and with their own topic prefixes each store only
//! their own drones; and the `aviary-server` binary itself, killed with
//! SIGKILL, stopped with SIGTERM and behind a restarted broker, loses nothing the broker
//! acknowledged. Each test runs its own Mosquitto.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use aviary_core::DroneId;
use rumqttc::{AsyncClient, MqttOptions, QoS};

use crate::common::{self, Http, SchemaGuard};
use crate::private_broker::{self as pb, Broker};

/// A drone-like publisher that counts the broker's acknowledgements (`PUBACK`s) and reconnects
/// by itself when the broker goes away.
struct Publisher {
    client: AsyncClient,
    acked: Arc<AtomicUsize>,
    sent: usize,
    drone: DroneId,
    /// Its deployment's MQTT topic prefix (empty: the design's names at the root).
    prefix: String,
    t0: chrono::DateTime<chrono::Utc>,
    _task: tokio::task::JoinHandle<()>,
}

impl Publisher {
    fn new(port: u16, drone: DroneId) -> Self {
        Self::under(port, drone, "")
    }

    /// A drone of the deployment whose topics are under `prefix`.
    fn under(port: u16, drone: DroneId, prefix: &str) -> Self {
        let mut o = MqttOptions::new(format!("pub-{drone}"), "127.0.0.1", port);
        o.set_keep_alive(Duration::from_secs(10));
        o.set_inflight(100);
        let (client, mut ev) = AsyncClient::new(o, 10_000);
        let acked = Arc::new(AtomicUsize::new(0));
        let a = Arc::clone(&acked);
        let task = tokio::spawn(async move {
            loop {
                match ev.poll().await {
                    Ok(rumqttc::Event::Incoming(rumqttc::Packet::PubAck(_))) => {
                        a.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(_) => {}
                    Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
                }
            }
        });
        Self {
            client,
            acked,
            sent: 0,
            drone,
            prefix: prefix.to_owned(),
            t0: chrono::Utc::now() - chrono::Duration::minutes(10),
            _task: task,
        }
    }

    /// Publishes `n` more samples (QoS 1), each with its own timestamp, at about 1,000 a
    /// second (what Mosquitto's default 20 in-flight messages per client carry in debug builds).
    async fn publish(&mut self, n: usize) {
        for _ in 0..n {
            let at = self.t0 + chrono::Duration::milliseconds(self.sent as i64);
            let body =
                serde_json::to_vec(&pb::sample(self.drone, None, at, "available")).expect("json");
            self.client
                .publish(
                    aviary_server::topics::Topics::new(&self.prefix).drone(self.drone, "telemetry"),
                    QoS::AtLeastOnce,
                    false,
                    body,
                )
                .await
                .expect("publish queued");
            self.sent += 1;
            if self.sent.is_multiple_of(10) {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    }

    /// Waits until the broker acknowledged everything published so far.
    async fn all_acked(&self) {
        let sent = self.sent;
        pb::wait_for("the broker's acks", Duration::from_secs(30), || async {
            self.acked.load(Ordering::Relaxed) >= sent
        })
        .await;
    }
}

async fn stored(pool: &deadpool_postgres::Pool, drone: DroneId) -> i64 {
    pool.get()
        .await
        .expect("pool")
        .query_one(
            "SELECT count(*) FROM drone_telemetry WHERE drone_id = $1",
            &[&drone.0],
        )
        .await
        .expect("count")
        .get(0)
}

async fn wait_stored(pool: &deadpool_postgres::Pool, drone: DroneId, n: usize) {
    let what = format!("{n} samples stored");
    pb::wait_for(&what, Duration::from_secs(30), || async {
        stored(pool, drone).await >= n as i64
    })
    .await;
    assert_eq!(
        stored(pool, drone).await,
        n as i64,
        "each sample stored once"
    );
}

/// A broker whose queues hold a stopped instance's share (Mosquitto's default is 1,000 per
/// session), with `extra` settings.
fn broker(extra: &str) -> Option<Broker> {
    pb::start(&format!("max_queued_messages 100000\n{extra}"))
}

fn on(broker: &Broker) -> impl FnOnce(&mut aviary_server::ServerConfig) {
    let port = broker.port;
    move |c| {
        c.mqtt_host = "127.0.0.1".into();
        c.mqtt_port = port;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_under_the_same_name_gets_what_was_published_while_it_was_down() {
    let Some(broker) = broker("") else { return };
    let Some((server, _guard)) = pb::server_with("restart", on(&broker)).await else {
        return;
    };
    pb::ready(&server).await;
    let config = server.state.config.clone();
    let drone = DroneId::new_random();
    let mut p = Publisher::new(broker.port, drone);
    p.publish(100).await;
    wait_stored(&server.state.pool, drone, 100).await;

    // SIGTERM's path: commit, acknowledge, disconnect, but stay in the share group.
    server.stop_for_restart().await;
    p.publish(300).await;
    p.all_acked().await;

    let again = aviary_server::start_with_cost(config, common::TEST_COST)
        .await
        .expect("restart");
    wait_stored(&again.state.pool, drone, 400).await;
    p.publish(100).await;
    wait_stored(&again.state.pool, drone, 500).await;
    again.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ingest_resubscribes_after_the_broker_restarts() {
    // Without persistence the restarted broker has forgotten every session and subscription.
    let Some(mut broker) = broker("") else { return };
    let Some((server, _guard)) = pb::server_with("rebroker", on(&broker)).await else {
        return;
    };
    pb::ready(&server).await;
    let drone = DroneId::new_random();
    let mut p = Publisher::new(broker.port, drone);
    p.publish(10).await;
    wait_stored(&server.state.pool, drone, 10).await;

    let m = &server.state.metrics;
    let connects = m.ingest_connects.load(Ordering::Relaxed);
    broker.restart(false);
    pb::wait_for(
        "the ingest and live clients back and subscribed",
        Duration::from_secs(20),
        || async {
            let h = m.ingest_health();
            m.ingest_connects.load(Ordering::Relaxed) > connects && h.connected && h.live_connected
        },
    )
    .await;
    p.publish(10).await;
    p.all_acked().await;
    wait_stored(&server.state.pool, drone, 20).await;
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_member_that_never_came_back_is_reported_stale_until_it_is_removed() {
    let Some(broker) = broker("") else { return };
    let Some((a, _guard)) = pb::server_with("stale-a", on(&broker)).await else {
        return;
    };
    let mut b_config = a.state.config.clone();
    b_config.instance_id = format!("stale-b-{}", uuid::Uuid::new_v4().simple());
    // B's clock moves only when the test says, so staleness is decided at exact times.
    let b_clock = common::manual_clock();
    let b = aviary_server::start_with_clock(
        b_config,
        common::TEST_COST,
        std::sync::Arc::new(b_clock.clone()),
    )
    .await
    .expect("b");
    pb::ready(&a).await;
    pb::ready(&b).await;
    let a_config = a.state.config.clone();
    let a_name = a_config.instance_id.clone();
    pb::wait_for("both members recorded", Duration::from_secs(10), || async {
        let n: i64 = b
            .state
            .pool
            .get()
            .await
            .expect("pool")
            .query_one(
                "SELECT count(*) FROM ingest_members WHERE left_at IS NULL",
                &[],
            )
            .await
            .expect("count")
            .get(0);
        n == 2
    })
    .await;
    assert!(
        aviary_server::members::heartbeat(&b.state)
            .await
            .expect("heartbeat")
            .is_empty(),
        "a running member is not stale"
    );

    // A stops for a restart that never comes; B's clock passes the limit after A's last
    // heartbeat: a second before it A is not stale yet, a second after it is.
    a.stop_for_restart().await;
    let a_last_seen: chrono::DateTime<chrono::Utc> = b
        .state
        .pool
        .get()
        .await
        .expect("pool")
        .query_one(
            "SELECT last_seen FROM ingest_members WHERE instance_id = $1",
            &[&a_name],
        )
        .await
        .expect("A's heartbeat")
        .get(0);
    let limit = chrono::Duration::from_std(b.state.config.stale_member_after).expect("limit");
    b_clock.set(a_last_seen + limit - chrono::Duration::seconds(1));
    assert!(
        aviary_server::members::heartbeat(&b.state)
            .await
            .expect("heartbeat")
            .is_empty(),
        "a second before the limit"
    );
    b_clock.set(a_last_seen + limit + chrono::Duration::seconds(1));
    let stale = aviary_server::members::heartbeat(&b.state)
        .await
        .expect("heartbeat");
    assert_eq!(stale, std::slice::from_ref(&a_name));
    let http = Http::new(b.addr);
    let (_, health) = http.call("GET", "/healthz", None, None).await;
    assert_eq!(
        health["ingest"]["stale_members"][0],
        a_name.as_str(),
        "{health}"
    );
    let (_, metrics) = http.raw("GET", "/metrics", None, None, Vec::new()).await;
    assert!(
        metrics.contains("aviary_ingest_stale_members 1"),
        "{metrics}"
    );

    // `aviary-server leave --instance A`: its session and record go; B takes everything.
    aviary_server::members::forget(&b.state.pool, &a_config, &a_name)
        .await
        .expect("forget");
    assert!(
        aviary_server::members::heartbeat(&b.state)
            .await
            .expect("heartbeat")
            .is_empty()
    );
    let drone = DroneId::new_random();
    let mut p = Publisher::new(broker.port, drone);
    let rows0 = b.state.metrics.ingest_rows.load(Ordering::Relaxed);
    p.publish(40).await;
    wait_stored(&b.state.pool, drone, 40).await;
    assert_eq!(
        b.state.metrics.ingest_rows.load(Ordering::Relaxed) - rows0,
        40,
        "B alone stored them: no share went to A's old session"
    );
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_deployments_on_one_broker_each_store_everything() {
    let Some(broker) = broker("") else { return };
    let Some((one, _g1)) = pb::server_with("dep-one", on(&broker)).await else {
        return;
    };
    let Some((two, _g2)) = pb::server_with("dep-two", on(&broker)).await else {
        return;
    };
    assert_ne!(
        one.state.config.ingest_share_group,
        two.state.config.ingest_share_group
    );
    pb::ready(&one).await;
    pb::ready(&two).await;
    let drone = DroneId::new_random();
    let mut p = Publisher::new(broker.port, drone);
    p.publish(60).await;
    wait_stored(&one.state.pool, drone, 60).await;
    wait_stored(&two.state.pool, drone, 60).await;
    one.shutdown().await;
    two.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_deployments_with_their_own_topic_prefixes_each_store_only_their_own_drones() {
    let Some(broker) = broker("") else { return };
    let deployment = |prefix: &'static str| {
        let on_broker = on(&broker);
        move |c: &mut aviary_server::ServerConfig| {
            on_broker(c);
            c.mqtt_topic_prefix = prefix.into();
            // The deployment's name, which a share group cannot hold as is (no `/`).
            c.ingest_share_group = prefix.replace('/', "-");
        }
    };
    let Some((alpha, _g1)) = pb::server_with("pfx-alpha", deployment("alpha")).await else {
        return;
    };
    let Some((beta, _g2)) = pb::server_with("pfx-beta", deployment("beta/eu")).await else {
        return;
    };
    pb::ready(&alpha).await;
    pb::ready(&beta).await;
    let (a, b, root) = (
        DroneId::new_random(),
        DroneId::new_random(),
        DroneId::new_random(),
    );
    // Other deployments' drones first: had either server subscribed to them, they would reach
    // its ingest before its own drones' samples (one session's queue keeps the broker's order).
    let mut pbeta = Publisher::under(broker.port, b, "beta/eu");
    let mut proot = Publisher::new(broker.port, root);
    pbeta.publish(50).await;
    proot.publish(30).await;
    pbeta.all_acked().await;
    proot.all_acked().await;
    let mut pa = Publisher::under(broker.port, a, "alpha");
    pa.publish(40).await;
    pa.all_acked().await;
    wait_stored(&alpha.state.pool, a, 40).await;
    wait_stored(&beta.state.pool, b, 50).await;
    for (server, name, others) in [(&alpha, "alpha", [b, root]), (&beta, "beta", [a, root])] {
        for d in others {
            assert_eq!(stored(&server.state.pool, d).await, 0, "{name} stored {d}");
        }
        let m = &server.state.metrics;
        assert_eq!(
            m.ingest_received.load(Ordering::Relaxed),
            if name == "alpha" { 40 } else { 50 },
            "{name}'s ingest received only its own drones' messages"
        );
        assert_eq!(m.ingest_dead_letters.load(Ordering::Relaxed), 0, "{name}");
    }
    alpha.shutdown().await;
    beta.shutdown().await;
}

#[test]
fn a_bad_topic_prefix_stops_the_server_with_its_reason() {
    let out = Command::new(env!("CARGO_BIN_EXE_aviary-server"))
        .args(["--topic-prefix", "acme/#", "broker-acl"])
        .output()
        .expect("aviary-server runs");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--topic-prefix") && err.contains("wildcards"),
        "{err}"
    );
}

// --- the binary under faults -----------------------------------------------------------------

/// One `aviary-server serve` process of the fault test.
fn serve(pg: &str, schema: &str, broker: &Broker, instance: &str, group: &str) -> Child {
    Command::new(env!("CARGO_BIN_EXE_aviary-server"))
        .args(["--database-url", &format!("{pg} dbname=postgres")])
        .args(["--db-schema", schema])
        .args(["--mqtt", &format!("127.0.0.1:{}", broker.port)])
        .args(["--audit-secret", common::AUDIT_SECRET])
        .arg("serve")
        .args(["--listen", "127.0.0.1:0"])
        .args([
            "--jwt-secret",
            "test secret that is long enough for HS256 keys",
        ])
        .args(["--instance", instance])
        .args(["--share-group", group])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("aviary-server starts")
}

/// Waits until `instance` (re)subscribed to the share group after `since`.
async fn joined(
    pool: &deadpool_postgres::Pool,
    instance: &str,
    since: chrono::DateTime<chrono::Utc>,
) {
    let what = format!("{instance} subscribed");
    pb::wait_for(&what, Duration::from_secs(30), || async {
        let Ok(c) = pool.get().await else {
            return false;
        };
        c.query_opt(
            "SELECT 1 FROM ingest_members WHERE instance_id = $1 AND joined_at >= $2",
            &[&instance, &since],
        )
        .await
        .ok()
        .flatten()
        .is_some()
    })
    .await;
}

struct Killed(Vec<Child>);

impl Drop for Killed {
    fn drop(&mut self) {
        // Ends only the processes this test started, by their own handles.
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_a_broker_restart_and_sigterm_lose_nothing_the_broker_acknowledged() {
    let Some((pg, _, _)) = common::services() else {
        return;
    };
    let dir = pb::broker_dir();
    let Some(mut broker) = pb::have(&["mosquitto"]).then(|| {
        pb::start_in(
            dir.clone(),
            &format!(
                "allow_anonymous true\nmax_queued_messages 100000\npersistence true\npersistence_location {}/\n",
                dir.display()
            ),
        )
    }) else {
        return;
    };
    let schema = common::schema();
    let _guard = SchemaGuard {
        pg: pg.clone(),
        schema: schema.clone(),
    };
    let tag = uuid::Uuid::new_v4().simple().to_string();
    let group = format!("fault{}", &tag[..8]);
    let (a, b) = (format!("fault-a-{tag}"), format!("fault-b-{tag}"));
    let pool = aviary_server::db::pool(&format!("{pg} dbname=postgres"), &schema, 2).expect("pool");
    aviary_server::db::migrate(&pool, &schema)
        .await
        .expect("migrate");
    let t = chrono::Utc::now() - chrono::Duration::seconds(1);
    let mut procs = Killed(vec![
        serve(&pg, &schema, &broker, &a, &group),
        serve(&pg, &schema, &broker, &b, &group),
    ]);
    joined(&pool, &a, t).await;
    joined(&pool, &b, t).await;

    let drone = DroneId::new_random();
    let mut p = Publisher::new(broker.port, drone);
    p.publish(500).await;
    // kill -9 A mid-stream: what it held unacknowledged and what the broker queues for it
    // meanwhile wait in its persistent session.
    procs.0[0].kill().expect("kill -9 a");
    procs.0[0].wait().expect("a gone");
    p.publish(300).await;
    let t = chrono::Utc::now() - chrono::Duration::seconds(1);
    procs.0[0] = serve(&pg, &schema, &broker, &a, &group);
    joined(&pool, &a, t).await;
    p.publish(200).await;
    p.all_acked().await;

    // Everything of the first half, A's share included, once A is back.
    wait_stored(&pool, drone, 1000).await;
    // The broker restarts (gracefully, so it keeps the sessions and queues it acknowledged).
    // Mosquitto 2.0.11 does not restore shared subscriptions from its persistence file: what
    // is published before the instances re-subscribed has no subscriber and the broker drops
    // it. The server's part is to re-subscribe on every connection; the drones publish again
    // once both did.
    let t = chrono::Utc::now() - chrono::Duration::seconds(1);
    broker.restart(true);
    joined(&pool, &a, t).await;
    joined(&pool, &b, t).await;
    p.publish(500).await;
    // SIGTERM B mid-stream: it commits what it took and leaves its session in the group.
    let st = pb::terminate(&mut procs.0[1]);
    assert!(st.success(), "B stops cleanly on SIGTERM: {st}");
    p.publish(300).await;
    let t = chrono::Utc::now() - chrono::Duration::seconds(1);
    procs.0[1] = serve(&pg, &schema, &broker, &b, &group);
    joined(&pool, &b, t).await;
    p.publish(200).await;
    p.all_acked().await;

    let total = p.sent;
    assert_eq!(total, 2000);
    // Nothing lost, nothing stored twice (QoS 1 redeliveries are deduplicated).
    wait_stored(&pool, drone, total).await;
    drop(procs);
    drop(broker);
}
