//! Intents: everything the UI asks for that touches the store, a link, the simulator, the
//! file system or a background job. `ui` code pushes [`Command`]s into a [`CommandQueue`];
//! [`super::logic::handle_command`] executes them after the frame, in one place.

use super::state::{
    AlertHistoryQuery, AlertSeverity, AltitudeMode, DemUse, FaultKind, PlanPreview, View,
};
use aviary_core::wire::CommandAction;
use aviary_core::{
    DroneId, DroneStatus, FlightPattern, MissionId, MissionParams, MissionStatus, SiteId,
    SurveyArea,
};
use std::path::PathBuf;

/// Plan export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// QGroundControl `.plan` (JSON).
    QgcPlan,
    /// MAVLink waypoint list (`QGC WPL 110`).
    Wpl,
    /// KML.
    Kml,
    /// GeoJSON.
    GeoJson,
}

impl ExportFormat {
    /// Every format.
    pub const ALL: [ExportFormat; 4] = [Self::QgcPlan, Self::Wpl, Self::Kml, Self::GeoJson];

    /// Label.
    pub const fn label(self) -> &'static str {
        match self {
            Self::QgcPlan => ".plan",
            Self::Wpl => "WPL",
            Self::Kml => "KML",
            Self::GeoJson => "GeoJSON",
        }
    }

    /// File extension.
    pub const fn extension(self) -> &'static str {
        match self {
            Self::QgcPlan => "plan",
            Self::Wpl => "waypoints",
            Self::Kml => "kml",
            Self::GeoJson => "geojson",
        }
    }
}

