//! Ear-clipping triangulation of simple polygons, for filled land areas and survey polygons
//! (egui fills only convex paths).

/// Triangulates a simple polygon (no self-intersections, any winding, not closed) given as
/// `(x, y)` points. Returns vertex index triples. Degenerate input gives fewer triangles,
/// never a panic.
#[expect(
    clippy::many_single_char_names,
    reason = "triangle corners a, b, c and indices read like the textbook"
)]
pub fn triangulate(points: &[[f64; 2]]) -> Vec<[u32; 3]> {
    let n = points.len();
    if n < 3 {
        return Vec::new();
    }
    let area2: f64 = (0..n)
        .map(|i| {
            let (a, b) = (points[i], points[(i + 1) % n]);
            a[0] * b[1] - b[0] * a[1]
        })
        .sum();
    let ccw = area2 > 0.0;
    let mut idx: Vec<u32> = (0..n as u32).collect();
    let mut out = Vec::with_capacity(n - 2);
    let mut since_ear = 0usize;
    let mut i = 0usize;
    while idx.len() > 3 {
        let m = idx.len();
        let (ia, ib, ic) = (idx[(i + m - 1) % m], idx[i % m], idx[(i + 1) % m]);
        let (a, b, c) = (
            points[ia as usize],
            points[ib as usize],
            points[ic as usize],
        );
        let cross = (b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]);
        let convex = if ccw { cross > 0.0 } else { cross < 0.0 };
        let is_ear = convex
            && !idx.iter().any(|&j| {
                j != ia && j != ib && j != ic && inside_triangle(points[j as usize], a, b, c)
            });
        if is_ear {
            out.push([ia, ib, ic]);
            idx.remove(i % m);
            i = i.saturating_sub(1);
            since_ear = 0;
        } else if since_ear >= m {
            // A full turn without an ear: the ring is degenerate here (collinear or
            // self-touching); drop the vertex and go on.
            idx.remove(i % m);
            since_ear = 0;
        } else {
            i = (i + 1) % m;
            since_ear += 1;
        }
    }
    if idx.len() == 3 {
        out.push([idx[0], idx[1], idx[2]]);
    }
    out
}

fn inside_triangle(p: [f64; 2], a: [f64; 2], b: [f64; 2], c: [f64; 2]) -> bool {
    let d1 = sign(p, a, b);
    let d2 = sign(p, b, c);
    let d3 = sign(p, c, a);
    let neg = d1 < 0.0 || d2 < 0.0 || d3 < 0.0;
    let pos = d1 > 0.0 || d2 > 0.0 || d3 > 0.0;
    !(neg && pos)
}

fn sign(p1: [f64; 2], p2: [f64; 2], p3: [f64; 2]) -> f64 {
    (p1[0] - p3[0]) * (p2[1] - p3[1]) - (p2[0] - p3[0]) * (p1[1] - p3[1])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn area(points: &[[f64; 2]], tris: &[[u32; 3]]) -> f64 {
        tris.iter()
            .map(|t| {
                let (a, b, c) = (
                    points[t[0] as usize],
                    points[t[1] as usize],
                    points[t[2] as usize],
                );
                ((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0])).abs() / 2.0
            })
            .sum()
    }

    #[test]
    fn concave_l_shape_in_both_windings() {
        let l = [
            [0.0, 0.0],
            [2.0, 0.0],
            [2.0, 1.0],
            [1.0, 1.0],
            [1.0, 2.0],
            [0.0, 2.0],
        ];
        let t = triangulate(&l);
        assert_eq!(t.len(), 4);
        assert!((area(&l, &t) - 3.0).abs() < 1e-9);
        let mut r = l;
        r.reverse();
        let t = triangulate(&r);
        assert!((area(&r, &t) - 3.0).abs() < 1e-9);
    }

    #[test]
    fn degenerate_input_does_not_panic() {
        assert!(triangulate(&[[0.0, 0.0], [1.0, 1.0]]).is_empty());
        let line = [[0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [3.0, 0.0]];
        let _ = triangulate(&line);
    }
}
