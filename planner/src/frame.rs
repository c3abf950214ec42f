//! Local metric frame: a transverse Mercator projection of the WGS84 ellipsoid centred on
//! the survey area (central meridian and origin at the area's centre, scale 1).
//!
//! Krüger's series to the fourth order of the third flattening (as in UTM), accurate to well
//! under a millimetre within tens of kilometres of the central meridian, so distances and
//! angles in the frame are true for areas of hundreds of km². `x` is east, `y` is north,
//! both in metres.

use aviary_core::LatLon;
use geo::Coord;

const WGS84_A_M: f64 = 6_378_137.0;
const WGS84_F: f64 = 1.0 / 298.257_223_563;

/// A transverse Mercator frame around an origin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalFrame {
    origin: LatLon,
    /// Northing of the origin on its central meridian, subtracted so the origin is (0, 0).
    origin_northing_m: f64,
    rect_a_m: f64,
    alpha: [f64; 4],
    beta: [f64; 4],
    delta: [f64; 4],
    e2n: f64,
}

impl LocalFrame {
    /// The frame whose origin (0, 0) is `origin`.
    pub fn new(origin: LatLon) -> Self {
        let n = WGS84_F / (2.0 - WGS84_F);
        let (n2, n3, n4) = (n * n, n * n * n, n * n * n * n);
        let rect_a_m = WGS84_A_M / (1.0 + n) * (1.0 + n2 / 4.0 + n4 / 64.0);
        let alpha = [
            n / 2.0 - 2.0 * n2 / 3.0 + 5.0 * n3 / 16.0 + 41.0 * n4 / 180.0,
            13.0 * n2 / 48.0 - 3.0 * n3 / 5.0 + 557.0 * n4 / 1440.0,
            61.0 * n3 / 240.0 - 103.0 * n4 / 140.0,
            49561.0 * n4 / 161_280.0,
        ];
        let beta = [
            n / 2.0 - 2.0 * n2 / 3.0 + 37.0 * n3 / 96.0 - n4 / 360.0,
            n2 / 48.0 + n3 / 15.0 - 437.0 * n4 / 1440.0,
            17.0 * n3 / 480.0 - 37.0 * n4 / 840.0,
            4397.0 * n4 / 161_280.0,
        ];
        let delta = [
            2.0 * n - 2.0 * n2 / 3.0 - 2.0 * n3 + 116.0 * n4 / 45.0,
            7.0 * n2 / 3.0 - 8.0 * n3 / 5.0 - 227.0 * n4 / 45.0,
            56.0 * n3 / 15.0 - 136.0 * n4 / 35.0,
            4279.0 * n4 / 630.0,
        ];
        let mut frame = Self {
            origin,
            origin_northing_m: 0.0,
            rect_a_m,
            alpha,
            beta,
            delta,
            e2n: 2.0 * n.sqrt() / (1.0 + n),
        };
        frame.origin_northing_m = frame.to_local(origin).y;
        frame
    }

    /// The frame's origin.
    pub const fn origin(&self) -> LatLon {
        self.origin
    }

    /// WGS84 to local metres (x east, y north).
    pub fn to_local(&self, p: LatLon) -> Coord {
        let phi = p.lat_deg.to_radians();
        let lambda = (p.lon_deg - self.origin.lon_deg).to_radians();
        let sin_phi = phi.sin();
        let t = (sin_phi.atanh() - self.e2n * (self.e2n * sin_phi).atanh()).sinh();
        let (sin_l, cos_l) = lambda.sin_cos();
        let xi_p = t.atan2(cos_l);
        let eta_p = (sin_l / (1.0 + t * t).sqrt()).atanh();
        let (s, i) = clenshaw_sin(&self.alpha, xi_p, eta_p);
        Coord {
            x: self.rect_a_m * (eta_p + i),
            y: self.rect_a_m * (xi_p + s) - self.origin_northing_m,
        }
    }

