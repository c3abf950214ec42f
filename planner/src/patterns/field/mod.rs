//! The distance from the flyable region's boundary (outline, holes, no-fly zones) sampled on a
//! grid, and its level contours: every inset ring of the perimeter and spiral patterns comes
//! from one field instead of one polygon buffer per ring.
//!
//! The field holds, at every grid node inside the region, the exact distance to the nearest
//! boundary segment, found by propagating nearest segments across the grid (two raster passes,
//! as a vector distance transform). A contour at depth `L` is traced through the cells whose
//! corners straddle `L`, its points interpolated linearly along cell edges; because the
//! distance is exact at the nodes and never above the true depth between them on a ridge, a
//! contour point lies at depth `L` or deeper, so a ring never comes closer to the boundary than
//! its depth.

use geo::{Coord, MultiPolygon};

use crate::frame::point_segment_distance2_m2 as seg_dist2;

mod contour;
mod ridge;
mod route;

pub(super) use route::RouteScratch;

const NONE: u32 = u32::MAX;

pub(super) struct Field {
    x0: f64,
    y0: f64,
    cell_m: f64,
    nx: usize,
    ny: usize,
    /// Depth at each node, metres; negative outside the region.
    depth: Vec<f64>,
    /// The boundary segments and each node's nearest one.
    segs: Vec<(Coord, Coord)>,
    near: Vec<u32>,
}

/// One traced contour: a ring (not closed), depth-increasing side on its left, so an outer
/// ring runs counter-clockwise and a ring around a hole clockwise.
pub(super) type Contour = Vec<Coord>;

/// A traced contour or, for a level traced only near the ridges, a stretch of one: the
/// points in order with depth rising to their left; `closed` for a whole ring (not closed:
/// its last point does not repeat the first).
#[derive(Debug, Clone)]
pub(super) struct Piece {
    pub pts: Vec<Coord>,
    pub closed: bool,
}

impl Field {
    /// The field of `region` with cells of about `cell_m`, coarser where that would take more
    /// than `max_nodes` nodes.
    pub fn new(region: &MultiPolygon, cell_m: f64, max_nodes: f64) -> Self {
        let mut segs: Vec<(Coord, Coord)> = Vec::new();
        let (mut lo, mut hi) = (
            Coord {
                x: f64::INFINITY,
                y: f64::INFINITY,
            },
            Coord {
                x: f64::NEG_INFINITY,
                y: f64::NEG_INFINITY,
            },
        );
        for poly in &region.0 {
            for ring in std::iter::once(poly.exterior()).chain(poly.interiors()) {
                for w in ring.0.windows(2) {
                    if w[0] != w[1] {
                        segs.push((w[0], w[1]));
                    }
                    lo = Coord {
                        x: lo.x.min(w[0].x),
                        y: lo.y.min(w[0].y),
                    };
                    hi = Coord {
                        x: hi.x.max(w[0].x),
                        y: hi.y.max(w[0].y),
                    };
                }
            }
        }
        if segs.is_empty() {
            return Self {
                x0: 0.0,
                y0: 0.0,
                cell_m: 1.0,
                nx: 0,
                ny: 0,
                depth: Vec::new(),
                segs,
                near: Vec::new(),
            };
        }
        let (w, h) = (hi.x - lo.x, hi.y - lo.y);
        let mut c = cell_m.max(1e-3);
        let min_c = ((w * h) / max_nodes.max(1.0)).sqrt();
        if c < min_c {
            c = min_c;
        }
        // One node of margin outside the region on every side.
        let (x0, y0) = (lo.x - c, lo.y - c);
        let nx = (w / c).ceil() as usize + 3;
        let ny = (h / c).ceil() as usize + 3;
        let n = nx * ny;
        let inside = inside_mask(&segs, x0, y0, c, nx, ny);
        let mut best = vec![f64::INFINITY; n];
        let mut near = vec![NONE; n];
        let node = |i: usize, j: usize| Coord {
            x: x0 + i as f64 * c,
            y: y0 + j as f64 * c,
        };
        // Seed: the nodes around every segment get their distance to it.
        for (si, &(a, b)) in segs.iter().enumerate() {
            let len = (b.x - a.x).hypot(b.y - a.y);
            let steps = (len / c).ceil().max(1.0) as usize;
            for k in 0..=steps {
                let t = k as f64 / steps as f64;
                let (px, py) = (a.x + t * (b.x - a.x), a.y + t * (b.y - a.y));
                let ci = ((px - x0) / c).round() as isize;
                let cj = ((py - y0) / c).round() as isize;
                for dj in -2..=2 {
                    for di in -2..=2 {
                        let (i, j) = (ci + di, cj + dj);
                        if i < 0 || j < 0 || i as usize >= nx || j as usize >= ny {
                            continue;
                        }
                        let (i, j) = (i as usize, j as usize);
                        let id = j * nx + i;
                        if near[id] == si as u32 {
                            continue;
                        }
                        let d2 = seg_dist2(node(i, j), a, b);
                        if d2 < best[id] {
                            best[id] = d2;
                            near[id] = si as u32;
                        }
                    }
                }
            }
        }
        // Propagate nearest segments: down-right then up-left, each row both ways.
        propagate(&mut near, &mut best, &segs, (x0, y0, c), nx, ny);
        let depth = best
            .iter()
            .zip(&inside)
            .map(|(&d2, &ins)| if ins { d2.sqrt() } else { -c })
            .collect();
        Self {
            x0,
            y0,
            cell_m: c,
            nx,
            ny,
            depth,
            segs,
            near,
        }
    }

