//! File formats: survey areas in (GeoJSON, KML, KMZ, ESRI Shapefile) and missions out
//! (QGroundControl `.plan`, `QGC WPL 110`, KML, GeoJSON, CSV), with readers for `.plan` and
//! WPL so files round-trip. Writers are deterministic: the same mission gives the same bytes.

mod area_in;
mod export;
mod qgc;
mod qgc_survey;
mod wpl;

use std::path::Path;

use aviary_core::mission_items::{PlanItem, frame, mission_items};
use aviary_core::{LatLon, SurveyArea, Waypoint};

pub use area_in::{parse_geojson, parse_kml, parse_kmz, parse_shapefile};
pub use export::{to_csv, to_geojson, to_kml};
pub use qgc::{Firmware, PlanFileOptions, read_qgc_plan, to_qgc_plan, to_qgc_plan_with};
pub use qgc_survey::{CUSTOM_CAMERA, MANUAL_CAMERA, QgcSurvey, SurveyCamera};
pub use wpl::{read_wpl, read_wpl_items, to_wpl};

use crate::error::{PlanError, Result};
use crate::params::SurveyParams;
use crate::plan::Plan;

/// A mission as written to or read from a file.
#[derive(Debug, Clone, PartialEq)]
pub struct MissionDoc {
    /// Home (takeoff and return) position.
    pub home: LatLon,
    /// Mission items in order (the first is usually a takeoff).
    pub items: Vec<Waypoint>,
    /// Survey polygons (inclusion geofence).
    pub areas: Vec<SurveyArea>,
    /// No-fly zones (exclusion geofence).
    pub no_fly: Vec<SurveyArea>,
    /// Cruise speed, m/s.
    pub speed_mps: f64,
    /// Survey patterns QGroundControl edits, each over a range of `items` (a `.plan` writes
    /// them as survey `ComplexItem`s; other formats fly their items the same).
    pub surveys: Vec<QgcSurvey>,
    /// Rally points (safe landing places); a `.plan` without any gets home.
    pub rally_points: Vec<LatLon>,
    /// The altitude frame the files are written in.
    pub alt_frame: AltitudeFrame,
}

/// The frame of a mission file's altitudes. The items always hold altitudes above home
/// (`alt_rel_m`); with [`AltitudeFrame::Amsl`] the writers add the ground height at home.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum AltitudeFrame {
    /// Above home (`MAV_FRAME_GLOBAL_RELATIVE_ALT`; KML `relativeToGround` as the best
    /// approximation).
    #[default]
    AboveHome,
    /// Above mean sea level (`MAV_FRAME_GLOBAL`, QGroundControl's absolute altitude mode,
    /// KML `absolute`), for terrain-following missions: an item's altitude is
    /// `alt_rel_m + home_amsl_m`.
    Amsl {
        /// Ground height at home above mean sea level (EGM96), metres.
        home_amsl_m: f64,
    },
}

impl AltitudeFrame {
    /// What to add to an altitude above home to get the file's altitude.
    pub const fn offset_m(self) -> f64 {
        match self {
            Self::AboveHome => 0.0,
            Self::Amsl { home_amsl_m } => home_amsl_m,
        }
    }
}

/// The mission items of `doc` as written to a file: [`mission_items`] in the document's
/// altitude frame (absolute: home at its ground height, positions in `MAV_FRAME_GLOBAL`).
pub(crate) fn file_items(doc: &MissionDoc) -> Vec<PlanItem> {
    let mut items = mission_items(doc.home, &doc.items, doc.speed_mps);
    if let AltitudeFrame::Amsl { home_amsl_m } = doc.alt_frame {
        for i in &mut items {
            if i.seq == 0 {
                i.alt_m = home_amsl_m;
            } else if i.frame == frame::GLOBAL_RELATIVE_ALT {
                i.frame = frame::GLOBAL;
                i.alt_m += home_amsl_m;
            }
        }
    }
    items
}

impl MissionDoc {
    /// The whole mission of a plan.
    pub fn from_plan(plan: &Plan) -> Self {
        Self {
            home: plan.home,
            items: plan.items.clone(),
            areas: plan.areas.clone(),
            no_fly: plan.no_fly.clone(),
            speed_mps: plan.speed_mps,
            surveys: Vec::new(),
            rally_points: Vec::new(),
            alt_frame: AltitudeFrame::AboveHome,
        }
    }

    /// The whole mission of a plan with its survey as QGroundControl edits it (lawnmower and
    /// crosshatch over one polygon, see [`QgcSurvey::of_plan`]; other plans as
    /// [`MissionDoc::from_plan`]). `params` are the plan's (its camera and overlaps).
    pub fn from_plan_editable(plan: &Plan, params: &SurveyParams) -> Self {
        Self {
            surveys: QgcSurvey::of_plan(plan, params).into_iter().collect(),
            ..Self::from_plan(plan)
        }
    }

    /// One sortie of a plan (0-based index) with the plan's survey polygons; `None` when there
    /// is no such sortie. Only the sortie's items are copied, never the whole mission's.
    pub fn from_sortie(plan: &Plan, index: usize) -> Option<Self> {
        plan.sorties.get(index).map(|s| Self {
            home: plan.home,
            items: s.items.clone(),
            areas: plan.areas.clone(),
            no_fly: plan.no_fly.clone(),
            speed_mps: plan.speed_mps,
            surveys: Vec::new(),
            rally_points: Vec::new(),
            alt_frame: AltitudeFrame::AboveHome,
        })
    }

