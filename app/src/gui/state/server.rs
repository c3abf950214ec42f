//! The fleet-server panel of Settings: credentials, connection status, the server's listings.

use aviary_core::SiteId;
use chrono::{DateTime, Utc};

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