    /// Whether climbing the field's slope from `p` for `climb_m` metres in `steps` steps (up
    /// the slope to a ridge, then along it) reaches a point at least `target_m` deep (`p`
    /// itself counts). Stops at the first such point.
    pub fn climbs_to(&self, p: Coord, climb_m: f64, steps: usize, target_m: f64) -> bool {
        let h = self.cell_m / 2.0;
        let step = climb_m / steps.max(1) as f64;
        let mut q = p;
        for _ in 0..steps.max(1) {
            let gx = self.depth_at(Coord { x: q.x + h, y: q.y })
                - self.depth_at(Coord { x: q.x - h, y: q.y });
            let gy = self.depth_at(Coord { x: q.x, y: q.y + h })
                - self.depth_at(Coord { x: q.x, y: q.y - h });
            let g = (gx * gx + gy * gy).sqrt();
            if g < 1e-12 {
                break;
            }
            q = Coord {
                x: q.x + gx / g * step,
                y: q.y + gy / g * step,
            };
            if self.depth_at(q) >= target_m {
                return true;
            }
        }
        self.depth_at(p) >= target_m
    }

    /// The deepest node's depth, metres (0 for an empty region).
    pub fn max_depth_m(&self) -> f64 {
        self.depth.iter().copied().fold(0.0, f64::max)
    }

    fn node(&self, i: usize, j: usize) -> Coord {
        Coord {
            x: self.x0 + i as f64 * self.cell_m,
            y: self.y0 + j as f64 * self.cell_m,
        }
    }

    /// Depth interpolated bilinearly at `p` (negative outside the grid).
    #[inline]
    pub fn depth_at(&self, p: Coord) -> f64 {
        let u = (p.x - self.x0) / self.cell_m;
        let v = (p.y - self.y0) / self.cell_m;
        // Inside the grid's last cell at most (false for NaN, and for any grid of fewer than
        // two nodes a side).
        let in_grid = u >= 0.0
            && v >= 0.0
            && u < self.nx.saturating_sub(1) as f64
            && v < self.ny.saturating_sub(1) as f64;
        if !in_grid {
            return -self.cell_m;
        }
        // Truncation is the floor here (both are non-negative and small).
        let (i, j) = (u as i64 as usize, v as i64 as usize);
        let (fu, fv) = (u - i as f64, v - j as f64);
        let at = j * self.nx + i;
        let (Some(lo), Some(hi)) = (
            self.depth.get(at..at + 2),
            self.depth.get(at + self.nx..at + self.nx + 2),
        ) else {
            return -self.cell_m;
        };
        (1.0 - fv) * ((1.0 - fu) * lo[0] + fu * lo[1]) + fv * ((1.0 - fu) * hi[0] + fu * hi[1])
    }
}