    /// One sortie of a plan (0-based index), its items only: no survey polygons (a file
    /// written from it has no geofence and no area layer). Writing every sortie of a large
    /// survey this way copies each item once, whatever the size of the area.
    pub fn sortie_items_only(plan: &Plan, index: usize) -> Option<Self> {
        plan.sorties.get(index).map(|s| Self {
            home: plan.home,
            items: s.items.clone(),
            areas: Vec::new(),
            no_fly: Vec::new(),
            speed_mps: plan.speed_mps,
            surveys: Vec::new(),
            rally_points: Vec::new(),
            alt_frame: AltitudeFrame::AboveHome,
        })
    }
}

/// The output formats, chosen by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// QGroundControl `.plan` JSON.
    QgcPlan,
    /// `QGC WPL 110` text (`.waypoints`, `.txt`, `.wpl`).
    Wpl,
    /// KML.
    Kml,
    /// GeoJSON.
    GeoJson,
    /// CSV of waypoints.
    Csv,
}

impl OutputFormat {
    /// The format for a path's extension.
    pub fn from_path(path: &Path) -> Result<Self> {
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default()
            .to_ascii_lowercase();
        match ext.as_str() {
            "plan" => Ok(Self::QgcPlan),
            "waypoints" | "wpl" | "txt" | "mission" => Ok(Self::Wpl),
            "kml" => Ok(Self::Kml),
            "geojson" | "json" => Ok(Self::GeoJson),
            "csv" => Ok(Self::Csv),
            _ => Err(PlanError::UnsupportedFormat(path.display().to_string())),
        }
    }

    /// Renders a mission in this format (a `.plan` with the default [`PlanFileOptions`]).
    pub fn render(self, doc: &MissionDoc) -> String {
        self.render_with(doc, &PlanFileOptions::default())
    }

    /// Renders a mission in this format; `options` apply to a `.plan`.
    pub fn render_with(self, doc: &MissionDoc, options: &PlanFileOptions) -> String {
        match self {
            Self::QgcPlan => to_qgc_plan_with(doc, options),
            Self::Wpl => to_wpl(doc),
            Self::Kml => to_kml(doc),
            Self::GeoJson => to_geojson(doc),
            Self::Csv => to_csv(doc),
        }
    }
}

/// Reads a survey area file by extension: `.geojson`/`.json`, `.kml`, `.kmz`, or `.shp` (with
/// its `.prj` beside it, which must be geographic WGS84 when present).
pub fn read_area_file(path: &Path) -> Result<Vec<SurveyArea>> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    let read = |p: &Path| std::fs::read(p).map_err(|e| PlanError::io(p, e));
    let text = |p: &Path| read(p).map(|b| String::from_utf8_lossy(&b).into_owned());
    match ext.as_str() {
        "geojson" | "json" => parse_geojson(&text(path)?),
        "kml" => parse_kml(&text(path)?),
        "kmz" => parse_kmz(&read(path)?),
        "shp" => {
            let prj_path = path.with_extension("prj");
            let prj = if prj_path.exists() {
                Some(text(&prj_path)?)
            } else {
                None
            };
            parse_shapefile(std::io::Cursor::new(read(path)?), prj.as_deref())
        }
        _ => Err(PlanError::UnsupportedFormat(path.display().to_string())),
    }
}

/// Writes a mission to `path` in the format its extension names.
pub fn write_mission_file(path: &Path, doc: &MissionDoc) -> Result<()> {
    write_mission_file_with(path, doc, &PlanFileOptions::default())
}

/// Writes a mission to `path` in the format its extension names; `options` apply to a `.plan`.
pub fn write_mission_file_with(
    path: &Path,
    doc: &MissionDoc,
    options: &PlanFileOptions,
) -> Result<()> {
    let body = OutputFormat::from_path(path)?.render_with(doc, options);
    write_atomically(path, body.as_bytes())
}

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it over `path`, so
/// a reader never sees half a mission.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let name = path
        .file_name()
        .map_or_else(|| "mission".into(), |n| n.to_string_lossy().into_owned());
    let tmp = path.with_file_name(format!(".{name}.tmp"));
    let written = std::fs::File::create(&tmp).and_then(|mut f| {
        f.write_all(bytes)?;
        f.sync_all()
    });
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(PlanError::io(&tmp, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| PlanError::io(path, e))
}

/// Writes a plan's whole mission to `path`.
pub fn write_plan_file(path: &Path, plan: &Plan) -> Result<()> {
    write_mission_file(path, &MissionDoc::from_plan(plan))
}

/// Writes a plan's whole mission to `path`; `options` apply to a `.plan`.
pub fn write_plan_file_with(path: &Path, plan: &Plan, options: &PlanFileOptions) -> Result<()> {
    write_mission_file_with(path, &MissionDoc::from_plan(plan), options)
}

/// Reads a mission back from a `.plan` or WPL file.
pub fn read_mission_file(path: &Path) -> Result<MissionDoc> {
    let text = std::fs::read_to_string(path).map_err(|e| PlanError::io(path, e))?;
    match OutputFormat::from_path(path)? {
        OutputFormat::QgcPlan => read_qgc_plan(&text),
        OutputFormat::Wpl => read_wpl(&text),
        _ => Err(PlanError::UnsupportedFormat(path.display().to_string())),
    }
}
