//! Terrain elevation: one [`Elevation`] interface over digital elevation models the caller
//! hands in as bytes (the planner reads no network and no tile cache; the links/app side
//! fetches), terrain-following planning over it ([`follow_terrain`]) and the terrain profile
//! of a planned path ([`path_profile`]: ground, planned altitude, clearance per leg).
//!
//! Sources: SRTM `.hgt` tiles ([`SrtmTile`], [`SrtmSet`]), Terrarium PNG tiles
//! ([`TerrariumTiles`]) and single-band GeoTIFF DEMs in geographic or UTM coordinates
//! ([`GeoTiffDem`]). Every lookup interpolates bilinearly between the four posts around the
//! point and returns [`NoData`] — never 0 m — when a post it needs is a void or the point is
//! outside the data. Heights are metres above the source's [`VerticalDatum`] (the EGM96
//! geoid for SRTM and Terrarium, i.e. "above mean sea level" as autopilots use it); a DEM
//! above the WGS84 ellipsoid is converted to it with the EGM96 geoid ([`to_mean_sea_level`]).

mod follow;
mod geoid;
mod geotiff;
mod grid;
mod profile;
mod srtm;
mod terrarium;

pub use follow::{DEFAULT_TOLERANCE_M, TerrainParams, TerrainPlan, follow_terrain};
pub use geoid::{egm96_undulation_m, to_mean_sea_level};
pub use geotiff::GeoTiffDem;
pub use profile::{LegClearance, PathProfile, ProfilePoint, path_profile};
pub use srtm::{SrtmSet, SrtmTile};
pub use terrarium::{TerrariumTiles, tile_of};

use aviary_core::LatLon;

/// The surface heights are measured from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum VerticalDatum {
    /// The EGM96 geoid: heights above mean sea level (SRTM, Terrarium, most DEMs; what
    /// `MAV_FRAME_GLOBAL` altitudes mean on ArduPilot and PX4).
    Egm96Geoid,
    /// The WGS84 ellipsoid (GNSS heights); differs from the geoid by −107 m to +85 m.
    Wgs84Ellipsoid,
}

impl VerticalDatum {
    /// Short name for reports (`EGM96`, `WGS84 ellipsoid`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Egm96Geoid => "EGM96",
            Self::Wgs84Ellipsoid => "WGS84 ellipsoid",
        }
    }
}

/// A lookup over missing data: the point lies outside every tile of the source, or one of the
/// posts around it is a void.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[error("no terrain data at {at}")]
pub struct NoData {
    /// The point asked for.
    pub at: LatLon,
}

/// Why a terrain source could not be read or a path could not follow the terrain.
#[derive(Debug, thiserror::Error)]
pub enum TerrainError {
    /// The bytes are not valid in the source's format.
    #[error("{format} {name}: {detail}")]
    Format {
        /// `SRTM .hgt`, `Terrarium PNG`, `GeoTIFF`.
        format: &'static str,
        /// The file or tile name.
        name: String,
        /// What is wrong.
        detail: String,
    },
    /// The path crosses missing data (outside the DEM or over a void).
    #[error("the flight path crosses missing terrain data: {source}; load a DEM that covers it")]
    NoDataOnPath {
        /// The first point of the path without data.
        #[source]
        source: NoData,
    },
    /// A parameter is out of its valid range.
    #[error("{name} = {value} is invalid: {expected}")]
    InvalidParam {
        /// Parameter name with its unit.
        name: &'static str,
        /// The rejected value.
        value: f64,
        /// The valid range, in words.
        expected: &'static str,
    },
}

impl TerrainError {
    pub(crate) fn format(format: &'static str, name: &str, detail: impl Into<String>) -> Self {
        Self::Format {
            format,
            name: name.to_owned(),
            detail: detail.into(),
        }
    }
}

/// The file name of `path_text` without its folders (both separators, whatever the host).
pub(crate) fn base_name(path_text: &str) -> &str {
    path_text.rsplit(['/', '\\']).next().unwrap_or(path_text)
}

/// A DEM file's bytes with the name its errors use, or the error naming the file.
pub(crate) fn read_dem_file(
    format: &'static str,
    path: &std::path::Path,
) -> Result<(String, Vec<u8>), TerrainError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path)
        .map_err(|e| TerrainError::format(format, &name, format!("cannot read: {e}")))?;
    Ok((name, bytes))
}

/// A terrain elevation source: pure lookups, no I/O.
pub trait Elevation: Send + Sync {
    /// Terrain height at `p`, metres above [`Elevation::datum`], interpolated bilinearly.
    fn elevation_m(&self, p: LatLon) -> Result<f64, NoData>;

    /// The surface the heights are measured from.
    fn datum(&self) -> VerticalDatum;

    /// Ground distance between neighbouring posts near `p`, metres (paths are sampled at a
    /// fraction of it).
    fn resolution_m(&self, p: LatLon) -> f64;

    /// What the data is, for reports: `SRTM 1″ N47E008.hgt`.
    fn describe(&self) -> String;

    /// Appends to `out` the `n + 1` points evenly spaced in latitude and longitude from `a`
    /// to `b` (both included; `n = 0` gives `a` alone) with their heights, the same values
    /// as [`Elevation::elevation_m`] at each point. Sources override it to find the tile
    /// under a line once instead of at every point.
    fn elevations_along(
        &self,
        a: LatLon,
        b: LatLon,
        n: usize,
        out: &mut Vec<(LatLon, f64)>,
    ) -> Result<(), NoData> {
        out.reserve(n + 1);
        for k in 0..=n {
            let p = point_along(a, b, k, n);
            out.push((p, self.elevation_m(p)?));
        }
        Ok(())
    }
}

/// Point `k` of the `n + 1` evenly spaced in latitude and longitude from `a` to `b`.
pub(crate) fn point_along(a: LatLon, b: LatLon, k: usize, n: usize) -> LatLon {
    let t = if n == 0 { 0.0 } else { k as f64 / n as f64 };
    LatLon::new(
        a.lat_deg + t * (b.lat_deg - a.lat_deg),
        a.lon_deg + t * (b.lon_deg - a.lon_deg),
    )
}

/// Metres per degree of latitude on the sphere of `aviary_core`'s distances.
pub(crate) const METRES_PER_DEG_LAT: f64 = 111_194.93;
