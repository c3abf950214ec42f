//! Expanding-square search around a centre, clipped to the flyable region.

use geo::Coord;

use super::{Gen, SurveyPath};
use crate::area::Area;
use crate::sweep::{FreeSpace, Rings, Rot, Uv, dist};

/// Expanding-square search around `centre`: legs of 1, 1, 2, 2, 3, 3… spacings turning
/// clockwise from north, until the square reaches every point of the area. Each leg is
/// clipped to the flyable region; consecutive pieces are joined straight when the line stays
/// inside, else routed around the boundary, so no leg leaves the area.
pub(crate) fn expanding_square(area: &Area, g: &Gen, centre: Coord) -> SurveyPath {
    let reach = area
        .free_local()
        .0
        .iter()
        .flat_map(|p| p.exterior().0.iter())
        .map(|c| (c.x - centre.x).abs().max((c.y - centre.y).abs()))
        .fold(0.0, f64::max);
    let mut square = vec![centre];
    let mut p = centre;
    let dirs = [(0.0, 1.0), (1.0, 0.0), (0.0, -1.0), (-1.0, 0.0)];
    let mut k = 0usize;
    loop {
        let len = (k / 2 + 1) as f64 * g.spacing_m;
        let (dx, dy) = dirs[k % 4];
        p = Coord {
            x: p.x + dx * len,
            y: p.y + dy * len,
        };
        square.push(p);
        k += 1;
        let half = (k / 2) as f64 * g.spacing_m / 2.0;
        if half > reach + g.spacing_m || k > 200_000 {
            break;
        }
    }
    let rot = Rot::new(0.0);
    let fs = FreeSpace::new(
        Rings::from_multipolygon(area.free_local(), rot),
        g.spacing_m,
    );
    let mut path = SurveyPath::default();
    let mut last: Option<Uv> = None;
    for w in square.windows(2) {
        let (a, b) = (rot.fwd(w[0]), rot.fwd(w[1]));
        for (t0, t1) in fs.clip(a, b) {
            let at = |t: f64| Uv {
                u: a.u + t * (b.u - a.u),
                v: a.v + t * (b.v - a.v),
            };
            let (q0, q1) = (at(t0), at(t1));
            match last {
                Some(l) if dist(l, q0) <= 1e-6 => {}
                Some(l) => {
                    // Both ends lie on the boundary unless at the square's corners: walk the
                    // boundary between them when the visibility route gives up (large rings).
                    let via = fs
                        .route_any(l, q0)
                        .or_else(|| fs.route(l, fs.nearest_edge(l), q0, fs.nearest_edge(q0)));
                    match via {
                        Some(via) => path.points.extend(via.into_iter().map(|q| rot.inv(q))),
                        None => path.unrouted += 1,
                    }
                    path.points.push(rot.inv(q0));
                }
                None => path.points.push(rot.inv(q0)),
            }
            path.points.push(rot.inv(q1));
            last = Some(q1);
        }
    }
    path
}
