//! The angle search: the transect bearing that gives the shortest estimated lawnmower or
//! crosshatch, and its near ties.

use geo::MultiPolygon;

use super::Gen;
use crate::sweep::{CostEdges, Rot};

/// The transect bearing (0..180°) that gives the shortest estimated lawnmower: a coarse
/// sweep every 5° and the directions of the convex hull's edges, scored on the boundary
/// simplified to twice the spacing; the three best are scored again on the exact boundary,
/// then ±4° around the best by 1° and ±0.5° by 0.25°.
/// Each score is one pass over the edges ([`CostEdges`]). With `crosshatch` a bearing's score
/// is that of both passes (`b` and `b + 90°`).
pub(crate) fn best_bearing_deg(region: &MultiPolygon, g: &Gen, crosshatch: bool) -> f64 {
    bearing_candidates_deg(region, g, crosshatch)
        .first()
        .map_or(0.0, |c| c.bearing_deg)
}

/// How far above the best estimate a bearing still counts as a near tie: the estimate does
/// not see how the pieces join, which moves the flown length by more than this.
const NEAR_TIE: f64 = 0.02;

/// A bearing worth generating, with the estimated number of transect pieces of its pattern
/// (both passes of a crosshatch): what generating it costs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Candidate {
    pub bearing_deg: f64,
    pub pieces: f64,
}

/// The best bearing of [`best_bearing_deg`] first, then up to [`MAX_CANDIDATES`] − 1 other
/// bearings scored on the exact boundary whose estimate is within [`NEAR_TIE`] of it, best
/// first: the plan flies whichever of them gives the shortest path.
pub(crate) fn bearing_candidates_deg(
    region: &MultiPolygon,
    g: &Gen,
    crosshatch: bool,
) -> Vec<Candidate> {
    let per_piece_m = g.spacing_m + 2.0 * g.turnaround_m + g.turn_cost_m;
    let (edges, coarse_edges) = crate::par::join(
        || CostEdges::new(region, 0.0),
        || CostEdges::new(region, g.spacing_m * 2.0),
    );
    // (cost, pieces) of a bearing.
    let score = |e: &CostEdges, b: f64| {
        let (len, pieces) = e.lawnmower_terms(Rot::new(b), g.spacing_m);
        let (len, pieces) = if crosshatch {
            let (len2, pieces2) = e.lawnmower_terms(Rot::new(b + 90.0), g.spacing_m);
            (len + len2, pieces + pieces2)
        } else {
            (len, pieces)
        };
        (len + pieces * per_piece_m, pieces)
    };
    // Every batch of bearings is scored on two cores (`par::map`), then folded in order.
    let mut exact: Vec<(f64, f64, f64)> = Vec::new();
    // The best so far: (cost, bearing, pieces).
    let mut eval_all = |bs: &[f64], best: &mut (f64, f64, f64)| {
        // A bearing scored in an earlier batch is not scored again (it was already weighed).
        let bs: Vec<f64> = bs
            .iter()
            .copied()
            .filter(|b| !exact.iter().any(|e| e.1.to_bits() == b.to_bits()))
            .collect();
        let scores = crate::par::map(&bs, |&b| score(&edges, b));
        for (&b, (c, pieces)) in bs.iter().zip(scores) {
            exact.push((c, b, pieces));
            if c < best.0 - 1e-9 {
                *best = (c, b, pieces);
            }
        }
    };
    let mut candidates: Vec<f64> = (0..36).map(|k| f64::from(k) * 5.0).collect();
    {
        // The region's hull edges (the exact edges' hull is the region's).
        for w in edges.hull().windows(2) {
            let b = (w[1].x - w[0].x)
                .atan2(w[1].y - w[0].y)
                .to_degrees()
                .rem_euclid(180.0);
            candidates.push((b * 2.0).round() / 2.0);
        }
    }
    candidates.sort_by(f64::total_cmp);
    candidates.dedup();
    let coarse = crate::par::map(&candidates, |&b| score(&coarse_edges, b).0);
    let mut scored: Vec<(f64, f64)> = coarse.into_iter().zip(candidates).collect();
    // Stable: equal scores keep the smaller bearing first.
    scored.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut best = (f64::INFINITY, 0.0, 0.0);
    let mut finalists: Vec<f64> = scored.iter().take(3).map(|&(_, b)| b).collect();
    finalists.sort_by(f64::total_cmp);
    eval_all(&finalists, &mut best);
    for step in [1.0, 0.25] {
        let centre = best.1;
        let around: Vec<f64> = (-4..=4)
            .filter(|&k| k != 0)
            .map(|k| (centre + f64::from(k) * step).rem_euclid(180.0))
            .collect();
        eval_all(&around, &mut best);
    }
    // Lines a fraction of a degree off a long straight edge leave a wedge along it that no
    // line reaches (u_shape: 10 m wide along 499 m at 0.9° off). Where a long edge runs within
    // SNAP_DEG of the best bearing, its exact direction is flown instead when it costs
    // almost nothing more, and the bearings just off it are no longer offered.
    let long_m = SNAP_EDGE_SPACINGS * g.spacing_m;
    let off = |a: f64, b: f64| {
        let d = (a - b).rem_euclid(180.0);
        d.min(180.0 - d)
    };
    let mut snaps: Vec<(f64, f64)> = region
        .0
        .iter()
        .flat_map(|p| std::iter::once(p.exterior()).chain(p.interiors()))
        .flat_map(|r| r.0.windows(2))
        .filter_map(|w| {
            let (dx, dy) = (w[1].x - w[0].x, w[1].y - w[0].y);
            let len = dx.hypot(dy);
            let b = dx.atan2(dy).to_degrees().rem_euclid(180.0);
            (len >= long_m && off(b, best.1) <= SNAP_DEG && off(b, best.1) > 1e-6)
                .then_some((len, b))
        })
        .collect();
    snaps.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.total_cmp(&y.1)));
    if let Some(&(_, edge_b)) = snaps.first() {
        let (c, pieces) = score(&edges, edge_b);
        if c <= best.0 * (1.0 + SNAP_COST) {
            best = (c, edge_b, pieces);
            exact.retain(|e| off(e.1, edge_b) > SNAP_DEG);
            exact.push((c, edge_b, pieces));
        }
    }
    exact.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.total_cmp(&y.1)));
    let mut out = vec![Candidate {
        bearing_deg: best.1,
        pieces: best.2,
    }];
    let apart = |out: &[Candidate], b: f64| {
        out.iter().all(|a| {
            let d = (a.bearing_deg - b).rem_euclid(180.0);
            d.min(180.0 - d) > 0.1
        })
    };
    for &(c, b, pieces) in &exact {
        if out.len() >= MAX_CANDIDATES || c > best.0 * (1.0 + NEAR_TIE) {
            break;
        }
        if apart(&out, b) {
            out.push(Candidate {
                bearing_deg: b,
                pieces,
            });
        }
    }
    out
}