/// The two raster passes of the vector distance transform: rows upwards, each left to right
/// (neighbours left, below, below-left, below-right) then right to left (neighbour right);
/// then rows downwards, each right to left (right, above, above-right, above-left) then left
/// to right (left). `near` and `best` hold the seeds and get every node's nearest segment and
/// its squared distance.
fn propagate(
    near: &mut [u32],
    best: &mut [f64],
    segs: &[(Coord, Coord)],
    (x0, y0, c): (f64, f64, f64),
    nx: usize,
    ny: usize,
) {
    if nx == 0 {
        return;
    }
    let xs: Vec<f64> = (0..nx).map(|i| x0 + i as f64 * c).collect();
    let segs: Vec<Seg> = segs.iter().map(|&(a, b)| Seg::new(a, b)).collect();
    let segs = &segs[..];
    for j in 0..ny {
        let (done, rest) = near.split_at_mut(j * nx);
        let row = &mut rest[..nx];
        let prev = done.get(done.len().saturating_sub(nx)..).filter(|_| j > 0);
        let brow = &mut best[j * nx..(j + 1) * nx];
        let y = y0 + j as f64 * c;
        sweep_from::<false>(row, brow, prev, &xs, y, segs);
        sweep_back::<false>(row, brow, &xs, y, segs);
    }
    for j in (0..ny).rev() {
        let (head, below) = near.split_at_mut((j + 1) * nx);
        let row = &mut head[j * nx..];
        let prev = below.get(..nx);
        let brow = &mut best[j * nx..(j + 1) * nx];
        let y = y0 + j as f64 * c;
        sweep_from::<true>(row, brow, prev, &xs, y, segs);
        sweep_back::<true>(row, brow, &xs, y, segs);
    }
}

/// A row's first sweep: left to right (`REV`: right to left), each node relaxed with the node
/// before it in the sweep and the previous row's nodes at, before and after it (in that
/// order). The row's ends are handled apart, so the middle runs without bound tests.
#[expect(
    clippy::inline_always,
    reason = "once or twice per node of a 1.5 M-node grid"
)]
#[inline(always)]
fn sweep_from<const REV: bool>(
    row: &mut [u32],
    brow: &mut [f64],
    prev: Option<&[u32]>,
    xs: &[f64],
    y: f64,
    segs: &[Seg],
) {
    let nx = row.len();
    // The sweep's k-th node.
    let at = |k: usize| if REV { nx - 1 - k } else { k };
    let Some(prev) = prev.filter(|p| p.len() == nx) else {
        // The first row of the pass: only the node before.
        for k in 1..nx {
            let (i, h) = (at(k), at(k - 1));
            let cands = [row[h], NONE, NONE, NONE];
            visit(xs[i], y, &mut brow[i], &mut row[i], cands, segs);
        }
        return;
    };
    let first = at(0);
    let cands = [
        NONE,
        prev[first],
        NONE,
        if nx > 1 { prev[at(1)] } else { NONE },
    ];
    visit(xs[first], y, &mut brow[first], &mut row[first], cands, segs);
    if nx < 2 {
        return;
    }
    // (previous row before, at, after the node)
    let (mut pb, mut pa) = (prev[at(0)], prev[at(1)]);
    let mut last = row[first];
    for k in 1..nx - 1 {
        let i = at(k);
        let pn = prev[at(k + 1)];
        let cands = [last, pa, pb, pn];
        visit(xs[i], y, &mut brow[i], &mut row[i], cands, segs);
        last = row[i];
        (pb, pa) = (pa, pn);
    }
    let i = at(nx - 1);
    let cands = [last, pa, pb, NONE];
    visit(xs[i], y, &mut brow[i], &mut row[i], cands, segs);
}

