//! The scan-line core: parallel transects clipped against every ring with every crossing,
//! computed by a sweep over edges sorted by their lower end (cost grows with lines + edges,
//! not lines × edges), and a free-space index that tells whether a straight connector stays
//! inside the flyable region and routes around rings when it does not.
//!
//! Work happens in a rotated frame: `u` along the transects, `v` across them.

use crate::frame::point_segment_distance_m;
use geo::{Coord, MultiPolygon};

/// A point in the rotated frame: `u` along the transects, `v` across, metres.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Uv {
    pub u: f64,
    pub v: f64,
}

impl From<Uv> for Coord {
    fn from(p: Uv) -> Self {
        Self { x: p.u, y: p.v }
    }
}

impl Uv {
    /// Lower corner of an empty bounding box (any point lowers it).
    pub const EMPTY_LO: Self = Self {
        u: f64::INFINITY,
        v: f64::INFINITY,
    };
    /// Upper corner of an empty bounding box (any point raises it).
    pub const EMPTY_HI: Self = Self {
        u: f64::NEG_INFINITY,
        v: f64::NEG_INFINITY,
    };

    /// The bounding box (lower, upper corner) of `points`; both corners at the origin when
    /// there are none.
    pub fn bounds(points: impl IntoIterator<Item = Self>) -> (Self, Self) {
        let (mut lo, mut hi) = (Self::EMPTY_LO, Self::EMPTY_HI);
        for p in points {
            lo.u = lo.u.min(p.u);
            lo.v = lo.v.min(p.v);
            hi.u = hi.u.max(p.u);
            hi.v = hi.v.max(p.v);
        }
        if lo.u > hi.u {
            let origin = Self { u: 0.0, v: 0.0 };
            return (origin, origin);
        }
        (lo, hi)
    }
}

/// Rotation from local metres to the transect frame for a transect bearing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Rot {
    sin: f64,
    cos: f64,
}

impl Rot {
    /// Transects run along `bearing_deg` (clockwise from north).
    pub fn new(bearing_deg: f64) -> Self {
        let r = bearing_deg.to_radians();
        Self {
            sin: r.sin(),
            cos: r.cos(),
        }
    }
    pub fn fwd(self, c: Coord) -> Uv {
        Uv {
            u: c.x * self.sin + c.y * self.cos,
            v: c.x * self.cos - c.y * self.sin,
        }
    }
    pub fn inv(self, p: Uv) -> Coord {
        Coord {
            x: p.u * self.sin + p.v * self.cos,
            y: p.u * self.cos - p.v * self.sin,
        }
    }
}

/// Rings of a region in the rotated frame (not closed) and whether each is an outer ring.
#[derive(Debug, Clone, Default)]
pub(crate) struct Rings {
    pub rings: Vec<Vec<Uv>>,
    pub outer: Vec<bool>,
}

impl Rings {
    pub fn from_multipolygon(mp: &MultiPolygon, rot: Rot) -> Self {
        let mut out = Self::default();
        for poly in &mp.0 {
            for (k, ls) in std::iter::once(poly.exterior())
                .chain(poly.interiors())
                .enumerate()
            {
                let mut r: Vec<Uv> = ls.0.iter().map(|c| rot.fwd(*c)).collect();
                if r.len() > 1 && r.first() == r.last() {
                    r.pop();
                }
                if r.len() >= 3 {
                    out.rings.push(r);
                    out.outer.push(k == 0);
                }
            }
        }
        out
    }

    pub fn v_range(&self) -> (f64, f64) {
        self.rings
            .iter()
            .flatten()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p.v), hi.max(p.v))
            })
    }

    pub fn u_range(&self) -> (f64, f64) {
        self.rings
            .iter()
            .flatten()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), p| {
                (lo.min(p.u), hi.max(p.u))
            })
    }

    /// Global edge index of (ring, local index): ring offsets.
    pub fn offsets(&self) -> Vec<usize> {
        let mut off = Vec::with_capacity(self.rings.len() + 1);
        let mut acc = 0;
        for r in &self.rings {
            off.push(acc);
            acc += r.len();
        }
        off.push(acc);
        off
    }
}

/// One clipped piece of a transect: from `u0` to `u1` (`u0 < u1`) at `v`, with the global
/// indices of the edges it ends on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Segment {
    pub line: u32,
    pub v: f64,
    pub u0: f64,
    pub u1: f64,
    pub e0: u32,
    pub e1: u32,
}

