//! Estimates of a mission: length, duration (cruise plus a turn and climb model), photos,
//! covered area, energy, and the split into sorties when a mission exceeds the autopilot's
//! item limit or one battery.

use aviary_core::{LatLon, Waypoint, WaypointAction};
use geo::Coord;

use crate::error::{PlanError, Result};
use crate::params::Airframe;
use crate::sweep::fast_len;
use crate::transit::Transits;

mod coverage;

pub(crate) use coverage::coverage;

/// Figures for a whole mission or one sortie.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct Estimate {
    /// Mission items (takeoff, waypoints, camera commands, return).
    pub waypoints: usize,
    /// Horizontal path from home through every waypoint and back home, metres (for a plan
    /// with several sorties: the sum of the sorties, transits included).
    pub distance_m: f64,
    /// Part of the path flown with the camera on, metres.
    pub survey_distance_m: f64,
    /// Flight time: cruise, turns (brake and accelerate), climb and descent, seconds (summed
    /// over sorties).
    pub duration_s: f64,
    /// Photos taken (survey distance / trigger distance, one per start).
    pub photos: u64,
    /// Survey area (holes removed, no-fly zones included), m².
    pub area_m2: f64,
    /// Area that may be flown (no-fly zones removed), m².
    pub flyable_area_m2: f64,
    /// Flyable area inside the camera footprint of the survey path, m².
    pub covered_area_m2: f64,
    /// `covered_area_m2` as a share of the flyable area, percent.
    pub coverage_pct: f64,
    /// Share of the flyable area within half a line spacing of the survey path, percent.
    pub within_half_spacing_pct: f64,
    /// Energy used, watt-hours (summed over sorties).
    pub energy_wh: f64,
    /// Energy as a share of one full battery, percent (over 100: several batteries).
    pub battery_pct: f64,
    /// Connectors that could not be routed inside the area (flown straight).
    pub unrouted_connectors: usize,
}

/// Time and energy of a horizontal path.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Flight {
    pub distance_m: f64,
    pub cruise_s: f64,
    pub turn_s: f64,
}

/// Heading change at `b` between legs `a→b` and `b→c`, degrees 0..180.
fn turn_deg(a: Coord, b: Coord, c: Coord) -> f64 {
    let (x1, y1, x2, y2) = (b.x - a.x, b.y - a.y, c.x - b.x, c.y - b.y);
    let (l1, l2) = (fast_len(x1, y1), fast_len(x2, y2));
    if l1 < 1e-9 || l2 < 1e-9 {
        return 0.0;
    }
    ((x1 * x2 + y1 * y2) / (l1 * l2))
        .clamp(-1.0, 1.0)
        .acos()
        .to_degrees()
}

/// A turn of `deg` costs the time to brake to zero and speed up again, in proportion.
fn turn_s(deg: f64, speed_mps: f64, af: &Airframe) -> f64 {
    deg / 180.0 * 2.0 * speed_mps / af.accel_mps2
}

pub(crate) fn flight(points: &[Coord], speed_mps: f64, af: &Airframe) -> Flight {
    let mut f = Flight::default();
    for w in points.windows(2) {
        f.distance_m += fast_len(w[1].x - w[0].x, w[1].y - w[0].y);
    }
    for w in points.windows(3) {
        f.turn_s += turn_s(turn_deg(w[0], w[1], w[2]), speed_mps, af);
    }
    f.cruise_s = f.distance_m / speed_mps;
    f
}

pub(crate) fn energy_wh(f: &Flight, alt_rel_m: f64, af: &Airframe) -> (f64, f64) {
    let climb_s = alt_rel_m / af.climb_rate_mps;
    let descent_s = alt_rel_m / af.descent_rate_mps;
    let duration_s = f.cruise_s + f.turn_s + climb_s + descent_s;
    let wh = (af.cruise_power_w * f.cruise_s
        + af.hover_power_w * (f.turn_s + descent_s)
        + af.climb_power_w * climb_s)
        / 3600.0;
    (duration_s, wh)
}

