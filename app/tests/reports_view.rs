//! The Reports view writes the organisation report: the period and folder are typed into the
//! form by label through `egui_kittest`, the button emits `Command::OrgReport`, and a real job
//! thread reads the store file and writes the PDF and CSV, which poppler's `pdftotext` and
//! Python's `csv` module read back.

use aviary_app::gui::app::{AviaryApp, MapTiles};
use aviary_app::gui::backend::{Backend, BackendOptions};
use aviary_app::gui::jobs::JobMode;
use aviary_app::gui::settings::Settings;
use aviary_app::gui::state::View;
use aviary_core::{ManualClock, MissionStatus};
use aviary_reports::summary::{Grouping, MaintenancePolicy, load_org_report};
use aviary_reports::{ReportOptions, format, testdata};
use aviary_store::{Store, StoreOptions};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use std::path::Path;
use std::process::Command as Process;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn run(program: &str, args: &[&str]) -> String {
    let out = Process::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program} (apt poppler-utils / python3): {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The app on a store with two flown missions (completed, aborted) and their telemetry,
/// on 2026-11-26/27; the clock at 2026-11-29. Jobs on real threads.
fn harness_with_flown_missions(db: &Path) -> Harness<'static, AviaryApp> {
    let clock = Arc::new(ManualClock::new(
        testdata::start_time() + chrono::Duration::days(3),
    ));
    let store = Store::open(db, clock.clone(), StoreOptions::default()).expect("store");
    let done = testdata::lawnmower_mission(
        "North field survey",
        testdata::AREA_W_M,
        testdata::AREA_H_M,
        MissionStatus::Completed,
    );
    let aborted =
        testdata::lawnmower_mission("Dyke inspection", 200.0, 150.0, MissionStatus::Aborted);
    testdata::seed_store(&store, done, 2.0).expect("seed completed mission");
    testdata::seed_store(&store, aborted, 2.0).expect("seed aborted mission");
    store.telemetry().flush().expect("telemetry committed");
    let backend = Backend::new(
        store,
        clock,
        BackendOptions {
            seed_demo: false,
            simulated_fleet: false,
            job_mode: JobMode::Threads,
        },
        Arc::new(|| {}),
    );
    let app = AviaryApp::new(
        &egui::Context::default(),
        backend,
        Settings::default(),
        MapTiles::BasemapOnly,
    );
    let mut h = Harness::builder()
        .with_size([1500.0, 950.0])
        .build_ui_state(|ui, app: &mut AviaryApp| app.frame_ui(ui), app);
    h.run_steps(2);
    h.get_all_by_label("Reports").next().expect("tab").click();
    h.run_steps(2);
    assert_eq!(h.state().state.view, View::Reports);
    h
}

/// Types the period and folder into the form by label and presses the button.
fn request_report(h: &mut Harness<'_, AviaryApp>, from: &str, to: &str, folder: &Path) {
    h.state_mut().state.org_report.from.clear();
    h.state_mut().state.org_report.to.clear();
    h.state_mut().state.org_report.out_dir.clear();
    h.run_steps(1);
    h.get_by_label("From (UTC day)").focus();
    h.get_by_label("From (UTC day)").type_text(from);
    h.get_by_label("To (inclusive)").focus();
    h.get_by_label("To (inclusive)").type_text(to);
    h.get_by_label("Folder").focus();
    h.get_by_label("Folder")
        .type_text(folder.to_str().expect("utf-8 temp path"));
    h.run_steps(2);
    assert_eq!(h.state().state.org_report.from, from);
    assert_eq!(h.state().state.org_report.to, to);
    h.get_by_label("Write organisation report").click();
}

/// Steps frames until the job's outcome shows (bounded wait for a real job thread).
fn step_until(h: &mut Harness<'_, AviaryApp>, done: impl Fn(&AviaryApp) -> bool) {
    let deadline = Instant::now() + Duration::from_mins(2);
    while !done(h.state()) {
        assert!(
            Instant::now() < deadline,
            "no report; notices: {:?}",
            h.state().state.notices
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(2);
}

#[test]
fn reports_view_writes_the_organisation_report_pdf_and_csv() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("aviary.db");
    let mut h = harness_with_flown_missions(&db);
    // The form starts on the last 30 days (clock: 2026-11-29).
    assert_eq!(h.state().state.org_report.to, "2026-11-29");
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).expect("out dir");
    request_report(&mut h, "2026-11-01", "2026-11-30", &out);
    step_until(&mut h, |a| a.state.last_report.is_some());
    let pdf = out.join("organisation-report-2026-11-01-2026-11-30.pdf");
    let csv = out.join("organisation-report-2026-11-01-2026-11-30.csv");
    let shown = h.state().state.last_report.clone().unwrap_or_default();
    assert!(
        shown.contains(&pdf.display().to_string()) && shown.contains(&csv.display().to_string()),
        "{shown}"
    );
    assert!(
        h.query_all_by_label_contains("organisation-report-2026-11-01")
            .count()
            >= 1,
        "the view names the files written"
    );

    // The figures the PDF must show, from the same store read by the library directly.
    let check = Store::open(
        &db,
        Arc::new(ManualClock::new(testdata::start_time())),
        StoreOptions::default(),
    )
    .expect("reopen");
    let expected = load_org_report(
        &check,
        testdata::start_time() - chrono::Duration::days(30),
        testdata::start_time() + chrono::Duration::days(5),
        Grouping::Week,
        &ReportOptions::default(),
        &MaintenancePolicy::default(),
    )
    .expect("library report");
    let t = &expected.summary.totals;
    assert_eq!(t.missions, 2);
    assert_eq!(t.by_status.get(MissionStatus::Aborted), 1);

    let text = run(
        "pdftotext",
        &["-layout", pdf.to_str().unwrap_or_default(), "-"],
    );
    assert!(text.contains("Aviary Test Org"), "{text}");
    assert!(text.contains(testdata::SITE_NAME), "{text}");
    assert!(text.contains(&format::hours(t.flight_s)), "{text}");
    assert!(text.contains(&format::distance(t.distance_m)), "{text}");
    assert!(text.contains("2026-11-01"), "period missing: {text}");

    let rows = run(
        "python3",
        &[
            "-c",
            "import csv,sys; r=list(csv.DictReader(open(sys.argv[1]))); print('|'.join(sorted(x['mission_name']+':'+x['status'] for x in r)))",
            csv.to_str().unwrap_or_default(),
        ],
    );
    assert_eq!(
        rows.trim(),
        "Dyke inspection:aborted|North field survey:completed"
    );
}

/// A folder that does not exist is a visible error naming the file, and nothing is written.
#[test]
fn missing_report_folder_is_reported() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness_with_flown_missions(&dir.path().join("aviary.db"));
    let missing = dir.path().join("no-such-folder");
    request_report(&mut h, "2026-11-01", "2026-11-30", &missing);
    step_until(&mut h, |a| {
        a.state
            .notices
            .iter()
            .any(|n| n.text.starts_with("organisation report failed"))
    });
    let notice = h
        .state()
        .state
        .notices
        .iter()
        .find(|n| n.error && n.text.starts_with("organisation report failed"))
        .map(|n| n.text.clone())
        .unwrap_or_default();
    assert!(notice.contains("no-such-folder"), "{notice}");
    assert_eq!(h.state().state.last_report, None);
    assert!(!missing.exists());
}
