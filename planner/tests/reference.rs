//! Every pattern on every reference polygon (copied from `../shared/bench/polygons` into
//! `tests/data`), snapshotted with `insta`: counts, estimates and the first waypoints. Plus
//! properties that must hold whatever the snapshot says: transects stay inside the area, the
//! files round-trip, coverage is reached.
#![allow(clippy::unwrap_used, clippy::many_single_char_names)]

use aviary_core::{LatLon, WaypointAction};
use aviary_planner::formats::{self, MissionDoc};
use aviary_planner::{Area, Pattern, Plan, SurveyParams, plan_survey};

mod common;
use common::{POLYGONS, area, data};

const PATTERNS: [Pattern; 5] = [
    Pattern::Lawnmower,
    Pattern::Crosshatch,
    Pattern::Perimeter,
    Pattern::Spiral,
    Pattern::ExpandingSquare,
];

fn r(v: f64, places: i32) -> f64 {
    let k = 10f64.powi(places);
    (v * k).round() / k
}

fn summary(p: &Plan) -> serde_json::Value {
    let e = &p.estimate;
    let first: Vec<_> = p
        .items
        .iter()
        .take(4)
        .map(|w| {
            serde_json::json!([
                r(w.pos.lat_deg, 6),
                r(w.pos.lon_deg, 6),
                r(w.alt_rel_m, 2),
                format!("{:?}", w.action)
            ])
        })
        .collect();
    serde_json::json!({
        "items": e.waypoints,
        "sweep_angle_deg": p.sweep_angle_deg.map(|a| r(a, 2)),
        "distance_km": r(e.distance_m / 1000.0, 2),
        "duration_min": r(e.duration_s / 60.0, 1),
        "photos": e.photos,
        "area_m2": r(e.area_m2, -1),
        "coverage_pct": r(e.coverage_pct, 1),
        "within_half_spacing_pct": r(e.within_half_spacing_pct, 1),
        "sorties": p.sorties.len(),
        "battery_pct": r(e.battery_pct, 0),
        "unrouted_connectors": e.unrouted_connectors,
        "first_items": first,
    })
}

#[test]
fn every_pattern_on_every_reference_polygon() {
    for name in POLYGONS {
        let a = area(name);
        for pattern in PATTERNS {
            let params = SurveyParams {
                pattern,
                ..SurveyParams::default()
            };
            let p = plan_survey(&a, &params).unwrap();
            assert!(p.items.len() >= 4, "{name} {pattern:?}");
            assert!(matches!(p.items[0].action, WaypointAction::Takeoff));
            assert!(matches!(
                p.items.last().unwrap().action,
                WaypointAction::ReturnToLaunch
            ));
            assert!(
                p.sorties
                    .iter()
                    .all(|s| s.items.len() <= params.max_mission_items),
                "{name} {pattern:?}"
            );
            assert!(
                p.sorties
                    .iter()
                    .all(|s| s.estimate.energy_wh <= params.airframe.usable_wh() + 1e-6),
                "{name} {pattern:?}"
            );
            if matches!(
                pattern,
                Pattern::Lawnmower | Pattern::Crosshatch | Pattern::Spiral
            ) {
                assert!(
                    p.estimate.coverage_pct > 97.0,
                    "{name} {pattern:?}: {:?}",
                    p.estimate
                );
                assert_eq!(p.estimate.unrouted_connectors, 0, "{name} {pattern:?}");
            }
            assert_eq!(
                aviary_planner::plan_path(&a, &params).unwrap(),
                p.items,
                "{name} {pattern:?}: preview and plan agree"
            );
            insta::assert_json_snapshot!(format!("{name}__{}", pattern.as_str()), summary(&p));
        }
    }
}

