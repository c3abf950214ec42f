//! `ArduPilot`'s terrain grid (`AP_Terrain`), pure: where the points of a `TERRAIN_REQUEST`'s
//! 4 × 4 sub-grids lie, which block and square a position falls in, and one block's heights
//! as the autopilot holds them. The ground station (links) answers requests with it and the
//! simulator (sim) keeps its terrain cache with it, so both place every point the same way.
//!
//! Conventions as `AP_Terrain.h`: a block is 28 × 32 points (`x` north 0..28, `y` east
//! 0..32) made of 7 × 8 sub-grids of 4 × 4 points; sub-grid bit `b` covers
//! `x = (b / 8) · 4 ..`, `y = (b % 8) · 4 ..`; blocks start on whole degrees and follow each
//! other every 24 (north) × 28 (east) points, so neighbours overlap by one sub-grid row.
//! Positions are integers of 1e-7 degrees and offsets use `ArduPilot`'s flat-earth
//! `Location::offset` / `get_distance_NE`, so the points match the vehicle's to the
//! centimetre.

use crate::LatLon;

/// Points along each side of a sub-grid (`TERRAIN_GRID_MAVLINK_SIZE`).
pub const SUBGRID_SIDE: usize = 4;
/// Sub-grids north in a block (`TERRAIN_GRID_BLOCK_MUL_X`).
pub const SUBGRIDS_NORTH: u8 = 7;
/// Sub-grids east in a block (`TERRAIN_GRID_BLOCK_MUL_Y`).
pub const SUBGRIDS_EAST: u8 = 8;
/// Sub-grids in a block: bits of a `TERRAIN_REQUEST` mask.
pub const SUBGRIDS: u8 = SUBGRIDS_NORTH * SUBGRIDS_EAST;
/// Points north in a block (`TERRAIN_GRID_BLOCK_SIZE_X`).
pub const BLOCK_POINTS_NORTH: usize = SUBGRID_SIDE * SUBGRIDS_NORTH as usize;
/// Points east in a block (`TERRAIN_GRID_BLOCK_SIZE_Y`).
pub const BLOCK_POINTS_EAST: usize = SUBGRID_SIDE * SUBGRIDS_EAST as usize;
/// Grid spacings between the south edges of neighbouring blocks
/// (`TERRAIN_GRID_BLOCK_SPACING_X`).
pub const BLOCK_STEP_NORTH: u32 = (SUBGRIDS_NORTH as u32 - 1) * SUBGRID_SIDE as u32;
/// Grid spacings between the west edges of neighbouring blocks
/// (`TERRAIN_GRID_BLOCK_SPACING_Y`).
pub const BLOCK_STEP_EAST: u32 = (SUBGRIDS_EAST as u32 - 1) * SUBGRID_SIDE as u32;
/// All 56 sub-grid bits of a block.
pub const BITMAP_MASK: u64 = (1 << SUBGRIDS) - 1;
/// `ArduPilot`'s default `TERRAIN_SPACING`, metres.
pub const DEFAULT_SPACING_M: u16 = 100;

/// Metres per 1e-7 degree of latitude (`LOCATION_SCALING_FACTOR`).
pub const METRES_PER_E7: f64 = 0.011_131_884_502_145_034;
/// 1e-7 degrees of latitude per metre (`LOCATION_SCALING_FACTOR_INV`).
pub const E7_PER_METRE: f64 = 89.832_049_533_689_22;

/// A position in 1e-7 degrees, as `MAVLink` and `ArduPilot`'s `Location` carry it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PointE7 {
    /// Latitude, 1e-7 degrees.
    pub lat_e7: i32,
    /// Longitude, 1e-7 degrees.
    pub lon_e7: i32,
}

impl PointE7 {
    /// The nearest 1e-7-degree point to `p`.
    pub fn from_latlon(p: LatLon) -> Self {
        Self {
            lat_e7: (p.lat_deg * 1e7).round() as i32,
            lon_e7: (p.lon_deg * 1e7).round() as i32,
        }
    }

