//! Reports checked with real tools: poppler's `pdfinfo`, `pdftotext` and `pdftoppm` read
//! and render the PDFs; Python's `csv` module parses the CSVs back.
//!
//! When a tool is missing the tool-specific checks are skipped with a message, unless
//! `AVIARY_REQUIRE_SERVICES=1`, which turns a missing tool into a failure. Set
//! `AVIARY_REPORT_ARTIFACTS=DIR` to keep the PDFs and rendered pages for inspection.

use aviary_core::{ManualClock, MissionStatus};
use aviary_reports::summary::{
    Grouping, HistoryFilter, MaintenancePolicy, load_history, load_org_report,
};
use aviary_reports::{
    ReportError, ReportOptions, csvout, format, load_mission_report, output, pdf, testdata,
};
use aviary_store::{Store, StoreOptions};
use chrono::Duration;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// A plain file for a test's output (the tests inspect the writers, not the commit).
fn create_output(p: &Path) -> std::io::Result<std::io::BufWriter<std::fs::File>> {
    std::fs::File::create(p).map(std::io::BufWriter::new)
}

fn tool(name: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        assert!(
            std::env::var("AVIARY_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "{name} is required (AVIARY_REQUIRE_SERVICES=1) but not installed: apt-get install poppler-utils python3"
        );
        eprintln!(
            "skipping {name} checks: {name} is not installed (apt-get install poppler-utils python3)"
        );
    }
    found
}

