//! `aviary plan --terrain-follow`: the DEM files of `--dem` read into one elevation source
//! ([`aviary_app::dem`], shared with the desktop), each planned mission made to follow the
//! terrain, and the mission written in absolute (AMSL) altitudes.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use aviary_core::LatLon;
use aviary_links::tiles::{
    BoundingBox, ClientOptions, ElevationRequest, TileSource, TileStore, load_elevation,
};
use aviary_planner::Plan;
use aviary_planner::formats::{AltitudeFrame, MissionDoc};
use aviary_planner::terrain::{Elevation, TerrainParams, TerrainPlan, follow_terrain};
use serde_json::{Value, json};

/// Terrain following as the command line asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Follow {
    /// Height above the ground, metres.
    pub agl_m: f64,
    /// Tolerance between the flown line and the AGL profile, metres.
    pub tolerance_m: f64,
}

/// The DEM of `--dem`: one or more SRTM `.hgt` tiles, or one `GeoTIFF` (`.tif`, `.tiff`).
pub fn load_dem(paths: &[PathBuf]) -> anyhow::Result<Box<dyn Elevation>> {
    match aviary_app::dem::load_dem(paths) {
        Err(aviary_app::dem::DemError::NoFile) => anyhow::bail!(
            "--terrain-follow needs elevation data: --dem FILE (.hgt or .tif) or --terrain-tiles [URL]"
        ),
        r => Ok(r?),
    }
}

/// Where `--terrain-tiles` reads from.
pub struct TilesArgs<'a> {
    /// The URL template; empty for the desktop's (Settings → Terrain), else the AWS Terrain
    /// Tiles.
    pub url: &'a str,
    /// Tile zoom.
    pub zoom: u8,
    /// The tile folder; `None` for the desktop's.
    pub tile_dir: Option<&'a Path>,
}

/// The Terrarium tiles under every planned path (home and every waypoint), disk
/// first, fetched and cached where missing; one line on stderr says where they came from.
pub fn load_tiles(plans: &[Plan], args: &TilesArgs<'_>) -> anyhow::Result<Box<dyn Elevation>> {
    // The desktop's choices where the command line gives none.
    let settings = aviary_app::gui::settings::Settings::load();
    let store = match args.tile_dir {
        Some(dir) => TileStore::new(dir),
        None => settings
            .tile_store()
            .context("no data folder for the tile cache: give --tile-dir DIR")?,
    };
    let source = if args.url.trim().is_empty() {
        settings.terrain_tile_source()
    } else {
        TileSource::terrarium_at(args.url, None)
    }
    .context("--terrain-tiles")?;
    let points: Vec<LatLon> = plans
        .iter()
        .flat_map(|p| std::iter::once(p.home).chain(p.items.iter().map(|w| w.pos)))
        .collect();
    let bbox = BoundingBox::around(&points).context("the plan has no points")?;
    let request = ElevationRequest {
        source,
        bbox,
        zoom: args.zoom,
    };
    let loaded = load_elevation(&store, &request, &ClientOptions::default())
        .with_context(|| format!("terrain tiles from {}", request.source.template))?;
    eprintln!(
        "terrain: {} ({} from {}, {} fetched)",
        loaded.tiles.describe(),
        loaded.from_disk,
        store.root().display(),
        loaded.fetched
    );
    Ok(Box::new(loaded.tiles))
}

/// `plan`'s mission following the terrain of `dem`.
pub fn follow(plan: &Plan, dem: &dyn Elevation, f: &Follow) -> anyhow::Result<TerrainPlan> {
    let params = TerrainParams {
        tolerance_m: f.tolerance_m,
        ..TerrainParams::new(
            f.agl_m,
            plan.speed_mps,
            &aviary_planner::Airframe::default(),
        )
    };
    follow_terrain(&plan.items, plan.home, dem, &params).context("terrain following")
}

/// The whole mission of `plan` with the terrain-following items, in absolute altitudes.
pub fn mission_doc(plan: &Plan, t: &TerrainPlan) -> MissionDoc {
    MissionDoc {
        items: t.items.clone(),
        alt_frame: AltitudeFrame::Amsl {
            home_amsl_m: t.home_amsl_m,
        },
        ..MissionDoc::from_plan(plan)
    }
}

/// The summary's terrain fields over all drones' missions.
pub fn summary(plans: &[TerrainPlan]) -> Value {
    let min = plans
        .iter()
        .map(|t| t.min_clearance_m)
        .fold(f64::INFINITY, f64::min);
    let max_climb = plans.iter().map(|t| t.max_climb_m).fold(0.0, f64::max);
    let first = plans.first();
    json!({
        "min_clearance_m": min,
        "max_climb_m": max_climb,
        "max_climb_rate_mps": plans.iter().map(|t| t.max_climb_rate_mps).fold(0.0, f64::max),
        "max_descent_rate_mps": plans.iter().map(|t| t.max_descent_rate_mps).fold(0.0, f64::max),
        "terrain_source": first.map(|t| t.terrain_source.clone()),
        "vertical_datum": first.map(|t| t.datum.as_str()),
        "agl_m": first.map(|t| t.agl_m),
        "tolerance_m": first.map(|t| t.tolerance_m),
        "home_amsl_m": first.map(|t| t.home_amsl_m),
        "inserted_waypoints": plans.iter().map(|t| t.inserted_waypoints).sum::<usize>(),
        "altitude_frame": "amsl",
    })
}