    /// The point in degrees.
    pub fn to_latlon(self) -> LatLon {
        LatLon::new(f64::from(self.lat_e7) / 1e7, f64::from(self.lon_e7) / 1e7)
    }

    /// `Location::offset`: the point `north_m` north and `east_m` east, flat earth, the
    /// longitude scaled at the mid latitude, both steps truncated to whole 1e-7 degrees.
    #[must_use]
    pub fn offset(self, north_m: f64, east_m: f64) -> Self {
        let dlat = (north_m * E7_PER_METRE) as i32;
        let dlon = ((east_m * E7_PER_METRE) / longitude_scale(self.lat_e7 + dlat / 2)) as i64;
        let lat = i64::from(self.lat_e7) + i64::from(dlat);
        let lat = if lat > 900_000_000 {
            1_800_000_000 - lat
        } else if lat < -900_000_000 {
            -(1_800_000_000 + lat)
        } else {
            lat
        };
        Self {
            lat_e7: lat as i32,
            lon_e7: wrap_longitude(i64::from(self.lon_e7) + dlon),
        }
    }

    /// `Location::get_distance_NE`: metres north and east from `self` to `to`.
    pub fn distance_ne_m(self, to: Self) -> (f64, f64) {
        let north = f64::from(to.lat_e7 - self.lat_e7) * METRES_PER_E7;
        // Rounded towards zero, as C's `(lat + loc2.lat) / 2`.
        let mid = i32::midpoint(self.lat_e7, to.lat_e7);
        let dlon = wrap_longitude(i64::from(to.lon_e7) - i64::from(self.lon_e7));
        (
            north,
            f64::from(dlon) * METRES_PER_E7 * longitude_scale(mid),
        )
    }
}

/// `longitude_scale`: metres east per 1e-7 degree shrink by the cosine of the latitude
/// (never below 0.01, as `ArduPilot`).
pub fn longitude_scale(lat_e7: i32) -> f64 {
    (f64::from(lat_e7) * 1e-7)
        .to_radians()
        .cos()
        .clamp(0.01, 1.0)
}

fn wrap_longitude(lon_e7: i64) -> i32 {
    let lon = if lon_e7 > 1_800_000_000 {
        lon_e7 - 3_600_000_000
    } else if lon_e7 < -1_800_000_000 {
        lon_e7 + 3_600_000_000
    } else {
        lon_e7
    };
    lon as i32
}

/// Where a position falls in the grid (`AP_Terrain::grid_info`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GridInfo {
    /// South-west corner of its block.
    pub block: PointE7,
    /// Point index north inside the block (0..24).
    pub idx_north: usize,
    /// Point index east inside the block (0..28).
    pub idx_east: usize,
    /// Fraction of the square north of `idx_north` (0..1).
    pub frac_north: f64,
    /// Fraction of the square east of `idx_east` (0..1).
    pub frac_east: f64,
}

/// `AP_Terrain::calculate_grid_info`: the block and square of `p` for a grid of
/// `spacing_m` metres. Blocks are counted from the whole degree south-west of `p`.
pub fn grid_info(p: PointE7, spacing_m: u16) -> GridInfo {
    let spacing = f64::from(spacing_m.max(1));
    let floor_deg = |v: i32| -> i32 {
        if v < 0 {
            (v - 9_999_999) / 10_000_000
        } else {
            v / 10_000_000
        }
    };
    let reference = PointE7 {
        lat_e7: floor_deg(p.lat_e7) * 10_000_000,
        lon_e7: floor_deg(p.lon_e7) * 10_000_000,
    };
    let (north_m, east_m) = reference.distance_ne_m(p);
    let idx_x = (north_m / spacing).max(0.0) as u32;
    let idx_y = (east_m / spacing).max(0.0) as u32;
    let grid_x = idx_x / BLOCK_STEP_NORTH;
    let grid_y = idx_y / BLOCK_STEP_EAST;
    let block = reference.offset(
        f64::from(grid_x * BLOCK_STEP_NORTH) * spacing,
        f64::from(grid_y * BLOCK_STEP_EAST) * spacing,
    );
    GridInfo {
        block,
        idx_north: (idx_x % BLOCK_STEP_NORTH) as usize,
        idx_east: (idx_y % BLOCK_STEP_EAST) as usize,
        frac_north: (north_m - f64::from(idx_x) * spacing) / spacing,
        frac_east: (east_m - f64::from(idx_y) * spacing) / spacing,
    }
}

