//! Perimeter loops and the contour-parallel spiral, both flown on the inset rings of
//! [`super::rings`].

use geo::Coord;

use super::rings::{Depth, inset_loops};
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
/// in, until covered). Both fly every ring closed, depth after depth, each from its vertex
/// nearest to where the last one ended and joined to it by a connector routed inside the
/// region; the spiral flies the rings inwards or, by default, the same path from the centre
/// outwards.
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
    let insets = inset_loops(area.free_local(), g.spacing_m, first_m, max_depths);
    let depths = &insets.depths;
    let rot = Rot::new(0.0);
    let fs = FreeSpace::new(
        Rings::from_multipolygon(area.free_local(), rot),
        g.spacing_m,
    );
    // The pieces in the order they are flown (each ring closed, from its vertex nearest to
    // where the last piece ended), then the connectors between them, routed on the cores
    // there are: a connector's ends do not depend on the routes before it.
    let pieces = flight_order(depths, g.home);
    let ends: Vec<Option<(Coord, Coord)>> = pieces
        .windows(2)
        .map(|w| Some((*w[0].last()?, *w[1].first()?)))
        .collect();
    // Grid searches' memory, one per search running at a time.
    let scratches = std::sync::Mutex::new(Vec::<super::field::RouteScratch>::new());
    let routes = crate::par::map(&ends, |&ends| {
        let (prev, to) = ends?;
        // The region's router skips rings of more than a few hundred vertices; the
        // field's grid goes around them.
        fs.route_any(rot.fwd(prev), rot.fwd(to))
            .map(|v| v.into_iter().map(|q| rot.inv(q)).collect::<Vec<_>>())
            .or_else(|| {
                let field = insets.field.as_ref()?;
                let clear = |p: Coord, q: Coord| fs.clear(rot.fwd(p), rot.fwd(q));
                let mut scratch = scratches
                    .lock()
                    .map(|mut s| s.pop())
                    .ok()
                    .flatten()
                    .unwrap_or_default();
                let via = field.route(prev, to, 1.0, clear, &mut scratch);
                if let Ok(mut s) = scratches.lock() {
                    s.push(scratch);
                }
                via
            })
    });
    let mut path = SurveyPath::default();
    for (k, piece) in pieces.iter().enumerate() {
        if k > 0 {
            match routes.get(k - 1) {
                Some(Some(via)) => path.points.extend_from_slice(via),
                _ => path.unrouted += 1,
            }
        }
        path.points.extend_from_slice(piece);
    }
    if path.points.is_empty() {
        // Narrower than a spacing: fly the centre line of the area once around.
        if let Some(poly) = area.free_local().0.first() {
            path.points.extend(poly.exterior().0.iter().copied());
        }
    }
    if !closed && !spiral_inward {
        // Outward (the design's "outward expanding"): the same rings from the centre out.
        path.points.reverse();
    }
    path
}

/// The rings and open pieces of every depth as flown, outer depth first: each ring closed
/// from its vertex nearest to where the previous piece ended (the nearest ring first), then
/// the depth's open pieces, each from its end nearer to there.
fn flight_order(depths: &[Depth], home: Option<Coord>) -> Vec<Vec<Coord>> {
    let mut pieces: Vec<Vec<Coord>> = Vec::new();
    let mut pos: Option<Coord> = home;
    for d in depths {
        let mut level: Vec<&Vec<Coord>> = d.rings.iter().collect();
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
            let ring: Vec<Coord> = (0..=n).map(|k| lp[(best.2 + k) % n]).collect();
            pos = ring.last().copied();
            pieces.push(ring);
        }
        // Open pieces along the region's middle, each from its end nearer to where we are.
        let mut open: Vec<&Vec<Coord>> = d.open.iter().collect();
        while !open.is_empty() {
            let here = pos.unwrap_or(open[0][0]);
            let dist = |c: Coord| fast_len(c.x - here.x, c.y - here.y);
            let (mut bi, mut rev, mut bd) = (0, false, f64::INFINITY);
            for (i, piece) in open.iter().enumerate() {
                for (end, r) in [(piece[0], false), (piece[piece.len() - 1], true)] {
                    if dist(end) < bd {
                        (bi, rev, bd) = (i, r, dist(end));
                    }
                }
            }
            let mut piece = open.swap_remove(bi).clone();
            if rev {
                piece.reverse();
            }
            pos = piece.last().copied();
            pieces.push(piece);
        }
    }
    pieces
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
    fn spiral_flies_closed_rings_inwards_to_the_centre_and_outwards_reversed() {
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
        assert!(p.points.len() > 12, "{}", p.points.len());
        for (i, c) in p.points.iter().enumerate() {
            assert!(
                grown.contains(&Point::from(*c)),
                "waypoint {i} {c:?} outside"
            );
        }
        // It starts half a spacing in and works its way to the middle (~222 m wide area).
        let d: Vec<f64> = p.points.iter().map(|c| depth(*c)).collect();
        assert!((d[0] - spacing / 2.0).abs() < 1.0, "{}", d[0]);
        assert!(d[d.len() - 1] > 70.0, "{}", d[d.len() - 1]);
        // The outermost ring is closed: the path comes back to its first point.
        let back = p.points[1..]
            .iter()
            .position(|c| (c.x - p.points[0].x).hypot(c.y - p.points[0].y) < 1e-6);
        assert!(back.is_some(), "the first ring is not closed");
        // Outward flies the same path from the centre.
        let mut out = loops(&a, &params(spacing), false, FILL(spacing), false).points;
        out.reverse();
        assert_eq!(out, p.points);
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
