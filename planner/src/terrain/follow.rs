//! Terrain following: a planned mission flown at a constant height above the ground.
//!
//! Every leg of the path (takeoff point to first waypoint, transects, transits, last
//! waypoint back home) is sampled at half the DEM's post spacing. The altitude wanted at each
//! sample is ground + AGL, raised where the ground may bulge between two samples (a ridge line
//! between them). That profile is then raised where the airframe could not follow it: it
//! starts climbing early enough for its climb rate and descends no faster than its descent
//! rate (rates over the cruise speed give the steepest gradients). Each mission waypoint gets
//! the profile's altitude, and points are added along each leg, Douglas–Peucker fashion,
//! wherever the straight line between two points strays from the profile by more than the
//! tolerance — so the clearance along the whole path is at least AGL − tolerance.

use aviary_core::{LatLon, Waypoint, WaypointAction};

use super::{Elevation, NoData, TerrainError, VerticalDatum};
use crate::params::Airframe;

/// Default tolerance between the flown line and the terrain-following profile, metres.
pub const DEFAULT_TOLERANCE_M: f64 = 5.0;

/// How to follow the terrain.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TerrainParams {
    /// Height above the ground to fly, metres.
    pub agl_m: f64,
    /// Largest vertical distance between the flown straight line and the AGL profile,
    /// metres: the clearance never falls below `agl_m − tolerance_m`.
    pub tolerance_m: f64,
    /// Horizontal cruise speed, m/s (turns climb and descent rates into gradients).
    pub speed_mps: f64,
    /// Fastest climb of the airframe, m/s.
    pub climb_rate_mps: f64,
    /// Fastest descent of the airframe, m/s.
    pub descent_rate_mps: f64,
}

impl TerrainParams {
    /// Following at `agl_m` with the default tolerance and `airframe`'s climb and descent
    /// rates at `speed_mps`.
    pub fn new(agl_m: f64, speed_mps: f64, airframe: &Airframe) -> Self {
        Self {
            agl_m,
            tolerance_m: DEFAULT_TOLERANCE_M,
            speed_mps,
            climb_rate_mps: airframe.climb_rate_mps,
            descent_rate_mps: airframe.descent_rate_mps,
        }
    }

    fn check(&self) -> Result<(), TerrainError> {
        let positive = |name, value: f64| {
            if value.is_finite() && value > 0.0 {
                Ok(())
            } else {
                Err(TerrainError::InvalidParam {
                    name,
                    value,
                    expected: "a positive number",
                })
            }
        };
        positive("agl_m", self.agl_m)?;
        positive("speed_mps", self.speed_mps)?;
        positive("climb_rate_mps", self.climb_rate_mps)?;
        positive("descent_rate_mps", self.descent_rate_mps)?;
        if !(self.tolerance_m.is_finite()
            && self.tolerance_m > 0.0
            && self.tolerance_m < self.agl_m)
        {
            return Err(TerrainError::InvalidParam {
                name: "tolerance_m",
                value: self.tolerance_m,
                expected: "positive and below agl_m",
            });
        }
        Ok(())
    }
}

/// A mission that follows the terrain.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TerrainPlan {
    /// The mission with its altitudes relative to the ground at home (`alt_rel_m`, as the
    /// autopilot's relative frame reads them) and the points added along its legs.
    pub items: Vec<Waypoint>,
    /// Ground height under each item of [`TerrainPlan::items`] above the datum, metres;
    /// `None` for items the vehicle does not fly to (camera commands, return to launch).
    pub ground_amsl_m: Vec<Option<f64>>,
    /// Ground height at home above [`TerrainPlan::datum`], metres: an item's altitude above
    /// mean sea level is `alt_rel_m + home_amsl_m`.
    pub home_amsl_m: f64,
    /// The surface the terrain heights are measured from.
    pub datum: VerticalDatum,
    /// The terrain data used ([`Elevation::describe`]).
    pub terrain_source: String,
    /// Height above the ground asked for, metres.
    pub agl_m: f64,
    /// Tolerance used, metres.
    pub tolerance_m: f64,
    /// Smallest height above the ground along the whole path flown between waypoints, metres
    /// (sampled at [`TerrainPlan::sample_step_m`]).
    pub min_clearance_m: f64,
    /// Greatest height above the ground along the path, metres (above `agl_m + tolerance_m`
    /// only where the climb or descent rate keeps the drone higher).
    pub max_clearance_m: f64,
    /// Largest climb over one leg between consecutive waypoints, metres.
    pub max_climb_m: f64,
    /// Steepest climb on any leg at the cruise speed, m/s.
    pub max_climb_rate_mps: f64,
    /// Steepest descent on any leg at the cruise speed, m/s.
    pub max_descent_rate_mps: f64,
    /// Waypoints added along legs to follow the ground.
    pub inserted_waypoints: usize,
    /// Distance between terrain samples along the path, metres.
    pub sample_step_m: f64,
}

