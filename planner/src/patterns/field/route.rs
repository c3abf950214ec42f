//! Connectors through the field's grid, for where the region's own router gives up.

use geo::Coord;

use super::Field;

/// The search's memory, kept between routes: one entry per grid node, reset after each route
/// on the nodes it reached (a fresh grid-sized array per route cost more than most searches).
#[derive(Default)]
pub(in crate::patterns) struct RouteScratch {
    prev: Vec<u32>,
    /// Cost from the start, in cells (diagonal √2), of each node reached.
    cost: Vec<f32>,
    reached: Vec<usize>,
}

/// A node on the search's frontier, as one integer: ordered by the least estimated whole
/// length (the heap is a max-heap), ties by the least node, for a result that does not depend
/// on the heap's internals. The estimate's bits are mapped to keep `f32::total_cmp`'s order.
fn open_key(est: f32, id: usize) -> u64 {
    let b = est.to_bits();
    let ordered = if b >> 31 == 1 { !b } else { b | 0x8000_0000 };
    !((u64::from(ordered) << 32) | id as u64)
}

/// The estimate and node of a frontier entry.
fn open_entry(key: u64) -> (f32, usize) {
    let key = !key;
    let ordered = (key >> 32) as u32;
    let b = if ordered >> 31 == 1 {
        ordered & 0x7fff_ffff
    } else {
        !ordered
    };
    (f32::from_bits(b), (key & 0xffff_ffff) as usize)
}

