//! The terrain profile of a planned mission: the ground and the planned altitude along the
//! whole path flown (takeoff point, every positioned item, back home), the clearance between
//! them and the smallest clearance of each leg, so a ground station can draw the profile and
//! mark the legs that come closer to the ground than the operator wants.
//!
//! The planned altitude between two items is the straight line between their altitudes, as the
//! autopilot flies a leg. Items without a position (camera commands) are not on the path.

use aviary_core::{LatLon, Waypoint};

use super::{Elevation, TerrainError, follow::position_of};

/// One point of the profile.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ProfilePoint {
    /// Distance along the path from its start, metres.
    pub s_m: f64,
    /// Ground height above the DEM's datum, metres.
    pub ground_m: f64,
    /// Planned altitude above the same datum, metres.
    pub alt_m: f64,
}

impl ProfilePoint {
    /// Height of the planned path above the ground here, metres.
    pub fn clearance_m(&self) -> f64 {
        self.alt_m - self.ground_m
    }
}

/// One leg of the path and how close it comes to the ground.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct LegClearance {
    /// Where the leg starts along the path, metres.
    pub from_s_m: f64,
    /// Where it ends, metres.
    pub to_s_m: f64,
    /// The index of the item the leg flies to.
    pub to_item: usize,
    /// Smallest height above the ground along the leg, metres.
    pub min_clearance_m: f64,
}

/// A path's terrain profile.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PathProfile {
    /// At most the number of points asked for, evenly along the path; where there were more
    /// samples, each point is the one of its stretch closest to the ground (peaks are kept).
    pub points: Vec<ProfilePoint>,
    /// Every leg, in flight order.
    pub legs: Vec<LegClearance>,
    /// Smallest height above the ground along the whole path, metres (every sample, not
    /// only the points kept).
    pub min_clearance_m: f64,
    /// Where along the path it is, metres.
    pub min_clearance_at_m: f64,
    /// Ground height at home above the datum, metres (the items' `alt_rel_m` are above it).
    pub home_amsl_m: f64,
    /// Length of the path, metres.
    pub length_m: f64,
    /// Distance between samples, metres.
    pub step_m: f64,
    /// The terrain data used ([`Elevation::describe`]).
    pub terrain_source: String,
}

impl PathProfile {
    /// The legs that come closer to the ground than `clearance_m`.
    pub fn legs_below(&self, clearance_m: f64) -> impl Iterator<Item = &LegClearance> {
        self.legs
            .iter()
            .filter(move |l| l.min_clearance_m < clearance_m)
    }
}

/// The profile of `items` (a mission from `home`, altitudes relative to the ground at home)
/// over `dem`, sampled at half the DEM's post spacing and reduced to at most `max_points`
/// points (at least 2). Fails with [`TerrainError::NoDataOnPath`] where the DEM lacks data.
pub fn path_profile(
    items: &[Waypoint],
    home: LatLon,
    dem: &dyn Elevation,
    max_points: usize,
) -> Result<PathProfile, TerrainError> {
    let no_data = |source| TerrainError::NoDataOnPath { source };
    let home_amsl_m = dem.elevation_m(home).map_err(no_data)?;
    let step_m = (dem.resolution_m(home) / 2.0).clamp(1.0, 50.0);
    let nodes: Vec<(usize, LatLon, f64)> = items
        .iter()
        .enumerate()
        .filter_map(|(i, w)| position_of(w, home).map(|p| (i, p, w.alt_rel_m + home_amsl_m)))
        .collect();

    let mut samples: Vec<ProfilePoint> = Vec::new();
    let mut legs = Vec::with_capacity(nodes.len().saturating_sub(1));
    if let Some(&(_, p, alt_m)) = nodes.first() {
        samples.push(ProfilePoint {
            s_m: 0.0,
            ground_m: dem.elevation_m(p).map_err(no_data)?,
            alt_m,
        });
    }
    let mut along = Vec::new();
    for pair in nodes.windows(2) {
        let ((_, a, alt_a), (to_item, b, alt_b)) = (pair[0], pair[1]);
        let from_s_m = samples.last().map_or(0.0, |s| s.s_m);
        let len_m = a.distance_m(b);
        let n = ((len_m / step_m).ceil() as usize).max(1);
        along.clear();
        dem.elevations_along(a, b, n, &mut along).map_err(no_data)?;
        let mut min_clearance_m = f64::INFINITY;
        for (k, &(_, ground_m)) in along.iter().enumerate() {
            let t = k as f64 / n as f64;
            let p = ProfilePoint {
                s_m: from_s_m + t * len_m,
                ground_m,
                alt_m: alt_a + t * (alt_b - alt_a),
            };
            min_clearance_m = min_clearance_m.min(p.clearance_m());
            if k > 0 {
                samples.push(p);
            }
        }
        legs.push(LegClearance {
            from_s_m,
            to_s_m: from_s_m + len_m,
            to_item,
            min_clearance_m,
        });
    }

    let (min_clearance_m, min_clearance_at_m) = samples
        .iter()
        .map(|p| (p.clearance_m(), p.s_m))
        .fold((f64::INFINITY, 0.0), |m, c| if c.0 < m.0 { c } else { m });
    Ok(PathProfile {
        length_m: samples.last().map_or(0.0, |p| p.s_m),
        points: reduce(&samples, max_points.max(2)),
        legs,
        min_clearance_m,
        min_clearance_at_m,
        home_amsl_m,
        step_m,
        terrain_source: dem.describe(),
    })
}

