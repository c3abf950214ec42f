//! Transit legs: the flights from home (or a sortie's launch point) to the survey and back.
//! [`Transits`] routes them around the no-fly zones, inflated by [`TRANSIT_CLEARANCE_M`],
//! over a visibility graph of the zones' corners inside a rectangle around the survey, home
//! and the zones; the shortest paths between corners are worked out once per plan, so a
//! sortie split that asks for thousands of return legs pays a few sight-line tests each.
//! [`Plan::no_fly_crossings`] is the guard that checks the finished mission: every leg of a
//! planned mission keeps out of every zone, so it is empty for every plan the planner returns.

use std::ops::Range;

use aviary_core::{LatLon, SurveyArea, Waypoint};
use geo::algorithm::buffer::{BufferStyle, LineJoin};
use geo::{BooleanOps, Buffer, Coord, LineString, MultiPolygon, Polygon, Simplify};

use crate::area::Area;
use crate::error::{PlanError, Result};
use crate::estimate::{SortieSpec, TransitVia};
use crate::frame::{LocalFrame, point_segment_distance_m};
use crate::plan::Plan;
use crate::sweep::{FreeSpace, Rings, Rot, Uv, dist};

/// A leg of the mission items that crosses a no-fly zone, or a home inside one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoFlyCrossing {
    /// Index in [`Plan::items`] of the leg's first item (the leg ends at the next item).
    pub from_item: usize,
    /// Index of the zone in [`Plan::no_fly`].
    pub zone: usize,
    /// True when the leg is part of a transit between home and the survey, not the survey.
    pub transit: bool,
}

impl std::fmt::Display for NoFlyCrossing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (zone, a, b) = (self.zone + 1, self.from_item + 1, self.from_item + 2);
        if self.transit {
            write!(
                f,
                "the transit leg between home and the survey (items {a}-{b}) crosses no-fly \
                 zone {zone}: move home or check the route"
            )
        } else {
            write!(
                f,
                "the leg between items {a} and {b} crosses no-fly zone {zone}"
            )
        }
    }
}

impl Plan {
    /// Every leg of the mission items that crosses the inside of a no-fly zone (at most one
    /// per zone and leg kind), home inside a zone included. Touching a zone's edge or vertex is
    /// not a crossing. The planner routes transits around the zones, so this is empty for
    /// every plan it returns: a guard, not a warning the operator is expected to see.
    pub fn no_fly_crossings(&self) -> Vec<NoFlyCrossing> {
        crossings(
            self.home,
            &self.items.iter().map(|w| w.pos).collect::<Vec<_>>(),
            self.survey_items.clone(),
            &self.no_fly,
        )
    }
}

/// See [`Plan::no_fly_crossings`]: `path` are the items' positions in order, flown from and
/// back to `home`; the legs between items of `survey` are the survey, the others transits.
pub fn crossings(
    home: LatLon,
    path: &[LatLon],
    survey: Range<usize>,
    zones: &[SurveyArea],
) -> Vec<NoFlyCrossing> {
    let frame = LocalFrame::new(home);
    let pts: Vec<Coord> = path.iter().map(|p| frame.to_local(*p)).collect();
    let home_xy = frame.to_local(home);
    let mut out = Vec::new();
    for (zi, zone) in zones.iter().enumerate() {
        let ring: Vec<Coord> = zone.exterior.iter().map(|p| frame.to_local(*p)).collect();
        if ring.len() < 3 {
            continue;
        }
        let mut seen_transit = false;
        let mut seen_survey = false;
        if strictly_inside(home_xy, &ring) {
            out.push(NoFlyCrossing {
                from_item: 0,
                zone: zi,
                transit: true,
            });
            continue;
        }
        for (i, w) in pts.windows(2).enumerate() {
            let (a, b) = (w[0], w[1]);
            let transit = !(survey.start <= i && i + 1 < survey.end);
            if (transit && seen_transit) || (!transit && seen_survey) {
                continue;
            }
            if leg_crosses(a, b, &ring) {
                out.push(NoFlyCrossing {
                    from_item: i,
                    zone: zi,
                    transit,
                });
                if transit {
                    seen_transit = true;
                } else {
                    seen_survey = true;
                }
            }
        }
    }
    out
}

