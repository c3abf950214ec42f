//! The Offline maps window: the area and zooms chosen, the estimate, a running download's
//! progress and the stored sets, as `logic` last read them.

use aviary_core::LatLon;

/// One stored set as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfflineSet {
    /// Name.
    pub name: String,
    /// The tile source's name.
    pub source: String,
    /// Lowest and highest zoom.
    pub zooms: (u8, u8),
    /// Tiles stored.
    pub tiles: u64,
    /// Bytes on disk.
    pub size_bytes: u64,
}

/// A running download's counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DownloadProgress {
    /// Tiles stored.
    pub done: u64,
    /// Tiles the server refused.
    pub failed: u64,
    /// Tiles in the area.
    pub total: u64,
    /// Bytes stored.
    pub bytes: u64,
}

impl DownloadProgress {
    /// Share done, 0..=1.
    pub fn fraction(&self) -> f32 {
        if self.total == 0 {
            0.0
        } else {
            ((self.done + self.failed) as f64 / self.total as f64) as f32
        }
    }
}

/// Which tiles an offline set holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OfflineTiles {
    /// Map tiles (Settings → Map's source).
    Map,
    /// Elevation tiles (Settings → Terrain's source), for terrain following offline.
    Elevation,
}

/// The window's state.
#[derive(Debug, Clone, PartialEq)]
pub struct OfflineMapsState {
    /// Window shown.
    pub open: bool,
    /// Name for the next set.
    pub name: String,
    /// Lowest zoom to download.
    pub zoom_min: u8,
    /// Highest zoom to download.
    pub zoom_max: u8,
    /// The chosen area (south-west, north-east).
    pub area: Option<(LatLon, LatLon)>,
    /// Which tiles to download.
    pub tiles: OfflineTiles,
    /// The map's visible area at its last frame (south-west, north-east) and its zoom.
    pub visible: Option<(LatLon, LatLon, f64)>,
    /// The last estimate: tiles and bytes, or why the area was refused.
    pub estimate: Option<Result<(u64, u64), String>>,
    /// The area and zooms (south-west, north-east, min, max) the estimate was asked for.
    pub estimated_for: Option<(LatLon, LatLon, u8, u8, bool)>,
    /// A download is running.
    pub downloading: bool,
    /// Its progress.
    pub progress: DownloadProgress,
    /// How the last download or action ended (text, is error).
    pub message: Option<(String, bool)>,
    /// Stored sets.
    pub sets: Vec<OfflineSet>,
    /// The stored sets changed: the map re-reads them.
    pub sets_changed: bool,
}

impl Default for OfflineMapsState {
    fn default() -> Self {
        Self {
            open: false,
            name: "Offline map 1".into(),
            zoom_min: 12,
            zoom_max: 16,
            area: None,
            tiles: OfflineTiles::Map,
            visible: None,
            estimate: None,
            estimated_for: None,
            downloading: false,
            progress: DownloadProgress::default(),
            message: None,
            sets: Vec::new(),
            sets_changed: false,
        }
    }
}