/// Everything the UI can ask for.
#[derive(Debug, Clone)]
pub enum Command {
    /// Plan the editor's polygon in the background; the result carries `revision`.
    PlanPreview {
        /// Editor revision planned.
        revision: u64,
        /// Area.
        area: SurveyArea,
        /// Pattern.
        pattern: FlightPattern,
        /// Parameters.
        params: MissionParams,
        /// Takeoff point (the site or the drone's home).
        home: Option<aviary_core::LatLon>,
        /// No-fly zones the path keeps out of.
        no_fly: Vec<SurveyArea>,
        /// Above home, above the terrain of the plan's DEM, or above sea level.
        alt_mode: AltitudeMode,
        /// Above the terrain: the largest gap between the flown line and the AGL profile,
        /// metres.
        terrain_tolerance_m: f64,
    },
    /// Save the editor's plan as a planned mission.
    SaveMission {
        /// Name.
        name: String,
        /// Site.
        site: SiteId,
        /// Drone, if assigned.
        drone: Option<DroneId>,
        /// Area.
        area: SurveyArea,
        /// Pattern.
        pattern: FlightPattern,
        /// Parameters.
        params: MissionParams,
        /// The plan (waypoints and estimates).
        plan: PlanPreview,
    },
    /// Assign a drone to a planned mission.
    AssignDrone {
        /// Mission.
        mission: MissionId,
        /// Drone.
        drone: DroneId,
    },
    /// Delete a planned mission.
    DeleteMission(MissionId),
    /// Send start, pause, resume, abort or RTH to the mission's drone. Abort and RTH reach
    /// this only after the operator confirmed them.
    MissionControl {
        /// Mission.
        mission: MissionId,
        /// Action.
        action: CommandAction,
    },
    /// Start despite failed soft pre-flight checks (battery, distance, sorties); `reason` is
    /// the operator's, written to the audit log (`preflight.override`).
    StartOverride {
        /// Mission.
        mission: MissionId,
        /// Why the operator starts anyway.
        reason: String,
    },
    /// Set a drone's status (maintenance / available).
    SetDroneStatus {
        /// Drone.
        drone: DroneId,
        /// New status.
        status: DroneStatus,
    },
    /// Acknowledge an alert.
    AcknowledgeAlert(u64),
    /// Acknowledge these alerts at once (a group, or every open alert).
    AcknowledgeAlerts(Vec<u64>),
    /// Open the alert history window on this page and filter, read from the store.
    ShowAlertHistory(AlertHistoryQuery),
    /// Play the sound of a severity now (Settings' test button; ignores the mute).
    PlayAlertSound(AlertSeverity),
    /// Pick an area file (GeoJSON, KML, KMZ, SHP) with the native dialog and load it into
    /// the editor, in the background.
    ImportArea,
    /// Load an area file from a known path into the editor (background).
    ImportAreaFrom(PathBuf),
    /// Pick a file of no-fly zones (every polygon in it) with the native dialog and add them
    /// to the editor, in the background.
    ImportNoFly,
    /// Add the no-fly zones of a file at a known path to the editor (background).
    ImportNoFlyFrom(PathBuf),
    /// Open a mission file (QGroundControl `.plan`, `QGC WPL 110`) at a known path in the
    /// Plan editor: its survey polygon, settings and fence (background).
    ImportMissionFrom(PathBuf),
    /// Export the editor's plan: pick a file with the native dialog, write in the background.
    ExportPlan(ExportFormat),
    /// Search stored missions.
    SearchHistory {
        /// Site.
        site: Option<SiteId>,
        /// Status.
        status: Option<MissionStatus>,
        /// Only the last this-many days (0: all).
        last_days: u32,
    },
    /// Load a stored mission's telemetry for replay.
    ReplayMission(MissionId),
    /// Pick a `.tlog` with the native dialog and load it for replay (background).
    OpenTlog,
    /// List this folder in the built-in file chooser.
    ChooserList(PathBuf),
    /// List the user's home folder in the built-in file chooser.
    ChooserHome,
    /// The built-in file chooser's answer: do what it was opened for with this path.
    ChooserChoose(PathBuf),
    /// Close the built-in file chooser without a choice.
    ChooserCancel,
    /// Load this `.tlog` for replay (background): a drop, or the file the app was opened with.
    OpenTlogFrom(PathBuf),
    /// Add a simulated drone at a site.
    AddSimDrone(SiteId),
    /// Remove a simulated drone.
    RemoveSimDrone(DroneId),
    /// Inject a fault into a simulated drone.
    InjectFault {
        /// Drone.
        drone: DroneId,
        /// Fault.
        fault: FaultKind,
    },
    /// Save the settings file and apply what changed (tile source).
    SaveSettings,
    /// Restart the built-in simulated fleet as the Simulator settings now say: off, over
    /// `MAVLink`, or as MQTT clients of a broker (registered on the fleet server if asked).
    ApplySimulator,
    /// Log in to a fleet server and show its organisation's fleet with the local one.
    ConnectServer {
        /// Base URL.
        url: String,
        /// Account e-mail.
        email: String,
        /// Password.
        password: String,
    },
    /// Stop showing the fleet server's drones.
    DisconnectServer,
    /// Build a mission's report from stored telemetry (`aviary-reports`) and write it as PDF
    /// to a file chosen in the native dialog (in the background).
    MissionReport(aviary_core::MissionId),
    /// Build the organisation report for a period from the store and write it as PDF and/or
    /// CSV (the period's mission history), all on a job thread with progress.
    OrgReport(OrgReportRequest),
    /// Store a drone model's weather limits (`None`: back to the built-in defaults).
    SetWeatherLimits {
        /// Model name.
        model: String,
        /// The limits.
        limits: Option<aviary_core::weather::WeatherLimits>,
    },
    /// Schedule a planned mission on this desktop (runs while the app runs).
    CreateSchedule {
        /// The planned mission each run flies a copy of.
        mission: MissionId,
        /// When, in the site's local time.
        spec: aviary_core::schedule::ScheduleSpec,
    },
    /// Delete a local schedule and its runs.
    DeleteSchedule(uuid::Uuid),
    /// The operator's answer to a scheduled run that is due: start it, or decline with a
    /// reason (the run is recorded as missed with it).
    AnswerRun {
        /// The schedule.
        schedule: uuid::Uuid,
        /// The run's local date.
        local_date: chrono::NaiveDate,
        /// Start (`Ok`) or the reason to decline.
        confirm: Result<(), String>,
    },
    /// Offline maps: re-read the stored sets and their sizes.
    OfflineMapsList,
    /// Offline maps: count the tiles of an area (refused above the cap).
    OfflineMapsEstimate(OfflineArea),
    /// Offline maps: download an area into a new stored set named `name`.
    OfflineMapsDownload {
        /// The set's name.
        name: String,
        /// What to download.
        area: OfflineArea,
    },
    /// Offline maps: stop the running download (nothing of it is kept).
    OfflineMapsCancel,
    /// Offline maps: delete a stored set.
    OfflineMapsDelete(String),
    /// Pick a DEM file (SRTM `.hgt`, `GeoTIFF`) with the file dialog and load it for `DemUse`
    /// (background).
    ChooseDem(DemUse),
    /// Load the DEM at a known path for `used_for` (background); a file that cannot be read
    /// leaves the DEM in use as it was and says why.
    LoadDem {
        /// What the DEM is for.
        used_for: DemUse,
        /// The file.
        path: PathBuf,
    },
    /// Stop using a DEM for `DemUse`.
    ClearDem(DemUse),
    /// Answer the autopilots' terrain requests from the stored elevation tiles (Settings →
    /// Terrain's source and zoom; downloaded under Offline maps).
    TerrainFromTiles,
}

