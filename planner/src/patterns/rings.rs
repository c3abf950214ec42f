//! Inset rings: the loops a spacing apart inside the region, and one spiral turn blended
//! from one ring onto the next.

use geo::algorithm::buffer::{BufferStyle, LineJoin};
use geo::{Buffer, Coord, MultiPolygon, Simplify};

use crate::sweep::fast_len;

/// Inset loops at `first_m` from the boundary, then every spacing inwards, grouped by depth
/// (outer first), at most `max_depths` of them. Each loop is a ring (not closed), simplified
/// to a quarter spacing.
pub(super) fn inset_loops(
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
pub(super) fn spiral_turn(outer: &[Coord], inner: &mut [Coord], out: &mut Vec<Coord>) {
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
