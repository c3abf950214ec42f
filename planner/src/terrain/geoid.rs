//! The EGM96 geoid: how far mean sea level lies above the WGS84 ellipsoid, from NGA's
//! 15 arc-minute grid (`planner/data/egm96-15.png`, read once), interpolated bilinearly as
//! NGA's own interpolation program does. Autopilots fly and report altitudes above mean sea
//! level (EGM96); a DEM whose heights are above the ellipsoid (a `GeoTIFF` with the WGS84 3D
//! vertical system) is converted with [`to_mean_sea_level`] before it is used.

use std::sync::OnceLock;

use aviary_core::LatLon;

use super::{Elevation, NoData, VerticalDatum};

/// The grid: 16-bit greyscale, `N in cm + 32768`, 1440 columns from 0° E eastwards by 721
/// rows from 90° N to 90° S.
const GRID_PNG: &[u8] = include_bytes!("../../data/egm96-15.png");
const COLS: usize = 1440;
const ROWS: usize = 721;
/// Posts per degree.
const PER_DEG: f64 = 4.0;

/// The decoded grid, centimetres; `None` if the embedded file could not be decoded.
fn grid() -> Option<&'static [i16]> {
    static GRID: OnceLock<Option<Vec<i16>>> = OnceLock::new();
    GRID.get_or_init(|| {
        let decoder = png::Decoder::new(std::io::Cursor::new(GRID_PNG));
        let mut reader = decoder.read_info().ok()?;
        let mut buf = vec![0; reader.output_buffer_size()?];
        let info = reader.next_frame(&mut buf).ok()?;
        if (info.width as usize, info.height as usize) != (COLS, ROWS)
            || info.bit_depth != png::BitDepth::Sixteen
        {
            return None;
        }
        Some(
            buf[..info.buffer_size()]
                .chunks_exact(2)
                .map(|b| (i32::from(u16::from_be_bytes([b[0], b[1]])) - 32768) as i16)
                .collect(),
        )
    })
    .as_deref()
}

/// Height of the EGM96 geoid (mean sea level) above the WGS84 ellipsoid at `p`, metres
/// (−107 m south of India to +85 m over New Guinea); `None` for a position that is not a
/// number.
pub fn egm96_undulation_m(p: LatLon) -> Option<f64> {
    let g = grid()?;
    if !(p.lat_deg.is_finite() && p.lon_deg.is_finite()) {
        return None;
    }
    let row = (90.0 - p.lat_deg.clamp(-90.0, 90.0)) * PER_DEG;
    let col = p.lon_deg.rem_euclid(360.0) * PER_DEG;
    let r0 = (row.floor() as usize).min(ROWS - 2);
    let c0 = (col.floor() as usize) % COLS;
    let c1 = (c0 + 1) % COLS;
    let (fr, fc) = (row - r0 as f64, col - col.floor());
    let at = |r: usize, c: usize| f64::from(g[r * COLS + c]) / 100.0;
    let top = at(r0, c0) + (at(r0, c1) - at(r0, c0)) * fc;
    let bottom = at(r0 + 1, c0) + (at(r0 + 1, c1) - at(r0 + 1, c0)) * fc;
    Some(top + (bottom - top) * fr)
}

/// A DEM with heights above the WGS84 ellipsoid, read above mean sea level (EGM96).
struct AboveMeanSeaLevel(Box<dyn Elevation>);

impl Elevation for AboveMeanSeaLevel {
    fn elevation_m(&self, p: LatLon) -> Result<f64, NoData> {
        let h = self.0.elevation_m(p)?;
        egm96_undulation_m(p).map(|n| h - n).ok_or(NoData { at: p })
    }

    fn datum(&self) -> VerticalDatum {
        VerticalDatum::Egm96Geoid
    }

    fn resolution_m(&self, p: LatLon) -> f64 {
        self.0.resolution_m(p)
    }

    fn describe(&self) -> String {
        format!(
            "{} (WGS84 ellipsoid heights converted to EGM96)",
            self.0.describe()
        )
    }
}

/// `dem` as heights above mean sea level: as it is when it already is (SRTM, Terrarium, most
/// `GeoTIFF`s), converted with the EGM96 geoid when its heights are above the WGS84 ellipsoid.
pub fn to_mean_sea_level(dem: Box<dyn Elevation>) -> Box<dyn Elevation> {
    match dem.datum() {
        VerticalDatum::Egm96Geoid => dem,
        VerticalDatum::Wgs84Ellipsoid => Box::new(AboveMeanSeaLevel(dem)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn undulation_at_known_places() {
        // NGA grid posts: exact. Between posts: bilinear (Everest: -28.74 m in MATLAB's
        // egm96geoid, which interpolates the same grid differently).
        let n = |lat, lon| egm96_undulation_m(LatLon::new(lat, lon)).expect("grid");
        assert!((n(0.0, 0.0) - 17.16).abs() < 1e-9);
        assert!((n(90.0, 0.0) - 13.61).abs() < 1e-9);
        assert!((n(-90.0, 45.0) + 29.53).abs() < 1e-9);
        assert!((n(27.988_056, 86.925_278) + 28.864).abs() < 1e-3);
        assert!((n(37.7749, -122.4194) + 32.245).abs() < 1e-3);
        assert!((n(47.3769, 8.5417) - 47.338).abs() < 1e-3);
        // West longitudes wrap: -0.1° E is 359.9° E.
        assert!((n(10.0, -0.1) - n(10.0, 359.9)).abs() < 1e-9);
        assert!(egm96_undulation_m(LatLon::new(f64::NAN, 0.0)).is_none());
    }
}