/// Figures of a mission already written down (a `.plan` or WPL file read back): the path
/// from `home` through every positioned item and back, flown at `speed_mps`.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct RouteEstimate {
    /// Horizontal path, metres.
    pub distance_m: f64,
    /// Flight time with turns, climb and descent, seconds.
    pub duration_s: f64,
    /// Energy, watt-hours.
    pub energy_wh: f64,
    /// Energy as a share of one full battery, percent.
    pub battery_pct: f64,
    /// Highest item altitude above home, metres.
    pub alt_rel_m: f64,
}

/// Estimates a written-down mission with the same model as the planner's own estimates.
pub fn estimate_route(
    home: LatLon,
    items: &[Waypoint],
    speed_mps: f64,
    airframe: &Airframe,
) -> RouteEstimate {
    let frame = crate::frame::LocalFrame::new(home);
    let mut pts = vec![frame.to_local(home)];
    pts.extend(
        items
            .iter()
            .filter(|w| w.pos != LatLon::default())
            .map(|w| frame.to_local(w.pos)),
    );
    pts.push(frame.to_local(home));
    let alt_rel_m = items.iter().map(|w| w.alt_rel_m).fold(0.0, f64::max);
    let f = flight(&pts, speed_mps.max(0.1), airframe);
    let (duration_s, energy_wh) = energy_wh(&f, alt_rel_m, airframe);
    RouteEstimate {
        distance_m: f.distance_m,
        duration_s,
        energy_wh,
        battery_pct: energy_wh / airframe.battery_wh.max(f64::MIN_POSITIVE) * 100.0,
        alt_rel_m,
    }
}

/// Vertical figures of a path: its 3D length, the metres climbed and the time its legs take
/// beyond their horizontal flight because the climb or descent rate is slower.
fn vertical(home: LatLon, items: &[Waypoint], speed_mps: f64, af: &Airframe) -> (f64, f64, f64) {
    let (mut len_m, mut climb_m, mut wait_s) = (0.0, 0.0, 0.0);
    let mut prev = (home, 0.0);
    for w in items.iter().filter(|w| w.pos != LatLon::default()) {
        let d = prev.0.distance_m(w.pos);
        let dh = w.alt_rel_m - prev.1;
        len_m += d.hypot(dh);
        climb_m += dh.max(0.0);
        let vertical_s = if dh >= 0.0 {
            dh / af.climb_rate_mps
        } else {
            -dh / af.descent_rate_mps
        };
        wait_s += (vertical_s - d / speed_mps.max(0.1)).max(0.0);
        prev = (w.pos, w.alt_rel_m);
    }
    (len_m, climb_m, wait_s)
}

/// What flying `followed` (the same mission following the terrain: other altitudes, points
/// added) adds to the estimate of `flat`: the longer 3D path, the time where a leg's climb
/// or descent outlasts its horizontal flight, and the energy of every metre climbed beyond
/// the flat mission's (climb power over hover power while climbing). Added to the plan's own
/// estimate, which keeps its sorties' transits.
pub fn terrain_extra(
    home: LatLon,
    flat: &[Waypoint],
    followed: &[Waypoint],
    speed_mps: f64,
    airframe: &Airframe,
) -> RouteEstimate {
    let (flat_len, flat_climb, flat_wait) = vertical(home, flat, speed_mps, airframe);
    let (len, climb, wait) = vertical(home, followed, speed_mps, airframe);
    let climb_m = (climb - flat_climb).max(0.0);
    let energy_wh = climb_m / airframe.climb_rate_mps
        * (airframe.climb_power_w - airframe.hover_power_w).max(0.0)
        / 3600.0;
    RouteEstimate {
        distance_m: (len - flat_len).max(0.0),
        duration_s: (wait - flat_wait).max(0.0),
        energy_wh,
        battery_pct: energy_wh / airframe.battery_wh.max(f64::MIN_POSITIVE) * 100.0,
        alt_rel_m: followed.iter().map(|w| w.alt_rel_m).fold(0.0, f64::max),
    }
}

