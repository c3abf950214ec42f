//! Validated survey areas in the local metric frame: rings cleaned, checked (distinct points,
//! area, range, self-intersection, holes inside), no-fly zones removed.

use aviary_core::{LatLon, SurveyArea};
use geo::{Area as _, BooleanOps, Coord, LineString, MultiPolygon, Polygon};

use crate::error::{PlanError, Result};
use crate::frame::LocalFrame;

/// A survey area ready for planning: the input areas (cleaned), the no-fly zones, their local
/// projections and the region that may be flown (areas minus no-fly zones).
#[derive(Debug, Clone)]
#[expect(
    clippy::struct_field_names,
    reason = "`area_m2` is the area's area in m², the unit suffix is the point"
)]
pub struct Area {
    frame: LocalFrame,
    areas: Vec<SurveyArea>,
    no_fly: Vec<SurveyArea>,
    survey_local: MultiPolygon,
    free_local: MultiPolygon,
    no_fly_local: MultiPolygon,
    area_m2: f64,
    free_area_m2: f64,
}

impl Area {
    /// Validates `areas` (one or more polygons, e.g. the parts of a `MultiPolygon`) and the
    /// no-fly zones, and builds the flyable region. Errors name the ring and the problem.
    pub fn new(areas: &[SurveyArea], no_fly: &[SurveyArea], max_area_m2: f64) -> Result<Self> {
        if areas.is_empty() {
            return Err(PlanError::NoPolygon("survey area".into()));
        }
        let areas = clean_all(areas, "polygon")?;
        let no_fly = clean_all(no_fly, "no-fly zone")?;
        let (mut lat_lo, mut lat_hi, mut lon_lo, mut lon_hi) =
            (90.0_f64, -90.0_f64, 180.0_f64, -180.0_f64);
        for p in areas.iter().flat_map(|a| &a.exterior) {
            lat_lo = lat_lo.min(p.lat_deg);
            lat_hi = lat_hi.max(p.lat_deg);
            lon_lo = lon_lo.min(p.lon_deg);
            lon_hi = lon_hi.max(p.lon_deg);
        }
        // An area across the antimeridian has longitudes near +180 and near -180: measured with
        // the western ones moved by +360° it is as narrow as it is on the ground. The local
        // frame only reads the longitude's sine and cosine, so it plans such an area as any
        // other once its centre is right.
        if lon_hi - lon_lo > 180.0 {
            let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
            for p in areas.iter().flat_map(|a| &a.exterior) {
                let lon = if p.lon_deg < 0.0 {
                    p.lon_deg + 360.0
                } else {
                    p.lon_deg
                };
                lo = lo.min(lon);
                hi = hi.max(lon);
            }
            if hi - lo < lon_hi - lon_lo {
                (lon_lo, lon_hi) = (lo, hi);
            }
        }
        let lon_mid = f64::midpoint(lon_lo, lon_hi);
        let frame = LocalFrame::new(LatLon::new(
            f64::midpoint(lat_lo, lat_hi),
            if lon_mid > 180.0 {
                lon_mid - 360.0
            } else {
                lon_mid
            },
        ));
        // A frame is only accurate near its centre; 500 km² never spans more than a few degrees.
        if lat_hi - lat_lo > 10.0 || lon_hi - lon_lo > 10.0 {
            return Err(PlanError::AreaTooLarge {
                area_km2: f64::INFINITY,
                max_km2: max_area_m2 / 1e6,
            });
        }
        let survey_polys = project_all(&frame, &areas, "polygon")?;
        let no_fly_polys = project_all(&frame, &no_fly, "no-fly zone")?;
        let survey_local = if survey_polys.len() == 1 {
            MultiPolygon(survey_polys)
        } else {
            survey_polys
                .iter()
                .fold(MultiPolygon(vec![]), |acc, p| acc.union(p))
        };
        let area_m2 = survey_local.unsigned_area();
        if area_m2 > max_area_m2 {
            return Err(PlanError::AreaTooLarge {
                area_km2: area_m2 / 1e6,
                max_km2: max_area_m2 / 1e6,
            });
        }
        let no_fly_local = MultiPolygon(no_fly_polys);
        let free_local = if no_fly_local.0.is_empty() {
            survey_local.clone()
        } else {
            survey_local.difference(&no_fly_local)
        };
        let free_area_m2 = free_local.unsigned_area();
        // Only zones can leave nothing: a tiny area without zones is the planner's to refuse
        // (smaller than one footprint), not "covered by no-fly zones".
        if !no_fly.is_empty()
            && (free_area_m2 < area_m2.min(2.0) / 2.0 || free_area_m2 < area_m2 * 1e-6)
        {
            return Err(PlanError::NoFlyCoversArea { area_m2 });
        }
        Ok(Self {
            frame,
            areas,
            no_fly,
            survey_local,
            free_local,
            no_fly_local,
            area_m2,
            free_area_m2,
        })
    }

