//! Planned against actual in the mission report: a mission flown as planned matches its
//! plan, one cut short and one flown at the wrong speed are flagged, in the report's rows,
//! the summary CSV and the PDF's text.

use aviary_core::{DroneId, MissionStatus};
use aviary_reports::planned::{Comparison, FLAG_PCT};
use aviary_reports::{ReportContext, ReportOptions, analyze, csvout, pdf, testdata};

fn context() -> ReportContext {
    ReportContext {
        site_name: "Delft Polder".into(),
        timezone: chrono_tz::Europe::Amsterdam,
        drone_label: Some("AV-1".into()),
    }
}

fn row<'a>(r: &'a aviary_reports::MissionReport, what: &str) -> &'a Comparison {
    r.planned_vs_actual
        .iter()
        .find(|c| c.what == what)
        .unwrap_or_else(|| panic!("no {what} row in {:?}", r.planned_vs_actual))
}

fn pdf_text(r: &aviary_reports::MissionReport) -> Option<String> {
    let mut bytes = Vec::new();
    pdf::write_mission_pdf(&mut bytes, r).unwrap_or_else(|e| panic!("{e}"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let path = dir.path().join("m.pdf");
    std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{e}"));
    let out = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .ok()?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_mission_flown_as_planned_matches_its_plan() {
    let mission = testdata::lawnmower_mission(
        "As planned",
        testdata::AREA_W_M,
        testdata::AREA_H_M,
        MissionStatus::Completed,
    );
    let samples = testdata::fly(&mission, DroneId::new_random(), 5.0);
    let r = analyze(
        &mission,
        context(),
        samples,
        Vec::new(),
        Vec::new(),
        &ReportOptions::default(),
    );
    assert_eq!(
        r.planned_vs_actual
            .iter()
            .map(|c| c.what)
            .collect::<Vec<_>>(),
        [
            "Distance",
            "Duration",
            "Speed (surveying)",
            "Photos",
            "Battery used",
            "Area covered"
        ]
    );
    for what in [
        "Distance",
        "Duration",
        "Speed (surveying)",
        "Photos",
        "Area covered",
    ] {
        let c = row(&r, what);
        assert!(c.planned.is_some() && c.actual.is_some(), "{c:?}");
        assert!(
            !c.flagged(),
            "{what} flagged on a mission flown as planned: {c:?}"
        );
    }
    assert!(row(&r, "Battery used").planned.is_some_and(|p| p > 0.0));
}

#[test]
fn a_mission_cut_short_is_flagged() {
    let mission = testdata::lawnmower_mission(
        "Cut short",
        testdata::AREA_W_M,
        testdata::AREA_H_M,
        MissionStatus::Aborted,
    );
    let mut samples = testdata::fly(&mission, DroneId::new_random(), 5.0);
    samples.truncate(samples.len() / 2);
    let r = analyze(
        &mission,
        context(),
        samples,
        Vec::new(),
        Vec::new(),
        &ReportOptions::default(),
    );
    for what in ["Distance", "Duration", "Photos", "Area covered"] {
        let c = row(&r, what);
        let d = c.difference_pct().unwrap_or_else(|| panic!("{c:?}"));
        assert!(d < -FLAG_PCT && c.flagged(), "{what}: {d:.1} % {c:?}");
    }
    assert!(
        !row(&r, "Speed (surveying)").flagged(),
        "the speed was right"
    );

    let mut csv = Vec::new();
    csvout::write_mission_summaries(&mut csv, &[&r]).unwrap_or_else(|e| panic!("{e}"));
    let mut rd = csv::Reader::from_reader(csv.as_slice());
    let header = rd.headers().unwrap_or_else(|e| panic!("{e}")).clone();
    let rec = rd.records().next().and_then(Result::ok).unwrap_or_default();
    let cell = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .and_then(|i| rec.get(i))
            .unwrap_or_default()
            .to_owned()
    };
    let planned: f64 = cell("planned_distance_m").parse().unwrap_or(f64::NAN);
    let actual: f64 = cell("distance_m").parse().unwrap_or(f64::NAN);
    assert!(
        actual < 0.7 * planned,
        "planned {planned} m, flown {actual} m"
    );

    if let Some(text) = pdf_text(&r) {
        assert!(text.contains("Planned vs actual"), "{text}");
        assert!(text.contains("(check)"), "{text}");
    }
}

#[test]
fn a_wrong_speed_is_flagged() {
    let mut mission = testdata::lawnmower_mission(
        "Wrong speed",
        testdata::AREA_W_M,
        testdata::AREA_H_M,
        MissionStatus::Completed,
    );
    // Planned at twice the speed the drone flew (the test data fly at SPEED_MPS): the speed
    // row is flagged and the flight took longer than planned.
    mission.parameters.speed_mps = 2.0 * testdata::SPEED_MPS;
    let samples = testdata::fly(&mission, DroneId::new_random(), 5.0);
    let r = analyze(
        &mission,
        context(),
        samples,
        Vec::new(),
        Vec::new(),
        &ReportOptions::default(),
    );
    let speed = row(&r, "Speed (surveying)");
    assert_eq!(speed.planned, Some(10.0));
    let d = speed.difference_pct().unwrap_or(f64::NAN);
    assert!(
        (d + 50.0).abs() < 5.0 && speed.flagged(),
        "{d:.1} % {speed:?}"
    );
    assert!(
        row(&r, "Duration")
            .difference_pct()
            .is_some_and(|d| d > 0.0),
        "the flight took longer than planned"
    );
    assert!(!row(&r, "Distance").flagged(), "the whole path was flown");
    assert!(speed.difference_text().ends_with("(check)"));
}
