//! QGroundControl's survey pattern (`ComplexItem` with `complexItemType: "survey"`), written
//! and read as QGroundControl's `SurveyComplexItem` saves it (survey version 5,
//! `TransectStyleComplexItem` version 2, `CameraCalc` version 2): the polygon, the grid angle,
//! the camera and grid settings, and the mission items the survey flies
//! (`TransectStyleComplexItem.Items`, which QGroundControl uploads as they are until the operator
//! edits the survey) with their path (`VisualTransectPoints`). A QGroundControl user opens
//! Aviary's survey as a survey, and edits it there.

use std::ops::Range;

use aviary_core::{LatLon, WaypointAction};
use serde_json::{Value, json};

use crate::camera::Camera;
use crate::error::{PlanError, Result};
use crate::params::{Pattern, Spacing, SurveyParams};
use crate::plan::Plan;

/// QGroundControl's name of a survey without camera specifications (the spacing and the
/// trigger distance are given directly).
pub const MANUAL_CAMERA: &str = "Manual (no camera specs)";
/// QGroundControl's name of a camera given by its sensor, lens and image size.
pub const CUSTOM_CAMERA: &str = "Custom Camera";

/// The camera of a survey and the overlaps that set its spacing and trigger distance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SurveyCamera {
    /// Sensor, lens and image size.
    pub camera: Camera,
    /// Side overlap, percent.
    pub side_overlap_pct: f64,
    /// Front overlap, percent.
    pub front_overlap_pct: f64,
    /// Ground sample distance, cm/px (QGroundControl's `ImageDensity`).
    pub gsd_cm_px: f64,
}

/// A survey pattern as QGroundControl edits it: the items it flies (a range of
/// [`MissionDoc::items`](super::MissionDoc::items)) and the settings that generate them.
#[derive(Debug, Clone, PartialEq)]
pub struct QgcSurvey {
    /// The survey's items in [`MissionDoc::items`](super::MissionDoc::items) (from the first survey waypoint to the
    /// camera stop; takeoff and return are simple items around it).
    pub items: Range<usize>,
    /// The survey polygon (QGroundControl's survey has no holes: a hole is flown round by the
    /// items, and lost when the survey is edited in QGroundControl).
    pub polygon: Vec<LatLon>,
    /// Transect bearing, degrees clockwise from north (QGroundControl's `angle`).
    pub angle_deg: f64,
    /// Altitude above takeoff, metres (`DistanceToSurface`, relative).
    pub alt_rel_m: f64,
    /// Distance between transects, metres (`AdjustedFootprintSide`).
    pub line_spacing_m: f64,
    /// Distance between photos, metres (`AdjustedFootprintFrontal`); 0 without photos.
    pub trigger_distance_m: f64,
    /// Distance flown beyond the polygon to turn, metres (`TurnAroundDistance`).
    pub turnaround_m: f64,
    /// A second pass at +90° (`Refly90Degrees`): Aviary's crosshatch.
    pub refly_90_deg: bool,
    /// The camera; `None` is QGroundControl's manual camera (spacing and trigger given).
    pub camera: Option<SurveyCamera>,
    /// Photos taken (`CameraShots`).
    pub camera_shots: u64,
}