/// Whether segment `a`–`b` passes through the inside of `ring`: a proper crossing of one of
/// its edges, or a midpoint inside.
fn leg_crosses(a: Coord, b: Coord, ring: &[Coord]) -> bool {
    if (b.x - a.x).hypot(b.y - a.y) < 1e-9 {
        return false;
    }
    let n = ring.len();
    let proper = (0..n).any(|i| proper_cross(a, b, ring[i], ring[(i + 1) % n]));
    proper
        || strictly_inside(
            Coord {
                x: f64::midpoint(a.x, b.x),
                y: f64::midpoint(a.y, b.y),
            },
            ring,
        )
}

/// Twice the signed area of `o`, `a`, `b`, in m².
fn orient(o: Coord, a: Coord, b: Coord) -> f64 {
    (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x)
}

/// Segments cross at one point inside both, each end more than 0.5 m off the other segment's
/// line: a path that runs along or grazes a zone's edge or corner (as the survey routing does,
/// to within rounding) is not a crossing.
fn proper_cross(a: Coord, b: Coord, c: Coord, d: Coord) -> bool {
    const TOL_M: f64 = 0.5;
    let len_ab = (b.x - a.x).hypot(b.y - a.y);
    let len_cd = (d.x - c.x).hypot(d.y - c.y);
    if len_ab < TOL_M || len_cd < TOL_M {
        return false;
    }
    let (o1, o2) = (orient(a, b, c) / len_ab, orient(a, b, d) / len_ab);
    let (o3, o4) = (orient(c, d, a) / len_cd, orient(c, d, b) / len_cd);
    let apart = |p: f64, q: f64| (p > TOL_M && q < -TOL_M) || (p < -TOL_M && q > TOL_M);
    apart(o1, o2) && apart(o3, o4)
}

/// Inside by the even-odd rule and more than 0.5 m from every edge.
fn strictly_inside(p: Coord, ring: &[Coord]) -> bool {
    let n = ring.len();
    let mut inside = false;
    for i in 0..n {
        let (a, b) = (ring[i], ring[(i + 1) % n]);
        if point_segment_distance_m(p, a, b) < 0.5 {
            return false;
        }
        if (a.y > p.y) != (b.y > p.y) && p.x < a.x + (p.y - a.y) * (b.x - a.x) / (b.y - a.y) {
            inside = !inside;
        }
    }
    inside
}

// --- transit legs of a plan ---------------------------------------------------------------

/// The transit points of a flight from `launch` over `pts`, or the error naming the leg that
/// has no route around the no-fly zones.
pub(crate) fn transit_via(
    spec: &SortieSpec<'_>,
    launch: Coord,
    pts: &[Coord],
    to_ll: &dyn Fn(Coord) -> LatLon,
) -> Result<TransitVia<Coord>> {
    spec.via(launch, pts).ok_or_else(|| {
        let first = pts.first().copied().unwrap_or(launch);
        let last = pts.last().copied().unwrap_or(launch);
        let out_blocked = spec
            .transits
            .is_some_and(|t| t.route(launch, first).is_none());
        let (from, to) = if out_blocked {
            (launch, first)
        } else {
            (last, launch)
        };
        PlanError::NoTransitRoute {
            from: to_ll(from),
            to: to_ll(to),
        }
    })
}

/// The transit points in WGS84.
pub(crate) fn via_latlon(
    via: &TransitVia<Coord>,
    to_ll: &dyn Fn(Coord) -> LatLon,
) -> TransitVia<LatLon> {
    TransitVia {
        out: via.out.iter().map(|c| to_ll(*c)).collect(),
        back: via.back.iter().map(|c| to_ll(*c)).collect(),
    }
}

