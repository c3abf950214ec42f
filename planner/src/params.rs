//! Survey parameters: what the operator chooses, validated before any geometry is built.

use aviary_core::{FlightPattern, LatLon, MissionParams};

use crate::camera::Camera;
use crate::error::{PlanError, Result};

/// Mission-item limit of ArduCopter.
pub const ARDUCOPTER_MAX_ITEMS: usize = 718;
/// Mission-item limit of PX4 (default build).
pub const PX4_MAX_ITEMS: usize = 500;
/// Largest survey area accepted by default, m² (500 km²).
pub const DEFAULT_MAX_AREA_M2: f64 = 500.0e6;

/// Default most sorties of one plan: far beyond any real day of flying (a 100 km² crosshatch
/// at 50 m with a Phantom 4 Pro class battery needs about 2,000), low enough that a plan at 1 m
/// (about 100,000 sorties, minutes of planning and megabytes of output) stops at once.
pub const DEFAULT_MAX_SORTIES: usize = 10_000;

/// The flight pattern to generate.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pattern {
    /// Parallel back-and-forth transects.
    Lawnmower,
    /// Lawnmower plus a second pass at +90°.
    Crosshatch,
    /// Closed inset loops following the boundary and the holes.
    Perimeter,
    /// Contour-parallel spiral, from the centre out by default (`SurveyParams::spiral_inward`).
    Spiral,
    /// Expanding-square search from a centre (the home point, or the area's centre).
    ExpandingSquare,
}

impl Pattern {
    /// Lower-case name used on the command line and in files.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Lawnmower => "lawnmower",
            Self::Crosshatch => "crosshatch",
            Self::Perimeter => "perimeter",
            Self::Spiral => "spiral",
            Self::ExpandingSquare => "expanding_square",
        }
    }
}

impl From<FlightPattern> for Pattern {
    fn from(p: FlightPattern) -> Self {
        match p {
            FlightPattern::Lawnmower => Self::Lawnmower,
            FlightPattern::Crosshatch => Self::Crosshatch,
            FlightPattern::Perimeter => Self::Perimeter,
            FlightPattern::Spiral => Self::Spiral,
        }
    }
}

impl std::str::FromStr for Pattern {
    type Err = PlanError;
    fn from_str(s: &str) -> Result<Self> {
        let t = s.trim().to_ascii_lowercase().replace('-', "_");
        match t.as_str() {
            "expanding_square" | "square" => Ok(Self::ExpandingSquare),
            _ => t
                .parse::<FlightPattern>()
                .map(Self::from)
                .map_err(|_| PlanError::UnknownPattern(s.to_owned())),
        }
    }
}

/// How the distance between transects (and photos) is chosen.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Spacing {
    /// From a camera and the overlaps (QGroundControl's formulas).
    Camera(Camera),
    /// A direct line spacing; photos every `trigger_distance_m` if given.
    Direct {
        /// Distance between transects, metres.
        line_spacing_m: f64,
        /// Distance between photos, metres (none: camera not triggered).
        trigger_distance_m: Option<f64>,
    },
}

/// A simple energy model of an airframe: constant power per flight phase.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Airframe {
    /// Battery energy when full, watt-hours.
    pub battery_wh: f64,
    /// Share of the battery kept in reserve at landing, percent.
    pub reserve_pct: f64,
    /// Electrical power in level cruise, watts.
    pub cruise_power_w: f64,
    /// Electrical power hovering and turning, watts.
    pub hover_power_w: f64,
    /// Electrical power climbing, watts.
    pub climb_power_w: f64,
    /// Climb rate, m/s.
    pub climb_rate_mps: f64,
    /// Descent rate, m/s.
    pub descent_rate_mps: f64,
    /// Horizontal acceleration used to brake and speed up in turns, m/s².
    pub accel_mps2: f64,
}

impl Airframe {
    /// A 1.4 kg survey quadcopter with an 89 Wh battery (Phantom 4 Pro class, ~28 min).
    pub const QUADCOPTER: Airframe = Airframe {
        battery_wh: 89.2,
        reserve_pct: 20.0,
        cruise_power_w: 170.0,
        hover_power_w: 185.0,
        climb_power_w: 240.0,
        climb_rate_mps: 3.0,
        descent_rate_mps: 2.0,
        accel_mps2: 2.5,
    };