impl QgcSurvey {
    /// The survey of a lawnmower or crosshatch plan over one polygon, with the camera of
    /// `params`; `None` for other patterns (QGroundControl has no perimeter, spiral or
    /// expanding-square survey: those are written as simple items) or several polygons.
    pub fn of_plan(plan: &Plan, params: &SurveyParams) -> Option<Self> {
        let refly_90_deg = match plan.pattern {
            Pattern::Lawnmower => false,
            Pattern::Crosshatch => true,
            Pattern::Perimeter | Pattern::Spiral | Pattern::ExpandingSquare => return None,
        };
        let [area] = plan.areas.as_slice() else {
            return None;
        };
        // The survey only: the transits around no-fly zones stay simple items around it.
        let items = plan.survey_items.clone();
        if items.start >= items.end || items.end > plan.items.len() {
            return None;
        }
        let d = &plan.derived;
        let camera = match params.spacing {
            Spacing::Camera(camera) => Some(SurveyCamera {
                camera,
                side_overlap_pct: params.side_overlap_pct,
                front_overlap_pct: params.front_overlap_pct,
                gsd_cm_px: d.gsd_cm_px.unwrap_or_else(|| camera.gsd_cm_px(d.alt_rel_m)),
            }),
            Spacing::Direct { .. } => None,
        };
        Some(Self {
            items,
            polygon: area.exterior.clone(),
            angle_deg: plan.sweep_angle_deg.unwrap_or(0.0).rem_euclid(360.0),
            alt_rel_m: d.alt_rel_m,
            line_spacing_m: d.line_spacing_m,
            trigger_distance_m: d.trigger_distance_m.unwrap_or(0.0),
            turnaround_m: params.turnaround_m,
            refly_90_deg,
            camera,
            camera_shots: plan.estimate.photos,
        })
    }
}

impl QgcSurvey {
    /// The survey block of a mission (e.g. one sortie's items): from the first item after the
    /// takeoff to the last item before the return (or landing); `None` when nothing is between
    /// them.
    pub fn block(items: &[aviary_core::Waypoint]) -> Option<Range<usize>> {
        survey_range(items)
    }
}

fn survey_range(items: &[aviary_core::Waypoint]) -> Option<Range<usize>> {
    let start = items
        .iter()
        .position(|w| w.action != WaypointAction::Takeoff)?;
    let end = items
        .iter()
        .rposition(|w| {
            !matches!(
                w.action,
                WaypointAction::ReturnToLaunch | WaypointAction::Land
            )
        })
        .map(|i| i + 1)?;
    (start < end).then_some(start..end)
}

/// A number as people read it: to the micrometre (a spacing of 22.5, not 22.499999999999996).
fn readable(v: f64) -> Value {
    if v.is_finite() {
        json!((v * 1e6).round() / 1e6)
    } else {
        Value::Null
    }
}

fn camera_calc(s: &QgcSurvey) -> Value {
    let mut calc = json!({
        "AdjustedFootprintFrontal": readable(s.trigger_distance_m),
        "AdjustedFootprintSide": readable(s.line_spacing_m),
        "CameraName": MANUAL_CAMERA,
        "DistanceMode": 1,
        "DistanceToSurface": readable(s.alt_rel_m),
        "version": 2,
    });
    if let (Some(c), Some(o)) = (s.camera, calc.as_object_mut()) {
        let cam = c.camera;
        o.insert("CameraName".into(), json!(CUSTOM_CAMERA));
        o.insert("FixedOrientation".into(), json!(false));
        o.insert("FocalLength".into(), readable(cam.focal_length_mm));
        o.insert("FrontalOverlap".into(), readable(c.front_overlap_pct));
        o.insert("ImageDensity".into(), readable(c.gsd_cm_px));
        o.insert("ImageHeight".into(), json!(cam.image_height_px));
        o.insert("ImageWidth".into(), json!(cam.image_width_px));
        o.insert("Landscape".into(), json!(true));
        o.insert("MinTriggerInterval".into(), json!(0));
        o.insert("SensorHeight".into(), readable(cam.sensor_height_mm));
        o.insert("SensorWidth".into(), readable(cam.sensor_width_mm));
        o.insert("SideOverlap".into(), readable(c.side_overlap_pct));
        o.insert("ValueSetIsDistance".into(), json!(true));
    }
    calc
}

