//! Runtime state of the window: everything `ui` draws from and `logic` writes into. Nothing
//! here is persisted (see [`super::settings`]) and nothing here does I/O.

use aviary_core::wire::CommandAction;
use aviary_core::{
    Drone, DroneId, DroneStatus, FleetStatusCounts, FlightPattern, LatLon, Mission, MissionId,
    MissionParams, MissionStatus, Organization, Site, SiteId, SurveyArea, TelemetrySample,
    Waypoint,
};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, VecDeque};

/// Most trail points kept per drone (older ones are dropped).
pub const TRAIL_POINTS_MAX: usize = 600;
/// Most telemetry samples kept per drone for the plots.
pub const PLOT_SAMPLES_MAX: usize = 1_200;
/// Battery level under which an alert is raised, percent.
pub const LOW_BATTERY_PCT: f64 = 20.0;
/// A drone not heard from for this long is shown as link lost, seconds.
pub const LINK_LOST_AFTER_S: i64 = 5;

/// The views of the top bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum View {
    /// Draw a survey area, choose a pattern, save a mission.
    Plan,
    /// Every drone across sites.
    Fleet,
    /// Live flight: positions, progress, controls, plots, alerts.
    Monitor,
    /// Past missions and replay.
    History,
    /// Simulated drones and fault injection (training).
    Simulator,
    /// Mission and fleet reports.
    Reports,
    /// Tiles, links, readouts.
    Settings,
}

impl View {
    /// Every view, in top-bar order.
    pub const ALL: [View; 7] = [
        Self::Plan,
        Self::Fleet,
        Self::Monitor,
        Self::History,
        Self::Simulator,
        Self::Reports,
        Self::Settings,
    ];

    /// Label in the top bar.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Plan => "Plan",
            Self::Fleet => "Fleet",
            Self::Monitor => "Monitor",
            Self::History => "History",
            Self::Simulator => "Simulator",
            Self::Reports => "Reports",
            Self::Settings => "Settings",
        }
    }

    /// Whether the view shows the map in the central panel.
    pub const fn shows_map(self) -> bool {
        matches!(
            self,
            Self::Plan | Self::Monitor | Self::History | Self::Simulator
        )
    }
}

/// What the link reports about a drone beyond the stored record.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LinkDetail {
    /// GPS fix type (0 none, 2 2D, 3 3D, 4+ DGPS/RTK).
    pub gps_fix: u8,
    /// Satellites visible.
    pub satellites: u8,
    /// Sensors healthy (all enabled sensors report healthy).
    pub sensors_ok: bool,
    /// Armed.
    pub armed: bool,
    /// Flight mode name (`AUTO`, `GUIDED`, `RTL`, ...).
    pub mode: String,
    /// Mission item being flown.
    pub current_item: Option<u16>,
    /// Last status text.
    pub status_text: String,
}

/// A drone as the window sees it: stored record plus live telemetry.
#[derive(Debug, Clone)]
pub struct DroneView {
    /// Stored record (status, home, firmware, ...).
    pub drone: Drone,
    /// Site name, for tables.
    pub site_name: String,
    /// Latest telemetry.
    pub live: Option<TelemetrySample>,
    /// Recent positions, oldest first.
    pub trail: VecDeque<LatLon>,
    /// Positions ever added to `trail` (the newest has number `trail_pushed - 1`), so a
    /// cache can tell which are new.
    pub trail_pushed: u64,
    /// Recent values for the plots, oldest first (compact: 32 bytes a sample, so 1,000
    /// drones' full buffers stay under 40 MB).
    pub samples: VecDeque<PlotSample>,
    /// Distance flown in the mission of the latest sample, metres (counted sample to sample
    /// as telemetry arrives, so it covers the whole flight, not only the plot buffer).
    pub flown: Option<(MissionId, f64)>,
    /// Link details.
    pub link: LinkDetail,
    /// Whether the link is up (heard from within [`LINK_LOST_AFTER_S`]).
    pub link_up: bool,
    /// Whether the drone is simulated by the built-in simulator.
    pub simulated: bool,
    /// The fleet server this drone is listed by (`None`: a drone of the local store).
    pub server: Option<String>,
}