    /// Usable energy per sortie, watt-hours.
    pub fn usable_wh(&self) -> f64 {
        self.battery_wh * (1.0 - self.reserve_pct / 100.0)
    }
}

impl Default for Airframe {
    fn default() -> Self {
        Self::QUADCOPTER
    }
}

/// Everything the planner needs besides the area.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SurveyParams {
    /// Pattern to fly.
    pub pattern: Pattern,
    /// Altitude above takeoff, metres (replaced by the target GSD's altitude if one is set).
    pub alt_rel_m: f64,
    /// Cruise speed, m/s.
    pub speed_mps: f64,
    /// Side overlap between neighbouring transects, percent (0..100).
    pub side_overlap_pct: f64,
    /// Front overlap between consecutive photos, percent (0..100).
    pub front_overlap_pct: f64,
    /// Transect direction, degrees clockwise from north; `None` chooses it.
    pub sweep_angle_deg: Option<f64>,
    /// Distance flown beyond the area's outer boundary to turn, metres.
    pub turnaround_m: f64,
    /// Camera or direct spacing.
    pub spacing: Spacing,
    /// Target ground sample distance, cm/px; sets the altitude (needs a camera).
    pub target_gsd_cm_px: Option<f64>,
    /// Takeoff point; the mission starts at the corner nearest to it.
    pub home: Option<LatLon>,
    /// Mission-item limit of the autopilot ([`ARDUCOPTER_MAX_ITEMS`], [`PX4_MAX_ITEMS`]).
    pub max_mission_items: usize,
    /// Largest accepted area, m².
    pub max_area_m2: f64,
    /// Most sorties (battery flights) a plan may need; more is refused before the path is
    /// generated, with the count ([`crate::PlanError::TooManySorties`]).
    pub max_sorties: usize,
    /// Perimeter: loops flown (the first half a footprint inside the boundary and around each
    /// hole, the next ones a spacing further in each).
    pub perimeter_loops: usize,
    /// Perimeter: loops a spacing apart from half a spacing in until the area is covered
    /// (`perimeter_loops` ignored).
    pub perimeter_fill: bool,
    /// Spiral: from the boundary in (the default flies from the centre out, as the design's
    /// "outward expanding" spiral).
    pub spiral_inward: bool,
    /// Energy model.
    pub airframe: Airframe,
}

impl Default for SurveyParams {
    fn default() -> Self {
        Self {
            pattern: Pattern::Lawnmower,
            alt_rel_m: 50.0,
            speed_mps: 5.0,
            side_overlap_pct: 70.0,
            front_overlap_pct: 80.0,
            sweep_angle_deg: None,
            turnaround_m: 0.0,
            spacing: Spacing::Camera(crate::camera::BUILTIN_CAMERAS[0].camera),
            target_gsd_cm_px: None,
            home: None,
            max_mission_items: ARDUCOPTER_MAX_ITEMS,
            max_area_m2: DEFAULT_MAX_AREA_M2,
            max_sorties: DEFAULT_MAX_SORTIES,
            perimeter_loops: 1,
            perimeter_fill: false,
            spiral_inward: false,
            airframe: Airframe::QUADCOPTER,
        }
    }
}

impl SurveyParams {
    /// The survey parameters of a stored mission: the one conversion the desktop and the fleet
    /// server share, so the same mission gives the same path wherever it is planned. The
    /// stored camera (a built-in name) sets the spacing, the stored sweep angle the transect
    /// direction; the rest keeps the planner's defaults. The gimbal angle is not a planning
    /// input (photos are taken nadir-equivalent).
    pub fn from_mission(
        pattern: Pattern,
        params: &MissionParams,
        home: Option<LatLon>,
    ) -> Result<Self> {
        let defaults = Self::default();
        let spacing = match &params.camera {
            Some(name) => Spacing::Camera(crate::camera::builtin_camera(name)?),
            None => defaults.spacing,
        };
        Ok(Self {
            pattern,
            alt_rel_m: params.altitude_m,
            speed_mps: params.speed_mps,
            side_overlap_pct: params.side_overlap_pct,
            front_overlap_pct: params.front_overlap_pct,
            sweep_angle_deg: params.sweep_angle_deg,
            spacing,
            home,
            ..defaults
        })
    }
}

