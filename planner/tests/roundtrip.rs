//! `.plan` files QGroundControl can edit: a lawnmower or crosshatch is written as a QGC survey
//! `ComplexItem` (polygon, `CameraCalc`, grid settings, `TransectStyleComplexItem` with the
//! items and `VisualTransectPoints`) between the takeoff and the return, and Aviary reads it
//! back to the same mission, survey and bytes. A survey QGroundControl wrote reads its settings.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use aviary_core::{LatLon, WaypointAction};
use aviary_planner::formats::{self, MissionDoc, PlanFileOptions, QgcSurvey};
use aviary_planner::{Pattern, Plan, SurveyParams, plan_survey};
use serde_json::Value;

fn planned(area: &str, pattern: Pattern) -> (Plan, SurveyParams) {
    let params = SurveyParams {
        pattern,
        ..SurveyParams::default()
    };
    (plan_survey(&common::area(area), &params).unwrap(), params)
}

fn qgc_survey() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/qgc/survey.plan")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-5
}

fn same_survey(a: &QgcSurvey, b: &QgcSurvey) {
    assert_eq!(a.items, b.items);
    assert_eq!(a.polygon.len(), b.polygon.len());
    for (p, q) in a.polygon.iter().zip(&b.polygon) {
        assert!(p.distance_m(*q) < 1e-6);
    }
    assert!(
        close(a.angle_deg, b.angle_deg),
        "{} {}",
        a.angle_deg,
        b.angle_deg
    );
    assert!(close(a.alt_rel_m, b.alt_rel_m));
    assert!(close(a.line_spacing_m, b.line_spacing_m));
    assert!(close(a.trigger_distance_m, b.trigger_distance_m));
    assert!(close(a.turnaround_m, b.turnaround_m));
    assert_eq!(a.refly_90_deg, b.refly_90_deg);
    assert_eq!(a.camera_shots, b.camera_shots);
    match (a.camera, b.camera) {
        (Some(x), Some(y)) => {
            assert_eq!(x.camera, y.camera);
            assert!(close(x.side_overlap_pct, y.side_overlap_pct));
            assert!(close(x.front_overlap_pct, y.front_overlap_pct));
            assert!(close(x.gsd_cm_px, y.gsd_cm_px));
        }
        (None, None) => {}
        (x, y) => panic!("camera {x:?} vs {y:?}"),
    }
}

fn same_items(a: &MissionDoc, b: &MissionDoc) {
    assert_eq!(a.items.len(), b.items.len());
    for (x, y) in a.items.iter().zip(&b.items) {
        match (x.action, y.action) {
            // The wire's f32, as the upload sends it.
            (
                WaypointAction::CameraTriggerStart { distance_m: p },
                WaypointAction::CameraTriggerStart { distance_m: q },
            ) => assert!((p - q).abs() < 1e-5),
            (p, q) => assert_eq!(p, q),
        }
        // 1e-7 degrees on the wire: about a centimetre.
        assert!(x.pos.distance_m(y.pos) < 0.02, "{x:?} vs {y:?}");
    }
}

