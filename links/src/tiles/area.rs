//! Areas to download: a latitude/longitude box and a zoom range, counted before anything is
//! fetched.

use super::TileError;
use super::source::{MAX_ZOOM, TileId};
use aviary_core::LatLon;
use serde::{Deserialize, Serialize};

/// The default cap on tiles in one download (OpenStreetMap's tile policy forbids bulk
/// downloads; other providers bill per tile).
pub const DEFAULT_MAX_TILES: u64 = 50_000;

/// Web Mercator stops here.
const MAX_LAT_DEG: f64 = 85.051_128_779_806_59;

/// A latitude/longitude box (not across the antimeridian).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct BoundingBox {
    /// Southern edge, degrees.
    pub south_deg: f64,
    /// Western edge, degrees.
    pub west_deg: f64,
    /// Northern edge, degrees.
    pub north_deg: f64,
    /// Eastern edge, degrees.
    pub east_deg: f64,
}

impl BoundingBox {
    /// The box spanning two corners in any order.
    pub fn from_corners(a: LatLon, b: LatLon) -> Self {
        Self {
            south_deg: a.lat_deg.min(b.lat_deg),
            west_deg: a.lon_deg.min(b.lon_deg),
            north_deg: a.lat_deg.max(b.lat_deg),
            east_deg: a.lon_deg.max(b.lon_deg),
        }
    }

    /// The box around `points`; `None` when there are none.
    pub fn around(points: &[LatLon]) -> Option<Self> {
        let first = *points.first()?;
        Some(
            points
                .iter()
                .fold(Self::from_corners(first, first), |b, p| Self {
                    south_deg: b.south_deg.min(p.lat_deg),
                    west_deg: b.west_deg.min(p.lon_deg),
                    north_deg: b.north_deg.max(p.lat_deg),
                    east_deg: b.east_deg.max(p.lon_deg),
                }),
        )
    }

    fn check(&self) -> Result<(), TileError> {
        let all = [self.south_deg, self.west_deg, self.north_deg, self.east_deg];
        if all.iter().any(|v| !v.is_finite()) {
            return Err(TileError::BadArea("a corner is not a number".into()));
        }
        if self.south_deg > self.north_deg || self.west_deg > self.east_deg {
            return Err(TileError::BadArea(
                "south must not be north of north, west not east of east (the antimeridian is not crossed)"
                    .into(),
            ));
        }
        if self.south_deg < -90.0 || self.north_deg > 90.0 {
            return Err(TileError::BadArea("latitude outside -90..90".into()));
        }
        if self.west_deg < -180.0 || self.east_deg > 180.0 {
            return Err(TileError::BadArea("longitude outside -180..180".into()));
        }
        Ok(())
    }
}

/// A box and the zoom levels to fetch over it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TileArea {
    /// The box.
    pub bbox: BoundingBox,
    /// Lowest zoom, inclusive.
    pub zoom_min: u8,
    /// Highest zoom, inclusive.
    pub zoom_max: u8,
}

/// What a download would fetch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AreaEstimate {
    /// Tiles over all zooms.
    pub tiles: u64,
    /// Tiles per zoom, lowest first.
    pub per_zoom: Vec<(u8, u64)>,
    /// Expected size on disk at `tile_bytes` per tile.
    pub bytes: u64,
}

/// Column and row ranges (inclusive) of one zoom.
#[derive(Debug, Clone, Copy)]
struct Span {
    z: u8,
    x0: u32,
    x1: u32,
    y0: u32,
    y1: u32,
}

impl Span {
    fn count(self) -> u64 {
        u64::from(self.x1 - self.x0 + 1) * u64::from(self.y1 - self.y0 + 1)
    }
}

impl TileArea {
    /// Counts the tiles and their expected size (`tile_bytes` each, e.g. 15 kB for OSM raster
    /// tiles), refusing more than `cap` tiles with an error naming the count.
    pub fn estimate(&self, tile_bytes: u64, cap: u64) -> Result<AreaEstimate, TileError> {
        let spans = self.spans()?;
        let per_zoom: Vec<(u8, u64)> = spans.iter().map(|s| (s.z, s.count())).collect();
        let tiles: u64 = per_zoom.iter().map(|(_, n)| n).sum();
        if tiles > cap {
            return Err(TileError::TooManyTiles { count: tiles, cap });
        }
        Ok(AreaEstimate {
            tiles,
            per_zoom,
            bytes: tiles.saturating_mul(tile_bytes),
        })
    }

    /// Every tile, lowest zoom first, after the same cap check as [`Self::estimate`].
    pub fn tiles(&self, cap: u64) -> Result<Vec<TileId>, TileError> {
        let estimate = self.estimate(0, cap)?;
        let mut out = Vec::with_capacity(usize::try_from(estimate.tiles).unwrap_or(0));
        for s in self.spans()? {
            for x in s.x0..=s.x1 {
                for y in s.y0..=s.y1 {
                    out.push(TileId { z: s.z, x, y });
                }
            }
        }
        Ok(out)
    }

    fn spans(&self) -> Result<Vec<Span>, TileError> {
        self.bbox.check()?;
        if self.zoom_min > self.zoom_max {
            return Err(TileError::BadArea(format!(
                "zoom range {}..{} is empty",
                self.zoom_min, self.zoom_max
            )));
        }
        if self.zoom_max > MAX_ZOOM {
            return Err(TileError::BadArea(format!(
                "zoom {} is above {MAX_ZOOM}",
                self.zoom_max
            )));
        }
        Ok((self.zoom_min..=self.zoom_max)
            .map(|z| {
                let (x0, y0) = tile_of(self.bbox.north_deg, self.bbox.west_deg, z);
                let (x1, y1) = tile_of(self.bbox.south_deg, self.bbox.east_deg, z);
                Span { z, x0, x1, y0, y1 }
            })
            .collect())
    }
}

/// The XYZ tile holding a point at zoom `z` (edges clamp into the pyramid).
fn tile_of(lat_deg: f64, lon_deg: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z);
    let max = (1u64 << z) - 1;
    let lat = lat_deg.clamp(-MAX_LAT_DEG, MAX_LAT_DEG).to_radians();
    let x = ((lon_deg + 180.0) / 360.0 * n).floor();
    let y = ((1.0 - lat.tan().asinh() / std::f64::consts::PI) / 2.0 * n).floor();
    let clamp = |v: f64| (v.max(0.0) as u64).min(max) as u32;
    (clamp(x), clamp(y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_tile_of_berlin() {
        // Berlin, zoom 10: tile 550/335 (OSM's slippy map tilenames).
        assert_eq!(tile_of(52.52, 13.405, 10), (550, 335));
        assert_eq!(tile_of(90.0, -180.0, 0), (0, 0));
        assert_eq!(tile_of(-90.0, 180.0, 2), (3, 3));
    }
}