impl Segment {
    /// The end at `u0` (`at_u0`) or at `u1`, and the boundary edge it lies on.
    pub fn end(&self, at_u0: bool) -> (Uv, u32) {
        if at_u0 {
            (
                Uv {
                    u: self.u0,
                    v: self.v,
                },
                self.e0,
            )
        } else {
            (
                Uv {
                    u: self.u1,
                    v: self.v,
                },
                self.e1,
            )
        }
    }
}

struct SweepEdge {
    v_lo: f64,
    v_hi: f64,
    u_at_lo: f64,
    du_dv: f64,
    id: u32,
}

/// Clips the lines `v = v_anchor + (k + ½)·spacing` against the rings (even-odd rule, every
/// crossing) and appends the pieces, sorted by line then `u`. Returns the number of lines.
pub(crate) fn transects(
    rings: &Rings,
    spacing_m: f64,
    v_anchor: f64,
    out: &mut Vec<Segment>,
) -> usize {
    let mut edges: Vec<SweepEdge> = Vec::new();
    let mut id = 0u32;
    for r in &rings.rings {
        let n = r.len();
        for i in 0..n {
            let (a, b) = (r[i], r[(i + 1) % n]);
            if (a.v - b.v).abs() > 0.0 {
                let (lo, hi) = if a.v < b.v { (a, b) } else { (b, a) };
                edges.push(SweepEdge {
                    v_lo: lo.v,
                    v_hi: hi.v,
                    u_at_lo: lo.u,
                    du_dv: (hi.u - lo.u) / (hi.v - lo.v),
                    id,
                });
            }
            id += 1;
        }
    }
    let (v_min, v_max) = rings.v_range();
    if edges.is_empty()
        || v_max.partial_cmp(&v_min) != Some(std::cmp::Ordering::Greater)
        || spacing_m.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
    {
        return 0;
    }
    edges.sort_by(|a, b| a.v_lo.total_cmp(&b.v_lo));
    let k_first = ((v_min - v_anchor) / spacing_m - 0.5).ceil().max(-1e15);
    let mut lines: Vec<f64> = Vec::new();
    let mut k = k_first;
    loop {
        let v = v_anchor + (k + 0.5) * spacing_m;
        if v >= v_max || lines.len() > 2_000_000 {
            break;
        }
        if v > v_min {
            lines.push(v);
        }
        k += 1.0;
    }
    if lines.is_empty() {
        lines.push(f64::midpoint(v_min, v_max));
    }
    let mut active: Vec<usize> = Vec::new();
    let mut next = 0;
    let mut xs: Vec<(f64, u32)> = Vec::new();
    for (li, &v) in lines.iter().enumerate() {
        while next < edges.len() && edges[next].v_lo <= v {
            active.push(next);
            next += 1;
        }
        xs.clear();
        active.retain(|&e| {
            let ed = &edges[e];
            if ed.v_hi <= v {
                return false;
            }
            xs.push((ed.u_at_lo + (v - ed.v_lo) * ed.du_dv, ed.id));
            true
        });
        xs.sort_by(|a, b| a.0.total_cmp(&b.0));
        for pair in xs.chunks_exact(2) {
            if pair[1].0 - pair[0].0 > 1e-6 {
                out.push(Segment {
                    line: li as u32,
                    v,
                    u0: pair[0].0,
                    u1: pair[1].0,
                    e0: pair[0].1,
                    e1: pair[1].1,
                });
            }
        }
    }
    lines.len()
}

/// Estimated length of a lawnmower at this rotation: transect length plus, per transect
/// piece, a line change, two turnarounds and the distance a turn costs. The sweep's answer
/// computed with the sweep (kept as the oracle of [`CostEdges::lawnmower_cost_m`]).
#[cfg(test)]
pub(crate) fn lawnmower_cost_m(
    rings: &Rings,
    spacing_m: f64,
    per_piece_m: f64,
    scratch: &mut Vec<Segment>,
) -> f64 {
    scratch.clear();
    let (v_min, _) = rings.v_range();
    transects(rings, spacing_m, v_min, scratch);
    scratch.iter().map(|s| s.u1 - s.u0 + per_piece_m).sum()
}

