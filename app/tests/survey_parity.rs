//! One stored mission, two planners' front doors: the desktop's `plan_preview` and the fleet
//! server's `POST /missions` conversion must give the same mission items. The server used to
//! build its own survey parameters and dropped the stored camera and sweep angle.

use aviary_app::gui::planning::plan_preview;
use aviary_core::{FlightPattern, LatLon, MissionParams, SurveyArea, Waypoint};
use aviary_server::api::missions::{GeoPolygon, Parameters, plan};

fn area() -> SurveyArea {
    let c = LatLon::new(47.397, 8.545);
    SurveyArea {
        exterior: vec![
            c,
            c.offset_ne(0.0, 420.0),
            c.offset_ne(260.0, 480.0),
            c.offset_ne(330.0, 120.0),
            c.offset_ne(180.0, -40.0),
        ],
        holes: vec![vec![
            c.offset_ne(120.0, 150.0),
            c.offset_ne(120.0, 220.0),
            c.offset_ne(170.0, 200.0),
        ]],
    }
}

/// The server's path: the mission as the API stores it (JSON columns), read back and planned.
fn server_items(
    area: &SurveyArea,
    pattern: FlightPattern,
    params: &MissionParams,
) -> Vec<Waypoint> {
    let stored_area =
        serde_json::to_value(GeoPolygon::from_area(area)).expect("stored mission plans");
    let stored_params =
        serde_json::to_value(Parameters::from(params)).expect("stored mission plans");
    let area: GeoPolygon = serde_json::from_value(stored_area).expect("stored mission plans");
    let params: Parameters = serde_json::from_value(stored_params).expect("stored mission plans");
    let planned = plan(&area, &pattern.to_string(), &params).expect("stored mission plans");
    serde_json::from_value(planned.waypoints).expect("stored mission plans")
}

fn desktop_items(
    area: &SurveyArea,
    pattern: FlightPattern,
    params: &MissionParams,
) -> Vec<Waypoint> {
    plan_preview(area, &[], pattern, params, None)
        .expect("stored mission plans")
        .waypoints
}

#[test]
fn desktop_and_server_plan_the_same_items_for_one_stored_mission() {
    let area = area();
    let with_camera = MissionParams {
        altitude_m: 70.0,
        speed_mps: 8.0,
        side_overlap_pct: 65.0,
        front_overlap_pct: 75.0,
        camera: Some("mavic3e".into()),
        sweep_angle_deg: Some(35.0),
        ..MissionParams::default()
    };
    for pattern in FlightPattern::ALL {
        for params in [&MissionParams::default(), &with_camera] {
            let desktop = desktop_items(&area, pattern, params);
            let server = server_items(&area, pattern, params);
            assert!(desktop.len() > 3, "{pattern}: {} items", desktop.len());
            assert_eq!(desktop, server, "{pattern} with {params:?}");
        }
    }
    // The camera and the sweep angle reach the server's plan (it used to drop both and fly the
    // default camera at the automatic angle).
    let stored = server_items(&area, FlightPattern::Lawnmower, &with_camera);
    let dropped = server_items(
        &area,
        FlightPattern::Lawnmower,
        &MissionParams {
            camera: None,
            sweep_angle_deg: None,
            ..with_camera.clone()
        },
    );
    assert_ne!(stored, dropped);
}

#[test]
fn server_names_an_unknown_camera() {
    let params = Parameters::from(&MissionParams {
        camera: Some("hasselblad".into()),
        ..MissionParams::default()
    });
    let e = plan(&GeoPolygon::from_area(&area()), "lawnmower", &params).expect_err("refused");
    assert!(e.to_string().contains("hasselblad"), "{e}");
}