/// Bearings whose paths are generated to pick the shortest (see [`bearing_candidates_deg`]).
const MAX_CANDIDATES: usize = 8;

/// How far (degrees) a long edge's direction may be from the best bearing to be flown exactly.
const SNAP_DEG: f64 = 2.5;
/// How long (in line spacings) an edge must be to be snapped to.
const SNAP_EDGE_SPACINGS: f64 = 10.0;
/// How much more (share of the estimated cost) the edge's direction may cost.
const SNAP_COST: f64 = 0.01;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patterns::test_util::{params, rect_area};
    use geo::{LineString, MultiPolygon, Polygon};

    #[test]
    fn lines_run_exactly_along_a_long_edge_off_the_search_grid() {
        // A 1,500 m × 400 m rectangle whose long sides run at 33.3°: the search's grid of
        // candidates (0.5° hull bearings, 0.25° refinement) would fly 33.25° or 33.5°, which
        // leaves a wedge along a side; the lines run along it exactly.
        let b = 33.3f64.to_radians();
        let (u, n) = ((b.sin(), b.cos()), (b.cos(), -b.sin()));
        let corner = |s: f64, t: f64| (s * u.0 + t * n.0, s * u.1 + t * n.1);
        let ring = vec![
            corner(0.0, 0.0),
            corner(1500.0, 0.0),
            corner(1500.0, 400.0),
            corner(0.0, 400.0),
            corner(0.0, 0.0),
        ];
        let region = MultiPolygon(vec![Polygon::new(LineString::from(ring), vec![])]);
        let got = best_bearing_deg(&region, &params(20.0), false);
        assert!((got - 33.3).abs() < 1e-6, "{got}");
    }

    #[test]
    fn auto_angle_follows_the_long_side() {
        // 0.02° of longitude ≈ 1.78 km wide, 0.002° of latitude ≈ 222 m tall: fly east-west.
        let a = rect_area(0.02, 0.002);
        let b = best_bearing_deg(a.free_local(), &params(20.0), false);
        assert!((b - 90.0).abs() < 1.0, "{b}");
        let a = rect_area(0.002, 0.02);
        let b = best_bearing_deg(a.free_local(), &params(20.0), false);
        assert!(!(1.0..=179.0).contains(&b), "{b}");
    }
}