impl DroneView {
    /// A drone with no live data yet.
    pub fn new(drone: Drone, site_name: String) -> Self {
        Self {
            drone,
            site_name,
            live: None,
            trail: VecDeque::new(),
            trail_pushed: 0,
            samples: VecDeque::new(),
            flown: None,
            link: LinkDetail::default(),
            link_up: false,
            simulated: false,
            server: None,
        }
    }

    /// Where to draw the drone: its live position, else its home.
    pub fn position(&self) -> LatLon {
        self.live.map_or(self.drone.home, |s| s.pos)
    }

    /// Heading, degrees (0 when unknown).
    pub fn heading_deg(&self) -> f64 {
        self.live.map_or(0.0, |s| s.heading_deg)
    }

    /// Battery, percent: live if known, else the stored value.
    pub fn battery_pct(&self) -> f64 {
        self.live
            .map_or(f64::from(self.drone.battery_pct), |s| s.battery_pct)
    }

    /// Distance flown in mission `id` so far, metres (0 when its telemetry has not been seen).
    pub fn flown_m(&self, id: MissionId) -> f64 {
        self.flown.filter(|(m, _)| *m == id).map_or(0.0, |(_, m)| m)
    }

    /// Records a sample: live value, trail, plot buffer, distance flown in its mission.
    pub fn push_sample(&mut self, s: TelemetrySample) {
        if let Some(id) = s.mission_id {
            let step_m = self
                .live
                .filter(|prev| prev.mission_id == Some(id))
                .map_or(0.0, |prev| prev.pos.distance_m(s.pos));
            match &mut self.flown {
                Some((m, flown_m)) if *m == id => *flown_m += step_m,
                other => *other = Some((id, 0.0)),
            }
        }
        let moved = self
            .trail
            .back()
            .is_none_or(|last| last.distance_m(s.pos) > 0.5);
        if moved {
            // Exact capacities: a growing VecDeque doubles, which for 1,000 drones' full
            // buffers would hold 40 % more memory than the samples need.
            if self.trail.capacity() == 0 {
                self.trail.reserve_exact(TRAIL_POINTS_MAX);
            }
            if self.trail.len() == TRAIL_POINTS_MAX {
                self.trail.pop_front();
            }
            self.trail.push_back(s.pos);
            self.trail_pushed += 1;
        }
        if self.samples.capacity() == 0 {
            self.samples.reserve_exact(PLOT_SAMPLES_MAX);
        }
        if self.samples.len() == PLOT_SAMPLES_MAX {
            self.samples.pop_front();
        }
        self.samples.push_back(PlotSample::from(&s));
        self.live = Some(s);
        self.link_up = true;
    }
}

/// One drone's plotted values at one time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlotSample {
    /// Sample time.
    pub time: DateTime<Utc>,
    /// Altitude above takeoff, metres.
    pub alt_rel_m: f32,
    /// Ground speed, m/s.
    pub speed_mps: f32,
    /// Heading, degrees.
    pub heading_deg: f32,
    /// Battery, percent.
    pub battery_pct: f32,
    /// Link quality, percent.
    pub signal_pct: f32,
}

impl From<&TelemetrySample> for PlotSample {
    fn from(s: &TelemetrySample) -> Self {
        Self {
            time: s.time,
            alt_rel_m: s.alt_rel_m as f32,
            speed_mps: s.speed_mps as f32,
            heading_deg: s.heading_deg as f32,
            battery_pct: s.battery_pct as f32,
            signal_pct: s.signal_pct as f32,
        }
    }
}

/// Outcome of a command sent to a drone, as shown to the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOutcome {
    /// Sent, waiting for the drone's acknowledgement.
    Pending,
    /// The drone confirmed it.
    Confirmed,
    /// Refused or timed out, with the reason.
    Failed(String),
}

impl CommandOutcome {
    /// Short label.
    pub fn label(&self) -> String {
        match self {
            Self::Pending => "pending".to_owned(),
            Self::Confirmed => "confirmed".to_owned(),
            Self::Failed(why) => format!("failed: {why}"),
        }
    }
}

/// One command in the Monitor's command log.
#[derive(Debug, Clone)]
pub struct CommandRecord {
    /// Command id (also in the store).
    pub id: uuid::Uuid,
    /// What was asked.
    pub action: CommandAction,
    /// The mission.
    pub mission: MissionId,
    /// The drone.
    pub drone: DroneId,
    /// When it was sent.
    pub sent_at: DateTime<Utc>,
    /// Where it stands.
    pub outcome: CommandOutcome,
}

