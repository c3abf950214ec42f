//! Inset rings: the loops a spacing apart inside the region, from one distance field.

use geo::algorithm::buffer::{BufferStyle, LineJoin};
use geo::{Buffer, Coord, MultiPolygon, Simplify};

use super::field::Field;
use crate::area::shoelace;
use crate::frame::simplify_idx;
use crate::sweep::{FreeSpace, Rings, Rot, fast_len};

/// The loops of a region and, when they fill it, the distance field they came from (its
/// grid also routes connectors the region's router cannot).
pub(super) struct Insets {
    pub depths: Vec<Depth>,
    pub field: Option<Field>,
}

/// The loops at one depth: closed rings, and open pieces flown end to end.
#[derive(Debug, Clone, Default)]
pub(super) struct Depth {
    pub rings: Vec<Vec<Coord>>,
    pub open: Vec<Vec<Coord>>,
}

/// Inset loops at `first_m` from the boundary, then every spacing inwards, grouped by depth
/// (outer first), at most `max_depths` of them. Each loop is a ring (not closed), simplified
/// to a few centimetres, outer rings counter-clockwise and rings around holes clockwise.
///
/// When the loops go on until the region is covered (`max_depths` unbounded), two more kinds
/// of pieces fill what rings a spacing apart leave:
/// - where the region's middle (a ridge of the distance to the boundary) lies between two
///   depths, more than half a spacing past the last ring but short of the next (even a spacing
///   along the ridge), the contour half a spacing past that ring is flown along the ridge
///   (open), or whole where no deeper ring follows — listed with the next depth;
/// - at each sharp corner of the boundary, the first ring reaches into the corner and back, so
///   the corner's tip is within half a spacing of the path.
pub(super) fn inset_loops(
    region: &MultiPolygon,
    spacing_m: f64,
    first_m: f64,
    max_depths: usize,
) -> Insets {
    if max_depths != usize::MAX {
        return Insets {
            depths: buffered_loops(region, spacing_m, first_m, max_depths),
            field: None,
        };
    }
    let cell_m = (spacing_m / 4.0).min(first_m.max(spacing_m / 8.0));
    // 1.5 M nodes at most: cells of a quarter spacing up to ~2 km², coarser above (~0.8
    // spacing on 100 km² at 12 m spacing).
    let field = Field::new(region, cell_m, 1.5e6);
    let deepest = field.max_depth_m();
    let fill = max_depths == usize::MAX;
    let half = spacing_m / 2.0;
    let mut levels = Vec::new();
    let mut k = 0usize;
    loop {
        let d = first_m + k as f64 * spacing_m;
        if d >= deepest || k >= max_depths.min(100_000) {
            break;
        }
        levels.push(d);
        if fill {
            levels.push(d + half);
        }
        k += 1;
    }
    // The half levels only near the region's sharp ridges: elsewhere a climb of half a
    // spacing from them reaches the next ring's depth (none of their points is exposed).
    let (partial, zone) = if fill {
        let partial: Vec<bool> = (0..levels.len()).map(|m| m % 2 == 1).collect();
        (partial, field.ridge_zone(half))
    } else {
        (Vec::new(), Vec::new())
    };
    let traced = field.contours(&levels, &partial, &zone);
    drop(zone);
    // Rings a spacing apart stay a spacing apart: only points within a few centimetres of
    // the line through their neighbours go.
    let keep_m = spacing_m / 40.0;
    let tol = spacing_m / 8.0;
    let simplify = |r: &[Coord], closed: bool| -> Vec<Coord> {
        let mut pts = r.to_vec();
        if closed {
            pts.push(r[0]);
        }
        let mut s: Vec<Coord> = simplify_idx(&pts, keep_m)
            .into_iter()
            .map(|i| pts[i])
            .collect();
        if closed {
            s.pop();
        }
        s
    };
    let step = if fill { 2 } else { 1 };
    // Each depth's rings and, when filling, the pieces along the middle it leaves (listed
    // with the next depth), on the cores there are; assembled in order below.
    let starts: Vec<usize> = (0..traced.len()).step_by(step).collect();
    let per_depth = crate::par::map(&starts, |&m| {
        let rings: Vec<Vec<Coord>> = traced[m]
            .iter()
            .map(|r| simplify(&r.pts, true))
            .filter(|r| r.len() >= 3)
            .collect();
        let mut extra = Depth::default();
        if fill && m + 1 < traced.len() && !rings.is_empty() {
            let next_level = levels[m] + spacing_m;
            for piece in &traced[m + 1] {
                let r = &piece.pts;
                let n = r.len();
                let exposed: Vec<bool> = r
                    .iter()
                    .enumerate()
                    .map(|(i, &q)| {
                        // A stretch's ends lie away from the ridges: not exposed.
                        (piece.closed || (i > 0 && i + 1 < n))
                        // Short of the next ring half a spacing up the slope, and still short a
                        // spacing along the ridge (a corner of the rings rises to it there).
                            && !field.climbs_to(q, half, 1, next_level - tol)
                            && !field.climbs_to(q, spacing_m, 4, next_level - tol)
                    })
                    .collect();
                if exposed.iter().all(|&e| e) {
                    extra.rings.push(simplify(r, true));
                } else {
                    for run in exposed_runs(r, &exposed, half, piece.closed) {
                        extra.open.push(simplify(&run, false));
                    }
                }
            }
            extra.rings.retain(|r| r.len() >= 3);
            extra.open.retain(|r| r.len() >= 2);
        }
        (rings, extra)
    });
    let mut depths: Vec<Depth> = Vec::new();
    for (n, (rings, extra)) in per_depth.into_iter().enumerate() {
        if rings.is_empty() {
            break;
        }
        if depths.len() <= n {
            depths.push(Depth::default());
        }
        depths[n].rings.extend(rings);
        if !extra.rings.is_empty() || !extra.open.is_empty() {
            if depths.len() <= n + 1 {
                depths.push(Depth::default());
            }
            depths[n + 1].rings.extend(extra.rings);
            depths[n + 1].open.extend(extra.open);
        }
    }
    if fill {
        let mut inner: Vec<&mut Vec<Coord>> = depths
            .iter_mut()
            .skip(1)
            .flat_map(|d| d.rings.iter_mut())
            .collect();
        crate::par::for_each_mut(&mut inner, |r| lens_reaches(r, spacing_m, &field));
        if let Some(first) = depths.first_mut() {
            corner_reaches(region, half, &mut first.rings);
        }
    }
    Insets {
        depths,
        field: Some(field),
    }
}

