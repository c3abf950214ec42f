//! Runtime state of the window: everything `ui` draws from and `logic` writes into. Nothing
//! here is persisted (see [`super::settings`]) and nothing here does I/O.
//!
//! [`AppState`] composes the state of each view, one file each: `drone` (a drone as the window
//! sees it, shared by the views), `monitor` (command log and alerts), `plan` (the editor and its
//! preview), `plot` (a drone's plotted telemetry), `chooser` (the built-in file chooser),
//! `fleet` (table controls), `history` (search and replay), `simulator` (the panel and its
//! faults), `reports` (the organisation-report form), `offline` (the Offline maps window) and
//! `server` (the fleet-server panel of
//! Settings).

mod chooser;
mod drone;
mod fleet;
mod history;
mod monitor;
mod offline;
mod plan;
mod plot;
mod reports;
mod server;
mod simulator;
mod terrain;
mod weather;

pub use chooser::{ChooserEntry, ChooserMode, FileChooser};
pub use drone::{
    Attitude, DroneView, LINK_LOST_AFTER_S, LinkDetail, STATUS_MESSAGES_MAX, StatusMessage,
    TRAIL_POINTS_MAX, TerrainStatus,
};
pub use fleet::{FleetSort, FleetTable};
pub use history::{HistoryState, Replay, ReplayMark};
pub use monitor::{
    ALERT_HISTORY_PAGE, Alert, AlertDroneRow, AlertGroup, AlertHistoryQuery, AlertHistoryRow,
    AlertHistoryState, AlertKind, AlertSeverity, CommandOutcome, CommandRecord, Destructive,
    LOW_BATTERY_PCT, PreflightPrompt, SupervisedView, VehicleLine, action_label, alert_groups,
};
pub use offline::{DownloadProgress, OfflineMapsState, OfflineSet, OfflineTiles};
pub use plan::{PlanEditor, PlanPreview, area_distance_m};
pub use plot::{
    FLIGHT_SAMPLES_MAX, FLIGHT_STEP_MS, PLOT_GAP_MS, PLOT_SAMPLES_MAX, PlotBuffer, PlotSample,
    PlotWindow, segments, time_tick, y_range,
};
pub use reports::{ORG_REPORT_JOB, OrgReportForm};
pub use server::{ServerPanel, ServerStatus};
pub use simulator::{FaultKind, SimLogEntry, SimPanel};
pub use terrain::{
    AltitudeMode, DemChoice, DemUse, DemView, Following, PlanTerrain, TerrainState, plain_primes,
};
pub use weather::{
    CalendarRow, CalendarState, MeasuredFlight, ModelLimits, RunPrompt, ScheduleForm, SiteWeather,
    WeatherState,
};

use aviary_core::wire::CommandAction;
use aviary_core::{
    DroneId, FleetStatusCounts, LatLon, Mission, MissionId, Organization, Site, SiteId,
};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, VecDeque};

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
    /// Scheduled runs per site: upcoming and past, with outcomes.
    Calendar,
    /// Mission and fleet reports.
    Reports,
    /// Tiles, links, readouts.
    Settings,
}

