//! DEMs the operator chooses: Settings → Terrain (every `MAVLink` link answers the autopilots'
//! `TERRAIN_REQUEST`s from it) and the Plan view's (terrain following and the path's
//! profile). Files are read on a job thread with the loader of `aviary plan --dem`; a file
//! that cannot be used leaves the DEM in use as it was and says why, naming the file. The Plan
//! view may use Terrarium elevation tiles instead ([`PlanDem::Tiles`]): each planning job
//! reads the tiles under its path from the tile folder, fetching and caching the missing ones.

use crate::gui::backend::Backend;
use crate::gui::jobs::JobOutput;
use crate::gui::settings::{PlanTerrainSource, Settings};
use crate::gui::state::{AppState, DemUse, DemView, PlanPreview, plain_primes};
use aviary_core::LatLon;
use aviary_links::mav::TerrainSource;
use aviary_links::tiles::{
    BoundingBox, ClientOptions, ElevationRequest, TileSource, TileStore, load_elevation,
};
use aviary_planner::terrain::Elevation as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The files a DEM is read from: SRTM tiles and `GeoTIFF`s.
pub(super) const DEM_EXTENSIONS: [&str; 3] = ["hgt", "tif", "tiff"];

/// The file chooser's title for `used_for`.
pub(super) const fn title(used_for: DemUse) -> &'static str {
    match used_for {
        DemUse::Links => "Terrain for the autopilots (DEM)",
        DemUse::Plan => "Terrain for the plan (DEM)",
    }
}

/// Asks for a DEM file with the system dialog and reads it.
pub(super) fn pick(backend: &mut Backend, used_for: DemUse) {
    backend.jobs.spawn("Reading terrain", move |_| {
        let picked = rfd::FileDialog::new()
            .set_title(title(used_for))
            .add_filter("SRTM .hgt, GeoTIFF", &DEM_EXTENSIONS)
            .pick_file();
        match picked {
            None => JobOutput::Cancelled,
            Some(path) => loaded(used_for, path),
        }
    });
}

/// Reads the DEM at `path` in the background.
pub(super) fn load_from(backend: &mut Backend, used_for: DemUse, path: PathBuf) {
    backend
        .jobs
        .spawn("Reading terrain", move |_| loaded(used_for, path));
}

fn loaded(used_for: DemUse, path: PathBuf) -> JobOutput {
    let result = read(&path);
    JobOutput::DemLoaded {
        used_for,
        path,
        result,
    }
}

/// The elevation source in `path`, or why it cannot be one, naming the file.
fn read(path: &Path) -> Result<TerrainSource, String> {
    let dem = crate::dem::load_dem(&[path.to_path_buf()]).map_err(|e| {
        let why = plain_primes(&e.to_string());
        let file = path.display().to_string();
        if why.contains(&file) {
            why
        } else {
            format!("{file}: {why}")
        }
    })?;
    Ok(TerrainSource(Arc::from(dem)))
}

/// Puts a DEM read for `used_for` to use, or shows why the file was refused (the DEM in use
/// stays).
pub(super) fn apply_loaded(
    state: &mut AppState,
    backend: &mut Backend,
    settings: &mut Settings,
    used_for: DemUse,
    path: PathBuf,
    result: Result<TerrainSource, String>,
) {
    let source = match result {
        Ok(source) => source,
        Err(e) => {
            state.notice(format!("terrain not changed: {e}"), true);
            state.terrain.choice_mut(used_for).error = Some(e);
            return;
        }
    };
    let describe = plain_primes(&source.0.describe());
    if !source.is_amsl() && used_for == DemUse::Links {
        state.notice(
            format!("{describe}: heights are not above mean sea level, as autopilots expect"),
            true,
        );
    }
    match used_for {
        DemUse::Links => {
            for address in backend.links.set_terrain(Some(source)) {
                state.notice(format!("link {address} did not take the new terrain"), true);
            }
            settings.terrain_dem = path.display().to_string();
            settings.autopilot_terrain_tiles = false;
            state.notice(
                format!("the links answer terrain requests from {describe}"),
                false,
            );
        }
        DemUse::Plan => {
            backend.plan_dem = Some(source);
            settings.plan_dem = path.display().to_string();
            state.plan.changed();
            state.notice(format!("the plan uses terrain from {describe}"), false);
        }
    }
    *state.terrain.choice_mut(used_for) = crate::gui::state::DemChoice {
        dem: Some(DemView { path, describe }),
        error: None,
    };
}

/// Stops using the DEM of `used_for`.
pub(super) fn clear(
    state: &mut AppState,
    backend: &mut Backend,
    settings: &mut Settings,
    used_for: DemUse,
) {
    match used_for {
        DemUse::Links => {
            for address in backend.links.set_terrain(None) {
                state.notice(format!("link {address} did not take the change"), true);
            }
            settings.terrain_dem.clear();
            settings.autopilot_terrain_tiles = false;
            state.notice("terrain requests are no longer answered", false);
        }
        DemUse::Plan => {
            backend.plan_dem = None;
            settings.plan_dem.clear();
            state.plan.changed();
        }
    }
    *state.terrain.choice_mut(used_for) = crate::gui::state::DemChoice::default();
}

