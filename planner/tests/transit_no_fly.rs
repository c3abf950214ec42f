//! Transits around no-fly zones (issue 16): the legs from home to the survey and back, and each
//! sortie's legs from its launch point, are routed around the zones. Every leg of every planned
//! mission is sampled densely and checked outside every zone, the guard
//! [`Plan::no_fly_crossings`] is empty, the camera runs over the survey only, and a home or
//! survey that no route reaches is a clear error.
#![allow(clippy::unwrap_used, clippy::many_single_char_names)]

use aviary_core::{LatLon, SurveyArea, Waypoint, WaypointAction};
use aviary_planner::formats::{self, MissionDoc, OutputFormat};
use aviary_planner::{Area, Plan, PlanError, SurveyParams, plan_survey};
use geo::{Contains, Coord, Point};

const HOME: LatLon = LatLon::new(47.397_742, 8.545_594);

/// A rectangle `north_m` × `east_m` with its south-west corner at `sw`.
fn rect(sw: LatLon, north_m: f64, east_m: f64) -> Vec<LatLon> {
    vec![
        sw,
        sw.offset_ne(0.0, east_m),
        sw.offset_ne(north_m, east_m),
        sw.offset_ne(north_m, 0.0),
    ]
}

fn zone(ring: Vec<LatLon>) -> SurveyArea {
    SurveyArea {
        exterior: ring,
        holes: vec![],
    }
}

/// The survey field: 300 m north × 400 m east, 400 m east of home.
fn field() -> SurveyArea {
    zone(rect(HOME.offset_ne(-150.0, 400.0), 300.0, 400.0))
}

/// A wall 40 m wide and 500 m long between home and the field.
fn wall() -> SurveyArea {
    zone(rect(HOME.offset_ne(-250.0, 150.0), 500.0, 40.0))
}

fn params() -> SurveyParams {
    SurveyParams {
        home: Some(HOME),
        ..SurveyParams::default()
    }
}

fn plan(zones: &[SurveyArea], params: &SurveyParams) -> Result<Plan, PlanError> {
    let area = Area::new(&[field()], zones, 500e6).unwrap();
    plan_survey(&area, params)
}

/// The first point of every leg from `path[0]` through `path` inside a zone (shrunk by half a
/// metre: a leg may run along a zone's edge), sampled at most 1 m apart.
fn first_inside(path: &[LatLon], zones: &[SurveyArea]) -> Option<LatLon> {
    let frame = aviary_planner::LocalFrame::new(HOME);
    let polys: Vec<geo::MultiPolygon> = zones
        .iter()
        .map(|z| {
            let ring: Vec<Coord> = z.exterior.iter().map(|p| frame.to_local(*p)).collect();
            let poly = geo::Polygon::new(geo::LineString::from(ring), vec![]);
            geo::Buffer::buffer(&poly, -0.5)
        })
        .collect();
    for w in path.windows(2) {
        let (a, b) = (frame.to_local(w[0]), frame.to_local(w[1]));
        let len = (b.x - a.x).hypot(b.y - a.y);
        #[expect(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let steps = len.ceil().max(1.0) as usize;
        for k in 0..=steps {
            #[expect(clippy::cast_precision_loss)]
            let t = k as f64 / steps as f64;
            let p = Point::new(a.x + t * (b.x - a.x), a.y + t * (b.y - a.y));
            if polys.iter().any(|z| z.contains(&p)) {
                return Some(frame.to_latlon(p.0));
            }
        }
    }
    None
}

/// The flown positions of a mission: from its takeoff through every item to its return.
fn flown(items: &[Waypoint]) -> Vec<LatLon> {
    items.iter().map(|w| w.pos).collect()
}

/// What every plan with zones must hold: the whole mission and every sortie keep out of the
/// zones, the guard agrees, and the camera starts at the first survey point after the
/// transit out and stops at the last before the transit back.
fn check_avoids(p: &Plan, zones: &[SurveyArea]) {
    assert_eq!(p.no_fly_crossings(), vec![], "guard");
    assert_eq!(first_inside(&flown(&p.items), zones), None, "whole mission");
    for s in &p.sorties {
        assert_eq!(
            first_inside(&flown(&s.items), zones),
            None,
            "sortie {}",
            s.number
        );
        assert_eq!(s.items.first().map(|w| w.pos), Some(s.launch_at));
        assert_eq!(s.items.last().map(|w| w.pos), Some(s.launch_at));
    }
    let survey = &p.items[p.survey_items.clone()];
    assert!(matches!(
        survey[1].action,
        WaypointAction::CameraTriggerStart { .. }
    ));
    assert_eq!(survey[0].pos, survey[1].pos);
    assert!(matches!(
        survey.last().map(|w| w.action),
        Some(WaypointAction::CameraTriggerStop)
    ));
    // Transit waypoints are plain waypoints at the survey's altitude, outside the camera run.
    for w in p.items[1..p.survey_items.start]
        .iter()
        .chain(&p.items[p.survey_items.end..p.items.len() - 1])
    {
        assert_eq!(w.action, WaypointAction::FlyThrough);
        assert!((w.alt_rel_m - p.derived.alt_rel_m).abs() < 1e-9);
    }
}

