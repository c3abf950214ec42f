//! Property tests: no input makes the parsers or the planner panic. Errors are fine; a
//! panic is a bug.
#![allow(clippy::unwrap_used)]

use aviary_core::{LatLon, SurveyArea};
use aviary_planner::{Area, Pattern, Spacing, SurveyParams, formats, plan_survey};
use proptest::prelude::*;

fn ring_strategy() -> impl Strategy<Value = Vec<(f64, f64)>> {
    // Small rings near a point, with the occasional wild coordinate.
    prop::collection::vec(
        prop_oneof![
            8 => (-0.01f64..0.01, -0.01f64..0.01),
            1 => (-200.0f64..200.0, -400.0f64..400.0),
            1 => Just((0.0, 0.0)),
        ],
        0..12,
    )
}

fn to_area(r: &[(f64, f64)]) -> SurveyArea {
    SurveyArea {
        exterior: r
            .iter()
            .map(|&(a, b)| LatLon::new(37.0 + a, -122.0 + b))
            .collect(),
        holes: vec![],
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, .. ProptestConfig::default() })]

    #[test]
    fn parsers_never_panic(s in ".{0,400}", bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let _ = formats::parse_geojson(&s);
        let _ = formats::parse_kml(&s);
        let _ = formats::parse_kmz(&bytes);
        let _ = formats::parse_shapefile(std::io::Cursor::new(bytes.clone()), None);
        let _ = formats::read_qgc_plan(&s);
        let _ = formats::read_wpl(&s);
    }

    #[test]
    fn geojson_with_random_coordinates_never_panics(r in ring_strategy(), hole in ring_strategy()) {
        let ring = |r: &[(f64, f64)]| r.iter().map(|(a, b)| format!("[{},{}]", -122.0 + b, 37.0 + a)).collect::<Vec<_>>().join(",");
        let text = format!(r#"{{"type":"Polygon","coordinates":[[{}],[{}]]}}"#, ring(&r), ring(&hole));
        if let Ok(areas) = formats::parse_geojson(&text) {
            let _ = Area::new(&areas, &[], 500e6);
        }
    }

    #[test]
    fn planner_never_panics(
        r in ring_strategy(),
        nf in ring_strategy(),
        pattern in prop_oneof![Just(Pattern::Lawnmower), Just(Pattern::Crosshatch), Just(Pattern::Perimeter), Just(Pattern::Spiral), Just(Pattern::ExpandingSquare)],
        alt in prop_oneof![-10.0f64..400.0, Just(f64::NAN), Just(0.0)],
        spacing in prop_oneof![Just(None), (0.5f64..300.0).prop_map(Some)],
        overlap in -10.0f64..120.0,
        angle in prop_oneof![Just(None), (-400.0f64..400.0).prop_map(Some)],
        items in 0usize..800,
        turnaround in 0.0f64..50.0,
    ) {
        let no_fly = if nf.len() >= 3 { vec![to_area(&nf)] } else { vec![] };
        let Ok(area) = Area::new(&[to_area(&r)], &no_fly, 500e6) else { return Ok(()) };
        let mut params = SurveyParams { pattern, alt_rel_m: alt, side_overlap_pct: overlap, sweep_angle_deg: angle, max_mission_items: items, turnaround_m: turnaround, ..SurveyParams::default() };
        if let Some(s) = spacing {
            params.spacing = Spacing::Direct { line_spacing_m: s, trigger_distance_m: Some(s / 2.0) };
        }
        if let Ok(plan) = plan_survey(&area, &params) {
            prop_assert!(plan.items.len() >= 2);
            prop_assert!(plan.estimate.distance_m.is_finite());
            let doc = formats::MissionDoc::from_plan(&plan);
            let back = formats::read_wpl(&formats::to_wpl(&doc)).unwrap();
            prop_assert_eq!(back.items.len(), doc.items.len());
        }
    }
}
