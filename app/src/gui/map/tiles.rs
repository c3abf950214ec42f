//! Raster tiles for walkers from the links tile layer: the source from Settings (OpenStreetMap
//! by default), read from stored offline sets and the disk cache first, then fetched on the
//! `aviary-tiles` thread. Keeps the decoded textures and the reason tiles last failed, shown
//! on the map.

use aviary_links::tiles::{
    TileError, TileEvent, TileLayer, TileLayerConfig, TileOrigin, TileSource, TileStore,
};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use walkers::sources::Attribution;
use walkers::{Tile, TileId, TilePiece, Tiles};

/// Decoded tiles kept; past this the finished ones are dropped (they reload from disk).
const MAX_TILES_KEPT: usize = 768;
/// A failed tile is asked for again after this.
const RETRY_AFTER: Duration = Duration::from_secs(30);

enum Slot {
    Pending,
    Ready(Tile),
    Failed(Instant),
}

/// The map's tiles: a [`TileLayer`] behind walkers' [`Tiles`].
pub struct LayerTiles {
    layer: TileLayer,
    slots: HashMap<TileId, Slot>,
    ctx: egui::Context,
    attribution: String,
    max_zoom: u8,
    problem: Option<String>,
}

impl std::fmt::Debug for LayerTiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LayerTiles")
            .field("source", &self.layer.source().name)
            .field("tiles", &self.slots.len())
            .field("problem", &self.problem)
            .finish_non_exhaustive()
    }
}

impl LayerTiles {
    /// Starts the tile layer for `source` over `store`; repaints `ctx` when tiles arrive.
    pub fn spawn(
        source: TileSource,
        store: TileStore,
        ctx: &egui::Context,
    ) -> Result<Self, TileError> {
        let attribution = source.attribution.clone();
        let max_zoom = source.max_zoom;
        let repaint = ctx.clone();
        let layer = TileLayer::spawn(
            TileLayerConfig::new(store, source),
            std::sync::Arc::new(move || repaint.request_repaint()),
        )?;
        Ok(Self {
            layer,
            slots: HashMap::new(),
            ctx: ctx.clone(),
            attribution,
            max_zoom,
            problem: None,
        })
    }

    /// The attribution the source requires.
    pub fn attribution_text(&self) -> &str {
        &self.attribution
    }

    /// Why tiles last failed to load, until one comes from the server again.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// Re-reads the stored sets (after a download or a delete) and forgets failures.
    pub fn refresh(&mut self) {
        self.slots.retain(|_, s| !matches!(s, Slot::Failed(_)));
        if let Err(e) = self.layer.refresh() {
            tracing::warn!(error = %e, "tile layer not refreshed");
        }
    }

    fn drain(&mut self) {
        while let Some(event) = self.layer.try_recv() {
            match event {
                TileEvent::Loaded { id, bytes, origin } => {
                    let key = from_links(id);
                    match Tile::new(&bytes, &walkers::Style, id.z, 256, &self.ctx) {
                        Ok(tile) => {
                            self.slots.insert(key, Slot::Ready(tile));
                            if origin == TileOrigin::Network {
                                self.problem = None;
                            }
                        }
                        Err(e) => {
                            self.slots.insert(key, Slot::Failed(Instant::now()));
                            self.problem = Some(format!("a tile is not an image: {e}"));
                        }
                    }
                }
                TileEvent::Failed { id, error } => {
                    self.slots
                        .insert(from_links(id), Slot::Failed(Instant::now()));
                    // A 404 is a tile outside the source's coverage, not a broken map.
                    if !matches!(error, TileError::Http { status: 404, .. }) {
                        self.problem = Some(error.to_string());
                    }
                }
            }
        }
        if self.slots.len() > MAX_TILES_KEPT {
            self.slots.retain(|_, s| matches!(s, Slot::Pending));
        }
    }

    fn request(&mut self, id: TileId) {
        let wanted = match self.slots.get(&id) {
            None => true,
            Some(Slot::Failed(at)) => at.elapsed() > RETRY_AFTER,
            Some(_) => false,
        };
        if !wanted {
            return;
        }
        match self.layer.request(to_links(id)) {
            Ok(()) => {
                self.slots.insert(id, Slot::Pending);
            }
            // Full queue: asked again next frame.
            Err(TileError::Busy) => {}
            Err(e) => self.problem = Some(e.to_string()),
        }
    }

    /// That tile if loaded, else the piece of the nearest loaded lower zoom covering it.
    fn best_available(&self, id: TileId) -> Option<TilePiece> {
        let mut zoom = id.zoom;
        loop {
            let (donor, uv) = lower_zoom(id, zoom);
            if let Some(Slot::Ready(tile)) = self.slots.get(&donor) {
                return Some(TilePiece::new(tile.clone(), uv));
            }
            zoom = zoom.checked_sub(1)?;
        }
    }
}

impl Tiles for LayerTiles {
    fn at(&mut self, id: TileId) -> Option<TilePiece> {
        self.drain();
        let rows = 1u64 << id.zoom.min(31);
        if u64::from(id.x) >= rows || u64::from(id.y) >= rows {
            return None;
        }
        let fetch = if id.zoom > self.max_zoom {
            lower_zoom(id, self.max_zoom).0
        } else {
            id
        };
        self.request(fetch);
        self.best_available(id)
    }

    fn attribution(&self) -> Attribution {
        // walkers wants `'static` text; the map draws the source's own attribution instead.
        Attribution {
            text: "",
            url: "",
            logo_light: None,
            logo_dark: None,
        }
    }

    fn tile_size(&self) -> u32 {
        256
    }
}

fn to_links(id: TileId) -> aviary_links::tiles::TileId {
    aviary_links::tiles::TileId {
        z: id.zoom,
        x: id.x,
        y: id.y,
    }
}

fn from_links(id: aviary_links::tiles::TileId) -> TileId {
    TileId {
        x: id.x,
        y: id.y,
        zoom: id.z,
    }
}

/// The tile at `zoom` (≤ `id.zoom`) covering `id`, and the part of it `id` is.
fn lower_zoom(id: TileId, zoom: u8) -> (TileId, egui::Rect) {
    let dzoom = 1u32 << (id.zoom - zoom.min(id.zoom)).min(31);
    let donor = TileId {
        x: id.x / dzoom,
        y: id.y / dzoom,
        zoom: zoom.min(id.zoom),
    };
    let s = 1.0 / dzoom as f32;
    let (u, v) = ((id.x % dzoom) as f32 * s, (id.y % dzoom) as f32 * s);
    (
        donor,
        egui::Rect::from_min_max(egui::pos2(u, v), egui::pos2(u + s, v + s)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_zoom_takes_the_right_quarter() {
        let (donor, uv) = lower_zoom(
            TileId {
                x: 3,
                y: 2,
                zoom: 2,
            },
            1,
        );
        assert_eq!(
            donor,
            TileId {
                x: 1,
                y: 1,
                zoom: 1
            }
        );
        assert_eq!(uv.min, egui::pos2(0.5, 0.0));
        assert_eq!(uv.max, egui::pos2(1.0, 0.5));
    }
}
