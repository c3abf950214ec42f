//! Height above the ground flown by a terrain-following mission, from telemetry alone.
//!
//! Telemetry holds the altitude above home. The mission's plan keeps the ground height under
//! each waypoint ([`PlannedTerrain`]); terrain following added a waypoint wherever the ground
//! between two departs from the straight line by more than the plan's tolerance, so the
//! ground under the planned path is the line between its waypoints' grounds within that
//! tolerance. A sample's ground is read on the planned leg nearest to it, and its height
//! above the ground is `home AMSL + altitude above home − ground`.

use aviary_core::{LatLon, Mission, PlannedTerrain, TelemetrySample, WaypointAction};
use geo::Coord;

use aviary_planner::LocalFrame;
use aviary_planner::frame::point_segment_nearest;

/// The ground under a mission's planned path.
#[derive(Debug, Clone)]
pub struct GroundModel {
    home_amsl_m: f64,
    /// Positioned waypoints in the local frame with their ground, in path order.
    nodes: Vec<(Coord<f64>, f64)>,
    /// Whether the camera is on from each node to the next (the survey's legs).
    camera_on: Vec<bool>,
    frame: LocalFrame,
}

/// A sample this close to a survey leg is over the survey, metres.
const NEAR_SURVEY_M: f64 = 15.0;

impl GroundModel {
    /// The model of a terrain-following `mission`; `None` for a mission flown above home or
    /// whose plan has fewer than two positioned waypoints.
    pub fn of(mission: &Mission) -> Option<Self> {
        let t: &PlannedTerrain = mission.parameters.terrain.as_ref()?;
        let origin = mission.waypoints.first()?.pos;
        let frame = LocalFrame::new(origin);
        let has_camera = mission
            .waypoints
            .iter()
            .any(|w| matches!(w.action, WaypointAction::CameraTriggerStart { .. }));
        let mut on = !has_camera;
        let (mut nodes, mut camera_on) = (Vec::new(), Vec::new());
        for (w, g) in mission.waypoints.iter().zip(&t.ground_amsl_m) {
            match w.action {
                WaypointAction::CameraTriggerStart { .. } => on = true,
                WaypointAction::CameraTriggerStop => on = false,
                _ => {}
            }
            if let Some(g) = g {
                nodes.push((frame.to_local(w.pos), *g));
                camera_on.push(on);
            }
        }
        (nodes.len() >= 2).then_some(Self {
            home_amsl_m: t.home_amsl_m,
            nodes,
            camera_on,
            frame,
        })
    }

    /// Ground height above mean sea level under the planned leg nearest to `p`, metres.
    pub fn ground_amsl_m(&self, p: LatLon) -> f64 {
        self.nearest(p, false).map_or(self.nodes[0].1, |(_, g)| g)
    }

    /// Whether `p` lies over the survey: within a few metres of a leg flown with the camera
    /// on.
    pub fn over_survey(&self, p: LatLon) -> bool {
        self.nearest(p, true)
            .is_some_and(|(d2, _)| d2 <= NEAR_SURVEY_M * NEAR_SURVEY_M)
    }

    /// The squared distance to the nearest leg (survey legs only with `survey`) and the
    /// ground interpolated there.
    fn nearest(&self, at: LatLon, survey: bool) -> Option<(f64, f64)> {
        let here = self.frame.to_local(at);
        let mut best: Option<(f64, f64)> = None;
        for (i, leg) in self.nodes.windows(2).enumerate() {
            if survey && !(self.camera_on[i] && self.camera_on[i + 1]) {
                continue;
            }
            let ((start, start_ground_m), (end, end_ground_m)) = (leg[0], leg[1]);
            let (dist2, along) = point_segment_nearest(here, start, end);
            if best.is_none_or(|(best2, _)| dist2 < best2) {
                let ground_m = start_ground_m + along * (end_ground_m - start_ground_m);
                best = Some((dist2, ground_m));
            }
        }
        best
    }

    /// The sample's height above the ground, metres.
    pub fn agl_m(&self, s: &TelemetrySample) -> f64 {
        self.home_amsl_m + s.alt_rel_m - self.ground_amsl_m(s.pos)
    }
}

/// Height above the ground over the survey: from the first sample over a survey leg to the
/// last, whatever the height (a drone sinking towards the ground is still over the survey).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FlownAgl {
    /// Mean, metres.
    pub mean_m: f64,
    /// Lowest, metres.
    pub min_m: f64,
    /// Highest, metres.
    pub max_m: f64,
}

