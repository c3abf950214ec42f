//! Straight legs of a finished plan that cross a no-fly zone. The survey path is routed around
//! the zones, but the legs from home to the survey and back are flown straight; until they are
//! routed too, every plan is checked and a crossing is reported so the operator sees it before
//! the flight.

use crate::frame::{LocalFrame, point_segment_distance_m};
use crate::plan::Plan;
use aviary_core::{LatLon, SurveyArea};
use geo::Coord;

/// A leg of the mission items that crosses a no-fly zone, or a home inside one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoFlyCrossing {
    /// Index in [`Plan::items`] of the leg's first item (the leg ends at the next item).
    pub from_item: usize,
    /// Index of the zone in [`Plan::no_fly`].
    pub zone: usize,
    /// True when the leg takes off from or returns to home (a transit, not the survey).
    pub transit: bool,
}

impl std::fmt::Display for NoFlyCrossing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (zone, a, b) = (self.zone + 1, self.from_item + 1, self.from_item + 2);
        if self.transit {
            write!(
                f,
                "the straight leg between home and the survey (items {a}-{b}) crosses no-fly \
                 zone {zone}: legs to and from home are not routed around zones; move home or \
                 check the route"
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
    /// not a crossing.
    pub fn no_fly_crossings(&self) -> Vec<NoFlyCrossing> {
        crossings(
            self.home,
            &self.items.iter().map(|w| w.pos).collect::<Vec<_>>(),
            &self.no_fly,
        )
    }
}

/// See [`Plan::no_fly_crossings`]: `path` are the items' positions in order, flown from and
/// back to `home`.
pub fn crossings(home: LatLon, path: &[LatLon], zones: &[SurveyArea]) -> Vec<NoFlyCrossing> {
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
            let transit = i == 0 || i + 2 == pts.len();
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
        let c = crossings(home, &path, std::slice::from_ref(&zone));
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
        let c = crossings(home, &path, std::slice::from_ref(&zone));
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].from_item, 1);
        assert!(!c[0].transit);

        let around_home = square(home.offset_ne(-10.0, -10.0), 20.0);
        let c = crossings(home, &path, &[around_home]);
        assert!(c.len() == 1 && c[0].transit, "{c:?}");
        assert!(crossings(home, &path, &[]).is_empty());
    }
}
