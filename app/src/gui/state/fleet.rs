//! The Fleet view's table controls.

use aviary_core::{DroneStatus, SiteId};

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
