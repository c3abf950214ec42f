//! SRTM `.hgt` tiles: one degree square, named by the south-west corner (`N47E008.hgt`),
//! 3601 × 3601 posts at 1″ or 1201 × 1201 at 3″, big-endian `i16` metres above the EGM96
//! geoid, rows from north to south, −32768 for a void. Neighbouring tiles share their edge
//! rows and columns.

use std::collections::HashMap;

use aviary_core::LatLon;

use super::grid::Grid;
use super::{Elevation, METRES_PER_DEG_LAT, NoData, TerrainError, VerticalDatum};

const FORMAT: &str = "SRTM .hgt";
/// The void marker of `.hgt` files.
const VOID: i16 = -32768;

/// One `.hgt` tile.
#[derive(Debug, Clone, PartialEq)]
pub struct SrtmTile {
    name: String,
    /// South-west corner, whole degrees.
    south_deg: i32,
    west_deg: i32,
    grid: Grid,
}

/// The south-west corner a tile's name gives: `N47E008` → (47, 8), `S01W078` → (−1, −78).
fn corner_of(name: &str) -> Option<(i32, i32)> {
    let stem = super::base_name(name);
    let b = stem.as_bytes();
    if b.len() < 7 {
        return None;
    }
    let lat: i32 = stem.get(1..3)?.parse().ok()?;
    let lon: i32 = stem.get(4..7)?.parse().ok()?;
    let lat = match b[0].to_ascii_uppercase() {
        b'N' => lat,
        b'S' => -lat,
        _ => return None,
    };
    let lon = match b[3].to_ascii_uppercase() {
        b'E' => lon,
        b'W' => -lon,
        _ => return None,
    };
    ((-90..90).contains(&lat) && (-180..180).contains(&lon)).then_some((lat, lon))
}

impl SrtmTile {
    /// Parses a tile from its bytes; `name` is its file name (`N47E008.hgt`, a path is fine),
    /// which gives its position.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Self, TerrainError> {
        let (south_deg, west_deg) = corner_of(name).ok_or_else(|| {
            TerrainError::format(
                FORMAT,
                name,
                "the name does not give the south-west corner (expected like N47E008.hgt)",
            )
        })?;
        let posts = match bytes.len() {
            n if n == 3601 * 3601 * 2 => 3601,
            n if n == 1201 * 1201 * 2 => 1201,
            n => {
                return Err(TerrainError::format(
                    FORMAT,
                    name,
                    format!(
                        "{n} bytes: a 1″ tile has {} (3601 × 3601 posts), a 3″ tile {} (1201 × 1201)",
                        3601 * 3601 * 2,
                        1201 * 1201 * 2
                    ),
                ));
            }
        };
        let values_m: Vec<f32> = bytes
            .chunks_exact(2)
            .map(|c| match i16::from_be_bytes([c[0], c[1]]) {
                VOID => f32::NAN,
                v => f32::from(v),
            })
            .collect();
        let grid = Grid::new(posts, posts, &values_m)
            .ok_or_else(|| TerrainError::format(FORMAT, name, "inconsistent grid size"))?;
        Ok(Self {
            name: super::base_name(name).to_owned(),
            south_deg,
            west_deg,
            grid,
        })
    }

    /// Reads a tile from a file (the planner's one terrain I/O, like its other file readers).
    pub fn read(path: &std::path::Path) -> Result<Self, TerrainError> {
        let (name, bytes) = super::read_dem_file(FORMAT, path)?;
        Self::from_bytes(&name, &bytes)
    }

    /// Arc-seconds between posts: 1 or 3.
    pub fn arc_seconds(&self) -> u32 {
        (3600 / (self.grid.cols() - 1)) as u32
    }

    /// The south-west corner, whole degrees (latitude, longitude).
    pub const fn corner_deg(&self) -> (i32, i32) {
        (self.south_deg, self.west_deg)
    }

    fn lookup(&self, p: LatLon) -> Option<f64> {
        let n = (self.grid.cols() - 1) as f64;
        let col = (p.lon_deg - f64::from(self.west_deg)) * n;
        let row = (f64::from(self.south_deg) + 1.0 - p.lat_deg) * n;
        self.grid.bilinear(col, row)
    }
}

fn resolution_m(arc_seconds: u32, p: LatLon) -> f64 {
    let deg = f64::from(arc_seconds) / 3600.0;
    deg * METRES_PER_DEG_LAT * p.lat_deg.to_radians().cos().max(0.05)
}

impl Elevation for SrtmTile {
    fn elevation_m(&self, p: LatLon) -> Result<f64, NoData> {
        self.lookup(p).ok_or(NoData { at: p })
    }

    fn datum(&self) -> VerticalDatum {
        VerticalDatum::Egm96Geoid
    }

    fn resolution_m(&self, p: LatLon) -> f64 {
        resolution_m(self.arc_seconds(), p)
    }

    fn describe(&self) -> String {
        format!("SRTM {}″ {}", self.arc_seconds(), self.name)
    }
}

/// Several `.hgt` tiles side by side, looked up by the tile under the point (a point on a
/// shared edge is read from whichever of its tiles is loaded).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SrtmSet {
    tiles: HashMap<(i32, i32), SrtmTile>,
}

impl SrtmSet {
    /// An empty set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a tile (replacing one at the same corner).
    pub fn insert(&mut self, tile: SrtmTile) {
        self.tiles.insert(tile.corner_deg(), tile);
    }

    /// Number of tiles.
    pub fn len(&self) -> usize {
        self.tiles.len()
    }