/// Display name of a command action.
pub const fn action_label(a: CommandAction) -> &'static str {
    match a {
        CommandAction::Start => "Start",
        CommandAction::Pause => "Pause",
        CommandAction::Resume => "Resume",
        CommandAction::Abort => "Abort",
        CommandAction::Rth => "Return to home",
        CommandAction::Land => "Land",
    }
}

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlertKind {
    /// Battery under [`LOW_BATTERY_PCT`].
    LowBattery,
    /// No telemetry for [`LINK_LOST_AFTER_S`].
    LinkLost,
    /// A command was refused or timed out.
    CommandFailed,
    /// Left the survey area's geofence.
    Geofence,
    /// The vehicle reported a failure (motor, GPS, ...).
    VehicleFault,
}

impl AlertKind {
    /// Label.
    pub const fn label(self) -> &'static str {
        match self {
            Self::LowBattery => "Low battery",
            Self::LinkLost => "Link lost",
            Self::CommandFailed => "Command failed",
            Self::Geofence => "Geofence",
            Self::VehicleFault => "Vehicle fault",
        }
    }
}

/// An alert in the Monitor's list.
#[derive(Debug, Clone)]
pub struct Alert {
    /// Sequence number (stable id for acknowledgement).
    pub id: u64,
    /// When it was raised.
    pub time: DateTime<Utc>,
    /// Kind.
    pub kind: AlertKind,
    /// Drone concerned.
    pub drone: Option<DroneId>,
    /// Text.
    pub message: String,
    /// When the operator acknowledged it.
    pub acknowledged_at: Option<DateTime<Utc>>,
}

/// Result of planning the editor's polygon.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanPreview {
    /// Full mission: takeoff, survey, return.
    pub waypoints: Vec<Waypoint>,
    /// Mission items.
    pub item_count: usize,
    /// Horizontal distance, metres.
    pub distance_m: f64,
    /// Flight time, seconds.
    pub duration_s: f64,
    /// Photos.
    pub photos: u64,
    /// Flights needed (item limit and battery).
    pub sorties: usize,
    /// Battery for the whole mission as a share of one battery, percent.
    pub battery_pct: f64,
    /// Survey area, m².
    pub area_m2: f64,
    /// Altitude flown, metres.
    pub alt_rel_m: f64,
    /// Distance between transects, metres.
    pub line_spacing_m: f64,
    /// Ground sample distance, cm per pixel (none with a direct line spacing).
    pub gsd_cm_px: Option<f64>,
    /// Things the operator should know (item limit, battery, ...).
    pub warnings: Vec<String>,
    /// Takeoff and return point.
    pub home: LatLon,
    /// Cruise speed, m/s.
    pub speed_mps: f64,
}

/// The Plan view's editor: polygon with undo/redo, parameters, live preview.
#[derive(Debug, Clone)]
pub struct PlanEditor {
    /// Polygon vertices (not closed).
    pub vertices: Vec<LatLon>,
    /// Earlier polygons.
    pub undo: Vec<Vec<LatLon>>,
    /// Undone polygons.
    pub redo: Vec<Vec<LatLon>>,
    /// Clicking the map adds vertices.
    pub drawing: bool,
    /// Text form of the polygon (`lat, lon` per line).
    pub vertices_text: String,
    /// Error of the text form.
    pub vertices_error: Option<String>,
    /// Mission name.
    pub name: String,
    /// Site the mission is flown from.
    pub site: Option<SiteId>,
    /// Drone to fly it.
    pub drone: Option<DroneId>,
    /// Pattern.
    pub pattern: FlightPattern,
    /// Parameters.
    pub params: MissionParams,
    /// Bumped on every change; the preview carries the revision it was planned for.
    pub revision: u64,
    /// Revision the last preview request was sent for.
    pub requested_revision: u64,
    /// Latest preview and the revision it belongs to.
    pub preview: Option<(u64, PlanPreview)>,
    /// Why the latest planning failed.
    pub preview_error: Option<String>,
    /// Vertex being dragged on the map.
    pub dragging: Option<usize>,
    /// No-fly zones (outer rings) the path must keep out of.
    pub no_fly: Vec<Vec<LatLon>>,
    /// The no-fly zone being drawn on the map (clicks add its vertices while this is set).
    pub drawing_no_fly: Option<Vec<LatLon>>,
    /// Why the zone being drawn cannot be finished.
    pub no_fly_error: Option<String>,
}

