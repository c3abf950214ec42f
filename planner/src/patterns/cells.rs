//! One pass of parallel transects ([`Sweep`]): its pieces grouped into boustrophedon cells,
//! and the tour over the cells of one or more passes.

use crate::area::Area;
use crate::sweep::{FreeSpace, Rings, Rot, Segment, Uv, transects};

use super::Gen;

/// Boustrophedon cells: runs of pieces on consecutive lines where each piece overlaps exactly
/// one piece on the next line and that piece exactly one on this line. A cell is flown as one
/// zigzag; cells split and merge where a bay or a hole splits the lines. Returns the pieces of
/// every cell (line order) as ranges of `order`.
fn cells(segs: &[Segment], lines: &[(usize, usize)]) -> (Vec<usize>, Vec<(usize, usize)>) {
    const NONE: usize = usize::MAX;
    let n = segs.len();
    // Per piece: overlapping pieces on the next line (count, the last one) and on the previous.
    let mut down = vec![(0u32, NONE); n];
    let mut up = vec![(0u32, NONE); n];
    for w in lines.windows(2) {
        let ((a0, a1), (b0, b1)) = (w[0], w[1]);
        let (mut i, mut j) = (a0, b0);
        while i < a1 && j < b1 {
            let (s, t) = (&segs[i], &segs[j]);
            if t.u0 <= s.u1 && t.u1 >= s.u0 {
                down[i] = (down[i].0 + 1, j);
                up[j] = (up[j].0 + 1, i);
            }
            if s.u1 < t.u1 {
                i += 1;
            } else {
                j += 1;
            }
        }
    }
    let mut cell_of = vec![NONE; n];
    let mut members: Vec<Vec<usize>> = Vec::new();
    for i in 0..n {
        let (cnt, above) = up[i];
        let c = if cnt == 1 && down[above].0 == 1 {
            cell_of[above]
        } else {
            members.push(Vec::new());
            members.len() - 1
        };
        cell_of[i] = c;
        members[c].push(i);
    }
    let mut order = Vec::with_capacity(n);
    let mut ranges = Vec::with_capacity(members.len());
    for m in members {
        let s = order.len();
        order.extend(m);
        ranges.push((s, order.len()));
    }
    (order, ranges)
}

/// One pass of parallel transects: its pieces grouped into cells, and the free space (and
/// no-fly zones) in its rotated frame for straight connectors and routes.
#[derive(Clone)]
pub(super) struct Sweep {
    pub(super) bearing_deg: f64,
    pub(super) rot: Rot,
    pub(super) segs: Vec<Segment>,
    /// Piece indices grouped by cell; `cells` are ranges of it.
    pub(super) order: Vec<usize>,
    pub(super) cells: Vec<(usize, usize)>,
    pub(super) first_line: u32,
    pub(super) last_line: u32,
    /// Lines that have pieces: (v, pieces' index range), in increasing `v`.
    pub(super) lines: Vec<(f64, usize, usize)>,
    /// Metres between its lines.
    pub(super) spacing_m: f64,
    pub(super) fs: FreeSpace,
    pub(super) nf: Option<FreeSpace>,
}

impl Sweep {
    pub(super) fn new(area: &Area, g: &Gen, bearing_deg: f64) -> Self {
        let rot = Rot::new(bearing_deg);
        let rings = Rings::from_multipolygon(area.free_local(), rot);
        let anchor = g.grid_anchor_v.unwrap_or_else(|| rings.v_range().0);
        let spacing_m = g.spacing_m;
        // The transects and their cells on one core, the free-space indexes on the other.
        let ((segs, lines, order, cells), (fs, nf)) = crate::par::join(
            || {
                let mut segs = Vec::new();
                let nlines = transects(&rings, spacing_m, anchor, &mut segs);
                let mut lines = vec![(0usize, 0usize); nlines];
                let mut i = 0;
                while i < segs.len() {
                    let l = segs[i].line as usize;
                    let s = i;
                    while i < segs.len() && segs[i].line as usize == l {
                        i += 1;
                    }
                    if l < nlines {
                        lines[l] = (s, i);
                    }
                }
                let (order, cells) = cells(&segs, &lines);
                (segs, lines, order, cells)
            },
            || {
                let fs = FreeSpace::new(rings.clone(), g.spacing_m);
                let nf = (!area.no_fly_local().0.is_empty()).then(|| {
                    FreeSpace::new(
                        Rings::from_multipolygon(area.no_fly_local(), rot),
                        g.spacing_m,
                    )
                });
                (fs, nf)
            },
        );
        let nonempty = lines
            .iter()
            .filter(|&&(s, e)| e > s)
            .map(|&(s, e)| (segs[s].v, s, e))
            .collect();
        Self {
            bearing_deg,
            rot,
            first_line: segs.first().map_or(0, |s| s.line),
            last_line: segs.last().map_or(0, |s| s.line),
            segs,
            order,
            cells,
            lines: nonempty,
            spacing_m,
            fs,
            nf,
        }
    }

    /// End of piece `i` in the rotated frame.
    pub(super) fn end_uv(&self, i: usize, at_u0: bool) -> Uv {
        self.segs[i].end(at_u0).0
    }

