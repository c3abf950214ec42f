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
        for j in 0..ny {
            let (done, rest) = near.split_at_mut(j * nx);
            let row = &mut rest[..nx];
            let up = done.get(done.len().saturating_sub(nx)..).filter(|_| j > 0);
            let brow = &mut best[j * nx..(j + 1) * nx];
            let y = y0 + j as f64 * c;
            for i in 0..nx {
                let mut cands = [NONE; 4];
                if i > 0 {
                    cands[0] = row[i - 1];
                }
                if let Some(up) = up {
                    cands[1] = up[i];
                    if i > 0 {
                        cands[2] = up[i - 1];
                    }
                    if i + 1 < nx {
                        cands[3] = up[i + 1];
                    }
                }
                let p = Coord {
                    x: x0 + i as f64 * c,
                    y,
                };
                relax(p, &mut brow[i], &mut row[i], cands, &segs);
            }
            for i in (0..nx.saturating_sub(1)).rev() {
                let p = Coord {
                    x: x0 + i as f64 * c,
                    y,
                };
                let cands = [row[i + 1], NONE, NONE, NONE];
                relax(p, &mut brow[i], &mut row[i], cands, &segs);
            }
        }
        for j in (0..ny).rev() {
            let (head, below) = near.split_at_mut((j + 1) * nx);
            let row = &mut head[j * nx..];
            let down = below.get(..nx);
            let brow = &mut best[j * nx..(j + 1) * nx];
            let y = y0 + j as f64 * c;
            for i in (0..nx).rev() {
                let mut cands = [NONE; 4];
                if i + 1 < nx {
                    cands[0] = row[i + 1];
                }
                if let Some(down) = down {
                    cands[1] = down[i];
                    if i + 1 < nx {
                        cands[2] = down[i + 1];
                    }
                    if i > 0 {
                        cands[3] = down[i - 1];
                    }
                }
                let p = Coord {
                    x: x0 + i as f64 * c,
                    y,
                };
                relax(p, &mut brow[i], &mut row[i], cands, &segs);
            }
            for i in 1..nx {
                let p = Coord {
                    x: x0 + i as f64 * c,
                    y,
                };
                let cands = [row[i - 1], NONE, NONE, NONE];
                relax(p, &mut brow[i], &mut row[i], cands, &segs);
            }
        }
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

    /// The contours of every level in `levels` (ascending), one list per level. The levels are
    /// traced on the cores there are, each worker a share of them interleaved (outer levels
    /// are the longest), so the result does not depend on the number of cores.
    pub fn contours(&self, levels: &[f64]) -> Vec<Vec<Contour>> {
        let mut out: Vec<Vec<Contour>> = vec![Vec::new(); levels.len()];
        if self.nx < 2 || self.ny < 2 || levels.is_empty() {
            return out;
        }
        let (nx, ny) = (self.nx, self.ny);
        // Cells by the levels that cross them (counting sort by level): each cell with the
        // levels L it holds, lo < L <= hi of its corners; rows in bands on the cores.
        // The levels' mean step: a guess of where a depth falls among them, corrected by a
        // short walk (the levels are evenly spaced when filling).
        let step = if levels.len() > 1 {
            (levels[levels.len() - 1] - levels[0]) / (levels.len() - 1) as f64
        } else {
            0.0
        };
        let rows: Vec<usize> = (0..ny - 1).step_by(64).collect();
        let crossed: Vec<Vec<(u32, u32, u32)>> = crate::par::map(&rows, |&j0| {
            let mut mine = Vec::new();
            for cj in j0..(j0 + 64).min(ny - 1) {
                let row = &self.depth[cj * nx..(cj + 2) * nx];
                for ci in 0..nx - 1 {
                    let v = [row[ci], row[ci + 1], row[nx + ci], row[nx + ci + 1]];
                    let lo = v[0].min(v[1]).min(v[2].min(v[3]));
                    let hi = v[0].max(v[1]).max(v[2].max(v[3]));
                    if hi < levels[0] || lo >= levels[levels.len() - 1] {
                        continue;
                    }
                    let a = first_above(levels, lo, step);
                    if a == levels.len() || levels[a] > hi {
                        continue;
                    }
                    let mut b = a + 1;
                    while b < levels.len() && levels[b] <= hi {
                        b += 1;
                    }
                    mine.push(((cj * nx + ci) as u32, a as u32, b as u32));
                }
            }
            mine
        });
        let mut count = vec![0usize; levels.len() + 1];
        for &(_, a, b) in crossed.iter().flatten() {
            for m in a as usize..b as usize {
                count[m + 1] += 1;
            }
        }
        for m in 0..levels.len() {
            count[m + 1] += count[m];
        }
        let mut fill = count.clone();
        let mut cells = vec![0u32; count[levels.len()]];
        for &(cell, a, b) in crossed.iter().flatten() {
            for m in a as usize..b as usize {
                cells[fill[m]] = cell;
                fill[m] += 1;
            }
        }
        drop(crossed);
        let workers = levels.len().min(8);
        let shares: Vec<usize> = (0..workers).collect();
        let traced = crate::par::map(&shares, |&w| {
            // Edges crossed and already traced at the current level.
            let mut seen = vec![false; 2 * nx * ny];
            let mut touched: Vec<usize> = Vec::new();
            let mut mine: Vec<(usize, Vec<Contour>)> = Vec::new();
            for m in (w..levels.len()).step_by(workers) {
                let level = levels[m];
                let mut rings = Vec::new();
                for &cell in &cells[count[m]..count[m + 1]] {
                    let cell = cell as usize;
                    let (ci, cj) = (cell % nx, cell / nx);
                    for side in 0..4 {
                        let e = self.edge_id(ci, cj, side);
                        if seen[e] || !self.crosses(e, level) {
                            continue;
                        }
                        let ring = self.trace(ci, cj, side, level, &mut seen, &mut touched);
                        if ring.len() >= 3 {
                            rings.push(ring);
                        }
                    }
                }
                for e in touched.drain(..) {
                    seen[e] = false;
                }
                mine.push((m, rings));
            }
            mine
        });
        for (m, rings) in traced.into_iter().flatten() {
            out[m] = rings;
        }
        out
    }

    /// Edge of cell (ci, cj) on `side` (0 bottom, 1 right, 2 top, 3 left): horizontal edges
    /// are numbered by their left node, vertical ones (after all horizontal) by their lower.
    fn edge_id(&self, ci: usize, cj: usize, side: usize) -> usize {
        let n = self.nx * self.ny;
        match side {
            0 => cj * self.nx + ci,
            1 => n + cj * self.nx + ci + 1,
            2 => (cj + 1) * self.nx + ci,
            _ => n + cj * self.nx + ci,
        }
    }

    /// The two nodes of an edge.
    fn edge_nodes(&self, e: usize) -> (usize, usize) {
        let n = self.nx * self.ny;
        if e < n {
            (e, e + 1)
        } else {
            (e - n, e - n + self.nx)
        }
    }

    fn crosses(&self, e: usize, level: f64) -> bool {
        let (a, b) = self.edge_nodes(e);
        (self.depth[a] >= level) != (self.depth[b] >= level)
    }

    /// Whether `p` is at least `level` from every boundary segment nearest to a node around it
    /// (the 4×4 nodes about its cell): the exact test for a point found near those nodes.
    fn exact_depth_at_least(&self, p: Coord, level: f64) -> bool {
        let i = ((p.x - self.x0) / self.cell_m).floor() as isize;
        let j = ((p.y - self.y0) / self.cell_m).floor() as isize;
        let l2 = level * level;
        for dj in -1..=2 {
            for di in -1..=2 {
                let (ni, nj) = (i + di, j + dj);
                if ni < 0 || nj < 0 || ni as usize >= self.nx || nj as usize >= self.ny {
                    return false;
                }
                let id = nj as usize * self.nx + ni as usize;
                if self.depth[id] < 0.0 {
                    // Outside the region near the point: not a corner to add.
                    return false;
                }
                let s = self.near[id];
                if s != NONE {
                    let (a, b) = self.segs[s as usize];
                    if seg_dist2(p, a, b) < l2 {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// A contour traced through the grid cuts each corner it turns inside a cell. Where two
    /// successive points lie on the straight offsets of two different boundary segments, the
    /// offsets' intersection (the true corner, at the contour's depth) goes between them.
    fn sharpen(&self, ring: &[Coord], seg_of: &[u32], level: f64) -> Vec<Coord> {
        let n = ring.len();
        let mut out = Vec::with_capacity(n + n / 8);
        let on_offset = |p: Coord, s: u32| -> Option<(Coord, Coord)> {
            if s == NONE {
                return None;
            }
            let (a, b) = self.segs[s as usize];
            let (dx, dy) = (b.x - a.x, b.y - a.y);
            let l2 = dx * dx + dy * dy;
            if l2 <= 0.0 {
                return None;
            }
            let t = ((p.x - a.x) * dx + (p.y - a.y) * dy) / l2;
            (t > 1e-6 && t < 1.0 - 1e-6).then_some((a, b))
        };
        let reach = self.cell_m * 1.5;
        for i in 0..n {
            out.push(ring[i]);
            let j = (i + 1) % n;
            if seg_of[i] == seg_of[j] {
                continue;
            }
            let (Some((a1, b1)), Some((a2, b2))) =
                (on_offset(ring[i], seg_of[i]), on_offset(ring[j], seg_of[j]))
            else {
                continue;
            };
            let (p, q) = (ring[i], ring[j]);
            let (d1, d2) = (
                Coord {
                    x: b1.x - a1.x,
                    y: b1.y - a1.y,
                },
                Coord {
                    x: b2.x - a2.x,
                    y: b2.y - a2.y,
                },
            );
            let den = d1.x * d2.y - d1.y * d2.x;
            if den.abs() < 1e-12 {
                continue;
            }
            let t = ((q.x - p.x) * d2.y - (q.y - p.y) * d2.x) / den;
            let x = Coord {
                x: p.x + t * d1.x,
                y: p.y + t * d1.y,
            };
            let r2 = reach * reach;
            let near_both = (x.x - p.x).powi(2) + (x.y - p.y).powi(2) < r2
                && (x.x - q.x).powi(2) + (x.y - q.y).powi(2) < r2;
            // At the contour's depth from both segments (a corner of the offsets, not a point
            // nearer the boundary).
            let deep = near_both && self.exact_depth_at_least(x, level - 1e-3);
            if deep {
                out.push(x);
            }
        }
        out
    }

    /// One step of a trace through cell (ci, cj), entered on side `entry`: where the contour
    /// at `level` crosses that side (interpolated linearly between its nodes), the nearer to
    /// that point of the two nodes' nearest boundary segments, and the side the contour
    /// leaves by; the cell's corners read once.
    fn cell_step(&self, ci: usize, cj: usize, entry: usize, level: f64) -> (Coord, u32, usize) {
        let nx = self.nx;
        // Corners counter-clockwise from bottom-left.
        let ids = [
            cj * nx + ci,
            cj * nx + ci + 1,
            (cj + 1) * nx + ci + 1,
            (cj + 1) * nx + ci,
        ];
        let v = ids.map(|id| self.depth[id]);
        // The entry edge's nodes, in the order of `edge_nodes` (left to right, bottom to top).
        let (a, b) = match entry {
            0 => (0, 1),
            1 => (1, 2),
            2 => (3, 2),
            _ => (0, 3),
        };
        let (fa, fb) = (v[a], v[b]);
        let t = if (fb - fa).abs() > 1e-12 {
            ((level - fa) / (fb - fa)).clamp(0.0, 1.0)
        } else {
            0.5
        };
        let corner = |k: usize| match k {
            0 => self.node(ci, cj),
            1 => self.node(ci + 1, cj),
            2 => self.node(ci + 1, cj + 1),
            _ => self.node(ci, cj + 1),
        };
        let (pa, pb) = (corner(a), corner(b));
        let p = Coord {
            x: pa.x + t * (pb.x - pa.x),
            y: pa.y + t * (pb.y - pa.y),
        };
        let (sa, sb) = (self.near[ids[a]], self.near[ids[b]]);
        let seg = if sa == sb {
            sa
        } else {
            let d = |s: u32| {
                self.segs
                    .get(s as usize)
                    .map_or(f64::INFINITY, |&(u, w)| seg_dist2(p, u, w))
            };
            if d(sa) <= d(sb) { sa } else { sb }
        };
        (p, seg, exit_of(v, entry, level))
    }

    /// Follows the contour at `level` from the crossing on `side` of cell (ci, cj) through the
    /// cells until it closes; marks its edges seen. Returns it with depth rising to the left.
    fn trace(
        &self,
        ci: usize,
        cj: usize,
        side: usize,
        level: f64,
        seen: &mut [bool],
        touched: &mut Vec<usize>,
    ) -> Contour {
        let start = self.edge_id(ci, cj, side);
        let mut ring = Vec::new();
        let mut seg_of: Vec<u32> = Vec::new();
        let (mut ci, mut cj, mut entry) = (ci, cj, side);
        let max_steps = 4 * self.nx * self.ny;
        for _ in 0..max_steps {
            let e_in = self.edge_id(ci, cj, entry);
            if seen[e_in] {
                break;
            }
            seen[e_in] = true;
            touched.push(e_in);
            let (p, seg, exit) = self.cell_step(ci, cj, entry, level);
            ring.push(p);
            seg_of.push(seg);
            let e_out = self.edge_id(ci, cj, exit);
            if e_out == start {
                break;
            }
            // Into the neighbour across the exit edge.
            let (ni, nj, nentry) = match exit {
                0 if cj > 0 => (ci, cj - 1, 2),
                1 if ci + 2 < self.nx => (ci + 1, cj, 3),
                2 if cj + 2 < self.ny => (ci, cj + 1, 0),
                3 if ci > 0 => (ci - 1, cj, 1),
                _ => break,
            };
            ci = ni;
            cj = nj;
            entry = nentry;
        }
        let mut ring = self.sharpen(&ring, &seg_of, level);
        // A contour through a node meets it on two edges: one point.
        ring.dedup_by(|a, b| (a.x - b.x).abs() < 1e-9 && (a.y - b.y).abs() < 1e-9);
        while ring.len() > 1 && ring.first() == ring.last() {
            ring.pop();
        }
        // Depth must rise to the left of the travel: compare both sides of the longest leg.
        let n = ring.len();
        let mut longest = (0.0, 0);
        for i in 0..n {
            let (p, q) = (ring[i], ring[(i + 1) % n]);
            let l2 = (q.x - p.x) * (q.x - p.x) + (q.y - p.y) * (q.y - p.y);
            if l2 >= longest.0 {
                longest = (l2, i);
            }
        }
        if longest.0 > 0.0 {
            let i = longest.1;
            let (p, q) = (ring[i], ring[(i + 1) % n]);
            let len = longest.0.sqrt();
            let h = self.cell_m / 4.0;
            let (nx, ny) = (-(q.y - p.y) / len * h, (q.x - p.x) / len * h);
            let mid = Coord {
                x: f64::midpoint(p.x, q.x),
                y: f64::midpoint(p.y, q.y),
            };
            let left = self.depth_at(Coord {
                x: mid.x + nx,
                y: mid.y + ny,
            });
            let right = self.depth_at(Coord {
                x: mid.x - nx,
                y: mid.y - ny,
            });
            if left < right {
                ring.reverse();
            }
        }
        ring
    }
}

/// The side a contour at `level` leaves a cell by, having entered on `entry`, from the depths
/// `v` at the cell's corners (counter-clockwise from bottom-left; side k joins corners k and
/// k + 1).
fn exit_of(v: [f64; 4], entry: usize, level: f64) -> usize {
    let up = v.map(|x| x >= level);
    let mut crossed = [0usize; 4];
    let mut n = 0;
    for k in 0..4 {
        if up[k] != up[(k + 1) % 4] {
            crossed[n] = k;
            n += 1;
        }
    }
    if n == 2 {
        return if crossed[0] == entry {
            crossed[1]
        } else {
            crossed[0]
        };
    }
    // Saddle: the centre decides which corners join.
    let centre_up = (v[0] + v[1] + v[2] + v[3]) / 4.0 >= level;
    // If the centre is with the corners that are up, the up corners connect through it,
    // and each crossing pairs with the side that keeps the down corner cut off.
    // Side k joins corners k and k + 1; of the two, the lone one differs from the centre,
    // and the contour leaves by the lone corner's other side.
    if up[(entry + 1) % 4] == centre_up {
        // Corner k is lone: its sides are k - 1 and k.
        (entry + 3) % 4
    } else {
        (entry + 1) % 4
    }
}

/// One node's step of the propagation: the node at `p` takes the nearest of its neighbours'
/// segments `cands` (`NONE` for none), in order, measuring each once (neighbours often share
/// one) unless it has that segment already.
#[expect(
    clippy::inline_always,
    reason = "called twice per node of a 1.5 M-node grid, and mostly returns at once"
)]
#[inline(always)]
fn relax(p: Coord, best: &mut f64, near: &mut u32, cands: [u32; 4], segs: &[(Coord, Coord)]) {
    // Most nodes have their neighbours' segment already.
    let own = *near;
    if cands.iter().all(|&s| s == NONE || s == own) {
        return;
    }
    let mut tried = [NONE; 4];
    for k in 0..4 {
        let s = cands[k];
        if s == NONE || s == *near || tried[..k].contains(&s) {
            continue;
        }
        tried[k] = s;
        let Some(&(a, b)) = segs.get(s as usize) else {
            continue;
        };
        let d2 = seg_dist2(p, a, b);
        if d2 < *best {
            *best = d2;
            *near = s;
        }
    }
}

/// The index of the first of the ascending `levels` above `x` (`levels.partition_point(|&l| l
/// <= x)`), from a guess by the levels' mean `step`, walked to the answer.
fn first_above(levels: &[f64], x: f64, step: f64) -> usize {
    let n = levels.len();
    let guess = if step > 0.0 {
        ((x - levels[0]) / step).clamp(0.0, n as f64)
    } else {
        0.0
    };
    // `as` saturates; the guess is within 0..=n.
    let mut k = (guess as usize).min(n);
    while k < n && levels[k] <= x {
        k += 1;
    }
    while k > 0 && levels[k - 1] > x {
        k -= 1;
    }
    k
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
        let c = f.contours(&[20.0, 40.0, 60.0]);
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
        let c = f.contours(&[20.0]);
        assert_eq!(c[0].len(), 2, "outer and around the hole");
        let signs: Vec<bool> = c[0]
            .iter()
            .map(|r| crate::area::shoelace(r) > 0.0)
            .collect();
        assert!(signs.contains(&true) && signs.contains(&false), "{signs:?}");
    }
}
