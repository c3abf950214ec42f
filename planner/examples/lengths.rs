//! Survey path length, bearing and coverage of the lawnmower and crosshatch on every reference
//! polygon (the figures `tests/shapely_reference.rs` compares), optionally at a given bearing:
//! `cargo run --release -p aviary-planner --example lengths [polygon bearing_deg]`.
#![allow(clippy::unwrap_used)]

use aviary_planner::{Pattern, SurveyParams, plan_survey};

#[path = "../tests/common/mod.rs"]
mod common;
use common::{POLYGONS, area, bench_params};

fn main() {
    let mut args = std::env::args().skip(1);
    let only = args.next();
    let bearing: Option<f64> = args.next().and_then(|s| s.parse().ok());
    for name in POLYGONS {
        if only.as_deref().is_some_and(|o| o != name && o != "all") {
            continue;
        }
        let area = area(name);
        for pattern in [Pattern::Lawnmower, Pattern::Crosshatch] {
            let params = SurveyParams {
                sweep_angle_deg: bearing,
                ..bench_params(pattern)
            };
            let t = std::time::Instant::now();
            let p = plan_survey(&area, &params).unwrap();
            if let Ok(dir) = std::env::var("DUMP_DIR") {
                let ll: Vec<[f64; 2]> = p.survey_path().map(|q| [q.lat_deg, q.lon_deg]).collect();
                let f = format!("{dir}/{name}_{}.json", pattern.as_str());
                std::fs::write(f, serde_json::to_vec(&ll).unwrap()).unwrap();
            }
            println!(
                "{name:>15} {:<10} {:>12.1} m  total {:>9.2} km {:>8.1} min {:>4} sorties  bearing {:>8.3}  half {:.3} %  cov {:.3} %  unrouted {}  {:.1} ms",
                pattern.as_str(),
                p.estimate.survey_distance_m,
                p.estimate.distance_m / 1000.0,
                p.estimate.duration_s / 60.0,
                p.sorties.len(),
                p.sweep_angle_deg.unwrap_or(f64::NAN),
                p.estimate.within_half_spacing_pct,
                p.estimate.coverage_pct,
                p.estimate.unrouted_connectors,
                t.elapsed().as_secs_f64() * 1000.0,
            );
        }
    }
}