#[test]
fn plans_are_deterministic() {
    let a = area("two_holes");
    let params = SurveyParams {
        pattern: Pattern::Crosshatch,
        ..SurveyParams::default()
    };
    let one = formats::to_qgc_plan(&MissionDoc::from_plan(&plan_survey(&a, &params).unwrap()));
    let two = formats::to_qgc_plan(&MissionDoc::from_plan(&plan_survey(&a, &params).unwrap()));
    assert_eq!(one, two);
}

#[test]
fn lawnmower_transects_never_cross_holes() {
    use geo::{Contains, Coord, Line, Point};
    for name in ["two_holes", "u_shape", "irregular_8km2"] {
        let a = area(name);
        let p = plan_survey(&a, &SurveyParams::default()).unwrap();
        let pts: Vec<Coord> = p.survey_path().map(|q| a.frame().to_local(q)).collect();
        // Every leg's sample points lie in the flyable region (a 1 m buffer for the boundary).
        let grown = geo::Buffer::buffer(a.free_local(), 1.0);
        for w in pts.windows(2) {
            let l = Line::new(w[0], w[1]);
            for k in 0..=20 {
                let t = f64::from(k) / 20.0;
                let q = Point::new(l.start.x + t * l.dx(), l.start.y + t * l.dy());
                assert!(
                    grown.contains(&q),
                    "{name}: leg {w:?} leaves the area at {q:?}"
                );
            }
        }
    }
}

