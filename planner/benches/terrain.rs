//! Terrain following on the 80 km² reference area (`tests/data/large_80km2.geojson`, the
//! same polygon as /work/shared/bench/polygons): a lawnmower at 60 m AGL (Phantom 4 Pro
//! camera, 70 % side overlap) over a synthetic 1″ SRTM tile of rolling hills and a ridge
//! (built in memory, 3601 × 3601 posts), against the same plan flat. Goal: the terrain-
//! following plan takes at most twice the flat plan. Also the terrain profile the Plan view
//! draws of that plan (`path_profile`). Figures in BENCHMARKS.md.
#![allow(clippy::unwrap_used)]
#![expect(
    clippy::semicolon_if_nothing_returned,
    reason = "criterion closures read best as one expression"
)]

use std::hint::black_box;
use std::path::PathBuf;
use std::time::Duration;

use aviary_core::LatLon;
use aviary_planner::terrain::{SrtmSet, SrtmTile, TerrainParams, follow_terrain, path_profile};
use aviary_planner::{Airframe, Area, Pattern, SurveyParams, formats, plan_survey};
use criterion::{Criterion, criterion_group, criterion_main};

/// Hills 2–3 km across, up to ±90 m, and a ridge 150 m high across the area.
fn ground_m(lat: f64, lon: f64) -> f64 {
    let north_m = (lat - 38.2) * 111_195.0;
    let east_m = (lon + 121.7) * 111_195.0 * 38.2_f64.to_radians().cos();
    let hills = 60.0 * (east_m / 1400.0).sin() * (north_m / 1100.0).cos()
        + 30.0 * ((east_m + north_m) / 700.0).sin();
    let ridge = (150.0 - 0.3 * (east_m - 0.6 * north_m).abs()).max(0.0);
    250.0 + hills + ridge
}

fn dem() -> SrtmSet {
    let n = 3601;
    let mut bytes = Vec::with_capacity(n * n * 2);
    for r in 0..n {
        let lat = 39.0 - r as f64 / 3600.0;
        for c in 0..n {
            let lon = -122.0 + c as f64 / 3600.0;
            bytes.extend_from_slice(&(ground_m(lat, lon).round() as i16).to_be_bytes());
        }
    }
    let mut set = SrtmSet::new();
    set.insert(SrtmTile::from_bytes("N38W122.hgt", &bytes).unwrap());
    set
}

fn benches(c: &mut Criterion) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/large_80km2.geojson");
    let areas = formats::read_area_file(&path).unwrap();
    let area = Area::new(&areas, &[], 500e6).unwrap();
    let params = SurveyParams {
        pattern: Pattern::Lawnmower,
        alt_rel_m: 60.0,
        side_overlap_pct: 70.0,
        home: Some(LatLon::new(38.19, -121.74)),
        ..SurveyParams::default()
    };
    let dem = dem();
    let tp = TerrainParams::new(60.0, params.speed_mps, &Airframe::default());
    let home = params.home.unwrap();
    let flat = plan_survey(&area, &params).unwrap();
    let t = follow_terrain(&flat.items, home, &dem, &tp).unwrap();
    eprintln!(
        "flat: {} items, {:.0} km; terrain: {} items ({} added), clearance {:.1}..{:.1} m, largest climb {:.1} m, {:.1} m samples",
        flat.items.len(),
        flat.estimate.distance_m / 1000.0,
        t.items.len(),
        t.inserted_waypoints,
        t.min_clearance_m,
        t.max_clearance_m,
        t.max_climb_m,
        t.sample_step_m
    );

    let mut g = c.benchmark_group("terrain_80km2");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(6))
        .warm_up_time(Duration::from_secs(1));
    g.bench_function("flat_plan", |b| {
        b.iter(|| plan_survey(black_box(&area), &params).unwrap())
    });
    g.bench_function("terrain_following_plan", |b| {
        b.iter(|| {
            let plan = plan_survey(black_box(&area), &params).unwrap();
            follow_terrain(&plan.items, home, &dem, &tp).unwrap()
        })
    });
    g.bench_function("follow_terrain_only", |b| {
        b.iter(|| follow_terrain(black_box(&flat.items), home, &dem, &tp).unwrap())
    });
    // What the Plan view adds to every re-plan with a DEM: the profile it draws (1,500 points).
    g.bench_function("path_profile_of_the_terrain_plan", |b| {
        b.iter(|| path_profile(black_box(&t.items), home, &dem, 1_500).unwrap())
    });
    g.finish();
}

criterion_group!(terrain, benches);
criterion_main!(terrain);
