//! Plans the bench's survey (80 km² reference area, 50 m, 70 % side overlap, Phantom 4 Pro
//! camera) a given number of times, for profilers that count instructions:
//! `valgrind --tool=callgrind target/release/examples/plan_once crosshatch 3` (a third
//! argument `path` times the map preview's `plan_path` instead). `AVIARY_BENCH_AREA=FILE` plans
//! another area (a path relative to the planner's folder, e.g. `tests/data/large_100km2.geojson`).
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use aviary_planner::{Area, Pattern, SurveyParams, formats, plan_survey};

fn main() {
    let mut args = std::env::args().skip(1);
    let pattern = match args.next().as_deref() {
        Some("crosshatch") => Pattern::Crosshatch,
        Some("spiral") => Pattern::Spiral,
        _ => Pattern::Lawnmower,
    };
    let runs: usize = args.next().and_then(|s| s.parse().ok()).unwrap_or(1);
    // `path`: the map preview's `plan_path` instead of the whole plan.
    let path_only = args.next().as_deref() == Some("path");
    let file = std::env::var("AVIARY_BENCH_AREA")
        .unwrap_or_else(|_| "tests/data/large_80km2.geojson".to_owned());
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(file);
    let areas = formats::read_area_file(&path).unwrap();
    let area = Area::new(&areas, &[], 500e6).unwrap();
    let params = SurveyParams {
        pattern,
        alt_rel_m: 50.0,
        side_overlap_pct: 70.0,
        ..SurveyParams::default()
    };
    for _ in 0..runs {
        let t = std::time::Instant::now();
        if path_only {
            let items = aviary_planner::plan_path(&area, &params).unwrap();
            println!(
                "{:?} path: {} items, {:.2} ms",
                pattern,
                items.len(),
                t.elapsed().as_secs_f64() * 1000.0
            );
            continue;
        }
        let p = plan_survey(&area, &params).unwrap();
        println!(
            "{:?}: {} items, {} sorties, {:.1} km, coverage {:.2} %, half spacing {:.2} %, {:.2} ms",
            pattern,
            p.items.len(),
            p.sorties.len(),
            p.estimate.distance_m / 1000.0,
            p.estimate.coverage_pct,
            p.estimate.within_half_spacing_pct,
            t.elapsed().as_secs_f64() * 1000.0
        );
    }
}
