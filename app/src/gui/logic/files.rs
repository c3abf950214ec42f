//! Imports and exports through file dialogs, on job threads: survey areas, no-fly zones,
//! telemetry logs to replay, and the plan in other ground stations' formats.

use crate::gui::backend::Backend;
use crate::gui::command::ExportFormat;
use crate::gui::jobs::JobOutput;
use crate::gui::planning;
use crate::gui::state::AppState;
use aviary_core::SurveyArea;
use std::path::PathBuf;

/// The files Import area opens: areas, and missions other tools wrote.
pub(super) const AREA_EXTENSIONS: [&str; 10] = [
    "geojson",
    "json",
    "kml",
    "kmz",
    "shp",
    "plan",
    "waypoints",
    "wpl",
    "txt",
    "mission",
];

/// The files Import zones opens.
pub(super) const NO_FLY_EXTENSIONS: [&str; 5] = ["geojson", "json", "kml", "kmz", "shp"];

/// Asks for a survey-area file and imports it.
pub(super) fn pick_area(backend: &mut Backend) {
    backend.jobs.spawn("Importing area", |_| {
        let picked = rfd::FileDialog::new()
            .set_title("Import survey area or mission")
            .add_filter("Survey areas and missions", &AREA_EXTENSIONS)
            .pick_file();
        match picked {
            None => JobOutput::Cancelled,
            Some(path) if planning::is_mission_file(&path) => {
                JobOutput::MissionImported(planning::read_mission(&path))
            }
            Some(path) => JobOutput::AreaImported(import_area(&path)),
        }
    });
}

/// Opens the mission file in `path` (QGroundControl `.plan`, `QGC WPL 110`) in the editor.
pub(super) fn import_mission_from(backend: &mut Backend, path: PathBuf) {
    backend.jobs.spawn("Importing mission", move |_| {
        JobOutput::MissionImported(planning::read_mission(&path))
    });
}

/// Imports the survey area in `path`.
pub(super) fn import_area_from(backend: &mut Backend, path: PathBuf) {
    backend.jobs.spawn("Importing area", move |_| {
        JobOutput::AreaImported(import_area(&path))
    });
}

/// Asks for a file of no-fly zones and imports it.
pub(super) fn pick_no_fly(backend: &mut Backend) {
    backend.jobs.spawn("Importing no-fly zones", |_| {
        let picked = rfd::FileDialog::new()
            .set_title("Import no-fly zones")
            .add_filter("Zones", &NO_FLY_EXTENSIONS)
            .pick_file();
        match picked {
            None => JobOutput::Cancelled,
            Some(path) => JobOutput::NoFlyImported(import_no_fly(&path)),
        }
    });
}

/// Imports the no-fly zones in `path`.
pub(super) fn import_no_fly_from(backend: &mut Backend, path: PathBuf) {
    backend.jobs.spawn("Importing no-fly zones", move |_| {
        JobOutput::NoFlyImported(import_no_fly(&path))
    });
}

/// Asks for a telemetry log and loads it for replay.
pub(super) fn open_tlog(backend: &mut Backend) {
    backend.jobs.spawn("Reading telemetry log", |_| {
        let picked = rfd::FileDialog::new()
            .set_title("Open telemetry log")
            .add_filter("MAVLink telemetry log", &["tlog"])
            .pick_file();
        match picked {
            None => JobOutput::Cancelled,
            Some(path) => load_tlog(&path),
        }
    });
}

/// Loads `path` for replay in the background, with no dialog (a drop or the start file).
pub(super) fn open_tlog_from(backend: &mut Backend, path: std::path::PathBuf) {
    backend
        .jobs
        .spawn("Reading telemetry log", move |_| load_tlog(&path));
}

fn load_tlog(path: &std::path::Path) -> JobOutput {
    JobOutput::TlogLoaded(
        aviary_links::mav::read_replay(path)
            .map(|s| {
                (
                    path.file_name()
                        .map(|n| n.to_string_lossy().into_owned())
                        .unwrap_or_default(),
                    s,
                )
            })
            .map_err(|e| format!("{}: {e}", path.display())),
    )
}

