//! The Monitor's command log and alerts.

use aviary_core::preflight::Check;
use aviary_core::supervisor::MissionPhase;
use aviary_core::wire::CommandAction;
use aviary_core::{DroneId, MissionId, MissionStatus};
use chrono::{DateTime, Utc};
use std::collections::HashMap;

/// Battery level under which an alert is raised, percent.
pub const LOW_BATTERY_PCT: f64 = 20.0;

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
    /// The weather verdict of a flying mission changed.
    Weather,
    /// A scheduled run could not start.
    MissedRun,
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
            Self::Weather => "Weather",
            Self::MissedRun => "Missed run",
        }
    }

    /// Every kind.
    pub const ALL: [AlertKind; 7] = [
        Self::LowBattery,
        Self::LinkLost,
        Self::CommandFailed,
        Self::Geofence,
        Self::VehicleFault,
        Self::Weather,
        Self::MissedRun,
    ];

    /// Its code in the store's `alerts` table; stable across versions.
    pub const fn code(self) -> &'static str {
        match self {
            Self::LowBattery => "low_battery",
            Self::LinkLost => "link_lost",
            Self::CommandFailed => "command_failed",
            Self::Geofence => "geofence",
            Self::VehicleFault => "vehicle_fault",
            Self::Weather => "weather",
            Self::MissedRun => "missed_run",
        }
    }

    /// The kind of a stored code (`None` for a code this version does not know).
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.code() == code)
    }

    /// How serious an alert of this kind is: a drone that may be lost or hurt is critical
    /// (link lost, outside its geofence, a fault in the vehicle's own words), one that needs the
    /// operator soon is a warning, a run that did not happen is information.
    pub const fn severity(self) -> AlertSeverity {
        match self {
            Self::LinkLost | Self::Geofence | Self::VehicleFault => AlertSeverity::Critical,
            Self::LowBattery | Self::CommandFailed | Self::Weather => AlertSeverity::Warning,
            Self::MissedRun => AlertSeverity::Info,
        }
    }
}

/// How serious an alert is; ordered, the most serious last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertSeverity {
    /// Worth knowing; no banner, no sound.
    Info,
    /// Needs the operator soon: a banner and the warning sound.
    Warning,
    /// A drone may be lost or hurt: a banner and the critical sound.
    Critical,
}

impl AlertSeverity {
    /// Every severity, the most serious first (as filters list them).
    pub const ALL: [AlertSeverity; 3] = [Self::Critical, Self::Warning, Self::Info];

    /// Its code in the store's `alerts` table; stable across versions.
    pub const fn code(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warning => "warning",
            Self::Critical => "critical",
        }
    }

    /// The severity of a stored code (`None` for a code this version does not know).
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.code() == code)
    }

    /// Label.
    pub const fn label(self) -> &'static str {
        match self {
            Self::Info => "Info",
            Self::Warning => "Warning",
            Self::Critical => "Critical",
        }
    }
}

/// The alerts of one kind for one drone (or none), as one row.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertDroneRow {
    /// The drone.
    pub drone: Option<DroneId>,
    /// Alerts in the row.
    pub total: usize,
    /// Ids of its unacknowledged alerts.
    pub open_ids: Vec<u64>,
    /// The newest alert's time.
    pub latest_time: DateTime<Utc>,
    /// The newest alert's message.
    pub latest_message: String,
}

/// Every alert of one kind: a flood of one kind (1,000 drones losing their link) is one group,
/// so it cannot bury another kind's single alert.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertGroup {
    /// The kind.
    pub kind: AlertKind,
    /// Its severity.
    pub severity: AlertSeverity,
    /// Alerts in the group.
    pub total: usize,
    /// Ids of its unacknowledged alerts.
    pub open_ids: Vec<u64>,
    /// One row per drone, those with open alerts first, newest first.
    pub drones: Vec<AlertDroneRow>,
    /// The newest alert's time.
    pub latest_time: DateTime<Utc>,
}

/// Groups `alerts` by kind, then by drone. Groups with open alerts come first, the most severe
/// first, then the newest.
pub fn alert_groups(alerts: &[Alert]) -> Vec<AlertGroup> {
    let mut by_kind: HashMap<AlertKind, HashMap<Option<DroneId>, AlertDroneRow>> = HashMap::new();
    for a in alerts {
        let row = by_kind
            .entry(a.kind)
            .or_default()
            .entry(a.drone)
            .or_insert_with(|| AlertDroneRow {
                drone: a.drone,
                total: 0,
                open_ids: Vec::new(),
                latest_time: a.time,
                latest_message: a.message.clone(),
            });
        row.total += 1;
        if a.acknowledged_at.is_none() {
            row.open_ids.push(a.id);
        }
        if a.time >= row.latest_time {
            row.latest_time = a.time;
            row.latest_message.clone_from(&a.message);
        }
    }
    let mut groups: Vec<AlertGroup> = by_kind
        .into_iter()
        .map(|(kind, rows)| {
            let mut drones: Vec<AlertDroneRow> = rows.into_values().collect();
            drones.sort_by(|a, b| {
                // Open rows first (`false` sorts before `true`), then the newest.
                a.open_ids
                    .is_empty()
                    .cmp(&b.open_ids.is_empty())
                    .then(b.latest_time.cmp(&a.latest_time))
                    .then(a.drone.cmp(&b.drone))
            });
            AlertGroup {
                kind,
                severity: kind.severity(),
                total: drones.iter().map(|r| r.total).sum(),
                open_ids: drones.iter().flat_map(|r| r.open_ids.clone()).collect(),
                latest_time: drones
                    .iter()
                    .map(|r| r.latest_time)
                    .max()
                    .unwrap_or_default(),
                drones,
            }
        })
        .collect();
    groups.sort_by(|a, b| {
        a.open_ids
            .is_empty()
            .cmp(&b.open_ids.is_empty())
            .then(b.severity.cmp(&a.severity))
            .then(b.latest_time.cmp(&a.latest_time))
            // At the same moment, the rarer kind first: one GPS glitch says more than the
            // thousandth lost link.
            .then(a.open_ids.len().cmp(&b.open_ids.len()))
            .then(a.kind.label().cmp(b.kind.label()))
    });
    groups
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
    /// How serious it is.
    pub severity: AlertSeverity,
    /// Drone concerned.
    pub drone: Option<DroneId>,
    /// Text.
    pub message: String,
    /// When the operator acknowledged it.
    pub acknowledged_at: Option<DateTime<Utc>>,
    /// Who acknowledged it (the operator's name), when known.
    pub acknowledged_by: Option<String>,
}