#[test]
fn a_zone_between_home_and_the_area_is_flown_around() {
    let free = plan(&[], &params()).unwrap();
    assert_eq!(
        free.survey_items,
        1..free.items.len() - 1,
        "no transit points"
    );
    let zones = [wall()];
    // Without routing both transits would cross the wall.
    let straight = aviary_planner::transit::crossings(
        HOME,
        &flown(&free.items),
        free.survey_items.clone(),
        &zones,
    );
    assert_eq!(straight.len(), 1, "{straight:?}");
    let p = plan(&zones, &params()).unwrap();
    check_avoids(&p, &zones);
    assert!(p.survey_items.start > 1, "a transit waypoint out");
    assert!(
        p.survey_items.end < p.items.len() - 1,
        "a transit waypoint back"
    );
    // The survey is flown as without the zone (the wall is outside the field; the flyable
    // region, the field minus the zones, is computed again, so a tie may start it elsewhere).
    let (survey_m, free_survey_m) = (
        p.estimate.survey_distance_m,
        free.estimate.survey_distance_m,
    );
    assert!(
        (survey_m / free_survey_m - 1.0).abs() < 0.01,
        "{survey_m} against {free_survey_m}"
    );
    assert!(p.estimate.coverage_pct >= free.estimate.coverage_pct - 0.1);
    assert!(p.estimate.photos.abs_diff(free.estimate.photos) <= free.estimate.photos / 50);
    // The detour is in the distance, the time and the energy, and in the item count.
    let transit_m = p.estimate.distance_m - survey_m;
    let free_transit_m = free.estimate.distance_m - free_survey_m;
    let extra_m = transit_m - free_transit_m;
    assert!(
        extra_m > 1.0 && extra_m < 600.0,
        "extra transit {extra_m} m"
    );
    let per_m = |p: &Plan| p.estimate.energy_wh / p.estimate.distance_m;
    assert!((per_m(&p) / per_m(&free) - 1.0).abs() < 0.05);
    assert_eq!(p.estimate.waypoints, p.items.len());
    println!(
        "wall: transits {transit_m:.1} m with the zone, {free_transit_m:.1} m without \
         ({extra_m:+.1} m); mission {:.1} m / {:.1} m",
        p.estimate.distance_m, free.estimate.distance_m
    );
}

#[test]
fn a_zone_across_the_return_leg_only_routes_the_return() {
    let free = plan(&[], &params()).unwrap();
    let first = free.survey_path().next().unwrap();
    let last = free.survey_path().last().unwrap();
    // A 60 m square on the middle of the straight return, clear of the leg out.
    let frame = aviary_planner::LocalFrame::new(HOME);
    let (l, h) = (frame.to_local(last), frame.to_local(HOME));
    let mid = frame.to_latlon(Coord {
        x: f64::midpoint(l.x, h.x),
        y: f64::midpoint(l.y, h.y),
    });
    let zones = [zone(rect(mid.offset_ne(-30.0, -30.0), 60.0, 60.0))];
    assert!(
        first_inside(&[HOME, first], &zones).is_none(),
        "the test's zone must leave the leg out clear"
    );
    assert!(first_inside(&[last, HOME], &zones).is_some());
    let p = plan(&zones, &params()).unwrap();
    check_avoids(&p, &zones);
    assert_eq!(p.survey_items.start, 1, "the leg out stays straight");
    assert!(
        p.survey_items.end < p.items.len() - 1,
        "the return is routed"
    );
    // The return flies around the zone: longer than the straight line home.
    let back: Vec<LatLon> = flown(&p.items[p.survey_items.end - 1..]);
    let flown_m: f64 = back.windows(2).map(|w| w[0].distance_m(w[1])).sum();
    let straight_m = back[0].distance_m(HOME);
    assert!(
        flown_m > straight_m + 1.0,
        "{flown_m} m against {straight_m} m"
    );
    println!("return around the zone: {flown_m:.1} m, straight {straight_m:.1} m");
}

