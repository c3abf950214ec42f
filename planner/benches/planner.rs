//! Planner benchmarks on the 80 km² reference area (1,500 vertices, concave): 50 m altitude,
//! 70 % side overlap, 13.2 × 8.8 mm sensor, 8.8 mm lens, 5472 px (Phantom 4 Pro).
//! Goals: crosshatch ≤ 10 ms, lawnmower ≤ 5 ms; the perimeter (one loop and fill) and the
//! spiral on the 100 km² area ≤ 100 ms.
//! Figures in BENCHMARKS.md.
//!
//! `lawnmower` and `crosshatch` time what `aviary plan` counts as `compute_ms`: validating the
//! area (`Area::new`) and the whole plan (angle search, transects, routing, mission items,
//! estimates, coverage, sorties). The file is read once outside the timing, as the CLI does.
#![allow(clippy::unwrap_used)]
#![expect(
    clippy::semicolon_if_nothing_returned,
    reason = "criterion closures read best as one expression"
)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use aviary_planner::{Area, Pattern, SurveyParams, formats, plan_survey};
use criterion::{Criterion, criterion_group, criterion_main};

fn large() -> (Vec<aviary_core::SurveyArea>, Area) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/large_80km2.geojson");
    let areas = formats::read_area_file(&path).unwrap();
    let area = Area::new(&areas, &[], 500e6).unwrap();
    (areas, area)
}

fn params(pattern: Pattern) -> SurveyParams {
    SurveyParams {
        pattern,
        alt_rel_m: 50.0,
        side_overlap_pct: 70.0,
        ..SurveyParams::default()
    }
}

fn benches(c: &mut Criterion) {
    let (areas, area) = large();
    let mut g = c.benchmark_group("large_80km2");
    g.sample_size(30)
        .measurement_time(Duration::from_secs(6))
        .warm_up_time(Duration::from_secs(1));
    g.bench_function("lawnmower", |b| {
        b.iter(|| {
            let area = Area::new(black_box(&areas), &[], 500e6).unwrap();
            plan_survey(&area, &params(Pattern::Lawnmower)).unwrap()
        })
    });
    g.bench_function("crosshatch", |b| {
        b.iter(|| {
            let area = Area::new(black_box(&areas), &[], 500e6).unwrap();
            plan_survey(&area, &params(Pattern::Crosshatch)).unwrap()
        })
    });
    g.bench_function("lawnmower_plan_only", |b| {
        b.iter(|| plan_survey(black_box(&area), &params(Pattern::Lawnmower)).unwrap())
    });
    g.bench_function("crosshatch_plan_only", |b| {
        b.iter(|| plan_survey(black_box(&area), &params(Pattern::Crosshatch)).unwrap())
    });
    g.bench_function("lawnmower_path_only", |b| {
        b.iter(|| aviary_planner::plan_path(black_box(&area), &params(Pattern::Lawnmower)).unwrap())
    });
    g.bench_function("crosshatch_path_only", |b| {
        b.iter(|| {
            aviary_planner::plan_path(black_box(&area), &params(Pattern::Crosshatch)).unwrap()
        })
    });
    let fixed = SurveyParams {
        sweep_angle_deg: Some(30.0),
        ..params(Pattern::Lawnmower)
    };
    g.bench_function("lawnmower_fixed_angle", |b| {
        b.iter(|| plan_survey(black_box(&area), &fixed).unwrap())
    });
    g.bench_function("validate_area", |b| {
        b.iter(|| Area::new(black_box(&areas), &[], 500e6).unwrap())
    });
    g.finish();

    // Perimeter on 100 km² (issue 16: ≤ 100 ms), validation and the whole plan.
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/large_100km2.geojson");
    let areas_100 = formats::read_area_file(&path).unwrap();
    let mut g = c.benchmark_group("large_100km2");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(6))
        .warm_up_time(Duration::from_secs(1));
    g.bench_function("perimeter", |b| {
        b.iter(|| {
            let area = Area::new(black_box(&areas_100), &[], 500e6).unwrap();
            plan_survey(&area, &params(Pattern::Perimeter)).unwrap()
        })
    });
    g.finish();

    // Perimeter in fill mode and spiral (outward, inward) on 100 km² (issue 16: ≤ 100 ms
    // each), validation and the whole plan. They buffer one ring per spacing today: seconds
    // per plan, so ten samples.
    let mut g = c.benchmark_group("large_100km2_fill");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(1))
        .warm_up_time(Duration::from_millis(1));
    let fill_cases = [
        ("perimeter_fill", Pattern::Perimeter, true, false),
        ("spiral_out", Pattern::Spiral, false, false),
        ("spiral_in", Pattern::Spiral, false, true),
    ];
    for (label, pattern, fill, inward) in fill_cases {
        let p = SurveyParams {
            perimeter_fill: fill,
            spiral_inward: inward,
            ..params(pattern)
        };
        g.bench_function(label, |b| {
            b.iter(|| {
                let area = Area::new(black_box(&areas_100), &[], 500e6).unwrap();
                plan_survey(&area, &p).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(planner, benches);
criterion_main!(planner);