/// Alerts the history window shows per page.
pub const ALERT_HISTORY_PAGE: usize = 100;

/// What the alert history window asks the store for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertHistoryQuery {
    /// Page, from 0 (the newest alerts).
    pub page: usize,
    /// Only this severity.
    pub severity: Option<AlertSeverity>,
    /// Only this drone's alerts.
    pub drone: Option<DroneId>,
}

/// One stored alert as the history window lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertHistoryRow {
    /// Its id.
    pub id: u64,
    /// When it was raised, in the drone's site's time zone when known (else UTC).
    pub raised: String,
    /// Severity (`None`: a code from a newer version).
    pub severity: Option<AlertSeverity>,
    /// Kind in words.
    pub kind: String,
    /// The drone's label, or "—".
    pub drone: String,
    /// Its text.
    pub message: String,
    /// "acknowledged 12:01:02 by ops" or "open".
    pub acknowledged: String,
}

/// The alert history window: stored alerts, newest first, a page at a time.
#[derive(Debug, Clone, Default)]
pub struct AlertHistoryState {
    /// The window is shown.
    pub open: bool,
    /// The page shown and its filter.
    pub query: AlertHistoryQuery,
    /// The page's rows.
    pub rows: Vec<AlertHistoryRow>,
    /// Alerts matching the filter in all.
    pub total: usize,
}

impl AlertHistoryState {
    /// How many pages the filter's alerts fill (at least one).
    pub fn pages(&self) -> usize {
        self.total.div_ceil(ALERT_HISTORY_PAGE).max(1)
    }
}

/// A `MAVLink` drone's supervisor as the Monitor draws it (copied by `logic`, so `ui` never
/// reaches into the backend). Plain fields, updated in place: `logic` copies thousands of
/// these a second with a large fleet, and only the rows drawn are put in words.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SupervisedView {
    /// The mission it supervises.
    pub mission: Option<MissionId>,
    /// That mission's phase, finer than its stored status (returning, landing, …).
    pub phase: Option<MissionPhase>,
    /// The operator actions the supervisor accepts now for that mission.
    pub allowed: Vec<CommandAction>,
    /// Linked, landed, disarmed and free: a new mission may start.
    pub available: bool,
    /// The vehicle as its supervisor sees it.
    pub vehicle: VehicleLine,
}

/// The vehicle's line under the Monitor's buttons, as plain fields ([`VehicleLine::words`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VehicleLine {
    /// The flight mode the vehicle reports (empty before its first heartbeat).
    pub mode: String,
    /// Armed, as the vehicle reports it.
    pub armed: bool,
    /// Its link is up.
    pub link_up: bool,
    /// On the ground (landed state, or not armed).
    pub on_ground: bool,
    /// Altitude above home, metres.
    pub alt_rel_m: f64,
}

impl VehicleLine {
    /// The vehicle's mode and state in words: `AUTO · armed · in the air · 31.0 m`.
    pub fn words(&self) -> String {
        let mode = if self.mode.is_empty() {
            "no mode yet"
        } else {
            self.mode.as_str()
        };
        format!(
            "{mode} · {} · {} · {:.1} m",
            if self.armed { "armed" } else { "disarmed" },
            if !self.link_up {
                "link lost"
            } else if self.on_ground {
                "on the ground"
            } else {
                "in the air"
            },
            self.alt_rel_m
        )
    }
}

impl SupervisedView {
    /// Whether `action` on mission `mission` (stored as `status`) may be sent now.
    pub fn allows(&self, mission: MissionId, status: MissionStatus, action: CommandAction) -> bool {
        if self.mission == Some(mission) {
            self.allowed.contains(&action)
        } else {
            // Another mission (or none) is attached: only a planned one may start, on a free
            // vehicle; the start attaches it.
            action == CommandAction::Start && status == MissionStatus::Planned && self.available
        }
    }
}

/// A destructive action waiting for the operator's confirmation (a modal with Cancel and
/// Delete): nothing is deleted by one stray click.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Destructive {
    /// Delete a planned mission.
    DeletePlan(MissionId),
    /// Remove a simulated drone from the simulator and the fleet.
    RemoveSimDrone(DroneId),
    /// Delete a schedule and its runs.
    DeleteSchedule(uuid::Uuid),
}

/// Start refused by the pre-flight checks, shown until the operator closes it or overrides
/// the soft failures with a typed reason.
#[derive(Debug, Clone, PartialEq)]
pub struct PreflightPrompt {
    /// The mission.
    pub mission: MissionId,
    /// Every check, passed or not.
    pub checks: Vec<Check>,
    /// Only soft checks failed: a reason lets the start go ahead.
    pub overridable: bool,
    /// The operator's reason, typed in the dialog.
    pub reason: String,
}
