//! Report performance (issue 6): PDF of a 2-hour 10 Hz mission (72,000 samples) ≤ 300 ms,
//! organisation summary over 100,000 missions ≤ 100 ms, CSV of 1,000,000 telemetry rows
//! ≤ 1 s. Run with `cargo bench -p aviary-reports`.
//!
//! `org_report_from_store` times what `aviary report org` and the app's Reports view do
//! before writing any file: open-store reads of the organisation, sites, drones and the
//! 100,000 missions' stored results, then the aggregation (`load_org_report`).

use aviary_core::ManualClock;
use aviary_core::{
    Drone, DroneId, DroneStatus, LatLon, MissionId, MissionStatus, OrgId, Site, SiteId,
};
use aviary_reports::mission::{ReportContext, ReportOptions, analyze};
use aviary_reports::summary::{
    Grouping, MaintenancePolicy, MissionRecord, load_org_report, summarize,
};
use aviary_reports::{csvout, pdf, testdata};
use aviary_store::{Store, StoreOptions};
use chrono::Duration;
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use std::sync::Arc;

fn ctx() -> ReportContext {
    ReportContext {
        site_name: "Delft Polder".into(),
        timezone: chrono_tz::Europe::Amsterdam,
        drone_label: Some("AV-1 (Quad X4)".into()),
    }
}

fn mission_pdf(c: &mut Criterion) {
    let mission = testdata::mission_lasting(7200.0, MissionStatus::Completed);
    let samples = testdata::fly(&mission, DroneId::new_random(), 10.0);
    assert!(samples.len() >= 72_000, "{} samples", samples.len());
    let mut g = c.benchmark_group("mission_pdf");
    g.sample_size(10);
    g.bench_function("analyze_and_pdf_72000_samples", |b| {
        b.iter(|| {
            let r = analyze(
                &mission,
                ctx(),
                samples.clone(),
                Vec::new(),
                Vec::new(),
                &ReportOptions::default(),
            );
            let mut out = Vec::with_capacity(2 << 20);
            let pages = pdf::write_mission_pdf(&mut out, &r).unwrap_or_else(|e| panic!("{e}"));
            black_box((pages, out.len()))
        });
    });
    g.finish();
}

/// The worst cases for area covered (issue 17): every strip overlapping others.
fn mission_pdf_overlap(c: &mut Criterion) {
    let run = |mission: &aviary_core::Mission, samples: &[aviary_core::TelemetrySample]| {
        let r = analyze(
            mission,
            ctx(),
            samples.to_vec(),
            Vec::new(),
            Vec::new(),
            &ReportOptions::default(),
        );
        let mut out = Vec::with_capacity(2 << 20);
        let pages = pdf::write_mission_pdf(&mut out, &r).unwrap_or_else(|e| panic!("{e}"));
        black_box((pages, out.len(), r.coverage_pct))
    };
    // 14 re-flights of one 8 ha square (283 m side) in 2 hours at 10 Hz.
    let side_m = 80_000_f64.sqrt();
    let (reflown, reflown_samples) = testdata::reflown_square(side_m, 14, 7200.0, 10.0);
    let mut noisy_reflown_samples = reflown_samples.clone();
    testdata::add_gps_noise(&mut noisy_reflown_samples, 0.3, 17);
    // A 2-hour 10 Hz mission over new ground with 0.3 m of GPS noise.
    let long = testdata::mission_lasting(7200.0, MissionStatus::Completed);
    let mut noisy = testdata::fly(&long, DroneId::new_random(), 10.0);
    testdata::add_gps_noise(&mut noisy, 0.3, 42);
    assert!(reflown_samples.len() >= 72_000 && noisy.len() >= 72_000);

    let mut g = c.benchmark_group("mission_pdf_overlap");
    g.sample_size(10);
    g.bench_function("reflown_8ha_14x_72000_samples", |b| {
        b.iter(|| run(&reflown, &reflown_samples));
    });
    g.bench_function("reflown_8ha_14x_noise_0_3m_72000_samples", |b| {
        b.iter(|| run(&reflown, &noisy_reflown_samples));
    });
    g.bench_function("new_ground_noise_0_3m_72000_samples", |b| {
        b.iter(|| run(&long, &noisy));
    });
    g.finish();
}

