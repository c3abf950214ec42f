//! Coverage of a survey path: the share of the region within the camera footprint, and
//! within half a line spacing, measured exactly along rows a half spacing apart.

use geo::{Coord, MultiPolygon};

use crate::patterns::SurveyPath;
use crate::sweep::{Rings, Rot, Segment, Uv, fast_len, transects};

/// Interval of `u` on the row `v = y` within distance `r` of the leg `p`–`q`.
fn capsule_row(p: Uv, q: Uv, r: f64, y: f64) -> Option<(f64, f64)> {
    // A row farther than `r` across from the whole leg misses its capsule.
    if y < p.v.min(q.v) - r || y > p.v.max(q.v) + r {
        return None;
    }
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for c in [p, q] {
        let dy = y - c.v;
        if dy.abs() <= r {
            let w = (r * r - dy * dy).sqrt();
            lo = lo.min(c.u - w);
            hi = hi.max(c.u + w);
        }
    }
    let (du, dv) = (q.u - p.u, q.v - p.v);
    let l = fast_len(du, dv);
    if l > 1e-9 {
        // 0 ≤ projection ≤ L and |cross| ≤ r: both linear in u.
        let lin = |a: f64, b: f64, min: f64, max: f64| -> Option<(f64, f64)> {
            if a.abs() < 1e-12 {
                return (b >= min && b <= max).then_some((f64::NEG_INFINITY, f64::INFINITY));
            }
            let (x1, x2) = ((min - b) / a, (max - b) / a);
            Some((x1.min(x2), x1.max(x2)))
        };
        let t = lin(du / l, (y - p.v) * dv / l - p.u * du / l, 0.0, l);
        let c = lin(-dv / l, (du * (y - p.v) + dv * p.u) / l, -r, r);
        if let (Some(t), Some(c)) = (t, c) {
            let (a, b) = (t.0.max(c.0), t.1.min(c.1));
            if a <= b && a.is_finite() && b.is_finite() {
                lo = lo.min(a);
                hi = hi.max(b);
            }
        }
    }
    (lo <= hi).then_some((lo, hi))
}