    /// End of piece `i` in local metres (as a `Uv` for the tour's distances).
    pub(super) fn end_local(&self, i: usize, at_u0: bool) -> Uv {
        let c = self.rot.inv(self.end_uv(i, at_u0));
        Uv { u: c.x, v: c.y }
    }
}

/// One cell in the tour: of sweep `sweep`, flown from its first line down (`up == false`) or
/// from its last line up, entering its first piece at the `u0` end when `at_u0`.
#[derive(Debug, Clone, Copy)]
pub(super) struct Visit {
    pub(super) sweep: usize,
    pub(super) cell: usize,
    pub(super) up: bool,
    pub(super) at_u0: bool,
}

/// The cells of all sweeps in flying order: the first is the one with an entry on the first
/// or last line of the first sweep nearest to `reference`, then a greedy nearest-entry tour
/// improved by [`crate::tour::improve`] (2-opt: reversing a run of the tour flies each of its
/// cells the other way; or-opt; each cell's starting side). Distances are straight lines in local metres;
/// connectors are routed later. A crosshatch's cells of both passes share one tour.
pub(super) fn cell_tour(sweeps: &[Sweep], reference: Uv, search: bool) -> Vec<Visit> {
    let ends = |x: Visit| {
        let sw = &sweeps[x.sweep];
        let (s, e) = sw.cells[x.cell];
        let odd = (e - s) % 2 == 1;
        let (a, b) = if x.up {
            (sw.order[e - 1], sw.order[s])
        } else {
            (sw.order[s], sw.order[e - 1])
        };
        (sw.end_local(a, x.at_u0), sw.end_local(b, x.at_u0 ^ odd))
    };
    let reverse = |x: Visit| {
        let (s, e) = sweeps[x.sweep].cells[x.cell];
        Visit {
            up: !x.up,
            at_u0: x.at_u0 ^ ((e - s) % 2 == 1),
            ..x
        }
    };
    // Every cell's four entries (first line downwards or last line upwards, either end).
    let mut entries: Vec<(Uv, Visit, bool)> = Vec::new();
    for (k, sw) in sweeps.iter().enumerate() {
        for (c, &(s, e)) in sw.cells.iter().enumerate() {
            for up in [false, true] {
                let i = if up { sw.order[e - 1] } else { sw.order[s] };
                let line = sw.segs[i].line;
                let may_start = k == 0 && (line == sw.first_line || line == sw.last_line);
                for at_u0 in [true, false] {
                    let x = Visit {
                        sweep: k,
                        cell: c,
                        up,
                        at_u0,
                    };
                    entries.push((sw.end_local(i, at_u0), x, may_start));
                }
            }
        }
    }
    let ncells: usize = sweeps.iter().map(|sw| sw.cells.len()).sum();
    let mut tour: Vec<Visit> = Vec::with_capacity(ncells);
    let mut pos = reference;
    let d2 = |a: Uv, b: Uv| (a.u - b.u) * (a.u - b.u) + (a.v - b.v) * (a.v - b.v);
    // The first cell: the nearest entry allowed to start (the first of equal ones).
    let mut best: Option<(f64, usize)> = None;
    for (e, &(p, _, may_start)) in entries.iter().enumerate() {
        let d = d2(pos, p);
        if may_start && best.is_none_or(|(bd, _)| d < bd) {
            best = Some((d, e));
        }
    }
    // Then the nearest entry of a cell not flown yet (the first of equal ones), found in a
    // grid of the entries. A cell's four entries are consecutive in `entries`.
    let mut grid = EntryGrid::new(&entries);
    while let Some((_, e)) = best {
        let x = entries[e].1;
        let cell0 = e & !3;
        for (k, &(p, ..)) in entries.iter().enumerate().skip(cell0).take(4) {
            grid.remove(k, p);
        }
        pos = ends(x).1;
        tour.push(x);
        best = grid.nearest(pos, &entries);
    }
    let flip = |x: Visit| Visit {
        at_u0: !x.at_u0,
        ..x
    };
    if search {
        crate::tour::improve(&mut tour, reference, None, &ends, &reverse, Some(&flip));
    }
    tour
}

/// The entries of [`cell_tour`] in buckets of a square grid, for nearest-entry queries.
struct EntryGrid {
    u0: f64,
    v0: f64,
    size: f64,
    nu: usize,
    nv: usize,
    buckets: Vec<Vec<u32>>,
}

impl EntryGrid {
    fn new(entries: &[(Uv, Visit, bool)]) -> Self {
        let (lo, hi) = Uv::bounds(entries.iter().map(|&(p, ..)| p));
        // About two entries per bucket.
        let (w, h) = ((hi.u - lo.u).max(1e-3), (hi.v - lo.v).max(1e-3));
        let buckets_wanted = (entries.len() / 2).max(1) as f64;
        let size = (w * h / buckets_wanted)
            .sqrt()
            .max(w / 1024.0)
            .max(h / 1024.0);
        let nu = (w / size).floor() as usize + 1;
        let nv = (h / size).floor() as usize + 1;
        let mut g = Self {
            u0: lo.u,
            v0: lo.v,
            size,
            nu,
            nv,
            buckets: vec![Vec::new(); nu * nv],
        };
        for (e, (p, ..)) in entries.iter().enumerate() {
            let b = g.bucket(*p);
            g.buckets[b].push(e as u32);
        }
        g
    }