fn run(tool: &Path, args: &[&str]) -> String {
    let out = Command::new(tool)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{}: {e}", tool.display()));
    assert!(
        out.status.success(),
        "{} {args:?} failed: {}",
        tool.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn pdf_pages(pdfinfo: &str) -> Option<usize> {
    pdfinfo
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|v| v.trim().parse().ok())
}

fn artifacts(tmp: &Path) -> PathBuf {
    std::env::var_os("AVIARY_REPORT_ARTIFACTS").map_or_else(|| tmp.to_path_buf(), PathBuf::from)
}

fn open_store(dir: &Path) -> Store {
    let clock = Arc::new(ManualClock::new(testdata::start_time() + Duration::days(1)));
    Store::open(&dir.join("aviary.db"), clock, StoreOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Parses `csv_path` with Python's csv module and returns (header, rows) as JSON text.
fn python_csv(py: &Path, csv_path: &Path) -> (Vec<String>, Vec<Vec<String>>) {
    let script = "import csv, json, sys\nwith open(sys.argv[1], newline='') as f:\n    rows = list(csv.reader(f))\nprint(json.dumps(rows))";
    let out = run(py, &["-c", script, csv_path.to_str().unwrap_or_default()]);
    let rows: Vec<Vec<String>> = parse_json_rows(&out);
    let mut it = rows.into_iter();
    (it.next().unwrap_or_default(), it.collect())
}

/// A tiny parser for a JSON array of arrays of strings (what the script prints).
fn parse_json_rows(s: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row: Vec<String> = Vec::new();
    let mut chars = s.trim().chars().peekable();
    let mut depth = 0;
    while let Some(c) = chars.next() {
        match c {
            '[' => depth += 1,
            ']' => {
                if depth == 2 {
                    rows.push(std::mem::take(&mut row));
                }
                depth -= 1;
            }
            '"' => {
                let mut v = String::new();
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => match chars.next() {
                            Some('n') => v.push('\n'),
                            Some('u') => {
                                let hex: String = chars.by_ref().take(4).collect();
                                v.push(
                                    u32::from_str_radix(&hex, 16)
                                        .ok()
                                        .and_then(char::from_u32)
                                        .unwrap_or('?'),
                                );
                            }
                            Some(o) => v.push(o),
                            None => {}
                        },
                        o => v.push(o),
                    }
                }
                row.push(v);
            }
            _ => {}
        }
    }
    rows
}

#[test]
fn mission_report_pdf_and_csv_read_back_with_real_tools() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = open_store(tmp.path());
    let mission = testdata::lawnmower_mission(
        "North field survey",
        testdata::AREA_W_M,
        testdata::AREA_H_M,
        MissionStatus::Completed,
    );
    let seeded = testdata::seed_store(&store, mission, 10.0).unwrap_or_else(|e| panic!("{e}"));
    let report = load_mission_report(&store, seeded.mission.id, &ReportOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.samples.len(), seeded.samples.len());
    assert_eq!(report.context.site_name, "Delft Polder");
    assert!(report.issues.is_empty(), "{:?}", report.issue_lines());
    assert_eq!(report.count(aviary_reports::EventKind::Paused), 1);
    assert_eq!(report.count(aviary_reports::EventKind::Alert), 1);

    let out = artifacts(tmp.path());
    std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{e}"));
    let pdf_path = out.join("mission.pdf");
    let pages = pdf::write_mission_pdf(
        &mut create_output(&pdf_path).unwrap_or_else(|e| panic!("{e}")),
        &report,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(pages >= 2, "{pages} pages");
    let csv_path = out.join("mission.csv");
    csvout::write_mission_summaries(
        create_output(&csv_path).unwrap_or_else(|e| panic!("{e}")),
        &[&report],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let tel_path = out.join("telemetry.csv");
    csvout::write_telemetry(
        create_output(&tel_path).unwrap_or_else(|e| panic!("{e}")),
        &report.samples,
    )
    .unwrap_or_else(|e| panic!("{e}"));

    let duration = format::duration(report.duration_s.unwrap_or(f64::NAN));
    let covered = format!("{:.0} m", report.covered_area_m2.unwrap_or(f64::NAN));
    if let Some(pdfinfo) = tool("pdfinfo") {
        let info = run(&pdfinfo, &[pdf_path.to_str().unwrap_or_default()]);
        assert_eq!(pdf_pages(&info), Some(pages), "{info}");
        assert!(info.contains("North field survey"), "title missing: {info}");
    }
    if let Some(pdftotext) = tool("pdftotext") {
        let text = run(
            &pdftotext,
            &["-layout", pdf_path.to_str().unwrap_or_default(), "-"],
        );
        assert!(text.contains("North field survey"), "{text}");
        assert!(
            text.contains(&duration),
            "duration {duration:?} missing: {text}"
        );
        assert!(text.contains(&covered), "area {covered:?} missing: {text}");
        assert!(text.contains("m²"), "{text}");
        assert!(text.contains("Verdict: completed"), "{text}");
        assert!(
            text.contains(&format!("Page 1 of {pages}"))
                && text.contains(&format!("Page {pages} of {pages}")),
            "{text}"
        );
        // Events read as sentences, not raw audit strings.
        assert!(
            text.contains("Alert: link degraded: signal 41 %."),
            "{text}"
        );
        assert!(text.contains("Mission started; now in progress."), "{text}");
        assert!(text.contains("Mission resumed; now in progress."), "{text}");
        assert!(!text.contains("mission.start"), "{text}");
    }
    if let Some(pdftoppm) = tool("pdftoppm") {
        let prefix = out.join("mission-page");
        run(
            &pdftoppm,
            &[
                "-png",
                "-r",
                "80",
                pdf_path.to_str().unwrap_or_default(),
                prefix.to_str().unwrap_or_default(),
            ],
        );
        let first = out.join(format!(
            "mission-page-{}.png",
            if pages >= 10 { "01" } else { "1" }
        ));
        let bytes = std::fs::read(&first).unwrap_or_else(|e| panic!("{}: {e}", first.display()));
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 20_000,
            "{} bytes",
            bytes.len()
        );
    }
    if let Some(py) = tool("python3") {
        let (header, rows) = python_csv(&py, &csv_path);
        assert_eq!(header, csvout::SUMMARY_HEADER);
        assert_eq!(rows.len(), 1);
        let col = |name: &str| {
            header
                .iter()
                .position(|h| h == name)
                .map(|i| rows[0][i].clone())
                .unwrap_or_default()
        };
        assert_eq!(col("mission_name"), "North field survey");
        assert_eq!(col("verdict"), "completed");
        let events = col("events");
        assert!(
            events.contains("Mission paused; now paused.")
                && events.contains("Alert: link degraded: signal 41 %."),
            "{events}"
        );
        let dur: f64 = col("duration_s").parse().unwrap_or(f64::NAN);
        assert!(
            (dur - report.duration_s.unwrap_or_default()).abs() < 0.1,
            "{dur}"
        );
        let (theader, trows) = python_csv(&py, &tel_path);
        assert_eq!(theader, csvout::TELEMETRY_HEADER);
        assert_eq!(trows.len(), report.samples.len());
        assert_eq!(trows[0][0], format::iso_utc(report.samples[0].time));
        let alt: f64 = trows[10][5].parse().unwrap_or(f64::NAN);
        assert!((alt - report.samples[10].alt_rel_m).abs() < 0.01);
    }
}

#[test]
fn org_report_pdf_and_history_csv_read_back_with_real_tools() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = open_store(tmp.path());
    let done = testdata::lawnmower_mission(
        "North field survey",
        testdata::AREA_W_M,
        testdata::AREA_H_M,
        MissionStatus::Completed,
    );
    let aborted =
        testdata::lawnmower_mission("Dyke inspection", 200.0, 150.0, MissionStatus::Aborted);
    let a = testdata::seed_store(&store, done, 5.0).unwrap_or_else(|e| panic!("{e}"));
    let b = testdata::seed_store(&store, aborted, 5.0).unwrap_or_else(|e| panic!("{e}"));
    // A completed mission whose telemetry never arrived.
    let mut lost =
        testdata::lawnmower_mission("Lost telemetry", 100.0, 100.0, MissionStatus::Completed);
    lost.org_id = a.mission.org_id;
    lost.site_id = a.site.id;
    lost.drone_id = Some(a.drone.id);
    store
        .insert_mission(&lost)
        .unwrap_or_else(|e| panic!("{e}"));

    // The history, filtered in the store and on the flight start.
    let history = load_history(
        &store,
        &HistoryFilter {
            statuses: vec![MissionStatus::Completed],
            ..HistoryFilter::default()
        },
        &ReportOptions::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<&str> = history.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(
        names.contains(&"North field survey") && names.contains(&"Lost telemetry"),
        "{names:?}"
    );
    let by_drone = HistoryFilter {
        drone_id: Some(b.drone.id),
        statuses: vec![MissionStatus::Aborted],
        ..HistoryFilter::default()
    };
    let aborted = load_history(&store, &by_drone, &ReportOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        aborted.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
        ["Dyke inspection"]
    );
    assert!(aborted[0].distance_m.is_some_and(|d| d > 100.0));

    let from = testdata::start_time() - Duration::days(10);
    let to = testdata::start_time() + Duration::days(10);
    let report = load_org_report(
        &store,
        from,
        to,
        Grouping::Day,
        &ReportOptions::default(),
        &MaintenancePolicy::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let t = &report.summary.totals;
    assert_eq!(t.missions, 3);
    assert_eq!(t.flown_without_telemetry, 1);
    assert_eq!(t.by_status.get(MissionStatus::Aborted), 1);
    assert!((t.success_rate_pct().unwrap_or_default() - 200.0 / 3.0).abs() < 1e-9);
    let expected_s = [&a.samples, &b.samples]
        .iter()
        .map(|s| (s[s.len() - 1].time - s[0].time).num_milliseconds() as f64 / 1000.0)
        .sum::<f64>();
    assert!(
        (t.flight_s - expected_s).abs() < 0.01,
        "{} vs {expected_s}",
        t.flight_s
    );

    let out = artifacts(tmp.path());
    std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{e}"));
    let pdf_path = out.join("org.pdf");
    let pages = report
        .write_pdf(&mut create_output(&pdf_path).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(pages >= 3, "{pages}");
    let csv_path = out.join("history.csv");
    report
        .write_history_csv(create_output(&csv_path).unwrap_or_else(|e| panic!("{e}")))
        .unwrap_or_else(|e| panic!("{e}"));

    if let Some(pdftotext) = tool("pdftotext") {
        let text = run(
            &pdftotext,
            &["-layout", pdf_path.to_str().unwrap_or_default(), "-"],
        );
        assert!(text.contains("Aviary Test Org"), "{text}");
        assert!(
            text.contains("Delft Polder") && text.contains("Europe/Amsterdam"),
            "{text}"
        );
        assert!(text.contains(&format::hours(t.flight_s)), "{text}");
        assert!(text.contains("1 flown mission has no telemetry"), "{text}");
        assert!(
            text.contains("2026-11-26"),
            "day bucket label missing: {text}"
        );
        assert!(text.contains(&format!("Page {pages} of {pages}")), "{text}");
    }
    if let Some(pdfinfo) = tool("pdfinfo") {
        let info = run(&pdfinfo, &[pdf_path.to_str().unwrap_or_default()]);
        assert_eq!(pdf_pages(&info), Some(pages), "{info}");
    }
    if let Some(pdftoppm) = tool("pdftoppm") {
        let prefix = out.join("org-page");
        run(
            &pdftoppm,
            &[
                "-png",
                "-r",
                "80",
                "-f",
                "1",
                "-l",
                "2",
                pdf_path.to_str().unwrap_or_default(),
                prefix.to_str().unwrap_or_default(),
            ],
        );
        assert!(std::fs::read_dir(&out).is_ok_and(|d| {
            d.filter_map(Result::ok)
                .any(|e| e.file_name().to_string_lossy().starts_with("org-page"))
        }));
    }
    if let Some(py) = tool("python3") {
        let (header, rows) = python_csv(&py, &csv_path);
        assert_eq!(header, csvout::HISTORY_HEADER);
        assert_eq!(rows.len(), 3);
        let lost_row = rows
            .iter()
            .find(|r| r[1] == "Lost telemetry")
            .cloned()
            .unwrap_or_default();
        let col = |name: &str| csvout::HISTORY_HEADER.iter().position(|h| *h == name);
        let cell = |name: &str| col(name).and_then(|i| lost_row.get(i)).map(String::as_str);
        assert_eq!(cell("telemetry"), Some("missing"));
        assert_eq!(cell("timezone"), Some("Europe/Amsterdam"));
        assert_eq!(cell("flight_s"), Some(""), "flight_s must be empty, not 0");
    }
}

#[test]
fn unwritable_output_path_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bad = tmp.path().join("no-such-dir").join("report.pdf");
    let err = output::commit(&[output::OutputFile::new(&bad, b"%PDF".to_vec())])
        .err()
        .unwrap_or_else(|| panic!("creating {} should fail", bad.display()));
    assert!(matches!(err, ReportError::CreateOutput { .. }));
    let msg = err.to_string();
    assert!(
        msg.contains(&bad.display().to_string()) && msg.contains("cannot create report file"),
        "{msg}"
    );
    let err = output::check_targets([bad.as_path()]).expect_err("missing folder");
    assert!(err.to_string().contains("folder does not exist"), "{err}");
}

#[test]
fn mission_without_telemetry_still_renders_and_says_so() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = open_store(tmp.path());
    let mission =
        testdata::lawnmower_mission("Never heard from", 100.0, 100.0, MissionStatus::InProgress);
    let seeded = testdata::seed_store(&store, mission, 10.0).unwrap_or_else(|e| panic!("{e}"));
    // A second mission at the same site with no samples at all.
    let mut silent =
        testdata::lawnmower_mission("Silent mission", 100.0, 100.0, MissionStatus::InProgress);
    silent.org_id = seeded.mission.org_id;
    silent.site_id = seeded.site.id;
    store
        .insert_mission(&silent)
        .unwrap_or_else(|e| panic!("{e}"));
    let report = load_mission_report(&store, silent.id, &ReportOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let lines = report.issue_lines();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("still in progress and has no telemetry")),
        "{lines:?}"
    );
    assert!(
        lines.iter().any(|l| l.contains("no telemetry stored")),
        "{lines:?}"
    );
    let out = artifacts(tmp.path());
    std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{e}"));
    let pdf_path = out.join("silent.pdf");
    pdf::write_mission_pdf(
        &mut create_output(&pdf_path).unwrap_or_else(|e| panic!("{e}")),
        &report,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    if let Some(pdftotext) = tool("pdftotext") {
        let text = run(&pdftotext, &[pdf_path.to_str().unwrap_or_default(), "-"]);
        assert!(text.contains("Verdict: in progress"), "{text}");
        assert!(text.contains("n/a (no telemetry)"), "{text}");
        assert!(
            text.contains("No telemetry is stored for this mission"),
            "{text}"
        );
    }
}