/// Shares of the region within each radius of the path, sampled on rows `spacing/2` apart
/// in the frame rotated to `bearing_deg` (exact along each row). The path is the legs within
/// each of the `runs` (index ranges of `points`).
fn coverage_in(
    region: &MultiPolygon,
    bearing_deg: f64,
    points: &[Coord],
    runs: &[(usize, usize)],
    max_leg_dv_m: f64,
    radii: [f64; 2],
    spacing_m: f64,
) -> [f64; 2] {
    let rot = Rot::new(bearing_deg);
    let rings = Rings::from_multipolygon(region, rot);
    let (v_min, v_max) = rings.v_range();
    if v_max.partial_cmp(&v_min) != Some(std::cmp::Ordering::Greater) {
        return [0.0; 2];
    }
    let dv = (spacing_m / 2.0).max((v_max - v_min) / 20_000.0);
    let mut rows: Vec<Segment> = Vec::new();
    let nrows = transects(&rings, dv, v_min, &mut rows);
    let row_v = |k: usize| v_min + (k as f64 + 0.5) * dv;
    let uv: Vec<Uv> = points.iter().map(|c| rot.fwd(*c)).collect();
    let r_max = radii[0].max(radii[1]);
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    let legs = runs
        .iter()
        .flat_map(|&(s, e)| s..e.min(uv.len()).saturating_sub(1));
    for i in legs {
        let w = [uv[i], uv[i + 1]];
        if (w[1].v - w[0].v).abs() > max_leg_dv_m {
            continue;
        }
        let lo = ((w[0].v.min(w[1].v) - r_max - v_min) / dv - 0.5)
            .ceil()
            .max(0.0) as usize;
        let hi = ((w[0].v.max(w[1].v) + r_max - v_min) / dv - 0.5).floor();
        if hi < 0.0 {
            continue;
        }
        for k in lo..=(hi as usize).min(nrows.saturating_sub(1)) {
            pairs.push((k as u32, i as u32));
        }
    }
    if uv.len() == 1 {
        let lo = ((uv[0].v - r_max - v_min) / dv - 0.5).ceil().max(0.0) as usize;
        let hi = ((uv[0].v + r_max - v_min) / dv - 0.5).floor().max(-1.0);
        if hi >= 0.0 {
            pairs.extend((lo..=(hi as usize).min(nrows.saturating_sub(1))).map(|k| (k as u32, 0)));
        }
    }
    // Counting sort by row (legs stay in order within a row).
    let mut counts = vec![0u32; nrows + 1];
    for &(k, _) in &pairs {
        counts[k as usize + 1] += 1;
    }
    for k in 1..counts.len() {
        counts[k] += counts[k - 1];
    }
    let mut sorted = vec![(0u32, 0u32); pairs.len()];
    for &(k, leg) in &pairs {
        let slot = &mut counts[k as usize];
        sorted[*slot as usize] = (k, leg);
        *slot += 1;
    }
    let pairs = sorted;
    let inside_total: f64 = rows.iter().map(|s| s.u1 - s.u0).sum();
    if inside_total <= 0.0 {
        return [0.0; 2];
    }
    // Radii in increasing order: a row fully covered at the smaller radius is fully covered at
    // the larger one, which then needs no intervals of its own (most rows of a survey).
    let order: [usize; 2] = if radii[0] <= radii[1] { [0, 1] } else { [1, 0] };
    // The rows that legs reach: where each one's pairs start in `pairs`.
    let mut groups: Vec<usize> = Vec::new();
    for p in 0..pairs.len() {
        if p == 0 || pairs[p].0 != pairs[p - 1].0 {
            groups.push(p);
        }
    }
    groups.push(pairs.len());
    // Rows in chunks on the cores there are; each row's two figures come back in row order
    // and are added up in that order (the same sums as one loop over the rows).
    let nrows_hit = groups.len() - 1;
    let chunks: Vec<&[usize]> = (0..nrows_hit)
        .step_by(128)
        .map(|c| &groups[c..=(c + 128).min(nrows_hit)])
        .collect();
    let ends = |leg: usize| -> (Uv, Uv) {
        if uv.len() == 1 {
            (uv[0], uv[0])
        } else {
            (uv[leg], uv[leg + 1])
        }
    };
    // The interval of the row `v = y` within `r` of a leg.
    let leg_row = |leg: usize, r: f64, y: f64| -> Option<(f64, f64)> {
        let (a, b) = ends(leg);
        if (a.v - b.v).abs() <= 0.0 {
            // A transect: the row meets its capsule in one interval.
            let dy = y - a.v;
            (dy.abs() <= r).then(|| {
                let w = (r * r - dy * dy).sqrt();
                (a.u.min(b.u) - w, a.u.max(b.u) + w)
            })
        } else {
            capsule_row(a, b, r, y)
        }
    };
    let per_row = crate::par::map(&chunks, |bounds| {
        let mut out: Vec<[f64; 2]> = Vec::with_capacity(bounds.len());
        // Intervals by their start's `total_cmp` key (see `union_sorted`).
        let mut iv: Vec<(u64, f64)> = Vec::new();
        let mut merged: Vec<(f64, f64)> = Vec::new();
        let mut gaps: Vec<Gap> = Vec::new();
        let mut wide: Vec<(f64, f64)> = Vec::new();
        let Some(&p0) = bounds.first() else {
            return out;
        };
        let mut rs = rows.partition_point(|r| r.line < pairs[p0].0);
        for w in bounds.windows(2) {
            let (p, q) = (w[0], w[1]);
            let k = pairs[p].0;
            while rs < rows.len() && rows[rs].line < k {
                rs += 1;
            }
            let mut re = rs;
            while re < rows.len() && rows[re].line == k {
                re += 1;
            }
            let y = row_v(k as usize);
            let mut row = [0.0; 2];
            // The smaller radius over the whole row.
            let [small, large] = order;
            iv.clear();
            for &(_, leg) in &pairs[p..q] {
                if let Some(x) = leg_row(leg as usize, radii[small], y) {
                    iv.push((start_key(x.0), x.1));
                }
            }
            union_sorted(&mut iv, &mut merged);
            gaps.clear();
            let inside = rows[rs..re].iter().map(|s| (s.u0, s.u1));
            let covered = overlap_and_gaps(&merged, inside, Some(&mut gaps));
            row[small] = covered;
            // The larger radius covers what the smaller does and more: only the gaps the
            // smaller leaves are measured again. A leg's interval at the larger radius reaches
            // at least `slack` past its interval at the smaller one (a point that far along the
            // row is within the larger radius), so a gap between legs' intervals no wider than
            // that reach from its sides is covered; the others are measured with the legs that
            // can reach them.
            let slack = radii[large] - radii[small];
            let mut extra = 0.0;
            wide.clear();
            for g in &gaps {
                let reach = f64::from(u8::from(g.lo_cov) + u8::from(g.hi_cov)) * slack;
                if g.hi - g.lo <= reach {
                    extra += g.hi - g.lo;
                } else {
                    wide.push((g.lo, g.hi));
                }
            }
            if let (Some(g0), Some(g1)) = (wide.first(), wide.last()) {
                let (g_lo, g_hi) = (g0.0, g1.1);
                let r = radii[large];
                iv.clear();
                for &(_, leg) in &pairs[p..q] {
                    let leg = leg as usize;
                    let (a, b) = ends(leg);
                    let (lo, hi) = (a.u.min(b.u) - r, a.u.max(b.u) + r);
                    if hi < g_lo || lo > g_hi {
                        continue;
                    }
                    // Reaches a gap's span: the first gap ending after `lo` starts before `hi`.
                    let k = wide.partition_point(|g| g.1 < lo);
                    if k == wide.len() || wide[k].0 > hi {
                        continue;
                    }
                    if let Some(x) = leg_row(leg, r, y) {
                        iv.push((start_key(x.0), x.1));
                    }
                }
                union_sorted(&mut iv, &mut merged);
                extra += overlap_and_gaps(&merged, wide.iter().copied(), None);
            }
            row[large] = covered + extra;
            out.push(row);
        }
        out
    });
    let mut covered = [0.0; 2];
    for row in per_row.iter().flatten() {
        covered[0] += row[0];
        covered[1] += row[1];
    }
    [covered[0] / inside_total, covered[1] / inside_total]
}