impl View {
    /// Every view, in top-bar order.
    pub const ALL: [View; 8] = [
        Self::Plan,
        Self::Fleet,
        Self::Monitor,
        Self::History,
        Self::Simulator,
        Self::Calendar,
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
            Self::Calendar => "Calendar",
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

/// Every drone of `drones` in natural order of its name (`MAV-2` before `MAV-10`), as lists
/// show them. (A function of the map, not of [`AppState`], so a list may change other fields
/// of the state while it walks the drones.)
pub fn drones_by_name(drones: &BTreeMap<DroneId, DroneView>) -> Vec<&DroneView> {
    let mut sorted: Vec<&DroneView> = drones.values().collect();
    sorted.sort_by(|a, b| {
        super::natural::natural_cmp(&a.drone.serial_number, &b.drone.serial_number)
    });
    sorted
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

impl Notice {
    /// How long the status bar shows a notice: information goes stale quickly (a finished
    /// upload's "101/101" must not stand for an hour), an error stays long enough to be read.
    pub const SHOWN_INFO_S: i64 = 10;
    /// See [`Notice::SHOWN_INFO_S`].
    pub const SHOWN_ERROR_S: i64 = 60;

    /// Whether the status bar still shows it at `now`.
    pub fn is_fresh(&self, now: DateTime<Utc>) -> bool {
        let shown_s = if self.error {
            Self::SHOWN_ERROR_S
        } else {
            Self::SHOWN_INFO_S
        };
        (now - self.time).num_seconds() < shown_s
    }
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
    /// A start the pre-flight checks refused, shown with every check.
    pub preflight: Option<PreflightPrompt>,
    /// A deletion waiting for the operator's confirmation.
    pub destructive: Option<Destructive>,
    /// `MAVLink` drones under the mission supervisor: phase and the actions it allows.
    pub supervised: BTreeMap<DroneId, SupervisedView>,
    /// When `logic` last copied every supervisor's view (between, only the changed ones).
    pub supervised_copied_at: Option<DateTime<Utc>>,
    /// When `logic` last ticked every supervisor (between, only the changed ones).
    pub supervisors_ticked_at: Option<DateTime<Utc>>,
    /// Drones that got a sample since the alerts were last evaluated (their battery is
    /// checked then; the whole fleet only every `logic::alerts::FLEET_ALERT_WALK_MS`).
    pub sampled_since_alerts: Vec<DroneId>,
    /// When the alerts last walked the whole fleet (link lost, low battery).
    pub alerts_walked_at: Option<DateTime<Utc>>,
    /// Alerts, newest last.
    pub alerts: Vec<Alert>,
    /// Next alert id (continues after the highest one in the store, so ids stay unique in
    /// its `alerts` table across restarts).
    pub next_alert_id: u64,
    /// The alert history window.
    pub alert_history: AlertHistoryState,
    /// The speech command alerts are spoken with (`spd-say`, `say`, …), or `None` when this
    /// computer has none (Settings says so).
    pub speech_engine: Option<String>,
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
    /// Weather per site and the verdicts shown.
    pub weather: WeatherState,
    /// Scheduled runs and the schedule form.
    pub calendar: CalendarState,
    /// Link addresses and their state as the links runtime reports them.
    pub link_states: Vec<(String, String)>,
    /// Fleet-server connection.
    pub server: ServerPanel,
    /// A box (south-west, north-east corner) the map moves to at its next frame: an imported
    /// area or mission, a loaded replay.
    pub map_focus: Option<(LatLon, LatLon)>,
    /// How much of the flight the telemetry plots show.
    pub plot_window: PlotWindow,
    /// Bytes the local store takes on disk, as last measured.
    pub store_disk_bytes: Option<u64>,
    /// The built-in file chooser, while it is open.
    pub chooser: Option<FileChooser>,
    /// The Offline maps window.
    pub offline: OfflineMapsState,
    /// Who sits at this desktop, for the audit log when not signed in to a fleet server: the
    /// operating system's account ([`crate::flight::os_account`]).
    pub operator: String,
    /// The DEMs in use (Settings → Terrain, the Plan view) and why a file chosen was refused.
    pub terrain: TerrainState,
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
            preflight: None,
            destructive: None,
            supervised: BTreeMap::new(),
            supervised_copied_at: None,
            supervisors_ticked_at: None,
            sampled_since_alerts: Vec::new(),
            alerts_walked_at: None,
            alerts: Vec::new(),
            next_alert_id: 1,
            alert_history: AlertHistoryState::default(),
            speech_engine: None,
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
            weather: WeatherState::default(),
            calendar: CalendarState::new(now.date_naive()),
            link_states: Vec::new(),
            server: ServerPanel::default(),
            map_focus: None,
            plot_window: PlotWindow::default(),
            store_disk_bytes: None,
            chooser: None,
            offline: OfflineMapsState::default(),
            operator: crate::flight::os_account(),
            terrain: TerrainState::default(),
        }
    }

    /// The operator an audited action is recorded under: the fleet-server account when
    /// signed in, else the desktop's [`AppState::operator`].
    pub fn operator_name(&self) -> String {
        match &self.server.status {
            ServerStatus::Connected { server, .. } if !self.server.email.is_empty() => {
                format!("{} ({server})", self.server.email)
            }
            _ => self.operator.clone(),
        }
    }

    /// Asks the map to show every one of `points` at its next frame (nothing when empty).
    pub fn focus_map_on(&mut self, points: impl IntoIterator<Item = LatLon>) {
        if let Some(corners) = bounds(points) {
            self.map_focus = Some(corners);
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
            severity: kind.severity(),
            drone,
            message: message.into(),
            acknowledged_at: None,
            acknowledged_by: None,
        });
    }

