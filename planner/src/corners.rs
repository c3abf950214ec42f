//! Lawnmower transect ends that reach into the corners. A transect covers the band half a
//! spacing either side of its line, but only as far as the line runs: where the area goes on
//! past a transect's end within that band (a slanted edge, a concave corner of an L, the
//! side of a hole) and no connector passes there, a strip is left farther than half a
//! spacing from the path. There the path dips out along the band's middle to where the band
//! ends and comes back, inside the flyable region.

use geo::Coord;

use crate::patterns::SurveyPath;
use crate::sweep::{FreeSpace, Rot, Uv, dist};

/// A dip is flown only where the band runs on at least this share of a spacing past the end.
const MIN_GAIN: f64 = 0.25;
/// Where the dip turns back: this far from the boundary, metres (the band's end is on it).
const MARGIN_M: f64 = 0.1;

/// `path` (one pass of transects on the lines `lines_v` of the frame `rot`, `spacing_m`
/// apart) with a dip at every transect end whose band runs on past it uncovered; the pass's
/// runs follow the inserted points.
pub(crate) fn reach_into_corners(
    path: SurveyPath,
    fs: &FreeSpace,
    rot: Rot,
    lines_v: &[f64],
    spacing_m: f64,
) -> SurveyPath {
    let uv: Vec<Uv> = path.points.iter().map(|c| rot.fwd(*c)).collect();
    let n = uv.len();
    if n < 2 || spacing_m <= 0.0 {
        return path;
    }
    let on_line = |p: Uv| {
        let k = lines_v.partition_point(|&v| v < p.v - 1e-6);
        lines_v.get(k).is_some_and(|&v| (v - p.v).abs() <= 1e-6)
    };
    // Points inserted after point `i` (`before_first`: ahead of point 0).
    let mut after: Vec<Vec<Uv>> = vec![Vec::new(); n];
    let mut before_first: Vec<Uv> = Vec::new();
    for i in 0..n - 1 {
        let (a, b) = (uv[i], uv[i + 1]);
        if (a.v - b.v).abs() > 1e-6 || (a.u - b.u).abs() < 1e-6 || !on_line(a) {
            continue;
        }
        let dir = if b.u > a.u { 1.0 } else { -1.0 };
        // The exit end: dips after it, before the next point.
        if after[i + 1].is_empty() {
            let next = uv.get(i + 2).copied();
            let dips = band_ends(fs, b, dir, spacing_m, next);
            if !dips.is_empty() {
                let mut mid = Vec::new();
                for (c, q) in dips {
                    mid.extend([c, q, c, b]);
                }
                let to = next.unwrap_or(b);
                after[i + 1] = shortcut(fs, b, &mid, to);
            }
        }
        // The entry end: dips before it, after the previous point.
        let prev = i.checked_sub(1).map(|k| uv[k]);
        let slot_free = i.checked_sub(1).is_none_or(|k| after[k].is_empty());
        if slot_free {
            let dips = band_ends(fs, a, -dir, spacing_m, prev);
            if !dips.is_empty() {
                let mut mid = Vec::new();
                for (c, q) in dips {
                    mid.extend([a, c, q, c]);
                }
                let from = prev.unwrap_or(a);
                let pts = shortcut(fs, from, &mid, a);
                match i.checked_sub(1) {
                    Some(k) => after[k] = pts,
                    None => before_first = pts,
                }
            }
        }
    }
    if before_first.is_empty() && after.iter().all(Vec::is_empty) {
        return path;
    }
    let mut new_index = Vec::with_capacity(n);
    let mut points: Vec<Coord> = before_first.iter().map(|&q| rot.inv(q)).collect();
    for (i, p) in path.points.iter().enumerate() {
        new_index.push(points.len());
        points.push(*p);
        points.extend(after[i].iter().map(|&q| rot.inv(q)));
    }
    let remap = |(s, e): (usize, usize)| {
        let s2 = if s == 0 { 0 } else { new_index[s] };
        let e2 = if e == 0 {
            0
        } else if e >= n {
            points.len()
        } else {
            new_index[e - 1] + 1 + after[e - 1].len()
        };
        (s2, e2)
    };
    let passes = path
        .passes
        .iter()
        .map(|p| crate::patterns::Pass {
            bearing_deg: p.bearing_deg,
            runs: p.runs.iter().map(|&r| remap(r)).collect(),
        })
        .collect();
    SurveyPath {
        points,
        passes,
        unrouted: path.unrouted,
    }
}

/// For the transect end `e` (the line runs on towards `-dir` from it), the half bands either
/// side of the line that run on past `e` by more than [`MIN_GAIN`] spacings where `neighbour`
/// (the path's point joined to `e` by a connector) does not already reach: for each, the
/// point above `e` on the band's middle and the point where that middle ends.
fn band_ends(
    fs: &FreeSpace,
    e: Uv,
    dir: f64,
    spacing_m: f64,
    neighbour: Option<Uv>,
) -> Vec<(Uv, Uv)> {
    let mut out = Vec::new();
    let half = spacing_m / 2.0;
    for side in [-1.0, 1.0] {
        let v = e.v + side * half * 0.999;
        let c = Uv { u: e.u, v };
        if !fs.inside(c) {
            continue;
        }
        // Along the band's middle from above `e` outwards until the region ends.
        let reach = 1e6;
        let far = Uv {
            u: e.u + dir * reach,
            v,
        };
        let Some(&(_, t1)) = fs.clip(c, far).first() else {
            continue;
        };
        if fs.clip(c, far).first().is_some_and(|&(t0, _)| t0 > 1e-9) {
            continue;
        }
        let gain = t1 * reach - MARGIN_M;
        if gain < MIN_GAIN * spacing_m {
            continue;
        }
        if let Some(x) = neighbour {
            let towards = (x.v - e.v) * side > 0.0 && (x.v - e.v).abs() <= 1.5 * spacing_m;
            if towards && dir * (x.u - e.u) >= gain - MIN_GAIN * spacing_m {
                continue;
            }
        }
        let q = Uv {
            u: e.u + dir * gain,
            v,
        };
        out.push((c, q));
    }
    out
}

/// The points between `from` and `to` through `mid`, skipping ahead wherever a straight line
/// to a later point stays in the region. Empty when a step of `mid` itself is not clear.
fn shortcut(fs: &FreeSpace, from: Uv, mid: &[Uv], to: Uv) -> Vec<Uv> {
    let mut seq = Vec::with_capacity(mid.len() + 2);
    seq.push(from);
    seq.extend_from_slice(mid);
    seq.push(to);
    let last = seq.len() - 1;
    let mut out = Vec::new();
    let mut i = 0;
    while i < last {
        let Some(j) = (i + 1..=last).rev().find(|&j| fs.clear(seq[i], seq[j])) else {
            return Vec::new();
        };
        if j < last && out.last().is_none_or(|&p: &Uv| dist(p, seq[j]) > 1e-9) {
            out.push(seq[j]);
        }
        i = j;
    }
    if out.last().is_some_and(|&p| dist(p, to) <= 1e-9) {
        out.pop();
    }
    if out.first().is_some_and(|&p| dist(p, from) <= 1e-9) {
        out.remove(0);
    }
    out
}