/// The edges of a region with the sign each crossing contributes to a transect's length,
/// for the angle search: the lawnmower cost at any bearing in one pass over the edges.
///
/// On a line, the pieces' total length is the sum of their right ends minus their left
/// ends, and whether an edge gives a right or a left end depends only on its ring's
/// orientation, whether the ring is a hole, and whether the edge runs up or down across the
/// lines. Each edge meets an arithmetic run of lines, so its share of the total is a closed
/// form: cost O(edges) per bearing, no sort, no line loop, no allocation.
#[derive(Debug, Clone, Default)]
pub(crate) struct CostEdges {
    /// Rings (not closed), each with the sign of a crossing of its edges that run towards +v
    /// in the rotated frame.
    rings: Vec<(Vec<Coord>, f64)>,
    /// The vertices of the rings' convex hull: the extremes across the lines at any rotation
    /// are among them (vertices collinear on a hull edge are left out; across that edge they
    /// are the same extreme up to rounding), found from a fraction of the vertices.
    hull: Vec<Coord>,
}

/// `x.ceil()` for the moderate values here (line indices): libm's `ceil` is a call on
/// x86-64 without SSE 4.1 and was a fifth of the angle search.
#[inline]
fn ceil_small(x: f64) -> f64 {
    let t = x as i64 as f64;
    if t < x { t + 1.0 } else { t }
}

/// Douglas–Peucker on a closed ring (not closed in the vector): the vertices kept so no
/// dropped vertex is farther than `tol_m` from the kept outline. Iterative, squared distances.
fn simplify_ring(r: &[Coord], tol_m: f64) -> Vec<Coord> {
    let n = r.len();
    if n <= 4 || tol_m.is_nan() || tol_m <= 0.0 {
        return r.to_vec();
    }
    // Split the ring at vertex 0 and the vertex farthest from it.
    let far = (1..n)
        .max_by(|&i, &j| {
            let di = (r[i].x - r[0].x).powi(2) + (r[i].y - r[0].y).powi(2);
            let dj = (r[j].x - r[0].x).powi(2) + (r[j].y - r[0].y).powi(2);
            di.total_cmp(&dj)
        })
        .unwrap_or(n / 2);
    let at = |i: usize| r[i % n];
    let mut keep = vec![false; n];
    keep[0] = true;
    keep[far] = true;
    let tol2 = tol_m * tol_m;
    let mut stack = vec![(0usize, far), (far, n)];
    while let Some((a, b)) = stack.pop() {
        if b <= a + 1 {
            continue;
        }
        let (p, q) = (at(a), at(b));
        let (dx, dy) = (q.x - p.x, q.y - p.y);
        let l2 = dx * dx + dy * dy;
        let mut best = (0.0, a);
        for i in a + 1..b {
            let c = at(i);
            let t = if l2 > 0.0 {
                (((c.x - p.x) * dx + (c.y - p.y) * dy) / l2).clamp(0.0, 1.0)
            } else {
                0.0
            };
            let (ex, ey) = (p.x + t * dx - c.x, p.y + t * dy - c.y);
            let d2 = ex * ex + ey * ey;
            if d2 > best.0 {
                best = (d2, i);
            }
        }
        if best.0 > tol2 {
            keep[best.1] = true;
            stack.push((a, best.1));
            stack.push((best.1, b));
        }
    }
    let out: Vec<Coord> = (0..n).filter(|&i| keep[i]).map(|i| r[i]).collect();
    if out.len() >= 3 { out } else { r.to_vec() }
}