pub(crate) fn photos(survey_distance_m: f64, trigger_distance_m: Option<f64>) -> u64 {
    trigger_distance_m.map_or(0, |t| (survey_distance_m / t).floor() as u64 + 1)
}

// --- sorties --------------------------------------------------------------------------------

/// One flight on one battery: a complete mission from takeoff to return.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sortie {
    /// 1-based number of the sortie.
    pub number: usize,
    /// Where this sortie takes off and lands: home, or the resume point when home is out of
    /// the battery's reach.
    pub launch_at: LatLon,
    /// Where the survey resumes (the first survey waypoint of this sortie).
    pub resume_at: LatLon,
    /// Where this sortie stops surveying (the next one resumes here).
    pub stop_at: LatLon,
    /// The complete mission of this sortie.
    pub items: Vec<Waypoint>,
    /// Estimates of this sortie.
    pub estimate: Estimate,
}

/// What a sortie needs to know of the mission.
pub(crate) struct SortieSpec<'a> {
    pub home: Coord,
    pub alt_rel_m: f64,
    pub speed_mps: f64,
    pub trigger_distance_m: Option<f64>,
    pub max_items: usize,
    pub airframe: &'a Airframe,
    /// Routes of the transits around the no-fly zones; `None`: flown straight.
    pub transits: Option<&'a Transits>,
}

/// The transit legs of a mission: the points flown through between home (or the launch point)
/// and the first survey point, and between the last survey point and home.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct TransitVia<T> {
    pub out: Vec<T>,
    pub back: Vec<T>,
}

/// Items around a survey path: takeoff, the transit out (plain waypoints), first waypoint,
/// camera start, waypoints, camera stop, the transit back (plain waypoints), return to launch.
/// The camera runs from the first survey point to the last only.
pub(crate) fn mission_items(
    home: LatLon,
    survey: &[LatLon],
    via: &TransitVia<LatLon>,
    alt_rel_m: f64,
    trigger_distance_m: Option<f64>,
) -> Vec<Waypoint> {
    let wp = |pos: LatLon, action: WaypointAction| Waypoint {
        pos,
        alt_rel_m,
        action,
    };
    let mut items = Vec::with_capacity(survey.len() + via.out.len() + via.back.len() + 4);
    items.push(wp(home, WaypointAction::Takeoff));
    items.extend(via.out.iter().map(|p| wp(*p, WaypointAction::FlyThrough)));
    for (i, p) in survey.iter().enumerate() {
        items.push(wp(*p, WaypointAction::FlyThrough));
        if i == 0
            && let Some(d) = trigger_distance_m
        {
            items.push(wp(*p, WaypointAction::CameraTriggerStart { distance_m: d }));
        }
    }
    if trigger_distance_m.is_some()
        && let Some(last) = survey.last()
    {
        items.push(wp(*last, WaypointAction::CameraTriggerStop));
    }
    items.extend(via.back.iter().map(|p| wp(*p, WaypointAction::FlyThrough)));
    items.push(wp(home, WaypointAction::ReturnToLaunch));
    items
}

/// The index range in [`mission_items`]' output of the survey: from its first survey point
/// to its camera stop (or last survey point).
pub(crate) fn survey_item_range(items: usize, via: &TransitVia<LatLon>) -> std::ops::Range<usize> {
    let start = (1 + via.out.len()).min(items);
    let end = items.saturating_sub(1 + via.back.len()).max(start);
    start..end
}