/// Spacing values derived from the parameters.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Derived {
    /// Altitude flown, metres above takeoff.
    pub alt_rel_m: f64,
    /// Distance between transects, metres.
    pub line_spacing_m: f64,
    /// Distance between photos, metres (none: no camera trigger).
    pub trigger_distance_m: Option<f64>,
    /// Ground footprint across the track, metres (the line spacing if no camera).
    pub footprint_side_m: f64,
    /// Ground sample distance, cm/px, with a camera.
    pub gsd_cm_px: Option<f64>,
}

fn check(name: &'static str, value: f64, ok: bool, expected: &'static str) -> Result<()> {
    if ok && value.is_finite() {
        Ok(())
    } else {
        Err(PlanError::InvalidParam {
            name,
            value,
            expected,
        })
    }
}

impl SurveyParams {
    /// Validates every parameter and derives altitude, spacing, trigger distance and GSD.
    pub fn derive(&self) -> Result<Derived> {
        check(
            "speed_mps",
            self.speed_mps,
            self.speed_mps > 0.0 && self.speed_mps <= 100.0,
            "must be > 0 and ≤ 100 m/s",
        )?;
        for (name, v) in [
            ("side_overlap_pct", self.side_overlap_pct),
            ("front_overlap_pct", self.front_overlap_pct),
        ] {
            check(
                name,
                v,
                (0.0..100.0).contains(&v),
                "must be ≥ 0 and < 100 %",
            )?;
        }
        check(
            "turnaround_m",
            self.turnaround_m,
            self.turnaround_m >= 0.0 && self.turnaround_m <= 1000.0,
            "must be between 0 and 1000 m",
        )?;
        if let Some(a) = self.sweep_angle_deg {
            check(
                "sweep_angle_deg",
                a,
                a.abs() <= 360.0,
                "must be between -360 and 360°",
            )?;
        }
        check(
            "max_area_m2",
            self.max_area_m2,
            self.max_area_m2 > 0.0,
            "must be positive",
        )?;
        let items = self.max_mission_items as f64;
        check(
            "max_mission_items",
            items,
            self.max_mission_items >= 8,
            "must be at least 8",
        )?;
        let af = &self.airframe;
        for (name, v) in [
            ("airframe.battery_wh", af.battery_wh),
            ("airframe.cruise_power_w", af.cruise_power_w),
            ("airframe.hover_power_w", af.hover_power_w),
            ("airframe.climb_power_w", af.climb_power_w),
            ("airframe.climb_rate_mps", af.climb_rate_mps),
            ("airframe.descent_rate_mps", af.descent_rate_mps),
            ("airframe.accel_mps2", af.accel_mps2),
        ] {
            check(name, v, v > 0.0, "must be positive")?;
        }
        check(
            "airframe.reserve_pct",
            af.reserve_pct,
            (0.0..100.0).contains(&af.reserve_pct),
            "must be ≥ 0 and < 100 %",
        )?;
        let mut alt_rel_m = self.alt_rel_m;
        let derived = match self.spacing {
            Spacing::Camera(cam) => {
                cam.validate()?;
                if let Some(gsd) = self.target_gsd_cm_px {
                    check("target_gsd_cm_px", gsd, gsd > 0.0, "must be positive")?;
                    alt_rel_m = cam.alt_for_gsd_m(gsd);
                }
                check(
                    "alt_rel_m",
                    alt_rel_m,
                    alt_rel_m > 0.0 && alt_rel_m <= 10_000.0,
                    "must be > 0 and ≤ 10000 m",
                )?;
                Derived {
                    alt_rel_m,
                    line_spacing_m: cam.line_spacing_m(alt_rel_m, self.side_overlap_pct),
                    trigger_distance_m: Some(
                        cam.trigger_distance_m(alt_rel_m, self.front_overlap_pct),
                    ),
                    footprint_side_m: cam.footprint_side_m(alt_rel_m),
                    gsd_cm_px: Some(cam.gsd_cm_px(alt_rel_m)),
                }
            }
            Spacing::Direct {
                line_spacing_m,
                trigger_distance_m,
            } => {
                if let Some(gsd) = self.target_gsd_cm_px {
                    return Err(PlanError::InvalidParam {
                        name: "target_gsd_cm_px",
                        value: gsd,
                        expected: "needs a camera",
                    });
                }
                check(
                    "alt_rel_m",
                    alt_rel_m,
                    alt_rel_m > 0.0 && alt_rel_m <= 10_000.0,
                    "must be > 0 and ≤ 10000 m",
                )?;
                check(
                    "line_spacing_m",
                    line_spacing_m,
                    line_spacing_m > 0.0,
                    "must be positive",
                )?;
                if let Some(t) = trigger_distance_m {
                    check("trigger_distance_m", t, t > 0.0, "must be positive")?;
                }
                Derived {
                    alt_rel_m,
                    line_spacing_m,
                    trigger_distance_m,
                    footprint_side_m: line_spacing_m,
                    gsd_cm_px: None,
                }
            }
        };
        // Camera math gives a trigger distance of 5.999999999999998 m where people read 6: to
        // the micrometre, as every file, estimate and screen then shows it. (The line spacing
        // is left as computed: it places every transect, and the angle search's near ties.)
        let um = |v: f64| (v * 1e6).round() / 1e6;
        let derived = Derived {
            trigger_distance_m: derived.trigger_distance_m.map(um),
            ..derived
        };
        check(
            "line_spacing_m",
            derived.line_spacing_m,
            derived.line_spacing_m >= 0.1,
            "must be at least 0.1 m (raise the altitude or lower the overlap)",
        )?;
        if let Some(t) = derived.trigger_distance_m {
            check(
                "trigger_distance_m",
                t,
                t >= 0.1,
                "must be at least 0.1 m (raise the altitude or lower the overlap)",
            )?;
        }
        Ok(derived)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_mission_keeps_camera_and_sweep_angle() {
        let stored = MissionParams {
            altitude_m: 80.0,
            speed_mps: 7.0,
            side_overlap_pct: 65.0,
            front_overlap_pct: 75.0,
            camera: Some("Mavic3E".into()),
            sweep_angle_deg: Some(35.0),
            ..MissionParams::default()
        };
        let p = SurveyParams::from_mission(Pattern::Crosshatch, &stored, None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.pattern, Pattern::Crosshatch);
        assert_eq!(p.sweep_angle_deg, Some(35.0));
        assert_eq!(
            p.spacing,
            Spacing::Camera(
                crate::camera::builtin_camera("Mavic3E").unwrap_or_else(|e| panic!("{e}"))
            )
        );
        assert_eq!((p.alt_rel_m, p.speed_mps), (80.0, 7.0));
        assert_eq!((p.side_overlap_pct, p.front_overlap_pct), (65.0, 75.0));
        let unknown = MissionParams {
            camera: Some("hasselblad".into()),
            ..MissionParams::default()
        };
        let e = SurveyParams::from_mission(Pattern::Lawnmower, &unknown, None)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("hasselblad"), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        let mut p = SurveyParams {
            side_overlap_pct: 100.0,
            ..SurveyParams::default()
        };
        let e = p.derive().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("side_overlap_pct = 100"), "{e}");
        p.side_overlap_pct = -1.0;
        assert!(p.derive().is_err());
        p = SurveyParams {
            alt_rel_m: 0.0,
            ..SurveyParams::default()
        };
        let e = p.derive().err().map(|e| e.to_string()).unwrap_or_default();
        assert!(e.contains("alt_rel_m"), "{e}");
        p = SurveyParams {
            speed_mps: -2.0,
            ..SurveyParams::default()
        };
        assert!(
            p.derive()
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
                .contains("speed_mps")
        );
        assert!("zigzag".parse::<Pattern>().is_err());
        assert_eq!(
            "Expanding-Square".parse::<Pattern>().ok(),
            Some(Pattern::ExpandingSquare)
        );
    }

    #[test]
    fn target_gsd_sets_the_altitude() {
        let p = SurveyParams {
            target_gsd_cm_px: Some(2.0),
            ..SurveyParams::default()
        };
        let d = p.derive().unwrap_or_else(|e| panic!("{e}"));
        assert!((d.gsd_cm_px.unwrap_or_default() - 2.0).abs() < 1e-9);
        assert!((d.alt_rel_m - 72.96).abs() < 0.01, "{}", d.alt_rel_m);
    }
}
