//! The reports and the store's `mission_results`: summaries read a mission's stored result
//! when it is complete and compute it from the telemetry otherwise (storing it for next
//! time); the mission report lists commands with their times and events from the audit
//! index. Real SQLite files in temporary directories.

#![allow(clippy::unwrap_used, reason = "test: a panic is the failure report")]

use aviary_core::{ManualClock, MissionStatus};
use aviary_reports::summary::{HistoryFilter, load_history, load_records};
use aviary_reports::{EventKind, ReportOptions, load_mission_report, testdata};
use aviary_store::{MissionResult, RecordFilter, ResultSource, Store, StoreOptions};
use chrono::Duration;
use std::path::Path;
use std::sync::Arc;

fn open_store(dir: &Path) -> Store {
    let clock = Arc::new(ManualClock::new(testdata::start_time() + Duration::days(1)));
    Store::open(&dir.join("aviary.db"), clock, StoreOptions::default()).unwrap()
}

#[test]
fn summary_reads_complete_results_and_computes_missing_ones_from_telemetry() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let mission = testdata::lawnmower_mission("results", 100.0, 200.0, MissionStatus::Completed);
    let seeded = testdata::seed_store(&store, mission, 5.0).unwrap();
    let id = seeded.mission.id;
    // Stored directly as completed (an older file): no result yet.
    assert_eq!(store.mission_result(id).unwrap(), None);
    let to = testdata::start_time() + Duration::days(2);
    let opts = ReportOptions::default();

    // Computed from the telemetry, and the complete result stored on the way.
    let records = load_records(&store, to, &opts).unwrap();
    assert_eq!(records.len(), 1);
    let from_telemetry = records[0].clone();
    let distance_m: f64 = seeded
        .samples
        .windows(2)
        .map(|w| w[0].pos.distance_m(w[1].pos))
        .sum();
    assert!((from_telemetry.distance_m.unwrap() - distance_m).abs() < 1e-6);
    let stored = store.mission_result(id).unwrap().expect("stored");
    assert_eq!(stored.source, ResultSource::Report);
    assert_eq!(stored.samples, seeded.samples.len() as u64);
    assert_eq!(stored.covered_area_m2, from_telemetry.covered_area_m2);
    assert!(stored.photos.is_some_and(|p| p > 0));
    assert_eq!(
        (stored.first_sample, stored.last_sample),
        (
            seeded.samples.first().map(|s| s.time),
            seeded.samples.last().map(|s| s.time)
        )
    );

    // A complete result is read as stored: no telemetry is analysed. (Marked figures prove
    // which path ran.)
    let marked = MissionResult {
        distance_m: Some(12_345.0),
        covered_area_m2: Some(678.0),
        ..stored.clone()
    };
    store.save_mission_result(&marked).unwrap();
    let records = load_records(&store, to, &opts).unwrap();
    assert_eq!(records[0].distance_m, Some(12_345.0));
    assert_eq!(records[0].covered_area_m2, Some(678.0));
    assert_eq!(records[0].flight_s, from_telemetry.flight_s);
    assert_eq!(records[0].battery_used_pct, from_telemetry.battery_used_pct);
    let history = load_history(&store, &HistoryFilter::default(), &opts).unwrap();
    assert_eq!(history[0].distance_m, Some(12_345.0));

    // A result the store wrote at the mission's end lacks coverage: the summary computes the
    // record from the telemetry again and completes the stored result.
    let partial = MissionResult {
        covered_area_m2: None,
        coverage_pct: None,
        photos: None,
        source: ResultSource::Store,
        ..marked
    };
    store.save_mission_result(&partial).unwrap();
    let records = load_records(&store, to, &opts).unwrap();
    assert_eq!(records[0], from_telemetry);
    let completed = store.mission_result(id).unwrap().unwrap();
    assert_eq!(completed.source, ResultSource::Report);
    assert!((completed.distance_m.unwrap() - distance_m).abs() < 1e-6);
}

#[test]
fn mission_report_completes_the_result_lists_timed_commands_and_audit_events() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let mission = testdata::lawnmower_mission("commands", 60.0, 100.0, MissionStatus::Aborted);
    let seeded = testdata::seed_store(&store, mission, 5.0).unwrap();
    let id = seeded.mission.id;
    let cmd = uuid::Uuid::new_v4();
    store
        .record_command(cmd, seeded.drone.id, Some(id), "rtl", "pending", "")
        .unwrap();
    store
        .record_command(cmd, seeded.drone.id, Some(id), "rtl", "confirmed", "RTL")
        .unwrap();
    let unanswered = uuid::Uuid::new_v4();
    store
        .record_command(unanswered, seeded.drone.id, Some(id), "land", "pending", "")
        .unwrap();

    let r = load_mission_report(&store, id, &ReportOptions::default()).unwrap();
    let now = store.clock().now();
    assert_eq!(r.commands.len(), 2);
    assert_eq!(
        (
            r.commands[0].action.as_str(),
            r.commands[0].status.as_str(),
            r.commands[0].sent_at,
            r.commands[0].answered_at
        ),
        ("rtl", "confirmed", now, Some(now))
    );
    assert_eq!(r.commands[1].answered_at, None, "pending: not answered");
    // Events come from this mission's audit entries only (seed_store wrote five).
    assert_eq!(r.events.len(), 5, "{:?}", r.events);
    assert_eq!(r.count(EventKind::Paused), 1);
    assert_eq!(r.count(EventKind::Aborted), 1);
    assert_eq!(r.count(EventKind::ReturnToLaunch), 1, "the rtl command");

    // The report stored the mission's complete result.
    let stored = store.mission_result(id).unwrap().expect("stored");
    assert_eq!(
        (stored.outcome, stored.source, stored.computed_at),
        (MissionStatus::Aborted, ResultSource::Report, now)
    );
    assert_eq!(stored.distance_m, r.distance_m);
    assert_eq!(stored.duration_s, r.duration_s);
    assert_eq!(stored.covered_area_m2, r.covered_area_m2);
    assert_eq!(stored.battery_start_pct, r.battery_start_pct);
    let battery_min = r.samples.iter().map(|s| s.battery_pct).reduce(f64::min);
    assert_eq!(stored.battery_min_pct, battery_min);
    // And the history lists it with that result.
    let entries = store.mission_records(&RecordFilter::default()).unwrap();
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0].result.as_ref(), Some(&stored));
}

#[test]
fn missions_still_flying_get_no_stored_result() {
    let dir = tempfile::tempdir().unwrap();
    let store = open_store(dir.path());
    let mission = testdata::lawnmower_mission("flying", 60.0, 100.0, MissionStatus::InProgress);
    let seeded = testdata::seed_store(&store, mission, 5.0).unwrap();
    let r = load_mission_report(&store, seeded.mission.id, &ReportOptions::default()).unwrap();
    assert!(r.distance_m.is_some());
    assert_eq!(store.mission_result(seeded.mission.id).unwrap(), None);
    let records = load_records(
        &store,
        testdata::start_time() + Duration::days(2),
        &ReportOptions::default(),
    )
    .unwrap();
    assert_eq!(
        records[0].distance_m, r.distance_m,
        "computed from telemetry"
    );
    assert_eq!(store.mission_result(seeded.mission.id).unwrap(), None);
}