/// The guard behind the routing: a mission whose transit (a leg outside `survey`) still
/// crosses a no-fly zone is refused, never returned.
pub(crate) fn refuse_transit_crossings(
    launch: LatLon,
    items: &[Waypoint],
    survey: std::ops::Range<usize>,
    zones: &[SurveyArea],
) -> Result<()> {
    if zones.is_empty() {
        return Ok(());
    }
    let pos: Vec<LatLon> = items.iter().map(|w| w.pos).collect();
    match crossings(launch, &pos, survey, zones)
        .into_iter()
        .find(|c| c.transit)
    {
        Some(c) => Err(PlanError::NoTransitRoute {
            from: pos.get(c.from_item).copied().unwrap_or(launch),
            to: pos.get(c.from_item + 1).copied().unwrap_or(launch),
        }),
        None => Ok(()),
    }
}

// --- routing ------------------------------------------------------------------------------

/// Clearance kept between a routed transit and a no-fly zone, metres: the zones are inflated
/// by it before routing. A leg that starts or ends closer than that to a zone (a survey point
/// on a zone's edge, where the zone cuts the area) keeps out of the zone itself.
pub const TRANSIT_CLEARANCE_M: f64 = 5.0;

/// How far beyond the survey areas, home and the zones a transit may fly, metres.
const TRANSIT_MARGIN_M: f64 = 200.0;

/// Routes of the legs between home (or a launch point) and the survey around the no-fly zones,
/// in the area's local frame. Built once per plan; `None` from [`Transits::new`] when there are
/// no zones, and every leg is flown straight.
#[derive(Debug)]
pub(crate) struct Transits {
    rot: Rot,
    /// The rectangle minus the zones as they are.
    raw: FreeSpace,
    /// The zones' outer rings, for the guard's own test of a leg that runs along an edge.
    zone_rings: Vec<Vec<Coord>>,
    /// The rectangle minus the zones inflated by the clearance.
    inflated: FreeSpace,
    /// Corners of the inflated zones where a shortest path may bend (reflex corners of the
    /// free space), a centimetre off the corner into the free side.
    nodes: Vec<Uv>,
    /// Shortest distance between nodes (row-major `n × n`), infinite when there is no route.
    dist_m: Vec<f64>,
    /// Next node on the shortest path from row to column.
    next: Vec<u32>,
}

/// The best way from one point to another: straight, or through nodes `first` to `last`.
#[derive(Debug, Clone, Copy)]
enum Way {
    Straight(f64),
    Via {
        len_m: f64,
        first: usize,
        last: usize,
    },
}

impl Transits {
    /// The routes around `area`'s no-fly zones for a mission from `home` (local metres; none
    /// given: the mission takes off on the survey). `Ok(None)` without zones. Errors when home
    /// is inside a zone.
    pub fn new(area: &Area, home: Option<Coord>) -> Result<Option<Self>> {
        let zones = area.no_fly_local();
        if zones.0.is_empty() {
            return Ok(None);
        }
        if let Some(home) = home {
            for (i, zone) in zones.0.iter().enumerate() {
                let in_hole = zone.interiors().iter().any(|h| strictly_inside(home, &h.0));
                if strictly_inside(home, &zone.exterior().0) && !in_hole {
                    return Err(PlanError::HomeInNoFlyZone { zone: i + 1 });
                }
            }
        }
        let rings = area.survey_local().0.iter().chain(&zones.0);
        let start = home
            .or_else(|| rings.clone().find_map(|p| p.exterior().0.first()).copied())
            .unwrap_or(Coord { x: 0.0, y: 0.0 });
        let (mut lo, mut hi) = (start, start);
        for c in rings.flat_map(|p| p.exterior().0.iter()) {
            lo = Coord {
                x: lo.x.min(c.x),
                y: lo.y.min(c.y),
            };
            hi = Coord {
                x: hi.x.max(c.x),
                y: hi.y.max(c.y),
            };
        }
        let m = TRANSIT_MARGIN_M;
        let rect = MultiPolygon(vec![Polygon::new(
            LineString::from(vec![
                (lo.x - m, lo.y - m),
                (hi.x + m, lo.y - m),
                (hi.x + m, hi.y + m),
                (lo.x - m, hi.y + m),
                (lo.x - m, lo.y - m),
            ]),
            vec![],
        )]);
        // Mitred corners keep a zone's corner count; the simplification (half the clearance)
        // drops the vertices of curved outlines and still keeps half the clearance.
        let style = BufferStyle::new(TRANSIT_CLEARANCE_M).line_join(LineJoin::Miter(2.0));
        let grown = zones
            .buffer_with_style(style)
            .simplify(TRANSIT_CLEARANCE_M / 2.0);
        let rot = Rot::new(0.0);
        let bin_h_m = ((hi.x - lo.x).max(hi.y - lo.y) / 200.0).max(1.0);
        let raw = FreeSpace::new(
            Rings::from_multipolygon(&rect.difference(zones), rot),
            bin_h_m,
        );
        let inflated = FreeSpace::new(
            Rings::from_multipolygon(&rect.difference(&grown), rot),
            bin_h_m,
        );
        let nodes = bend_nodes(&inflated);
        let (dist_m, next) = shortest_paths(&inflated, &nodes);
        Ok(Some(Self {
            rot,
            raw,
            zone_rings: zones.0.iter().map(|z| z.exterior().0.clone()).collect(),
            inflated,
            nodes,
            dist_m,
            next,
        }))
    }

