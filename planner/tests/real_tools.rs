//! Our files in real third-party tools: the `QGC WPL 110` file through pymavlink's `mavwp`
//! loader (MAVProxy's `wp load`) and the `.plan` through MAVSDK's QGroundControl import. The
//! Python side is `tests/py/check_files.py`. Without the Python modules the test prints why
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
    let plan = plan_survey(
        &area,
        &SurveyParams {
            pattern,
            ..SurveyParams::default()
        },
    )
    .unwrap();
    let doc = MissionDoc::from_sortie(&plan, 0).unwrap();
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