    /// Whether the set holds no tile.
    pub fn is_empty(&self) -> bool {
        self.tiles.is_empty()
    }
}

impl Elevation for SrtmSet {
    fn elevation_m(&self, p: LatLon) -> Result<f64, NoData> {
        let (lat, lon) = (p.lat_deg.floor() as i32, p.lon_deg.floor() as i32);
        // A point on a tile edge also lies on the neighbour to its south or west.
        let on_lat_edge = p.lat_deg - p.lat_deg.floor() < 1e-12;
        let on_lon_edge = p.lon_deg - p.lon_deg.floor() < 1e-12;
        [
            Some((lat, lon)),
            on_lat_edge.then_some((lat - 1, lon)),
            on_lon_edge.then_some((lat, lon - 1)),
            (on_lat_edge && on_lon_edge).then_some((lat - 1, lon - 1)),
        ]
        .into_iter()
        .flatten()
        .find_map(|k| self.tiles.get(&k).and_then(|t| t.lookup(p)))
        .ok_or(NoData { at: p })
    }

    fn datum(&self) -> VerticalDatum {
        VerticalDatum::Egm96Geoid
    }

    fn resolution_m(&self, p: LatLon) -> f64 {
        let finest = self.tiles.values().map(SrtmTile::arc_seconds).min();
        resolution_m(finest.unwrap_or(3), p)
    }

    fn elevations_along(
        &self,
        a: LatLon,
        b: LatLon,
        n: usize,
        out: &mut Vec<(LatLon, f64)>,
    ) -> Result<(), NoData> {
        out.reserve(n + 1);
        // The tile of the last point: a line crosses few tiles, so most points skip the map.
        // A point the cached tile has no value for (an edge shared with a neighbour, a void)
        // takes the full lookup, so every value is the one `elevation_m` gives.
        let mut cached: Option<((i32, i32), &SrtmTile)> = None;
        for k in 0..=n {
            let p = super::point_along(a, b, k, n);
            let key = (p.lat_deg.floor() as i32, p.lon_deg.floor() as i32);
            if cached.is_none_or(|(at, _)| at != key) {
                cached = self.tiles.get(&key).map(|t| (key, t));
            }
            let fast = cached.and_then(|(_, t)| t.lookup(p));
            let ground_m = match fast {
                Some(g) => g,
                None => self.elevation_m(p)?,
            };
            out.push((p, ground_m));
        }
        Ok(())
    }

    fn describe(&self) -> String {
        let mut names: Vec<String> = self.tiles.values().map(SrtmTile::describe).collect();
        names.sort();
        names.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_give_the_south_west_corner() {
        assert_eq!(corner_of("N47E008.hgt"), Some((47, 8)));
        assert_eq!(corner_of("/data/s01w078.hgt"), Some((-1, -78)));
        assert_eq!(corner_of("N47E008.SRTMGL1.hgt"), Some((47, 8)));
        assert_eq!(corner_of("X47E008.hgt"), None);
        assert_eq!(corner_of("N9"), None);
    }

    #[test]
    #[expect(
        clippy::float_cmp,
        reason = "the same lookup gives the same bits: equal, not close"
    )]
    fn heights_along_a_line_are_those_of_each_point() {
        // Two 3″ tiles side by side, a void in the first: a line across both and the void.
        let tile = |name: &str, base: i16, void_at: Option<usize>| {
            let bytes: Vec<u8> = (0..1201 * 1201)
                .flat_map(|i: usize| {
                    let v = if Some(i) == void_at {
                        VOID
                    } else {
                        base + i16::try_from((i % 1201) / 4 + (i / 1201) / 8).unwrap()
                    };
                    v.to_be_bytes()
                })
                .collect();
            SrtmTile::from_bytes(name, &bytes).unwrap()
        };
        let mut set = SrtmSet::new();
        set.insert(tile("N47E008.hgt", 100, None));
        set.insert(tile("N47E009.hgt", 900, Some(600 * 1201 + 1000)));
        let (a, b) = (LatLon::new(47.2, 8.5), LatLon::new(47.7, 9.3));
        let mut got = Vec::new();
        set.elevations_along(a, b, 2000, &mut got).unwrap();
        assert_eq!(got.len(), 2001);
        for (k, &(p, h)) in got.iter().enumerate() {
            assert_eq!(p, crate::terrain::point_along(a, b, k, 2000));
            assert_eq!(set.elevation_m(p).unwrap(), h, "point {k}");
        }
        // On the shared edge, from either tile, as `elevation_m` reads it.
        let (a, b) = (LatLon::new(47.1, 9.0), LatLon::new(47.9, 9.0));
        got.clear();
        set.elevations_along(a, b, 300, &mut got).unwrap();
        for &(p, h) in &got {
            assert_eq!(set.elevation_m(p).unwrap(), h);
        }
        // Up to the void: no data, at a point without it.
        let void = LatLon::new(48.0 - 600.0 / 1200.0, 9.0 + 1000.0 / 1200.0);
        let e = set
            .elevations_along(LatLon::new(47.5, 9.5), void, 10, &mut got)
            .unwrap_err();
        assert!(set.elevation_m(e.at).is_err(), "{e}");
    }

    #[test]
    fn a_wrong_size_is_refused_with_the_sizes_expected() {
        let e = SrtmTile::from_bytes("N47E008.hgt", &[0; 100]).unwrap_err();
        assert!(e.to_string().contains("100 bytes"), "{e}");
        let e = SrtmTile::from_bytes("tile.hgt", &vec![0; 1201 * 1201 * 2]).unwrap_err();
        assert!(e.to_string().contains("south-west corner"), "{e}");
    }
}