    /// The local frame everything is planned in.
    pub const fn frame(&self) -> &LocalFrame {
        &self.frame
    }
    /// The survey polygons as given (rings cleaned, not closed).
    pub fn areas(&self) -> &[SurveyArea] {
        &self.areas
    }
    /// The no-fly zones as given (rings cleaned, not closed).
    pub fn no_fly(&self) -> &[SurveyArea] {
        &self.no_fly
    }
    /// Area of the survey polygons, m² (holes excluded, no-fly zones included).
    pub const fn area_m2(&self) -> f64 {
        self.area_m2
    }
    /// Area that may be flown (no-fly zones removed), m².
    pub const fn free_area_m2(&self) -> f64 {
        self.free_area_m2
    }
    /// Survey polygons in local metres.
    pub const fn survey_local(&self) -> &MultiPolygon {
        &self.survey_local
    }
    /// Flyable region in local metres.
    pub const fn free_local(&self) -> &MultiPolygon {
        &self.free_local
    }
    /// No-fly zones in local metres.
    pub const fn no_fly_local(&self) -> &MultiPolygon {
        &self.no_fly_local
    }

    /// The same area restricted to `part` (local metres), for splitting among drones.
    pub(crate) fn restricted(&self, part: MultiPolygon) -> Self {
        let free_area_m2 = part.unsigned_area();
        Self {
            free_local: part,
            free_area_m2,
            ..self.clone()
        }
    }
}

fn ring_name(kind: &str, p: usize, hole: Option<usize>) -> String {
    match hole {
        None => format!("{kind} {} exterior ring", p + 1),
        Some(h) => format!("{kind} {} hole {}", p + 1, h + 1),
    }
}

fn clean_all(areas: &[SurveyArea], kind: &str) -> Result<Vec<SurveyArea>> {
    areas
        .iter()
        .enumerate()
        .map(|(i, a)| {
            Ok(SurveyArea {
                exterior: clean_ring(&a.exterior, &ring_name(kind, i, None))?,
                holes: a
                    .holes
                    .iter()
                    .enumerate()
                    .map(|(h, r)| clean_ring(r, &ring_name(kind, i, Some(h))))
                    .collect::<Result<_>>()?,
            })
        })
        .collect()
}

/// Checks the range of every point, drops the closing point and repeated points.
pub(crate) fn clean_ring(ring: &[LatLon], location: &str) -> Result<Vec<LatLon>> {
    let mut out: Vec<LatLon> = Vec::with_capacity(ring.len());
    for (index, p) in ring.iter().enumerate() {
        LatLon::checked(p.lat_deg, p.lon_deg).map_err(|e| PlanError::CoordOutOfRange {
            location: location.to_owned(),
            index,
            detail: e.to_string(),
        })?;
        if out.last().is_none_or(|q| !same(*q, *p)) {
            out.push(*p);
        }
    }
    while out.len() > 1
        && out
            .first()
            .zip(out.last())
            .is_some_and(|(a, b)| same(*a, *b))
    {
        out.pop();
    }
    let mut distinct: Vec<(u64, u64)> = out
        .iter()
        .map(|p| (p.lat_deg.to_bits(), p.lon_deg.to_bits()))
        .collect();
    distinct.sort_unstable();
    distinct.dedup();
    if distinct.len() < 3 {
        return Err(PlanError::TooFewPoints {
            location: location.to_owned(),
            distinct: distinct.len(),
        });
    }
    Ok(out)
}

