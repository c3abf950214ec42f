//! Pattern generation in the local frame: lawnmower (automatic angle), crosshatch, perimeter
//! loops, inward spiral and expanding square. Output is the survey path (camera on) as local
//! points; the mission items around it are added by [`crate::plan`].

use geo::algorithm::buffer::{BufferStyle, LineJoin};
use geo::{Buffer, Coord, MultiPolygon, Simplify};

use crate::area::Area;
use crate::sweep::{CostEdges, FreeSpace, Rings, Rot, Segment, Uv, dist, fast_len, transects};

/// One straight-transect pass: its bearing and the index range of its points in the path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pass {
    pub bearing_deg: f64,
    pub start: usize,
    pub end: usize,
}

/// A generated survey path in local metres.
#[derive(Debug, Clone, Default)]
pub(crate) struct SurveyPath {
    pub points: Vec<Coord>,
    /// Straight-transect passes (lawnmower: one, crosshatch: two).
    pub passes: Vec<Pass>,
    /// Connectors that could not be routed inside the area and fly straight.
    pub unrouted: usize,
}

/// Inputs shared by the generators.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Gen {
    pub spacing_m: f64,
    pub turnaround_m: f64,
    /// Metres a 180° turn costs (speed × turn time), for the angle search.
    pub turn_cost_m: f64,
    pub home: Option<Coord>,
    /// Transect grid anchor across the lines (for splitting among drones), else the area's edge.
    pub grid_anchor_v: Option<f64>,
}

// --- angle search -------------------------------------------------------------------------

/// The transect bearing (0..180°) that gives the shortest estimated lawnmower: a coarse
/// sweep every 5° and the directions of the convex hull's edges, scored on the boundary
/// simplified to twice the spacing; the three best are scored again on the exact boundary,
/// then ±4° around the best by 1° and ±0.5° by 0.25°.
/// Each score is one pass over the edges ([`CostEdges`]).
pub(crate) fn best_bearing_deg(region: &MultiPolygon, g: &Gen) -> f64 {
    let per_piece_m = g.spacing_m + 2.0 * g.turnaround_m + g.turn_cost_m;
    let edges = CostEdges::new(region, 0.0);
    let coarse_edges = CostEdges::new(region, g.spacing_m * 2.0);
    let eval = |b: f64| edges.lawnmower_cost_m(Rot::new(b), g.spacing_m, per_piece_m);
    let mut candidates: Vec<f64> = (0..36).map(|k| f64::from(k) * 5.0).collect();
    {
        use geo::ConvexHull;
        let hull = region.convex_hull();
        for w in hull.exterior().0.windows(2) {
            let b = (w[1].x - w[0].x)
                .atan2(w[1].y - w[0].y)
                .to_degrees()
                .rem_euclid(180.0);
            candidates.push((b * 2.0).round() / 2.0);
        }
    }
    candidates.sort_by(f64::total_cmp);
    candidates.dedup();
    let mut scored: Vec<(f64, f64)> = candidates
        .iter()
        .map(|&b| {
            (
                coarse_edges.lawnmower_cost_m(Rot::new(b), g.spacing_m, per_piece_m),
                b,
            )
        })
        .collect();
    // Stable: equal scores keep the smaller bearing first.
    scored.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut best = (f64::INFINITY, 0.0);
    let mut finalists: Vec<f64> = scored.iter().take(3).map(|&(_, b)| b).collect();
    finalists.sort_by(f64::total_cmp);
    for b in finalists {
        let c = eval(b);
        if c < best.0 - 1e-9 {
            best = (c, b);
        }
    }
    for step in [1.0, 0.25] {
        let centre = best.1;
        for k in -4..=4 {
            if k == 0 {
                continue;
            }
            let b = (centre + f64::from(k) * step).rem_euclid(180.0);
            let c = eval(b);
            if c < best.0 - 1e-9 {
                best = (c, b);
            }
        }
    }
    best.1
}

// --- lawnmower ------------------------------------------------------------------------------

struct Lawn<'a> {
    segs: &'a [Segment],
    lines: Vec<(usize, usize)>,
    left: Vec<usize>,
    visited: Vec<bool>,
    spacing_m: f64,
}