impl TerrainPlan {
    /// An item's altitude above mean sea level (the DEM's datum), metres.
    pub fn alt_amsl_m(&self, w: &Waypoint) -> f64 {
        w.alt_rel_m + self.home_amsl_m
    }
}

/// One terrain sample along the path.
#[derive(Debug, Clone, Copy)]
struct Sample {
    pos: LatLon,
    /// Distance along the path from its start, metres.
    s_m: f64,
    ground_m: f64,
}

/// Where an item sits on the path.
#[derive(Debug, Clone, Copy)]
enum Place {
    /// The item flies to this path node.
    Node(usize),
    /// The item has no position (camera commands); it keeps the altitude of the last node.
    Between,
}

/// Whether the vehicle flies to the item's position (return to launch flies home).
pub(crate) fn position_of(w: &Waypoint, home: LatLon) -> Option<LatLon> {
    match w.action {
        WaypointAction::FlyThrough | WaypointAction::Takeoff | WaypointAction::Land => Some(w.pos),
        WaypointAction::ReturnToLaunch => Some(home),
        WaypointAction::CameraTriggerStart { .. } | WaypointAction::CameraTriggerStop => None,
    }
}

/// One leg sampled from `a` to `b`, both ends included, evenly.
struct Leg {
    len_m: f64,
    /// Position and ground height of each sample.
    points: Vec<(LatLon, f64)>,
}

/// Samples one leg from `a` to `b` every `step_m` at most.
fn sample_leg(dem: &dyn Elevation, a: LatLon, b: LatLon, step_m: f64) -> Result<Leg, NoData> {
    let len_m = a.distance_m(b);
    let n = ((len_m / step_m).ceil() as usize).max(1);
    let mut points = Vec::with_capacity(n + 1);
    dem.elevations_along(a, b, n, &mut points)?;
    Ok(Leg { len_m, points })
}

