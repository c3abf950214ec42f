//! Terrarium elevation tiles: 256 × 256 PNG tiles of the XYZ web-Mercator scheme (as served
//! by the AWS Terrain Tiles and Mapzen), each pixel's height in metres above the EGM96 geoid
//! = R·256 + G + B/256 − 32768. A fully transparent pixel (alpha 0) is a void. The pixel
//! values are heights at the pixel centres; lookups interpolate across tile edges.

use std::collections::HashMap;
use std::f64::consts::PI;

use aviary_core::LatLon;

use super::{Elevation, NoData, TerrainError, VerticalDatum};

const FORMAT: &str = "Terrarium PNG";
/// Pixels along a tile's side.
pub const TILE_PX: u32 = 256;
/// Deepest zoom accepted (tiles exist to 15; 22 leaves room for resampled sets).
const MAX_ZOOM: u8 = 22;
/// Web Mercator's latitude limit, degrees.
const MAX_LAT_DEG: f64 = 85.051_128_779_806_6;
/// The sphere of web Mercator, metres.
const MERCATOR_RADIUS_M: f64 = 6_378_137.0;

/// Pixel position of `p` at `zoom`, in pixels from the world's north-west corner (pixel
/// centres at half-integers).
fn world_px(p: LatLon, zoom: u8) -> (f64, f64) {
    let size = f64::from(TILE_PX) * f64::from(1_u32 << zoom);
    let lat = p.lat_deg.clamp(-MAX_LAT_DEG, MAX_LAT_DEG).to_radians();
    let x = (p.lon_deg + 180.0) / 360.0 * size;
    let y = (1.0 - lat.tan().asinh() / PI) / 2.0 * size;
    (x, y)
}

/// The XYZ tile `(x, y)` holding `p` at `zoom`.
pub fn tile_of(p: LatLon, zoom: u8) -> (u32, u32) {
    let (x, y) = world_px(p, zoom.min(MAX_ZOOM));
    let n = 1_u32 << zoom.min(MAX_ZOOM);
    let t = |v: f64| ((v / f64::from(TILE_PX)).floor().max(0.0) as u32).min(n - 1);
    (t(x), t(y))
}

/// The Terrarium tiles of one zoom level the caller has loaded.
#[derive(Debug, Clone, PartialEq)]
pub struct TerrariumTiles {
    zoom: u8,
    tiles: HashMap<(u32, u32), Vec<f32>>,
}

/// Heights of one decoded tile, row-major, `NaN` for a void.
fn decode(name: &str, png_bytes: &[u8]) -> Result<Vec<f32>, TerrainError> {
    let err = |d: String| TerrainError::format(FORMAT, name, d);
    let mut decoder = png::Decoder::new(std::io::Cursor::new(png_bytes));
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder.read_info().map_err(|e| err(e.to_string()))?;
    let size = reader
        .output_buffer_size()
        .ok_or_else(|| err("the image is too large".into()))?;
    let mut buf = vec![0; size];
    let info = reader
        .next_frame(&mut buf)
        .map_err(|e| err(e.to_string()))?;
    if info.width != TILE_PX || info.height != TILE_PX {
        return Err(err(format!(
            "{} × {} pixels, a tile has {TILE_PX} × {TILE_PX}",
            info.width, info.height
        )));
    }
    let channels = match (info.color_type, info.bit_depth) {
        (png::ColorType::Rgb, png::BitDepth::Eight) => 3,
        (png::ColorType::Rgba, png::BitDepth::Eight) => 4,
        (c, d) => {
            return Err(err(format!(
                "{c:?} {d:?}-bit pixels, Terrarium tiles are 8-bit RGB or RGBA"
            )));
        }
    };
    let px = (TILE_PX * TILE_PX) as usize;
    Ok(buf[..px * channels]
        .chunks_exact(channels)
        .map(|c| {
            if channels == 4 && c[3] == 0 {
                f32::NAN
            } else {
                // R·256 + G + B/256 − 32768: exact in f32 (24 bits of mantissa).
                (f32::from(c[0]) * 256.0 + f32::from(c[1]) + f32::from(c[2]) / 256.0) - 32768.0
            }
        })
        .collect())
}

