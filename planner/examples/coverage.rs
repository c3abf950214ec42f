//! Coverage within half a spacing, camera coverage, survey length, the length flown outside
//! the flyable region and the planning time of every pattern (perimeter and spiral in their
//! fill modes too) on every reference polygon, at the default survey and the bench's:
//! `cargo run --release -p aviary-planner --example coverage [polygon|all] [default|bench]`.
#![allow(clippy::unwrap_used)]

use aviary_planner::{Pattern, SurveyParams, plan_survey};
use geo::{Contains, Line};

#[path = "../tests/common/mod.rs"]
mod common;
use common::{POLYGONS, area, bench_params};

fn main() {
    let mut args = std::env::args().skip(1);
    let only = args.next();
    let which = args.next();
    let cases: [(&str, Pattern, bool, bool); 6] = [
        ("lawnmower", Pattern::Lawnmower, false, false),
        ("crosshatch", Pattern::Crosshatch, false, false),
        ("perimeter", Pattern::Perimeter, false, false),
        ("perim_fill", Pattern::Perimeter, true, false),
        ("spiral_out", Pattern::Spiral, false, false),
        ("spiral_in", Pattern::Spiral, false, true),
    ];
    let extra = ["large_100km2"];
    for name in POLYGONS.iter().chain(extra.iter()) {
        if only.as_deref().is_some_and(|o| o != *name && o != "all") {
            continue;
        }
        let area = area(name);
        let grown = geo::Buffer::buffer(area.free_local(), 0.5);
        for bench in [false, true] {
            match which.as_deref() {
                Some("default") if bench => continue,
                Some("bench") if !bench => continue,
                _ => {}
            }
            for (label, pattern, fill, inward) in cases {
                let base = if bench {
                    bench_params(pattern)
                } else {
                    SurveyParams {
                        pattern,
                        ..SurveyParams::default()
                    }
                };
                let params = SurveyParams {
                    perimeter_fill: fill,
                    spiral_inward: inward,
                    ..base
                };
                let t = std::time::Instant::now();
                let p = plan_survey(&area, &params).unwrap();
                let ms = t.elapsed().as_secs_f64() * 1000.0;
                if let Ok(dir) = std::env::var("DUMP_DIR") {
                    let ll: Vec<[f64; 2]> =
                        p.survey_path().map(|q| [q.lat_deg, q.lon_deg]).collect();
                    let f = format!("{dir}/{name}_{label}_{}.json", u8::from(bench));
                    std::fs::write(f, serde_json::to_vec(&ll).unwrap()).unwrap();
                    println!("spacing {}", p.derived.line_spacing_m);
                }
                let pts: Vec<geo::Coord> =
                    p.survey_path().map(|q| area.frame().to_local(q)).collect();
                let (mut out_m, mut out_legs) = (0.0, 0);
                for w in pts.windows(2) {
                    let l = Line::new(w[0], w[1]);
                    if !grown.contains(&l) {
                        out_m += (w[1].x - w[0].x).hypot(w[1].y - w[0].y);
                        out_legs += 1;
                    }
                }
                println!(
                    "{name:>15} {:<7} {label:<11} half {:>7.3} %  cam {:>7.3} %  survey {:>11.1} m  outside {:>4} legs {:>9.1} m  unrouted {}  {:>8.1} ms",
                    if bench { "bench" } else { "default" },
                    p.estimate.within_half_spacing_pct,
                    p.estimate.coverage_pct,
                    p.estimate.survey_distance_m,
                    out_legs,
                    out_m,
                    p.estimate.unrouted_connectors,
                    ms,
                );
            }
        }
    }
}
