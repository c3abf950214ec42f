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

/// A node on the search's frontier: ordered by the least estimated whole length (the heap is
/// a max-heap), ties by node for a result that does not depend on the heap's internals.
#[derive(PartialEq)]
struct Open {
    est: f32,
    id: usize,
}

impl Eq for Open {}

impl PartialOrd for Open {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Open {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        other
            .est
            .total_cmp(&self.est)
            .then_with(|| other.id.cmp(&self.id))
    }
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
        open.push(Open {
            est: to_goal(sa),
            id: sa,
        });
        while let Some(Open { est, id }) = open.pop() {
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
                    open.push(Open {
                        est: c + to_goal(n),
                        id: n,
                    });
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
