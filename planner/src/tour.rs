//! Local search over an open tour whose nodes have an entry and an exit (transect pieces,
//! boustrophedon cells): 2-opt (reversing a run flies each of its nodes the other way),
//! or-opt (a run of up to [`OR_MAX`] nodes moved elsewhere, either way round) and, where the
//! caller offers one, each node's other variant. A move can only shorten the tour if one of
//! its new edges is shorter than an edge it removes at the same end, so candidates come from
//! a grid of every end a node may show, queried within that edge's length: no window over
//! tour positions, however far apart in the tour the nodes of a move are. Nodes are looked
//! at again only when an edge at them changed (a queue of "don't look" bits). Deterministic:
//! the same tour in gives the same tour out.

use std::collections::VecDeque;

use crate::sweep::{Uv, dist};

/// Longest run or-opt moves.
const OR_MAX: usize = 3;
/// Smallest gain that counts as a shortening (metres).
const EPS_M: f64 = 1e-6;

/// The ends every node may show (both variants' ends where there is a `flip`) in a uniform
/// grid, for "every end closer than r" queries.
struct Ends {
    /// Per end: its point and node.
    pts: Vec<(Uv, u32)>,
    lo: Uv,
    size: f64,
    nu: usize,
    nv: usize,
    /// Ends by cell: `cells[c]..cells[c + 1]` index `items`.
    cells: Vec<u32>,
    items: Vec<u32>,
}

impl Ends {
    fn new(pts: Vec<(Uv, u32)>, spacing_hint_m: f64) -> Self {
        let (lo, hi) = Uv::bounds(pts.iter().map(|&(p, _)| p));
        let (w, h) = ((hi.u - lo.u).max(1e-9), (hi.v - lo.v).max(1e-9));
        // Cells of about the typical edge, at most ~4 cells per end.
        let size = spacing_hint_m
            .max((w * h / (4.0 * pts.len().max(1) as f64)).sqrt())
            .max(1e-6);
        let nu = ((w / size) as usize + 1).min(2048);
        let nv = ((h / size) as usize + 1).min(2048);
        let size = size.max(w / nu as f64).max(h / nv as f64);
        let mut g = Self {
            pts: Vec::new(),
            lo,
            size,
            nu,
            nv,
            cells: vec![0u32; nu * nv + 1],
            items: vec![0u32; pts.len()],
        };
        for (p, _) in &pts {
            let c = g.cell_of(*p);
            g.cells[c + 1] += 1;
        }
        for c in 1..g.cells.len() {
            g.cells[c] += g.cells[c - 1];
        }
        let mut fill = g.cells.clone();
        for (k, (p, _)) in pts.iter().enumerate() {
            let c = g.cell_of(*p);
            g.items[fill[c] as usize] = k as u32;
            fill[c] += 1;
        }
        g.pts = pts;
        g
    }

    fn cell_of(&self, p: Uv) -> usize {
        let cu = (((p.u - self.lo.u) / self.size).max(0.0) as usize).min(self.nu - 1);
        let cv = (((p.v - self.lo.v) / self.size).max(0.0) as usize).min(self.nv - 1);
        cv * self.nu + cu
    }

    /// Calls `f(end, its point)` for every end within `r` of `q` (cells in row order).
    fn within(&self, q: Uv, r: f64, mut f: impl FnMut(u32, Uv)) {
        if r.is_nan() || r <= 0.0 {
            return;
        }
        let cell = |x: f64, lo: f64, n: usize| {
            let c = ((x - lo) / self.size).floor();
            if c < 0.0 { 0 } else { (c as usize).min(n - 1) }
        };
        let (u0, u1) = (
            cell(q.u - r, self.lo.u, self.nu),
            cell(q.u + r, self.lo.u, self.nu),
        );
        let (v0, v1) = (
            cell(q.v - r, self.lo.v, self.nv),
            cell(q.v + r, self.lo.v, self.nv),
        );
        let r2 = r * r;
        for cv in v0..=v1 {
            let row = cv * self.nu;
            let (s, e) = (
                self.cells[row + u0] as usize,
                self.cells[row + u1 + 1] as usize,
            );
            for &k in &self.items[s..e] {
                let p = self.pts[k as usize].0;
                let (du, dv) = (p.u - q.u, p.v - q.v);
                if du * du + dv * dv < r2 {
                    f(k, p);
                }
            }
        }
    }
}

