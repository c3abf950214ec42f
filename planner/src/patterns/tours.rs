//! Flying the pieces of one or more passes: the candidate tours over them, their connectors
//! (straight between neighbouring lines, else routed inside the region) and the shortest
//! flown path.

use std::sync::atomic::{AtomicU64, Ordering};

use geo::Coord;

use super::cells::{Sweep, Visit, cell_tour};
use super::{Gen, Pass, SurveyPath};
use crate::sweep::{Uv, dist, fast_len};

/// Flies the sweeps' cells in the order of [`cell_tour`]: connectors between neighbouring
/// lines of one sweep fly straight when clear (with the turnarounds), others are routed
/// inside the region (in the frame of the sweep they lead to). Appends to `path`, with one
/// [`Pass`] per sweep.
pub(super) fn fly_sweeps(
    sweeps: &[Sweep],
    g: &Gen,
    start_near: Option<Coord>,
    path: &mut SurveyPath,
) {
    if let Some(tours) = plan_tours(sweeps, start_near) {
        fly_tours(sweeps, g, &tours, path);
    }
}

/// A piece in a tour: (sweep, piece, entered at `u0`).
pub(super) type TourPiece = (usize, usize, bool);

/// The candidate tours of [`fly_sweeps`], before they are flown.
pub(super) struct PassTours {
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
    pub(super) fn likely_end(&self, sweeps: &[Sweep]) -> Option<Coord> {
        let &(k, i, at_u0) = self.tours.get(*self.by_bound.first()?)?.last()?;
        Some(sweeps[k].rot.inv(sweeps[k].end_uv(i, !at_u0)))
    }
}

/// Where a tour over the sweeps starts from: `start_near`, else the first piece's first end
/// (local metres); `None` without pieces.
pub(super) fn tour_reference(sweeps: &[Sweep], start_near: Option<Coord>) -> Option<Uv> {
    match (start_near, sweeps.first()) {
        (Some(c), _) => Some(Uv { u: c.x, v: c.y }),
        (None, Some(sw)) if !sw.segs.is_empty() => Some(sw.end_local(0, true)),
        _ => None,
    }
}

/// A piece's (entry, exit) in local metres.
pub(super) fn piece_ends(sweeps: &[Sweep], (k, i, a): TourPiece) -> (Uv, Uv) {
    (sweeps[k].end_local(i, a), sweeps[k].end_local(i, !a))
}

/// The pieces of a cells' tour in flying order.
pub(super) fn cell_pieces(sweeps: &[Sweep], tour: &[Visit]) -> Vec<TourPiece> {
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
pub(super) fn piece_search(
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
pub(super) fn pass_tours(sweeps: &[Sweep], tours: Vec<Vec<TourPiece>>) -> PassTours {
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
pub(super) fn plan_tours(sweeps: &[Sweep], start_near: Option<Coord>) -> Option<PassTours> {
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
pub(super) fn fly_tours(sweeps: &[Sweep], g: &Gen, t: &PassTours, path: &mut SurveyPath) {
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

/// Passes with at most this many pieces fly three candidate tours (the cells' search, the
/// piece-level search from it, the design's nearest-piece tour searched the same way) and
/// keep the shortest; larger passes fly the piece-level search from the cells' greedy tour
/// alone, which came out shortest on every large reference pass, in about a third of the time.
pub(super) const NEAREST_MAX_PIECES: usize = 600;
