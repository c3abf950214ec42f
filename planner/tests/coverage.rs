//! Every reference area × every covering pattern (lawnmower, crosshatch, perimeter in its
//! fill mode, spiral outward and inward) at the default survey: the coverage within half a
//! spacing is at least the goal of issue 16 (99.5 %) — or, for the cases that do not reach it
//! yet, at least what they reach today (`BELOW_GOAL`, a floor against regressions, each
//! listed) — and every leg of the survey path stays inside the area, outside its holes.
//!
//! The perimeter in its default one-loop mode covers a strip along the boundary only, so the
//! coverage goal does not apply to it (issue 16); its legs are checked like the others'.
//! The spiral and the perimeter fill on the 80 km² area fly ~100,000 legs, each checked
//! against the 2,000-vertex area here: they run in optimised builds only
//! (`cargo test --release`).
#![allow(
    clippy::unwrap_used,
    reason = "test code: a panic is the failure report"
)]

mod common;

use aviary_planner::{Pattern, SurveyParams, plan_survey};
use common::{POLYGONS, area};
use geo::{Buffer, Contains, Line};

/// Coverage within half a spacing that every covering pattern must reach (issue 16).
const GOAL_PCT: f64 = 99.5;

/// Cases below the goal today: (area, case, floor %). The floor is the measured figure
/// rounded down to 0.01 %; issue 16 asks for 99.5 % on each. The lawnmower's chosen bearing on
/// the U runs nearly parallel to a long edge and leaves a wedge under 10 m wide.
const BELOW_GOAL: [(&str, &str, f64); 1] = [("u_shape", "lawnmower", 98.58)];

/// The floor of a case: the goal unless it is listed in [`BELOW_GOAL`].
fn floor_pct(name: &str, case: &str) -> f64 {
    BELOW_GOAL
        .iter()
        .find(|&&(n, c, _)| n == name && c == case)
        .map_or(GOAL_PCT, |&(.., f)| f)
}

/// (case, pattern, perimeter fill, spiral inward, coverage goal applies).
const CASES: [(&str, Pattern, bool, bool, bool); 6] = [
    ("lawnmower", Pattern::Lawnmower, false, false, true),
    ("crosshatch", Pattern::Crosshatch, false, false, true),
    ("perimeter", Pattern::Perimeter, false, false, false),
    ("perimeter_fill", Pattern::Perimeter, true, false, true),
    ("spiral_out", Pattern::Spiral, false, false, true),
    ("spiral_in", Pattern::Spiral, false, true, true),
];

/// Slow in unoptimised builds: the buffered-ring patterns on the 80 km² area.
fn skipped(name: &str, pattern: Pattern, fill: bool) -> bool {
    cfg!(debug_assertions)
        && name == "large_80km2"
        && (pattern == Pattern::Spiral || (pattern == Pattern::Perimeter && fill))
}

#[test]
fn every_pattern_covers_and_stays_inside_on_every_reference_area() {
    let mut failures = Vec::new();
    for name in POLYGONS {
        let area = area(name);
        // Half a metre of slack for the WGS84 round trip of the waypoints.
        let grown = area.free_local().buffer(0.5);
        for (case, pattern, fill, inward, goal_applies) in CASES {
            if skipped(name, pattern, fill) {
                continue;
            }
            let params = SurveyParams {
                pattern,
                perimeter_fill: fill,
                spiral_inward: inward,
                ..SurveyParams::default()
            };
            let plan = plan_survey(&area, &params).unwrap();
            let pct = plan.estimate.within_half_spacing_pct;
            let floor = floor_pct(name, case);
            if goal_applies && pct < floor {
                failures.push(format!("{name} {case}: {pct:.3} % < {floor} %"));
            }
            let pts: Vec<geo::Coord> = plan
                .survey_path()
                .map(|p| area.frame().to_local(p))
                .collect();
            assert!(pts.len() >= 2, "{name} {case}: no survey path");
            // Each whole leg (not only its ends) inside the area grown by the slack, so
            // outside the holes and no-fly zones shrunk by it.
            let outside: Vec<usize> = (0..pts.len() - 1)
                .filter(|&i| !grown.contains(&Line::new(pts[i], pts[i + 1])))
                .collect();
            if !outside.is_empty() {
                failures.push(format!(
                    "{name} {case}: {} legs leave the area (first: leg {})",
                    outside.len(),
                    outside[0]
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_floors_below_the_goal_are_all_below_it() {
    // A floor at or above the goal would hide a case that reached it from this list.
    for (name, case, floor) in BELOW_GOAL {
        assert!(floor < GOAL_PCT, "{name} {case}: {floor}");
        assert!(POLYGONS.contains(&name), "{name}");
        assert!(CASES.iter().any(|c| c.0 == case), "{case}");
    }
}