/// At most `max` of `samples`: the first and the last, and between them the sample closest
/// to the ground of each equal stretch.
fn reduce(samples: &[ProfilePoint], max: usize) -> Vec<ProfilePoint> {
    if samples.len() <= max {
        return samples.to_vec();
    }
    let (Some(&first), Some(&last)) = (samples.first(), samples.last()) else {
        return Vec::new();
    };
    let inner = &samples[1..samples.len() - 1];
    let buckets = max - 2;
    let mut out = Vec::with_capacity(max);
    out.push(first);
    for b in 0..buckets {
        let lo = b * inner.len() / buckets;
        let hi = ((b + 1) * inner.len() / buckets)
            .max(lo + 1)
            .min(inner.len());
        if let Some(p) = inner[lo..hi]
            .iter()
            .min_by(|x, y| x.clearance_m().total_cmp(&y.clearance_m()))
        {
            out.push(*p);
        }
    }
    out.push(last);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::terrain::{NoData, VerticalDatum};
    use aviary_core::WaypointAction;

    /// Ground rising 1 m per 10 m to the east of 8.5 E, flat 400 m west of it.
    struct Slope;

    impl Elevation for Slope {
        fn elevation_m(&self, p: LatLon) -> Result<f64, NoData> {
            let east_m = (p.lon_deg - 8.5) * 111_194.93 * p.lat_deg.to_radians().cos();
            Ok(400.0 + 0.1 * east_m.max(0.0))
        }
        fn datum(&self) -> VerticalDatum {
            VerticalDatum::Egm96Geoid
        }
        fn resolution_m(&self, _p: LatLon) -> f64 {
            10.0
        }
        fn describe(&self) -> String {
            "slope".to_owned()
        }
    }

    fn wp(pos: LatLon, alt_rel_m: f64, action: WaypointAction) -> Waypoint {
        Waypoint {
            pos,
            alt_rel_m,
            action,
        }
    }

    #[test]
    fn clearance_along_a_flat_mission_over_a_slope() {
        let home = LatLon::new(47.5, 8.49);
        let east = home.offset_ne(0.0, 1_750.0); // 1 km past the slope's foot: 100 m up
        let items = [
            wp(home, 60.0, WaypointAction::Takeoff),
            wp(east, 60.0, WaypointAction::FlyThrough),
            wp(east, 60.0, WaypointAction::CameraTriggerStop),
            wp(home, 60.0, WaypointAction::ReturnToLaunch),
        ];
        let p = path_profile(&items, home, &Slope, 200).expect("profile");
        assert!((p.home_amsl_m - 400.0).abs() < 1e-6);
        assert_eq!(p.legs.len(), 2, "camera commands are not on the path");
        assert_eq!((p.legs[0].to_item, p.legs[1].to_item), (1, 3));
        // 60 m above home, the ground 100 m higher at the far end: 40 m into it.
        assert!(
            (p.min_clearance_m + 40.0).abs() < 0.5,
            "{}",
            p.min_clearance_m
        );
        assert!((p.min_clearance_at_m - 1_750.0).abs() < 6.0);
        assert!((p.length_m - 3_500.0).abs() < 1.0);
        assert_eq!(p.legs_below(0.0).count(), 2);
        assert_eq!(p.legs_below(-50.0).count(), 0);
        assert_eq!(p.points.len(), 200);
        assert!(p.points.windows(2).all(|w| w[0].s_m < w[1].s_m));
        // The reduced points keep the lowest clearance of the path.
        let lowest = p
            .points
            .iter()
            .map(ProfilePoint::clearance_m)
            .fold(f64::INFINITY, f64::min);
        assert!((lowest - p.min_clearance_m).abs() < 1e-9);
    }

    #[test]
    fn following_the_terrain_keeps_every_leg_above_agl_less_tolerance() {
        let home = LatLon::new(47.5, 8.49);
        let items = [
            wp(home, 60.0, WaypointAction::Takeoff),
            wp(
                home.offset_ne(0.0, 1_750.0),
                60.0,
                WaypointAction::FlyThrough,
            ),
            wp(home, 60.0, WaypointAction::ReturnToLaunch),
        ];
        let params = crate::terrain::TerrainParams::new(60.0, 5.0, &crate::Airframe::default());
        let t = crate::terrain::follow_terrain(&items, home, &Slope, &params).expect("follow");
        let p = path_profile(&t.items, home, &Slope, 500).expect("profile");
        assert!(p.min_clearance_m >= 60.0 - params.tolerance_m - 0.5);
        assert!((p.min_clearance_m - t.min_clearance_m).abs() < 1.0);
        assert_eq!(p.legs_below(60.0 - params.tolerance_m - 0.5).count(), 0);
    }
}