impl Lawn<'_> {
    fn nearest_unvisited(&self, pos: Uv, line: usize) -> Option<(usize, bool)> {
        let mut best: Option<(f64, usize, bool)> = None;
        let nl = self.lines.len();
        for d in 0..nl {
            if best.is_some_and(|(bd, ..)| (d as f64 - 1.0) * self.spacing_m > bd) {
                break;
            }
            for l in [line.checked_sub(d), (d > 0).then_some(line + d)]
                .into_iter()
                .flatten()
            {
                if l >= nl || self.left[l] == 0 {
                    continue;
                }
                let (s, e) = self.lines[l];
                for i in s..e {
                    if self.visited[i] {
                        continue;
                    }
                    let sg = &self.segs[i];
                    for (at_u0, u) in [(true, sg.u0), (false, sg.u1)] {
                        let dd = dist(pos, Uv { u, v: sg.v });
                        if best.is_none_or(|(bd, ..)| dd < bd) {
                            best = Some((dd, i, at_u0));
                        }
                    }
                }
            }
        }
        best.map(|(_, i, a)| (i, a))
    }
}

/// Orders the pieces into one path: alternate directions, next piece on the neighbouring
/// line overlapping the current one, else the nearest unvisited piece; connectors that leave
/// the region are routed along it. Appends the path in the rotated frame; returns its end.
#[expect(
    clippy::too_many_arguments,
    reason = "one private call site; a struct would only rename the arguments"
)]
fn order_pieces(
    segs: &[Segment],
    nlines: usize,
    fs: &FreeSpace,
    no_fly: Option<&FreeSpace>,
    start_near: Option<Uv>,
    turnaround_m: f64,
    out: &mut Vec<Uv>,
    unrouted: &mut usize,
) -> Option<Uv> {
    if segs.is_empty() {
        return None;
    }
    let mut lines = vec![(0usize, 0usize); nlines];
    let mut left = vec![0usize; nlines];
    let mut i = 0;
    while i < segs.len() {
        let l = segs[i].line as usize;
        let s = i;
        while i < segs.len() && segs[i].line as usize == l {
            i += 1;
        }
        if l < nlines {
            lines[l] = (s, i);
            left[l] = i - s;
        }
    }
    let mut lawn = Lawn {
        segs,
        lines,
        left,
        visited: vec![false; segs.len()],
        spacing_m: 0.0,
    };
    lawn.spacing_m = if nlines > 1 {
        (segs[segs.len() - 1].v - segs[0].v).abs()
            / (f64::from(segs[segs.len() - 1].line) - f64::from(segs[0].line)).max(1.0)
    } else {
        1.0
    };
    let first_line = segs[0].line as usize;
    let last_line = segs[segs.len() - 1].line as usize;
    let (f0, f1) = lawn.lines[first_line];
    let (l0, l1) = lawn.lines[last_line];
    let cands = [(f0, true), (f1 - 1, false), (l0, true), (l1 - 1, false)];
    let reference = start_near.unwrap_or(Uv {
        u: segs[0].u0,
        v: segs[0].v,
    });
    let pick = |&(i, at_u0): &(usize, bool)| {
        dist(
            reference,
            Uv {
                u: if at_u0 { segs[i].u0 } else { segs[i].u1 },
                v: segs[i].v,
            },
        )
    };
    let mut cur = cands[0];
    for c in &cands[1..] {
        if pick(c) < pick(&cur) - 1e-9 {
            cur = *c;
        }
    }
    let dir: isize = if segs[cur.0].line as usize == first_line {
        1
    } else {
        -1
    };
    let extend = |p: Uv, edge: u32, along: f64| -> Uv {
        if turnaround_m <= 0.0 || !fs.edge_is_outer(edge) {
            return p;
        }
        let q = Uv {
            u: p.u + along * turnaround_m,
            v: p.v,
        };
        if no_fly.is_some_and(|nf| nf.enters(p, q)) {
            p
        } else {
            q
        }
    };
    // The first entry is not extended: the path starts on the boundary.
    let s0 = &segs[cur.0];
    out.push(Uv {
        u: if cur.1 { s0.u0 } else { s0.u1 },
        v: s0.v,
    });
    loop {
        let (idx, at_u0) = cur;
        lawn.visited[idx] = true;
        let s = segs[idx];
        lawn.left[s.line as usize] -= 1;
        let (exit, exit_edge, along) = if at_u0 {
            (Uv { u: s.u1, v: s.v }, s.e1, 1.0)
        } else {
            (Uv { u: s.u0, v: s.v }, s.e0, -1.0)
        };
        // Next piece: on the neighbouring line in sweep direction, overlapping this one.
        let nl = s.line as isize + dir;
        let mut next: Option<(usize, bool, f64)> = None;
        if nl >= 0 && (nl as usize) < nlines && lawn.left[nl as usize] > 0 {
            let (a, b) = lawn.lines[nl as usize];
            for (j, t) in segs.iter().enumerate().take(b).skip(a) {
                if lawn.visited[j] || t.u0 > s.u1 || t.u1 < s.u0 {
                    continue;
                }
                for (fl, u) in [(true, t.u0), (false, t.u1)] {
                    let d = dist(exit, Uv { u, v: t.v });
                    if next.is_none_or(|(.., bd)| d < bd) {
                        next = Some((j, fl, d));
                    }
                }
            }
        }
        let next = next
            .map(|(j, fl, _)| (j, fl))
            .or_else(|| lawn.nearest_unvisited(exit, s.line as usize));
        let Some((nj, n_u0)) = next else {
            out.push(exit);
            return Some(exit);
        };
        let t = segs[nj];
        let (entry, entry_edge, n_along) = if n_u0 {
            (Uv { u: t.u0, v: t.v }, t.e0, -1.0)
        } else {
            (Uv { u: t.u1, v: t.v }, t.e1, 1.0)
        };
        let adjacent = (i64::from(t.line) - i64::from(s.line)).abs() == 1;
        if adjacent && fs.clear(exit, entry) {
            let a = extend(exit, exit_edge, along);
            let b = extend(entry, entry_edge, n_along);
            out.push(a);
            if dist(a, b) > 1e-9 {
                out.push(b);
            }
            if dist(b, entry) > 1e-9 {
                out.push(entry);
            }
        } else {
            out.push(exit);
            match fs.route(exit, exit_edge, entry, entry_edge) {
                Some(via) => out.extend(via),
                None => *unrouted += 1,
            }
            out.push(entry);
        }
        cur = (nj, n_u0);
    }
}

