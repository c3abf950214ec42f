//! Our files in real third-party tools: the `QGC WPL 110` file through pymavlink's `mavwp`
//! loader (MAVProxy's `wp load`) and the `.plan` (with its QGroundControl survey item) through
//! MAVSDK's QGroundControl import; a mission MAVProxy's `wp save` wrote, through Aviary and
//! back. The Python side is `tests/py/check_files.py` and `tests/py/wp_save.py`. Without the Python modules the test prints why
//! it skips, and fails when `AVIARY_REQUIRE_SERVICES=1`.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use aviary_planner::formats::{self, MissionDoc};
use aviary_planner::{Area, Pattern, SurveyParams, plan_survey};

fn required() -> bool {
    std::env::var("AVIARY_REQUIRE_SERVICES").is_ok_and(|v| v == "1")
}

fn skip(reason: &str) {
    assert!(!required(), "AVIARY_REQUIRE_SERVICES=1 but {reason}");
    eprintln!(
        "SKIP real_tools: {reason} (install: python3 -m pip install pymavlink pyserial numpy pillow mavsdk && python3 -m pip install --no-deps mavproxy)"
    );
}

/// Runs the checker; `None` when it could not run or a module is missing (skip).
fn check(wpl: &Path, n_wpl: usize, plan: &Path, n_plan: usize) -> Option<(bool, String)> {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/py/check_files.py");
    let child = Command::new("python3")
        .arg(&script)
        .arg(wpl)
        .arg(n_wpl.to_string())
        .arg(plan)
        .arg(n_plan.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        skip("python3 is not on PATH");
        return None;
    };
    // The checker opens a loopback UDP port; never let it hang the test run.
    let deadline = Instant::now() + Duration::from_secs(90);
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("check_files.py did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if status.code() == Some(2) {
        skip(text.trim());
        return None;
    }
    Some((status.success(), text))
}

fn write_and_check(area_file: &str, pattern: Pattern) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(area_file);
    let area = Area::new(&formats::read_area_file(&path).unwrap(), &[], 500e6).unwrap();
    // One sortie's worth so the files are a real upload (≤ 718 items).
    let params = SurveyParams {
        pattern,
        ..SurveyParams::default()
    };
    let plan = plan_survey(&area, &params).unwrap();
    let mut doc = MissionDoc::from_sortie(&plan, 0).unwrap();
    // Its survey as a QGroundControl survey item; MAVSDK uploads the item's own items.
    let survey = formats::QgcSurvey::of_plan(&plan, &params).unwrap();
    doc.surveys = vec![formats::QgcSurvey {
        items: formats::QgcSurvey::block(&doc.items).unwrap(),
        ..survey
    }];
    let dir = tempfile::tempdir().unwrap();
    let wpl = dir.path().join("mission.waypoints");
    let qgc = dir.path().join("mission.plan");
    formats::write_mission_file(&wpl, &doc).unwrap();
    // With the geofence (around home, the area and every transit), which MAVSDK must import.
    let options = formats::PlanFileOptions {
        fence: true,
        ..formats::PlanFileOptions::default()
    };
    formats::write_mission_file_with(&qgc, &doc, &options).unwrap();
    // WPL: the one item list (home line, our items and the speed item). .plan: for ArduPilot
    // (`firmwareType` 3) MAVSDK prepends the planned home position as item 0, as ArduPilot
    // numbers its missions.
    let n = aviary_core::mission_items::mission_items(doc.home, &doc.items, doc.speed_mps).len();
    let Some((ok, text)) = check(&wpl, n, &qgc, n) else {
        return;
    };
    eprintln!("{text}");
    assert!(ok, "a real tool rejected our files:\n{text}");
    assert!(text.contains("OK"));
}

#[test]
fn pymavlink_and_mavsdk_load_a_crosshatch_with_holes() {
    write_and_check("two_holes.geojson", Pattern::Crosshatch);
}

#[test]
fn pymavlink_and_mavsdk_load_a_lawnmower_on_the_u_shape() {
    write_and_check("u_shape.geojson", Pattern::Lawnmower);
}

/// Runs `tests/py/<script>` with `args`; `None` (skip) when it could not run or exits 2.
fn python(script: &str, args: &[&std::ffi::OsStr]) -> Option<String> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/py")
        .join(script);
    let Ok(out) = Command::new("python3").arg(&path).args(args).output() else {
        skip("python3 is not on PATH");
        return None;
    };
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.code() == Some(2) {
        skip(text.trim());
        return None;
    }
    assert!(out.status.success(), "{script} failed:\n{text}");
    Some(text)
}

#[test]
fn a_mission_mavproxy_saved_goes_through_aviary_and_back_into_mavproxy() {
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("saved.waypoints");
    let Some(text) = python("wp_save.py", &[saved.as_os_str()]) else {
        return;
    };
    eprintln!("{text}");
    // Aviary imports MAVProxy's file and exports it again, as WPL and as a .plan.
    let doc = formats::read_mission_file(&saved).unwrap();
    assert_eq!(
        doc.items.len(),
        8,
        "takeoff, 4 waypoints, camera on and off, RTL"
    );
    assert!((doc.speed_mps - 6.0).abs() < 1e-6);
    let wpl = dir.path().join("exported.waypoints");
    let qgc = dir.path().join("exported.plan");
    formats::write_mission_file(&wpl, &doc).unwrap();
    let options = formats::PlanFileOptions {
        fence: true,
        ..formats::PlanFileOptions::default()
    };
    formats::write_mission_file_with(&qgc, &doc, &options).unwrap();
    // Item for item what MAVProxy saved (home's altitude aside: Aviary's home is at 0 m).
    let read = |p: &Path| formats::read_wpl_items(&std::fs::read_to_string(p).unwrap()).unwrap();
    let (before, after) = (read(&saved), read(&wpl));
    assert_eq!(
        aviary_core::mission_items::first_difference(&before, &after, true),
        None
    );
    // MAVProxy's loader (`wp load`) and MAVSDK take the exported files.
    let n = before.len();
    let Some((ok, text)) = check(&wpl, n, &qgc, n) else {
        return;
    };
    eprintln!("{text}");
    assert!(ok, "a real tool rejected our files:\n{text}");
}

#[test]
fn a_survey_qgroundcontrol_wrote_goes_through_aviary_into_mavsdk_and_mavproxy() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/qgc/survey.plan");
    let doc = formats::read_mission_file(&path).unwrap();
    assert_eq!(doc.surveys.len(), 1);
    let dir = tempfile::tempdir().unwrap();
    let wpl = dir.path().join("survey.waypoints");
    let qgc = dir.path().join("survey.plan");
    formats::write_mission_file(&wpl, &doc).unwrap();
    let options = formats::PlanFileOptions {
        fence: true,
        firmware: formats::Firmware::Px4,
    };
    formats::write_mission_file_with(&qgc, &doc, &options).unwrap();
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&qgc).unwrap()).unwrap();
    assert!(
        v["mission"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["complexItemType"] == "survey"),
        "still a survey item"
    );
    let n = aviary_core::mission_items::mission_items(doc.home, &doc.items, doc.speed_mps).len();
    // MAVSDK 4 prepends the planned home position as item 0 for PX4 too, and uploads the
    // survey item's own items.
    let Some((ok, text)) = check(&wpl, n, &qgc, n) else {
        return;
    };
    eprintln!("{text}");
    assert!(ok, "a real tool rejected our files:\n{text}");
}
