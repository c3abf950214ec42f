//! Telemetry writer benchmarks: batched insert throughput through the background writer, and
//! the latency of reading one mission's 1,800 samples (30 minutes at 1 Hz).
#![allow(
    clippy::unwrap_used,
    reason = "bench code: a panic is the failure report"
)]

use aviary_core::{
    DroneId, DroneStatus, LatLon, ManualClock, MissionId, OrgId, Organization, TelemetrySample,
};
use aviary_store::{Store, StoreOptions, TelemetryRange};
use chrono::{DateTime, Duration};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::sync::Arc;

fn setup(dir: &std::path::Path) -> (Store, DroneId, MissionId) {
    let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let store = Store::open(
        &dir.join("bench.db"),
        Arc::new(ManualClock::new(t0)),
        StoreOptions::default(),
    )
    .unwrap();
    let org = Organization {
        id: OrgId::new_random(),
        name: "bench".into(),
        created_at: t0,
    };
    store.upsert_org(&org).unwrap();
    (store, DroneId::new_random(), MissionId::new_random())
}

fn sample(drone: DroneId, mission: MissionId, us: i64) -> TelemetrySample {
    TelemetrySample {
        time: DateTime::from_timestamp_micros(us).unwrap(),
        mission_id: Some(mission),
        drone_id: drone,
        pos: LatLon::new(51.9, 4.48),
        alt_rel_m: 50.0,
        speed_mps: 5.0,
        heading_deg: 90.0,
        battery_pct: 80.0,
        signal_pct: 95.0,
        status: DroneStatus::InMission,
    }
}

const N: u64 = 50_000;

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let (store, drone, mission) = setup(dir.path());
    let mut next_us = 1_800_000_000_000_000_i64;
    let mut g = c.benchmark_group("telemetry_writer");
    g.throughput(Throughput::Elements(N));
    g.sample_size(10);
    g.bench_function("insert_50k_batched", |b| {
        b.iter(|| {
            for _ in 0..N {
                // 10 Hz from 100 drones would interleave; one drone at 100 µs spacing is the
                // worst case for the primary-key B-tree's right edge.
                next_us += 100;
                while !store.telemetry().submit(sample(drone, mission, next_us)) {
                    std::thread::yield_now();
                }
            }
            store.telemetry().flush().unwrap();
        });
    });
    g.finish();

    // A 30-minute mission at 1 Hz among other missions' samples.
    let query_mission = MissionId::new_random();
    let base = next_us + 1_000_000;
    for i in 0..1_800 {
        store
            .telemetry()
            .submit(sample(drone, query_mission, base + i * 1_000_000));
    }
    store.telemetry().flush().unwrap();
    let t_from = DateTime::from_timestamp_micros(base).unwrap();
    let mut g = c.benchmark_group("telemetry_query");
    g.bench_function("mission_1800_samples", |b| {
        b.iter(|| {
            let rows = store
                .mission_telemetry(
                    query_mission,
                    TelemetryRange {
                        from: t_from,
                        to: t_from + Duration::hours(1),
                    },
                )
                .unwrap();
            assert_eq!(rows.len(), 1_800);
            rows
        });
    });
    g.finish();
    println!("writer stats: {:?}", store.telemetry().stats());
}

criterion_group!(benches, bench);
criterion_main!(benches);