/// Rings a spacing apart leave a lens between their corners (at a right angle, points on the
/// bisector from half a spacing to 0.71 spacing past the inner corner). At each corner of the
/// ring `r` sharper than 160° the ring reaches out along the bisector by
/// `spacing/2 · (1/sin(θ/2) − 1)` and back, which brings the whole lens within half a spacing.
fn lens_reaches(r: &mut Vec<Coord>, spacing_m: f64, field: &Field) {
    let n = r.len();
    if n < 3 {
        return;
    }
    // Corners are found on the ring simplified to an eighth of a spacing (a corner traced
    // through the grid may be a short chamfer of two vertices).
    let mut closed = r.clone();
    closed.push(r[0]);
    let idx = simplify_idx(&closed, spacing_m / 8.0);
    let mut corners: Vec<usize> = idx.into_iter().filter(|&i| i < n).collect();
    corners.dedup();
    let m = corners.len();
    if m < 3 {
        return;
    }
    let mut adds: Vec<(usize, Coord)> = Vec::new();
    for k in 0..m {
        let (a, v, b) = (
            r[corners[(k + m - 1) % m]],
            r[corners[k]],
            r[corners[(k + 1) % m]],
        );
        let (Some(ua), Some(ub)) = (unit(a, v), unit(b, v)) else {
            continue;
        };
        // A left turn: the corner points away from the deeper side (on the left).
        let turn = (v.x - a.x) * (b.y - v.y) - (v.y - a.y) * (b.x - v.x);
        if turn <= 0.0 {
            continue;
        }
        let cos = (ua.x * ub.x + ua.y * ub.y).clamp(-1.0, 1.0);
        let theta = cos.acos();
        if theta > 160f64.to_radians() || theta < 1e-3 {
            continue;
        }
        let reach = spacing_m / 2.0 * (1.0 / (theta / 2.0).sin() - 1.0);
        let (bx, by) = (-(ua.x + ub.x), -(ua.y + ub.y));
        let bl = bx.hypot(by);
        if bl < 1e-9 || reach < spacing_m / 50.0 {
            continue;
        }
        let p = Coord {
            x: v.x + bx / bl * reach,
            y: v.y + by / bl * reach,
        };
        // Between this ring and the one outside it, so well inside the region.
        if field.depth_at(p) > 0.0 {
            adds.push((corners[k], p));
        }
    }
    for (i, p) in adds.into_iter().rev() {
        let v = r[i];
        r.splice((i + 1)..=i, [p, v]);
    }
}

/// A few loops (the perimeter's default): each an exact inward buffer of the one before,
/// simplified to a quarter spacing — cheaper than a field for one or two rings.
fn buffered_loops(
    region: &MultiPolygon,
    spacing_m: f64,
    first_m: f64,
    max_depths: usize,
) -> Vec<Depth> {
    let style = |d: f64| BufferStyle::new(-d).line_join(LineJoin::Miter(2.0));
    let mut cur = region.buffer_with_style(style(first_m));
    let mut depths = Vec::new();
    while !cur.0.is_empty() && depths.len() < max_depths.min(100_000) {
        let simple = cur.simplify(spacing_m / 4.0);
        let mut rings = Vec::new();
        for poly in &simple.0 {
            for ls in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                let mut r: Vec<Coord> = ls.0.clone();
                if r.len() > 1 && r.first() == r.last() {
                    r.pop();
                }
                if r.len() >= 3 && shoelace(&r).abs() > 1e-3 {
                    rings.push(r);
                }
            }
        }
        if rings.is_empty() {
            break;
        }
        depths.push(Depth {
            rings,
            open: Vec::new(),
        });
        if depths.len() >= max_depths {
            break;
        }
        cur = cur.buffer_with_style(style(spacing_m));
    }
    depths
}

