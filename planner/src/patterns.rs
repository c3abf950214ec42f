//! Pattern generation in the local frame: lawnmower (automatic angle), crosshatch, perimeter
//! loops, inward spiral and expanding square. Output is the survey path (camera on) as local
//! points; the mission items around it are added by [`crate::plan`].

use geo::algorithm::buffer::{BufferStyle, LineJoin};
use geo::{Buffer, Coord, MultiPolygon, Simplify};

use std::sync::atomic::{AtomicU64, Ordering};

use crate::area::Area;
use crate::sweep::{CostEdges, FreeSpace, Rings, Rot, Segment, Uv, dist, fast_len, transects};

/// One straight-transect pass: its bearing and the index ranges of the path that fly it (a
/// crosshatch's tour may interleave the cells of its two passes).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pass {
    pub bearing_deg: f64,
    pub runs: Vec<(usize, usize)>,
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

impl SurveyPath {
    /// Length of the path, metres.
    pub fn length_m(&self) -> f64 {
        self.points
            .windows(2)
            .map(|w| fast_len(w[1].x - w[0].x, w[1].y - w[0].y))
            .sum()
    }
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
/// Each score is one pass over the edges ([`CostEdges`]). With `crosshatch` a bearing's score
/// is that of both passes (`b` and `b + 90°`).
pub(crate) fn best_bearing_deg(region: &MultiPolygon, g: &Gen, crosshatch: bool) -> f64 {
    bearing_candidates_deg(region, g, crosshatch)
        .first()
        .map_or(0.0, |c| c.bearing_deg)
}

/// How far above the best estimate a bearing still counts as a near tie: the estimate does
/// not see how the pieces join, which moves the flown length by more than this.
const NEAR_TIE: f64 = 0.02;

/// A bearing worth generating, with the estimated number of transect pieces of its pattern
/// (both passes of a crosshatch): what generating it costs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Candidate {
    pub bearing_deg: f64,
    pub pieces: f64,
}

/// The best bearing of [`best_bearing_deg`] first, then up to [`MAX_CANDIDATES`] − 1 other
/// bearings scored on the exact boundary whose estimate is within [`NEAR_TIE`] of it, best
/// first: the plan flies whichever of them gives the shortest path.
pub(crate) fn bearing_candidates_deg(
    region: &MultiPolygon,
    g: &Gen,
    crosshatch: bool,
) -> Vec<Candidate> {
    let per_piece_m = g.spacing_m + 2.0 * g.turnaround_m + g.turn_cost_m;
    let (edges, coarse_edges) = crate::par::join(
        || CostEdges::new(region, 0.0),
        || CostEdges::new(region, g.spacing_m * 2.0),
    );
    // (cost, pieces) of a bearing.
    let score = |e: &CostEdges, b: f64| {
        let (len, pieces) = e.lawnmower_terms(Rot::new(b), g.spacing_m);
        let (len, pieces) = if crosshatch {
            let (len2, pieces2) = e.lawnmower_terms(Rot::new(b + 90.0), g.spacing_m);
            (len + len2, pieces + pieces2)
        } else {
            (len, pieces)
        };
        (len + pieces * per_piece_m, pieces)
    };
    // Every batch of bearings is scored on two cores (`par::map`), then folded in order.
    let mut exact: Vec<(f64, f64, f64)> = Vec::new();
    // The best so far: (cost, bearing, pieces).
    let mut eval_all = |bs: &[f64], best: &mut (f64, f64, f64)| {
        // A bearing scored in an earlier batch is not scored again (it was already weighed).
        let bs: Vec<f64> = bs
            .iter()
            .copied()
            .filter(|b| !exact.iter().any(|e| e.1.to_bits() == b.to_bits()))
            .collect();
        let scores = crate::par::map(&bs, |&b| score(&edges, b));
        for (&b, (c, pieces)) in bs.iter().zip(scores) {
            exact.push((c, b, pieces));
            if c < best.0 - 1e-9 {
                *best = (c, b, pieces);
            }
        }
    };
    let mut candidates: Vec<f64> = (0..36).map(|k| f64::from(k) * 5.0).collect();
    {
        // The region's hull edges (the exact edges' hull is the region's).
        for w in edges.hull().windows(2) {
            let b = (w[1].x - w[0].x)
                .atan2(w[1].y - w[0].y)
                .to_degrees()
                .rem_euclid(180.0);
            candidates.push((b * 2.0).round() / 2.0);
        }
    }
    candidates.sort_by(f64::total_cmp);
    candidates.dedup();
    let coarse = crate::par::map(&candidates, |&b| score(&coarse_edges, b).0);
    let mut scored: Vec<(f64, f64)> = coarse.into_iter().zip(candidates).collect();
    // Stable: equal scores keep the smaller bearing first.
    scored.sort_by(|x, y| x.0.total_cmp(&y.0));
    let mut best = (f64::INFINITY, 0.0, 0.0);
    let mut finalists: Vec<f64> = scored.iter().take(3).map(|&(_, b)| b).collect();
    finalists.sort_by(f64::total_cmp);
    eval_all(&finalists, &mut best);
    for step in [1.0, 0.25] {
        let centre = best.1;
        let around: Vec<f64> = (-4..=4)
            .filter(|&k| k != 0)
            .map(|k| (centre + f64::from(k) * step).rem_euclid(180.0))
            .collect();
        eval_all(&around, &mut best);
    }
    exact.sort_by(|x, y| x.0.total_cmp(&y.0).then(x.1.total_cmp(&y.1)));
    let mut out = vec![Candidate {
        bearing_deg: best.1,
        pieces: best.2,
    }];
    let apart = |out: &[Candidate], b: f64| {
        out.iter().all(|a| {
            let d = (a.bearing_deg - b).rem_euclid(180.0);
            d.min(180.0 - d) > 0.1
        })
    };
    for &(c, b, pieces) in &exact {
        if out.len() >= MAX_CANDIDATES || c > best.0 * (1.0 + NEAR_TIE) {
            break;
        }
        if apart(&out, b) {
            out.push(Candidate {
                bearing_deg: b,
                pieces,
            });
        }
    }
    out
}

