//! Exports never destroy or half-write a file (issue 17): `aviary plan --out` and the app's
//! Plan export write a temporary file beside the target, sync it and rename it over the
//! target, so a failed write leaves an existing file byte-identical and a good one replaces
//! it whole.
//!
//! The failure is made deterministic (and independent of running as root) by putting a
//! directory where the writer's temporary file would go.

use aviary_core::{LatLon, SurveyArea};
use std::path::{Path, PathBuf};
use std::process::Command;

const AVIARY: &str = env!("CARGO_BIN_EXE_aviary");
const HOME: LatLon = LatLon {
    lat_deg: 47.397_742,
    lon_deg: 8.545_594,
};

fn field() -> Vec<LatLon> {
    let sw = HOME.offset_ne(20.0, 30.0);
    vec![
        sw,
        sw.offset_ne(0.0, 150.0),
        sw.offset_ne(100.0, 150.0),
        sw.offset_ne(100.0, 0.0),
    ]
}

fn area_file(dir: &Path) -> PathBuf {
    let mut ring: Vec<[f64; 2]> = field().iter().map(|p| [p.lon_deg, p.lat_deg]).collect();
    ring.push(ring[0]);
    let area = dir.join("area.geojson");
    let gj = serde_json::json!({"type": "Polygon", "coordinates": [ring]});
    std::fs::write(&area, gj.to_string()).expect("write area");
    area
}

/// Runs `aviary plan` for the field into `out`; returns (success, stderr).
fn aviary_plan(area: &Path, out: &Path, speed_mps: &str) -> (bool, String) {
    let o = Command::new(AVIARY)
        .args([
            "plan",
            "--altitude-m",
            "40",
            "--speed-mps",
            speed_mps,
            "--home",
        ])
        .arg(format!("{},{}", HOME.lat_deg, HOME.lon_deg))
        .arg("--area")
        .arg(area)
        .arg("--out")
        .arg(out)
        .output()
        .expect("run aviary plan");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Where the writer puts its temporary file for `target`.
fn temp_of(target: &Path) -> PathBuf {
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    target.with_file_name(format!(".{name}.tmp"))
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect()
}

#[test]
fn cli_plan_write_is_all_or_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let area = area_file(dir.path());
    let out = dir.path().join("survey.plan");

    let (ok, err) = aviary_plan(&area, &out, "6");
    assert!(ok, "{err}");
    let before = std::fs::read(&out).expect("plan written");
    assert!(before.len() > 500, "{} bytes", before.len());
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );

    // A write that cannot happen: the existing plan is untouched and the error says why.
    let blocker = temp_of(&out);
    std::fs::create_dir(&blocker).expect("block the temporary file");
    let (ok, err) = aviary_plan(&area, &out, "9");
    assert!(!ok, "the blocked write must fail");
    assert!(!err.trim().is_empty(), "a failure must say what went wrong");
    assert_eq!(
        std::fs::read(&out).expect("still there"),
        before,
        "byte-identical after a failure"
    );

    // Bad input fails before anything is written.
    std::fs::remove_dir(&blocker).expect("unblock");
    let missing = dir.path().join("no-such-area.geojson");
    let (ok, err) = aviary_plan(&missing, &out, "9");
    assert!(!ok && err.contains("no-such-area"), "{err}");
    assert_eq!(std::fs::read(&out).expect("still there"), before);

    // A good write replaces the file whole and leaves no temporary file.
    let (ok, err) = aviary_plan(&area, &out, "9");
    assert!(ok, "{err}");
    let after = std::fs::read(&out).expect("plan rewritten");
    assert_ne!(after, before, "the new speed is in the new plan");
    assert!(
        serde_json::from_slice::<serde_json::Value>(&after).is_ok(),
        "a whole .plan file"
    );
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}

#[test]
fn app_plan_export_is_all_or_nothing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let area = SurveyArea {
        exterior: field(),
        holes: Vec::new(),
    };
    let waypoints = Vec::new();
    for name in [
        "export.plan",
        "export.waypoints",
        "export.kml",
        "export.geojson",
    ] {
        let out = dir.path().join(name);
        std::fs::write(&out, b"the operator's earlier export\n").expect("existing file");
        let blocker = temp_of(&out);
        std::fs::create_dir(&blocker).expect("block the temporary file");
        let plan = aviary_app::gui::planning::PlanFile {
            area: &area,
            no_fly: &[],
            waypoints: &waypoints,
            home: HOME,
            speed_mps: 6.0,
            home_amsl_m: None,
        };
        let err = aviary_app::gui::planning::write_plan(&out, &plan)
            .expect_err("the blocked export must fail");
        assert!(
            !err.is_empty(),
            "{name}: a failure must say what went wrong"
        );
        assert_eq!(
            std::fs::read(&out).expect("still there"),
            b"the operator's earlier export\n",
            "{name}: byte-identical after a failure"
        );
        std::fs::remove_dir(&blocker).expect("unblock");
        aviary_app::gui::planning::write_plan(&out, &plan)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let written = std::fs::read_to_string(&out).expect("exported");
        assert_ne!(written, "the operator's earlier export\n", "{name}");
        assert!(written.len() > 50, "{name}: {written}");
    }
    assert!(
        leftovers(dir.path()).is_empty(),
        "{:?}",
        leftovers(dir.path())
    );
}
