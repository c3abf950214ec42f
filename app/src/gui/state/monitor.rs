//! The Monitor's command log and alerts.

use aviary_core::preflight::Check;
use aviary_core::supervisor::MissionPhase;
use aviary_core::wire::CommandAction;
use aviary_core::{DroneId, MissionId, MissionStatus};
use chrono::{DateTime, Utc};

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

/// A `MAVLink` drone's supervisor as the Monitor draws it (copied by `logic` each frame, so
/// `ui` never reaches into the backend).
#[derive(Debug, Clone, PartialEq)]
pub struct SupervisedView {
    /// The mission it supervises.
    pub mission: Option<MissionId>,
    /// That mission's phase, finer than its stored status (returning, landing, …).
    pub phase: Option<MissionPhase>,
    /// The operator actions the supervisor accepts now for that mission.
    pub allowed: Vec<CommandAction>,
    /// Linked, landed, disarmed and free: a new mission may start.
    pub available: bool,
    /// The vehicle's mode and state in words.
    pub vehicle: String,
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