fn sortie_flight_from(
    spec: &SortieSpec<'_>,
    launch: Coord,
    via: &TransitVia<Coord>,
    pts: &[Coord],
) -> (Flight, f64, f64) {
    let mut all = Vec::with_capacity(pts.len() + via.out.len() + via.back.len() + 2);
    all.push(launch);
    all.extend_from_slice(&via.out);
    all.extend_from_slice(pts);
    all.extend_from_slice(&via.back);
    all.push(launch);
    let f = flight(&all, spec.speed_mps, spec.airframe);
    let (duration_s, wh) = energy_wh(&f, spec.alt_rel_m, spec.airframe);
    (f, duration_s, wh)
}

/// Length of the leg from `a` to `b`.
fn leg_m(a: Coord, b: Coord) -> f64 {
    fast_len(b.x - a.x, b.y - a.y)
}

/// A transit as the sortie split weighs it: its length, the turn time its route may add
/// (a bound: every bend and the turn onto the survey at 180°) and its points between the ends.
#[derive(Debug, Clone, Copy)]
struct Leg {
    len_m: f64,
    turn_s: f64,
    via: usize,
}

impl SortieSpec<'_> {
    /// Seconds the turn at `b` (from `a`, towards `c`) costs.
    fn turn_s(&self, a: Coord, b: Coord, c: Coord) -> f64 {
        turn_s(turn_deg(a, b, c), self.speed_mps, self.airframe)
    }

    /// The transit from `a` to `b`: straight without zones, else routed around them
    /// (infinitely long when no route exists).
    fn leg(&self, a: Coord, b: Coord) -> Leg {
        let straight = Leg {
            len_m: leg_m(a, b),
            turn_s: 0.0,
            via: 0,
        };
        let Some(t) = self.transits else {
            return straight;
        };
        match t.length_m(a, b) {
            Some((_, 0)) => straight,
            Some((len_m, via)) => Leg {
                len_m,
                turn_s: (via + 1) as f64 * turn_s(180.0, self.speed_mps, self.airframe),
                via,
            },
            None => Leg {
                len_m: f64::INFINITY,
                turn_s: 0.0,
                via: 0,
            },
        }
    }

    /// The points the transits of a sortie from `launch` over `pts` fly through; `None` when
    /// one of them has no route around the zones.
    pub(crate) fn via(&self, launch: Coord, pts: &[Coord]) -> Option<TransitVia<Coord>> {
        let (Some(t), Some(first), Some(last)) = (self.transits, pts.first(), pts.last()) else {
            return Some(TransitVia::default());
        };
        Some(TransitVia {
            out: t.route(launch, *first)?,
            back: t.route(*last, launch)?,
        })
    }
}

/// Energy of a sortie flying `total_m` with `turn_s` seconds of turns.
fn flight_wh(spec: &SortieSpec<'_>, total_m: f64, turn_s: f64) -> f64 {
    let f = Flight {
        distance_m: total_m,
        cruise_s: total_m / spec.speed_mps,
        turn_s,
    };
    energy_wh(&f, spec.alt_rel_m, spec.airframe).1
}

/// One piece of the survey path and where its sortie takes off and lands.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Piece {
    pub launch: Coord,
    pub pts: Vec<Coord>,
    /// Per point, its index in the survey path, `None` for a cut inside a leg (so the caller
    /// reuses the path's projected points instead of projecting again).
    pub orig: Vec<Option<usize>>,
}

