//! Digests of the fill patterns on every `tests/data` area, to check that a speed change keeps
//! the paths bit for bit: `cargo run --release -p aviary-planner --example fill_digest`
//! (`AVIARY_PLAN_THREADS=1` for one thread). One line per area and case: an FNV-1a hash of every
//! waypoint's latitude, longitude and altitude bits, the item count, and the coverage figures
//! (their bits are hashed too). Cases: the spiral (outward and inward) at the bench survey
//! (50 m, 70 % side overlap) and outward at 90 m, and the perimeter fill at the bench survey.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;

use aviary_planner::{Area, Pattern, SurveyParams, formats, plan_survey};

const AREAS: [&str; 7] = [
    "convex_2km2",
    "irregular_8km2",
    "large_100km2",
    "large_80km2",
    "two_holes",
    "u_shape",
    "warehouse_roof",
];

fn fnv(h: &mut u64, bits: u64) {
    for b in bits.to_le_bytes() {
        *h ^= u64::from(b);
        *h = h.wrapping_mul(0x0100_0000_01b3);
    }
}

fn main() {
    let only = std::env::args().nth(1);
    let base = SurveyParams {
        alt_rel_m: 50.0,
        side_overlap_pct: 70.0,
        ..SurveyParams::default()
    };
    let cases = [
        ("spiral_out", Pattern::Spiral, 50.0, false, false),
        ("spiral_in", Pattern::Spiral, 50.0, false, true),
        ("spiral_90m", Pattern::Spiral, 90.0, false, false),
        ("perimeter_fill", Pattern::Perimeter, 50.0, true, false),
    ];
    let mut all = 0xcbf2_9ce4_8422_2325_u64;
    for name in AREAS {
        if only.as_deref().is_some_and(|o| o != name) {
            continue;
        }
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data")
            .join(format!("{name}.geojson"));
        let areas = formats::read_area_file(&path).unwrap();
        let area = Area::new(&areas, &[], 500e6).unwrap();
        for (label, pattern, alt, fill, inward) in cases {
            let params = SurveyParams {
                pattern,
                alt_rel_m: alt,
                perimeter_fill: fill,
                spiral_inward: inward,
                ..base
            };
            let p = plan_survey(&area, &params).unwrap();
            let mut h = 0xcbf2_9ce4_8422_2325_u64;
            for w in &p.items {
                fnv(&mut h, w.pos.lat_deg.to_bits());
                fnv(&mut h, w.pos.lon_deg.to_bits());
                fnv(&mut h, w.alt_rel_m.to_bits());
            }
            fnv(&mut h, p.estimate.coverage_pct.to_bits());
            fnv(&mut h, p.estimate.within_half_spacing_pct.to_bits());
            fnv(&mut h, p.estimate.covered_area_m2.to_bits());
            fnv(&mut all, h);
            println!(
                "{name:15} {label:15} {h:016x} {:7} items, coverage {:.4} %, half spacing {:.4} %",
                p.items.len(),
                p.estimate.coverage_pct,
                p.estimate.within_half_spacing_pct
            );
        }
    }
    println!("all {all:016x}");
}