fn same(a: LatLon, b: LatLon) -> bool {
    (a.lat_deg - b.lat_deg).abs() < 1e-12 && (a.lon_deg - b.lon_deg).abs() < 1e-12
}

fn project_all(frame: &LocalFrame, areas: &[SurveyArea], kind: &str) -> Result<Vec<Polygon>> {
    let mut out = Vec::with_capacity(areas.len());
    for (i, a) in areas.iter().enumerate() {
        let mut rings: Vec<(String, Vec<Coord>)> = Vec::with_capacity(1 + a.holes.len());
        rings.push((
            ring_name(kind, i, None),
            a.exterior.iter().map(|p| frame.to_local(*p)).collect(),
        ));
        for (h, r) in a.holes.iter().enumerate() {
            rings.push((
                ring_name(kind, i, Some(h)),
                r.iter().map(|p| frame.to_local(*p)).collect(),
            ));
        }
        for (name, r) in &rings {
            // Collinear points: the hull has no area (a bow-tie has a hull, and a crossing).
            let hull = geo::ConvexHull::convex_hull(&LineString::from(r.clone()));
            let area = hull.unsigned_area();
            let perimeter: f64 = (0..r.len()).map(|k| dist(r[k], r[(k + 1) % r.len()])).sum();
            if area < 1e-6 * perimeter * perimeter || area < 1e-4 {
                return Err(PlanError::ZeroArea {
                    location: name.clone(),
                });
            }
        }
        check_crossings(frame, &rings)?;
        for (name, r) in &rings {
            if shoelace(r).abs() < 1e-4 {
                return Err(PlanError::ZeroArea {
                    location: name.clone(),
                });
            }
        }
        for (name, hole) in rings.iter().skip(1) {
            if let Some(p) = hole.first()
                && !point_in_ring(*p, &rings[0].1)
            {
                return Err(PlanError::HoleOutside {
                    location: name.clone(),
                });
            }
        }
        let mut it = rings.into_iter().map(|(_, r)| LineString::from(r));
        let exterior = it.next().unwrap_or_else(|| LineString::new(vec![]));
        out.push(Polygon::new(exterior, it.collect()));
    }
    Ok(out)
}

