//! Inputs a new user meets on the first day, each with the message that says what is wrong
//! (or a plan where one can be made): an area across the antimeridian, an area smaller than one
//! photo, an area thinner than the line spacing, a survey that needs an absurd number of
//! sorties, and the numbers and fence of the `.plan` written.
#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use aviary_core::{LatLon, SurveyArea, WaypointAction};
use aviary_planner::formats::{self, Firmware, MissionDoc, PlanFileOptions};
use aviary_planner::{Area, Pattern, PlanError, SurveyParams, plan_survey};

mod common;

fn ring(points: &[(f64, f64)]) -> SurveyArea {
    SurveyArea {
        exterior: points
            .iter()
            .map(|&(lat, lon)| LatLon::new(lat, lon))
            .collect(),
        holes: vec![],
    }
}

/// A rectangle `north_m` × `east_m` with its south-west corner at `sw`.
fn rect(sw: LatLon, north_m: f64, east_m: f64) -> SurveyArea {
    SurveyArea {
        exterior: vec![
            sw,
            sw.offset_ne(0.0, east_m),
            sw.offset_ne(north_m, east_m),
            sw.offset_ne(north_m, 0.0),
        ],
        holes: vec![],
    }
}

#[test]
fn an_area_across_the_antimeridian_is_planned() {
    // About 1.1 × 1.1 km on Fiji's side of ±180°.
    let a = ring(&[
        (-17.0, 179.995),
        (-17.0, -179.995),
        (-16.99, -179.995),
        (-16.99, 179.995),
    ]);
    let area = Area::new(&[a], &[], 500e6).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        (0.9e6..1.5e6).contains(&area.area_m2()),
        "{} m²",
        area.area_m2()
    );
    let p = plan_survey(&area, &SurveyParams::default()).unwrap_or_else(|e| panic!("{e}"));
    assert!(p.estimate.coverage_pct > 99.0, "{:?}", p.estimate);
    // Every waypoint is a valid longitude next to the area (within 0.01° of ±180°).
    for w in p.survey_path() {
        assert!(
            w.lon_deg.abs() > 179.99 && w.lon_deg.abs() <= 180.0,
            "{w:?}"
        );
    }
    // The path flies a few kilometres, not around the world.
    assert!(p.estimate.distance_m < 100e3, "{}", p.estimate.distance_m);
}

#[test]
fn an_area_smaller_than_one_footprint_says_so() {
    let sw = LatLon::new(47.4, 8.5);
    let area = Area::new(&[rect(sw, 1.0, 1.0)], &[], 500e6).unwrap_or_else(|e| panic!("{e}"));
    let e = plan_survey(&area, &SurveyParams::default()).unwrap_err();
    assert!(
        matches!(e, PlanError::AreaSmallerThanFootprint { .. }),
        "{e}"
    );
    let msg = e.to_string();
    assert!(msg.contains("smaller than one camera footprint"), "{msg}");
    assert!(!msg.contains("no-fly"), "{msg}");
}

#[test]
fn an_area_thinner_than_the_line_spacing_is_refused() {
    // Three points on one parallel: a sliver a few metres wide at most.
    let a = ring(&[(47.4, 8.5), (47.4, 8.51), (47.4, 8.52)]);
    let e = Area::new(&[a], &[], 500e6)
        .and_then(|area| plan_survey(&area, &SurveyParams::default()))
        .unwrap_err();
    let msg = e.to_string();
    assert!(
        matches!(
            e,
            PlanError::AreaThinnerThanSpacing { .. } | PlanError::ZeroArea { .. }
        ),
        "{msg}"
    );
    // A 2 km × 10 m strip: long, but thinner than the 22.5 m between lines.
    let sw = LatLon::new(47.4, 8.5);
    let area = Area::new(&[rect(sw, 10.0, 2000.0)], &[], 500e6).unwrap();
    let e = plan_survey(&area, &SurveyParams::default()).unwrap_err();
    assert!(matches!(e, PlanError::AreaThinnerThanSpacing { .. }), "{e}");
    assert!(
        e.to_string().contains("thinner than the line spacing"),
        "{e}"
    );
}

