//! Perimeter loops and the contour-parallel spiral, both flown on the inset rings of
//! [`super::rings`].

use geo::Coord;

use super::rings::{inset_loops, spiral_turn};
use super::{Gen, SurveyPath};
use crate::area::Area;
use crate::sweep::{FreeSpace, Rings, Rot, fast_len};

/// How many perimeter loops to fly, and how far in the first one lies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoopSpec {
    /// Inset of the first loop from the boundary (and from each hole), metres.
    pub first_m: f64,
    /// Most loops (depths) flown; `usize::MAX` flies them until the area is covered.
    pub max_depths: usize,
}

/// Perimeter (closed loops, as many as `spec` says) or spiral (`spec` ignored: half a spacing
/// in, until covered). The spiral flies the outermost ring, then blends each ring into the
/// next inset one while the insets stay a single ring (one turn per spacing, no connector) and
/// closes the innermost; where the insets split (bays, holes) it flies the pieces as open
/// loops joined inwards.
pub(crate) fn loops(
    area: &Area,
    g: &Gen,
    closed: bool,
    spec: LoopSpec,
    spiral_inward: bool,
) -> SurveyPath {
    let (first_m, max_depths) = if closed {
        (spec.first_m, spec.max_depths.max(1))
    } else {
        (g.spacing_m / 2.0, usize::MAX)
    };
    let depths = inset_loops(area.free_local(), g.spacing_m, first_m, max_depths);
    let single: Vec<bool> = depths.iter().map(|l| l.len() == 1).collect();
    let rot = Rot::new(0.0);
    let fs = FreeSpace::new(
        Rings::from_multipolygon(area.free_local(), rot),
        g.spacing_m,
    );
    let mut path = SurveyPath::default();
    let mut pos: Option<Coord> = g.home;
    for (depth, mut level) in depths.iter().cloned().enumerate() {
        let blend_into = (!closed && single[depth] && single.get(depth + 1) == Some(&true))
            .then(|| depths[depth + 1][0].clone());
        while !level.is_empty() {
            // Nearest loop (by its nearest vertex) to where we are.
            let here = pos.unwrap_or(level[0][0]);
            let mut best = (f64::INFINITY, 0, 0);
            for (li, lp) in level.iter().enumerate() {
                for (vi, c) in lp.iter().enumerate() {
                    let d = fast_len(c.x - here.x, c.y - here.y);
                    if d < best.0 {
                        best = (d, li, vi);
                    }
                }
            }
            let lp = level.swap_remove(best.1);
            let n = lp.len();
            let first = lp[best.2];
            if let Some(prev) = path.points.last().copied() {
                match fs.route_any(rot.fwd(prev), rot.fwd(first)) {
                    Some(via) => path.points.extend(via.into_iter().map(|q| rot.inv(q))),
                    None => path.unrouted += 1,
                }
            }
            if let Some(mut inner) = blend_into.clone() {
                let mut outer = lp;
                outer.rotate_left(best.2);
                if depth == 0 {
                    // The outermost ring once at half a spacing first: the blended turn
                    // leaves it at once, and nothing else would fly the outer strip.
                    path.points.extend_from_slice(&outer);
                }
                spiral_turn(&outer, &mut inner, &mut path.points);
                // The next turn starts at the inner ring's start.
                pos = inner.first().copied();
                continue;
            }
            // Closed for the perimeter, and for the spiral's innermost ring after a blended
            // turn (the turn ends on it; nothing else flies its last edge).
            let blended_in = !closed && depth > 0 && single[depth] && single[depth - 1];
            let count = if closed || blended_in { n + 1 } else { n };
            path.points.extend((0..count).map(|k| lp[(best.2 + k) % n]));
            pos = path.points.last().copied();
        }
    }
    if path.points.is_empty() {
        // Narrower than a spacing: fly the centre line of the area once around.
        if let Some(poly) = area.free_local().0.first() {
            path.points.extend(poly.exterior().0.iter().copied());
        }
    }
    if !closed {
        // A spiral's blended turn cuts from one ring to the next: where that leaves the area
        // (a bay, a hole, a no-fly zone), the leg is routed inside as connectors are.
        path = routed_inside(&fs, rot, path);
        if spiral_inward {
            return path;
        }
        // Outward (the design's "outward expanding"): the same rings from the centre out.
        path.points.reverse();
    }
    path
}