    /// Local metres back to WGS84.
    pub fn to_latlon(&self, c: Coord) -> LatLon {
        let xi = (c.y + self.origin_northing_m) / self.rect_a_m;
        let eta = c.x / self.rect_a_m;
        let (s, i) = clenshaw_sin(&self.beta, xi, eta);
        let xi_p = xi - s;
        let eta_p = eta - i;
        let (sin_xi, cos_xi) = xi_p.sin_cos();
        let e = eta_p.exp();
        let (sinh_eta, cosh_eta) = ((e - 1.0 / e) / 2.0, f64::midpoint(e, 1.0 / e));
        let sin_chi = (sin_xi / cosh_eta).clamp(-1.0, 1.0);
        let chi = sin_chi.asin();
        // φ = χ + Σ δ_j sin(2jχ), summed with Clenshaw from sin 2χ and cos 2χ, which need no
        // further transcendental call (cos χ ≥ 0 for |χ| ≤ 90°).
        let cos_chi = (1.0 - sin_chi * sin_chi).max(0.0).sqrt();
        let (s2, c2) = (2.0 * sin_chi * cos_chi, 1.0 - 2.0 * sin_chi * sin_chi);
        let (mut b1, mut b2) = (0.0, 0.0);
        for d in self.delta.iter().rev() {
            let b0 = d + 2.0 * c2 * b1 - b2;
            b2 = b1;
            b1 = b0;
        }
        let phi = chi + b1 * s2;
        let lambda = sinh_eta.atan2(cos_xi);
        let mut lon = self.origin.lon_deg + lambda.to_degrees();
        if lon > 180.0 {
            lon -= 360.0;
        } else if lon < -180.0 {
            lon += 360.0;
        }
        LatLon::new(phi.to_degrees(), lon)
    }
}

/// `Σ c_j sin(2j(x + iy))` for j = 1..=4, as (real, imaginary): the Krüger series of
/// `Σ c_j sin(2jx)cosh(2jy)` and `Σ c_j cos(2jx)sinh(2jy)` summed with Clenshaw's recurrence
/// on complex numbers (as GeographicLib does), so one `sin_cos` and one `exp` replace the
/// sixteen sines, cosines and hyperbolic functions of the term-by-term sum.
fn clenshaw_sin(c: &[f64; 4], x: f64, y: f64) -> (f64, f64) {
    let (s2x, c2x) = (2.0 * x).sin_cos();
    let e = (2.0 * y).exp();
    let (sh2y, ch2y) = ((e - 1.0 / e) / 2.0, f64::midpoint(e, 1.0 / e));
    // sin 2ζ and a = 2 cos 2ζ.
    let (sr, si) = (s2x * ch2y, c2x * sh2y);
    let (ar, ai) = (2.0 * c2x * ch2y, -2.0 * s2x * sh2y);
    let (mut b1r, mut b1i, mut b2r, mut b2i) = (0.0, 0.0, 0.0, 0.0);
    for k in c.iter().rev() {
        let b0r = k + ar * b1r - ai * b1i - b2r;
        let b0i = ar * b1i + ai * b1r - b2i;
        (b2r, b2i) = (b1r, b1i);
        (b1r, b1i) = (b0r, b0i);
    }
    (b1r * sr - b1i * si, b1r * si + b1i * sr)
}

/// Distance from `p` to the segment `a`–`b` in a local metric frame, metres: the one copy, used
/// by the sweep, the no-fly check and the reports' deviation from the plan.
#[inline]
pub fn point_segment_distance_m(p: Coord, a: Coord, b: Coord) -> f64 {
    point_segment_distance2_m2(p, a, b).sqrt()
}

/// The square of [`point_segment_distance_m`], square metres (for comparisons without a root).
#[inline]
pub fn point_segment_distance2_m2(p: Coord, a: Coord, b: Coord) -> f64 {
    point_segment_nearest(p, a, b).0
}