impl TerrariumTiles {
    /// An empty set of tiles at `zoom` (0..=22).
    pub fn new(zoom: u8) -> Result<Self, TerrainError> {
        if zoom > MAX_ZOOM {
            return Err(TerrainError::InvalidParam {
                name: "zoom",
                value: f64::from(zoom),
                expected: "0 to 22",
            });
        }
        Ok(Self {
            zoom,
            tiles: HashMap::new(),
        })
    }

    /// The zoom level of the tiles.
    pub const fn zoom(&self) -> u8 {
        self.zoom
    }

    /// Decodes a tile's PNG bytes and adds it as tile (`x`, `y`) of the set's zoom.
    pub fn insert_png(&mut self, x: u32, y: u32, png_bytes: &[u8]) -> Result<(), TerrainError> {
        let name = format!("{}/{x}/{y}", self.zoom);
        let n = 1_u32 << self.zoom;
        if x >= n || y >= n {
            return Err(TerrainError::format(
                FORMAT,
                &name,
                format!("no such tile at zoom {} (x and y are below {n})", self.zoom),
            ));
        }
        let heights = decode(&name, png_bytes)?;
        self.tiles.insert((x, y), heights);
        Ok(())
    }

    /// Number of tiles loaded.
    pub fn len(&self) -> usize {
        self.tiles.len()
    }

    /// Whether no tile is loaded.
    pub fn is_empty(&self) -> bool {
        self.tiles.is_empty()
    }

    /// The pixel at world pixel (`x`, `y`), from whichever tile holds it.
    fn pixel(&self, x: i64, y: i64) -> Option<f64> {
        let side = i64::from(TILE_PX);
        if x < 0 || y < 0 {
            return None;
        }
        let tile = self.tiles.get(&((x / side) as u32, (y / side) as u32))?;
        let v = tile[((y % side) * side + x % side) as usize];
        (!v.is_nan()).then_some(f64::from(v))
    }
}

impl Elevation for TerrariumTiles {
    fn elevation_m(&self, p: LatLon) -> Result<f64, NoData> {
        let (x, y) = world_px(p, self.zoom);
        // Pixel centres are at half-integers.
        let (fx, fy) = (x - 0.5, y - 0.5);
        let (x0, y0) = (fx.floor(), fy.floor());
        let (tx, ty) = (fx - x0, fy - y0);
        let (x0, y0) = (x0 as i64, y0 as i64);
        let mut sum = 0.0;
        for (dx, dy, w) in [
            (0, 0, (1.0 - tx) * (1.0 - ty)),
            (1, 0, tx * (1.0 - ty)),
            (0, 1, (1.0 - tx) * ty),
            (1, 1, tx * ty),
        ] {
            if w > 0.0 {
                sum += w * self.pixel(x0 + dx, y0 + dy).ok_or(NoData { at: p })?;
            }
        }
        Ok(sum)
    }

    fn datum(&self) -> VerticalDatum {
        VerticalDatum::Egm96Geoid
    }

    fn resolution_m(&self, p: LatLon) -> f64 {
        let world_m = 2.0 * PI * MERCATOR_RADIUS_M * p.lat_deg.to_radians().cos().max(0.05);
        world_m / (f64::from(TILE_PX) * f64::from(1_u32 << self.zoom))
    }

    fn describe(&self) -> String {
        let n = self.tiles.len();
        format!(
            "Terrarium z{} ({n} tile{})",
            self.zoom,
            if n == 1 { "" } else { "s" }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tile_of_matches_the_xyz_scheme() {
        // Zürich at zoom 12 is tile 2145/1434 (as OpenStreetMap numbers it).
        assert_eq!(tile_of(LatLon::new(47.3769, 8.5417), 12), (2145, 1434));
        assert_eq!(tile_of(LatLon::new(0.0, 0.0), 1), (1, 1));
        assert_eq!(tile_of(LatLon::new(89.0, -180.0), 3), (0, 0));
    }

    #[test]
    fn a_tile_that_is_not_a_png_is_refused() {
        let mut t = TerrariumTiles::new(10).unwrap();
        let e = t.insert_png(1, 1, b"not a png").unwrap_err();
        assert!(e.to_string().contains("Terrarium PNG 10/1/1"), "{e}");
        assert!(t.insert_png(1024, 0, b"").is_err());
        assert!(TerrariumTiles::new(23).is_err());
    }
}
