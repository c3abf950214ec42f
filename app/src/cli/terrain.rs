//! `aviary plan --terrain-follow`: the DEM files of `--dem` read into one elevation source,
//! each planned mission made to follow the terrain, and the mission written in absolute
//! (AMSL) altitudes.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use aviary_planner::Plan;
use aviary_planner::formats::{AltitudeFrame, MissionDoc};
use aviary_planner::terrain::{
    Elevation, GeoTiffDem, SrtmSet, SrtmTile, TerrainParams, TerrainPlan, follow_terrain,
};
use serde_json::{Value, json};

/// Terrain following as the command line asks for it.
#[derive(Debug, Clone, PartialEq)]
pub struct Follow {
    /// Height above the ground, metres.
    pub agl_m: f64,
    /// Tolerance between the flown line and the AGL profile, metres.
    pub tolerance_m: f64,
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// The DEM of `--dem`: one or more SRTM `.hgt` tiles, or one `GeoTIFF` (`.tif`, `.tiff`).
pub fn load_dem(paths: &[PathBuf]) -> anyhow::Result<Box<dyn Elevation>> {
    let (hgt, other): (Vec<&PathBuf>, Vec<&PathBuf>) =
        paths.iter().partition(|p| extension(p) == "hgt");
    match (hgt.is_empty(), other.as_slice()) {
        (true, []) => anyhow::bail!("--terrain-follow needs a DEM: --dem FILE (.hgt or .tif)"),
        (false, []) => {
            let mut set = SrtmSet::new();
            for p in hgt {
                set.insert(SrtmTile::read(p)?);
            }
            Ok(Box::new(set))
        }
        (true, [one]) if matches!(extension(one).as_str(), "tif" | "tiff") => {
            Ok(Box::new(GeoTiffDem::read(one)?))
        }
        (_, [one]) if !matches!(extension(one).as_str(), "tif" | "tiff") => anyhow::bail!(
            "{}: unsupported DEM type (expected SRTM .hgt or GeoTIFF .tif)",
            one.display()
        ),
        _ => anyhow::bail!(
            "--dem takes SRTM .hgt tiles or one GeoTIFF, not both or several GeoTIFFs"
        ),
    }
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