/// A move found by the search.
#[derive(Clone, Copy)]
enum Move {
    /// Reverse positions `i..=j`.
    Reverse(usize, usize),
    /// Move positions `s..=e` to just after position `after` (`None`: to the front), reversed
    /// when the flag says so.
    Shift(usize, usize, Option<usize>, bool),
    /// The other variant of the node at a position.
    Flip(usize),
}

struct Search<'a, T> {
    tour: &'a mut [T],
    start: Uv,
    /// Where the tour must end (after its last node), if anywhere.
    end: Option<Uv>,
    /// Per position: (entry, exit).
    pts: Vec<(Uv, Uv)>,
    /// Per position: node; per node: position.
    node: Vec<u32>,
    pos: Vec<u32>,
    nb: Ends,
}

impl<T: Copy> Search<'_, T> {
    fn n(&self) -> usize {
        self.tour.len()
    }

    /// Exit before position `k` (the start for `k == 0`).
    fn before(&self, k: usize) -> Uv {
        if k == 0 {
            self.start
        } else {
            self.pts[k - 1].1
        }
    }

    /// The entry after position `k - 1`: position `k`'s; past the end, the fixed end if any.
    fn entry(&self, k: usize) -> Option<Uv> {
        if k < self.n() {
            Some(self.pts[k].0)
        } else {
            self.end
        }
    }

    /// Length of the edge from the exit before position `k` (or the start) into position
    /// `k`; past the end, to the fixed end (0 without one).
    fn edge_into(&self, k: usize) -> f64 {
        self.entry(k).map_or(0.0, |x| dist(self.before(k), x))
    }

    /// Whether end `e` is the current exit (`true`) or entry (`false`) of its node, with the
    /// node's position.
    fn role(&self, e: u32) -> (usize, Option<bool>) {
        let (p, node) = self.nb.pts[e as usize];
        let k = self.pos[node as usize] as usize;
        let (en, ex) = self.pts[k];
        let role = if ex == p {
            Some(true)
        } else if en == p {
            Some(false)
        } else {
            None
        };
        (k, role)
    }

    /// The best 2-opt move that removes the edge into position `k`.
    fn best_reverse(&self, k: usize, best: &mut Option<(f64, Move)>) {
        let a = self.before(k);
        let en_k = self.pts[k].0;
        let old_in = dist(a, en_k);
        // Gain of reversing `i..=j` (`i ≤ j`).
        let gain = |i: usize, j: usize| {
            let before = self.before(i);
            let old = dist(before, self.pts[i].0) + self.edge_into(j + 1);
            let new = dist(before, self.pts[j].1)
                + self.entry(j + 1).map_or(0.0, |x| dist(self.pts[i].0, x));
            old - new
        };
        let mut consider = |g: f64, m: Move| {
            if g > EPS_M && best.is_none_or(|(b, _)| g > b) {
                *best = Some((g, m));
            }
        };
        // New edge from the exit before `k` to another node's exit.
        self.nb.within(a, old_in, |e, _| {
            let (p, role) = self.role(e);
            if role != Some(true) {
                return;
            }
            if p >= k {
                consider(gain(k, p), Move::Reverse(k, p));
            } else if p + 1 < k {
                consider(gain(p + 1, k - 1), Move::Reverse(p + 1, k - 1));
            }
        });
        // New edge from `k`'s entry to another node's entry.
        self.nb.within(en_k, old_in, |e, _| {
            let (p, role) = self.role(e);
            if role != Some(false) {
                return;
            }
            if p > k {
                consider(gain(k, p - 1), Move::Reverse(k, p - 1));
            } else if p < k {
                consider(gain(p, k - 1), Move::Reverse(p, k - 1));
            }
        });
    }

    /// The best or-opt move of the run `s..=e`.
    fn best_shift(&self, s: usize, e: usize, best: &mut Option<(f64, Move)>) {
        let (en_s, ex_e) = (self.pts[s].0, self.pts[e].1);
        let before = self.before(s);
        let removed = dist(before, en_s)
            + self
                .entry(e + 1)
                .map_or(0.0, |x| dist(ex_e, x) - dist(before, x));
        if removed <= EPS_M {
            return;
        }
        // Cost of inserting the run (ends `e0` in, `e1` out) after position `after`.
        let insert = |after: Option<usize>, e0: Uv, e1: Uv| {
            let from = after.map_or(self.start, |p| self.pts[p].1);
            let next = after.map_or(0, |p| p + 1);
            match self.entry(next) {
                Some(to) => dist(from, e0) + dist(e1, to) - dist(from, to),
                None => dist(from, e0),
            }
        };
        let mut consider = |after: Option<usize>, rev: bool| {
            // Not next to or inside the run itself.
            if let Some(p) = after {
                if p + 1 >= s && p <= e {
                    return;
                }
            } else if s == 0 {
                return;
            }
            let (e0, e1) = if rev { (ex_e, en_s) } else { (en_s, ex_e) };
            let g = removed - insert(after, e0, e1);
            if g > EPS_M && best.is_none_or(|(b, _)| g > b) {
                *best = Some((g, Move::Shift(s, e, after, rev)));
            }
        };
        for (x, x_is_entry) in [(en_s, true), (ex_e, false)] {
            self.nb.within(x, removed, |nb, _| {
                let (p, role) = self.role(nb);
                match (role, x_is_entry) {
                    // After an exit: the run's entry (forwards) or its exit (reversed) next.
                    (Some(true), true) => consider(Some(p), false),
                    (Some(true), false) => consider(Some(p), true),
                    // Before an entry: the run's exit (forwards) or its entry (reversed) next.
                    (Some(false), false) => consider(p.checked_sub(1), false),
                    (Some(false), true) => consider(p.checked_sub(1), true),
                    (None, _) => {}
                }
            });
        }
    }

    fn reverse_run(&mut self, i: usize, j: usize, reverse: &impl Fn(T) -> T) {
        self.tour[i..=j].reverse();
        self.pts[i..=j].reverse();
        self.node[i..=j].reverse();
        for k in i..=j {
            self.tour[k] = reverse(self.tour[k]);
            self.pts[k] = (self.pts[k].1, self.pts[k].0);
            self.pos[self.node[k] as usize] = k as u32;
        }
    }

    /// Carries out a move found by the search.
    fn apply(
        &mut self,
        m: Move,
        reverse: &impl Fn(T) -> T,
        flip: Option<&dyn Fn(T) -> T>,
        ends: &impl Fn(T) -> (Uv, Uv),
    ) {
        match m {
            Move::Reverse(i, j) => self.reverse_run(i, j, reverse),
            Move::Shift(s, e, after, rev) => {
                let len = e + 1 - s;
                let (lo, hi, at) = match after {
                    Some(p) if p > e => {
                        self.tour[s..=p].rotate_left(len);
                        self.pts[s..=p].rotate_left(len);
                        self.node[s..=p].rotate_left(len);
                        (s, p, p + 1 - len)
                    }
                    _ => {
                        let p0 = after.map_or(0, |p| p + 1);
                        self.tour[p0..=e].rotate_right(len);
                        self.pts[p0..=e].rotate_right(len);
                        self.node[p0..=e].rotate_right(len);
                        (p0, e, p0)
                    }
                };
                for k in lo..=hi {
                    self.pos[self.node[k] as usize] = k as u32;
                }
                if rev {
                    self.reverse_run(at, at + len - 1, reverse);
                }
            }
            Move::Flip(k) => {
                if let Some(flip) = flip {
                    self.tour[k] = flip(self.tour[k]);
                    self.pts[k] = ends(self.tour[k]);
                }
            }
        }
    }
}

