//! The built-in file chooser's logic: whether the system's file dialog can be used, listing a
//! folder into the chooser, and doing what it was opened for once a path is chosen. Without a
//! desktop portal or zenity the system dialog returns nothing at all, so Import, Open log,
//! Save PDF and every export would do nothing visible; the built-in chooser always answers.

use super::{LogicMemory, files, reports, terrain};
use crate::gui::backend::Backend;
use crate::gui::command::{ExportFormat, OrgReportRequest};
use crate::gui::planning;
use crate::gui::settings::{FileDialogChoice, Settings};
use crate::gui::state::{AppState, ChooserEntry, ChooserMode, DemUse, FileChooser};
use aviary_core::MissionId;
use std::path::{Path, PathBuf};

/// What the chooser was opened for.
#[derive(Debug, Clone, PartialEq)]
pub enum ChooserPurpose {
    /// An area or a mission for the Plan view.
    ImportArea,
    /// No-fly zones for the Plan view.
    ImportNoFly,
    /// A telemetry log to replay.
    OpenTlog,
    /// Where to export the plan.
    ExportPlan(ExportFormat),
    /// Where to save a mission's PDF report.
    MissionReport(MissionId),
    /// The folder for an organisation report.
    OrgReport(OrgReportRequest),
    /// A DEM for Settings → Terrain or the Plan view.
    Dem(DemUse),
}

/// Whether this desktop offers the system file dialog the app asks for: on Linux a desktop
/// session (whose portal answers) or zenity; elsewhere always.
pub fn system_dialog_available() -> bool {
    if !cfg!(target_os = "linux") {
        return true;
    }
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty());
    let on_path = |exe: &str| {
        std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(exe).is_file()))
    };
    on_path("zenity") || (set("DBUS_SESSION_BUS_ADDRESS") && set("XDG_CURRENT_DESKTOP"))
}

/// Whether file choices go through the built-in chooser.
pub fn use_builtin(settings: &Settings) -> bool {
    match settings.file_dialog {
        FileDialogChoice::BuiltIn => true,
        FileDialogChoice::System => false,
        FileDialogChoice::Auto => !system_dialog_available(),
    }
}

/// The user's home folder, else the working directory.
pub(super) fn home_dir() -> PathBuf {
    ["HOME", "USERPROFILE"]
        .iter()
        .find_map(|v| std::env::var_os(v).filter(|p| !p.is_empty()))
        .map_or_else(
            || std::env::current_dir().unwrap_or_default(),
            PathBuf::from,
        )
}

/// Opens the chooser for `purpose` in the folder used last (else the home folder).
pub(super) fn open(state: &mut AppState, memory: &mut LogicMemory, purpose: ChooserPurpose) {
    let (title, mode, extensions, name): (&str, ChooserMode, Vec<&str>, String) = match &purpose {
        ChooserPurpose::ImportArea => (
            "Import survey area or mission",
            ChooserMode::Open,
            files::AREA_EXTENSIONS.to_vec(),
            String::new(),
        ),
        ChooserPurpose::ImportNoFly => (
            "Import no-fly zones",
            ChooserMode::Open,
            files::NO_FLY_EXTENSIONS.to_vec(),
            String::new(),
        ),
        ChooserPurpose::OpenTlog => (
            "Open telemetry log",
            ChooserMode::Open,
            vec!["tlog"],
            String::new(),
        ),
        ChooserPurpose::ExportPlan(f) => (
            "Export plan",
            ChooserMode::Save,
            vec![f.extension()],
            format!("{}.{}", files::sanitize(&state.plan.name), f.extension()),
        ),
        ChooserPurpose::MissionReport(id) => (
            "Save mission report",
            ChooserMode::Save,
            vec!["pdf"],
            format!(
                "{}-report.pdf",
                state
                    .mission(*id)
                    .map_or_else(|| "mission".to_owned(), |m| files::sanitize(&m.name))
            ),
        ),
        ChooserPurpose::OrgReport(_) => (
            "Folder for the organisation report",
            ChooserMode::Folder,
            Vec::new(),
            String::new(),
        ),
        ChooserPurpose::Dem(used_for) => (
            terrain::title(*used_for),
            ChooserMode::Open,
            terrain::DEM_EXTENSIONS.to_vec(),
            String::new(),
        ),
    };
    let dir = memory.chooser_dir.clone().unwrap_or_else(home_dir);
    state.chooser = Some(FileChooser::new(
        title,
        mode,
        &extensions,
        dir.clone(),
        name,
    ));
    memory.chooser = Some(purpose);
    list(state, memory, dir);
}

/// Lists `dir` into the open chooser; a folder that cannot be read leaves the listing and says
/// why in the chooser.
pub(super) fn list(state: &mut AppState, memory: &mut LogicMemory, dir: PathBuf) {
    let Some(chooser) = state.chooser.as_mut() else {
        return;
    };
    match read_folder(&dir) {
        Ok(entries) => {
            chooser.set_listing(dir.clone(), entries);
            memory.chooser_dir = Some(dir);
        }
        Err(e) => chooser.error = Some(format!("cannot open {}: {e}", dir.display())),
    }
}

fn read_folder(dir: &Path) -> std::io::Result<Vec<ChooserEntry>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let Ok(entry) = entry else { continue };
        // Follows links: a link to a folder opens as one.
        let Ok(meta) = std::fs::metadata(entry.path()) else {
            continue;
        };
        out.push(ChooserEntry {
            name: entry.file_name().to_string_lossy().into_owned(),
            is_dir: meta.is_dir(),
            size_bytes: meta.len(),
        });
    }
    Ok(out)
}

/// Closes the chooser without a choice.
pub(super) fn cancel(state: &mut AppState, memory: &mut LogicMemory) {
    state.chooser = None;
    memory.chooser = None;
}

/// Does what the chooser was opened for with `path`, and closes it.
pub(super) fn choose(
    state: &mut AppState,
    backend: &mut Backend,
    memory: &mut LogicMemory,
    path: PathBuf,
) {
    state.chooser = None;
    let Some(purpose) = memory.chooser.take() else {
        return;
    };
    match purpose {
        ChooserPurpose::ImportArea if planning::is_mission_file(&path) => {
            files::import_mission_from(backend, path);
        }
        ChooserPurpose::ImportArea => files::import_area_from(backend, path),
        ChooserPurpose::ImportNoFly => files::import_no_fly_from(backend, path),
        ChooserPurpose::OpenTlog => files::open_tlog_from(backend, path),
        ChooserPurpose::ExportPlan(format) => {
            files::export_plan(state, backend, format, Some(path));
        }
        ChooserPurpose::MissionReport(id) => {
            reports::mission_report(state, backend, id, Some(path));
        }
        ChooserPurpose::OrgReport(mut req) => {
            req.out_dir = Some(path);
            reports::org_report(state, backend, req);
        }
        ChooserPurpose::Dem(used_for) => terrain::load_from(backend, used_for, path),
    }
}