/// An integer whose order is `f64::total_cmp`'s order of `x`, and back: the same bits.
fn start_key(x: f64) -> u64 {
    let b = x.to_bits();
    if b >> 63 == 1 { !b } else { b | 1 << 63 }
}

fn key_start(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// The union of the intervals `iv` (each start as its [`start_key`], sorted here) into
/// `merged`, in order: integer comparisons, the order of `total_cmp` on the starts.
fn union_sorted(iv: &mut [(u64, f64)], merged: &mut Vec<(f64, f64)>) {
    iv.sort_unstable_by_key(|e| e.0);
    merged.clear();
    for &(k, b) in iv.iter() {
        let a = key_start(k);
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }
}

/// A stretch of a row inside the region that the smaller radius leaves uncovered; `lo_cov`
/// and `hi_cov` say whether a leg's interval ends (or starts) there, rather than the region.
#[derive(Clone, Copy)]
struct Gap {
    lo: f64,
    hi: f64,
    lo_cov: bool,
    hi_cov: bool,
}

/// The length of the sorted disjoint intervals `covered` within the sorted disjoint pieces
/// `inside`, and (into `gaps`, in order) the parts of `inside` they leave.
fn overlap_and_gaps(
    covered: &[(f64, f64)],
    inside: impl IntoIterator<Item = (f64, f64)>,
    mut gaps: Option<&mut Vec<Gap>>,
) -> f64 {
    let mut total = 0.0;
    let mut ci = 0;
    let mut gap = |g: Gap| {
        if let Some(out) = gaps.as_mut() {
            out.push(g);
        }
    };
    for (mut at, end) in inside {
        let mut at_cov = false;
        while ci < covered.len() && covered[ci].1 <= at {
            ci += 1;
        }
        let mut k = ci;
        while k < covered.len() && covered[k].0 < end {
            let (a, b) = covered[k];
            if a > at {
                gap(Gap {
                    lo: at,
                    hi: a,
                    lo_cov: at_cov,
                    hi_cov: true,
                });
            }
            let hi = b.min(end);
            if hi > a.max(at) {
                total += hi - a.max(at);
            }
            if b > at {
                at = b;
                at_cov = true;
            }
            if b >= end {
                break;
            }
            k += 1;
        }
        if at < end {
            gap(Gap {
                lo: at,
                hi: end,
                lo_cov: at_cov,
                hi_cov: false,
            });
        }
    }
    total
}

/// Coverage of a survey path: (camera footprint share, half-spacing share). For passes of
/// straight transects each pass is measured in its own frame and the better pass is reported
/// (for a crosshatch that is a lower bound of the union).
pub(crate) fn coverage(
    region: &MultiPolygon,
    path: &SurveyPath,
    footprint_side_m: f64,
    spacing_m: f64,
) -> (f64, f64) {
    // A hair over the exact radius: points midway between transects are at exactly half a spacing.
    let radii = [footprint_side_m / 2.0, spacing_m / 2.0 * (1.0 + 1e-6)];
    if path.points.is_empty() {
        return (0.0, 0.0);
    }
    let all = [(0, path.points.len())];
    if path.passes.is_empty() {
        let c = coverage_in(
            region,
            0.0,
            &path.points,
            &all,
            f64::INFINITY,
            radii,
            spacing_m,
        );
        return (c[0], c[1]);
    }
    // With two passes, each is measured in its frame with every leg of the path but the
    // other pass's transects (legs across more than two rows of lines): its own transects and
    // all connectors, wherever the tour put them. The passes on the cores there are.
    let several = path.passes.len() > 1;
    let each = crate::par::map(&path.passes, |pass| {
        let (runs, max_dv) = if several {
            (&all[..], 2.0 * spacing_m)
        } else {
            (&pass.runs[..], f64::INFINITY)
        };
        coverage_in(
            region,
            pass.bearing_deg,
            &path.points,
            runs,
            max_dv,
            radii,
            spacing_m,
        )
    });
    let mut best = (0.0_f64, 0.0_f64);
    for c in each {
        best = (best.0.max(c[0]), best.1.max(c[1]));
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo::polygon;

    #[test]
    fn start_keys_order_like_total_cmp_and_come_back() {
        let xs = [
            f64::NEG_INFINITY,
            -1e300,
            -2.5,
            -f64::MIN_POSITIVE,
            -0.0,
            0.0,
            5e-324,
            1.0,
            1.0 + f64::EPSILON,
            1e300,
            f64::INFINITY,
            f64::NAN,
            -f64::NAN,
        ];
        for &a in &xs {
            assert_eq!(key_start(start_key(a)).to_bits(), a.to_bits());
            for &b in &xs {
                assert_eq!(start_key(a).cmp(&start_key(b)), a.total_cmp(&b), "{a} {b}");
            }
        }
    }

    #[test]
    fn capsule_rows() {
        let p = Uv { u: 0.0, v: 0.0 };
        let q = Uv { u: 10.0, v: 0.0 };
        assert_eq!(capsule_row(p, q, 2.0, 0.0), Some((-2.0, 12.0)));
        assert!(capsule_row(p, q, 2.0, 2.5).is_none());
        let q = Uv { u: 0.0, v: 10.0 };
        let (a, b) = capsule_row(p, q, 2.0, 5.0).unwrap_or_default();
        assert!((a + 2.0).abs() < 1e-9 && (b - 2.0).abs() < 1e-9);
    }

    #[test]
    fn transects_cover_a_square() {
        let sq = MultiPolygon(vec![
            polygon![(x: 0.0, y: 0.0), (x: 100.0, y: 0.0), (x: 100.0, y: 100.0), (x: 0.0, y: 100.0)],
        ]);
        // Lines x = 10, 30, 50, 70, 90 (north-south), joined at the ends.
        let pts: Vec<Coord> = (0..5)
            .flat_map(|k| {
                let x = 10.0 + 20.0 * f64::from(k);
                if k % 2 == 0 {
                    [Coord { x, y: 0.0 }, Coord { x, y: 100.0 }]
                } else {
                    [Coord { x, y: 100.0 }, Coord { x, y: 0.0 }]
                }
            })
            .collect();
        let c = coverage_in(
            &sq,
            0.0,
            &pts,
            &[(0, 10)],
            f64::INFINITY,
            [30.0, 10.0 * (1.0 + 1e-6)],
            20.0,
        );
        assert!((c[0] - 1.0).abs() < 1e-9, "{c:?}");
        assert!((c[1] - 1.0).abs() < 1e-6, "{c:?}");
        let c = coverage_in(
            &sq,
            0.0,
            &pts[..2],
            &[(0, 2)],
            f64::INFINITY,
            [10.0, 10.0],
            20.0,
        );
        assert!((c[0] - 0.2).abs() < 0.01, "{c:?}");
    }
}