impl Default for PlanEditor {
    fn default() -> Self {
        Self {
            vertices: Vec::new(),
            undo: Vec::new(),
            redo: Vec::new(),
            drawing: false,
            vertices_text: String::new(),
            vertices_error: None,
            name: "Survey".to_owned(),
            site: None,
            drone: None,
            pattern: FlightPattern::Lawnmower,
            params: MissionParams::default(),
            revision: 0,
            requested_revision: 0,
            preview: None,
            preview_error: None,
            dragging: None,
            no_fly: Vec::new(),
            drawing_no_fly: None,
            no_fly_error: None,
        }
    }
}

impl PlanEditor {
    /// Replaces the polygon, remembering the old one for undo.
    pub fn set_vertices(&mut self, vertices: Vec<LatLon>) {
        if vertices == self.vertices {
            return;
        }
        let old = std::mem::replace(&mut self.vertices, vertices);
        self.undo.push(old);
        self.redo.clear();
        self.changed();
    }

    /// Starts an edit that happens in several steps (a drag): saves the polygon for undo once.
    pub fn begin_edit(&mut self) {
        self.undo.push(self.vertices.clone());
        self.redo.clear();
    }

    /// Marks the plan as changed (a new preview is needed) and refreshes the text form.
    pub fn changed(&mut self) {
        self.revision += 1;
        self.vertices_text = self
            .vertices
            .iter()
            .map(|p| format!("{:.6}, {:.6}", p.lat_deg, p.lon_deg))
            .collect::<Vec<_>>()
            .join("\n");
        self.vertices_error = None;
    }

    /// Undoes the last polygon change.
    pub fn undo(&mut self) -> bool {
        let Some(prev) = self.undo.pop() else {
            return false;
        };
        let cur = std::mem::replace(&mut self.vertices, prev);
        self.redo.push(cur);
        self.changed();
        true
    }

    /// Redoes an undone change.
    pub fn redo(&mut self) -> bool {
        let Some(next) = self.redo.pop() else {
            return false;
        };
        let cur = std::mem::replace(&mut self.vertices, next);
        self.undo.push(cur);
        self.changed();
        true
    }

    /// Parses the text form (`lat, lon` per line, or separated by `;`) into the polygon.
    pub fn apply_text(&mut self) {
        let parsed: Result<Vec<LatLon>, String> = self
            .vertices_text
            .split(['\n', ';'])
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .enumerate()
            .map(|(i, l)| {
                l.parse::<LatLon>()
                    .map_err(|e| format!("line {}: {e}", i + 1))
            })
            .collect();
        match parsed {
            Ok(v) if v.len() >= 3 || v.is_empty() => {
                self.set_vertices(v);
                self.vertices_error = None;
            }
            Ok(v) => {
                self.vertices_error = Some(format!(
                    "a polygon needs at least 3 vertices, got {}",
                    v.len()
                ));
            }
            Err(e) => self.vertices_error = Some(e),
        }
    }

    /// Starts drawing a no-fly zone on the map (area drawing stops meanwhile).
    pub fn start_no_fly(&mut self) {
        self.drawing = false;
        self.drawing_no_fly = Some(Vec::new());
        self.no_fly_error = None;
    }

    /// Adds a vertex to the zone being drawn.
    pub fn push_no_fly_vertex(&mut self, p: LatLon) {
        if let Some(zone) = &mut self.drawing_no_fly {
            zone.push(p);
            self.no_fly_error = None;
        }
    }

    /// Closes the zone being drawn and adds it: it needs at least 3 distinct vertices.
    pub fn finish_no_fly(&mut self) -> Result<(), String> {
        let Some(zone) = self.drawing_no_fly.take() else {
            return Err("no zone is being drawn".to_owned());
        };
        let mut distinct: Vec<LatLon> = Vec::with_capacity(zone.len());
        for p in &zone {
            if !distinct.contains(p) {
                distinct.push(*p);
            }
        }
        if distinct.len() < 3 {
            let e = format!(
                "a no-fly zone needs at least 3 distinct vertices, got {}",
                distinct.len()
            );
            self.no_fly_error = Some(e.clone());
            self.drawing_no_fly = Some(zone);
            return Err(e);
        }
        self.no_fly.push(zone);
        self.no_fly_error = None;
        self.revision += 1;
        Ok(())
    }

