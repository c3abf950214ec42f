//! `aviary plan --no-fly` (issue 16): the transits from home to the survey and back are routed
//! around the zones. The written mission is read back and every leg, sampled every metre, is
//! outside the zone; `--json` reports no crossing and the survey is flown; a home inside a
//! zone is refused with a message naming the zone.

use aviary_core::{LatLon, WaypointAction};
use std::path::Path;
use std::process::Command;

const AVIARY: &str = env!("CARGO_BIN_EXE_aviary");
const HOME: LatLon = LatLon {
    lat_deg: 47.397_742,
    lon_deg: 8.545_594,
};

/// A rectangle `north_m` × `east_m` with its south-west corner at `sw`.
fn rect(sw: LatLon, north_m: f64, east_m: f64) -> Vec<LatLon> {
    vec![
        sw,
        sw.offset_ne(0.0, east_m),
        sw.offset_ne(north_m, east_m),
        sw.offset_ne(north_m, 0.0),
    ]
}

fn write_polygon(path: &Path, ring: &[LatLon]) {
    let mut coords: Vec<[f64; 2]> = ring.iter().map(|p| [p.lon_deg, p.lat_deg]).collect();
    coords.push(coords[0]);
    let gj = serde_json::json!({"type": "Polygon", "coordinates": [coords]});
    std::fs::write(path, gj.to_string()).expect("write polygon");
}

/// Ray casting on lat/lon as plane coordinates (fine at this scale).
fn inside(p: LatLon, ring: &[LatLon]) -> bool {
    let mut hit = false;
    for (i, a) in ring.iter().enumerate() {
        let b = ring[(i + 1) % ring.len()];
        if (a.lat_deg > p.lat_deg) != (b.lat_deg > p.lat_deg) {
            let t = (p.lat_deg - a.lat_deg) / (b.lat_deg - a.lat_deg);
            if p.lon_deg < a.lon_deg + t * (b.lon_deg - a.lon_deg) {
                hit = !hit;
            }
        }
    }
    hit
}

/// The first point, sampled at most 1 m apart along the legs of `path`, inside `ring`.
fn first_inside(path: &[LatLon], ring: &[LatLon]) -> Option<LatLon> {
    path.windows(2).find_map(|w| {
        // Truncation intended: a count of steps.
        #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let steps = w[0].distance_m(w[1]).ceil().max(1.0) as usize;
        (0..=steps)
            .map(|i| {
                #[expect(clippy::cast_precision_loss)]
                let t = i as f64 / steps as f64;
                LatLon::new(
                    w[0].lat_deg + t * (w[1].lat_deg - w[0].lat_deg),
                    w[0].lon_deg + t * (w[1].lon_deg - w[0].lon_deg),
                )
            })
            .find(|p| inside(*p, ring))
    })
}

fn plan(dir: &Path, home: LatLon, out: &Path) -> std::process::Output {
    Command::new(AVIARY)
        .args(["plan", "--json", "--home"])
        .arg(format!("{},{}", home.lat_deg, home.lon_deg))
        .arg("--area")
        .arg(dir.join("area.geojson"))
        .arg("--no-fly")
        .arg(dir.join("zone.geojson"))
        .arg("--out")
        .arg(out)
        .output()
        .expect("run aviary plan")
}

#[test]
fn plan_routes_home_legs_around_a_zone_and_refuses_home_inside_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A 300 × 400 m field 400 m east of home, a 40 m wall between them.
    write_polygon(
        &dir.path().join("area.geojson"),
        &rect(HOME.offset_ne(-150.0, 400.0), 300.0, 400.0),
    );
    let wall = rect(HOME.offset_ne(-250.0, 150.0), 500.0, 40.0);
    write_polygon(&dir.path().join("zone.geojson"), &wall);
    // The wall shrunk by half a metre: a leg may run along its edge, never inside.
    let core = rect(HOME.offset_ne(-249.5, 150.5), 499.0, 39.0);
    assert!(
        first_inside(&[HOME, HOME.offset_ne(0.0, 500.0)], &core).is_some(),
        "the straight way from home to the field crosses the wall"
    );

    for ext in ["waypoints", "plan"] {
        let out = dir.path().join(format!("mission.{ext}"));
        let o = plan(dir.path(), HOME, &out);
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(o.status.success(), "{stderr}");
        assert!(!stderr.contains("crosses no-fly zone"), "{stderr}");
        let summary: serde_json::Value =
            serde_json::from_slice(&o.stdout).expect("one JSON object");
        assert_eq!(summary["no_fly_crossings"], serde_json::json!([]));
        let distance_m = summary["distance_m"].as_f64().expect("distance");
        let survey_m = summary["survey_distance_m"].as_f64().expect("survey");
        // 300 × 400 m at the default spacing: several kilometres of survey, plus about
        // 2 × 400 m of transit and the detour around the wall.
        assert!(survey_m > 2_000.0, "{summary}");
        assert!(distance_m > survey_m + 800.0, "{summary}");

        let doc = aviary_planner::formats::read_mission_file(&out).expect("read back");
        let mut legs = vec![HOME];
        legs.extend(
            doc.items
                .iter()
                .filter(|w| w.pos != LatLon::default())
                .map(|w| w.pos),
        );
        legs.push(HOME);
        assert_eq!(
            first_inside(&legs, &core),
            None,
            "{ext}: a leg enters the wall"
        );
        // The camera starts on the survey, after the transit waypoints around the wall.
        let camera_on = doc
            .items
            .iter()
            .position(|w| matches!(w.action, WaypointAction::CameraTriggerStart { .. }))
            .expect("a camera start");
        let before: Vec<LatLon> = doc.items[..camera_on]
            .iter()
            .filter(|w| w.action == WaypointAction::FlyThrough)
            .map(|w| w.pos)
            .collect();
        assert!(
            before.len() >= 2,
            "{ext}: transit waypoints before the survey"
        );
        assert!(
            before
                .iter()
                .any(|p| p.distance_m(HOME) > 100.0 && p.distance_m(HOME) < 400.0),
            "{ext}: a waypoint beside the wall"
        );
    }

    // Home inside the wall: refused, naming the zone; nothing written.
    let out = dir.path().join("refused.waypoints");
    let o = plan(dir.path(), HOME.offset_ne(0.0, 170.0), &out);
    assert!(!o.status.success());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        stderr.contains("home is inside no-fly zone 1: move home out of the zone"),
        "{stderr}"
    );
    assert!(!out.exists());
}
