//! The field's sharp ridges and the stretches of a contour near them.
//!
//! Off the region's middle the field is the distance to one boundary feature: climbing it
//! along its slope gains depth as fast as distance. A climb that crosses the middle (where
//! two nodes side by side have different nearest segments, reached from directions at an
//! angle) gains less past it, the less the sharper the angle. The fill looks for the ridges a
//! climb of half a spacing from a half-level contour cannot get past; only the nodes near a
//! sharp ridge can start such a climb, so only there need those contours be traced.

use geo::Coord;

use super::contour::exit_of;
use super::{Field, NONE, Piece};
use crate::frame::point_segment_nearest;

/// Two nearest segments reached from directions whose cosine is below this meet at a sharp
/// ridge (26°: a climb across it loses at most a tenth of its length in depth).
const SHARP_COS: f64 = 0.9;

/// Rows of nodes in a band of the zone's work on the cores.
const BAND: usize = 64;

/// The edges traced at the current level: the tracing's scratch, cleared after each level.
pub(super) struct Marks<'a> {
    pub seen: &'a mut [bool],
    pub touched: &'a mut Vec<usize>,
}

impl Marks<'_> {
    fn mark(&mut self, e: usize) {
        self.seen[e] = true;
        self.touched.push(e);
    }
}

impl Field {
    /// The nodes within `climb_m` and four cells of a sharp ridge: a climb of `climb_m` up the
    /// slope from a point away from them gains its length in depth, up to the cells'
    /// interpolation (and a tenth of it where it crosses a ridge that is not sharp).
    pub fn ridge_zone(&self, climb_m: f64) -> Vec<bool> {
        let (nx, ny) = (self.nx, self.ny);
        let mut ridge = vec![false; nx * ny];
        if nx < 2 || ny < 2 {
            return ridge;
        }
        let inside = |id: usize| self.depth[id] > 0.0;
        // The rows in bands on the cores, each band the nodes it marks (a pair's upper node
        // may be in the next band's first row): the same marks whatever the cores.
        let bands: Vec<usize> = (0..ny - 1).step_by(BAND).collect();
        let marked = crate::par::map(&bands, |&j0| {
            let mut mine: Vec<usize> = Vec::new();
            for j in j0..(j0 + BAND).min(ny - 1) {
                let (row, up) = (
                    &self.near[j * nx..(j + 1) * nx],
                    &self.near[(j + 1) * nx..(j + 2) * nx],
                );
                for i in 0..nx {
                    let s = row[i];
                    // Right, up, up-right and up-left neighbours: each pair of nodes once.
                    // Most nodes share their neighbours' segment.
                    let right = row.get(i + 1).copied().unwrap_or(s);
                    let up_right = up.get(i + 1).copied().unwrap_or(s);
                    let up_left = if i > 0 { up[i - 1] } else { s };
                    if s == right && s == up[i] && s == up_right && s == up_left {
                        continue;
                    }
                    let id = j * nx + i;
                    if s == NONE || !inside(id) {
                        continue;
                    }
                    for (t, nb) in [
                        (right, id + 1),
                        (up[i], id + nx),
                        (up_right, id + nx + 1),
                        (up_left, id + nx - 1),
                    ] {
                        if t == s || t == NONE || !inside(nb) {
                            continue;
                        }
                        if self.sharp(self.node(i, j), s, t) {
                            mine.push(id);
                            mine.push(nb);
                        }
                    }
                }
            }
            mine
        });
        for id in marked.into_iter().flatten() {
            ridge[id] = true;
        }
        let r = ((climb_m / self.cell_m).ceil() as usize).saturating_add(4);
        dilate(&mut ridge, nx, ny, r);
        ridge
    }

    /// Whether the directions from the nearest points of segments `s` and `t` to `p` meet at
    /// a sharp angle (or one of them is undefined).
    fn sharp(&self, p: Coord, s: u32, t: u32) -> bool {
        let dir = |s: u32| -> Option<Coord> {
            let &(a, b) = self.segs.get(s as usize)?;
            let (d2, u) = point_segment_nearest(p, a, b);
            let d = d2.sqrt();
            (d > 1e-9).then(|| Coord {
                x: (p.x - (a.x + u * (b.x - a.x))) / d,
                y: (p.y - (a.y + u * (b.y - a.y))) / d,
            })
        };
        match (dir(s), dir(t)) {
            (Some(u), Some(v)) => u.x * v.x + u.y * v.y < SHARP_COS,
            _ => true,
        }
    }