/// The runs of `exposed` points of the ring (`closed`) or stretch `r`, each with one point
/// more at both ends, that are at least `min_m` long. A stretch's ends are not exposed.
fn exposed_runs(r: &[Coord], exposed: &[bool], min_m: f64, closed: bool) -> Vec<Vec<Coord>> {
    let n = r.len();
    // Start after a point that is not exposed (there is one: not all are).
    let Some(s0) = (0..n).find(|&i| !exposed[i]) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut run: Vec<Coord> = Vec::new();
    let last = if closed { n } else { n - 1 - s0 };
    for k in 1..=last {
        let i = (s0 + k) % n;
        if exposed[i] {
            if run.is_empty() {
                run.push(r[(i + n - 1) % n]);
            }
            run.push(r[i]);
        } else if !run.is_empty() {
            run.push(r[i]);
            let len: f64 = run
                .windows(2)
                .map(|w| fast_len(w[1].x - w[0].x, w[1].y - w[0].y))
                .sum();
            if len >= min_m {
                out.push(std::mem::take(&mut run));
            } else {
                run.clear();
            }
        }
    }
    out
}

/// Convex corners of the region's outline sharper than 160°: the first rings reach from their
/// vertex nearest the corner to a point on the corner's bisector `reach_m` · 0.95 from its tip,
/// and back, where that leg stays inside the region.
fn corner_reaches(region: &MultiPolygon, reach_m: f64, rings: &mut [Vec<Coord>]) {
    let free = FreeSpace::new(
        Rings::from_multipolygon(region, Rot::new(0.0)),
        reach_m * 2.0,
    );
    let rot = Rot::new(0.0);
    // (ring, vertex, point) to insert after that vertex.
    let mut adds: Vec<(usize, usize, Coord)> = Vec::new();
    for poly in &region.0 {
        let rings_of = std::iter::once((poly.exterior(), false))
            .chain(poly.interiors().iter().map(|r| (r, true)));
        for (ring, hole) in rings_of {
            let mut pts: Vec<Coord> = ring.0.clone();
            if pts.len() > 1 && pts.first() == pts.last() {
                pts.pop();
            }
            let n = pts.len();
            if n < 3 {
                continue;
            }
            // The region lies left of travel along a counter-clockwise outline and right of
            // it along a counter-clockwise hole.
            let region_left = (shoelace(&pts) > 0.0) != hole;
            for i in 0..n {
                let (a, t, b) = (pts[(i + n - 1) % n], pts[i], pts[(i + 1) % n]);
                let (ua, ub) = (unit(a, t), unit(b, t));
                let (Some(ua), Some(ub)) = (ua, ub) else {
                    continue;
                };
                // Convex (the region on the inside of the turn) and sharper than 160°.
                let turn = (t.x - a.x) * (b.y - t.y) - (t.y - a.y) * (b.x - t.x);
                if (turn > 0.0) != region_left {
                    continue;
                }
                let cos = ua.x * ub.x + ua.y * ub.y;
                if cos < -(160f64.to_radians().cos().abs()) {
                    continue;
                }
                let (bx, by) = (ua.x + ub.x, ua.y + ub.y);
                let bl = bx.hypot(by);
                if bl < 1e-9 {
                    continue;
                }
                let p = Coord {
                    x: t.x + bx / bl * reach_m * 0.95,
                    y: t.y + by / bl * reach_m * 0.95,
                };
                // The ring vertex nearest the corner's tip.
                let mut best = (f64::INFINITY, 0, 0);
                for (ri, r) in rings.iter().enumerate() {
                    for (vi, v) in r.iter().enumerate() {
                        let d2 = (v.x - t.x) * (v.x - t.x) + (v.y - t.y) * (v.y - t.y);
                        if d2 < best.0 {
                            best = (d2, ri, vi);
                        }
                    }
                }
                best.0 = best.0.sqrt();
                if best.0 <= reach_m * 1.02 || !best.0.is_finite() {
                    continue;
                }
                let v = rings[best.1][best.2];
                if free.inside(rot.fwd(p)) && free.clear(rot.fwd(v), rot.fwd(p)) {
                    adds.push((best.1, best.2, p));
                }
            }
        }
    }
    // Insert from the back so earlier indices stay valid.
    adds.sort_by_key(|a| std::cmp::Reverse((a.0, a.1)));
    for (ri, vi, p) in adds {
        let v = rings[ri][vi];
        rings[ri].splice((vi + 1)..=vi, [p, v]);
    }
}

/// Unit vector from `from` to `to`.
fn unit(to: Coord, from: Coord) -> Option<Coord> {
    let (dx, dy) = (to.x - from.x, to.y - from.y);
    let l = dx.hypot(dy);
    (l > 1e-9).then(|| Coord {
        x: dx / l,
        y: dy / l,
    })
}