/// Test areas: one ring, no holes, no no-fly zones.
#[cfg(test)]
pub(crate) fn from_ring(exterior: Vec<LatLon>) -> Area {
    Area::new(
        &[SurveyArea {
            exterior,
            holes: vec![],
        }],
        &[],
        500e6,
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

pub(crate) fn shoelace(r: &[Coord]) -> f64 {
    let n = r.len();
    (0..n)
        .map(|i| r[i].x * r[(i + 1) % n].y - r[(i + 1) % n].x * r[i].y)
        .sum::<f64>()
        / 2.0
}

fn dist(a: Coord, b: Coord) -> f64 {
    (a.x - b.x).hypot(a.y - b.y)
}

/// Even-odd point-in-ring test.
pub(crate) fn point_in_ring(p: Coord, r: &[Coord]) -> bool {
    let mut inside = false;
    let n = r.len();
    for i in 0..n {
        let (a, b) = (r[i], r[(i + 1) % n]);
        if (a.y <= p.y) != (b.y <= p.y) {
            let x = a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y);
            if x > p.x {
                inside = !inside;
            }
        }
    }
    inside
}

fn orient(a: Coord, b: Coord, c: Coord) -> f64 {
    (b.x - a.x) * (c.y - a.y) - (b.y - a.y) * (c.x - a.x)
}

/// Where segments `ab` and `cd` meet (touching or crossing), if they do.
fn segment_meet(a: Coord, b: Coord, c: Coord, d: Coord) -> Option<Coord> {
    let scale = dist(a, b).max(dist(c, d)).max(1e-9);
    let eps = 1e-9 * scale * scale;
    let (d1, d2, d3, d4) = (
        orient(c, d, a),
        orient(c, d, b),
        orient(a, b, c),
        orient(a, b, d),
    );
    let straddle = |p: f64, q: f64| (p > eps && q < -eps) || (p < -eps && q > eps);
    if straddle(d1, d2) && straddle(d3, d4) {
        let t = d1 / (d1 - d2);
        return Some(Coord {
            x: a.x + t * (b.x - a.x),
            y: a.y + t * (b.y - a.y),
        });
    }
    let on = |p: Coord, s: Coord, e: Coord, o: f64| {
        o.abs() <= eps
            && p.x >= s.x.min(e.x) - 1e-9
            && p.x <= s.x.max(e.x) + 1e-9
            && p.y >= s.y.min(e.y) - 1e-9
            && p.y <= s.y.max(e.y) + 1e-9
    };
    [(a, c, d, d1), (b, c, d, d2), (c, a, b, d3), (d, a, b, d4)]
        .into_iter()
        .find(|&(p, s, e, o)| on(p, s, e, o))
        .map(|(p, ..)| p)
}

/// Finds any two edges of the rings that touch or cross (other than neighbours sharing their
/// common vertex), with a sweep over edges sorted by their lowest x.
fn check_crossings(frame: &LocalFrame, rings: &[(String, Vec<Coord>)]) -> Result<()> {
    struct E {
        ring: usize,
        idx: usize,
        a: Coord,
        b: Coord,
        x_lo: f64,
        x_hi: f64,
    }
    let mut edges: Vec<E> = Vec::new();
    for (ring, (_, r)) in rings.iter().enumerate() {
        let n = r.len();
        for idx in 0..n {
            let (a, b) = (r[idx], r[(idx + 1) % n]);
            edges.push(E {
                ring,
                idx,
                a,
                b,
                x_lo: a.x.min(b.x),
                x_hi: a.x.max(b.x),
            });
        }
    }
    edges.sort_by(|p, q| p.x_lo.total_cmp(&q.x_lo));
    for (i, e) in edges.iter().enumerate() {
        for f in &edges[i + 1..] {
            if f.x_lo > e.x_hi {
                break;
            }
            if e.a.y.max(e.b.y) < f.a.y.min(f.b.y) || f.a.y.max(f.b.y) < e.a.y.min(e.b.y) {
                continue;
            }
            let (first, second) = if (e.ring, e.idx) < (f.ring, f.idx) {
                (e, f)
            } else {
                (f, e)
            };
            let n = rings[first.ring].1.len();
            let neighbours = first.ring == second.ring
                && (second.idx == first.idx + 1 || (first.idx == 0 && second.idx == n - 1));
            let meet = if neighbours {
                // Neighbours share a vertex; they only conflict when one folds back on the other.
                let (u, v) = if second.idx == first.idx + 1 {
                    (first, second)
                } else {
                    (second, first)
                };
                let back = orient(u.a, u.b, v.b).abs() <= 1e-9 * dist(u.a, u.b).max(1.0).powi(2)
                    && (u.b.x - u.a.x) * (v.b.x - v.a.x) + (u.b.y - u.a.y) * (v.b.y - v.a.y) < 0.0;
                back.then_some(u.b)
            } else {
                segment_meet(first.a, first.b, second.a, second.b)
            };
            if let Some(at) = meet {
                let location = if first.ring == second.ring {
                    rings[first.ring].0.clone()
                } else {
                    format!("{} and {}", rings[first.ring].0, rings[second.ring].0)
                };
                return Err(PlanError::SelfIntersection {
                    location,
                    edge_a: first.idx,
                    edge_b: second.idx,
                    at: frame.to_latlon(at),
                });
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sq(lat: f64, lon: f64, d: f64) -> Vec<LatLon> {
        vec![
            LatLon::new(lat, lon),
            LatLon::new(lat, lon + d),
            LatLon::new(lat + d, lon + d),
            LatLon::new(lat + d, lon),
        ]
    }

    fn err(areas: &[SurveyArea], nf: &[SurveyArea]) -> String {
        Area::new(areas, nf, 500e6)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn valid_square_with_hole() {
        let a = SurveyArea {
            exterior: sq(37.0, -122.0, 0.01),
            holes: vec![sq(37.004, -121.996, 0.001)],
        };
        let area = Area::new(&[a], &[], 500e6).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            (area.area_m2() - (1.1132e6 * 0.889 - 1.1132e4 * 0.889)).abs() / area.area_m2() < 0.01,
            "{}",
            area.area_m2()
        );
    }

    #[test]
    fn problems_are_named() {
        let bow = vec![
            LatLon::new(0.0, 0.0),
            LatLon::new(0.01, 0.01),
            LatLon::new(0.0, 0.01),
            LatLon::new(0.01, 0.0),
        ];
        let e = err(
            &[SurveyArea {
                exterior: bow,
                holes: vec![],
            }],
            &[],
        );
        assert!(
            e.contains("polygon 1 exterior ring: edge 0 crosses edge 2"),
            "{e}"
        );
        let two = vec![
            LatLon::new(0.0, 0.0),
            LatLon::new(0.01, 0.01),
            LatLon::new(0.0, 0.0),
        ];
        assert!(
            err(
                &[SurveyArea {
                    exterior: two,
                    holes: vec![]
                }],
                &[]
            )
            .contains("only 2 distinct")
        );
        let line = vec![
            LatLon::new(0.0, 0.0),
            LatLon::new(0.01, 0.01),
            LatLon::new(0.02, 0.02),
        ];
        assert!(
            err(
                &[SurveyArea {
                    exterior: line,
                    holes: vec![]
                }],
                &[]
            )
            .contains("zero area")
        );
        let far = vec![
            LatLon::new(0.0, 0.0),
            LatLon::new(91.0, 0.01),
            LatLon::new(0.02, 0.0),
        ];
        let e = err(
            &[SurveyArea {
                exterior: far,
                holes: vec![],
            }],
            &[],
        );
        assert!(e.contains("point 1") && e.contains("latitude 91"), "{e}");
        let big = SurveyArea {
            exterior: sq(37.0, -122.0, 0.5),
            holes: vec![],
        };
        assert!(err(&[big], &[]).contains("larger than the maximum of 500.0 km²"));
        let base = SurveyArea {
            exterior: sq(37.0, -122.0, 0.01),
            holes: vec![],
        };
        let cover = SurveyArea {
            exterior: sq(36.99, -122.01, 0.03),
            holes: vec![],
        };
        assert!(
            err(std::slice::from_ref(&base), &[cover]).contains("no-fly zones cover the whole")
        );
        let outside = SurveyArea {
            exterior: sq(37.0, -122.0, 0.01),
            holes: vec![sq(37.02, -122.0, 0.001)],
        };
        assert!(err(&[outside], &[]).contains("hole 1: the hole is not inside"));
        let crossing = SurveyArea {
            exterior: sq(37.0, -122.0, 0.01),
            holes: vec![sq(37.009, -121.995, 0.002)],
        };
        let e = err(&[crossing], &[]);
        assert!(
            e.contains("polygon 1 exterior ring and polygon 1 hole 1"),
            "{e}"
        );
    }
}
