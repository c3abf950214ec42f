//! Missions other tools write, read in: a QGroundControl `.plan` whose survey is a
//! `ComplexItem` (read by the items QGroundControl generated for it, its polygon as the survey
//! area), and the same mission through `QGC WPL 110` and back.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use std::path::PathBuf;

use aviary_core::WaypointAction;
use aviary_planner::formats;

fn qgc(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/qgc")
        .join(name)
}

#[test]
fn a_qgc_survey_complex_item_is_read_by_its_generated_items_and_polygon() {
    let doc = formats::read_mission_file(&qgc("survey.plan")).unwrap();
    // Takeoff, the survey's 6 generated items, RTL.
    assert_eq!(doc.items.len(), 8, "{:?}", doc.items);
    assert!(matches!(doc.items[0].action, WaypointAction::Takeoff));
    assert!(matches!(
        doc.items[2].action,
        WaypointAction::CameraTriggerStart { distance_m } if (distance_m - 25.0).abs() < 1e-9
    ));
    assert!(matches!(
        doc.items.last().unwrap().action,
        WaypointAction::ReturnToLaunch
    ));
    assert_eq!(doc.areas.len(), 1, "the survey polygon");
    assert_eq!(doc.areas[0].exterior.len(), 4);
    assert!((doc.speed_mps - 15.0).abs() < 1e-9);
    // Through WPL and back: the same items.
    let back = formats::read_wpl(&formats::to_wpl(&doc)).unwrap();
    assert_eq!(back.items.len(), doc.items.len());
    for (a, b) in back.items.iter().zip(&doc.items) {
        assert_eq!(a.action, b.action);
        assert!(a.pos.distance_m(b.pos) < 0.02);
    }
}

#[test]
fn an_unknown_item_type_is_named() {
    let text = std::fs::read_to_string(qgc("survey.plan"))
        .unwrap()
        .replace("\"ComplexItem\"", "\"FancyItem\"");
    let e = formats::read_qgc_plan(&text).unwrap_err().to_string();
    assert!(
        e.contains("mission item 2") && e.contains("FancyItem"),
        "{e}"
    );
}