    /// Whether edge `e` has a node in `zone`.
    pub(super) fn edge_in(&self, e: usize, zone: &[bool]) -> bool {
        let (a, b) = self.edge_nodes(e);
        zone[a] || zone[b]
    }

    /// Where the contour at `level` crosses edge `e` (interpolated linearly between its
    /// nodes, as a trace's cell step finds it), and the nearer of the nodes' segments.
    fn edge_point(&self, e: usize, level: f64) -> (Coord, u32) {
        let (a, b) = self.edge_nodes(e);
        let (fa, fb) = (self.depth[a], self.depth[b]);
        let t = if (fb - fa).abs() > 1e-12 {
            ((level - fa) / (fb - fa)).clamp(0.0, 1.0)
        } else {
            0.5
        };
        let (pa, pb) = (
            self.node(a % self.nx, a / self.nx),
            self.node(b % self.nx, b / self.nx),
        );
        let p = Coord {
            x: pa.x + t * (pb.x - pa.x),
            y: pa.y + t * (pb.y - pa.y),
        };
        let (sa, sb) = (self.near[a], self.near[b]);
        let seg = if sa == sb {
            sa
        } else {
            let d = |s: u32| {
                self.segs
                    .get(s as usize)
                    .map_or(f64::INFINITY, |&(u, w)| super::seg_dist2(p, u, w))
            };
            if d(sa) <= d(sb) { sa } else { sb }
        };
        (p, seg)
    }

    /// The piece of the contour at `level` through the crossing on `side` of cell (ci, cj), an
    /// edge in `zone`: followed both ways to the first edge out of `zone`, or the whole
    /// contour (traced as [`Field::contours`] traces it) when it stays in `zone`.
    pub(super) fn stretch(
        &self,
        ci: usize,
        cj: usize,
        side: usize,
        level: f64,
        zone: &[bool],
        marks: &mut Marks,
    ) -> Piece {
        let e0 = self.edge_id(ci, cj, side);
        marks.mark(e0);
        let mut fwd = vec![(e0, ci + cj * self.nx)];
        if self.walk(ci, cj, side, level, zone, e0, marks, &mut fwd) {
            // A whole contour: from where a trace over every cell would start it.
            for &(e, _) in &fwd {
                marks.seen[e] = false;
            }
            let Some(&cell) = fwd.iter().map(|(_, c)| c).min() else {
                return Piece {
                    pts: Vec::new(),
                    closed: true,
                };
            };
            let (mi, mj) = (cell % self.nx, cell / self.nx);
            let start = (0..4)
                .find(|&s| {
                    let e = self.edge_id(mi, mj, s);
                    fwd.iter().any(|&(f, _)| f == e)
                })
                .unwrap_or(side);
            return Piece {
                pts: self.trace(mi, mj, start, level, marks.seen, marks.touched),
                closed: true,
            };
        }
        let mut bwd = Vec::new();
        let back = match side {
            0 if cj > 0 => Some((ci, cj - 1, 2)),
            1 if ci + 2 < self.nx => Some((ci + 1, cj, 3)),
            2 if cj + 2 < self.ny => Some((ci, cj + 1, 0)),
            3 if ci > 0 => Some((ci - 1, cj, 1)),
            _ => None,
        };
        if let Some((bi, bj, bside)) = back {
            self.walk(bi, bj, bside, level, zone, e0, marks, &mut bwd);
        }
        let edges: Vec<usize> = bwd.iter().rev().chain(&fwd).map(|&(e, _)| e).collect();
        let (pts, seg_of): (Vec<Coord>, Vec<u32>) =
            edges.iter().map(|&e| self.edge_point(e, level)).unzip();
        let mut pts = self.sharpen(&pts, &seg_of, level, false);
        pts.dedup_by(|a, b| (a.x - b.x).abs() < 1e-9 && (a.y - b.y).abs() < 1e-9);
        self.orient(&mut pts, false);
        Piece { pts, closed: false }
    }

