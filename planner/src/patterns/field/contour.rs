//! Level contours of the distance field, traced through the grid's cells (marching squares)
//! on the cores there are.

use geo::Coord;

use super::ridge::Marks;
use super::{Contour, Field, NONE, Piece};
use crate::frame::point_segment_distance2_m2 as seg_dist2;

impl Field {
    /// The contours of every level in `levels` (ascending), one list per level. The levels are
    /// traced on the cores there are, each worker a share of them interleaved (outer levels
    /// are the longest), so the result does not depend on the number of cores.
    ///
    /// A level `m` with `partial[m]` set is traced only through the edges with a node marked
    /// in `zone` (see [`Field::ridge_zone`]): its pieces are the contours that lie wholly
    /// there and the stretches of the others that do, each with the point on the unmarked
    /// edge at both ends. Every other level gives whole contours.
    pub fn contours(&self, levels: &[f64], partial: &[bool], zone: &[bool]) -> Vec<Vec<Piece>> {
        let mut out: Vec<Vec<Piece>> = vec![Vec::new(); levels.len()];
        let partial_at = |m: usize| partial.get(m).copied().unwrap_or(false) && !zone.is_empty();
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
        // Each node's count of levels at or below its depth, once: a cell holds the levels
        // from the least of its corners' counts to (not including) the greatest, the same as
        // lo < L <= hi of its corners' depths (the count rises with the depth). Most cells'
        // corners share one count: no level crosses them.
        let (lo_level, hi_level) = (levels[0], levels[levels.len() - 1]);
        let bands: Vec<usize> = (0..ny).step_by(64).collect();
        let counts: Vec<Vec<u32>> = crate::par::map(&bands, |&j0| {
            let nodes = self.depth.get(j0 * nx..((j0 + 64).min(ny)) * nx);
            nodes
                .unwrap_or_default()
                .iter()
                .map(|&d| {
                    // Outside the region or short of the first level: none (most nodes).
                    if d < lo_level {
                        0
                    } else if d >= hi_level {
                        levels.len() as u32
                    } else {
                        first_above(levels, d, step) as u32
                    }
                })
                .collect()
        });
        let below: Vec<u32> = counts.concat();
        drop(counts);
        let rows: Vec<usize> = (0..ny - 1).step_by(64).collect();
        // Each crossed cell with its first and last level, and whether a corner is in `zone`.
        let crossed: Vec<Vec<(u32, u32, u32, bool)>> = crate::par::map(&rows, |&j0| {
            // Room for every cell of the band (most are crossed when filling; pages never
            // written are never touched): no copies as it grows.
            let mut mine = Vec::with_capacity(((j0 + 64).min(ny - 1) - j0) * (nx - 1));
            for cj in j0..(j0 + 64).min(ny - 1) {
                let (Some(lo_row), Some(hi_row)) = (
                    below.get(cj * nx..(cj + 1) * nx),
                    below.get((cj + 1) * nx..(cj + 2) * nx),
                ) else {
                    continue;
                };
                for ci in 0..nx - 1 {
                    let k = [lo_row[ci], lo_row[ci + 1], hi_row[ci], hi_row[ci + 1]];
                    let a = k[0].min(k[1]).min(k[2].min(k[3]));
                    let b = k[0].max(k[1]).max(k[2].max(k[3]));
                    if a == b {
                        continue;
                    }
                    let near = !zone.is_empty() && {
                        let z = &zone[cj * nx..(cj + 2) * nx];
                        z[ci] || z[ci + 1] || z[nx + ci] || z[nx + ci + 1]
                    };
                    mine.push(((cj * nx + ci) as u32, a, b, near));
                }
            }
            mine
        });
        drop(below);
        let mut count = vec![0usize; levels.len() + 1];
        for &(_, a, b, near) in crossed.iter().flatten() {
            for m in a as usize..b as usize {
                if near || !partial_at(m) {
                    count[m + 1] += 1;
                }
            }
        }
        for m in 0..levels.len() {
            count[m + 1] += count[m];
        }
        let mut fill = count.clone();
        let mut cells = vec![0u32; count[levels.len()]];
        for &(cell, a, b, near) in crossed.iter().flatten() {
            for m in a as usize..b as usize {
                if near || !partial_at(m) {
                    cells[fill[m]] = cell;
                    fill[m] += 1;
                }
            }
        }
        drop(crossed);
        // Levels traced in part are cheap: the shares are interleaved by pairs of levels when
        // there are any (a whole level and the partial one after it), so each gets as many
        // whole levels.
        let group = if (0..levels.len()).any(partial_at) {
            2
        } else {
            1
        };
        let workers = levels.len().div_ceil(group).min(8);
        let shares: Vec<usize> = (0..workers).collect();
        // The shares' marks of the edges traced, all clear between levels: a share takes a
        // cleared array from those the shares before it left (zeroing 3 bytes a node costs).
        let spare: std::sync::Mutex<Vec<Vec<bool>>> = std::sync::Mutex::new(Vec::new());
        let traced = crate::par::map(&shares, |&w| {
            // Edges crossed and already traced at the current level.
            let mut seen = spare
                .lock()
                .ok()
                .and_then(|mut s| s.pop())
                .unwrap_or_else(|| vec![false; 2 * nx * ny]);
            let mut touched: Vec<usize> = Vec::new();
            let mut mine: Vec<(usize, Vec<Piece>)> = Vec::new();
            let mine_levels = (0..levels.len()).filter(|m| (m / group) % workers == w);
            for m in mine_levels {
                let level = levels[m];
                let part = partial_at(m);
                let mut rings = Vec::new();
                // A whole contour is found at the first cell it crosses (rows upwards, each
                // left to right): it leaves that cell by the right and top sides (its other
                // sides lead to cells before it), so its trace starts on the right side.
                // Only that side need be looked at, the start as with all four.
                let sides = if part { 0..4 } else { 1..2 };
                for &cell in &cells[count[m]..count[m + 1]] {
                    let cell = cell as usize;
                    let (ci, cj) = (cell % nx, cell / nx);
                    for side in sides.clone() {
                        let e = self.edge_id(ci, cj, side);
                        if seen[e] || !self.crosses(e, level) {
                            continue;
                        }
                        let piece = if part {
                            if !self.edge_in(e, zone) {
                                continue;
                            }
                            let mut marks = Marks {
                                seen: &mut seen,
                                touched: &mut touched,
                            };
                            self.stretch(ci, cj, side, level, zone, &mut marks)
                        } else {
                            Piece {
                                pts: self.trace(ci, cj, side, level, &mut seen, &mut touched),
                                closed: true,
                            }
                        };
                        if piece.pts.len() >= if piece.closed { 3 } else { 2 } {
                            rings.push(piece);
                        }
                    }
                }
                for e in touched.drain(..) {
                    seen[e] = false;
                }
                mine.push((m, rings));
            }
            if let Ok(mut s) = spare.lock() {
                s.push(seen);
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
    pub(super) fn edge_id(&self, ci: usize, cj: usize, side: usize) -> usize {
        let n = self.nx * self.ny;
        match side {
            0 => cj * self.nx + ci,
            1 => n + cj * self.nx + ci + 1,
            2 => (cj + 1) * self.nx + ci,
            _ => n + cj * self.nx + ci,
        }
    }

    /// The two nodes of an edge.
    pub(super) fn edge_nodes(&self, e: usize) -> (usize, usize) {
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
    pub(super) fn sharpen(
        &self,
        ring: &[Coord],
        seg_of: &[u32],
        level: f64,
        closed: bool,
    ) -> Vec<Coord> {
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
            if (j == 0 && !closed) || seg_of[i] == seg_of[j] {
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
    pub(super) fn trace(
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
        let mut ring = self.sharpen(&ring, &seg_of, level, true);
        // A contour through a node meets it on two edges: one point.
        ring.dedup_by(|a, b| (a.x - b.x).abs() < 1e-9 && (a.y - b.y).abs() < 1e-9);
        while ring.len() > 1 && ring.first() == ring.last() {
            ring.pop();
        }
        self.orient(&mut ring, true);
        ring
    }

    /// Puts the contour `ring` (closed or open) in the direction with depth rising to its left:
    /// compares both sides of its longest leg.
    pub(super) fn orient(&self, ring: &mut [Coord], closed: bool) {
        let n = ring.len();
        let mut longest = (0.0, 0);
        let legs = if closed { n } else { n.saturating_sub(1) };
        for i in 0..legs {
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
    }
}

/// The side a contour at `level` leaves a cell by, having entered on `entry`, from the depths
/// `v` at the cell's corners (counter-clockwise from bottom-left; side k joins corners k and
/// k + 1).
pub(super) fn exit_of(v: [f64; 4], entry: usize, level: f64) -> usize {
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