fn org_summary(c: &mut Criterion) {
    let t0 = testdata::start_time() - Duration::days(365);
    let zones = [
        chrono_tz::Europe::Amsterdam,
        chrono_tz::America::New_York,
        chrono_tz::Asia::Tokyo,
        chrono_tz::Australia::Sydney,
        chrono_tz::UTC,
    ];
    let org = OrgId::new_random();
    let sites: Vec<Site> = zones
        .iter()
        .enumerate()
        .map(|(i, tz)| Site {
            id: SiteId::new_random(),
            org_id: org,
            name: format!("Site {i}"),
            location: LatLon::default(),
            timezone: *tz,
            created_at: t0,
        })
        .collect();
    let drones: Vec<Drone> = (0..50)
        .map(|i| Drone {
            id: DroneId::new_random(),
            site_id: sites[i % sites.len()].id,
            serial_number: format!("AV-{i:03}"),
            model: "Quad X4".into(),
            status: DroneStatus::Available,
            battery_pct: 100,
            last_seen: None,
            home: LatLon::default(),
            firmware_version: String::new(),
            link: None,
            created_at: t0,
        })
        .collect();
    let statuses = [
        MissionStatus::Completed,
        MissionStatus::Completed,
        MissionStatus::Completed,
        MissionStatus::Aborted,
        MissionStatus::Failed,
        MissionStatus::Planned,
    ];
    let records: Vec<MissionRecord> = (0..100_000_i64)
        .map(|i| {
            let d = &drones[(i % 50) as usize];
            let status = statuses[(i % 6) as usize];
            let start = t0 + Duration::seconds(i * 315);
            let flown = status != MissionStatus::Planned;
            let flight_s = 900.0 + (i % 13) as f64 * 60.0;
            MissionRecord {
                id: MissionId::new_random(),
                name: format!("Mission {i}"),
                site_id: d.site_id,
                drone_id: Some(d.id),
                status,
                created_at: start - Duration::hours(3),
                start: flown.then_some(start),
                end: flown.then(|| start + Duration::seconds(flight_s as i64)),
                flight_s: flown.then_some(flight_s),
                distance_m: flown.then_some(flight_s * 5.0),
                covered_area_m2: flown.then_some(60_000.0),
                battery_used_pct: flown.then_some(flight_s / 30.0),
            }
        })
        .collect();
    let to = t0 + Duration::days(366);
    c.bench_function("org_summary_100000_missions", |b| {
        b.iter(|| {
            black_box(summarize(
                &records,
                &sites,
                &drones,
                t0,
                to,
                Grouping::Week,
                &MaintenancePolicy::default(),
            ))
        });
    });
}

/// A store file with 3 sites, 50 drones and 100,000 missions flown over a year, each with
/// the result its mission report stored; then the organisation report's read and
/// aggregation for that year.
fn org_report_from_store(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let t0 = testdata::start_time() - Duration::days(365);
    let clock = Arc::new(ManualClock::new(testdata::start_time()));
    let mut store = Store::open(&dir.path().join("org.db"), clock, StoreOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let imported = std::time::Instant::now();
    let n = testdata::seed_org_store(&mut store, 100_000).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "imported {n} missions with results in {:?}",
        imported.elapsed()
    );
    let to = t0 + Duration::days(365);
    let opts = ReportOptions::default();
    let policy = MaintenancePolicy::default();
    let check = load_org_report(&store, t0, to, Grouping::Week, &opts, &policy)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(check.summary.totals.missions, 100_000);
    assert_eq!(check.summary.sites.len(), 3);
    let mut g = c.benchmark_group("org_report_from_store");
    g.sample_size(20);
    g.bench_function("load_and_summarize_100000_missions_1_year", |b| {
        b.iter(|| {
            black_box(
                load_org_report(&store, t0, to, Grouping::Week, &opts, &policy)
                    .unwrap_or_else(|e| panic!("{e}")),
            )
        });
    });
    g.finish();
}

fn telemetry_csv(c: &mut Criterion) {
    let mission = testdata::mission_lasting(101_000.0, MissionStatus::Completed);
    let mut samples = testdata::fly(&mission, DroneId::new_random(), 10.0);
    samples.truncate(1_000_000);
    assert_eq!(samples.len(), 1_000_000);
    let mut g = c.benchmark_group("telemetry_csv");
    g.sample_size(10);
    g.bench_function("write_1000000_rows", |b| {
        b.iter(|| {
            let mut out = Vec::with_capacity(160 << 20);
            csvout::write_telemetry(&mut out, &samples).unwrap_or_else(|e| panic!("{e}"));
            black_box(out.len())
        });
    });
    g.finish();
}

criterion_group!(
    benches,
    mission_pdf,
    mission_pdf_overlap,
    org_summary,
    org_report_from_store,
    telemetry_csv
);
criterion_main!(benches);