    /// Stops drawing a zone without adding it.
    pub fn cancel_no_fly(&mut self) {
        self.drawing_no_fly = None;
        self.no_fly_error = None;
    }

    /// Adds zones read from a file.
    pub fn add_no_fly(&mut self, zones: impl IntoIterator<Item = Vec<LatLon>>) {
        let before = self.no_fly.len();
        self.no_fly
            .extend(zones.into_iter().filter(|z| z.len() >= 3));
        if self.no_fly.len() != before {
            self.revision += 1;
        }
    }

    /// Removes zone `i`.
    pub fn remove_no_fly(&mut self, i: usize) {
        if i < self.no_fly.len() {
            self.no_fly.remove(i);
            self.revision += 1;
        }
    }

    /// The no-fly zones as areas for the planner.
    pub fn no_fly_areas(&self) -> Vec<SurveyArea> {
        self.no_fly
            .iter()
            .map(|z| SurveyArea {
                exterior: z.clone(),
                holes: Vec::new(),
            })
            .collect()
    }

    /// The polygon as a survey area.
    pub fn area(&self) -> SurveyArea {
        SurveyArea {
            exterior: self.vertices.clone(),
            holes: Vec::new(),
        }
    }

    /// The preview if it matches the current revision.
    pub fn current_preview(&self) -> Option<&PlanPreview> {
        self.preview
            .as_ref()
            .filter(|(rev, _)| *rev == self.revision)
            .map(|(_, p)| p)
    }

    /// Any preview, possibly stale (drawn while a new one is computed).
    pub fn any_preview(&self) -> Option<&PlanPreview> {
        self.preview.as_ref().map(|(_, p)| p)
    }
}

/// Sort column of the Fleet table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FleetSort {
    /// Serial number.
    Serial,
    /// Site name.
    Site,
    /// Status.
    Status,
    /// Battery.
    Battery,
    /// Last seen.
    LastSeen,
}

/// Fleet table controls.
#[derive(Debug, Clone)]
pub struct FleetTable {
    /// Sort column.
    pub sort: FleetSort,
    /// Ascending order.
    pub ascending: bool,
    /// Free-text filter on serial, model, site.
    pub filter: String,
    /// Only this site.
    pub site: Option<SiteId>,
    /// Only this status.
    pub status: Option<DroneStatus>,
}

impl Default for FleetTable {
    fn default() -> Self {
        Self {
            sort: FleetSort::Site,
            ascending: true,
            filter: String::new(),
            site: None,
            status: None,
        }
    }
}

/// The Reports view's organisation-report form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrgReportForm {
    /// First day of the period (`YYYY-MM-DD`, UTC), as typed.
    pub from: String,
    /// Last day of the period, inclusive, as typed.
    pub to: String,
    /// Write the PDF.
    pub pdf: bool,
    /// Write the period's mission history as CSV.
    pub csv: bool,
    /// Folder to write to, as typed; empty: ask with the folder dialog.
    pub out_dir: String,
}

impl OrgReportForm {
    /// The last 30 days up to `now`, PDF and CSV, folder asked for.
    pub fn last_30_days(now: DateTime<Utc>) -> Self {
        let today = now.date_naive();
        Self {
            from: (today - chrono::Duration::days(29)).to_string(),
            to: today.to_string(),
            pdf: true,
            csv: true,
            out_dir: String::new(),
        }
    }
}

/// History search and replay.
#[derive(Debug, Clone, Default)]
pub struct HistoryState {
    /// Site filter.
    pub site: Option<SiteId>,
    /// Status filter.
    pub status: Option<MissionStatus>,
    /// Only missions created in the last this-many days (0: all).
    pub last_days: u32,
    /// Search results, newest first.
    pub results: Vec<Mission>,
    /// Replay loaded.
    pub replay: Option<Replay>,
}

/// A loaded replay: samples and a playhead.
#[derive(Debug, Clone)]
pub struct Replay {
    /// What is replayed (mission name or file).
    pub title: String,
    /// Samples, time-ordered.
    pub samples: Vec<TelemetrySample>,
    /// Playhead, seconds from the first sample.
    pub t_s: f64,
    /// Playing.
    pub playing: bool,
    /// Playback speed (1 = real time).
    pub speed: f64,
    /// Planned waypoints, if from a stored mission.
    pub waypoints: Vec<Waypoint>,
}

