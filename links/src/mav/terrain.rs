//! Terrain for the autopilot, ground-station side of `MAVLink`'s terrain protocol: an
//! `ArduPilot` with terrain enabled asks for the heights of 4 × 4 sub-grids
//! (`TERRAIN_REQUEST`) and the ground station answers each set bit with a `TERRAIN_DATA`
//! from its DEM, as Mission Planner and `MAVProxy` do. The points are placed with the
//! autopilot's own grid math ([`aviary_core::terrain_grid`]). A sub-grid with a point the DEM
//! does not cover is not sent (the vehicle keeps it pending) and is counted.
//!
//! The vehicle's answers (`TERRAIN_REPORT`, streamed and in reply to `TERRAIN_CHECK`) become
//! [`TerrainReport`] in the vehicle's state.

use aviary_core::LatLon;
use aviary_core::terrain_grid::{self, PointE7};
use aviary_planner::terrain::{Elevation, VerticalDatum};
use mavlink::dialects::ardupilotmega as mav;
use std::sync::Arc;

/// A DEM a link answers `TERRAIN_REQUEST`s from. Heights are sent as they are: give it a
/// source above mean sea level (SRTM, Terrarium, most `GeoTIFF` files), as autopilots expect.
#[derive(Clone)]
pub struct TerrainSource(pub Arc<dyn Elevation>);

impl TerrainSource {
    /// Whether the DEM's heights are above mean sea level, as the autopilot expects.
    pub fn is_amsl(&self) -> bool {
        self.0.datum() == VerticalDatum::Egm96Geoid
    }
}

impl std::fmt::Debug for TerrainSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("TerrainSource")
            .field(&self.0.describe())
            .finish()
    }
}

/// What the vehicle last said about its terrain (`TERRAIN_REPORT`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TerrainReport {
    /// The point the report is about (the vehicle's position, or a `TERRAIN_CHECK`'s).
    pub at: LatLon,
    /// Grid spacing, metres; 0 when the vehicle has no terrain height there (or at home).
    pub spacing_m: u16,
    /// Terrain height at `at` above mean sea level, metres (meaningful when `spacing_m` > 0).
    pub terrain_height_m: f64,
    /// The vehicle's height above the terrain at `at`, metres.
    pub current_height_m: f64,
    /// 4 × 4 sub-grids the vehicle still waits for.
    pub pending: u16,
    /// 4 × 4 sub-grids the vehicle holds.
    pub loaded: u16,
}

impl TerrainReport {
    /// The report as the link decodes it.
    pub(crate) fn from_mav(r: &mav::TERRAIN_REPORT_DATA) -> Self {
        Self {
            at: PointE7 {
                lat_e7: r.lat,
                lon_e7: r.lon,
            }
            .to_latlon(),
            spacing_m: r.spacing,
            terrain_height_m: f64::from(r.terrain_height),
            current_height_m: f64::from(r.current_height),
            pending: r.pending,
            loaded: r.loaded,
        }
    }

    /// Whether the vehicle has terrain data at `at` (and at home).
    pub fn has_data(&self) -> bool {
        self.spacing_m != 0
    }
}

/// The answer to one `TERRAIN_REQUEST`: a `TERRAIN_DATA` per requested sub-grid the DEM
/// covers, and how many it does not.
#[derive(Debug, Default)]
pub(crate) struct Answer {
    /// The replies, in bit order.
    pub data: Vec<mav::TERRAIN_DATA_DATA>,
    /// Requested sub-grids with a point outside the DEM or on a void.
    pub missing: u32,
}