/// Splits the survey path into pieces each flyable on one battery and within the item limit;
/// pieces are cut at waypoints, or inside a leg when a leg does not fit. A sortie takes off
/// from home when it can reach its part and come back; otherwise the crew moves: the sortie
/// takes off from its resume point.
pub(crate) fn split_sorties(
    spec: &SortieSpec<'_>,
    path: &[Coord],
    to_latlon: &dyn Fn(Coord) -> LatLon,
) -> Result<Vec<Piece>> {
    let usable = spec.airframe.usable_wh();
    // Takeoff, camera start, camera stop and return take one item each.
    let max_pts = spec
        .max_items
        .saturating_sub(if spec.trigger_distance_m.is_some() {
            4
        } else {
            2
        })
        .max(2);
    let mut out: Vec<Piece> = Vec::new();
    if path.is_empty() {
        return Ok(out);
    }
    // One sortie when it fits (the item count first: the energy takes a pass over the path).
    if path.len() <= max_pts
        && let Some(via) = spec.via(spec.home, path)
        && path.len() + via.out.len() + via.back.len() <= max_pts
        && sortie_flight_from(spec, spec.home, &via, path).2 <= usable
    {
        out.push(Piece {
            launch: spec.home,
            pts: path.to_vec(),
            orig: (0..path.len()).map(Some).collect(),
        });
        return Ok(out);
    }
    let mut start = path[0];
    let mut start_orig = Some(0);
    let mut i = 1;
    while i < path.len() {
        // From home while the transit to the resume point and back costs at most a quarter of
        // the battery; beyond that the crew moves and the sortie takes off where it resumes.
        let transit_wh =
            out_and_back_wh(spec, spec.home, start) - out_and_back_wh(spec, start, start);
        let launches = if transit_wh <= usable / 4.0 {
            [spec.home, start]
        } else {
            [start, start]
        };
        let mut cur = None;
        for launch in launches {
            let run = Run::new(spec, launch, start, start_orig);
            if run.extend_into(spec, path[i], usable).is_some() {
                cur = Some(run);
                break;
            }
        }
        let Some(mut cur) = cur else {
            let need = Run::new(spec, start, start, None).wh_with(spec, Some(path[i]));
            return Err(PlanError::BatteryTooSmall {
                at: to_latlon(path[i]),
                needed_wh: need,
                usable_wh: usable,
            });
        };
        while i < path.len() && cur.pts.len() + cur.out.via < max_pts {
            let next = path[i];
            let (wh, turn_in) = cur.wh_next(spec, next);
            if wh <= usable {
                cur.push_turned(spec, next, Some(i), turn_in);
                i += 1;
                continue;
            }
            if let Some(x) = cur.extend_into(spec, next, usable) {
                cur.push(spec, x, (x == next).then_some(i));
            }
            break;
        }
        // The transit back may fly through points of its own: survey points are left to the
        // next sortie until they fit.
        while spec.transits.is_some()
            && cur.pts.len() + cur.out.via + spec.leg(cur.last(), cur.launch).via > max_pts
        {
            if cur.pts.len() <= 2 {
                return Err(PlanError::InvalidParam {
                    name: "max_mission_items",
                    value: spec.max_items as f64,
                    expected: "must leave room for the transits around the no-fly zones",
                });
            }
            cur.pts.pop();
            if let Some(Some(k)) = cur.orig.pop() {
                i = k;
            }
        }
        start = cur.last();
        start_orig = cur.orig.last().copied().flatten();
        out.push(Piece {
            launch: cur.launch,
            pts: cur.pts,
            orig: cur.orig,
        });
        if out.len() > 1_000_000 {
            break;
        }
    }
    Ok(out)
}

/// Energy of flying from `launch` to `p` and straight back (what [`Run::wh_with`] gives for a
/// run of the one point `p`, without building one).
fn out_and_back_wh(spec: &SortieSpec<'_>, launch: Coord, p: Coord) -> f64 {
    let (out, back) = (spec.leg(launch, p), spec.leg(p, launch));
    let total = out.len_m + back.len_m;
    flight_wh(
        spec,
        total,
        spec.turn_s(launch, p, launch) + out.turn_s + back.turn_s,
    )
}

/// A sortie being built: its launch point, survey points, their length and inner turn time.
struct Run {
    launch: Coord,
    /// The transit from the launch point to the first point.
    out: Leg,
    pts: Vec<Coord>,
    orig: Vec<Option<usize>>,
    dist_m: f64,
    inner_turn_s: f64,
    /// The turn at the first point (from the launch point towards the second), once there is
    /// a second point: it no longer changes.
    first_turn_s: Option<f64>,
}