impl FlownAgl {
    /// Over `heights_m`; `None` when empty.
    pub fn of(heights_m: impl Iterator<Item = f64>) -> Option<Self> {
        let (mut n, mut sum, mut min, mut max) = (0_usize, 0.0, f64::INFINITY, f64::NEG_INFINITY);
        for h in heights_m.filter(|h| h.is_finite()) {
            n += 1;
            sum += h;
            min = min.min(h);
            max = max.max(h);
        }
        (n > 0).then(|| Self {
            mean_m: sum / n as f64,
            min_m: min,
            max_m: max,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aviary_core::{DroneId, MissionStatus, Waypoint};

    fn mission_over_a_slope() -> (Mission, LatLon) {
        let home = LatLon::new(47.5, 8.5);
        let a = home.offset_ne(0.0, 100.0);
        let b = home.offset_ne(0.0, 1100.0);
        let mut m =
            crate::testdata::lawnmower_mission("slope", 100.0, 100.0, MissionStatus::Completed);
        m.waypoints = vec![
            Waypoint {
                pos: a,
                alt_rel_m: 60.0,
                action: WaypointAction::FlyThrough,
            },
            Waypoint {
                pos: a,
                alt_rel_m: 60.0,
                action: WaypointAction::CameraTriggerStart { distance_m: 10.0 },
            },
            Waypoint {
                pos: b,
                alt_rel_m: 160.0,
                action: WaypointAction::FlyThrough,
            },
        ];
        // The ground rises 100 m from a (400 m, as home) to b (500 m).
        m.parameters.terrain = Some(PlannedTerrain {
            agl_m: 60.0,
            tolerance_m: 5.0,
            min_clearance_m: 58.0,
            home_amsl_m: 400.0,
            ground_amsl_m: vec![Some(400.0), None, Some(500.0)],
            source: "test slope".into(),
            sea_level: false,
        });
        (m, home)
    }

    #[test]
    fn ground_is_read_on_the_nearest_leg_and_agl_follows_it() {
        let (m, home) = mission_over_a_slope();
        let g = GroundModel::of(&m).expect("a terrain mission");
        let mid = home.offset_ne(30.0, 600.0);
        assert!((g.ground_amsl_m(mid) - 450.0).abs() < 0.5);
        // Past either end: the end's ground.
        assert!((g.ground_amsl_m(home.offset_ne(0.0, 2000.0)) - 500.0).abs() < 1e-9);
        let first = crate::testdata::fly(&m, DroneId::new_random(), 1.0)
            .into_iter()
            .next()
            .expect("a sample");
        let sample = TelemetrySample {
            pos: mid,
            alt_rel_m: 100.0,
            ..first
        };
        assert!((g.agl_m(&sample) - 50.0).abs() < 0.5);

        let mut flat = m.clone();
        flat.parameters.terrain = None;
        assert!(GroundModel::of(&flat).is_none());
    }

    /// The test lawnmower over ground rising 10 % to the east of its origin (200 m there),
    /// planned `follow` (each waypoint 50 m above its ground) or not; flown as planned.
    fn lawnmower_over_a_slope(follow: bool) -> crate::MissionReport {
        use crate::testdata::{ALT_M, ORIGIN, flown_lawnmower};
        let ground = |p: LatLon| {
            let east_m = (p.lon_deg - ORIGIN.lon_deg).to_radians()
                * aviary_core::geo::EARTH_RADIUS_M
                * ORIGIN.lat_deg.to_radians().cos();
            200.0 + 0.1 * east_m
        };
        let (mut mission, _) = flown_lawnmower(MissionStatus::Completed, 5.0);
        if follow {
            for w in &mut mission.waypoints {
                w.alt_rel_m = ALT_M + ground(w.pos) - 200.0;
            }
        }
        let samples = crate::testdata::fly(&mission, DroneId::new_random(), 5.0);
        mission.parameters.terrain = Some(PlannedTerrain {
            agl_m: ALT_M,
            tolerance_m: 5.0,
            min_clearance_m: ALT_M - 2.0,
            home_amsl_m: 200.0,
            ground_amsl_m: mission
                .waypoints
                .iter()
                .map(|w| Some(ground(w.pos)))
                .collect(),
            source: "test slope".into(),
            sea_level: false,
        });
        crate::mission::analyze(
            &mission,
            crate::ReportContext {
                site_name: "Slope".into(),
                timezone: chrono_tz::UTC,
                drone_label: None,
            },
            samples,
            Vec::new(),
            Vec::new(),
            &crate::ReportOptions::default(),
        )
    }

    fn row<'a>(r: &'a crate::MissionReport, what: &str) -> &'a crate::planned::Comparison {
        r.planned_vs_actual
            .iter()
            .find(|c| c.what == what)
            .unwrap_or_else(|| panic!("no {what} row in {:?}", r.planned_vs_actual))
    }

    #[test]
    fn a_terrain_mission_reports_planned_against_flown_height_above_ground() {
        let r = lawnmower_over_a_slope(true);
        let agl = r.flown_agl.expect("flown AGL");
        assert!((agl.mean_m - 50.0).abs() < 1.0, "{agl:?}");
        assert!(agl.min_m > 45.0 && agl.max_m < 55.0, "{agl:?}");
        let mean = row(&r, "Height above ground (mean)");
        assert_eq!(mean.planned, Some(50.0));
        assert!(!mean.flagged(), "{mean:?}");
        assert_eq!(row(&r, "Height above ground (lowest)").planned, Some(48.0));
        // Surveying is told by the height above the ground: coverage as on flat ground.
        assert!(
            r.coverage_pct.unwrap_or_default() > 99.0,
            "{:?}",
            r.coverage_pct
        );
        let f = r.footprint_width_m.expect("footprint");
        let flat = lawnmower_over_a_slope(false);
        assert!(r.issues.is_empty(), "{:?}", r.issue_lines());

        // The same survey flown at one altitude above home: lower over the rising ground,
        // and the lowest height says by how much (0.1 × the 300 m width).
        let low = flat.flown_agl.expect("flown AGL");
        assert!(low.min_m < 25.0, "{low:?}");
        let lowest = row(&flat, "Height above ground (lowest)");
        assert!(lowest.flagged(), "{lowest:?}");
        assert!(flat.footprint_width_m.expect("footprint") < f);
    }

    #[test]
    fn flown_agl_summarises_finite_heights() {
        let f = FlownAgl::of([60.0, 55.0, f64::NAN, 65.0].into_iter()).expect("some");
        assert_eq!((f.mean_m, f.min_m, f.max_m), (60.0, 55.0, 65.0));
        assert!(FlownAgl::of(std::iter::empty()).is_none());
    }
}