/// Plans `items` (a planned mission, home at `home`) to fly `params.agl_m` above the ground
/// of `dem`. Fails with [`TerrainError::NoDataOnPath`] when any point of the path lacks data.
pub fn follow_terrain(
    items: &[Waypoint],
    home: LatLon,
    dem: &dyn Elevation,
    params: &TerrainParams,
) -> Result<TerrainPlan, TerrainError> {
    params.check()?;
    let no_data = |source| TerrainError::NoDataOnPath { source };
    let home_amsl_m = dem.elevation_m(home).map_err(no_data)?;
    let step_m = (dem.resolution_m(home) / 2.0).clamp(1.0, 50.0);

    // --- the path's nodes and its dense samples
    let mut nodes: Vec<LatLon> = Vec::new();
    let places: Vec<Place> = items
        .iter()
        .map(|w| match position_of(w, home) {
            Some(p) => {
                nodes.push(p);
                Place::Node(nodes.len() - 1)
            }
            None => Place::Between,
        })
        .collect();
    let legs: Vec<(LatLon, LatLon)> = nodes.windows(2).map(|w| (w[0], w[1])).collect();
    // One task per leg: a survey has a few hundred legs of hundreds of samples each, too
    // few for chunks of 512 to reach a second core. The order of the results is the legs'.
    let sampled = crate::par::map(&legs, |&(a, b)| sample_leg(dem, a, b, step_m));
    let total: usize = sampled
        .iter()
        .map(|l| l.as_ref().map_or(0, |l| l.points.len()))
        .sum();
    let mut samples: Vec<Sample> = Vec::with_capacity(total + 1);
    // The sample index of each node.
    let mut node_at: Vec<usize> = Vec::with_capacity(nodes.len());
    if let Some(&first) = nodes.first() {
        let ground_m = dem.elevation_m(first).map_err(no_data)?;
        samples.push(Sample {
            pos: first,
            s_m: 0.0,
            ground_m,
        });
        node_at.push(0);
    }
    for leg in sampled {
        let leg = leg.map_err(no_data)?;
        let start_m = samples.last().map_or(0.0, |s| s.s_m);
        let n = (leg.points.len() - 1) as f64;
        for (k, &(pos, ground_m)) in leg.points.iter().enumerate().skip(1) {
            samples.push(Sample {
                pos,
                s_m: start_m + leg.len_m * k as f64 / n,
                ground_m,
            });
        }
        node_at.push(samples.len() - 1);
    }

    // --- the altitude profile and the points kept
    let profile_m = profile(&samples, params);
    let mut keep = vec![false; samples.len()];
    // Each leg on its own: the legs' points do not depend on each other.
    let spans: Vec<(usize, usize)> = node_at.windows(2).map(|w| (w[0], w[1])).collect();
    let kept = crate::par::map(&spans, |&(first, last)| {
        simplify(&samples, &profile_m, first, last, params.tolerance_m)
    });
    for i in kept.into_iter().flatten() {
        keep[i] = true;
    }
    for &i in &node_at {
        keep[i] = true;
    }

    // --- the mission with its altitudes and added points
    let rel = |i: usize| profile_m[i] - home_amsl_m;
    let mut out: Vec<Waypoint> = Vec::with_capacity(items.len());
    let mut inserted_waypoints = 0;
    let mut last_alt_rel_m = items.first().map_or(0.0, |w| w.alt_rel_m);
    for (w, place) in items.iter().zip(&places) {
        match *place {
            Place::Node(n) => {
                let at = node_at[n];
                if n > 0 {
                    let from = node_at[n - 1];
                    for i in (from + 1..at).filter(|&i| keep[i]) {
                        out.push(Waypoint {
                            pos: samples[i].pos,
                            alt_rel_m: rel(i),
                            action: WaypointAction::FlyThrough,
                        });
                        inserted_waypoints += 1;
                    }
                }
                last_alt_rel_m = rel(at);
                out.push(Waypoint {
                    alt_rel_m: last_alt_rel_m,
                    ..*w
                });
            }
            Place::Between => out.push(Waypoint {
                alt_rel_m: last_alt_rel_m,
                ..*w
            }),
        }
    }

    let flown = Flown::of(&samples, &profile_m, &keep, &spans, params.speed_mps);
    let ground_amsl_m = out
        .iter()
        .map(|w| {
            matches!(
                w.action,
                WaypointAction::FlyThrough | WaypointAction::Takeoff | WaypointAction::Land
            )
            .then(|| dem.elevation_m(w.pos).ok())
            .flatten()
        })
        .collect();
    Ok(TerrainPlan {
        items: out,
        ground_amsl_m,
        home_amsl_m,
        datum: dem.datum(),
        terrain_source: dem.describe(),
        agl_m: params.agl_m,
        tolerance_m: params.tolerance_m,
        min_clearance_m: flown.min_clearance_m,
        max_clearance_m: flown.max_clearance_m,
        max_climb_m: flown.max_climb_m,
        max_climb_rate_mps: flown.max_climb_rate_mps,
        max_descent_rate_mps: flown.max_descent_rate_mps,
        inserted_waypoints,
        sample_step_m: step_m,
    })
}

/// The altitude (above the datum) wanted at each sample: ground + AGL, plus what the ground
/// may rise above the straight line between two samples, then raised where the airframe's
/// climb and descent gradients could not follow.
fn profile(samples: &[Sample], params: &TerrainParams) -> Vec<f64> {
    let n = samples.len();
    // Ground slope of interval k (sample k to k + 1).
    let slope = |k: usize| {
        let d = samples[k + 1].s_m - samples[k].s_m;
        if d > 0.0 {
            (samples[k + 1].ground_m - samples[k].ground_m) / d
        } else {
            0.0
        }
    };
    // A ridge in interval k: a kink from the slope before to the slope after rises at most
    // (before − after)·d/4 above the chord of the interval.
    let bulge = |k: usize| {
        let here = slope(k);
        let before = if k > 0 { slope(k - 1) } else { here };
        let after = if k + 2 < n { slope(k + 1) } else { here };
        let d = samples[k + 1].s_m - samples[k].s_m;
        ((before.max(here) - after.min(here)) * d / 4.0).max(0.0)
    };
    let climb = params.climb_rate_mps / params.speed_mps;
    let descent = params.descent_rate_mps / params.speed_mps;
    // One pass forward: ground + AGL + the bulge of either interval, descending no faster
    // than the airframe can (stay high after a drop).
    let mut alt_m: Vec<f64> = Vec::with_capacity(n);
    let mut left = 0.0;
    for k in 0..n {
        let right = if k + 1 < n { bulge(k) } else { 0.0 };
        let mut a = samples[k].ground_m + params.agl_m + f64::max(left, right);
        if k > 0 {
            let d = samples[k].s_m - samples[k - 1].s_m;
            a = a.max(alt_m[k - 1] - descent * d);
        }
        alt_m.push(a);
        left = right;
    }
    // Climb no faster than it can: start climbing before a rise.
    for k in (0..n.saturating_sub(1)).rev() {
        let d = samples[k + 1].s_m - samples[k].s_m;
        alt_m[k] = alt_m[k].max(alt_m[k + 1] - climb * d);
    }
    alt_m
}