/// A row's second sweep, back the other way: each node relaxed with the node before it.
#[expect(
    clippy::inline_always,
    reason = "once or twice per node of a 1.5 M-node grid"
)]
#[inline(always)]
fn sweep_back<const REV: bool>(
    row: &mut [u32],
    brow: &mut [f64],
    xs: &[f64],
    y: f64,
    segs: &[Seg],
) {
    let nx = row.len();
    if brow.len() != nx || xs.len() != nx || nx < 2 {
        return;
    }
    // Left to right after a reversed first sweep, else right to left.
    let at = |k: usize| if REV { k } else { nx - 1 - k };
    let mut last = row[at(0)];
    for k in 1..nx {
        let i = at(k);
        let own = row[i];
        if last != NONE && last != own {
            measure(xs[i], y, &mut brow[i], &mut row[i], last, segs);
        }
        last = row[i];
    }
}

/// A boundary segment with the constants of `point_segment_distance2_m2` taken out: the same
/// arithmetic, so the same distances.
struct Seg {
    a: Coord,
    dx: f64,
    dy: f64,
    len2: f64,
}

impl Seg {
    fn new(a: Coord, b: Coord) -> Self {
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        Self {
            a,
            dx,
            dy,
            len2: dx * dx + dy * dy,
        }
    }

    /// Squared distance from (`x`, `y`), as `point_segment_distance2_m2` computes it.
    #[inline]
    fn dist2(&self, x: f64, y: f64) -> f64 {
        let (a, dx, dy) = (self.a, self.dx, self.dy);
        let t = if self.len2 > 0.0 {
            (((x - a.x) * dx + (y - a.y) * dy) / self.len2).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let (cx, cy) = (a.x + t * dx - x, a.y + t * dy - y);
        cx * cx + cy * cy
    }
}

/// The node at (`x`, `y`) takes segment `s` if it is nearer than its own.
#[expect(
    clippy::inline_always,
    reason = "once or twice per node of a 1.5 M-node grid"
)]
#[inline(always)]
fn measure(x: f64, y: f64, best: &mut f64, near: &mut u32, s: u32, segs: &[Seg]) {
    if let Some(seg) = segs.get(s as usize) {
        let d2 = seg.dist2(x, y);
        if d2 < *best {
            *best = d2;
            *near = s;
        }
    }
}

/// One node's step of the propagation: the node at (`x`, `y`) takes the nearest of its
/// neighbours' segments `cands` (`NONE` for none), in order, measuring each once (neighbours
/// often share one) unless it has that segment already: the first of the nearest.
#[expect(
    clippy::inline_always,
    reason = "once or twice per node of a 1.5 M-node grid, and mostly returns at once"
)]
#[inline(always)]
fn visit(x: f64, y: f64, best: &mut f64, near: &mut u32, cands: [u32; 4], segs: &[Seg]) {
    let own = *near;
    // One segment all round: the node's own (most nodes once reached), none, or one to
    // measure once (a node first reached, or crossing into another segment's reach).
    let s = cands[0];
    if (s ^ cands[1]) | (s ^ cands[2]) | (s ^ cands[3]) == 0 {
        if s != NONE && s != own {
            measure(x, y, best, near, s, segs);
        }
        return;
    }
    let m = |s: u32| s == own || s == NONE;
    if m(cands[0]) & m(cands[1]) & m(cands[2]) & m(cands[3]) {
        return;
    }
    let mut tried = [NONE; 4];
    for k in 0..4 {
        let s = cands[k];
        if s == NONE || s == *near || tried[..k].contains(&s) {
            continue;
        }
        tried[k] = s;
        measure(x, y, best, near, s, segs);
    }
}