/// Answers `req` from `dem`: for every set bit of the mask (the 56 of a block), the 16
/// heights of that sub-grid, rounded to whole metres.
pub(crate) fn answer(dem: &dyn Elevation, req: &mav::TERRAIN_REQUEST_DATA) -> Answer {
    let mut out = Answer::default();
    let corner = PointE7 {
        lat_e7: req.lat,
        lon_e7: req.lon,
    };
    if req.grid_spacing == 0 {
        return out;
    }
    for bit in 0..terrain_grid::SUBGRIDS {
        if req.mask & (1 << bit) == 0 {
            continue;
        }
        let Some(points) = terrain_grid::subgrid_points(corner, req.grid_spacing, bit) else {
            continue;
        };
        let mut data = [0_i16; 16];
        let mut complete = true;
        for (h, p) in data.iter_mut().zip(points) {
            if let Ok(m) = dem.elevation_m(p.to_latlon()) {
                *h = m.round().clamp(f64::from(i16::MIN), f64::from(i16::MAX)) as i16;
            } else {
                complete = false;
                break;
            }
        }
        if complete {
            out.data.push(mav::TERRAIN_DATA_DATA {
                lat: req.lat,
                lon: req.lon,
                grid_spacing: req.grid_spacing,
                gridbit: bit,
                data,
            });
        } else {
            out.missing += 1;
        }
    }
    out
}

/// `TERRAIN_CHECK` for `at`: the vehicle answers with a `TERRAIN_REPORT` about that point.
pub(crate) fn check(at: LatLon) -> mav::MavMessage {
    let p = PointE7::from_latlon(at);
    mav::MavMessage::TERRAIN_CHECK(mav::TERRAIN_CHECK_DATA {
        lat: p.lat_e7,
        lon: p.lon_e7,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aviary_planner::terrain::NoData;

    /// A plane rising 1 m per 1e-5° of latitude north of 47° and absent south of it.
    struct Slope;

    impl Elevation for Slope {
        fn elevation_m(&self, p: LatLon) -> Result<f64, NoData> {
            if p.lat_deg < 47.0 {
                return Err(NoData { at: p });
            }
            Ok((p.lat_deg - 47.0) * 1e5)
        }
        fn datum(&self) -> VerticalDatum {
            VerticalDatum::Egm96Geoid
        }
        fn resolution_m(&self, _: LatLon) -> f64 {
            1.0
        }
        fn describe(&self) -> String {
            "slope".into()
        }
    }

    fn request(lat_e7: i32, mask: u64) -> mav::TERRAIN_REQUEST_DATA {
        mav::TERRAIN_REQUEST_DATA {
            mask,
            lat: lat_e7,
            lon: 85_000_000,
            grid_spacing: 100,
        }
    }

    #[test]
    fn answers_every_set_bit_with_heights_north_first() {
        // Bits 0 and 9 of a block 0.01° north of 47°.
        let a = answer(&Slope, &request(470_100_000, 1 | 1 << 9));
        assert_eq!(a.missing, 0);
        assert_eq!(a.data.len(), 2);
        let d0 = &a.data[0];
        assert_eq!((d0.gridbit, d0.grid_spacing, d0.lat), (0, 100, 470_100_000));
        // Point 0 is the corner: 0.01° → 1000 m.
        assert_eq!(d0.data[0], 1000);
        // Points 4..8 are one spacing north: 100 m × 89.832 = 8983 e7 → +89.83 m → 1090.
        assert_eq!(d0.data[4], 1090);
        // Points along a row are east of each other: same height.
        assert_eq!(d0.data[1], 1000);
        assert_eq!(d0.data[3], 1000);
        // Bit 9 starts 4 spacings north: 400 m × 89.832 = 35 932 e7 → +359.32 m → 1359.
        let d9 = &a.data[1];
        assert_eq!(d9.gridbit, 9);
        assert_eq!(d9.data[0], 1359);
    }

    #[test]
    fn skips_and_counts_sub_grids_outside_the_dem() {
        // The corner sits 50 m south of 47°: row 0 of bit 0 has no data, bit 8 (400 m
        // north) has.
        let a = answer(&Slope, &request(470_000_000 - 4492, 1 | 1 << 8));
        assert_eq!(a.missing, 1);
        assert_eq!(a.data.len(), 1);
        assert_eq!(a.data[0].gridbit, 8);
    }

    #[test]
    fn ignores_bits_past_56_and_zero_spacing() {
        let a = answer(&Slope, &request(470_100_000, 1 << 60));
        assert!(a.data.is_empty());
        let mut r = request(470_100_000, 1);
        r.grid_spacing = 0;
        assert!(answer(&Slope, &r).data.is_empty());
    }
}