    /// Whether the straight leg `a`–`b` may be flown: with the clearance when both ends keep
    /// it, else (an end on a zone's edge) outside the zones themselves.
    fn leg_clear(&self, a: Uv, b: Uv) -> bool {
        if self.inflated.inside(a) && self.inflated.inside(b) {
            self.inflated.clear(a, b)
        } else {
            // A leg along a zone's edge (a survey connector that follows it, cut by a sortie)
            // is not clear to the inside test of points on the edge; it is no crossing either.
            self.raw.clear(a, b) || {
                let (p, q) = (self.rot.inv(a), self.rot.inv(b));
                !self.zone_rings.iter().any(|r| leg_crosses(p, q, r))
            }
        }
    }

    fn way(&self, a: Uv, b: Uv) -> Option<Way> {
        if self.leg_clear(a, b) {
            return Some(Way::Straight(dist(a, b)));
        }
        let n = self.nodes.len();
        let seen = |p: Uv| -> Vec<(usize, f64)> {
            (0..n)
                .filter(|&i| self.leg_clear(p, self.nodes[i]))
                .map(|i| (i, dist(p, self.nodes[i])))
                .collect()
        };
        let (from_a, to_b) = (seen(a), seen(b));
        let mut best: Option<(f64, usize, usize)> = None;
        for &(i, da) in &from_a {
            for &(j, db) in &to_b {
                let len_m = da + self.dist_m[i * n + j] + db;
                if len_m.is_finite() && best.is_none_or(|(l, ..)| len_m < l) {
                    best = Some((len_m, i, j));
                }
            }
        }
        best.map(|(len_m, first, last)| Way::Via { len_m, first, last })
    }

    /// The points a transit from `a` to `b` (local metres) flies through between them: empty
    /// when the straight leg keeps out of the zones. `None` when no route exists.
    pub fn route(&self, a: Coord, b: Coord) -> Option<Vec<Coord>> {
        let n = self.nodes.len();
        match self.way(self.rot.fwd(a), self.rot.fwd(b))? {
            Way::Straight(_) => Some(Vec::new()),
            Way::Via { first, last, .. } => {
                let mut via = vec![self.rot.inv(self.nodes[first])];
                let mut at = first;
                while at != last {
                    at = self.next[at * n + last] as usize;
                    via.push(self.rot.inv(self.nodes[at]));
                }
                Some(via)
            }
        }
    }

    /// Length of the transit from `a` to `b` and the number of points it flies through
    /// between them; `None` when no route exists.
    pub fn length_m(&self, a: Coord, b: Coord) -> Option<(f64, usize)> {
        let n = self.nodes.len();
        match self.way(self.rot.fwd(a), self.rot.fwd(b))? {
            Way::Straight(d) => Some((d, 0)),
            Way::Via { len_m, first, last } => {
                let mut count = 1;
                let mut at = first;
                while at != last {
                    at = self.next[at * n + last] as usize;
                    count += 1;
                }
                Some((len_m, count))
            }
        }
    }
}

