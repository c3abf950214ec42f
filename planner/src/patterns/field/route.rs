//! Connectors through the field's grid, for where the region's own router gives up.

use geo::Coord;

use super::Field;

impl Field {
    /// A route from `a` to `b` through the grid's nodes at least `min_depth_m` deep (and three
    /// quarters of a cell, so a leg between neighbours stays inside; 8-connected
    /// breadth-first search, then shortened by keeping only the points `clear` needs): for
    /// connectors the region's own router cannot find. `None` when the nodes near `a` or `b`
    /// are not that deep or no way joins them.
    pub fn route(
        &self,
        a: Coord,
        b: Coord,
        min_depth_m: f64,
        clear: impl Fn(Coord, Coord) -> bool,
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
        let mut prev = vec![u32::MAX; nx * ny];
        let mut queue = std::collections::VecDeque::new();
        prev[sa] = sa as u32;
        queue.push_back(sa);
        while let Some(id) = queue.pop_front() {
            if id == sb {
                break;
            }
            let (i, j) = ((id % nx) as i64, (id / nx) as i64);
            for (di, dj) in [
                (1, 0),
                (-1, 0),
                (0, 1),
                (0, -1),
                (1, 1),
                (1, -1),
                (-1, 1),
                (-1, -1),
            ] {
                let (ni, nj) = (i + di, j + dj);
                if ni < 0 || nj < 0 || ni as usize >= nx || nj as usize >= ny {
                    continue;
                }
                let n = nj as usize * nx + ni as usize;
                if prev[n] == u32::MAX && ok(n) {
                    prev[n] = id as u32;
                    queue.push_back(n);
                }
            }
        }
        if prev[sb] == u32::MAX {
            return None;
        }
        let mut chain = vec![b];
        let mut id = sb;
        loop {
            chain.push(self.node(id % nx, id / nx));
            if id == sa {
                break;
            }
            id = prev[id] as usize;
        }
        chain.push(a);
        chain.reverse();
        // Keep a point only where the straight leg past it is not clear.
        let mut out = Vec::new();
        let mut from = 0;
        while from + 1 < chain.len() {
            let mut to = from + 1;
            while to + 1 < chain.len() && clear(chain[from], chain[to + 1]) {
                to += 1;
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