/// The survey `ComplexItem` around `items` (the survey's simple items, as JSON) flying
/// through `path`.
pub(crate) fn survey_json(s: &QgcSurvey, items: Vec<Value>, path: &[LatLon]) -> Value {
    let points: Vec<Value> = path.iter().map(|p| json!([p.lat_deg, p.lon_deg])).collect();
    let polygon: Vec<Value> = s
        .polygon
        .iter()
        .map(|p| json!([p.lat_deg, p.lon_deg]))
        .collect();
    let mut item = json!({
        "TransectStyleComplexItem": {
            "CameraCalc": camera_calc(s),
            "CameraShots": s.camera_shots,
            "CameraTriggerInTurnAround": true,
            "HoverAndCapture": false,
            "Refly90Degrees": s.refly_90_deg,
            "TurnAroundDistance": readable(s.turnaround_m),
            "VisualTransectPoints": points,
            "version": 2
        },
        "angle": readable(s.angle_deg),
        "complexItemType": "survey",
        "entryLocation": 0,
        "flyAlternateTransects": false,
        "polygon": polygon,
        "splitConcavePolygons": false,
        "type": "ComplexItem",
        "version": 5
    });
    // Moved in, not serialised again (a large survey has thousands of items).
    if let Some(o) = item
        .get_mut("TransectStyleComplexItem")
        .and_then(Value::as_object_mut)
    {
        o.insert("Items".into(), Value::Array(items));
    }
    item
}

fn f64_at(v: &Value, key: &str) -> Option<f64> {
    v.get(key).and_then(Value::as_f64)
}

/// The settings of a survey `ComplexItem` (`it`) whose items are `items` of the mission and
/// whose polygon is `polygon`; `ctx` names the item in errors.
pub(crate) fn read_survey(
    it: &Value,
    items: Range<usize>,
    polygon: Vec<LatLon>,
    ctx: &str,
) -> Result<QgcSurvey> {
    let err = |d: String| PlanError::format(".plan", format!("{ctx} (survey): {d}"));
    let tsc = it
        .get("TransectStyleComplexItem")
        .ok_or_else(|| err("no TransectStyleComplexItem".into()))?;
    let calc = tsc
        .get("CameraCalc")
        .ok_or_else(|| err("no TransectStyleComplexItem.CameraCalc".into()))?;
    let need = |v: &Value, key: &str| {
        f64_at(v, key)
            .filter(|x| x.is_finite())
            .ok_or_else(|| err(format!("{key} is missing or not a number")))
    };
    let name = calc
        .get("CameraName")
        .and_then(Value::as_str)
        .unwrap_or(MANUAL_CAMERA);
    let camera = if name == MANUAL_CAMERA {
        None
    } else {
        let px = |key: &str| {
            need(calc, key).and_then(|x| {
                u32::try_from(x.round() as i64)
                    .map_err(|_| err(format!("CameraCalc.{key} {x} is not a pixel count")))
            })
        };
        let camera = Camera {
            sensor_width_mm: need(calc, "SensorWidth")?,
            sensor_height_mm: need(calc, "SensorHeight")?,
            focal_length_mm: need(calc, "FocalLength")?,
            image_width_px: px("ImageWidth")?,
            image_height_px: px("ImageHeight")?,
        };
        camera
            .validate()
            .map_err(|e| err(format!("camera {name:?}: {e}")))?;
        Some(SurveyCamera {
            camera,
            side_overlap_pct: need(calc, "SideOverlap")?,
            front_overlap_pct: need(calc, "FrontalOverlap")?,
            gsd_cm_px: need(calc, "ImageDensity")?,
        })
    };
    Ok(QgcSurvey {
        items,
        polygon,
        angle_deg: need(it, "angle")?,
        alt_rel_m: need(calc, "DistanceToSurface")?,
        line_spacing_m: need(calc, "AdjustedFootprintSide")?,
        trigger_distance_m: f64_at(calc, "AdjustedFootprintFrontal").unwrap_or(0.0),
        turnaround_m: f64_at(tsc, "TurnAroundDistance").unwrap_or(0.0),
        refly_90_deg: tsc
            .get("Refly90Degrees")
            .and_then(Value::as_bool)
            .unwrap_or(false),
        camera,
        camera_shots: tsc.get("CameraShots").and_then(Value::as_u64).unwrap_or(0),
    })
}
