//! Planned against actual: what the plan promised (distance, duration, speed, photos,
//! battery, area) beside what the telemetry shows, so a mission cut short or flown at the
//! wrong speed stands out in the report.

use aviary_core::{Mission, TelemetrySample};

/// What the flight did, as the mission report measured it: the figures [`compare`] sets
/// beside the plan's (kept apart from the report type, so this file and `mission` do not
/// import each other).
#[derive(Debug, Clone, Copy)]
pub struct Flown<'a> {
    /// Telemetry as analysed.
    pub samples: &'a [TelemetrySample],
    /// Whether each sample was at survey height (above home, or above the ground for a
    /// terrain-following mission).
    pub surveying: &'a [bool],
    /// A terrain-following mission's height above the ground while surveying.
    pub agl: Option<crate::terrain::FlownAgl>,
    /// Distance flown, metres.
    pub distance_m: Option<f64>,
    /// Flight time, seconds.
    pub duration_s: Option<f64>,
    /// Photos taken (estimated from the trigger spacing).
    pub photos: Option<u64>,
    /// Distance between photos, metres.
    pub trigger_spacing_m: f64,
    /// Battery used, percent.
    pub battery_used_pct: Option<f64>,
    /// Survey polygon area, m².
    pub survey_area_m2: Option<f64>,
    /// Area covered, m².
    pub covered_area_m2: Option<f64>,
}

/// A difference past this share of the planned figure is flagged, percent. The planner's
/// duration model counts climbs and turns, so a clean flight may run 20 % under it.
pub const FLAG_PCT: f64 = 25.0;

/// One figure, planned and actual.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// What is compared ("Distance").
    pub what: &'static str,
    /// Unit of both figures (`m`, `s`, `m/s`, `photos`, `%`, `m²`).
    pub unit: &'static str,
    /// The plan's figure; `None` when the plan does not say.
    pub planned: Option<f64>,
    /// The flight's figure; `None` without telemetry.
    pub actual: Option<f64>,
}

impl Comparison {
    /// `(actual - planned) / planned`, percent.
    pub fn difference_pct(&self) -> Option<f64> {
        match (self.planned, self.actual) {
            (Some(p), Some(a)) if p.abs() > 1e-9 => Some((a - p) / p * 100.0),
            _ => None,
        }
    }

    /// Whether the difference is past [`FLAG_PCT`].
    pub fn flagged(&self) -> bool {
        self.difference_pct().is_some_and(|d| d.abs() > FLAG_PCT)
    }

    /// The difference as the report prints it: `-48 % (check)`, `+2 %`, or `n/a`.
    pub fn difference_text(&self) -> String {
        self.difference_pct().map_or_else(
            || "n/a".to_owned(),
            |d| {
                if self.flagged() {
                    format!("{d:+.0} % (check)")
                } else {
                    format!("{d:+.0} %")
                }
            },
        )
    }
}

/// The plan's figures for `mission` against the report's. Distance, duration and battery
/// come from the planner's estimate of the uploaded waypoints (the mission's stored
/// estimate when it has one); photos are the planned distance at survey altitude over the
/// trigger spacing; the planned area is the survey polygon; the actual speed is the mean
/// ground speed while surveying.
pub fn compare(mission: &Mission, r: &Flown<'_>, survey_alt_m: f64) -> Vec<Comparison> {
    let speed_mps = mission.parameters.speed_mps;
    let home = r
        .samples
        .first()
        .map(|s| s.pos)
        .or_else(|| mission.waypoints.first().map(|w| w.pos));
    let route = home
        .filter(|_| !mission.waypoints.is_empty() && speed_mps > 0.0)
        .map(|h| {
            aviary_planner::estimate_route(
                h,
                &mission.waypoints,
                speed_mps,
                &aviary_planner::Airframe::default(),
            )
        });
    let positive = |v: f64| (v > 0.0).then_some(v);
    let planned_distance_m =
        positive(mission.estimated_distance_m).or_else(|| route.map(|e| e.distance_m));
    let planned_duration_s =
        positive(mission.estimated_duration_s).or_else(|| route.map(|e| e.duration_s));
    let planned_photos = (r.trigger_spacing_m > 0.0)
        .then(|| survey_distance_m(mission, survey_alt_m) / r.trigger_spacing_m)
        .filter(|p| *p > 0.0)
        .map(f64::floor);
    let surveying: Vec<f64> = r
        .samples
        .iter()
        .zip(r.surveying)
        .filter(|(_, on)| **on)
        .map(|(s, _)| s.speed_mps)
        .collect();
    let actual_speed_mps =
        (!surveying.is_empty()).then(|| surveying.iter().sum::<f64>() / surveying.len() as f64);
    let mut rows = vec![
        Comparison {
            what: "Distance",
            unit: "m",
            planned: planned_distance_m,
            actual: r.distance_m,
        },
        Comparison {
            what: "Duration",
            unit: "s",
            planned: planned_duration_s,
            actual: r.duration_s,
        },
        Comparison {
            what: "Speed (surveying)",
            unit: "m/s",
            planned: positive(speed_mps),
            actual: actual_speed_mps,
        },
        Comparison {
            what: "Photos",
            unit: "photos",
            planned: planned_photos,
            #[expect(
                clippy::cast_precision_loss,
                reason = "photo counts are far below 2^52"
            )]
            actual: r.photos.map(|p| p as f64),
        },
        Comparison {
            what: "Battery used",
            unit: "%",
            planned: route.map(|e| e.battery_pct),
            actual: r.battery_used_pct,
        },
        Comparison {
            what: "Area covered",
            unit: "m²",
            planned: r.survey_area_m2,
            actual: r.covered_area_m2,
        },
    ];
    if let Some(t) = &mission.parameters.terrain {
        rows.push(Comparison {
            what: "Height above ground (mean)",
            unit: "m",
            planned: Some(t.agl_m),
            actual: r.agl.map(|a| a.mean_m),
        });
        rows.push(Comparison {
            what: "Height above ground (lowest)",
            unit: "m",
            planned: Some(t.min_clearance_m),
            actual: r.agl.map(|a| a.min_m),
        });
    }
    rows
}

/// Length of the planned path between consecutive waypoints both at survey height: above
/// home, or above the ground under them for a terrain-following mission.
fn survey_distance_m(mission: &Mission, survey_alt_m: f64) -> f64 {
    let t = mission.parameters.terrain.as_ref();
    let mut last = f64::NEG_INFINITY;
    let heights: Vec<f64> = mission
        .waypoints
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let h = match t {
                None => Some(w.alt_rel_m),
                Some(t) => t
                    .ground_amsl_m
                    .get(i)
                    .copied()
                    .flatten()
                    .map(|g| w.alt_rel_m + t.home_amsl_m - g),
            };
            // An item without a position of its own (a camera command) is where the last
            // one was.
            last = h.unwrap_or(last);
            last
        })
        .collect();
    mission
        .waypoints
        .windows(2)
        .zip(heights.windows(2))
        .filter(|(_, h)| h[0] >= survey_alt_m && h[1] >= survey_alt_m)
        .map(|(w, _)| w[0].pos.distance_m(w[1].pos))
        .sum()
}