/// The convex hull of `pts` as a closed ring (counter-clockwise, collinear points left out):
/// Andrew's monotone chain, enough for the extremes and edge directions the angle search reads.
fn convex_hull(mut pts: Vec<Coord>) -> Vec<Coord> {
    pts.sort_by(|a, b| a.x.total_cmp(&b.x).then(a.y.total_cmp(&b.y)));
    pts.dedup();
    if pts.len() < 3 {
        return pts;
    }
    let cross =
        |o: Coord, a: Coord, b: Coord| (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
    let mut hull: Vec<Coord> = Vec::with_capacity(pts.len() + 1);
    for pass in 0..2 {
        let start = hull.len();
        let it: Box<dyn Iterator<Item = &Coord>> = if pass == 0 {
            Box::new(pts.iter())
        } else {
            Box::new(pts.iter().rev())
        };
        for &p in it {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        // The last point of each chain is the first of the other.
        hull.pop();
    }
    if let Some(&first) = hull.first() {
        hull.push(first);
    }
    hull
}

impl CostEdges {
    /// The region's rings, simplified to `tol_m` (0: exact).
    pub fn new(mp: &MultiPolygon, tol_m: f64) -> Self {
        let mut rings = Vec::new();
        for poly in &mp.0 {
            for (k, ls) in std::iter::once(poly.exterior())
                .chain(poly.interiors())
                .enumerate()
            {
                let mut r: Vec<Coord> = ls.0.clone();
                if r.len() > 1 && r.first() == r.last() {
                    r.pop();
                }
                if r.len() < 3 {
                    continue;
                }
                let r = simplify_ring(&r, tol_m);
                // The rotation to (u, v) is a reflection: a ring counter-clockwise in (x, y)
                // is clockwise in (u, v), where an edge running towards +v is a left end.
                let ccw_xy = crate::area::shoelace(&r) > 0.0;
                let hole = k > 0;
                let w = if ccw_xy == hole { 1.0 } else { -1.0 };
                rings.push((r, w));
            }
        }
        let hull = convex_hull(rings.iter().flat_map(|(r, _)| r.iter().copied()).collect());
        Self { rings, hull }
    }

    /// The vertices of the rings' convex hull, as a closed ring.
    pub fn hull(&self) -> &[Coord] {
        &self.hull
    }

    /// The same figure as the sweep over lines `v_min + (k + ½)·spacing` at this rotation.
    #[cfg(test)]
    pub fn lawnmower_cost_m(&self, rot: Rot, spacing_m: f64, per_piece_m: f64) -> f64 {
        let (length_m, pieces) = self.lawnmower_terms(rot, spacing_m);
        length_m + pieces * per_piece_m
    }

    /// The transects' total length and their number of pieces at this rotation, over lines
    /// `v_min + (k + ½)·spacing`.
    pub fn lawnmower_terms(&self, rot: Rot, spacing_m: f64) -> (f64, f64) {
        let (mut v_min, mut v_max) = (f64::INFINITY, f64::NEG_INFINITY);
        for c in &self.hull {
            let v = rot.fwd(*c).v;
            v_min = v_min.min(v);
            v_max = v_max.max(v);
        }
        if v_max.partial_cmp(&v_min) != Some(std::cmp::Ordering::Greater)
            || spacing_m.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater)
        {
            return (0.0, 0.0);
        }
        // The lines: v0 + k·spacing for k in 0..count (one midline when the region is thinner
        // than half a spacing, as the sweep does).
        let mut count = ceil_small((v_max - v_min) / spacing_m - 0.5).max(0.0);
        let v0 = if count < 1.0 {
            count = 1.0;
            f64::midpoint(v_min, v_max)
        } else {
            v_min + 0.5 * spacing_m
        };
        let inv = 1.0 / spacing_m;
        let mut length = 0.0;
        let mut crossings = 0.0;
        for (r, w) in &self.rings {
            let Some(last) = r.last() else { continue };
            let mut pa = rot.fwd(*last);
            for c in r {
                let pb = rot.fwd(*c);
                let (lo, hi, sign) = if pa.v < pb.v {
                    (pa, pb, *w)
                } else {
                    (pb, pa, -*w)
                };
                pa = pb;
                if (hi.v - lo.v).abs() <= 0.0 {
                    continue;
                }
                // Lines with lo.v <= v < hi.v.
                let k_lo = ceil_small((lo.v - v0) * inv).max(0.0);
                let k_hi = ceil_small((hi.v - v0) * inv).min(count);
                let n = k_hi - k_lo;
                if n <= 0.0 {
                    continue;
                }
                let du_dv = (hi.u - lo.u) / (hi.v - lo.v);
                let sum_v = n * v0 + spacing_m * (k_lo + k_hi - 1.0) * n / 2.0;
                length += sign * (n * lo.u + du_dv * (sum_v - n * lo.v));
                crossings += n;
            }
        }
        (length, crossings / 2.0)
    }
}

// --- free space ---------------------------------------------------------------------------

/// Edges of the flyable region binned by `v`, for straight-line and inside tests.
#[derive(Debug, Clone)]
pub(crate) struct FreeSpace {
    pub rings: Rings,
    offsets: Vec<usize>,
    edges: Vec<(Uv, Uv)>,
    edge_ring: Vec<u32>,
    /// Per ring, the distance along it from vertex 0 to vertex i (n + 1 entries).
    ring_cum: Vec<Vec<f64>>,
    v0: f64,
    bin_h: f64,
    bins: Vec<Vec<u32>>,
}

impl FreeSpace {
    pub fn new(rings: Rings, bin_h_hint: f64) -> Self {
        let offsets = rings.offsets();
        let mut edges = Vec::new();
        let mut edge_ring = Vec::new();
        for (ri, r) in rings.rings.iter().enumerate() {
            for i in 0..r.len() {
                edges.push((r[i], r[(i + 1) % r.len()]));
                edge_ring.push(ri as u32);
            }
        }
        let (v_min, v_max) = rings.v_range();
        let span = (v_max - v_min).max(1e-6);
        let bin_h = bin_h_hint.max(span / 4096.0).max(1e-6);
        let nbins = ((span / bin_h).ceil() as usize).clamp(1, 4097);
        let mut bins = vec![Vec::new(); nbins];
        for (i, (a, b)) in edges.iter().enumerate() {
            let lo = ((a.v.min(b.v) - v_min) / bin_h).floor().max(0.0) as usize;
            let hi = (((a.v.max(b.v) - v_min) / bin_h).floor().max(0.0) as usize).min(nbins - 1);
            for bin in &mut bins[lo.min(nbins - 1)..=hi] {
                bin.push(i as u32);
            }
        }
        let ring_cum = rings
            .rings
            .iter()
            .map(|r| {
                let mut acc = 0.0;
                let mut c = Vec::with_capacity(r.len() + 1);
                c.push(0.0);
                for i in 0..r.len() {
                    acc += dist(r[i], r[(i + 1) % r.len()]);
                    c.push(acc);
                }
                c
            })
            .collect();
        Self {
            rings,
            offsets,
            edges,
            edge_ring,
            ring_cum,
            v0: v_min,
            bin_h,
            bins,
        }
    }

    fn bin_range(&self, v_lo: f64, v_hi: f64) -> std::ops::RangeInclusive<usize> {
        let n = self.bins.len();
        let lo = (((v_lo - self.v0) / self.bin_h).floor().max(0.0) as usize).min(n - 1);
        let hi = (((v_hi - self.v0) / self.bin_h).floor().max(0.0) as usize).min(n - 1);
        lo..=hi
    }

    /// Even-odd inside test (a ray towards +u).
    pub fn inside(&self, p: Uv) -> bool {
        let (v_min, v_max) = (self.v0, self.v0 + self.bin_h * self.bins.len() as f64);
        if !(p.v >= v_min && p.v <= v_max) {
            return false;
        }
        let mut inside = false;
        for bi in self.bin_range(p.v, p.v) {
            for &e in &self.bins[bi] {
                let (a, b) = self.edges[e as usize];
                if (a.v <= p.v) != (b.v <= p.v)
                    && a.u + (p.v - a.v) * (b.u - a.u) / (b.v - a.v) > p.u
                {
                    inside = !inside;
                }
            }
        }
        inside
    }

    /// Whether the straight line `a`–`b` stays in the flyable region (touching the boundary
    /// is allowed).
    pub fn clear(&self, a: Uv, b: Uv) -> bool {
        if dist(a, b) < 1e-6 {
            return true;
        }
        // Without a proper crossing the line is inside or outside as a whole, except where it
        // runs through vertices; sample a few interior points.
        !self.crosses(a, b)
            && [0.5, 0.25, 0.75].iter().all(|t| {
                self.inside(Uv {
                    u: a.u + t * (b.u - a.u),
                    v: a.v + t * (b.v - a.v),
                })
            })
    }

    /// Whether the line `a`–`b` or its end `b` enters the region (for no-fly zones).
    pub fn enters(&self, a: Uv, b: Uv) -> bool {
        self.crosses(a, b)
            || self.inside(b)
            || self.inside(Uv {
                u: f64::midpoint(a.u, b.u),
                v: f64::midpoint(a.v, b.v),
            })
    }

    /// Whether `a`–`b` properly crosses an edge.
    fn crosses(&self, a: Uv, b: Uv) -> bool {
        let len = dist(a, b);
        if len < 1e-6 {
            return false;
        }
        let eps = 1e-9 * len;
        let mut seen_last = u32::MAX;
        for bi in self.bin_range(a.v.min(b.v), a.v.max(b.v)) {
            for &e in &self.bins[bi] {
                if e == seen_last {
                    continue;
                }
                seen_last = e;
                let (c, d) = self.edges[e as usize];
                if c.u.max(d.u) < a.u.min(b.u) || c.u.min(d.u) > a.u.max(b.u) {
                    continue;
                }
                let d1 = orient(c, d, a);
                let d2 = orient(c, d, b);
                let elen = fast_len(d.u - c.u, d.v - c.v);
                let e2 = 1e-9 * elen.max(len) * elen.max(len);
                let d3 = orient(a, b, c);
                let d4 = orient(a, b, d);
                if ((d1 > e2 && d2 < -e2) || (d1 < -e2 && d2 > e2))
                    && ((d3 > eps * len && d4 < -eps * len) || (d3 < -eps * len && d4 > eps * len))
                {
                    return true;
                }
            }
        }
        false
    }

    /// The parts of the segment `a`–`b` inside the region, as parameter intervals of it
    /// (0 at `a`, 1 at `b`), in order: cut at every edge crossing, each piece kept when its
    /// midpoint is inside.
    pub fn clip(&self, a: Uv, b: Uv) -> Vec<(f64, f64)> {
        let mut ts = vec![0.0, 1.0];
        let (du, dv) = (b.u - a.u, b.v - a.v);
        for bi in self.bin_range(a.v.min(b.v), a.v.max(b.v)) {
            for &e in &self.bins[bi] {
                let (c, d) = self.edges[e as usize];
                let (eu, ev) = (d.u - c.u, d.v - c.v);
                let den = du * ev - dv * eu;
                if den.abs() < 1e-12 {
                    continue;
                }
                let t = ((c.u - a.u) * ev - (c.v - a.v) * eu) / den;
                let s = ((c.u - a.u) * dv - (c.v - a.v) * du) / den;
                if (0.0..=1.0).contains(&t) && (0.0..=1.0).contains(&s) {
                    ts.push(t);
                }
            }
        }
        ts.sort_by(f64::total_cmp);
        ts.dedup_by(|x, y| (*x - *y).abs() < 1e-12);
        let mut out: Vec<(f64, f64)> = Vec::new();
        for w in ts.windows(2) {
            if w[1] - w[0] < 1e-9 {
                continue;
            }
            let m = f64::midpoint(w[0], w[1]);
            if self.inside(Uv {
                u: a.u + m * du,
                v: a.v + m * dv,
            }) {
                match out.last_mut() {
                    Some(last) if (last.1 - w[0]).abs() < 1e-9 => last.1 = w[1],
                    _ => out.push((w[0], w[1])),
                }
            }
        }
        out
    }

    /// The edge nearest to `p` (for points known to lie on the boundary).
    pub fn nearest_edge(&self, p: Uv) -> u32 {
        let mut best = (f64::INFINITY, 0u32);
        for (i, &(a, b)) in self.edges.iter().enumerate() {
            let d = point_segment_distance_m(p.into(), a.into(), b.into());
            if d < best.0 {
                best = (d, i as u32);
            }
        }
        best.1
    }

    /// A route that avoids the rings between two arbitrary inside points: straight when
    /// clear, else over the vertices of the small rings. `None` when none was found.
    pub fn route_any(&self, a: Uv, b: Uv) -> Option<Vec<Uv>> {
        if self.clear(a, b) {
            return Some(Vec::new());
        }
        let all: Vec<usize> = (0..self.rings.rings.len()).collect();
        self.visibility_route(a, b, &all)
    }

    fn ring_of_edge(&self, e: u32) -> (usize, usize) {
        let ring = self.edge_ring.get(e as usize).copied().unwrap_or(0) as usize;
        (ring, e as usize - self.offsets[ring])
    }

    /// Whether global edge `e` belongs to an outer ring.
    pub fn edge_is_outer(&self, e: u32) -> bool {
        let (ring, _) = self.ring_of_edge(e);
        self.rings.outer.get(ring).copied().unwrap_or(false)
    }

    /// Intermediate points of a path from `a` (on edge `ea`) to `b` (on edge `eb`) inside the
    /// flyable region: empty when the straight line is clear. `None` when no route was found.
    pub fn route(&self, a: Uv, ea: u32, b: Uv, eb: u32) -> Option<Vec<Uv>> {
        if self.clear(a, b) {
            return Some(Vec::new());
        }
        let (ra, ia) = self.ring_of_edge(ea);
        let (rb, ib) = self.ring_of_edge(eb);
        if ra == rb {
            return Some(self.ring_walk(ra, a, ia, b, ib));
        }
        self.visibility_route(a, b, &[ra, rb])
    }

    /// Walks along one ring from `a` (on edge `ia`) to `b` (on edge `ib`) the shorter way
    /// (lengths from the ring's prefix sums), then pulls the string tight.
    fn ring_walk(&self, ring: usize, a: Uv, ia: usize, b: Uv, ib: usize) -> Vec<Uv> {
        let r = &self.rings.rings[ring];
        let n = r.len();
        let cum = &self.ring_cum[ring];
        let perimeter = cum[n];
        // Distance along the ring from vertex i forwards to vertex j.
        let along = |i: usize, j: usize| {
            if j >= i {
                cum[j] - cum[i]
            } else {
                perimeter - cum[i] + cum[j]
            }
        };
        let fwd_len = if ia == ib {
            dist(a, b)
        } else {
            dist(a, r[(ia + 1) % n]) + along((ia + 1) % n, ib) + dist(r[ib], b)
        };
        let back_len = if ia == ib {
            f64::INFINITY
        } else {
            dist(a, r[ia]) + along((ib + 1) % n, ia) + dist(r[(ib + 1) % n], b)
        };
        let mut path = vec![a];
        let mut i = ia;
        if fwd_len <= back_len {
            while i != ib {
                i = (i + 1) % n;
                path.push(r[i]);
            }
        } else {
            while i != ib {
                path.push(r[i]);
                i = (i + n - 1) % n;
            }
        }
        path.push(b);
        let mut out = Vec::new();
        let mut anchor = 0;
        while anchor + 1 < path.len() {
            let mut j = anchor + 1;
            while j + 1 < path.len() && self.clear(path[anchor], path[j + 1]) {
                j += 1;
            }
            if j + 1 < path.len() {
                out.push(path[j]);
            }
            anchor = j;
        }
        out
    }

    /// Shortest path over the vertices of the given rings (visibility graph, Dijkstra).
    fn visibility_route(&self, a: Uv, b: Uv, rings: &[usize]) -> Option<Vec<Uv>> {
        let mut nodes = vec![a, b];
        for &ri in rings {
            let r = &self.rings.rings[ri];
            if r.len() > 300 {
                continue;
            }
            let n = r.len();
            for i in 0..n {
                // Nudge the vertex a centimetre into the free side so sight lines along the
                // ring count as inside.
                let (p, q, s) = (r[(i + n - 1) % n], r[i], r[(i + 1) % n]);
                let bis = Uv {
                    u: (p.u - q.u) / dist(p, q).max(1e-9) + (s.u - q.u) / dist(s, q).max(1e-9),
                    v: (p.v - q.v) / dist(p, q).max(1e-9) + (s.v - q.v) / dist(s, q).max(1e-9),
                };
                let bl = fast_len(bis.u, bis.v).max(1e-9);
                for sign in [1.0, -1.0] {
                    let c = Uv {
                        u: q.u + sign * 0.01 * bis.u / bl,
                        v: q.v + sign * 0.01 * bis.v / bl,
                    };
                    if self.inside(c) {
                        nodes.push(c);
                        break;
                    }
                }
            }
        }
        let n = nodes.len();
        let mut best = vec![f64::INFINITY; n];
        let mut prev = vec![usize::MAX; n];
        let mut done = vec![false; n];
        best[0] = 0.0;
        for _ in 0..n {
            let mut cur = usize::MAX;
            for i in 0..n {
                if !done[i] && best[i].is_finite() && (cur == usize::MAX || best[i] < best[cur]) {
                    cur = i;
                }
            }
            if cur == usize::MAX || cur == 1 {
                break;
            }
            done[cur] = true;
            for j in 0..n {
                if !done[j] {
                    let d = best[cur] + dist(nodes[cur], nodes[j]);
                    if d < best[j] && self.clear(nodes[cur], nodes[j]) {
                        best[j] = d;
                        prev[j] = cur;
                    }
                }
            }
        }
        if !best[1].is_finite() {
            return None;
        }
        let mut path = Vec::new();
        let mut cur = prev[1];
        while cur != 0 && cur != usize::MAX {
            path.push(nodes[cur]);
            cur = prev[cur];
        }
        path.reverse();
        Some(path)
    }
}

pub(crate) fn orient(a: Uv, b: Uv, c: Uv) -> f64 {
    (b.u - a.u) * (c.v - a.v) - (b.v - a.v) * (c.u - a.u)
}

pub(crate) fn dist(a: Uv, b: Uv) -> f64 {
    fast_len(b.u - a.u, b.v - a.v)
}

/// Length of a vector. `f64::hypot` guards against overflow at a large cost; coordinates
/// here are metres within a few hundred kilometres, far from overflow.
#[inline]
pub(crate) fn fast_len(dx: f64, dy: f64) -> f64 {
    (dx * dx + dy * dy).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    fn u_shape() -> MultiPolygon {
        // A U open to the north: 300 × 200 with a 100 × 150 notch.
        MultiPolygon(vec![
            polygon![(x: 0.0, y: 0.0), (x: 300.0, y: 0.0), (x: 300.0, y: 200.0), (x: 200.0, y: 200.0), (x: 200.0, y: 50.0), (x: 100.0, y: 50.0), (x: 100.0, y: 200.0), (x: 0.0, y: 200.0)],
        ])
    }

    #[test]
    fn every_crossing_gives_a_piece() {
        // Transects east-west (bearing 90°): u = x, v = -y.
        let rings = Rings::from_multipolygon(&u_shape(), Rot::new(90.0));
        let mut segs = Vec::new();
        let lines = transects(&rings, 20.0, rings.v_range().0, &mut segs);
        assert_eq!(lines, 10);
        // Lines above y = 50 cross the notch: two pieces each.
        assert_eq!(segs.len(), 2 * 8 + 2);
        let total: f64 = segs.iter().map(|s| s.u1 - s.u0).sum();
        assert!(
            (total - (8.0 * 200.0 + 2.0 * 300.0)).abs() < 1e-6,
            "{total}"
        );
    }

    #[test]
    fn closed_form_cost_matches_the_sweep() {
        // The U, and a square with a hole given clockwise (orientation must not matter).
        let holed = MultiPolygon(vec![geo::Polygon::new(
            geo::LineString::from(vec![(0.0, 0.0), (0.0, 500.0), (700.0, 500.0), (700.0, 0.0)]),
            vec![geo::LineString::from(vec![
                (200.0, 100.0),
                (400.0, 150.0),
                (380.0, 380.0),
                (210.0, 300.0),
            ])],
        )]);
        for mp in [u_shape(), holed] {
            let edges = CostEdges::new(&mp, 0.0);
            let mut scratch = Vec::new();
            for k in 0..36 {
                let bearing = f64::from(k) * 5.0 + 0.3;
                let rot = Rot::new(bearing);
                for spacing in [7.0, 20.0, 650.0] {
                    let want = lawnmower_cost_m(
                        &Rings::from_multipolygon(&mp, rot),
                        spacing,
                        33.0,
                        &mut scratch,
                    );
                    let got = edges.lawnmower_cost_m(rot, spacing, 33.0);
                    assert!(
                        (want - got).abs() < 1e-6 * want.max(1.0),
                        "bearing {bearing} spacing {spacing}: sweep {want}, closed form {got}"
                    );
                }
            }
        }
    }

    #[test]
    fn connectors_route_around_the_notch() {
        let rings = Rings::from_multipolygon(&u_shape(), Rot::new(90.0));
        let fs = FreeSpace::new(rings, 20.0);
        let a = Uv {
            u: 100.0,
            v: -190.0,
        };
        let b = Uv {
            u: 200.0,
            v: -190.0,
        };
        assert!(!fs.clear(a, b));
        assert!(fs.clear(Uv { u: 10.0, v: -10.0 }, Uv { u: 290.0, v: -10.0 }));
        // `a` lies on edge 5 (x = 100), `b` on edge 3 (x = 200).
        let via = fs.route(a, 5, b, 3).unwrap_or_default();
        assert_eq!(via.len(), 2, "{via:?}");
        assert!(via.iter().all(|p| (p.v + 50.0).abs() < 1e-9));
    }
}