#[test]
fn a_lawnmower_is_a_qgc_survey_complex_item_between_takeoff_and_return() {
    let (plan, params) = planned("u_shape", Pattern::Lawnmower);
    let doc = MissionDoc::from_plan_editable(&plan, &params);
    assert_eq!(doc.surveys.len(), 1);
    let text = formats::to_qgc_plan(&doc);
    let v: Value = serde_json::from_str(&text).unwrap();
    let items = v["mission"]["items"].as_array().unwrap();
    // Takeoff, speed, the survey, return to launch.
    let kinds: Vec<&str> = items.iter().map(|i| i["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["SimpleItem", "SimpleItem", "ComplexItem", "SimpleItem"]
    );
    assert_eq!(items[0]["command"], 22);
    assert_eq!(items[1]["command"], 178);
    assert_eq!(items[3]["command"], 20);
    let survey = &items[2];
    assert_eq!(survey["complexItemType"], "survey");
    assert_eq!(survey["version"], 5);
    assert_eq!(
        survey["polygon"].as_array().unwrap().len(),
        plan.areas[0].exterior.len()
    );
    let tsc = &survey["TransectStyleComplexItem"];
    assert_eq!(tsc["version"], 2);
    assert_eq!(tsc["Refly90Degrees"], false);
    let calc = &tsc["CameraCalc"];
    assert_eq!(calc["version"], 2);
    assert_eq!(calc["CameraName"], formats::CUSTOM_CAMERA);
    assert_eq!(calc["DistanceToSurface"], 50.0);
    assert_eq!(calc["AdjustedFootprintSide"], 22.5, "{calc}");
    assert_eq!(calc["AdjustedFootprintFrontal"], 10.0, "{calc}");
    assert_eq!(calc["SensorWidth"], 13.2);
    assert_eq!(calc["ImageWidth"], 5472);
    assert_eq!(calc["SideOverlap"], 70.0);
    assert_eq!(calc["FrontalOverlap"], 80.0);
    // Every survey item of the mission, numbered on from the simple items before it.
    let inner = tsc["Items"].as_array().unwrap();
    assert_eq!(inner.len(), doc.surveys[0].items.len());
    assert_eq!(inner[0]["doJumpId"], 3);
    assert_eq!(items[3]["doJumpId"], 3 + inner.len());
    let flown = plan.survey_path().count();
    assert_eq!(tsc["VisualTransectPoints"].as_array().unwrap().len(), flown);
    assert_eq!(tsc["CameraShots"], plan.estimate.photos);
    assert!(close(
        survey["angle"].as_f64().unwrap(),
        plan.sweep_angle_deg.unwrap().rem_euclid(360.0)
    ));

    // Read back: the same mission and survey, and written again the same bytes.
    let back = formats::read_qgc_plan(&text).unwrap();
    same_items(&back, &doc);
    assert_eq!(back.surveys.len(), 1);
    same_survey(&back.surveys[0], &doc.surveys[0]);
    assert_eq!(back.areas.len(), 1, "the survey polygon");
    assert_eq!(formats::to_qgc_plan(&back), text);
}

#[test]
fn a_crosshatch_refiles_at_90_degrees_and_other_patterns_stay_simple_items() {
    let (plan, params) = planned("two_holes", Pattern::Crosshatch);
    let doc = MissionDoc::from_plan_editable(&plan, &params);
    assert!(doc.surveys[0].refly_90_deg);
    let back = formats::read_qgc_plan(&formats::to_qgc_plan(&doc)).unwrap();
    same_items(&back, &doc);
    same_survey(&back.surveys[0], &doc.surveys[0]);
    for pattern in [Pattern::Spiral, Pattern::Perimeter] {
        let (plan, params) = planned("u_shape", pattern);
        let doc = MissionDoc::from_plan_editable(&plan, &params);
        assert!(
            doc.surveys.is_empty(),
            "{pattern:?}: QGroundControl has no such survey"
        );
        let v: Value = serde_json::from_str(&formats::to_qgc_plan(&doc)).unwrap();
        assert!(
            v["mission"]["items"]
                .as_array()
                .unwrap()
                .iter()
                .all(|i| i["type"] == "SimpleItem")
        );
    }
}

#[test]
fn the_fence_with_a_survey_item_holds_home_and_every_transit() {
    // Home 300 m south-west of the area's first corner, outside it.
    let corner = formats::read_area_file(&common::data("u_shape")).unwrap()[0].exterior[0];
    let params = SurveyParams {
        home: Some(corner.offset_ne(-300.0, -300.0)),
        ..SurveyParams::default()
    };
    let plan = plan_survey(&common::area("u_shape"), &params).unwrap();
    let doc = MissionDoc::from_plan_editable(&plan, &params);
    let plain: Value = serde_json::from_str(&formats::to_qgc_plan(&doc)).unwrap();
    assert_eq!(
        plain["geoFence"]["polygons"].as_array().unwrap().len(),
        0,
        "only with --fence"
    );
    let options = PlanFileOptions {
        fence: true,
        ..PlanFileOptions::default()
    };
    let text = formats::to_qgc_plan_with(&doc, &options);
    let back = formats::read_qgc_plan(&text).unwrap();
    same_items(&back, &doc);
    same_survey(&back.surveys[0], &doc.surveys[0]);
    // The survey polygon, then the inclusion fence.
    assert_eq!(back.areas.len(), 2);
    let fence = geo::Polygon::new(
        back.areas[1]
            .exterior
            .iter()
            .map(|p| geo::Coord {
                x: p.lon_deg,
                y: p.lat_deg,
            })
            .collect(),
        vec![],
    );
    let inside = |q: LatLon| {
        use geo::Contains as _;
        fence.contains(&geo::Point::new(q.lon_deg, q.lat_deg))
    };
    assert!(inside(doc.home), "home is inside the fence");
    // The fence is convex, so every straight transit between two inside points is inside.
    for w in &doc.items {
        assert!(inside(w.pos), "{w:?} is inside the fence");
    }
}

#[test]
fn a_survey_qgroundcontrol_wrote_reads_its_settings_and_stays_a_survey() {
    let path = qgc_survey();
    let doc = formats::read_mission_file(&path).unwrap();
    assert_eq!(doc.surveys.len(), 1);
    let s = &doc.surveys[0];
    // After the takeoff: the 6 items QGroundControl generated.
    assert_eq!(s.items, 1..7);
    assert!(close(s.angle_deg, 90.0));
    assert!(close(s.alt_rel_m, 50.0));
    assert!(close(s.line_spacing_m, 25.0));
    assert!(close(s.trigger_distance_m, 25.0));
    assert!(close(s.turnaround_m, 10.0));
    assert!(s.camera.is_none(), "QGroundControl's manual camera");
    assert_eq!(s.polygon.len(), 4);
    // Written by Aviary: still one survey item, read back the same.
    let text = formats::to_qgc_plan(&doc);
    let v: Value = serde_json::from_str(&text).unwrap();
    let n_complex = v["mission"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["complexItemType"] == "survey")
        .count();
    assert_eq!(n_complex, 1);
    let back = formats::read_qgc_plan(&text).unwrap();
    same_items(&back, &doc);
    same_survey(&back.surveys[0], s);
}

#[test]
fn a_survey_without_its_camera_numbers_is_refused_by_name() {
    let path = qgc_survey();
    let text = std::fs::read_to_string(path)
        .unwrap()
        .replace("\"Manual (no camera specs)\"", "\"Custom Camera\"");
    let e = formats::read_qgc_plan(&text).unwrap_err().to_string();
    assert!(e.contains("mission item 2") && e.contains("Sensor"), "{e}");
}