/// One lawnmower pass at `bearing_deg` over the area's free region.
fn lawnmower_pass(
    area: &Area,
    g: &Gen,
    bearing_deg: f64,
    start_near: Option<Coord>,
    path: &mut SurveyPath,
) -> Option<Coord> {
    let rot = Rot::new(bearing_deg);
    let rings = Rings::from_multipolygon(area.free_local(), rot);
    let anchor = g.grid_anchor_v.unwrap_or_else(|| rings.v_range().0);
    let mut segs = Vec::new();
    let nlines = transects(&rings, g.spacing_m, anchor, &mut segs);
    let fs = FreeSpace::new(rings, g.spacing_m);
    let nf = (!area.no_fly_local().0.is_empty()).then(|| {
        FreeSpace::new(
            Rings::from_multipolygon(area.no_fly_local(), rot),
            g.spacing_m,
        )
    });
    let mut uv = Vec::with_capacity(segs.len() * 2 + 8);
    // Join a previous pass at the nearer end: route from its last point to this pass's start.
    let start_uv = start_near.map(|c| rot.fwd(c));
    let end = order_pieces(
        &segs,
        nlines,
        &fs,
        nf.as_ref(),
        start_uv,
        g.turnaround_m,
        &mut uv,
        &mut path.unrouted,
    );
    if let (Some(prev), Some(first)) = (path.points.last().copied(), uv.first().copied()) {
        let p = rot.fwd(prev);
        let via = fs.route(p, fs.nearest_edge(p), first, fs.nearest_edge(first));
        match via {
            Some(v) => path.points.extend(v.into_iter().map(|q| rot.inv(q))),
            None => path.unrouted += 1,
        }
    }
    let start = path.points.len();
    path.points.extend(uv.iter().map(|p| rot.inv(*p)));
    path.passes.push(Pass {
        bearing_deg,
        start,
        end: path.points.len(),
    });
    end.map(|e| rot.inv(e))
}