/// Every link answers the autopilots' terrain requests from the stored elevation tiles of
/// Settings → Terrain's source (read from disk as requests need them; no network on a link).
pub(super) fn links_from_tiles(
    state: &mut AppState,
    backend: &mut Backend,
    settings: &mut Settings,
) {
    let stored = settings
        .tile_store()
        .ok_or_else(|| "no data folder for elevation tiles".to_owned())
        .and_then(|store| {
            let source = settings.terrain_tile_source().map_err(|e| e.to_string())?;
            let stored = aviary_links::tiles::StoredElevation::new(
                &store,
                &source,
                settings.terrain_tile_zoom,
            )
            .map_err(|e| e.to_string())?;
            Ok((store, stored))
        });
    let (store, stored) = match stored {
        Ok(s) => s,
        Err(e) => {
            state.notice(format!("terrain not changed: {e}"), true);
            state.terrain.links.error = Some(e);
            return;
        }
    };
    let describe = stored.describe();
    for address in backend
        .links
        .set_terrain(Some(TerrainSource(Arc::new(stored))))
    {
        state.notice(format!("link {address} did not take the new terrain"), true);
    }
    settings.terrain_dem.clear();
    settings.autopilot_terrain_tiles = true;
    state.notice(
        format!("the links answer terrain requests from {describe}"),
        false,
    );
    state.terrain.links = crate::gui::state::DemChoice {
        dem: Some(DemView {
            path: store.root().to_path_buf(),
            describe,
        }),
        error: None,
    };
}

/// Where a planning job gets the terrain of the Plan view.
pub(super) enum PlanDem {
    /// The DEM file imported in the Plan view, if any.
    File(Option<TerrainSource>),
    /// Terrarium elevation tiles under the planned path: from the tile folder, fetched and
    /// cached where missing.
    Tiles {
        /// The tile folder (offline sets and the cache).
        store: TileStore,
        /// The tile source.
        source: TileSource,
        /// Tile zoom.
        zoom: u8,
    },
    /// Tiles were chosen but cannot be used: why.
    Unusable(String),
}

/// The Plan view's terrain as the settings choose it.
pub(super) fn plan_terrain(backend: &Backend, settings: &Settings) -> PlanDem {
    match settings.plan_terrain {
        PlanTerrainSource::DemFile => PlanDem::File(backend.plan_dem.clone()),
        PlanTerrainSource::Tiles => {
            let Some(store) = settings.tile_store() else {
                return PlanDem::Unusable("no data folder for elevation tiles".into());
            };
            match settings.terrain_tile_source() {
                Ok(source) => PlanDem::Tiles {
                    store,
                    source,
                    zoom: settings.terrain_tile_zoom,
                },
                Err(e) => PlanDem::Unusable(format!("elevation tiles: {e}")),
            }
        }
    }
}

/// Margin around the planned path the tiles must cover, metres (the profile and terrain
/// following look only along the path; this leaves room for the operator's next nudge).
const TILE_MARGIN_M: f64 = 200.0;

impl PlanDem {
    /// The elevation source under `preview`'s path (home and every item). Blocking: runs on
    /// the planning job's thread.
    pub(super) fn resolve(&self, preview: &PlanPreview) -> Result<Option<TerrainSource>, String> {
        let path: Vec<LatLon> = std::iter::once(preview.home)
            .chain(preview.waypoints.iter().map(|w| w.pos))
            .collect();
        self.resolve_around(&path)
    }

    /// The elevation source around `points` (a path, or an area and its home). Blocking.
    pub(super) fn resolve_around(
        &self,
        points: &[LatLon],
    ) -> Result<Option<TerrainSource>, String> {
        match self {
            Self::File(dem) => Ok(dem.clone()),
            Self::Unusable(why) => Err(why.clone()),
            Self::Tiles {
                store,
                source,
                zoom,
            } => {
                let points: Vec<LatLon> = points
                    .iter()
                    .flat_map(|p| {
                        [
                            p.offset_ne(-TILE_MARGIN_M, -TILE_MARGIN_M),
                            p.offset_ne(TILE_MARGIN_M, TILE_MARGIN_M),
                        ]
                    })
                    .collect();
                let bbox = BoundingBox::around(&points).ok_or("the plan has no points")?;
                let request = ElevationRequest {
                    source: source.clone(),
                    bbox,
                    zoom: *zoom,
                };
                let loaded = load_elevation(store, &request, &ClientOptions::default())
                    .map_err(|e| format!("elevation tiles: {e}"))?;
                Ok(Some(TerrainSource(Arc::new(loaded.tiles))))
            }
        }
    }
}
