//! DEM files read into one elevation source, the same way for `aviary plan --dem`,
//! `aviary fly --dem` and the desktop's Settings → Terrain and Plan view: one or more SRTM
//! `.hgt` tiles, or one `GeoTIFF`.

use aviary_planner::terrain::{Elevation, GeoTiffDem, SrtmSet, SrtmTile, TerrainError};
use std::path::{Path, PathBuf};

/// Why DEM files cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DemError {
    /// No file given.
    #[error("no DEM file given (SRTM .hgt tiles or one GeoTIFF .tif)")]
    NoFile,
    /// A file of a kind no loader reads.
    #[error("{0}: unsupported DEM type (expected SRTM .hgt or GeoTIFF .tif)")]
    Unsupported(PathBuf),
    /// `.hgt` tiles and a `GeoTIFF` together, or several `GeoTIFF`s.
    #[error("a DEM is SRTM .hgt tiles or one GeoTIFF, not both or several GeoTIFFs")]
    Mixed,
    /// A file that cannot be read or decoded (the error names it).
    #[error(transparent)]
    Terrain(#[from] TerrainError),
}

fn extension(path: &Path) -> String {
    path.extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// The elevation source in `paths`: one or more SRTM `.hgt` tiles, or one `GeoTIFF` (`.tif`,
/// `.tiff`).
///
/// # Errors
/// No file, a file of another kind, a mix, or a file that cannot be read or decoded.
pub fn load_dem(paths: &[PathBuf]) -> Result<Box<dyn Elevation>, DemError> {
    let (hgt, other): (Vec<&PathBuf>, Vec<&PathBuf>) =
        paths.iter().partition(|p| extension(p) == "hgt");
    match (hgt.is_empty(), other.as_slice()) {
        (true, []) => Err(DemError::NoFile),
        (false, []) => {
            let mut set = SrtmSet::new();
            for p in hgt {
                set.insert(SrtmTile::read(p)?);
            }
            Ok(Box::new(set))
        }
        // Autopilots and mission altitudes are above mean sea level: a DEM above the WGS84
        // ellipsoid is converted with the EGM96 geoid.
        (true, [one]) if matches!(extension(one).as_str(), "tif" | "tiff") => Ok(
            aviary_planner::terrain::to_mean_sea_level(Box::new(GeoTiffDem::read(one)?)),
        ),
        (_, [one]) if !matches!(extension(one).as_str(), "tif" | "tiff") => {
            Err(DemError::Unsupported((*one).clone()))
        }
        _ => Err(DemError::Mixed),
    }
}