impl Replay {
    /// Replay length, seconds.
    pub fn duration_s(&self) -> f64 {
        match (self.samples.first(), self.samples.last()) {
            (Some(a), Some(b)) => (b.time - a.time).num_milliseconds() as f64 / 1000.0,
            _ => 0.0,
        }
    }

    /// Index of the last sample at or before the playhead.
    pub fn index_at_playhead(&self) -> usize {
        let Some(first) = self.samples.first() else {
            return 0;
        };
        let t = first.time + chrono::Duration::milliseconds((self.t_s * 1000.0) as i64);
        self.samples
            .partition_point(|s| s.time <= t)
            .saturating_sub(1)
    }
}

/// One line of the simulator's event log.
#[derive(Debug, Clone)]
pub struct SimLogEntry {
    /// When.
    pub time: DateTime<Utc>,
    /// What happened.
    pub text: String,
}

/// A fault the trainer can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Link lost in both directions.
    LinkLoss,
    /// Link restored.
    LinkRestore,
    /// GPS lost.
    GpsLoss,
    /// Battery drops to 15 %.
    LowBattery,
    /// Strong steady wind.
    Wind,
    /// A motor fails.
    MotorFailure,
}

impl FaultKind {
    /// Every fault.
    pub const ALL: [FaultKind; 6] = [
        Self::LinkLoss,
        Self::LinkRestore,
        Self::GpsLoss,
        Self::LowBattery,
        Self::Wind,
        Self::MotorFailure,
    ];

    /// Label.
    pub const fn label(self) -> &'static str {
        match self {
            Self::LinkLoss => "Link loss",
            Self::LinkRestore => "Restore link",
            Self::GpsLoss => "GPS loss",
            Self::LowBattery => "Low battery",
            Self::Wind => "Wind 12 m/s",
            Self::MotorFailure => "Motor failure",
        }
    }
}

/// Simulator panel state.
#[derive(Debug, Clone, Default)]
pub struct SimPanel {
    /// Whether the built-in simulator is running over `MAVLink`.
    pub running: bool,
    /// The broker, when the built-in simulator flies its drones as MQTT clients instead.
    pub over_mqtt: Option<String>,
    /// Event log, oldest first.
    pub log: Vec<SimLogEntry>,
    /// When a fault was injected per drone (to measure the operator's reaction).
    pub fault_at: BTreeMap<DroneId, DateTime<Utc>>,
    /// Site where new simulated drones are added.
    pub add_site: Option<SiteId>,
}

/// A background job shown with its progress.
#[derive(Debug, Clone)]
pub struct JobView {
    /// Job id.
    pub id: u64,
    /// What it does.
    pub title: String,
    /// Progress 0..=1 (`None`: unknown).
    pub progress: Option<f32>,
}

/// A short message in the status bar.
#[derive(Debug, Clone)]
pub struct Notice {
    /// When.
    pub time: DateTime<Utc>,
    /// Text.
    pub text: String,
    /// An error (drawn in red).
    pub error: bool,
}

/// Everything the window shows.
#[derive(Debug, Clone)]
pub struct AppState {
    /// Current view.
    pub view: View,
    /// The organisation.
    pub org: Option<Organization>,
    /// Sites.
    pub sites: Vec<Site>,
    /// Drones by id.
    pub drones: BTreeMap<DroneId, DroneView>,
    /// Per-site counts (design: `site:{id}:fleet_status`).
    pub fleet_counts: BTreeMap<SiteId, FleetStatusCounts>,
    /// Planned and active missions (not finished ones; those are in History).
    pub missions: Vec<Mission>,
    /// Mission selected in Monitor.
    pub selected_mission: Option<MissionId>,
    /// Drone selected (map click, table).
    pub selected_drone: Option<DroneId>,
    /// Plan editor.
    pub plan: PlanEditor,
    /// Fleet table controls.
    pub fleet: FleetTable,
    /// Commands sent, newest last.
    pub commands: Vec<CommandRecord>,
    /// Command waiting for the operator's confirmation (abort, RTH).
    pub confirm: Option<(MissionId, CommandAction)>,
    /// Alerts, newest last.
    pub alerts: Vec<Alert>,
    /// Next alert id.
    pub next_alert_id: u64,
    /// History and replay.
    pub history: HistoryState,
    /// Simulator panel.
    pub sim: SimPanel,
    /// Background jobs running.
    pub jobs: Vec<JobView>,
    /// Latest notices.
    pub notices: VecDeque<Notice>,
    /// The clock's time at the start of the frame.
    pub now: DateTime<Utc>,
    /// Reports: last written file(s).
    pub last_report: Option<String>,
    /// Reports: the organisation-report form.
    pub org_report: OrgReportForm,
    /// Link addresses and their state as the links runtime reports them.
    pub link_states: Vec<(String, String)>,
    /// Fleet-server connection.
    pub server: ServerPanel,
}