    fn cell(&self, p: Uv) -> (usize, usize) {
        let clamp = |x: f64, n: usize| {
            if x.is_nan() || x < 0.0 {
                0
            } else {
                (x as usize).min(n - 1)
            }
        };
        (
            clamp(((p.u - self.u0) / self.size).floor(), self.nu),
            clamp(((p.v - self.v0) / self.size).floor(), self.nv),
        )
    }

    fn bucket(&self, p: Uv) -> usize {
        let (cu, cv) = self.cell(p);
        cv * self.nu + cu
    }

    fn remove(&mut self, e: usize, p: Uv) {
        let b = self.bucket(p);
        if let Some(k) = self.buckets[b].iter().position(|&x| x as usize == e) {
            self.buckets[b].swap_remove(k);
        }
    }

    /// The entry nearest to `q` by squared distance, the first in `entries` of equal ones.
    fn nearest(&self, q: Uv, entries: &[(Uv, Visit, bool)]) -> Option<(f64, usize)> {
        let d2 = |a: Uv, b: Uv| (a.u - b.u) * (a.u - b.u) + (a.v - b.v) * (a.v - b.v);
        let (cu, cv) = self.cell(q);
        let mut best: Option<(f64, usize)> = None;
        let reach = cu.max(self.nu - 1 - cu).max(cv).max(self.nv - 1 - cv);
        for r in 0..=reach {
            let (u_lo, u_hi) = (cu.saturating_sub(r), (cu + r).min(self.nu - 1));
            let (v_lo, v_hi) = (cv.saturating_sub(r), (cv + r).min(self.nv - 1));
            for bv in v_lo..=v_hi {
                let on_ring_v = bv + r == cv || bv == cv + r;
                for bu in u_lo..=u_hi {
                    if !on_ring_v && bu + r != cu && bu != cu + r {
                        continue;
                    }
                    for &e in &self.buckets[bv * self.nu + bu] {
                        let e = e as usize;
                        let d = d2(q, entries[e].0);
                        if best.is_none_or(|(bd, be)| d.total_cmp(&bd).then(e.cmp(&be)).is_lt()) {
                            best = Some((d, e));
                        }
                    }
                }
            }
            // Entries outside the rings searched are at least `gap` away.
            let side = |covered: bool, d: f64| if covered { f64::INFINITY } else { d };
            let r = r as f64;
            let gap = side(
                cu as f64 - r <= 0.0,
                q.u - (self.u0 + (cu as f64 - r) * self.size),
            )
            .min(side(
                cu as f64 + r >= (self.nu - 1) as f64,
                self.u0 + (cu as f64 + r + 1.0) * self.size - q.u,
            ))
            .min(side(
                cv as f64 - r <= 0.0,
                q.v - (self.v0 + (cv as f64 - r) * self.size),
            ))
            .min(side(
                cv as f64 + r >= (self.nv - 1) as f64,
                self.v0 + (cv as f64 + r + 1.0) * self.size - q.v,
            ));
            if let Some((bd, _)) = best
                && gap > 0.0
                && gap * gap > bd * (1.0 + 1e-9) + 1e-9
            {
                break;
            }
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_grid_finds_the_first_nearest_entry() {
        // Pseudo-random entries (with duplicates for ties), removed one cell at a time.
        let mut seed = 12_345u64;
        let mut rnd = || {
            seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
            (seed >> 11) as f64 / (1u64 << 53) as f64
        };
        let x = Visit {
            sweep: 0,
            cell: 0,
            up: false,
            at_u0: true,
        };
        let mut entries: Vec<(Uv, Visit, bool)> = Vec::new();
        for k in 0..400 {
            let p = if k % 7 == 3 {
                entries[k - 1].0
            } else {
                Uv {
                    u: rnd() * 3_000.0 - 500.0,
                    v: rnd() * 800.0,
                }
            };
            entries.push((p, x, false));
        }
        let mut grid = EntryGrid::new(&entries);
        let mut alive = vec![true; entries.len()];
        for step in 0..100 {
            let q = Uv {
                u: rnd() * 4_000.0 - 1_000.0,
                v: rnd() * 1_200.0 - 200.0,
            };
            let d2 = |a: Uv, b: Uv| (a.u - b.u) * (a.u - b.u) + (a.v - b.v) * (a.v - b.v);
            let mut want: Option<(f64, usize)> = None;
            for (e, (p, ..)) in entries.iter().enumerate() {
                let d = d2(q, *p);
                if alive[e] && want.is_none_or(|(bd, _)| d < bd) {
                    want = Some((d, e));
                }
            }
            assert_eq!(grid.nearest(q, &entries), want, "step {step}");
            let Some((_, e)) = want else { break };
            for (k, &(p, ..)) in entries.iter().enumerate().skip(e & !3).take(4) {
                grid.remove(k, p);
                alive[k] = false;
            }
        }
    }
}