/// An area and zoom range for an offline map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OfflineArea {
    /// South-west corner.
    pub sw: aviary_core::LatLon,
    /// North-east corner.
    pub ne: aviary_core::LatLon,
    /// Lowest zoom.
    pub zoom_min: u8,
    /// Highest zoom.
    pub zoom_max: u8,
    /// Elevation tiles (Settings → Terrain's source) instead of map tiles.
    pub elevation: bool,
}

/// What [`Command::OrgReport`] writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgReportRequest {
    /// First day of the period (from 00:00 UTC).
    pub from: chrono::NaiveDate,
    /// Last day of the period, inclusive (to 24:00 UTC).
    pub to: chrono::NaiveDate,
    /// Write the PDF.
    pub pdf: bool,
    /// Write the history CSV.
    pub csv: bool,
    /// Folder for the files; `None`: ask with the native folder dialog.
    pub out_dir: Option<PathBuf>,
}

/// The UI's outbox for one frame. Drained by `logic` after the frame.
#[derive(Debug, Default)]
pub struct CommandQueue {
    queue: Vec<Command>,
}

impl CommandQueue {
    /// Queues `cmd`.
    pub fn send(&mut self, cmd: Command) {
        self.queue.push(cmd);
    }

    /// Takes every queued command, oldest first.
    pub fn drain(&mut self) -> Vec<Command> {
        std::mem::take(&mut self.queue)
    }

    /// Whether anything is queued.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

/// What opening `path` does, by its extension, and the view that shows the result: a survey
/// area or a mission opens in Plan, a `.tlog` in History. The same for a file dropped on the
/// window and the file the app was started with (a double-click on a `.plan` or `.tlog`).
///
/// # Errors
/// A file Aviary cannot open, with its name and the kinds it can.
pub fn open_file_command(path: &std::path::Path) -> Result<(View, Command), String> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase();
    if ["geojson", "json", "kml", "kmz", "shp"].contains(&ext.as_str()) {
        Ok((View::Plan, Command::ImportAreaFrom(path.to_path_buf())))
    } else if super::planning::is_mission_file(path) {
        Ok((View::Plan, Command::ImportMissionFrom(path.to_path_buf())))
    } else if ext == "tlog" {
        Ok((View::History, Command::OpenTlogFrom(path.to_path_buf())))
    } else {
        Err(format!(
            "cannot open {}: Aviary opens survey areas (GeoJSON, KML, KMZ, Shapefile), missions \
             (.plan, QGC WPL 110) and telemetry logs (.tlog)",
            path.display()
        ))
    }
}