/// The reflex corners of the free space (where the obstacle is convex), nudged a centimetre
/// into the free side: the only places a shortest path bends.
fn bend_nodes(fs: &FreeSpace) -> Vec<Uv> {
    let mut nodes = Vec::new();
    for r in &fs.rings.rings {
        let n = r.len();
        for i in 0..n {
            let (p, q, s) = (r[(i + n - 1) % n], r[i], r[(i + 1) % n]);
            let (lp, ls) = (dist(p, q), dist(s, q));
            if lp < 1e-9 || ls < 1e-9 {
                continue;
            }
            // The bisector points into the angle under 180°: the obstacle at a reflex corner.
            let (bu, bv) = (
                (p.u - q.u) / lp + (s.u - q.u) / ls,
                (p.v - q.v) / lp + (s.v - q.v) / ls,
            );
            let bl = bu.hypot(bv);
            if bl < 1e-6 {
                continue;
            }
            let at = |k: f64| Uv {
                u: q.u + k * bu / bl,
                v: q.v + k * bv / bl,
            };
            if fs.inside(at(-0.01)) && !fs.inside(at(0.01)) {
                nodes.push(at(-0.01));
            }
        }
    }
    nodes
}

/// All-pairs shortest paths over the visibility graph of `nodes` (Floyd–Warshall): distances
/// and next hops, row-major.
fn shortest_paths(fs: &FreeSpace, nodes: &[Uv]) -> (Vec<f64>, Vec<u32>) {
    let n = nodes.len();
    let mut d = vec![f64::INFINITY; n * n];
    let mut next = vec![u32::MAX; n * n];
    for i in 0..n {
        d[i * n + i] = 0.0;
        next[i * n + i] = i as u32;
        for j in i + 1..n {
            if fs.clear(nodes[i], nodes[j]) {
                let len = dist(nodes[i], nodes[j]);
                d[i * n + j] = len;
                d[j * n + i] = len;
                next[i * n + j] = j as u32;
                next[j * n + i] = i as u32;
            }
        }
    }
    for k in 0..n {
        for i in 0..n {
            let dik = d[i * n + k];
            if !dik.is_finite() {
                continue;
            }
            for j in 0..n {
                let via = dik + d[k * n + j];
                if via < d[i * n + j] {
                    d[i * n + j] = via;
                    next[i * n + j] = next[i * n + k];
                }
            }
        }
    }
    (d, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn square(sw: LatLon, side_m: f64) -> SurveyArea {
        SurveyArea {
            exterior: vec![
                sw,
                sw.offset_ne(0.0, side_m),
                sw.offset_ne(side_m, side_m),
                sw.offset_ne(side_m, 0.0),
            ],
            holes: vec![],
        }
    }

    #[test]
    fn a_return_leg_through_a_zone_is_a_transit_crossing_and_a_grazing_leg_is_not() {
        let home = LatLon::new(51.9, 4.46);
        let zone = square(home.offset_ne(100.0, 100.0), 50.0);
        // takeoff at home, a survey leg that runs along the zone's south edge, back home
        // straight through the zone.
        let path = vec![
            home,
            home.offset_ne(0.0, 100.0),
            home.offset_ne(100.0, 100.0),
            home.offset_ne(100.0, 150.0),
            home.offset_ne(300.0, 250.0),
            home,
        ];
        let c = crossings(home, &path, 1..5, std::slice::from_ref(&zone));
        assert_eq!(
            c,
            vec![NoFlyCrossing {
                from_item: 4,
                zone: 0,
                transit: true
            }]
        );
    }

    #[test]
    fn a_survey_leg_inside_a_zone_and_home_inside_a_zone_are_reported() {
        let home = LatLon::new(47.4, 8.5);
        let zone = square(home.offset_ne(100.0, 100.0), 100.0);
        let path = vec![
            home,
            home.offset_ne(50.0, 120.0),
            home.offset_ne(250.0, 120.0),
            home.offset_ne(250.0, 0.0),
            home,
        ];
        let c = crossings(home, &path, 1..4, std::slice::from_ref(&zone));
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].from_item, 1);
        assert!(!c[0].transit);

        let around_home = square(home.offset_ne(-10.0, -10.0), 20.0);
        let c = crossings(home, &path, 1..4, &[around_home]);
        assert!(c.len() == 1 && c[0].transit, "{c:?}");
        assert!(crossings(home, &path, 1..4, &[]).is_empty());
    }
}