#[test]
fn an_absurd_number_of_sorties_stops_before_planning_and_names_the_count() {
    let area = common::area("large_80km2");
    let params = SurveyParams {
        alt_rel_m: 1.0,
        ..SurveyParams::default()
    };
    let started = std::time::Instant::now();
    let e = plan_survey(&area, &params).unwrap_err();
    let PlanError::TooManySorties { needed, max } = e else {
        panic!("{e}");
    };
    assert!(needed > 10_000, "{needed}");
    assert_eq!(max, params.max_sorties);
    assert!(e_message(needed, max).contains(&needed.to_string()));
    // Refused before any path is made (the plan itself takes minutes).
    assert!(started.elapsed().as_secs() < 5, "{:?}", started.elapsed());
    // A limit below what a plan needs is also held after the cuts.
    let p = SurveyParams {
        max_sorties: 1,
        pattern: Pattern::Lawnmower,
        ..SurveyParams::default()
    };
    let e = plan_survey(&common::area("convex_2km2"), &p).unwrap_err();
    assert!(matches!(e, PlanError::TooManySorties { max: 1, .. }), "{e}");
}

fn e_message(needed: usize, max: usize) -> String {
    PlanError::TooManySorties { needed, max }.to_string()
}

#[test]
fn plan_files_write_numbers_as_people_read_them_and_the_autopilot() {
    let sw = LatLon::new(47.4, 8.5);
    let area = Area::new(&[rect(sw, 200.0, 300.0)], &[], 500e6).unwrap();
    let p = plan_survey(
        &area,
        &SurveyParams {
            spacing: aviary_planner::Spacing::Direct {
                line_spacing_m: 20.0,
                // Not representable: the wire's f32 reads 6.000000238418579 as an f64.
                trigger_distance_m: Some(0.1 + 5.9),
            },
            home: Some(sw.offset_ne(-40.0, -40.0)),
            ..SurveyParams::default()
        },
    )
    .unwrap();
    let doc = MissionDoc::from_plan(&p);
    let px4 = PlanFileOptions {
        firmware: Firmware::Px4,
        fence: false,
    };
    let text = formats::to_qgc_plan_with(&doc, &px4);
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["mission"]["firmwareType"], 12);
    assert_eq!(
        v["geoFence"]["polygons"].as_array().map(Vec::len),
        Some(0),
        "no fence unless asked"
    );
    let trig = v["mission"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["command"] == 206 && i["params"][0].as_f64().is_some_and(|d| d > 0.0))
        .unwrap();
    assert_eq!(trig["params"][0].to_string(), "6.0", "{trig}");
    assert!(
        !text.contains("5.99999") && !text.contains("6.00000"),
        "{text}"
    );
    let ardu = formats::to_qgc_plan(&doc);
    assert!(ardu.contains("\"firmwareType\": 3"));
    // Read back: the same trigger distance.
    let back = formats::read_qgc_plan(&text).unwrap();
    assert!(back.items.iter().any(|w| matches!(
        w.action,
        WaypointAction::CameraTriggerStart { distance_m } if (distance_m - 6.0).abs() < 1e-9
    )));
    assert_eq!("px4".parse::<Firmware>().ok(), Some(Firmware::Px4));
    assert!("betaflight".parse::<Firmware>().is_err());
}

#[test]
fn a_sortie_file_holds_its_own_items_only() {
    let area = common::area("convex_2km2");
    let mut params = SurveyParams::default();
    params.airframe.battery_wh = 30.0;
    let p = plan_survey(&area, &params).unwrap();
    assert!(p.sorties.len() > 2, "{}", p.sorties.len());
    for (i, s) in p.sorties.iter().enumerate() {
        let doc = MissionDoc::sortie_items_only(&p, i).unwrap();
        assert_eq!(doc.items, s.items);
        assert!(doc.areas.is_empty() && doc.no_fly.is_empty());
        let text = formats::to_qgc_plan(&doc);
        let n = aviary_core::mission_items::mission_items(doc.home, &doc.items, doc.speed_mps);
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            v["mission"]["items"].as_array().map(Vec::len),
            Some(n.len() - 1),
            "sortie {}: its items after home",
            i + 1
        );
    }
}

#[test]
fn camera_distances_read_as_people_read_them() {
    // 50 m, 80 % front overlap, Phantom 4 Pro: 10 m between photos, not 9.999999999999998.
    let d = SurveyParams::default().derive().unwrap();
    assert_eq!(d.trigger_distance_m, Some(10.0));
    assert!((d.line_spacing_m - 22.5).abs() < 1e-9);
}