    /// Raises an alert for an event (a supervisor's alert: each one a distinct happening, such
    /// as the vehicle's own failsafe words after a GPS glitch), unless the very same message for
    /// the same drone is already open.
    pub fn raise_event_alert(
        &mut self,
        kind: AlertKind,
        drone: Option<DroneId>,
        message: impl Into<String>,
    ) {
        let message = message.into();
        if self
            .alerts
            .iter()
            .any(|a| a.drone == drone && a.message == message && a.acknowledged_at.is_none())
        {
            return;
        }
        let id = self.next_alert_id;
        self.next_alert_id += 1;
        self.alerts.push(Alert {
            id,
            time: self.now,
            kind,
            severity: kind.severity(),
            drone,
            message,
            acknowledged_at: None,
            acknowledged_by: None,
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

/// The box (south-west, north-east corner) around `points` (`None` without points).
pub fn bounds(points: impl IntoIterator<Item = LatLon>) -> Option<(LatLon, LatLon)> {
    let mut corners: Option<(LatLon, LatLon)> = None;
    for p in points {
        let (sw, ne) = corners.get_or_insert((p, p));
        *sw = LatLon::new(sw.lat_deg.min(p.lat_deg), sw.lon_deg.min(p.lon_deg));
        *ne = LatLon::new(ne.lat_deg.max(p.lat_deg), ne.lon_deg.max(p.lon_deg));
    }
    corners
}

#[cfg(test)]
mod tests {
    use super::*;

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

    #[test]
    fn a_thousand_links_lost_are_one_group_that_buries_no_gps_glitch() {
        let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let mut s = AppState::new(t0);
        let low = DroneId::new_random();
        s.raise_alert(AlertKind::LowBattery, Some(low), "LOW-1: battery 18 %");
        for k in 0..1_000 {
            s.now = t0 + chrono::Duration::milliseconds(k);
            s.raise_alert(
                AlertKind::LinkLost,
                Some(DroneId::new_random()),
                format!("MAV-{k}: no telemetry for 5 s"),
            );
        }
        // The same drone's link drops twice (acknowledged in between): one row of two.
        s.now = t0 + chrono::Duration::seconds(1);
        let twice = s.alerts[1].drone;
        s.alerts[1].acknowledged_at = Some(s.now);
        s.raise_alert(AlertKind::LinkLost, twice, "again");
        let glitch = DroneId::new_random();
        s.now = t0 + chrono::Duration::seconds(2);
        s.raise_event_alert(AlertKind::VehicleFault, Some(glitch), "GPS Glitch");
        let groups = alert_groups(&s.alerts);
        assert_eq!(groups.len(), 3, "{groups:#?}");
        // Critical first, the newest critical (the glitch) on top; the warning last.
        assert_eq!(groups[0].kind, AlertKind::VehicleFault);
        assert_eq!(groups[0].drones[0].latest_message, "GPS Glitch");
        assert_eq!(groups[1].kind, AlertKind::LinkLost);
        assert_eq!(groups[1].total, 1_001);
        assert_eq!(groups[1].open_ids.len(), 1_000);
        assert_eq!(groups[1].drones.len(), 1_000);
        let row = groups[1]
            .drones
            .iter()
            .find(|r| r.drone == twice)
            .expect("the drone that dropped twice");
        assert_eq!((row.total, row.open_ids.len()), (2, 1));
        assert_eq!(row.latest_message, "again");
        assert_eq!(groups[2].severity, AlertSeverity::Warning);
        // Fully acknowledged groups sink below open ones.
        for a in &mut s.alerts {
            if a.kind == AlertKind::VehicleFault {
                a.acknowledged_at = Some(s.now);
            }
        }
        let groups = alert_groups(&s.alerts);
        assert_eq!(groups[2].kind, AlertKind::VehicleFault);
    }

    #[test]
    fn event_alerts_keep_each_distinct_message() {
        let mut s = AppState::new(Utc::now());
        let d = DroneId::new_random();
        s.raise_event_alert(AlertKind::VehicleFault, Some(d), "GPS Glitch");
        s.raise_event_alert(AlertKind::VehicleFault, Some(d), "EKF Failsafe");
        s.raise_event_alert(AlertKind::VehicleFault, Some(d), "EKF Failsafe");
        assert_eq!(s.open_alerts(), 2);
    }
}