impl Run {
    fn new(spec: &SortieSpec<'_>, launch: Coord, start: Coord, start_orig: Option<usize>) -> Self {
        // Room for a typical sortie's points without growing.
        let mut pts = Vec::with_capacity(16);
        pts.push(start);
        let mut orig = Vec::with_capacity(16);
        orig.push(start_orig);
        Self {
            launch,
            out: spec.leg(launch, start),
            pts,
            orig,
            dist_m: 0.0,
            inner_turn_s: 0.0,
            first_turn_s: None,
        }
    }

    fn last(&self) -> Coord {
        self.pts[self.pts.len() - 1]
    }

    fn push(&mut self, spec: &SortieSpec<'_>, p: Coord, orig: Option<usize>) {
        let turn_in = (self.pts.len() >= 2).then(|| {
            turn_s(
                turn_deg(self.pts[self.pts.len() - 2], self.last(), p),
                spec.speed_mps,
                spec.airframe,
            )
        });
        self.push_turned(spec, p, orig, turn_in);
    }

    /// [`Run::push`] with the turn at the current last point towards `p` already worked out
    /// (by [`Run::wh_next`]).
    fn push_turned(
        &mut self,
        spec: &SortieSpec<'_>,
        p: Coord,
        orig: Option<usize>,
        turn_in: Option<f64>,
    ) {
        self.orig.push(orig);
        let last = self.last();
        if let Some(t) = turn_in {
            self.inner_turn_s += t;
        }
        if self.pts.len() == 1 {
            self.first_turn_s = Some(turn_s(
                turn_deg(self.launch, last, p),
                spec.speed_mps,
                spec.airframe,
            ));
        }
        self.dist_m += fast_len(p.x - last.x, p.y - last.y);
        self.pts.push(p);
    }

    /// [`Run::wh_with`] `Some(x)`, and the turn at the last point towards `x` (for
    /// [`Run::push_turned`]).
    fn wh_next(&self, spec: &SortieSpec<'_>, x: Coord) -> (f64, Option<f64>) {
        let turn_in = (self.pts.len() >= 2).then(|| {
            turn_s(
                turn_deg(self.pts[self.pts.len() - 2], self.last(), x),
                spec.speed_mps,
                spec.airframe,
            )
        });
        (self.wh_extra(spec, x, turn_in), turn_in)
    }

    /// The farthest point towards `next` (more than a metre along) that still brings the drone
    /// back within `usable` watt-hours.
    fn extend_into(&self, spec: &SortieSpec<'_>, next: Coord, usable: f64) -> Option<Coord> {
        let last = self.last();
        let at = |t: f64| Coord {
            x: last.x + t * (next.x - last.x),
            y: last.y + t * (next.y - last.y),
        };
        if self.wh_with(spec, Some(next)) <= usable {
            return Some(next);
        }
        // Along the leg only the distance flown, the way home and the turn towards home vary:
        // the turns at the first and the last point look along the leg whatever the cut.
        let h = self.launch;
        let d = |a: Coord, b: Coord| fast_len(b.x - a.x, b.y - a.y);
        let tn =
            |a: Coord, b: Coord, c: Coord| turn_s(turn_deg(a, b, c), spec.speed_mps, spec.airframe);
        let first = self.pts[0];
        let second = if self.pts.len() >= 2 {
            self.pts[1]
        } else {
            next
        };
        let mut fixed_turn_s = self.inner_turn_s + tn(h, first, second) + self.out.turn_s;
        if self.pts.len() >= 2 {
            fixed_turn_s += tn(self.pts[self.pts.len() - 2], last, next);
        }
        let fixed_m = self.out.len_m + self.dist_m;
        let leg = d(last, next);
        let wh_at = |t: f64| {
            let x = at(t);
            let back = spec.leg(x, h);
            let total = fixed_m + t * leg + back.len_m;
            let f = Flight {
                distance_m: total,
                cruise_s: total / spec.speed_mps,
                turn_s: fixed_turn_s + tn(last, x, h) + back.turn_s,
            };
            energy_wh(&f, spec.alt_rel_m, spec.airframe).1
        };
        // Energy along the leg is smooth and nearly linear: regula falsi (Illinois) keeps a
        // bracket [feasible, infeasible] and closes it in a few steps where bisection took 20.
        let (mut lo, mut hi) = (0.0_f64, 1.0_f64);
        let mut f_lo = wh_at(lo) - usable;
        if f_lo > 0.0 {
            return None;
        }
        let mut f_hi = (wh_at(hi) - usable).max(f64::MIN_POSITIVE);
        let mut side = 0i8;
        // Stop at 2⁻²⁰ of the leg (millimetres on a 10 km transect) or a microwatt-hour.
        for _ in 0..60 {
            if hi - lo <= 1.0 / 1_048_576.0 || f_lo > -1e-6 {
                break;
            }
            let mut t = (lo * f_hi - hi * f_lo) / (f_hi - f_lo);
            if !(t > lo && t < hi) {
                t = f64::midpoint(lo, hi);
            }
            let f = wh_at(t) - usable;
            if f <= 0.0 {
                (lo, f_lo) = (t, f);
                if side == -1 {
                    f_hi /= 2.0;
                }
                side = -1;
            } else {
                (hi, f_hi) = (t, f);
                if side == 1 {
                    f_lo /= 2.0;
                }
                side = 1;
            }
        }
        (lo * leg > 1.0).then(|| at(lo))
    }