/// `path` without its points outside the flyable region (a blended turn between rings of very
/// different lengths can cut across a bay) and with every leg that leaves the region replaced
/// by a route inside it.
fn routed_inside(fs: &FreeSpace, rot: Rot, path: SurveyPath) -> SurveyPath {
    let mut out = SurveyPath {
        points: Vec::with_capacity(path.points.len()),
        ..path
    };
    let mut prev: Option<Coord> = None;
    for &p in &path.points {
        if !fs.inside(rot.fwd(p)) {
            continue;
        }
        if let Some(last) = prev {
            let (a, b) = (rot.fwd(last), rot.fwd(p));
            if !fs.clear(a, b) {
                match fs.route_any(a, b) {
                    Some(via) => out.points.extend(via.into_iter().map(|q| rot.inv(q))),
                    // No route to this point: go on from the last one to the next.
                    None => continue,
                }
            }
        }
        prev = Some(p);
        out.points.push(p);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::patterns::square::expanding_square;
    use crate::patterns::test_util::{params, rect_area};

    /// Perimeter loops from half a spacing in until covered.
    #[expect(non_snake_case, reason = "reads as the constant it stands for")]
    fn FILL(spacing_m: f64) -> LoopSpec {
        LoopSpec {
            first_m: spacing_m / 2.0,
            max_depths: usize::MAX,
        }
    }

    #[test]
    fn spiral_blends_inwards_turn_after_turn() {
        use geo::{Contains, Point};
        let a = rect_area(0.005, 0.004);
        let spacing = 40.0;
        let p = loops(&a, &params(spacing), false, FILL(spacing), true);
        let ext: Vec<Coord> = a.free_local().0[0].exterior().0.clone();
        let depth = |c: Coord| {
            ext.windows(2)
                .map(|w| crate::frame::point_segment_distance_m(c, w[0], w[1]))
                .fold(f64::INFINITY, f64::min)
        };
        let grown = geo::Buffer::buffer(a.free_local(), 0.5);
        assert!(p.points.len() > 20, "{}", p.points.len());
        for (i, c) in p.points.iter().enumerate() {
            assert!(
                grown.contains(&Point::from(*c)),
                "waypoint {i} {c:?} outside"
            );
        }
        // Monotone inward: the distance to the boundary never decreases along the path.
        let d: Vec<f64> = p.points.iter().map(|c| depth(*c)).collect();
        for (i, w) in d.windows(2).enumerate() {
            assert!(
                w[1] >= w[0] - 0.01,
                "depth drops at {i}: {} -> {}",
                w[0],
                w[1]
            );
        }
        // A spiral, not rings joined by connectors: the depth grows at (nearly) every waypoint,
        // where inset rings keep it constant around each ring.
        let rising = d.windows(2).filter(|w| w[1] > w[0] + 0.01).count();
        assert!(rising * 2 > d.len() - 1, "{rising} of {}", d.len() - 1);
        // It starts half a spacing in and works its way to the middle (~222 m wide area).
        assert!((d[0] - spacing / 2.0).abs() < 1.0, "{}", d[0]);
        assert!(d[d.len() - 1] > 70.0, "{}", d[d.len() - 1]);
    }

    #[test]
    fn perimeter_loops_shrink_inwards() {
        let a = rect_area(0.005, 0.005);
        let p = loops(&a, &params(50.0), true, FILL(50.0), false);
        assert!(p.points.len() > 10);
        let s = expanding_square(&a, &params(50.0), Coord { x: 0.0, y: 0.0 });
        assert!(s.points.len() > 8);
    }
}
