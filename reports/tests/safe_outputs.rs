//! A report never destroys or half-writes a file: an existing file stays byte-identical when
//! a report fails (unknown mission, a second output in a missing folder, two outputs on one
//! path), and reports read a database they may not write.

use aviary_core::{ManualClock, MissionId, MissionStatus};
use aviary_reports::output::{self, OutputFile};
use aviary_reports::{ReportError, ReportOptions, csvout, load_mission_report, pdf, testdata};
use aviary_store::{Store, StoreOptions};
use chrono::Duration;
use std::path::Path;
use std::sync::Arc;

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(testdata::start_time() + Duration::days(1)))
}

/// A store at `dir/aviary.db` with one completed lawnmower mission at 2 Hz.
fn seeded(dir: &Path) -> (Store, MissionId) {
    let store =
        Store::open(&dir.join("aviary.db"), clock(), StoreOptions::default()).expect("open store");
    let mission = testdata::lawnmower_mission("Safe", 200.0, 150.0, MissionStatus::Completed);
    let s = testdata::seed_store(&store, mission, 2.0).expect("seed");
    (store, s.mission.id)
}

/// The names in `dir` (a temporary file left behind would show here).
fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// The CLI's sequence: build every output in memory, then commit them together.
fn mission_outputs(
    store: &Store,
    id: MissionId,
    pdf_path: &Path,
    csv_path: &Path,
) -> Result<(), ReportError> {
    output::check_distinct([pdf_path, csv_path])?;
    output::check_targets([pdf_path, csv_path])?;
    let report = load_mission_report(store, id, &ReportOptions::default())?;
    let pdf = output::build(pdf_path, |w| pdf::write_mission_pdf(w, &report).map(|_| ()))?;
    let csv = output::build(csv_path, |w| csvout::write_mission_summaries(w, &[&report]))?;
    output::commit(&[pdf, csv])
}

#[test]
fn existing_file_is_byte_identical_after_a_failed_report() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (store, id) = seeded(tmp.path());
    let out = tmp.path().join("out");
    std::fs::create_dir(&out).expect("mkdir");
    let pdf_path = out.join("report.pdf");
    let csv_path = out.join("report.csv");
    let old_pdf: Vec<u8> = (0..105_000_u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&pdf_path, &old_pdf).expect("write old");
    std::fs::write(&csv_path, b"old,csv\n").expect("write old csv");

    // Unknown mission id.
    let err = mission_outputs(&store, MissionId::new_random(), &pdf_path, &csv_path)
        .expect_err("unknown mission");
    assert!(matches!(err, ReportError::Store(_)), "{err}");
    assert_eq!(std::fs::read(&pdf_path).expect("read"), old_pdf);
    assert_eq!(std::fs::read(&csv_path).expect("read"), b"old,csv\n");

    // The second output's folder does not exist: the first is not written either.
    let missing = out.join("missing-dir").join("x.csv");
    let err = mission_outputs(&store, id, &pdf_path, &missing).expect_err("missing folder");
    assert!(matches!(err, ReportError::CreateOutput { .. }), "{err}");
    assert_eq!(std::fs::read(&pdf_path).expect("read"), old_pdf);
    // Even when the early check is skipped, the commit itself is all or nothing.
    let err = output::commit(&[
        OutputFile::new(&pdf_path, b"%PDF-new".to_vec()),
        OutputFile::new(&missing, b"a,b\n".to_vec()),
    ])
    .expect_err("missing folder at commit");
    assert!(matches!(err, ReportError::CreateOutput { .. }), "{err}");
    assert_eq!(std::fs::read(&pdf_path).expect("read"), old_pdf);

    // The same file for both outputs, spelled two ways.
    let alias = out.join(".").join("report.pdf");
    let err = mission_outputs(&store, id, &pdf_path, &alias).expect_err("same path");
    assert!(matches!(err, ReportError::SameOutput { .. }), "{err}");
    assert_eq!(std::fs::read(&pdf_path).expect("read"), old_pdf);

    // No temporary file is left behind by any failure.
    assert_eq!(names(&out), ["report.csv", "report.pdf"]);

    // And a good report replaces both files completely.
    mission_outputs(&store, id, &pdf_path, &csv_path).expect("report");
    let new_pdf = std::fs::read(&pdf_path).expect("read");
    assert!(new_pdf.starts_with(b"%PDF"));
    assert_ne!(new_pdf, old_pdf);
    assert_eq!(names(&out), ["report.csv", "report.pdf"]);
}

#[test]
fn reports_read_a_database_opened_read_only() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (store, id) = seeded(tmp.path());
    store.telemetry().flush().expect("flush");
    drop(store);
    let db = tmp.path().join("aviary.db");
    let before = std::fs::read(&db).expect("read db");

    let ro = Store::open_read_only(&db, clock()).expect("open read-only");
    let report = load_mission_report(&ro, id, &ReportOptions::default()).expect("report");
    assert!(report.distance_m.is_some_and(|d| d > 0.0));
    let mut pdf_bytes = Vec::new();
    pdf::write_mission_pdf(&mut pdf_bytes, &report).expect("pdf");
    let summary = aviary_reports::summary::load_org_report(
        &ro,
        testdata::start_time() - Duration::days(1),
        testdata::start_time() + Duration::days(1),
        aviary_reports::Grouping::Day,
        &ReportOptions::default(),
        &aviary_reports::MaintenancePolicy::default(),
    )
    .expect("org report");
    assert_eq!(summary.summary.totals.missions, 1);
    drop(ro);
    assert_eq!(
        std::fs::read(&db).expect("read db"),
        before,
        "database changed"
    );

    // A missing file is an error, not a new database.
    let missing = tmp.path().join("nope.db");
    Store::open_read_only(&missing, clock()).expect_err("missing database");
    assert!(!missing.exists());
}