fn import_area(path: &std::path::Path) -> Result<(String, SurveyArea), String> {
    let area = planning::read_area(path)?;
    let name = path.file_stem().map_or_else(
        || "Imported area".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok((name, area))
}

fn import_no_fly(path: &std::path::Path) -> Result<(String, Vec<SurveyArea>), String> {
    let zones = planning::read_areas(path)?;
    let name = path
        .file_name()
        .map_or_else(|| "file".to_owned(), |n| n.to_string_lossy().into_owned());
    Ok((name, zones))
}

/// Exports the plan being edited to `path`, or (`None`) to a file chosen with the system's
/// dialog on the job thread.
pub(super) fn export_plan(
    state: &mut AppState,
    backend: &mut Backend,
    format: ExportFormat,
    path: Option<PathBuf>,
) {
    let Some(preview) = state.plan.current_preview().cloned() else {
        state.notice(
            "nothing to export: draw an area and wait for the plan",
            true,
        );
        return;
    };
    let area = state.plan.area();
    let no_fly = state.plan.no_fly_areas();
    let default_name = format!("{}.{}", sanitize(&state.plan.name), format.extension());
    backend.jobs.spawn("Exporting plan", move |progress| {
        let picked = path.or_else(|| {
            rfd::FileDialog::new()
                .set_title("Export plan")
                .set_file_name(&default_name)
                .add_filter(format.label(), &[format.extension()])
                .save_file()
        });
        let Some(path) = picked else {
            return JobOutput::Cancelled;
        };
        progress.set(0.5);
        // A plan over the terrain (following it, or at one sea-level altitude) is written in
        // absolute altitudes, as `aviary plan --terrain-follow` writes it.
        let home_amsl_m = preview
            .terrain
            .as_ref()
            .and_then(|t| t.planned.as_ref())
            .map(|t| t.home_amsl_m);
        let r = planning::write_plan(
            &path,
            &planning::PlanFile {
                area: &area,
                no_fly: &no_fly,
                waypoints: &preview.waypoints,
                home: preview.home,
                speed_mps: preview.speed_mps,
                home_amsl_m,
            },
        )
        .map(|()| path);
        JobOutput::Exported(r)
    });
}

/// `name` as a file name: anything but letters, digits, `-` and `_` becomes `_`.
pub(super) fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "mission".to_owned()
    } else {
        s
    }
}

/// Puts an imported mission in the editor: its survey polygon, altitude, angle, pattern,
/// overlaps, speed and fence exclusions; the notice says what was read.
pub(super) fn apply_mission_import(state: &mut AppState, m: planning::MissionImport) {
    let ed = &mut state.plan;
    ed.params.altitude_m = m.alt_rel_m;
    ed.params.sweep_angle_deg = Some(m.angle_deg);
    if m.speed_mps > 0.0 {
        ed.params.speed_mps = m.speed_mps;
    }
    if let Some((side, front)) = m.overlaps_pct {
        ed.params.side_overlap_pct = side;
        ed.params.front_overlap_pct = front;
    }
    ed.pattern = if m.crosshatch {
        aviary_core::FlightPattern::Crosshatch
    } else {
        aviary_core::FlightPattern::Lawnmower
    };
    let zones = m.no_fly.len();
    ed.add_no_fly(m.no_fly);
    state.focus_map_on(m.polygon.iter().copied());
    let ed = &mut state.plan;
    ed.set_vertices(m.polygon);
    ed.name.clone_from(&m.name);
    // The settings changed even when the polygon is the one already there.
    ed.changed();
    state.notice(
        format!(
            "imported {}: survey of {} items at {:.0} m, {zones} no-fly zone(s), {} rally point(s)",
            m.name, m.items, m.alt_rel_m, m.rally_points
        ),
        false,
    );
}