/// Shortens an open tour that starts from `start` (and, if `end` is given, ends there) by
/// local search (see the module's header) until no move shortens it. `ends` gives a node's
/// (entry, exit), `reverse` the node flown the other way (entry and exit swapped), `flip` (if
/// any) its other variant.
pub(crate) fn improve<T: Copy>(
    tour: &mut [T],
    start: Uv,
    end: Option<Uv>,
    ends: &impl Fn(T) -> (Uv, Uv),
    reverse: &impl Fn(T) -> T,
    flip: Option<&dyn Fn(T) -> T>,
) {
    let n = tour.len();
    if n < 2 {
        return;
    }
    let pts: Vec<(Uv, Uv)> = tour.iter().map(|&x| ends(x)).collect();
    // Every end a node may show: its two ends, and its other variant's two.
    let ends_per_node = if flip.is_some() { 4 } else { 2 };
    let mut all = Vec::with_capacity(n * ends_per_node);
    for (k, &x) in tour.iter().enumerate() {
        let (a, b) = pts[k];
        all.push((a, k as u32));
        all.push((b, k as u32));
        if let Some(flip) = flip {
            let (c, d) = ends(flip(x));
            all.push((c, k as u32));
            all.push((d, k as u32));
        }
    }
    // Cells about as large as the tour's typical (median) edge.
    let mut edges: Vec<f64> = (1..n).map(|k| dist(pts[k - 1].1, pts[k].0)).collect();
    let mid = edges.len() / 2;
    let typical_m = if edges.is_empty() {
        0.0
    } else {
        *edges.select_nth_unstable_by(mid, f64::total_cmp).1
    };
    let nb = Ends::new(all, typical_m);
    let mut s = Search {
        tour,
        start,
        end,
        pts,
        node: (0..n as u32).collect(),
        pos: (0..n as u32).collect(),
        nb,
    };
    let mut queued = vec![true; n];
    let mut queue: VecDeque<u32> = (0..n as u32).collect();
    // A safety net against cycling on rounding: every move gains more than `EPS_M`, so the
    // search ends anyway; this only bounds the work.
    let mut budget = 200 * n + 1000;
    while let Some(node) = queue.pop_front() {
        queued[node as usize] = false;
        if budget == 0 {
            break;
        }
        budget -= 1;
        let k = s.pos[node as usize] as usize;
        let mut best: Option<(f64, Move)> = None;
        s.best_reverse(k, &mut best);
        for len in 1..=OR_MAX {
            if k + len <= n {
                s.best_shift(k, k + len - 1, &mut best);
            }
        }
        if let Some(flip) = flip {
            let before = s.before(k);
            let fp = ends(flip(s.tour[k]));
            let cost =
                |p: (Uv, Uv)| dist(before, p.0) + s.entry(k + 1).map_or(0.0, |x| dist(p.1, x));
            let g = cost(s.pts[k]) - cost(fp);
            if g > EPS_M && best.is_none_or(|(b, _)| g > b) {
                best = Some((g, Move::Flip(k)));
            }
        }
        let Some((_, m)) = best else {
            continue;
        };
        // The nodes at the edges the move changes: before and after it, its ends.
        let touched: [usize; 6] = match m {
            Move::Reverse(i, j) => [i.wrapping_sub(1), i, j, j + 1, n, n],
            Move::Shift(a, e, after, _) => {
                let p = after.map_or(usize::MAX, |p| p);
                [a.wrapping_sub(1), a, e, e + 1, p, p.wrapping_add(1)]
            }
            Move::Flip(k) => [k.wrapping_sub(1), k, k + 1, n, n, n],
        };
        let nodes = touched.map(|k| s.node.get(k).copied());
        s.apply(m, reverse, flip, ends);
        for x in nodes.into_iter().flatten() {
            if !queued[x as usize] {
                queued[x as usize] = true;
                queue.push_back(x);
            }
        }
    }
}