impl Field {
    /// A route from `a` to `b` through the grid's nodes at least `min_depth_m` deep (and three
    /// quarters of a cell, so a leg between neighbours stays inside; 8-connected A* search
    /// towards `b`, which visits little more than the way itself, then shortened by keeping only the points `clear` needs): for
    /// connectors the region's own router cannot find. `None` when the nodes near `a` or `b`
    /// are not that deep or no way joins them.
    pub fn route(
        &self,
        a: Coord,
        b: Coord,
        min_depth_m: f64,
        clear: impl Fn(Coord, Coord) -> bool,
        scratch: &mut RouteScratch,
    ) -> Option<Vec<Coord>> {
        let (nx, ny) = (self.nx, self.ny);
        if nx < 2 || ny < 2 {
            return None;
        }
        let floor_m = min_depth_m.max(0.75 * self.cell_m);
        let ok = |id: usize| self.depth[id] >= floor_m;
        let nearest = |p: Coord| -> Option<usize> {
            let i = ((p.x - self.x0) / self.cell_m).round();
            let j = ((p.y - self.y0) / self.cell_m).round();
            let mut best: Option<(f64, usize)> = None;
            for dj in -2i64..=2 {
                for di in -2i64..=2 {
                    let (ni, nj) = (i as i64 + di, j as i64 + dj);
                    if ni < 0 || nj < 0 || ni as usize >= nx || nj as usize >= ny {
                        continue;
                    }
                    let id = nj as usize * nx + ni as usize;
                    let q = self.node(ni as usize, nj as usize);
                    let d = (q.x - p.x).hypot(q.y - p.y);
                    if ok(id) && clear(p, q) && best.is_none_or(|(bd, _)| d < bd) {
                        best = Some((d, id));
                    }
                }
            }
            best.map(|(_, id)| id)
        };
        let (sa, sb) = (nearest(a)?, nearest(b)?);
        if scratch.prev.len() != nx * ny {
            scratch.prev = vec![u32::MAX; nx * ny];
            scratch.cost = vec![f32::INFINITY; nx * ny];
        }
        let RouteScratch {
            prev,
            cost,
            reached,
        } = scratch;
        let (bi, bj) = ((sb % nx) as f32, (sb / nx) as f32);
        // Octile distance to the goal, in cells: never more than the way left.
        let to_goal = |id: usize| {
            let dx = ((id % nx) as f32 - bi).abs();
            let dy = ((id / nx) as f32 - bj).abs();
            dx.max(dy) + (std::f32::consts::SQRT_2 - 1.0) * dx.min(dy)
        };
        let mut open = std::collections::BinaryHeap::new();
        prev[sa] = sa as u32;
        cost[sa] = 0.0;
        reached.push(sa);
        open.push(open_key(to_goal(sa), sa));
        while let Some(key) = open.pop() {
            let (est, id) = open_entry(key);
            if id == sb {
                break;
            }
            let here = cost[id];
            if est > here + to_goal(id) + 1e-3 {
                // A stale entry: this node was reached more cheaply since.
                continue;
            }
            let (i, j) = ((id % nx) as i64, (id / nx) as i64);
            for (di, dj, step) in [
                (1, 0, 1.0),
                (-1, 0, 1.0),
                (0, 1, 1.0),
                (0, -1, 1.0),
                (1, 1, std::f32::consts::SQRT_2),
                (1, -1, std::f32::consts::SQRT_2),
                (-1, 1, std::f32::consts::SQRT_2),
                (-1, -1, std::f32::consts::SQRT_2),
            ] {
                let (ni, nj) = (i + di, j + dj);
                if ni < 0 || nj < 0 || ni as usize >= nx || nj as usize >= ny {
                    continue;
                }
                let n = nj as usize * nx + ni as usize;
                let c = here + step;
                if c < cost[n] && ok(n) {
                    if prev[n] == u32::MAX {
                        reached.push(n);
                    }
                    prev[n] = id as u32;
                    cost[n] = c;
                    open.push(open_key(c + to_goal(n), n));
                }
            }
        }
        let found = prev[sb] != u32::MAX;
        let mut chain = vec![b];
        if found {
            let mut id = sb;
            loop {
                chain.push(self.node(id % nx, id / nx));
                if id == sa {
                    break;
                }
                id = prev[id] as usize;
            }
        }
        for n in reached.drain(..) {
            prev[n] = u32::MAX;
            cost[n] = f32::INFINITY;
        }
        if !found {
            return None;
        }
        chain.push(a);
        chain.reverse();
        // Keep a point only where the straight leg past it is not clear.
        let mut out = Vec::new();
        let mut from = 0;
        while from + 1 < chain.len() {
            // The farthest point seen straight from `from`: galloping, then halving (a grid
            // path's visibility from one point is nearly monotone along it).
            let mut to = from + 1;
            let mut step = 1;
            while to + step < chain.len() && clear(chain[from], chain[to + step]) {
                to += step;
                step *= 2;
            }
            let mut beyond = (to + step).min(chain.len());
            while beyond - to > 1 {
                let mid = to + (beyond - to) / 2;
                if clear(chain[from], chain[mid]) {
                    to = mid;
                } else {
                    beyond = mid;
                }
            }
            if !clear(chain[from], chain[to]) {
                return None;
            }
            if to + 1 < chain.len() {
                out.push(chain[to]);
            }
            from = to;
        }
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::{open_entry, open_key};

    #[test]
    fn frontier_keys_order_like_the_estimates_then_the_nodes() {
        let ests = [
            0.0_f32,
            -0.0,
            1.0,
            1.5,
            2.0e-30,
            7.25,
            1e9,
            f32::INFINITY,
            -3.0,
        ];
        for &a in &ests {
            for &b in &ests {
                for (ia, ib) in [(3_usize, 5_usize), (5, 3), (4, 4), (0, 1_499_999)] {
                    // The heap pops the greatest: the least estimate, then the least node.
                    let want = b.total_cmp(&a).then_with(|| ib.cmp(&ia));
                    assert_eq!(
                        open_key(a, ia).cmp(&open_key(b, ib)),
                        want,
                        "{a} {ia} {b} {ib}"
                    );
                }
                assert_eq!(open_entry(open_key(a, 9)).0.to_bits(), a.to_bits());
                assert_eq!(open_entry(open_key(a, 9)).1, 9);
            }
        }
    }
}