#[test]
fn every_sortie_of_a_multi_sortie_plan_flies_around_the_zone() {
    let zones = [wall()];
    let mut small_battery = params();
    // Enough to fly from home to the field and back within a quarter of the battery, not
    // enough for the whole survey.
    small_battery.airframe.battery_wh = 70.0;
    let p = plan(&zones, &small_battery).unwrap();
    assert!(p.sorties.len() > 1, "{} sorties", p.sorties.len());
    check_avoids(&p, &zones);
    let usable = small_battery.airframe.usable_wh();
    let mut routed = 0;
    for s in &p.sorties {
        assert!(
            s.estimate.energy_wh <= usable + 1e-6,
            "sortie {}: {} Wh of {usable}",
            s.number,
            s.estimate.energy_wh
        );
        assert_eq!(s.estimate.waypoints, s.items.len());
        if s.launch_at == HOME && s.items.len() > 2 && s.items[1].pos != s.resume_at {
            routed += 1;
        }
    }
    let sorties: Vec<_> = p
        .sorties
        .iter()
        .map(|s| (s.launch_at == HOME, s.items.len(), s.estimate.distance_m))
        .collect();
    assert!(
        routed > 0,
        "some sortie takes off at home and flies around the wall: {sorties:?}"
    );
    // The sorties' transits are in the whole mission's distance.
    let sum: f64 = p.sorties.iter().map(|s| s.estimate.distance_m).sum();
    assert!((sum - p.estimate.distance_m).abs() < 1e-6);

    // A small item limit leaves room for the transit waypoints in every sortie.
    let few_items = SurveyParams {
        max_mission_items: 24,
        ..params()
    };
    let p = plan(&zones, &few_items).unwrap();
    assert!(p.sorties.len() > 1);
    check_avoids(&p, &zones);
    for s in &p.sorties {
        assert!(
            s.items.len() <= 24,
            "sortie {}: {} items",
            s.number,
            s.items.len()
        );
    }
}

#[test]
fn no_route_is_a_clear_error() {
    // Home inside a zone.
    let around_home = zone(rect(HOME.offset_ne(-20.0, -20.0), 40.0, 40.0));
    let e = plan(std::slice::from_ref(&around_home), &params()).unwrap_err();
    assert!(matches!(e, PlanError::HomeInNoFlyZone { zone: 1 }), "{e}");
    assert_eq!(
        e.to_string(),
        "home is inside no-fly zone 1: move home out of the zone"
    );

    // A ring-shaped zone around the field: the field is in its hole, home outside.
    let ring = SurveyArea {
        exterior: rect(HOME.offset_ne(-300.0, 300.0), 600.0, 600.0),
        holes: vec![rect(HOME.offset_ne(-200.0, 380.0), 440.0, 440.0)],
    };
    let e = plan(std::slice::from_ref(&ring), &params()).unwrap_err();
    assert!(matches!(e, PlanError::NoTransitRoute { .. }), "{e}");
    assert!(
        e.to_string()
            .starts_with("no route from 47.397742, 8.545594 to "),
        "{e}"
    );

    // A ring-shaped zone around home.
    let ring = SurveyArea {
        exterior: rect(HOME.offset_ne(-100.0, -100.0), 200.0, 200.0),
        holes: vec![rect(HOME.offset_ne(-50.0, -50.0), 100.0, 100.0)],
    };
    let e = plan(std::slice::from_ref(&ring), &params()).unwrap_err();
    assert!(matches!(e, PlanError::NoTransitRoute { .. }), "{e}");
}

#[test]
fn every_exporter_writes_the_transit_waypoints() {
    let zones = [wall()];
    let p = plan(&zones, &params()).unwrap();
    let transit: Vec<LatLon> = p.items[1..p.survey_items.start]
        .iter()
        .map(|w| w.pos)
        .collect();
    assert!(!transit.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let doc = MissionDoc::from_plan(&p);
    for ext in ["plan", "waypoints", "kml", "geojson", "csv"] {
        let path = dir.path().join(format!("mission.{ext}"));
        OutputFormat::from_path(&path).unwrap();
        formats::write_mission_file(&path, &doc).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        for t in &transit {
            // Every format writes positions to at least 6 decimals.
            let lat = format!("{:.6}", t.lat_deg);
            let lon = format!("{:.6}", t.lon_deg);
            assert!(
                text.contains(&lat[..lat.len() - 1]) && text.contains(&lon[..lon.len() - 1]),
                "{ext}: transit point {t} missing"
            );
        }
    }
    // Read back, the .plan and the WPL fly the same legs: still clear of the zone.
    for ext in ["plan", "waypoints"] {
        let path = dir.path().join(format!("mission.{ext}"));
        let back = formats::read_mission_file(&path).unwrap();
        let mut legs = vec![HOME];
        legs.extend(
            back.items
                .iter()
                .filter(|w| w.pos != LatLon::default())
                .map(|w| w.pos),
        );
        legs.push(HOME);
        assert_eq!(first_inside(&legs, &zones), None, "{ext} read back");
    }
}

#[test]
fn zones_inside_the_area_with_sorties_keep_every_leg_out() {
    // The app's Plan-view layout: a 600 m square 100 m north-east of home, one zone inside it
    // across the straight return, another near its far corner.
    let sw = HOME.offset_ne(100.0, 100.0);
    let area = Area::new(
        &[zone(rect(sw, 600.0, 600.0))],
        &[
            zone(rect(sw.offset_ne(150.0, 150.0), 120.0, 120.0)),
            zone(rect(sw.offset_ne(400.0, 380.0), 100.0, 100.0)),
        ],
        500e6,
    )
    .unwrap();
    let p = plan_survey(&area, &params()).unwrap_or_else(|e| panic!("{e}"));
    check_avoids(&p, area.no_fly());
}
