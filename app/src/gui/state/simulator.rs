//! The Simulator view: its event log, the faults a trainer can inject and when they were.

use aviary_core::{DroneId, SiteId};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

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