    /// Follows the contour at `level` from cell (ci, cj), entered on `entry`, pushing each edge
    /// it leaves by (with the cell it enters) to `out` and marking it, until an edge out of
    /// `zone` (pushed, not marked), the grid's edge, or `start` again: then it returns true
    /// (a closed contour).
    #[expect(
        clippy::too_many_arguments,
        reason = "one walk's state; a struct would only rename them"
    )]
    fn walk(
        &self,
        ci: usize,
        cj: usize,
        entry: usize,
        level: f64,
        zone: &[bool],
        start: usize,
        marks: &mut Marks,
        out: &mut Vec<(usize, usize)>,
    ) -> bool {
        let nx = self.nx;
        let (mut ci, mut cj, mut entry) = (ci, cj, entry);
        for _ in 0..4 * self.nx * self.ny {
            let v = [
                self.depth[cj * nx + ci],
                self.depth[cj * nx + ci + 1],
                self.depth[(cj + 1) * nx + ci + 1],
                self.depth[(cj + 1) * nx + ci],
            ];
            let exit = exit_of(v, entry, level);
            let e = self.edge_id(ci, cj, exit);
            if e == start {
                return true;
            }
            if marks.seen[e] {
                return false;
            }
            let (ni, nj, nentry) = match exit {
                0 if cj > 0 => (ci, cj - 1, 2),
                1 if ci + 2 < self.nx => (ci + 1, cj, 3),
                2 if cj + 2 < self.ny => (ci, cj + 1, 0),
                3 if ci > 0 => (ci - 1, cj, 1),
                _ => {
                    out.push((e, ci + cj * nx));
                    return false;
                }
            };
            out.push((e, ni + nj * nx));
            if !self.edge_in(e, zone) {
                return false;
            }
            marks.mark(e);
            (ci, cj, entry) = (ni, nj, nentry);
        }
        false
    }
}

/// Marks every node within `r` nodes (on both axes) of a marked one; rows (then columns) in
/// bands on the cores.
fn dilate(mask: &mut Vec<bool>, nx: usize, ny: usize, r: usize) {
    let r = u32::try_from(r).unwrap_or(u32::MAX);
    // Along each row: nodes since the last marked one, forwards then backwards.
    let mut bands: Vec<&mut [bool]> = mask.chunks_mut(BAND * nx).collect();
    crate::par::for_each_mut(&mut bands, |band| {
        let mut out = vec![false; nx];
        for row in band.chunks_exact_mut(nx) {
            let mut since = u32::MAX;
            for (o, &m) in out.iter_mut().zip(row.iter()) {
                since = if m { 0 } else { since.saturating_add(1) };
                *o = since <= r;
            }
            since = u32::MAX;
            for (o, m) in out.iter().zip(row.iter_mut()).rev() {
                since = if *m { 0 } else { since.saturating_add(1) };
                *m = *o || since <= r;
            }
        }
    });
    // Along the columns: each band of rows from the rows within `r` of it (rows since the
    // last marked node of each column, downwards then upwards).
    let rows = r as usize;
    let starts: Vec<usize> = (0..ny).step_by(BAND).collect();
    let from: &[bool] = mask;
    let out = crate::par::map(&starts, |&j0| {
        let j1 = (j0 + BAND).min(ny);
        let (lo, hi) = (j0.saturating_sub(rows), j1.saturating_add(rows).min(ny));
        let mut since = vec![u32::MAX; nx];
        let mut down = vec![false; (j1 - j0) * nx];
        for j in lo..j1 {
            let row = &from[j * nx..(j + 1) * nx];
            for (s, &m) in since.iter_mut().zip(row) {
                *s = if m { 0 } else { s.saturating_add(1) };
            }
            if j >= j0 {
                let o = &mut down[(j - j0) * nx..(j - j0 + 1) * nx];
                for (o, &s) in o.iter_mut().zip(&since) {
                    *o = s <= r;
                }
            }
        }
        since.fill(u32::MAX);
        for j in (j0..hi).rev() {
            let row = &from[j * nx..(j + 1) * nx];
            for (s, &m) in since.iter_mut().zip(row) {
                *s = if m { 0 } else { s.saturating_add(1) };
            }
            if j < j1 {
                let o = &mut down[(j - j0) * nx..(j - j0 + 1) * nx];
                for (o, &s) in o.iter_mut().zip(&since) {
                    *o = *o || s <= r;
                }
            }
        }
        down
    });
    *mask = out.concat();
}
