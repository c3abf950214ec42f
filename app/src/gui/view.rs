//! What the window keeps between frames besides [`AppState`](super::state::AppState): the
//! map widget's state and recent frame times. Owned by the [`AviaryApp`](super::app::AviaryApp)
//! and lent to the `ui`, which lives below the app and so does not import it.

use super::map::basemap::Basemap;
use super::map::tiles::LayerTiles;
use std::collections::VecDeque;
use walkers::MapMemory;

/// The map widget's state: walkers memory, tiles and the basemap.
pub struct MapView {
    /// Centre and zoom.
    pub memory: MapMemory,
    /// Tiles from the configured source (stored sets and cache first), when enabled.
    pub tiles: Option<LayerTiles>,
    /// The source and folder the tiles were built for.
    pub tiles_url: String,
    /// The bundled basemap.
    pub basemap: Option<Basemap>,
    /// How the basemap's background is filled: a GL clear in the desktop window.
    pub fill: super::map::fill::FillMode,
    /// Whether the map was centred on the fleet yet.
    pub centred: bool,
    /// Thinned trails at the current zoom, kept between frames.
    pub trails: crate::gui::map::overlays::TrailCache,
    /// The "Go to coordinates" field (`lat, lon`).
    pub goto_text: String,
    /// Why the field's text is not a position.
    pub goto_error: Option<String>,
}

impl std::fmt::Debug for MapView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MapView")
            .field("tiles_url", &self.tiles_url)
            .field("centred", &self.centred)
            .finish_non_exhaustive()
    }
}

/// CPU time of recent frames (logic + ui + commands), for the readout.
#[derive(Debug, Default)]
pub struct FrameStats {
    recent_ms: VecDeque<f32>,
}

impl FrameStats {
    pub(crate) fn push(&mut self, ms: f32) {
        if self.recent_ms.len() == 120 {
            self.recent_ms.pop_front();
        }
        self.recent_ms.push_back(ms);
    }

    /// Mean and maximum of the recent frames, milliseconds.
    pub fn mean_max_ms(&self) -> (f32, f32) {
        let n = self.recent_ms.len().max(1) as f32;
        let sum: f32 = self.recent_ms.iter().sum();
        (sum / n, self.recent_ms.iter().copied().fold(0.0, f32::max))
    }
}