    /// Energy of the sortie with `extra` appended, including the legs from and to the launch
    /// point.
    fn wh_with(&self, spec: &SortieSpec<'_>, extra: Option<Coord>) -> f64 {
        match extra {
            Some(x) => self.wh_next(spec, x).0,
            None => self.wh_end(spec),
        }
    }

    /// Energy with `x` appended, `turn_in` being the turn at the last point towards it.
    fn wh_extra(&self, spec: &SortieSpec<'_>, x: Coord, turn_in: Option<f64>) -> f64 {
        let (h, first, last) = (self.launch, self.pts[0], self.last());
        let t = |a, b, c| spec.turn_s(a, b, c);
        let mut turns = self.inner_turn_s;
        if let Some(ti) = turn_in {
            turns += ti;
        }
        let dist = self.dist_m + leg_m(last, x);
        turns += match self.first_turn_s {
            Some(ft) => ft,
            None => t(h, first, x),
        };
        turns += t(last, x, h);
        let back = spec.leg(x, h);
        let total = self.out.len_m + dist + back.len_m;
        flight_wh(spec, total, turns + self.out.turn_s + back.turn_s)
    }

    /// Energy of the run as it is, back to the launch point.
    fn wh_end(&self, spec: &SortieSpec<'_>) -> f64 {
        let (h, first, last) = (self.launch, self.pts[0], self.last());
        let t = |a, b, c| spec.turn_s(a, b, c);
        let mut turns = self.inner_turn_s;
        if self.pts.len() >= 2 {
            turns += self
                .first_turn_s
                .unwrap_or_else(|| t(h, first, self.pts[1]));
            turns += t(self.pts[self.pts.len() - 2], last, h);
        } else {
            turns += t(h, first, h);
        }
        let back = spec.leg(last, h);
        let total = self.out.len_m + self.dist_m + back.len_m;
        flight_wh(spec, total, turns + self.out.turn_s + back.turn_s)
    }
}

/// Distance of the whole mission flying `path` in sorties (each from its launch point and
/// back); `None` when the sorties cannot be worked out (a leg beyond the battery).
pub(crate) fn mission_distance_m(spec: &SortieSpec<'_>, path: &[Coord]) -> Option<f64> {
    let pieces = split_sorties(spec, path, &|_| LatLon::new(0.0, 0.0)).ok()?;
    // Each sortie's distance as `flight` adds it up (launch, transit, its points, transit,
    // launch), without the turns `flight` also works out.
    let mut total_m = 0.0;
    for p in &pieces {
        let (Some(first), Some(last)) = (p.pts.first(), p.pts.last()) else {
            continue;
        };
        let inner = p.pts.windows(2).fold(0.0, |d, w| d + leg_m(w[0], w[1]));
        total_m += spec.leg(p.launch, *first).len_m + inner + spec.leg(*last, p.launch).len_m;
    }
    total_m.is_finite().then_some(total_m)
}