/// The sub-grid bit holding point (`idx_north`, `idx_east`) of a block
/// (`AP_Terrain::grid_bitnum`).
pub fn subgrid_bit(idx_north: usize, idx_east: usize) -> u8 {
    let x = (idx_north / SUBGRID_SIDE).min(usize::from(SUBGRIDS_NORTH) - 1);
    let y = (idx_east / SUBGRID_SIDE).min(usize::from(SUBGRIDS_EAST) - 1);
    (y + usize::from(SUBGRIDS_EAST) * x) as u8
}

/// The 16 points of sub-grid `bit` of the block whose south-west corner is `block`, in
/// `TERRAIN_DATA.data` order (`data[x · 4 + y]`, `x` north, `y` east), each placed as the
/// ground stations do: the corner offset by whole grid spacings north and east.
/// `None` if `bit` is not one of the 56.
pub fn subgrid_points(block: PointE7, spacing_m: u16, bit: u8) -> Option<[PointE7; 16]> {
    if bit >= SUBGRIDS {
        return None;
    }
    let spacing = f64::from(spacing_m);
    let x0 = usize::from(bit / SUBGRIDS_EAST) * SUBGRID_SIDE;
    let y0 = usize::from(bit % SUBGRIDS_EAST) * SUBGRID_SIDE;
    Some(std::array::from_fn(|i| {
        let x = x0 + i / SUBGRID_SIDE;
        let y = y0 + i % SUBGRID_SIDE;
        block.offset(x as f64 * spacing, y as f64 * spacing)
    }))
}

/// The blocks `ArduPilot` loads around `p` (`AP_Terrain::send_request`): its own first,
/// then those under the points 0.7 of a block away in the eight directions, each once.
pub fn blocks_around(p: PointE7, spacing_m: u16) -> Vec<PointE7> {
    let spacing = f64::from(spacing_m);
    let mut out = vec![grid_info(p, spacing_m).block];
    for x in -1_i32..=1 {
        for y in -1_i32..=1 {
            let q = p.offset(
                f64::from(x) * BLOCK_POINTS_NORTH as f64 * 0.7 * spacing,
                f64::from(y) * BLOCK_POINTS_EAST as f64 * 0.7 * spacing,
            );
            let b = grid_info(q, spacing_m).block;
            if !out.contains(&b) {
                out.push(b);
            }
        }
    }
    out
}

/// One block of heights as the autopilot holds it (`AP_Terrain::grid_block`): which
/// sub-grids arrived and their heights, metres.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerrainBlock {
    /// South-west corner.
    pub corner: PointE7,
    /// Grid spacing, metres.
    pub spacing_m: u16,
    bitmap: u64,
    heights_m: Vec<[i16; BLOCK_POINTS_EAST]>,
}

impl TerrainBlock {
    /// An empty block (nothing loaded).
    pub fn new(corner: PointE7, spacing_m: u16) -> Self {
        Self {
            corner,
            spacing_m,
            bitmap: 0,
            heights_m: vec![[0; BLOCK_POINTS_EAST]; BLOCK_POINTS_NORTH],
        }
    }

    /// Stores sub-grid `bit`'s heights (`TERRAIN_DATA.data`); false if `bit` is not one of
    /// the 56.
    pub fn store(&mut self, bit: u8, data_m: &[i16; 16]) -> bool {
        if bit >= SUBGRIDS {
            return false;
        }
        let x0 = usize::from(bit / SUBGRIDS_EAST) * SUBGRID_SIDE;
        let y0 = usize::from(bit % SUBGRIDS_EAST) * SUBGRID_SIDE;
        for (i, h) in data_m.iter().enumerate() {
            self.heights_m[x0 + i / SUBGRID_SIDE][y0 + i % SUBGRID_SIDE] = *h;
        }
        self.bitmap |= 1 << bit;
        true
    }

