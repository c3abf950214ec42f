//! Crash safety: a child process writes missions and telemetry; it is killed with SIGKILL at
//! random moments, 24 times; after each kill the file must pass `PRAGMA integrity_check` and
//! hold every transaction whose commit had returned before the kill.
//!
//! The child is this same test binary re-executed to run the ignored test
//! `crash_writer_child` with `AVIARY_CRASH_CHILD_DB` set; it prints a line after every commit
//! that returned: `M <mission-uuid>` for a mission insert, `T <drone-uuid> <first_us> <count>`
//! for a flushed telemetry batch.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use aviary_core::*;
use aviary_store::{Store, StoreOptions, TelemetryRange};
use chrono::{DateTime, Utc};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;

const CHILD_ENV: &str = "AVIARY_CRASH_CHILD_DB";

const KILLS: usize = 24;

/// xorshift64*: a seeded generator so a failing run can be replayed with `AVIARY_CRASH_SEED`.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
}

#[test]
fn sigkill_never_loses_a_committed_transaction() {
    let seed = std::env::var("AVIARY_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| u64::from(std::process::id()) * 0x9E37_79B9 + 1);
    println!("crash test seed {seed} (replay with AVIARY_CRASH_SEED={seed})");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let mut missions: Vec<MissionId> = Vec::new();
    let mut batches: Vec<(DroneId, i64, usize)> = Vec::new();
    for round in 0..KILLS {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "crash_writer_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
                "-q",
            ])
            .env(CHILD_ENV, &db)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Kill after a random number of acknowledged commits, then at a random point in
        // the middle of the following work (busy-spinning, not sleeping).
        let commits_before_kill = 1 + rng.next() % 40;
        let mut seen = 0;
        while seen < commits_before_kill {
            let line = lines.next().expect("child exited early").unwrap();
            if record(&line, &mut missions, &mut batches) {
                seen += 1;
            }
        }
        let spin = rng.next() % 200_000;
        let mut x = 0u64;
        for i in 0..spin {
            x = std::hint::black_box(x.wrapping_add(i));
        }
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        // Lines the child printed before dying were commits that returned.
        for line in lines.map_while(Result::ok) {
            record(&line, &mut missions, &mut batches);
        }

        let clock = Arc::new(ManualClock::new(
            DateTime::from_timestamp(1_800_000_000, 0).unwrap(),
        ));
        let store = Store::open(&db, clock, StoreOptions::default()).unwrap();
        store.integrity_check().unwrap();
        for id in &missions {
            store
                .get_mission(*id)
                .unwrap_or_else(|e| panic!("round {round}: committed mission {id} lost: {e}"));
        }
        for (drone, first_us, count) in &batches {
            let from = DateTime::from_timestamp_micros(*first_us).unwrap();
            let to = DateTime::from_timestamp_micros(first_us + 1_000 * *count as i64).unwrap();
            let got = store
                .drone_telemetry(*drone, TelemetryRange { from, to })
                .unwrap()
                .len();
            assert_eq!(
                got, *count,
                "round {round}: committed telemetry batch at {first_us} incomplete"
            );
        }
    }
    println!(
        "crash test: {KILLS} SIGKILLs, {} missions and {} telemetry batches verified, integrity ok",
        missions.len(),
        batches.len()
    );
    assert!(missions.len() >= KILLS);
}

/// Records a commit line; returns false for libtest's own output around the child test.
fn record(
    line: &str,
    missions: &mut Vec<MissionId>,
    batches: &mut Vec<(DroneId, i64, usize)>,
) -> bool {
    let parts: Vec<&str> = line.split_whitespace().collect();
    match parts.as_slice() {
        ["M", id] => missions.push(id.parse().unwrap()),
        ["T", drone, first, count] => batches.push((
            drone.parse().unwrap(),
            first.parse().unwrap(),
            count.parse().unwrap(),
        )),
        _ => return false,
    }
    true
}

#[test]
#[ignore = "the child process of sigkill_never_loses_a_committed_transaction; runs until killed"]
fn crash_writer_child() {
    let path = std::env::var(CHILD_ENV)
        .expect("run only as the crash test's child (AVIARY_CRASH_CHILD_DB unset)");
    let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
    let store = Store::open(
        std::path::Path::new(&path),
        Arc::new(ManualClock::new(t0)),
        StoreOptions::default(),
    )
    .unwrap();
    let org = Organization {
        id: OrgId::new_random(),
        name: "crash".into(),
        created_at: t0,
    };
    store.upsert_org(&org).unwrap();
    let site = Site {
        id: SiteId::new_random(),
        org_id: org.id,
        name: "crash site".into(),
        location: LatLon::new(1.0, 2.0),
        timezone: chrono_tz::UTC,
        created_at: t0,
    };
    store.upsert_site(&site).unwrap();
    let drone_id = DroneId::new_random();
    let mut out = std::io::stdout().lock();
    let start_us = Utc::now().timestamp_micros();
    for i in 0_i64.. {
        let m = Mission {
            id: MissionId::new_random(),
            org_id: org.id,
            site_id: site.id,
            drone_id: None,
            name: format!("crash mission {i}"),
            status: MissionStatus::Planned,
            survey_area: SurveyArea::default(),
            flight_pattern: FlightPattern::Lawnmower,
            parameters: MissionParams::default(),
            scheduled_start: None,
            actual_start: None,
            actual_end: None,
            paused_at: None,
            estimated_duration_s: 1.0,
            estimated_distance_m: 1.0,
            waypoints: Vec::new(),
            created_by: None,
            created_at: t0,
        };
        store.insert_mission(&m).unwrap();
        writeln!(out, "M {}", m.id).unwrap();
        out.flush().unwrap();
        let first_us = start_us + i * 1_000_000;
        let count = 200;
        for j in 0..count {
            store.telemetry().submit(TelemetrySample {
                time: DateTime::from_timestamp_micros(first_us + j * 1_000).unwrap(),
                mission_id: Some(m.id),
                drone_id,
                pos: LatLon::new(1.0, 2.0),
                alt_rel_m: 10.0,
                speed_mps: 1.0,
                heading_deg: 0.0,
                battery_pct: 50.0,
                signal_pct: 100.0,
                status: DroneStatus::InMission,
            });
        }
        store.telemetry().flush().unwrap();
        writeln!(out, "T {drone_id} {first_us} {count}").unwrap();
        out.flush().unwrap();
    }
}