/// Estimate of a mission flying `survey` (local points) from `launch`, through the transit
/// points `via` out and back.
pub(crate) fn estimate_for(
    spec: &SortieSpec<'_>,
    launch: Coord,
    via: &TransitVia<Coord>,
    survey: &[Coord],
    items: usize,
) -> Estimate {
    let (f, duration_s, wh) = sortie_flight_from(spec, launch, via, survey);
    // The distance as `flight` adds it up (the survey's turns are not needed here).
    let survey_distance_m = survey
        .windows(2)
        .fold(0.0, |d, w| d + fast_len(w[1].x - w[0].x, w[1].y - w[0].y));
    Estimate {
        waypoints: items,
        distance_m: f.distance_m,
        survey_distance_m,
        duration_s,
        photos: photos(survey_distance_m, spec.trigger_distance_m),
        energy_wh: wh,
        battery_pct: wh / spec.airframe.battery_wh * 100.0,
        ..Estimate::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn following_the_terrain_adds_its_climbs_and_nothing_on_flat_ground() {
        let home = LatLon::new(47.0, 8.0);
        let wp = |north_m: f64, alt_rel_m: f64| Waypoint {
            pos: home.offset_ne(north_m, 0.0),
            alt_rel_m,
            action: aviary_core::WaypointAction::FlyThrough,
        };
        let af = Airframe::default();
        let flat = [wp(100.0, 50.0), wp(600.0, 50.0), wp(1100.0, 50.0)];
        let same = terrain_extra(home, &flat, &flat, 5.0, &af);
        assert!(
            same.distance_m.abs() + same.duration_s.abs() + same.energy_wh.abs() < 1e-12,
            "{same:?}"
        );
        // Up 40 m over a ridge and down again: 40 m more climbed; 500 m at 5 m/s is 100 s,
        // longer than the climb, so no time is added; a 400 m climb on one leg is slower.
        let ridge = [wp(100.0, 50.0), wp(600.0, 90.0), wp(1100.0, 50.0)];
        let e = terrain_extra(home, &flat, &ridge, 5.0, &af);
        assert!(e.distance_m > 3.0 && e.distance_m < 4.0, "{e:?}");
        assert!(e.duration_s.abs() < 1e-12, "{e:?}");
        let want_wh = 40.0 / af.climb_rate_mps * (af.climb_power_w - af.hover_power_w) / 3600.0;
        assert!((e.energy_wh - want_wh).abs() < 1e-9, "{e:?}");
        let cliff = [wp(100.0, 50.0), wp(600.0, 450.0), wp(1100.0, 50.0)];
        let c = terrain_extra(home, &flat, &cliff, 5.0, &af);
        assert!(c.duration_s > 0.0, "{c:?}");
    }

    #[test]
    fn turns_cost_time() {
        let af = Airframe::QUADCOPTER;
        let straight = flight(
            &[
                Coord { x: 0.0, y: 0.0 },
                Coord { x: 100.0, y: 0.0 },
                Coord { x: 200.0, y: 0.0 },
            ],
            5.0,
            &af,
        );
        let back = flight(
            &[
                Coord { x: 0.0, y: 0.0 },
                Coord { x: 100.0, y: 0.0 },
                Coord { x: 0.0, y: 0.0 },
            ],
            5.0,
            &af,
        );
        assert!(straight.turn_s.abs() < 1e-9);
        assert!((back.turn_s - 4.0).abs() < 1e-9);
    }
}
