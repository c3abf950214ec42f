//! `aviary bench fleet`'s engine (`aviary_links::fleet_bench`) against a real server started
//! here: a few drones for two seconds through the broker, every figure of the report checked
//! against what the server must have seen.

use std::time::Duration;

use aviary_core::wire::FleetDrone;
use aviary_links::fleet::FleetConfig;
use aviary_links::fleet_bench::{self, FleetBenchOptions};
use aviary_links::mqtt::BrokerAddr;

use crate::common::{self, Http, PASSWORD};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_load_tool_measures_a_running_server_from_outside() {
    let Some(t) = common::start("bench").await else {
        return;
    };
    let email = format!("bench-{}@bench.test", uuid::Uuid::new_v4().simple());
    aviary_server::bootstrap_org(&t.server.state, "bench", &email, PASSWORD)
        .await
        .expect("bootstrap");
    let base = format!("http://{}", t.server.addr);
    let mut opts = FleetBenchOptions::new(
        FleetConfig::new(&base, &email, PASSWORD).expect("config"),
        BrokerAddr::parse(&format!("mqtt://{}:{}", t.mqtt_host, t.mqtt_port)).expect("broker"),
    );
    opts.drones = 5;
    opts.rate_hz = 10.0;
    opts.seconds = 2.0;
    // Two watched drones, each on a mission of its own: a drone's samples may name only the
    // mission assigned to it.
    opts.watched = 2;
    opts.registered = 3;
    opts.publishers = 2;
    opts.inflight = 20;
    opts.rest_rps = 50;
    opts.rest_seconds = 1.0;
    opts.drain_idle = Duration::from_secs(5);
    let report = tokio::task::spawn_blocking(move || fleet_bench::run(&opts))
        .await
        .expect("bench thread")
        .expect("bench runs");
    let json = serde_json::to_string(&report).expect("json");
    eprintln!("{json}");

    // 5 drones × 10 Hz × 2 s, every message acknowledged by the broker.
    assert!((80..=110).contains(&report.published), "{json}");
    // The share group of this test's server sees this run (and any other telemetry on the
    // shared broker): at least every published message was committed.
    assert!(report.stored >= report.published, "{json}");
    // Lag quantiles exist; their values are not asserted: the server's share group also
    // ingests other tests' telemetry on the shared broker, some of it replayed late.
    assert!(
        report.ingest_rate > 0.0 && !report.ingest_lag_p99_s.is_nan(),
        "{json}"
    );
    // Both watched drones' samples reach their missions' WebSockets, none dropped as foreign.
    assert!(report.e2e_samples >= 30, "{json}");
    assert_eq!(
        (
            report.rest_requests,
            report.rest_errors,
            report.rest_limited
        ),
        (50, 0, 0),
        "{json}"
    );
    assert!(report.rest_p99_ms.is_finite(), "{json}");

    // The registered drones are on the server, under the bench site.
    let http = Http::new(t.server.addr);
    let token = common::login(&http, &email).await;
    let (st, drones) = http.call("GET", "/api/v1/drones", Some(&token), None).await;
    assert_eq!(st, 200);
    let drones: Vec<FleetDrone> = serde_json::from_value(drones).expect("drones");
    let mut serials: Vec<&str> = drones.iter().map(|d| d.serial_number.as_str()).collect();
    serials.sort_unstable();
    assert_eq!(serials, ["BENCH-0001", "BENCH-0002", "BENCH-0003"]);
    // None of the bench drones' samples was dropped as naming a mission not assigned to it
    // (the counters also see other tests' telemetry on the shared broker: ask by drone).
    let ids: Vec<uuid::Uuid> = drones.iter().map(|d| d.drone_id.0).collect();
    let foreign: i64 = t
        .server
        .state
        .pool
        .get()
        .await
        .expect("pool")
        .query_one(
            "SELECT count(*) FROM ingest_dead_letters WHERE drone_id = ANY($1) AND reason LIKE '%is not assigned to drone%'",
            &[&ids],
        )
        .await
        .expect("count")
        .get(0);
    assert_eq!(foreign, 0, "{json}");
    // Its missions were only feeds to listen to: deleted at the end.
    let (st, missions) = http
        .call("GET", "/api/v1/missions", Some(&token), None)
        .await;
    assert_eq!(st, 200);
    assert!(
        missions
            .as_array()
            .expect("mission list")
            .iter()
            .all(|m| m["status"] != "planned"),
        "{missions}"
    );
}