/// State of the connection to a fleet server.
#[derive(Debug, Clone, Default, PartialEq)]
pub enum ServerStatus {
    /// Not connected.
    #[default]
    Disconnected,
    /// Logging in.
    Connecting,
    /// Logged in.
    Connected {
        /// Role in the organisation.
        role: aviary_core::auth::Role,
        /// Server URL.
        server: String,
    },
    /// The last attempt failed.
    Failed(String),
}

/// The fleet-server panel: credentials typed by the operator (the password is never saved),
/// status, and the organisation's sites as the server lists them.
#[derive(Debug, Clone, Default)]
pub struct ServerPanel {
    /// Account e-mail.
    pub email: String,
    /// Password (kept in memory only).
    pub password: String,
    /// Connection status.
    pub status: ServerStatus,
    /// Sites listed by the server.
    pub sites: Vec<aviary_core::wire::FleetSite>,
    /// The organisation's missions on the server, newest first.
    pub missions: Vec<aviary_core::wire::FleetMission>,
    /// When the last listing arrived.
    pub updated: Option<DateTime<Utc>>,
}

impl ServerPanel {
    /// The time zone of a server site (UTC when unknown or unparsable).
    pub fn site_tz(&self, site: SiteId) -> Option<chrono_tz::Tz> {
        self.sites
            .iter()
            .find(|s| s.site_id == site)
            .and_then(|s| s.timezone.parse().ok())
    }
}

impl AppState {
    /// Empty state at time `now`.
    pub fn new(now: DateTime<Utc>) -> Self {
        Self {
            view: View::Monitor,
            org: None,
            sites: Vec::new(),
            drones: BTreeMap::new(),
            fleet_counts: BTreeMap::new(),
            missions: Vec::new(),
            selected_mission: None,
            selected_drone: None,
            plan: PlanEditor::default(),
            fleet: FleetTable::default(),
            commands: Vec::new(),
            confirm: None,
            alerts: Vec::new(),
            next_alert_id: 1,
            history: HistoryState {
                last_days: 0,
                ..HistoryState::default()
            },
            sim: SimPanel::default(),
            jobs: Vec::new(),
            notices: VecDeque::new(),
            now,
            last_report: None,
            org_report: OrgReportForm::last_30_days(now),
            link_states: Vec::new(),
            server: ServerPanel::default(),
        }
    }

    /// Adds a notice to the status bar (keeps the last 20).
    pub fn notice(&mut self, text: impl Into<String>, error: bool) {
        if self.notices.len() == 20 {
            self.notices.pop_front();
        }
        self.notices.push_back(Notice {
            time: self.now,
            text: text.into(),
            error,
        });
    }

    /// Raises an alert unless the same kind for the same drone is already open.
    pub fn raise_alert(
        &mut self,
        kind: AlertKind,
        drone: Option<DroneId>,
        message: impl Into<String>,
    ) {
        if self
            .alerts
            .iter()
            .any(|a| a.kind == kind && a.drone == drone && a.acknowledged_at.is_none())
        {
            return;
        }
        let id = self.next_alert_id;
        self.next_alert_id += 1;
        self.alerts.push(Alert {
            id,
            time: self.now,
            kind,
            drone,
            message: message.into(),
            acknowledged_at: None,
        });
    }

    /// Unacknowledged alerts.
    pub fn open_alerts(&self) -> usize {
        self.alerts
            .iter()
            .filter(|a| a.acknowledged_at.is_none())
            .count()
    }

    /// A mission by id.
    pub fn mission(&self, id: MissionId) -> Option<&Mission> {
        self.missions
            .iter()
            .find(|m| m.id == id)
            .or_else(|| self.history.results.iter().find(|m| m.id == id))
    }

