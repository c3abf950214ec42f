//! The Offline maps window's commands (estimate, download, cancel, list, delete) and the
//! running download's events, through the links tile store and downloader. Elevation tiles
//! (Settings → Terrain's source) download into stored sets the same way; the Plan view's
//! elevation tiles then come from them with no network.

use crate::gui::backend::Backend;
use crate::gui::command::OfflineArea;
use crate::gui::settings::Settings;
use crate::gui::state::{AppState, DownloadProgress, OfflineSet};
use aviary_links::tiles::{
    BoundingBox, DEFAULT_MAX_TILES, Download, DownloadEvent, DownloadOptions, DownloadRequest,
    TileArea, TileStore,
};

/// Expected bytes of one raster tile (OSM's PNGs average 10–20 kB).
const TILE_BYTES_ESTIMATE: u64 = 15_000;
/// Expected bytes of one Terrarium elevation tile (lossless 24-bit PNGs: 60–150 kB over
/// land).
const ELEVATION_TILE_BYTES_ESTIMATE: u64 = 100_000;

fn tile_area(area: OfflineArea) -> TileArea {
    TileArea {
        bbox: BoundingBox::from_corners(area.sw, area.ne),
        zoom_min: area.zoom_min,
        zoom_max: area.zoom_max,
    }
}

fn store(settings: &Settings) -> Result<TileStore, String> {
    settings
        .tile_store()
        .ok_or_else(|| "no data folder for offline maps".to_owned())
}

/// Counts the area's tiles.
pub fn estimate(state: &mut AppState, area: OfflineArea) {
    let tile_bytes = if area.elevation {
        ELEVATION_TILE_BYTES_ESTIMATE
    } else {
        TILE_BYTES_ESTIMATE
    };
    state.offline.estimate = Some(
        tile_area(area)
            .estimate(tile_bytes, DEFAULT_MAX_TILES)
            .map(|e| (e.tiles, e.bytes))
            .map_err(|e| e.to_string()),
    );
}

/// Starts downloading the area into a new stored set.
pub fn download(
    state: &mut AppState,
    backend: &mut Backend,
    settings: &Settings,
    name: &str,
    area: OfflineArea,
) {
    if backend.tile_download.is_some() {
        state.offline.message = Some(("a download is already running".into(), true));
        return;
    }
    let started = store(settings).and_then(|store| {
        let source = if area.elevation {
            settings.terrain_tile_source()
        } else {
            settings.tile_source()
        }
        .map_err(|e| e.to_string())?;
        let request = DownloadRequest {
            name: name.trim().to_owned(),
            source,
            area: tile_area(area),
            created: state.now,
        };
        Download::start(
            &store,
            request,
            &DownloadOptions::default(),
            backend.wake.clone(),
        )
        .map_err(|e| e.to_string())
    });
    match started {
        Ok(d) => {
            state.offline.progress = DownloadProgress {
                total: d.total(),
                ..DownloadProgress::default()
            };
            state.offline.downloading = true;
            state.offline.message = None;
            backend.tile_download = Some(d);
        }
        Err(e) => state.offline.message = Some((format!("cannot download: {e}"), true)),
    }
}

/// Asks the running download to stop.
pub fn cancel(backend: &Backend) {
    if let Some(d) = &backend.tile_download {
        d.cancel();
    }
}

/// Deletes a stored set.
pub fn delete(state: &mut AppState, settings: &Settings, name: &str) {
    match store(settings).and_then(|s| s.delete(name).map_err(|e| e.to_string())) {
        Ok(()) => {
            state.offline.message = Some((format!("deleted '{name}'"), false));
            state.offline.sets_changed = true;
        }
        Err(e) => state.offline.message = Some((format!("cannot delete: {e}"), true)),
    }
    list(state, settings);
}

/// Re-reads the stored sets and their sizes.
pub fn list(state: &mut AppState, settings: &Settings) {
    let listed = store(settings).and_then(|store| {
        let sets = store.list().map_err(|e| e.to_string())?;
        Ok(sets
            .into_iter()
            .map(|s| OfflineSet {
                size_bytes: store
                    .size_bytes(&s.manifest.name)
                    .unwrap_or(s.manifest.bytes),
                name: s.manifest.name,
                source: s.manifest.source.name,
                zooms: (s.manifest.zoom_min, s.manifest.zoom_max),
                tiles: s.manifest.tile_count,
            })
            .collect())
    });
    match listed {
        Ok(sets) => state.offline.sets = sets,
        Err(e) => state.offline.message = Some((format!("cannot list offline maps: {e}"), true)),
    }
}

/// Drains the running download's events.
pub fn tick(state: &mut AppState, backend: &mut Backend, settings: &Settings) {
    let Some(download) = &backend.tile_download else {
        return;
    };
    let mut finished = false;
    while let Some(event) = download.try_recv() {
        match event {
            DownloadEvent::Progress {
                done,
                failed,
                total,
                bytes,
            } => {
                state.offline.progress = DownloadProgress {
                    done,
                    failed,
                    total,
                    bytes,
                };
            }
            DownloadEvent::Finished(manifest) => {
                let skipped = if manifest.failed_tiles > 0 {
                    format!(" ({} tiles the server did not have)", manifest.failed_tiles)
                } else {
                    String::new()
                };
                state.offline.message = Some((
                    format!(
                        "stored '{}': {} tiles{skipped}",
                        manifest.name, manifest.tile_count
                    ),
                    false,
                ));
                state.offline.sets_changed = true;
                finished = true;
            }
            DownloadEvent::Cancelled { done, total } => {
                state.offline.message = Some((
                    format!("download cancelled after {done} of {total} tiles; nothing kept"),
                    false,
                ));
                finished = true;
            }
            DownloadEvent::Failed(e) => {
                state.offline.message = Some((format!("download failed: {e}"), true));
                finished = true;
            }
        }
    }
    if finished {
        backend.tile_download = None;
        state.offline.downloading = false;
        list(state, settings);
    }
}
