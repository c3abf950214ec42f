//! What the reference tests (and the `lengths` example) share: the reference polygons, copied
//! from `../shared/bench/polygons` into `tests/data`, and the bench's survey.
#![allow(
    dead_code,
    reason = "each test crate that includes this module uses a different part of it"
)]
#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

use std::path::PathBuf;

use aviary_planner::{Area, Pattern, SurveyParams, formats};

/// The reference polygons, smallest first.
pub const POLYGONS: [&str; 6] = [
    "warehouse_roof",
    "convex_2km2",
    "u_shape",
    "two_holes",
    "irregular_8km2",
    "large_80km2",
];

/// The GeoJSON file of a reference polygon.
pub fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(format!("{name}.geojson"))
}

/// A reference polygon, validated (no no-fly zones, the default 500 km² limit).
pub fn area(name: &str) -> Area {
    let areas = formats::read_area_file(&data(name)).unwrap();
    Area::new(&areas, &[], 500e6).unwrap()
}

/// The bench's survey: 50 m, 70 % side overlap, the default (Phantom 4 Pro) camera, so
/// 22.5 m between lines.
pub fn bench_params(pattern: Pattern) -> SurveyParams {
    SurveyParams {
        pattern,
        alt_rel_m: 50.0,
        side_overlap_pct: 70.0,
        ..SurveyParams::default()
    }
}