/// Nodes inside the region (even-odd rule over all rings), by scanlines through the node rows.
fn inside_mask(
    segs: &[(Coord, Coord)],
    x0: f64,
    y0: f64,
    c: f64,
    nx: usize,
    ny: usize,
) -> Vec<bool> {
    let mut rows: Vec<Vec<f64>> = vec![Vec::new(); ny];
    for &(a, b) in segs {
        let (lo, hi) = if a.y <= b.y { (a, b) } else { (b, a) };
        if (hi.y - lo.y).abs() < 1e-12 {
            continue;
        }
        // Rows with lo.y <= y < hi.y.
        let j0 = ((lo.y - y0) / c).ceil().max(0.0) as usize;
        let mut j = j0;
        while j < ny {
            let y = y0 + j as f64 * c;
            if y >= hi.y {
                break;
            }
            if y >= lo.y {
                let t = (y - lo.y) / (hi.y - lo.y);
                rows[j].push(lo.x + t * (hi.x - lo.x));
            }
            j += 1;
        }
    }
    let mut inside = vec![false; nx * ny];
    for (j, xs) in rows.iter_mut().enumerate() {
        xs.sort_by(f64::total_cmp);
        for pair in xs.chunks_exact(2) {
            let i0 = ((pair[0] - x0) / c).ceil().max(0.0) as usize;
            let i1 = ((pair[1] - x0) / c).floor();
            if i1 < 0.0 {
                continue;
            }
            let i1 = (i1 as usize).min(nx - 1);
            for i in i0..=i1 {
                inside[j * nx + i] = true;
            }
        }
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::{LineString, Polygon};

    fn square(side: f64) -> MultiPolygon {
        MultiPolygon(vec![Polygon::new(
            LineString::from(vec![
                (0.0, 0.0),
                (side, 0.0),
                (side, side),
                (0.0, side),
                (0.0, 0.0),
            ]),
            vec![],
        )])
    }

    #[test]
    fn depth_is_the_distance_to_the_nearest_side() {
        let f = Field::new(&square(100.0), 5.0, 1e6);
        for (x, y) in [(50.0, 50.0), (10.0, 40.0), (95.0, 20.0), (30.0, 80.0)] {
            let want = f64::min(f64::min(x, 100.0 - x), f64::min(y, 100.0 - y));
            let got = f.depth_at(Coord { x, y });
            assert!((got - want).abs() < 0.5, "({x},{y}): {got} vs {want}");
        }
        assert!(f.depth_at(Coord { x: -20.0, y: 50.0 }) < 0.0);
        assert!((f.max_depth_m() - 50.0).abs() < 2.6, "{}", f.max_depth_m());
    }

    #[test]
    fn a_contour_of_a_square_is_the_inset_square_counter_clockwise() {
        let f = Field::new(&square(100.0), 5.0, 1e6);
        let c: Vec<Vec<Contour>> = f
            .contours(&[20.0, 40.0, 60.0], &[], &[])
            .into_iter()
            .map(|l| l.into_iter().map(|p| p.pts).collect())
            .collect();
        assert_eq!(c[0].len(), 1);
        assert_eq!(c[1].len(), 1);
        assert!(c[2].is_empty());
        for p in &c[0][0] {
            let d = f64::min(f64::min(p.x, 100.0 - p.x), f64::min(p.y, 100.0 - p.y));
            assert!((20.0 - 1e-6..21.0).contains(&d), "{p:?} at {d}");
        }
        assert!(crate::area::shoelace(&c[0][0]) > 0.0);
        // Area of the inset square, 60 × 60, within the corner cut of a cell.
        let a = crate::area::shoelace(&c[0][0]);
        assert!((a - 3600.0).abs() < 60.0, "{a}");
    }

    #[test]
    fn a_hole_gives_a_clockwise_ring_around_it() {
        let mut m = square(200.0);
        m.0[0].interiors_push(LineString::from(vec![
            (80.0, 80.0),
            (80.0, 120.0),
            (120.0, 120.0),
            (120.0, 80.0),
            (80.0, 80.0),
        ]));
        let f = Field::new(&m, 4.0, 1e6);
        assert!(f.depth_at(Coord { x: 100.0, y: 100.0 }) < 0.0);
        let c: Vec<Vec<Contour>> = f
            .contours(&[20.0], &[], &[])
            .into_iter()
            .map(|l| l.into_iter().map(|p| p.pts).collect())
            .collect();
        assert_eq!(c[0].len(), 2, "outer and around the hole");
        let signs: Vec<bool> = c[0]
            .iter()
            .map(|r| crate::area::shoelace(r) > 0.0)
            .collect();
        assert!(signs.contains(&true) && signs.contains(&false), "{signs:?}");
    }
}