    /// A site by id.
    pub fn site(&self, id: SiteId) -> Option<&Site> {
        self.sites.iter().find(|s| s.id == id)
    }

    /// Label of a drone (serial number), or a short id.
    pub fn drone_label(&self, id: DroneId) -> String {
        self.drones.get(&id).map_or_else(
            || id.to_string()[..8].to_owned(),
            |d| d.drone.serial_number.clone(),
        )
    }

    /// The latest command for a mission, if any.
    pub fn last_command(&self, mission: MissionId) -> Option<&CommandRecord> {
        self.commands.iter().rev().find(|c| c.mission == mission)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flown_distance_covers_the_whole_mission_not_only_the_plot_buffer() {
        let home = LatLon::new(51.92, 4.48);
        let t0 = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let drone = Drone {
            id: DroneId::new_random(),
            site_id: SiteId::new_random(),
            serial_number: "T-1".into(),
            model: "test".into(),
            status: DroneStatus::InMission,
            battery_pct: 90,
            last_seen: None,
            home,
            firmware_version: "t".into(),
            link: None,
            created_at: t0,
        };
        let mut d = DroneView::new(drone.clone(), "site".into());
        let (m1, m2) = (MissionId::new_random(), MissionId::new_random());
        let sample = |k: usize, mission: MissionId| TelemetrySample {
            time: t0 + chrono::Duration::milliseconds(100 * k as i64),
            mission_id: Some(mission),
            drone_id: drone.id,
            pos: home.offset_ne(k as f64 * 0.5, 0.0),
            alt_rel_m: 40.0,
            speed_mps: 5.0,
            heading_deg: 0.0,
            battery_pct: 90.0,
            signal_pct: 99.0,
            status: DroneStatus::InMission,
        };
        // 3,000 samples half a metre apart: 1,499.5 m, more than the plot buffer holds.
        for k in 0..3_000 {
            d.push_sample(sample(k, m1));
        }
        assert_eq!(d.samples.len(), PLOT_SAMPLES_MAX);
        assert!((d.flown_m(m1) - 1_499.5).abs() < 0.5, "{}", d.flown_m(m1));
        assert!(d.flown_m(m2).abs() < f64::EPSILON);
        // The next mission counts from its own first sample.
        for k in 3_000..3_010 {
            d.push_sample(sample(k, m2));
        }
        assert!((d.flown_m(m2) - 4.5).abs() < 0.01, "{}", d.flown_m(m2));
        assert!(
            d.flown_m(m1).abs() < f64::EPSILON,
            "only the latest mission is kept"
        );
        assert_eq!(std::mem::size_of::<PlotSample>(), 32);
    }

    #[test]
    fn plan_editor_undo_redo_and_text() {
        let mut e = PlanEditor::default();
        e.set_vertices(vec![
            LatLon::new(1.0, 2.0),
            LatLon::new(1.0, 3.0),
            LatLon::new(2.0, 3.0),
        ]);
        assert_eq!(e.revision, 1);
        assert!(e.vertices_text.starts_with("1.000000, 2.000000"));
        e.vertices_text = "10, 10\n10, 11\n11, 11\n11, 10".to_owned();
        e.apply_text();
        assert_eq!(e.vertices.len(), 4);
        assert!(e.undo());
        assert_eq!(e.vertices.len(), 3);
        assert!(e.redo());
        assert_eq!(e.vertices.len(), 4);
        e.vertices_text = "10, 10\n95, 0\n1,1".to_owned();
        e.apply_text();
        assert!(
            e.vertices_error
                .as_deref()
                .is_some_and(|m| m.contains("line 2")),
            "{:?}",
            e.vertices_error
        );
        assert_eq!(e.vertices.len(), 4, "a bad text leaves the polygon alone");
    }

    #[test]
    fn alerts_are_not_duplicated_until_acknowledged() {
        let mut s = AppState::new(Utc::now());
        let d = DroneId::new_random();
        s.raise_alert(AlertKind::LowBattery, Some(d), "low");
        s.raise_alert(AlertKind::LowBattery, Some(d), "low again");
        assert_eq!(s.open_alerts(), 1);
        s.alerts[0].acknowledged_at = Some(s.now);
        s.raise_alert(AlertKind::LowBattery, Some(d), "low once more");
        assert_eq!(s.alerts.len(), 2);
    }
}