/// Bearings whose paths are generated to pick the shortest (see [`bearing_candidates_deg`]).
const MAX_CANDIDATES: usize = 8;

// --- lawnmower ------------------------------------------------------------------------------

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
struct Sweep {
    bearing_deg: f64,
    rot: Rot,
    segs: Vec<Segment>,
    /// Piece indices grouped by cell; `cells` are ranges of it.
    order: Vec<usize>,
    cells: Vec<(usize, usize)>,
    first_line: u32,
    last_line: u32,
    /// Lines that have pieces: (v, pieces' index range), in increasing `v`.
    lines: Vec<(f64, usize, usize)>,
    /// Metres between its lines.
    spacing_m: f64,
    fs: FreeSpace,
    nf: Option<FreeSpace>,
}

impl Sweep {
    fn new(area: &Area, g: &Gen, bearing_deg: f64) -> Self {
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
    fn end_uv(&self, i: usize, at_u0: bool) -> Uv {
        self.segs[i].end(at_u0).0
    }

    /// End of piece `i` in local metres (as a `Uv` for the tour's distances).
    fn end_local(&self, i: usize, at_u0: bool) -> Uv {
        let c = self.rot.inv(self.end_uv(i, at_u0));
        Uv { u: c.x, v: c.y }
    }
}

/// One cell in the tour: of sweep `sweep`, flown from its first line down (`up == false`) or
/// from its last line up, entering its first piece at the `u0` end when `at_u0`.
#[derive(Debug, Clone, Copy)]
struct Visit {
    sweep: usize,
    cell: usize,
    up: bool,
    at_u0: bool,
}

/// The cells of all sweeps in flying order: the first is the one with an entry on the first
/// or last line of the first sweep nearest to `reference`, then a greedy nearest-entry tour
/// improved by [`crate::tour::improve`] (2-opt: reversing a run of the tour flies each of its
/// cells the other way; or-opt; each cell's starting side). Distances are straight lines in local metres;
/// connectors are routed later. A crosshatch's cells of both passes share one tour.
fn cell_tour(sweeps: &[Sweep], reference: Uv, search: bool) -> Vec<Visit> {
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

/// Flies the sweeps' cells in the order of [`cell_tour`]: connectors between neighbouring
/// lines of one sweep fly straight when clear (with the turnarounds), others are routed
/// inside the region (in the frame of the sweep they lead to). Appends to `path`, with one
/// [`Pass`] per sweep.
fn fly_sweeps(sweeps: &[Sweep], g: &Gen, start_near: Option<Coord>, path: &mut SurveyPath) {
    if let Some(tours) = plan_tours(sweeps, start_near) {
        fly_tours(sweeps, g, &tours, path);
    }
}

/// A piece in a tour: (sweep, piece, entered at `u0`).
type TourPiece = (usize, usize, bool);

/// The candidate tours of [`fly_sweeps`], before they are flown.
struct PassTours {
    /// The cells' tour, the piece-level search from it and (small passes) the design's
    /// nearest-piece tour improved the same way.
    tours: Vec<Vec<TourPiece>>,
    /// Per tour, the straight length from each of its pieces on ([`straight_suffix`]).
    suffixes: Vec<Vec<f64>>,
    /// Tour indices by straight length, least first (the first of equal ones first).
    by_bound: Vec<usize>,
    /// The connectors of every tour's legs, worked out before the flights.
    cache: Connectors,
}

impl PassTours {
    /// Where the path ends if the tour with the least straight length is the one kept (it
    /// usually is): the exit of its last piece, exactly as the flight puts it.
    fn likely_end(&self, sweeps: &[Sweep]) -> Option<Coord> {
        let &(k, i, at_u0) = self.tours.get(*self.by_bound.first()?)?.last()?;
        Some(sweeps[k].rot.inv(sweeps[k].end_uv(i, !at_u0)))
    }
}

/// Where a tour over the sweeps starts from: `start_near`, else the first piece's first end
/// (local metres); `None` without pieces.
fn tour_reference(sweeps: &[Sweep], start_near: Option<Coord>) -> Option<Uv> {
    match (start_near, sweeps.first()) {
        (Some(c), _) => Some(Uv { u: c.x, v: c.y }),
        (None, Some(sw)) if !sw.segs.is_empty() => Some(sw.end_local(0, true)),
        _ => None,
    }
}

/// A piece's (entry, exit) in local metres.
fn piece_ends(sweeps: &[Sweep], (k, i, a): TourPiece) -> (Uv, Uv) {
    (sweeps[k].end_local(i, a), sweeps[k].end_local(i, !a))
}

/// The pieces of a cells' tour in flying order.
fn cell_pieces(sweeps: &[Sweep], tour: &[Visit]) -> Vec<TourPiece> {
    let mut seq: Vec<TourPiece> = Vec::new();
    for x in tour {
        let sw = &sweeps[x.sweep];
        let (s, e) = sw.cells[x.cell];
        let mut at_u0 = x.at_u0;
        let mut push = |i: usize| {
            seq.push((x.sweep, i, at_u0));
            at_u0 = !at_u0;
        };
        if x.up {
            sw.order[s..e].iter().rev().for_each(|&i| push(i));
        } else {
            sw.order[s..e].iter().for_each(|&i| push(i));
        }
    }
    seq
}

/// The search over single pieces ([`crate::tour::improve`]) of `seq` from `reference`, held
/// to end at `end` if given.
fn piece_search(
    sweeps: &[Sweep],
    reference: Uv,
    end: Option<Uv>,
    seq: &[TourPiece],
) -> Vec<TourPiece> {
    let mut by_pieces = seq.to_vec();
    crate::tour::improve(
        &mut by_pieces,
        reference,
        end,
        &|x| piece_ends(sweeps, x),
        &|(k, i, a): TourPiece| (k, i, !a),
        None,
    );
    by_pieces
}

/// Candidate tours ready to fly: their straight lengths, their order and their connectors.
fn pass_tours(sweeps: &[Sweep], tours: Vec<Vec<TourPiece>>) -> PassTours {
    let suffixes: Vec<Vec<f64>> = tours
        .iter()
        .map(|t| straight_suffix(t, &|x| piece_ends(sweeps, x)))
        .collect();
    let mut by_bound: Vec<usize> = (0..tours.len()).collect();
    by_bound.sort_by(|&a, &b| suffixes[a][0].total_cmp(&suffixes[b][0]));
    let cache = Connectors::for_tours(sweeps, &tours);
    PassTours {
        tours,
        suffixes,
        by_bound,
        cache,
    }
}

/// The candidate tours over the sweeps' pieces from `start_near` (else the first piece's
/// first end), see [`NEAREST_MAX_PIECES`]; `None` without pieces.
fn plan_tours(sweeps: &[Sweep], start_near: Option<Coord>) -> Option<PassTours> {
    let reference = tour_reference(sweeps, start_near)?;
    let cells_then_pieces =
        |search: bool| cell_pieces(sweeps, &cell_tour(sweeps, reference, search));
    // The same search over single pieces may split a cell where that is shorter in straight
    // lines, but its connectors may need longer routes: the shorter flown path is kept.
    let improved = |seq: &[TourPiece]| piece_search(sweeps, reference, None, seq);
    let pieces: usize = sweeps.iter().map(|sw| sw.segs.len()).sum();
    if pieces > NEAREST_MAX_PIECES {
        // A large pass: the piece-level search from the cells' greedy tour alone (the cells'
        // own search, which the piece-level one would have to wait for, and the design's
        // nearest-piece tour never gave the shorter path on such a pass).
        return Some(pass_tours(
            sweeps,
            vec![improved(&cells_then_pieces(false))],
        ));
    }
    // The cells' tour (and the piece-level search from it) here, the design's nearest-piece
    // tour (and the same search) on the other core.
    let ((seq, by_pieces), nearest) = crate::par::join(
        || {
            let seq = cells_then_pieces(true);
            let by_pieces = improved(&seq);
            (seq, by_pieces)
        },
        || improved(&nearest_piece_tour(sweeps, reference)),
    );
    Some(pass_tours(sweeps, vec![seq, by_pieces, nearest]))
}

/// Flies the candidate tours and keeps the shortest flown (see [`fly_sweeps`]): shortest in
/// straight lines first (on the cores there are), a flight dropped as soon as what it has
/// flown plus the straight length of the rest (a lower bound: connectors only get longer when
/// routed or extended by the turnarounds) exceeds the shortest flown so far, so it could not
/// have been kept. Flights side by side may see a larger "shortest" and drop later, never a
/// tour that could be kept: the choice is the same. The connectors come from the table of
/// [`Connectors::for_tours`].
fn fly_tours(sweeps: &[Sweep], g: &Gen, t: &PassTours, path: &mut SurveyPath) {
    let (tours, suffixes, by_bound, cache) = (&t.tours, &t.suffixes, &t.by_bound, &t.cache);
    // The shortest length flown so far, as the bits of a non-negative f64 (ordered as the
    // values are, so `fetch_min` keeps the least).
    let shortest = AtomicU64::new(f64::INFINITY.to_bits());
    let flights = crate::par::map(by_bound, |&k| {
        let mut alt = path.clone();
        fly_pieces(
            sweeps,
            g,
            &tours[k],
            &suffixes[k],
            &shortest,
            cache,
            &mut alt,
        )
        .then(|| {
            let l = alt.length_m();
            shortest.fetch_min(l.to_bits(), Ordering::AcqRel);
            (k, l, alt)
        })
    });
    let mut flown: Vec<Option<(f64, SurveyPath)>> = vec![None; tours.len()];
    for (k, l, alt) in flights.into_iter().flatten() {
        flown[k] = Some((l, alt));
    }
    // The first tour (in the order above) unless a later one is shorter: a dropped flight is
    // longer than a kept one, so this is the choice among all of them flown in full.
    let mut best: Option<(f64, SurveyPath)> = None;
    for f in flown.into_iter().flatten() {
        if best.as_ref().is_none_or(|(l, _)| f.0 < l - 1e-6) {
            best = Some(f);
        }
    }
    if let Some((_, p)) = best {
        *path = p;
    }
}

/// `out[n]`: the straight length of the tour's pieces from the `n`-th on, with the straight
/// connectors between them (`out[len]` is 0).
fn straight_suffix(
    tour: &[(usize, usize, bool)],
    ends: &impl Fn((usize, usize, bool)) -> (Uv, Uv),
) -> Vec<f64> {
    let mut out = vec![0.0; tour.len() + 1];
    let mut next_entry: Option<Uv> = None;
    for (n, &x) in tour.iter().enumerate().rev() {
        let (a, b) = ends(x);
        out[n] = out[n + 1] + dist(a, b) + next_entry.map_or(0.0, |e| dist(b, e));
        next_entry = Some(a);
    }
    out
}

/// How one piece end joins the next: straight between neighbouring lines (with the
/// turnarounds), or a route inside the region (`None`: none found, flown straight).
#[derive(Debug, Clone)]
enum Connector {
    Straight,
    Routed(Option<Vec<Uv>>),
}

/// The connectors of every candidate tour, by (sweep, piece, entered at `u0`) of both
/// pieces: the tours share most of them, so each is worked out once, all of them side by side
/// on the cores there are before any flight (a shared cache filled during the flights
/// serialised them on its lock).
struct Connectors {
    /// Sorted, without repeats.
    keys: Vec<ConnectorKey>,
    conns: Vec<Connector>,
}

impl Connectors {
    /// The connectors of every leg of `tours`, each worked out once.
    fn for_tours(sweeps: &[Sweep], tours: &[Vec<TourPiece>]) -> Self {
        let mut legs: Vec<(ConnectorKey, TourPiece, TourPiece)> = tours
            .iter()
            .flat_map(|t| {
                t.windows(2)
                    .map(|w| (connector_key(w[0], w[1]), w[0], w[1]))
            })
            .collect();
        legs.sort_unstable_by_key(|l| l.0);
        legs.dedup_by_key(|l| l.0);
        let conns = crate::par::map(&legs, |&(_, a, b)| connector(sweeps, a, b));
        Self {
            keys: legs.into_iter().map(|l| l.0).collect(),
            conns,
        }
    }

    fn get(&self, key: ConnectorKey) -> Option<&Connector> {
        self.keys
            .binary_search(&key)
            .ok()
            .and_then(|i| self.conns.get(i))
    }
}

/// (sweep, piece, entered at `u0`) of the piece left, then of the piece joined.
type ConnectorKey = (u32, bool, u32, u32, bool, u32);

fn connector_key(a: TourPiece, b: TourPiece) -> ConnectorKey {
    (a.0 as u32, a.2, a.1 as u32, b.0 as u32, b.2, b.1 as u32)
}

/// Greedy tour over the pieces of all sweeps: from `start`, the nearest end of an unvisited
/// piece, flown whole. Each sweep's lines are searched outwards from the current position
/// across them, stopping once a line is farther than the best end found.
fn nearest_piece_tour(sweeps: &[Sweep], start: Uv) -> Vec<TourPiece> {
    let mut visited: Vec<Vec<bool>> = sweeps.iter().map(|sw| vec![false; sw.segs.len()]).collect();
    let mut left: Vec<Vec<usize>> = sweeps
        .iter()
        .map(|sw| sw.lines.iter().map(|&(_, s, e)| e - s).collect())
        .collect();
    let total: usize = sweeps.iter().map(|sw| sw.segs.len()).sum();
    let mut out = Vec::with_capacity(total);
    let mut pos = start;
    for _ in 0..total {
        // (distance, sweep, line slot, piece, entered at u0)
        let mut best: Option<(f64, usize, usize, usize, bool)> = None;
        for (k, sw) in sweeps.iter().enumerate() {
            let q = sw.rot.fwd(Coord { x: pos.u, y: pos.v });
            let mid = sw.lines.partition_point(|l| l.0 < q.v);
            let mut below = mid; // next slot below is below - 1
            let mut above = mid;
            loop {
                let bd = best.map_or(f64::INFINITY, |b| b.0);
                let dn = (below > 0).then(|| q.v - sw.lines[below - 1].0);
                let up = (above < sw.lines.len()).then(|| sw.lines[above].0 - q.v);
                let slot = match (dn, up) {
                    (Some(a), Some(b)) if a <= b && a <= bd => {
                        below -= 1;
                        below
                    }
                    (Some(_), Some(b)) if b <= bd => {
                        above += 1;
                        above - 1
                    }
                    (Some(a), None) if a <= bd => {
                        below -= 1;
                        below
                    }
                    (None, Some(b)) if b <= bd => {
                        above += 1;
                        above - 1
                    }
                    _ => break,
                };
                if left[k][slot] == 0 {
                    continue;
                }
                let (_, s, e) = sw.lines[slot];
                for (i, _) in visited[k][s..e].iter().enumerate().filter(|(_, v)| !**v) {
                    let i = s + i;
                    for at_u0 in [true, false] {
                        let d = dist(q, sw.end_uv(i, at_u0));
                        if best.is_none_or(|b| d < b.0) {
                            best = Some((d, k, slot, i, at_u0));
                        }
                    }
                }
            }
        }
        let Some((_, k, slot, i, at_u0)) = best else {
            break;
        };
        visited[k][i] = true;
        left[k][slot] -= 1;
        pos = sweeps[k].end_local(i, !at_u0);
        out.push((k, i, at_u0));
    }
    out
}

/// How piece `from` (sweep, piece, entered at `u0`) joins piece `to`: straight between
/// neighbouring lines of one sweep when clear, else routed inside the region (in the frame
/// of the sweep it leads to).
fn connector(
    sweeps: &[Sweep],
    (k, idx, at_u0): (usize, usize, bool),
    (nk, nj, n_u0): (usize, usize, bool),
) -> Connector {
    let (sw, tw) = (&sweeps[k], &sweeps[nk]);
    let (s, t) = (sw.segs[idx], tw.segs[nj]);
    // A piece entered at `u0` is left at `u1`.
    let (exit, exit_edge) = s.end(!at_u0);
    let (entry, entry_edge) = t.end(n_u0);
    let adjacent = nk == k && (i64::from(t.line) - i64::from(s.line)).abs() == 1;
    if adjacent && sw.fs.clear(exit, entry) {
        Connector::Straight
    } else {
        let exit_there = tw.rot.fwd(sw.rot.inv(exit));
        Connector::Routed(tw.fs.route(exit_there, exit_edge, entry, entry_edge))
    }
}

/// Appends the pieces in the order `seq` (sweep, piece, entered at `u0`) to `path`, with the
/// connectors, and one [`Pass`] per sweep. Gives up (returns `false`, `path` unfinished) once
/// the path's length plus `rest[n]` (a lower bound of the rest from the `n`-th piece's entry,
/// see [`straight_suffix`]) exceeds `limit`.
fn fly_pieces(
    sweeps: &[Sweep],
    g: &Gen,
    seq: &[(usize, usize, bool)],
    rest: &[f64],
    shortest: &AtomicU64,
    cache: &Connectors,
    path: &mut SurveyPath,
) -> bool {
    let first_pass = path.passes.len();
    path.passes.extend(sweeps.iter().map(|sw| Pass {
        bearing_deg: sw.bearing_deg,
        runs: Vec::new(),
    }));
    let extend = |sw: &Sweep, p: Uv, edge: u32, along: f64| -> Uv {
        if g.turnaround_m <= 0.0 || !sw.fs.edge_is_outer(edge) {
            return p;
        }
        let q = Uv {
            u: p.u + along * g.turnaround_m,
            v: p.v,
        };
        if sw.nf.as_ref().is_some_and(|nf| nf.enters(p, q)) {
            p
        } else {
            q
        }
    };
    let Some(&(k0, i0, a0)) = seq.first() else {
        return true;
    };
    let mut run_start = path.points.len();
    // The first entry is not extended: the path starts on the boundary.
    path.points
        .push(sweeps[k0].rot.inv(sweeps[k0].end_uv(i0, a0)));
    // Length of path.points[..=measured].
    let mut measured = 0;
    let mut so_far = 0.0;
    for (n, &(k, idx, at_u0)) in seq.iter().enumerate() {
        let pts = &path.points;
        for w in pts[measured..].windows(2) {
            so_far += fast_len(w[1].x - w[0].x, w[1].y - w[0].y);
        }
        measured = pts.len() - 1;
        // The margin covers the rounding of the two sums.
        let best = f64::from_bits(shortest.load(Ordering::Acquire));
        let limit = best + 1e-3 + best * 1e-9;
        if so_far + rest.get(n).copied().unwrap_or(0.0) > limit {
            return false;
        }
        let sw = &sweeps[k];
        let s = sw.segs[idx];
        // Left at the other end, heading on along the line (towards +u when entered at u0).
        let (exit, exit_edge) = s.end(!at_u0);
        let along = if at_u0 { 1.0 } else { -1.0 };
        let Some(&(nk, nj, n_u0)) = seq.get(n + 1) else {
            path.points.push(sw.rot.inv(exit));
            break;
        };
        let tw = &sweeps[nk];
        let t = tw.segs[nj];
        // Entered from before that end (from -u when entered at u0).
        let (entry, entry_edge) = t.end(n_u0);
        let n_along = if n_u0 { -1.0 } else { 1.0 };
        let (from, to) = ((k, idx, at_u0), (nk, nj, n_u0));
        let made;
        let conn = if let Some(c) = cache.get(connector_key(from, to)) {
            c
        } else {
            made = connector(sweeps, from, to);
            &made
        };
        if let Connector::Straight = *conn {
            let a = extend(sw, exit, exit_edge, along);
            let b = extend(sw, entry, entry_edge, n_along);
            path.points.push(sw.rot.inv(a));
            if dist(a, b) > 1e-9 {
                path.points.push(sw.rot.inv(b));
            }
            if dist(b, entry) > 1e-9 {
                path.points.push(sw.rot.inv(entry));
            }
        } else {
            path.points.push(sw.rot.inv(exit));
            // A new run of the next sweep starts at this exit.
            let end = path.points.len();
            path.passes[first_pass + k].runs.push((run_start, end));
            run_start = end - 1;
            match conn {
                Connector::Routed(Some(via)) => {
                    path.points.extend(via.iter().map(|&q| tw.rot.inv(q)));
                }
                _ => path.unrouted += 1,
            }
            path.points.push(tw.rot.inv(entry));
        }
    }
    let k_last = seq.last().map_or(0, |&(k, ..)| k);
    path.passes[first_pass + k_last]
        .runs
        .push((run_start, path.points.len()));
    for pass in &mut path.passes[first_pass..] {
        pass.runs.dedup();
    }
    true
}

/// Lawnmower: one pass at the given or best bearing.
pub(crate) fn lawnmower(area: &Area, g: &Gen, bearing_deg: f64) -> SurveyPath {
    let mut path = SurveyPath::default();
    let sweep = Sweep::new(area, g, bearing_deg);
    fly_sweeps(std::slice::from_ref(&sweep), g, g.home, &mut path);
    into_corners(&sweep, path)
}

/// The lawnmower's transect ends reach into the corners (see [`crate::corners`]).
fn into_corners(sweep: &Sweep, path: SurveyPath) -> SurveyPath {
    let lines_v: Vec<f64> = sweep.lines.iter().map(|&(v, ..)| v).collect();
    crate::corners::reach_into_corners(path, &sweep.fs, sweep.rot, &lines_v, sweep.spacing_m)
}

/// Lawnmower at the chosen bearing flown from the best corner (see [`fly_from_best_corner`]).
pub(crate) fn lawnmower_from_best_corner(area: &Area, g: &Gen, bearing_deg: f64) -> SurveyPath {
    let mut path = SurveyPath::default();
    let sweep = Sweep::new(area, g, bearing_deg);
    fly_from_best_corner(&sweep, g, &mut path);
    into_corners(&sweep, path)
}

/// Passes with at most this many pieces fly three candidate tours (the cells' search, the
/// piece-level search from it, the design's nearest-piece tour searched the same way) and
/// keep the shortest; larger passes fly the piece-level search from the cells' greedy tour
/// alone, which came out shortest on every large reference pass, in about a third of the time.
const NEAREST_MAX_PIECES: usize = 600;

/// Passes with at most this many pieces and no home try every corner to start from.
pub(crate) const FREE_START_PIECES: usize = 200;

/// Flies one sweep from home, or without a home (the crew may take off anywhere) from the
/// corner of the first or last line that gives the shortest path: where a small area's path
/// starts changes how its pieces join (the first corner on equal lengths; the same transects,
/// so the same coverage). Larger passes start at the first line's first end, where the
/// difference is a small share.
fn fly_from_best_corner(sweep: &Sweep, g: &Gen, path: &mut SurveyPath) {
    let sweeps = std::slice::from_ref(sweep);
    let lines = &sweep.lines;
    let (Some(&(_, _, f1)), Some(&(_, l0, l1))) = (lines.first(), lines.last()) else {
        fly_sweeps(sweeps, g, g.home, path);
        return;
    };
    if g.home.is_some() || sweep.segs.len() > FREE_START_PIECES {
        fly_sweeps(sweeps, g, g.home, path);
        return;
    }
    let corner = |i: usize, at_u0: bool| {
        let p = sweep.end_local(i, at_u0);
        Some(Coord { x: p.u, y: p.v })
    };
    let starts = [
        None,
        corner(f1 - 1, false),
        corner(l0, true),
        corner(l1 - 1, false),
    ];
    let tries = crate::par::map(&starts, |&start| {
        let mut p = path.clone();
        fly_sweeps(sweeps, g, start, &mut p);
        (p.length_m(), p)
    });
    let mut best: Option<(f64, SurveyPath)> = None;
    for (len, p) in tries {
        if best.as_ref().is_none_or(|(l, _)| len < l - 1e-6) {
            best = Some((len, p));
        }
    }
    if let Some((_, p)) = best {
        *path = p;
    }
}

/// Crosshatch passes with at most this many pieces in all are also flown as one tour.
const INTERLEAVE_MAX_PIECES: usize = 400;

/// Crosshatch: transects at the bearing, then at +90° starting nearest to where the first
/// pass ended; for a small area (up to [`INTERLEAVE_MAX_PIECES`] pieces) also the design's
/// order, one tour over the cells of both passes, as a second variant. That tour's survey
/// path is shorter, but its sorties end farther from where they start (up to +14 % flight on
/// the reference areas): the caller keeps the variant with the shorter mission.
pub(crate) fn crosshatch(area: &Area, g: &Gen, bearing_deg: f64) -> Vec<SurveyPath> {
    let (first, second) = crate::par::join(
        || Sweep::new(area, g, bearing_deg),
        || Sweep::new(area, g, (bearing_deg + 90.0).rem_euclid(180.0)),
    );
    if first.segs.len() + second.segs.len() > INTERLEAVE_MAX_PIECES {
        return vec![passes_in_turn(&first, &second, g)];
    }
    let (in_turn, interleaved) = crate::par::join(
        || passes_in_turn(&first, &second, g),
        || {
            let mut path = SurveyPath::default();
            fly_sweeps(&[first.clone(), second.clone()], g, g.home, &mut path);
            path
        },
    );
    vec![in_turn, interleaved]
}

/// The first pass, then the second from where the first ended, joined inside the region
/// (two large passes: planned side by side, see [`passes_side_by_side`]).
fn passes_in_turn(first: &Sweep, second: &Sweep, g: &Gen) -> SurveyPath {
    if first.segs.len() > NEAREST_MAX_PIECES
        && second.segs.len() > NEAREST_MAX_PIECES
        && let Some(path) = passes_side_by_side(first, second, g)
    {
        return path;
    }
    let mut path = SurveyPath::default();
    let firsts = std::slice::from_ref(first);
    let second_from = |start: Option<Coord>| {
        let mut rest = SurveyPath::default();
        fly_sweeps(std::slice::from_ref(second), g, start.or(g.home), &mut rest);
        rest
    };
    let Some(tours) = plan_tours(firsts, g.home) else {
        return second_from(None);
    };
    // The second pass starts where the first ends, which is known once the first's tours are
    // flown; it is planned meanwhile from where the first most likely ends, and again in the
    // rare case the first ends elsewhere (the same path either way).
    let guess = tours.likely_end(firsts);
    let ((), guessed) = crate::par::join(
        || fly_tours(firsts, g, &tours, &mut path),
        || second_from(guess),
    );
    let end = path.points.last().copied();
    let same = |a: Option<Coord>, b: Option<Coord>| {
        a.map(|c| (c.x.to_bits(), c.y.to_bits())) == b.map(|c| (c.x.to_bits(), c.y.to_bits()))
    };
    let rest = if same(end, guess) {
        guessed
    } else {
        second_from(end)
    };
    append_pass(&mut path, rest, second);
    path
}

/// Appends the second pass's path `rest` to `path`, joined inside the region from the first's
/// end to the second's start.
fn append_pass(path: &mut SurveyPath, rest: SurveyPath, second: &Sweep) {
    if let (Some(p), Some(q)) = (path.points.last().copied(), rest.points.first().copied()) {
        let (pu, qu) = (second.rot.fwd(p), second.rot.fwd(q));
        let fs = &second.fs;
        match fs.route(pu, fs.nearest_edge(pu), qu, fs.nearest_edge(qu)) {
            Some(via) => path
                .points
                .extend(via.into_iter().map(|x| second.rot.inv(x))),
            None => path.unrouted += 1,
        }
    }
    let offset = path.points.len();
    path.points.extend(rest.points);
    path.unrouted += rest.unrouted;
    for mut pass in rest.passes {
        for r in &mut pass.runs {
            r.0 += offset;
            r.1 += offset;
        }
        path.passes.push(pass);
    }
}

/// Two large passes flown in turn, planned side by side: the first pass's greedy tour over
/// its cells gives where it ends; the first pass's piece-level search (held to end there)
/// and the second pass's whole planning from there run on two cores. `None` without pieces.
fn passes_side_by_side(first: &Sweep, second: &Sweep, g: &Gen) -> Option<SurveyPath> {
    let (firsts, seconds) = (std::slice::from_ref(first), std::slice::from_ref(second));
    let reference = tour_reference(firsts, g.home)?;
    let greedy = cell_pieces(firsts, &cell_tour(firsts, reference, false));
    let junction = piece_ends(firsts, *greedy.last()?).1;
    let (tours, rest) = crate::par::join(
        || {
            pass_tours(
                firsts,
                vec![piece_search(firsts, reference, Some(junction), &greedy)],
            )
        },
        || {
            let mut rest = SurveyPath::default();
            let start = Coord {
                x: junction.u,
                y: junction.v,
            };
            fly_sweeps(seconds, g, Some(start), &mut rest);
            rest
        },
    );
    let mut path = SurveyPath::default();
    fly_tours(firsts, g, &tours, &mut path);
    append_pass(&mut path, rest, second);
    Some(path)
}

// --- perimeter and spiral -------------------------------------------------------------------

/// Inset loops at `first_m` from the boundary, then every spacing inwards, grouped by depth
/// (outer first), at most `max_depths` of them. Each loop is a ring (not closed), simplified
/// to a quarter spacing.
fn inset_loops(
    region: &MultiPolygon,
    spacing_m: f64,
    first_m: f64,
    max_depths: usize,
) -> Vec<Vec<Vec<Coord>>> {
    let style = |d: f64| BufferStyle::new(-d).line_join(LineJoin::Miter(2.0));
    let mut cur = region.buffer_with_style(style(first_m));
    let mut depths = Vec::new();
    while !cur.0.is_empty() && depths.len() < max_depths.min(100_000) {
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
        if depths.len() >= max_depths {
            break;
        }
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

/// How many perimeter loops to fly, and how far in the first one lies.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LoopSpec {
    /// Inset of the first loop from the boundary (and from each hole), metres.
    pub first_m: f64,
    /// Most loops (depths) flown; `usize::MAX` flies them until the area is covered.
    pub max_depths: usize,
}

/// Perimeter (closed loops, as many as `spec` says) or spiral (`spec` ignored: half a spacing
/// in, until covered). The spiral flies the outermost ring, then blends each ring into the
/// next inset one while the insets stay a single ring (one turn per spacing, no connector) and
/// closes the innermost; where the insets split (bays, holes) it flies the pieces as open
/// loops joined inwards.
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
    let depths = inset_loops(area.free_local(), g.spacing_m, first_m, max_depths);
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
    if !closed {
        // A spiral's blended turn cuts from one ring to the next: where that leaves the area
        // (a bay, a hole, a no-fly zone), the leg is routed inside as connectors are.
        path = routed_inside(&fs, rot, path);
        if spiral_inward {
            return path;
        }
        // Outward (the design's "outward expanding"): the same rings from the centre out.
        path.points.reverse();
    }
    path
}

/// `path` without its points outside the flyable region (a blended turn between rings of very
/// different lengths can cut across a bay) and with every leg that leaves the region replaced
/// by a route inside it.
fn routed_inside(fs: &FreeSpace, rot: Rot, path: SurveyPath) -> SurveyPath {
    let mut out = SurveyPath {
        points: Vec::with_capacity(path.points.len()),
        ..path
    };
    let mut prev: Option<Coord> = None;
    for &p in &path.points {
        if !fs.inside(rot.fwd(p)) {
            continue;
        }
        if let Some(last) = prev {
            let (a, b) = (rot.fwd(last), rot.fwd(p));
            if !fs.clear(a, b) {
                match fs.route_any(a, b) {
                    Some(via) => out.points.extend(via.into_iter().map(|q| rot.inv(q))),
                    // No route to this point: go on from the last one to the next.
                    None => continue,
                }
            }
        }
        prev = Some(p);
        out.points.push(p);
    }
    out
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
    use aviary_core::LatLon;

    fn rect_area(w_deg: f64, h_deg: f64) -> Area {
        let (lat, lon) = (37.0, -122.0);
        crate::area::from_ring(vec![
            LatLon::new(lat, lon),
            LatLon::new(lat, lon + w_deg),
            LatLon::new(lat + h_deg, lon + w_deg),
            LatLon::new(lat + h_deg, lon),
        ])
    }

    /// Perimeter loops from half a spacing in until covered.
    #[expect(non_snake_case, reason = "reads as the constant it stands for")]
    fn FILL(spacing_m: f64) -> LoopSpec {
        LoopSpec {
            first_m: spacing_m / 2.0,
            max_depths: usize::MAX,
        }
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
        let b = best_bearing_deg(a.free_local(), &params(20.0), false);
        assert!((b - 90.0).abs() < 1.0, "{b}");
        let a = rect_area(0.002, 0.02);
        let b = best_bearing_deg(a.free_local(), &params(20.0), false);
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
        let p = loops(&a, &params(spacing), false, FILL(spacing), true);
        let ext: Vec<Coord> = a.free_local().0[0].exterior().0.clone();
        let depth = |c: Coord| {
            ext.windows(2)
                .map(|w| crate::frame::point_segment_distance_m(c, w[0], w[1]))
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

    #[test]
    fn perimeter_loops_shrink_inwards() {
        let a = rect_area(0.005, 0.005);
        let p = loops(&a, &params(50.0), true, FILL(50.0), false);
        assert!(p.points.len() > 10);
        let s = expanding_square(&a, &params(50.0), Coord { x: 0.0, y: 0.0 });
        assert!(s.points.len() > 8);
    }
}