/// The squared distance from `p` to the segment `a`–`b`, square metres, and where on it the
/// nearest point lies (0 at `a`, 1 at `b`).
#[inline]
pub fn point_segment_nearest(p: Coord, a: Coord, b: Coord) -> (f64, f64) {
    let (dx, dy) = (b.x - a.x, b.y - a.y);
    let len2 = dx * dx + dy * dy;
    let t = if len2 > 0.0 {
        (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (cx, cy) = (a.x + t * dx - p.x, a.y + t * dy - p.y);
    (cx * cx + cy * cy, t)
}

/// The points of the polyline `pts` that Ramer–Douglas–Peucker keeps at `epsilon_m` (indices,
/// ascending; the first and last always): every dropped point lies within `epsilon_m` of the
/// segment between the kept points around it. Iterative, one pass over each span, no
/// allocation per split: the traced rings of a 100 km² fill have a million points.
pub fn simplify_idx(pts: &[Coord], epsilon_m: f64) -> Vec<usize> {
    let n = pts.len();
    if n < 3 || epsilon_m <= 0.0 {
        return (0..n).collect();
    }
    let eps2 = epsilon_m * epsilon_m;
    let mut keep = vec![false; n];
    keep[0] = true;
    keep[n - 1] = true;
    let mut spans = vec![(0usize, n - 1)];
    while let Some((s, e)) = spans.pop() {
        if e - s < 2 {
            continue;
        }
        let (a, b) = (pts[s], pts[e]);
        // The farthest point (the last of equals), by `point_segment_distance2_m2` with the
        // span's constants taken out of the loop (the same arithmetic).
        let mut far = (0.0, s + 1);
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let len2 = dx * dx + dy * dy;
        let inner = pts.get(s + 1..e).unwrap_or_default();
        if len2 > 0.0 {
            far = farthest(inner, a, (dx, dy), len2, s + 1);
        } else {
            for (k, p) in inner.iter().enumerate() {
                let d2 = point_segment_distance2_m2(*p, a, b);
                if d2 >= far.0 {
                    far = (d2, s + 1 + k);
                }
            }
        }
        if far.0 > eps2 {
            keep[far.1] = true;
            spans.push((far.1, e));
            spans.push((s, far.1));
        }
    }
    (0..n).filter(|&i| keep[i]).collect()
}

/// The farthest of `pts` from the segment `a` + [0, 1]·`d` (`len2` = |`d`|², above 0): its
/// squared distance and index (`first` + position), the last of equals; (0, `first`) when
/// every distance is NaN. Four interleaved lanes, each the last of its equals, then the
/// greatest distance and of those the greatest index: the same point as one loop.
#[inline]
fn farthest(
    pts: &[Coord],
    a: Coord,
    (dx, dy): (f64, f64),
    len2: f64,
    first: usize,
) -> (f64, usize) {
    let d2 = |p: &Coord| {
        let t = (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0);
        let (cx, cy) = (a.x + t * dx - p.x, a.y + t * dy - p.y);
        cx * cx + cy * cy
    };
    let mut lane_d = [0.0_f64; 4];
    let mut lane_k = [0_usize; 4];
    let chunks = pts.chunks_exact(4);
    let rest = chunks.remainder();
    for (c, q) in chunks.enumerate() {
        let d = [d2(&q[0]), d2(&q[1]), d2(&q[2]), d2(&q[3])];
        for l in 0..4 {
            if d[l] >= lane_d[l] {
                lane_d[l] = d[l];
                lane_k[l] = 4 * c + l;
            }
        }
    }
    let mut far = (0.0, 0);
    for l in 0..4 {
        // Farther, or as far and later (lanes hold no NaN: they take a distance by `>=`).
        if lane_d[l] > far.0 || (lane_d[l] >= far.0 && lane_k[l] > far.1) {
            far = (lane_d[l], lane_k[l]);
        }
    }
    let base = pts.len() - rest.len();
    for (k, p) in rest.iter().enumerate() {
        let d = d2(p);
        if d >= far.0 {
            far = (d, base + k);
        }
    }
    (far.0, first + far.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn farthest_is_the_last_of_the_farthest_as_one_loop_finds_it() {
        let c = |x: f64, y: f64| Coord { x, y };
        // Repeated distances (mirrored and duplicated points), points past the ends, NaN.
        let mut pts: Vec<Coord> = Vec::new();
        for i in 0..23_u32 {
            let x = f64::from(i % 7) * 1.5 - 2.0;
            let y = f64::from((i * 5) % 3) - 1.0;
            pts.push(c(x, y));
        }
        pts.push(c(f64::NAN, 0.0));
        let (a, b) = (c(0.0, 0.0), c(6.0, 0.0));
        let (dx, dy) = (b.x - a.x, b.y - a.y);
        let len2 = dx * dx + dy * dy;
        for lo in 0..pts.len() {
            for hi in lo..=pts.len() {
                let inner = &pts[lo..hi];
                let mut want = (0.0, 3);
                for (k, p) in inner.iter().enumerate() {
                    let t = (((p.x - a.x) * dx + (p.y - a.y) * dy) / len2).clamp(0.0, 1.0);
                    let (cx, cy) = (a.x + t * dx - p.x, a.y + t * dy - p.y);
                    let d2 = cx * cx + cy * cy;
                    if d2 >= want.0 {
                        want = (d2, 3 + k);
                    }
                }
                let got = farthest(inner, a, (dx, dy), len2, 3);
                assert_eq!(
                    (got.0.to_bits(), got.1),
                    (want.0.to_bits(), want.1),
                    "{lo}..{hi}"
                );
            }
        }
    }

    #[test]
    fn simplify_keeps_the_ends_and_the_corners_only() {
        let c = |x: f64, y: f64| Coord { x, y };
        // An L traced in 1 m steps with 1 cm of noise: its three corners stay.
        let mut pts: Vec<Coord> = (0..=10)
            .map(|i| c(f64::from(i), if i % 2 == 0 { 0.0 } else { 0.01 }))
            .collect();
        pts.extend((1..=10).map(|j| c(10.0, f64::from(j))));
        assert_eq!(simplify_idx(&pts, 0.05), vec![0, 10, 20]);
        // Tighter than the noise: the noisy points stay.
        assert!(simplify_idx(&pts, 0.005).len() > 10);
        assert_eq!(simplify_idx(&pts[..2], 1.0), vec![0, 1]);
    }

    #[test]
    fn origin_is_zero_and_round_trip_is_sub_millimetre() {
        let o = LatLon::new(38.2, -121.7);
        let f = LocalFrame::new(o);
        let z = f.to_local(o);
        assert!(z.x.abs() < 1e-6 && z.y.abs() < 1e-6, "{z:?}");
        for (dn, de) in [(5000.0, 0.0), (-7000.0, 9000.0), (12_000.0, -15_000.0)] {
            let p = o.offset_ne(dn, de);
            let back = f.to_latlon(f.to_local(p));
            assert!(p.distance_m(back) < 1e-3, "{p:?} -> {back:?}");
        }
    }

    #[test]
    fn agrees_with_proj() {
        // PROJ 9 (pyproj 3.7): +proj=tmerc +lat_0=38.2 +lon_0=-121.7 +k=1 +ellps=WGS84.
        let f = LocalFrame::new(LatLon::new(38.2, -121.7));
        for (lat, lon, x, y) in [
            (38.3, -121.5, 17_494.697_7, 11_119.045_7),
            (38.05, -121.9, -17_554.567_2, -16_630.942_5),
            (38.6, -121.2, 43_556.136_7, 44_520.193_8),
        ] {
            let c = f.to_local(LatLon::new(lat, lon));
            assert!((c.x - x).abs() < 1e-3 && (c.y - y).abs() < 1e-3, "{c:?}");
            let back = f.to_latlon(Coord { x, y });
            assert!(
                (back.lat_deg - lat).abs() < 1e-8 && (back.lon_deg - lon).abs() < 1e-8,
                "{back:?}"
            );
        }
    }

    #[test]
    fn local_distances_match_the_ellipsoid() {
        // 1 km due north at 38.2° N is about 1000 m on the ellipsoid; the sphere of core's
        // haversine differs by < 0.5 %, the frame must agree with both to that tolerance.
        let o = LatLon::new(38.2, -121.7);
        let f = LocalFrame::new(o);
        let p = o.offset(90.0, 5000.0);
        let c = f.to_local(p);
        let d = c.x.hypot(c.y);
        assert!((d - 5000.0).abs() / 5000.0 < 0.005, "{d}");
        // One degree of latitude at 38.2° N on WGS84 is about 111,000 m.
        let q = f.to_local(LatLon::new(38.7, -121.7));
        let r = f.to_local(LatLon::new(37.7, -121.7));
        assert!(((q.y - r.y) - 111_000.0).abs() < 5.0, "{}", q.y - r.y);
    }
}