/// Lawnmower: one pass at the given or best bearing.
pub(crate) fn lawnmower(area: &Area, g: &Gen, bearing_deg: f64) -> SurveyPath {
    let mut path = SurveyPath::default();
    lawnmower_pass(area, g, bearing_deg, g.home, &mut path);
    path
}

/// Crosshatch: the lawnmower, then a second pass at +90° starting at the corner nearest to
/// where the first ended.
pub(crate) fn crosshatch(area: &Area, g: &Gen, bearing_deg: f64) -> SurveyPath {
    let mut path = SurveyPath::default();
    let end = lawnmower_pass(area, g, bearing_deg, g.home, &mut path);
    lawnmower_pass(
        area,
        g,
        (bearing_deg + 90.0).rem_euclid(180.0),
        end.or(g.home),
        &mut path,
    );
    path
}

// --- perimeter and spiral -------------------------------------------------------------------

/// Inset loops at half a spacing from the boundary, then every spacing inwards, grouped by
/// depth (outer first). Each loop is a ring (not closed), simplified to a quarter spacing.
fn inset_loops(region: &MultiPolygon, spacing_m: f64) -> Vec<Vec<Vec<Coord>>> {
    let style = |d: f64| BufferStyle::new(-d).line_join(LineJoin::Miter(2.0));
    let mut cur = region.buffer_with_style(style(spacing_m / 2.0));
    let mut depths = Vec::new();
    while !cur.0.is_empty() && depths.len() < 100_000 {
        let simple = cur.simplify(spacing_m / 4.0);
        let mut loops = Vec::new();
        for poly in &simple.0 {
            for ls in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                let mut r: Vec<Coord> = ls.0.clone();
                if r.len() > 1 && r.first() == r.last() {
                    r.pop();
                }
                if r.len() >= 3 && crate::area::shoelace(&r).abs() > 1e-3 {
                    loops.push(r);
                }
            }
        }
        if loops.is_empty() {
            break;
        }
        depths.push(loops);
        cur = cur.buffer_with_style(style(spacing_m));
    }
    depths
}

/// Arc-length fractions of a closed ring's vertices (the closing edge included).
fn ring_fractions(r: &[Coord]) -> Vec<f64> {
    let n = r.len();
    let mut acc = 0.0;
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        out.push(acc);
        let (a, b) = (r[i], r[(i + 1) % n]);
        acc += fast_len(b.x - a.x, b.y - a.y);
    }
    if acc > 0.0 {
        for f in &mut out {
            *f /= acc;
        }
    }
    out
}

/// The point at arc-length fraction `f` (0..1) of a closed ring with vertex fractions `fr`.
fn ring_at(r: &[Coord], fr: &[f64], f: f64) -> Coord {
    let n = r.len();
    let i = fr.partition_point(|&x| x <= f).saturating_sub(1);
    let (a, b) = (r[i], r[(i + 1) % n]);
    let (f0, f1) = (fr[i], if i + 1 < n { fr[i + 1] } else { 1.0 });
    let t = if f1 > f0 { (f - f0) / (f1 - f0) } else { 0.0 };
    Coord {
        x: a.x + t * (b.x - a.x),
        y: a.y + t * (b.y - a.y),
    }
}