/// The samples strictly between `first` and `last` needed so the straight lines between kept
/// samples stay within `tolerance_m` of the profile (Douglas–Peucker on the vertical
/// distance).
fn simplify(
    samples: &[Sample],
    profile_m: &[f64],
    first: usize,
    last: usize,
    tolerance_m: f64,
) -> Vec<usize> {
    let mut keep = Vec::new();
    let mut stack = vec![(first, last)];
    while let Some((a, b)) = stack.pop() {
        if b <= a + 1 {
            continue;
        }
        let (sa, sb) = (samples[a].s_m, samples[b].s_m);
        let span = sb - sa;
        let mut worst = (0.0, a);
        for k in a + 1..b {
            let t = if span > 0.0 {
                (samples[k].s_m - sa) / span
            } else {
                0.0
            };
            let line = profile_m[a] + t * (profile_m[b] - profile_m[a]);
            let off = (profile_m[k] - line).abs();
            if off > worst.0 {
                worst = (off, k);
            }
        }
        if worst.0 > tolerance_m {
            keep.push(worst.1);
            stack.push((a, worst.1));
            stack.push((worst.1, b));
        }
    }
    keep
}

/// Figures of the path as flown: straight lines between the kept samples.
struct Flown {
    min_clearance_m: f64,
    max_clearance_m: f64,
    max_climb_m: f64,
    max_climb_rate_mps: f64,
    max_descent_rate_mps: f64,
}

impl Flown {
    /// The figures over the legs `spans` (first and last sample of each), each leg on its
    /// own, then combined (minima and maxima: the same whatever the order).
    fn of(
        samples: &[Sample],
        profile_m: &[f64],
        keep: &[bool],
        spans: &[(usize, usize)],
        speed_mps: f64,
    ) -> Self {
        let legs = crate::par::map(spans, |&(first, last)| {
            Self::of_leg(samples, profile_m, keep, first, last, speed_mps)
        });
        let mut f = Self::none();
        for l in legs {
            f.min_clearance_m = f.min_clearance_m.min(l.min_clearance_m);
            f.max_clearance_m = f.max_clearance_m.max(l.max_clearance_m);
            f.max_climb_m = f.max_climb_m.max(l.max_climb_m);
            f.max_climb_rate_mps = f.max_climb_rate_mps.max(l.max_climb_rate_mps);
            f.max_descent_rate_mps = f.max_descent_rate_mps.max(l.max_descent_rate_mps);
        }
        if spans.is_empty() {
            // A mission without legs: the clearance at its one point.
            let c = (0..samples.len())
                .find(|&i| keep[i])
                .map_or(0.0, |i| profile_m[i] - samples[i].ground_m);
            f.min_clearance_m = c;
            f.max_clearance_m = c;
        }
        f
    }

    const fn none() -> Self {
        Self {
            min_clearance_m: f64::INFINITY,
            max_clearance_m: f64::NEG_INFINITY,
            max_climb_m: 0.0,
            max_climb_rate_mps: 0.0,
            max_descent_rate_mps: 0.0,
        }
    }

    /// The figures of one leg: straight lines between its kept samples, `first` to `last`.
    fn of_leg(
        samples: &[Sample],
        profile_m: &[f64],
        keep: &[bool],
        first: usize,
        last: usize,
        speed_mps: f64,
    ) -> Self {
        let mut f = Self::none();
        let mut a = first;
        for b in (first + 1..=last).filter(|&i| keep[i]) {
            let (sa, span) = (samples[a].s_m, samples[b].s_m - samples[a].s_m);
            let rise = profile_m[b] - profile_m[a];
            f.max_climb_m = f.max_climb_m.max(rise);
            if span > 0.0 {
                let rate = rise / span * speed_mps;
                f.max_climb_rate_mps = f.max_climb_rate_mps.max(rate);
                f.max_descent_rate_mps = f.max_descent_rate_mps.max(-rate);
            }
            for s in &samples[a..=b] {
                let t = if span > 0.0 { (s.s_m - sa) / span } else { 0.0 };
                let clearance = profile_m[a] + t * rise - s.ground_m;
                f.min_clearance_m = f.min_clearance_m.min(clearance);
                f.max_clearance_m = f.max_clearance_m.max(clearance);
            }
            a = b;
        }
        f
    }
}