    /// Sub-grids not loaded yet, as a `TERRAIN_REQUEST` mask.
    pub fn missing(&self) -> u64 {
        BITMAP_MASK & !self.bitmap
    }

    /// Sub-grids loaded.
    pub fn loaded(&self) -> u16 {
        (self.bitmap & BITMAP_MASK).count_ones() as u16
    }

    /// Height at `info` (which must lie in this block), metres, interpolated between the
    /// four points around it as `AP_Terrain::height_amsl`; `None` until all four arrived.
    pub fn height_m(&self, info: &GridInfo) -> Option<f64> {
        if info.block != self.corner {
            return None;
        }
        let (x, y) = (info.idx_north, info.idx_east);
        if x + 1 >= BLOCK_POINTS_NORTH || y + 1 >= BLOCK_POINTS_EAST {
            return None;
        }
        let have = |x: usize, y: usize| self.bitmap & (1 << subgrid_bit(x, y)) != 0;
        if !(have(x, y) && have(x, y + 1) && have(x + 1, y) && have(x + 1, y + 1)) {
            return None;
        }
        let h = |x: usize, y: usize| f64::from(self.heights_m[x][y]);
        let west = (1.0 - info.frac_north) * h(x, y) + info.frac_north * h(x + 1, y);
        let east = (1.0 - info.frac_north) * h(x, y + 1) + info.frac_north * h(x + 1, y + 1);
        Some((1.0 - info.frac_east) * west + info.frac_east * east)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ZURICH: PointE7 = PointE7 {
        lat_e7: 473_977_420,
        lon_e7: 85_455_940,
    };

    #[test]
    fn offset_north_is_whole_e7_steps_of_the_scaling_factor() {
        // 100 m north: 100 × 89.832… = 8983.2 → 8983 (truncated).
        let p = ZURICH.offset(100.0, 0.0);
        assert_eq!(p.lat_e7, 473_977_420 + 8983);
        assert_eq!(p.lon_e7, ZURICH.lon_e7);
        // 100 m east at 47.3977° (mid latitude unchanged): 8983.2049 / cos(47.397742°)
        // = 8983.2049 / 0.676905… = 13270.998… → 13270 (truncated, not rounded).
        let q = ZURICH.offset(0.0, 100.0);
        assert_eq!(q.lat_e7, ZURICH.lat_e7);
        assert_eq!(q.lon_e7, 85_455_940 + 13_270);
    }

    #[test]
    fn distance_ne_inverts_offset() {
        let p = ZURICH.offset(1234.0, -567.0);
        let (n, e) = ZURICH.distance_ne_m(p);
        assert!((n - 1234.0).abs() < 0.05, "{n}");
        assert!((e + 567.0).abs() < 0.05, "{e}");
    }

    #[test]
    fn grid_info_of_a_degree_corner_is_block_zero() {
        let p = PointE7 {
            lat_e7: 470_000_000,
            lon_e7: 80_000_000,
        };
        let g = grid_info(p, 100);
        assert_eq!(g.block, p);
        assert_eq!((g.idx_north, g.idx_east), (0, 0));
        assert!(g.frac_north.abs() < 1e-9 && g.frac_east.abs() < 1e-9);
    }

    #[test]
    fn grid_info_counts_blocks_of_24_by_28_spacings() {
        // 0.3977420° north of 47° = 3977420 e7 × 0.0111318845 = 44 276.18 m → index 442
        // (100 m) → block 442 / 24 = 18, row 442 % 24 = 10, fraction 0.7618.
        let g = grid_info(ZURICH, 100);
        assert_eq!(g.idx_north, 10);
        assert!((g.frac_north - 0.7618).abs() < 1e-3, "{}", g.frac_north);
        // The block's corner is 18 × 24 × 100 m = 43 200 m north of 47°: 43200 × 89.832…
        // = 3 880 744.5 → 3 880 744 e7.
        assert_eq!(g.block.lat_e7, 470_000_000 + 3_880_744);
        // East: 5455940 e7 × 0.0111318845 × cos(47.19887°) = 41 266.7 m → index 412,
        // block 412 / 28 = 14, column 412 % 28 = 20.
        assert_eq!(g.idx_east, 20);
        let (n, e) = PointE7 {
            lat_e7: 470_000_000,
            lon_e7: 80_000_000,
        }
        .distance_ne_m(g.block);
        assert!((n - 43_200.0).abs() < 0.05, "{n}");
        assert!((e - 14.0 * 28.0 * 100.0).abs() < 2.0, "{e}");
    }

    #[test]
    fn negative_coordinates_round_down_to_the_degree_south_west() {
        let p = PointE7::from_latlon(LatLon::new(-33.5, -70.25));
        let g = grid_info(p, 100);
        let (n, e) = PointE7 {
            lat_e7: -340_000_000,
            lon_e7: -710_000_000,
        }
        .distance_ne_m(g.block);
        assert!(n >= 0.0 && e >= 0.0, "{n} {e}");
        assert!(g.block.lat_e7 <= p.lat_e7 && g.block.lon_e7 <= p.lon_e7);
    }

    #[test]
    fn subgrid_bits_run_east_first() {
        assert_eq!(subgrid_bit(0, 0), 0);
        assert_eq!(subgrid_bit(0, 4), 1);
        assert_eq!(subgrid_bit(0, 31), 7);
        assert_eq!(subgrid_bit(4, 0), 8);
        assert_eq!(subgrid_bit(27, 31), 55);
    }

    #[test]
    fn subgrid_points_are_spacing_steps_from_the_corner() {
        // Bit 9: x from 4, y from 4. Point 6 is x = 4 + 1, y = 4 + 2.
        let pts = subgrid_points(ZURICH, 30, 9).expect("bit 9");
        assert_eq!(pts[6], ZURICH.offset(150.0, 180.0));
        assert_eq!(pts[0], ZURICH.offset(120.0, 120.0));
        assert_eq!(pts[15], ZURICH.offset(210.0, 210.0));
        assert!(subgrid_points(ZURICH, 30, 56).is_none());
    }

    #[test]
    fn block_heights_interpolate_between_loaded_points() {
        let corner = PointE7 {
            lat_e7: 470_000_000,
            lon_e7: 80_000_000,
        };
        let mut b = TerrainBlock::new(corner, 100);
        // Heights 100 + 10·x + y in sub-grid 0.
        let data: [i16; 16] = std::array::from_fn(|i| 100 + 10 * (i / 4) as i16 + (i % 4) as i16);
        assert!(b.store(0, &data));
        assert_eq!(b.loaded(), 1);
        assert_eq!(b.missing(), BITMAP_MASK & !1);
        let info = GridInfo {
            block: corner,
            idx_north: 1,
            idx_east: 2,
            frac_north: 0.5,
            frac_east: 0.25,
        };
        // (1.5, 2.25) → 100 + 15 + 2.25.
        let h = b.height_m(&info).expect("loaded");
        assert!((h - 117.25).abs() < 1e-9, "{h}");
        // Its neighbour square needs sub-grid 1 (y = 4), not loaded.
        let edge = GridInfo {
            idx_east: 3,
            ..info
        };
        assert_eq!(b.height_m(&edge), None);
        assert!(!b.store(56, &data));
    }

    #[test]
    fn blocks_around_start_with_the_own_block_and_are_distinct() {
        let blocks = blocks_around(ZURICH, 100);
        assert_eq!(blocks[0], grid_info(ZURICH, 100).block);
        assert!(blocks.len() >= 4 && blocks.len() <= 9, "{}", blocks.len());
        let mut d = blocks.clone();
        d.sort_by_key(|p| (p.lat_e7, p.lon_e7));
        d.dedup();
        assert_eq!(d.len(), blocks.len());
    }
}