#[test]
fn files_round_trip() {
    let a = area("two_holes");
    let p = plan_survey(
        &a,
        &SurveyParams {
            pattern: Pattern::Crosshatch,
            ..SurveyParams::default()
        },
    )
    .unwrap();
    let doc = MissionDoc::from_plan(&p);
    // Without a fence unless asked.
    let plain = formats::read_qgc_plan(&formats::to_qgc_plan(&doc)).unwrap();
    assert!(plain.areas.is_empty() && plain.no_fly.is_empty());
    let options = formats::PlanFileOptions {
        fence: true,
        ..formats::PlanFileOptions::default()
    };
    let back = formats::read_qgc_plan(&formats::to_qgc_plan_with(&doc, &options)).unwrap();
    assert_eq!(back.items.len(), doc.items.len());
    assert_eq!(back.areas.len(), 1);
    // Holes that no leg crosses (the return to launch flies straight, maybe across one) are
    // exclusion fences; no waypoint lies in one.
    assert!(back.no_fly.len() <= 2);
    for z in &back.no_fly {
        let zone = geo::Polygon::new(
            z.exterior
                .iter()
                .map(|p| geo::Coord {
                    x: p.lon_deg,
                    y: p.lat_deg,
                })
                .collect(),
            vec![],
        );
        for w in &doc.items {
            use geo::Contains as _;
            assert!(!zone.contains(&geo::Point::new(w.pos.lon_deg, w.pos.lat_deg)));
        }
    }
    // The inclusion fence holds home and every leg (ArduPilot arms and flies with it on).
    let fence = geo::Polygon::new(
        back.areas[0]
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
    for w in &doc.items {
        assert!(inside(w.pos), "{w:?} is inside the fence");
    }
    for (x, y) in back.items.iter().zip(&doc.items) {
        match (x.action, y.action) {
            // Parameters are the wire's f32, as the upload sends them.
            (
                WaypointAction::CameraTriggerStart { distance_m: a },
                WaypointAction::CameraTriggerStart { distance_m: b },
            ) => assert!((a - b).abs() < 1e-5),
            (a, b) => assert_eq!(a, b),
        }
        // Positions are the vehicle's 1e-7 degrees (about a centimetre), as the upload sends.
        assert!(x.pos.distance_m(y.pos) < 0.02 || !matches!(x.action, WaypointAction::FlyThrough));
    }
    let w = formats::read_wpl(&formats::to_wpl(&doc)).unwrap();
    assert_eq!(w.items.len(), doc.items.len());
    assert!(w.home.distance_m(doc.home) < 0.01);
    for (x, y) in w.items.iter().zip(&doc.items) {
        match (x.action, y.action) {
            (
                WaypointAction::CameraTriggerStart { distance_m: a },
                WaypointAction::CameraTriggerStart { distance_m: b },
            ) => assert!((a - b).abs() < 1e-6),
            (a, b) => assert_eq!(a, b),
        }
        if matches!(x.action, WaypointAction::FlyThrough) {
            assert!(x.pos.distance_m(y.pos) < 0.02);
        }
    }
    let gj = formats::to_geojson(&doc);
    assert_eq!(
        formats::parse_geojson(&gj).unwrap().len(),
        1,
        "the area polygon reads back"
    );
    let kml = formats::to_kml(&doc);
    let k = formats::parse_kml(&kml).unwrap();
    assert_eq!(k[0].holes.len(), 2);
    let csv = formats::to_csv(&doc);
    assert_eq!(csv.lines().count(), doc.items.len() + 1);
}

#[test]
fn no_fly_zone_is_avoided() {
    use aviary_core::{LatLon, SurveyArea};
    let areas = formats::read_area_file(&data("convex_2km2")).unwrap();
    let c = LatLon::new(37.950, -122.050);
    let zone = SurveyArea {
        exterior: vec![
            c.offset_ne(-150.0, -150.0),
            c.offset_ne(-150.0, 150.0),
            c.offset_ne(150.0, 150.0),
            c.offset_ne(150.0, -150.0),
        ],
        holes: vec![],
    };
    let a = Area::new(&areas, &[zone], 500e6).unwrap();
    let p = plan_survey(&a, &SurveyParams::default()).unwrap();
    assert!(a.free_area_m2() < a.area_m2() - 80_000.0);
    for q in p.survey_path() {
        let l = a.frame().to_local(q);
        let cl = a.frame().to_local(c);
        assert!(
            (l.x - cl.x).abs() > 149.0 || (l.y - cl.y).abs() > 149.0,
            "waypoint {q:?} inside the no-fly zone"
        );
    }
    assert_eq!(p.no_fly.len(), 1);
}

#[test]
fn expanding_square_is_clipped_to_the_area() {
    use geo::{Contains, Coord, Line, Point};
    // The u_shape's centre lies in its notch, outside the area: legs there are cut away.
    for name in ["u_shape", "two_holes", "convex_2km2"] {
        let a = area(name);
        let params = SurveyParams {
            pattern: Pattern::ExpandingSquare,
            ..SurveyParams::default()
        };
        let p = plan_survey(&a, &params).unwrap();
        assert_eq!(p.estimate.unrouted_connectors, 0, "{name}");
        let pts: Vec<Coord> = p.survey_path().map(|q| a.frame().to_local(q)).collect();
        assert!(pts.len() > 10, "{name}: {} waypoints", pts.len());
        let grown = geo::Buffer::buffer(a.free_local(), 1.0);
        for w in pts.windows(2) {
            let l = Line::new(w[0], w[1]);
            for k in 0..=20 {
                let t = f64::from(k) / 20.0;
                let q = Point::new(l.start.x + t * l.dx(), l.start.y + t * l.dy());
                assert!(
                    grown.contains(&q),
                    "{name}: leg {w:?} leaves the area at {q:?}"
                );
            }
        }
        // Still a search pattern: it reaches the far parts of the area.
        assert!(p.estimate.coverage_pct > 90.0, "{name}: {:?}", p.estimate);
    }
}

#[test]
fn the_perimeter_flies_one_loop_half_a_footprint_inside_or_fills() {
    use geo::{Contains as _, Distance as _, Euclidean};
    for name in POLYGONS {
        let a = area(name);
        let params = SurveyParams {
            pattern: Pattern::Perimeter,
            ..SurveyParams::default()
        };
        let d = params.derive().unwrap();
        let p = plan_survey(&a, &params).unwrap();
        // Every survey point of the default loop lies inside the area (a connector to a hole's
        // loop may run along an edge); the loops' points, most of them, about half a footprint
        // from the nearest boundary (the outer ring or a hole).
        let free = a.free_local();
        let boundary: Vec<geo::LineString> = free
            .0
            .iter()
            .flat_map(|poly| std::iter::once(poly.exterior()).chain(poly.interiors()))
            .cloned()
            .collect();
        let (mut far, mut all) = (0, 0);
        for w in p.survey_path() {
            let q = geo::Point::from(a.frame().to_local(w));
            let near = boundary
                .iter()
                .map(|r| Euclidean.distance(&q, r))
                .fold(f64::INFINITY, f64::min);
            assert!(
                free.contains(&q) || near < 0.5,
                "{name}: {w:?} outside the area"
            );
            all += 1;
            if near > d.footprint_side_m / 2.0 - d.line_spacing_m / 4.0 - 0.5 {
                far += 1;
            }
        }
        assert!(
            far * 4 >= all * 3,
            "{name}: {far} of {all} points half a footprint in"
        );
        // Two loops fly farther than one; filling covers the area.
        let two = plan_survey(
            &a,
            &SurveyParams {
                perimeter_loops: 2,
                ..params.clone()
            },
        )
        .unwrap();
        assert!(
            two.estimate.survey_distance_m >= p.estimate.survey_distance_m,
            "{name}"
        );
        let fill = plan_survey(
            &a,
            &SurveyParams {
                perimeter_fill: true,
                ..params.clone()
            },
        )
        .unwrap();
        assert!(
            fill.estimate.coverage_pct > 97.0,
            "{name}: {:?}",
            fill.estimate
        );
    }
}

#[test]
fn the_spiral_stays_inside_and_flies_outward_by_default() {
    use geo::{Contains as _, Distance as _, Euclidean};
    for name in POLYGONS {
        let a = area(name);
        let out = SurveyParams {
            pattern: Pattern::Spiral,
            ..SurveyParams::default()
        };
        let p = plan_survey(&a, &out).unwrap();
        let free = a.free_local();
        let boundary: Vec<geo::LineString> = free
            .0
            .iter()
            .flat_map(|poly| std::iter::once(poly.exterior()).chain(poly.interiors()))
            .cloned()
            .collect();
        let near = |q: geo::Point| {
            boundary
                .iter()
                .map(|r| Euclidean.distance(&q, r))
                .fold(f64::INFINITY, f64::min)
        };
        let pts: Vec<geo::Coord> = p.survey_path().map(|w| a.frame().to_local(w)).collect();
        // Every leg inside the area (or on its edge, where a route runs along it).
        for l in pts.windows(2) {
            for t in [0.0, 0.25, 0.5, 0.75] {
                let q = geo::Point::new(
                    l[0].x + t * (l[1].x - l[0].x),
                    l[0].y + t * (l[1].y - l[0].y),
                );
                assert!(
                    free.contains(&q) || near(q) < 0.5,
                    "{name}: the spiral leaves the area at {q:?} ({:.2} m out; leg {l:?}, unrouted {})",
                    near(q),
                    p.estimate.unrouted_connectors
                );
            }
        }
        // Outward: it ends on the outermost ring, half a spacing from the boundary; inward is
        // the same rings from there in.
        let d = out.derive().unwrap();
        let last = geo::Point::from(*pts.last().unwrap());
        assert!(
            near(last) < d.line_spacing_m,
            "{name}: ends {:.1} m in",
            near(last)
        );
        let inward = plan_survey(
            &a,
            &SurveyParams {
                spiral_inward: true,
                ..out.clone()
            },
        )
        .unwrap();
        let first = geo::Point::from(a.frame().to_local(inward.survey_path().next().unwrap()));
        assert!(
            near(first) < d.line_spacing_m,
            "{name}: starts {:.1} m in",
            near(first)
        );
        assert!(p.estimate.coverage_pct > 97.0, "{name}: {:?}", p.estimate);
    }
}
