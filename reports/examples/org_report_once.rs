//! The organisation report of the `org_report_from_store` bench, outside criterion, for
//! `perf stat` / callgrind (instruction counts hold under load where wall time does not):
//!
//! ```text
//! cargo run --release -p aviary-reports --example org_report_once -- seed /tmp/org.db
//! perf stat -e task-clock,instructions \
//!     target/release/examples/org_report_once run /tmp/org.db 20
//! ```
//!
//! `seed` writes the bench's store (3 sites, 50 drones, 100,000 missions with results over a
//! year); `run` opens it and times `load_org_report` for that year N times.

use aviary_core::store::{ImportedMission, MissionResult, ResultSource, Store, StoreOptions};
use aviary_core::{
    Drone, DroneId, DroneStatus, LatLon, ManualClock, MissionId, MissionStatus, OrgId,
    Organization, Site, SiteId,
};
use aviary_reports::ReportOptions;
use aviary_reports::summary::{Grouping, MaintenancePolicy, load_org_report};
use aviary_reports::testdata;
use chrono::Duration;
use std::path::Path;
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: org_report_once seed DB_FILE | run DB_FILE N";
    let mode = std::env::args().nth(1).ok_or(usage)?;
    let path = std::env::args().nth(2).ok_or(usage)?;
    let path = Path::new(&path);
    match mode.as_str() {
        "seed" => seed(path),
        "run" => {
            let n: u32 = std::env::args().nth(3).ok_or(usage)?.parse()?;
            run(path, n)
        }
        _ => Err(usage.into()),
    }
}

fn run(path: &Path, n: u32) -> Result<(), Box<dyn std::error::Error>> {
    let clock = Arc::new(ManualClock::new(testdata::start_time()));
    let store = Store::open(path, clock, StoreOptions::default())?;
    let t0 = testdata::start_time() - Duration::days(365);
    let to = t0 + Duration::days(365);
    let (opts, policy) = (ReportOptions::default(), MaintenancePolicy::default());
    let mut best = std::time::Duration::MAX;
    for _ in 0..n {
        let started = std::time::Instant::now();
        let r = load_org_report(&store, t0, to, Grouping::Week, &opts, &policy)?;
        best = best.min(started.elapsed());
        assert_eq!(r.summary.totals.missions, 100_000);
        std::hint::black_box(r);
    }
    println!("{n} runs, fastest {best:?}");
    Ok(())
}

fn seed(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let t0 = testdata::start_time() - Duration::days(365);
    let clock = Arc::new(ManualClock::new(testdata::start_time()));
    let mut store = Store::open(path, clock, StoreOptions::default())?;
    let org = Organization {
        id: OrgId::new_random(),
        name: "Polder Survey B.V.".into(),
        created_at: t0,
    };
    store.upsert_org(&org)?;
    let zones = [
        chrono_tz::Europe::Amsterdam,
        chrono_tz::America::New_York,
        chrono_tz::Asia::Tokyo,
    ];
    let sites: Vec<Site> = zones
        .iter()
        .enumerate()
        .map(|(i, tz)| Site {
            id: SiteId::new_random(),
            org_id: org.id,
            name: format!("Site {i}"),
            location: LatLon::new(51.9, 4.48),
            timezone: *tz,
            created_at: t0,
        })
        .collect();
    for s in &sites {
        store.upsert_site(s)?;
    }
    let drones: Vec<Drone> = (0..50)
        .map(|i| Drone {
            id: DroneId::new_random(),
            site_id: sites[i % sites.len()].id,
            serial_number: format!("AV-{i:03}"),
            model: "Quad X4".into(),
            status: DroneStatus::Available,
            battery_pct: 100,
            last_seen: None,
            home: LatLon::new(51.9, 4.48),
            firmware_version: "4.5.7".into(),
            link: None,
            created_at: t0,
        })
        .collect();
    for d in &drones {
        store.insert_drone(d)?;
    }
    let template =
        testdata::lawnmower_mission("Field survey", 300.0, 200.0, MissionStatus::Completed);
    let outcomes = [
        MissionStatus::Completed,
        MissionStatus::Completed,
        MissionStatus::Completed,
        MissionStatus::Completed,
        MissionStatus::Aborted,
        MissionStatus::Failed,
    ];
    let items: Vec<ImportedMission> = (0..100_000_i64)
        .map(|i| {
            let d = &drones[(i % 50) as usize];
            let outcome = outcomes[(i % 6) as usize];
            // 100,000 missions spread over 365 days: one every 315 s.
            let start = t0 + Duration::seconds(i * 315);
            let flight_s = 900.0 + (i % 13) as f64 * 60.0;
            let end = start + Duration::seconds(flight_s as i64);
            let mission = aviary_core::Mission {
                id: MissionId::new_random(),
                org_id: org.id,
                site_id: d.site_id,
                drone_id: Some(d.id),
                name: format!("Mission {i}"),
                status: outcome,
                created_at: start - Duration::hours(3),
                actual_start: Some(start),
                actual_end: Some(end),
                ..template.clone()
            };
            let result = MissionResult {
                mission_id: mission.id,
                outcome,
                ended_at: end,
                samples: (flight_s * 10.0) as u64,
                first_sample: Some(start),
                last_sample: Some(end),
                duration_s: Some(flight_s),
                distance_m: Some(flight_s * 5.0),
                covered_area_m2: Some(60_000.0),
                coverage_pct: Some(if outcome == MissionStatus::Completed {
                    99.0
                } else {
                    40.0
                }),
                photos: Some(150),
                battery_start_pct: Some(98.0),
                battery_end_pct: Some(98.0 - flight_s / 30.0 - (i % 7) as f64),
                battery_max_pct: Some(98.0),
                battery_min_pct: Some(98.0 - flight_s / 30.0 - (i % 7) as f64),
                source: ResultSource::Report,
                computed_at: end,
            };
            ImportedMission {
                mission,
                result: Some(result),
            }
        })
        .collect();
    let n = store.import_missions(&items)?;
    println!("imported {n} missions");
    Ok(())
}
