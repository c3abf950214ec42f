//! Map tiles: raster tile sources, area downloads for offline use, and the tile layer the map
//! draws from.
//!
//! - [`TileSource`]: an XYZ/TMS URL template (`{z}` `{x}` `{y}`, `{-y}` for TMS rows, `{s}` for
//!   a subdomain, `{key}` for an API key) with its attribution; [`TileSource::openstreetmap`]
//!   is the default.
//! - [`TileArea`]: a latitude/longitude box and a zoom range; [`TileArea::estimate`] counts the
//!   tiles (arithmetic, nothing enumerated) and refuses more than a cap before anything is
//!   fetched.
//! - [`TileStore`]: the folder on disk holding downloaded sets (one folder per set with a
//!   `manifest.json`) and the cache of tiles the map fetched; [`TileStore::lookup`] reads it so
//!   the map works with no network.
//! - [`Download::start`]: fetches an area into a new stored set on the `aviary-tile-download`
//!   thread, reporting [`DownloadEvent`]s over a bounded channel; cancellable.
//! - [`load_elevation`]: Terrarium elevation tiles ([`TileSource::terrarium`]) for an area,
//!   disk first, fetched and cached where missing, decoded into a planner elevation source;
//!   [`StoredElevation`]: the stored ones read as lookups need them (a link's terrain answers).
//! - [`TileLayer::spawn`]: the map's tile loader on the `aviary-tiles` thread: disk first, then
//!   the network (written through to the cache), results over a bounded channel and a wake-up
//!   closure.
//!
//! Errors say why a tile did not come: no network (the connection failed), an HTTP status, a
//! TLS or certificate problem, a timeout.

mod area;
mod disk;
mod download;
mod elevation;
mod http;
mod layer;
mod source;

pub use area::{AreaEstimate, BoundingBox, DEFAULT_MAX_TILES, TileArea};
pub use disk::{SetManifest, StoredSet, TileStore};
pub use download::{Download, DownloadEvent, DownloadOptions, DownloadRequest};
pub use elevation::{
    DEFAULT_TERRAIN_ZOOM, ElevationRequest, ElevationTiles, MAX_ELEVATION_TILES, StoredElevation,
    TERRARIUM_TEMPLATE, load_elevation,
};
pub use http::{ClientOptions, TileClient};
pub use layer::{TileEvent, TileLayer, TileLayerConfig, TileOrigin};
pub use source::{TileId, TileSource};

use std::sync::Arc;

/// The wake-up closure the app passes (`request_repaint`).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// Why tiles could not be listed, fetched or stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TileError {
    /// The URL template cannot be used.
    #[error("tile URL template {template:?} is not usable: {reason}")]
    BadTemplate {
        /// The template.
        template: String,
        /// Why.
        reason: String,
    },
    /// The area or zoom range cannot be used.
    #[error("tile area is not usable: {0}")]
    BadArea(String),
    /// The area holds more tiles than the cap allows.
    #[error(
        "the area holds {count} tiles, more than the limit of {cap}: choose a smaller area or fewer zoom levels"
    )]
    TooManyTiles {
        /// Tiles in the area.
        count: u64,
        /// The cap.
        cap: u64,
    },
    /// The connection could not be made: no network, the host is unknown or refuses.
    #[error("no network: cannot connect to {url}: {reason}")]
    NoNetwork {
        /// The URL (API key hidden).
        url: String,
        /// The error chain.
        reason: String,
    },
    /// TLS failed: an untrusted or expired certificate, no CA roots, or not TLS at all.
    #[error("TLS/certificate error talking to {url}: {reason}")]
    Tls {
        /// The URL (API key hidden).
        url: String,
        /// The error chain.
        reason: String,
    },
    /// No full answer within the timeout.
    #[error("tile server {url} did not answer within {timeout_ms} ms")]
    Timeout {
        /// The URL (API key hidden).
        url: String,
        /// The timeout, milliseconds.
        timeout_ms: u64,
    },
    /// The server answered with an error status.
    #[error("tile server answered HTTP {status} for {url}")]
    Http {
        /// The URL (API key hidden).
        url: String,
        /// The status code.
        status: u16,
    },
    /// The answer broke off or was too large.
    #[error("tile answer from {url} is unusable: {reason}")]
    Body {
        /// The URL (API key hidden).
        url: String,
        /// Why.
        reason: String,
    },
    /// Reading or writing the tile folder failed.
    #[error("tile storage {path}: {reason}")]
    Disk {
        /// The file or folder.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// A stored set's manifest is missing or unreadable.
    #[error("stored tile set manifest {path}: {reason}")]
    Manifest {
        /// The manifest file.
        path: String,
        /// Why.
        reason: String,
    },
    /// A stored set of this name already exists.
    #[error("a stored tile set named {0:?} already exists")]
    SetExists(String),
    /// No stored set of this name.
    #[error("no stored tile set named {0:?}")]
    NoSuchSet(String),
    /// The layer's request queue is full; ask again next frame.
    #[error("the tile loader is busy")]
    Busy,
    /// A thread or runtime could not start, or it stopped.
    #[error("tile service: {0}")]
    Service(String),
}

impl TileError {
    /// Whether a network problem (not a bad tile or a bad setting): the map says "offline".
    pub fn is_network(&self) -> bool {
        matches!(
            self,
            Self::NoNetwork { .. } | Self::Tls { .. } | Self::Timeout { .. }
        )
    }

    pub(crate) fn disk(path: &std::path::Path, e: &std::io::Error) -> Self {
        Self::Disk {
            path: path.display().to_string(),
            reason: e.to_string(),
        }
    }
}