/// One turn of a contour-parallel spiral: around `outer` (starting at its vertex 0) while
/// moving linearly, by arc length, onto `inner` (rotated to start next to `outer`'s start and
/// turned the same way), so the turn ends at `inner`'s start without closing `outer`. Points
/// at both rings' vertices; the end point (inner's start) is left to the next turn.
fn spiral_turn(outer: &[Coord], inner: &mut [Coord], out: &mut Vec<Coord>) {
    let start = outer[0];
    let k = (0..inner.len())
        .min_by(|&i, &j| {
            let di = fast_len(inner[i].x - start.x, inner[i].y - start.y);
            let dj = fast_len(inner[j].x - start.x, inner[j].y - start.y);
            di.total_cmp(&dj)
        })
        .unwrap_or(0);
    inner.rotate_left(k);
    if (crate::area::shoelace(outer) > 0.0) != (crate::area::shoelace(inner) > 0.0) {
        inner[1..].reverse();
    }
    let (fa, fb) = (ring_fractions(outer), ring_fractions(inner));
    let mut fs: Vec<f64> = fa.iter().chain(fb.iter()).copied().collect();
    fs.sort_by(f64::total_cmp);
    fs.dedup_by(|a, b| (*a - *b).abs() < 1e-9);
    for f in fs {
        let (a, b) = (ring_at(outer, &fa, f), ring_at(inner, &fb, f));
        out.push(Coord {
            x: (1.0 - f) * a.x + f * b.x,
            y: (1.0 - f) * a.y + f * b.y,
        });
    }
}

/// Perimeter (closed loops) or spiral. The spiral flies the outermost ring, then blends each
/// ring into the next inset one while the insets stay a single ring (one turn per spacing, no
/// connector) and closes the innermost; where the insets split (bays, holes) it flies the
/// pieces as open loops joined inwards.
pub(crate) fn loops(area: &Area, g: &Gen, closed: bool) -> SurveyPath {
    let depths = inset_loops(area.free_local(), g.spacing_m);
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
    path
}

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

#[cfg(test)]
mod tests {
    use super::*;
    use aviary_core::{LatLon, SurveyArea};

    fn rect_area(w_deg: f64, h_deg: f64) -> Area {
        let (lat, lon) = (37.0, -122.0);
        let ext = vec![
            LatLon::new(lat, lon),
            LatLon::new(lat, lon + w_deg),
            LatLon::new(lat + h_deg, lon + w_deg),
            LatLon::new(lat + h_deg, lon),
        ];
        Area::new(
            &[SurveyArea {
                exterior: ext,
                holes: vec![],
            }],
            &[],
            500e6,
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn params(spacing_m: f64) -> Gen {
        Gen {
            spacing_m,
            turnaround_m: 0.0,
            turn_cost_m: 0.0,
            home: None,
            grid_anchor_v: None,
        }
    }

    #[test]
    fn auto_angle_follows_the_long_side() {
        // 0.02° of longitude ≈ 1.78 km wide, 0.002° of latitude ≈ 222 m tall: fly east-west.
        let a = rect_area(0.02, 0.002);
        let b = best_bearing_deg(a.free_local(), &params(20.0));
        assert!((b - 90.0).abs() < 1.0, "{b}");
        let a = rect_area(0.002, 0.02);
        let b = best_bearing_deg(a.free_local(), &params(20.0));
        assert!(!(1.0..=179.0).contains(&b), "{b}");
    }

    #[test]
    fn lawnmower_alternates_and_stays_inside() {
        let a = rect_area(0.01, 0.005);
        let p = lawnmower(&a, &params(50.0), 90.0);
        // ~555 m tall / 50 m = 11 lines, two points each.
        assert_eq!(p.points.len(), 22);
        let dx0 = p.points[1].x - p.points[0].x;
        let dx1 = p.points[3].x - p.points[2].x;
        assert!(dx0 * dx1 < 0.0, "directions must alternate");
    }

    #[test]
    fn spiral_blends_inwards_turn_after_turn() {
        use geo::{Contains, Point};
        let a = rect_area(0.005, 0.004);
        let spacing = 40.0;
        let p = loops(&a, &params(spacing), false);
        let ext: Vec<Coord> = a.free_local().0[0].exterior().0.clone();
        let depth = |c: Coord| {
            ext.windows(2)
                .map(|w| {
                    crate::sweep::seg_dist(
                        Uv { u: c.x, v: c.y },
                        Uv {
                            u: w[0].x,
                            v: w[0].y,
                        },
                        Uv {
                            u: w[1].x,
                            v: w[1].y,
                        },
                    )
                })
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
        let p = loops(&a, &params(50.0), true);
        assert!(p.points.len() > 10);
        let s = expanding_square(&a, &params(50.0), Coord { x: 0.0, y: 0.0 });
        assert!(s.points.len() > 8);
    }
}
