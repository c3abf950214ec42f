//! Single-band GeoTIFF DEMs on a north-up grid (`ModelPixelScale` + `ModelTiepoint`), in
//! geographic WGS84 (EPSG:4326) or WGS84 UTM (EPSG:326zz north, 327zz south) coordinates,
//! with any integer or float sample type, `GDAL_NODATA` and `NaN` as voids. Heights are
//! taken above the EGM96 geoid unless the file's vertical CRS says otherwise (EPSG:5773 is
//! EGM96, EPSG:4979 the WGS84 ellipsoid; other vertical datums are refused).

use std::io::Cursor;

use aviary_core::LatLon;
use tiff::decoder::{Decoder, DecodingResult};
use tiff::tags::Tag;

use super::grid::Grid;
use super::{Elevation, METRES_PER_DEG_LAT, NoData, TerrainError, VerticalDatum};
use crate::frame::LocalFrame;

const FORMAT: &str = "GeoTIFF";

/// GeoKey numbers (GeoTIFF 1.1).
mod key {
    pub const MODEL_TYPE: u16 = 1024;
    pub const RASTER_TYPE: u16 = 1025;
    pub const GEOGRAPHIC_TYPE: u16 = 2048;
    pub const PROJECTED_TYPE: u16 = 3072;
    pub const VERTICAL_TYPE: u16 = 4096;
}

/// How the grid's coordinates map to the Earth.
#[derive(Debug, Clone, PartialEq)]
enum Crs {
    /// Degrees of longitude (x) and latitude (y) on WGS84.
    Geographic,
    /// WGS84 UTM: easting and northing in metres.
    Utm {
        zone: u8,
        south: bool,
        /// Transverse Mercator (scale 1) on the zone's central meridian, origin on the equator.
        frame: LocalFrame,
    },
}

/// UTM's scale on the central meridian.
const UTM_K0: f64 = 0.9996;

/// A GeoTIFF DEM in memory.
#[derive(Debug, Clone, PartialEq)]
pub struct GeoTiffDem {
    name: String,
    crs: Crs,
    /// Model coordinates of post (0, 0) (x east, y north).
    x0: f64,
    y0: f64,
    /// Model units between posts (x to the right, y downwards).
    dx: f64,
    dy: f64,
    datum: VerticalDatum,
    grid: Grid,
}

/// The value of each GeoKey stored inline (`TIFFTagLocation` 0).
fn geo_keys(dir: &[u16]) -> Vec<(u16, u16)> {
    dir.get(4..)
        .unwrap_or_default()
        .chunks_exact(4)
        .filter(|e| e[1] == 0)
        .map(|e| (e[0], e[3]))
        .collect()
}

fn samples_f32(image: DecodingResult) -> Vec<f32> {
    match image {
        DecodingResult::U8(v) => v.into_iter().map(f32::from).collect(),
        DecodingResult::U16(v) => v.into_iter().map(f32::from).collect(),
        DecodingResult::U32(v) => v.into_iter().map(|x| x as f32).collect(),
        DecodingResult::U64(v) => v.into_iter().map(|x| x as f32).collect(),
        DecodingResult::F16(v) => v.into_iter().map(f32::from).collect(),
        DecodingResult::F32(v) => v,
        DecodingResult::F64(v) => v.into_iter().map(|x| x as f32).collect(),
        DecodingResult::I8(v) => v.into_iter().map(f32::from).collect(),
        DecodingResult::I16(v) => v.into_iter().map(f32::from).collect(),
        DecodingResult::I32(v) => v.into_iter().map(|x| x as f32).collect(),
        DecodingResult::I64(v) => v.into_iter().map(|x| x as f32).collect(),
    }
}

impl GeoTiffDem {
    /// Parses a GeoTIFF DEM from its bytes; `name` names it in errors and reports.
    pub fn from_bytes(name: &str, bytes: &[u8]) -> Result<Self, TerrainError> {
        let err = |d: String| TerrainError::format(FORMAT, name, d);
        let tiff = |e: tiff::TiffError| err(e.to_string());
        let mut dec = Decoder::new(Cursor::new(bytes)).map_err(tiff)?;
        let (cols, rows) = dec.dimensions().map_err(tiff)?;
        let scale = dec.get_tag_f64_vec(Tag::ModelPixelScaleTag).map_err(|_| {
            err("no ModelPixelScale tag (rotated or unreferenced rasters are not supported)".into())
        })?;
        let tie = dec
            .get_tag_f64_vec(Tag::ModelTiepointTag)
            .map_err(|_| err("no ModelTiepoint tag".into()))?;
        let keys = dec
            .get_tag_u16_vec(Tag::GeoKeyDirectoryTag)
            .map(|d| geo_keys(&d))
            .map_err(|_| err("no GeoKeyDirectory tag".into()))?;
        let nodata: Option<f64> = dec
            .get_tag_ascii_string(Tag::GdalNodata)
            .ok()
            .and_then(|s| s.trim().trim_end_matches('\0').parse().ok());
        let ([sx, sy, ..], [ti, tj, _, tx, ty, ..]) = (scale.as_slice(), tie.as_slice()) else {
            return Err(err("ModelPixelScale or ModelTiepoint is too short".into()));
        };
        if !(*sx > 0.0 && *sy > 0.0) {
            return Err(err(format!("pixel scale {sx} × {sy} is not positive")));
        }
        let get = |k: u16| keys.iter().find(|e| e.0 == k).map(|e| e.1);
        let crs = match (get(key::MODEL_TYPE), get(key::PROJECTED_TYPE)) {
            (Some(1), Some(code @ 32601..=32660)) => utm(code - 32600, false),
            (Some(1), Some(code @ 32701..=32760)) => utm(code - 32700, true),
            (Some(1), code) => {
                return Err(err(format!(
                    "projected CRS {code:?} is not supported (WGS84 geographic or UTM, EPSG:4326, 326zz, 327zz)"
                )));
            }
            (Some(2), _) => match get(key::GEOGRAPHIC_TYPE) {
                None | Some(4326) => Crs::Geographic,
                Some(code) => {
                    return Err(err(format!(
                        "geographic CRS EPSG:{code} is not supported (WGS84, EPSG:4326)"
                    )));
                }
            },
            (model, _) => return Err(err(format!("model type {model:?} is not supported"))),
        };
        let datum = match get(key::VERTICAL_TYPE) {
            None | Some(5773) => VerticalDatum::Egm96Geoid,
            Some(4979) => VerticalDatum::Wgs84Ellipsoid,
            Some(code) => {
                return Err(err(format!(
                    "vertical datum EPSG:{code} is not supported (EGM96 5773 or WGS84 4979)"
                )));
            }
        };
        // PixelIsArea (the default): the tiepoint is a pixel's corner, the height its centre.
        let half = if get(key::RASTER_TYPE) == Some(2) {
            0.0
        } else {
            0.5
        };
        let image = dec.read_image().map_err(tiff)?;
        let mut values_m = samples_f32(image);
        if values_m.len() != cols as usize * rows as usize {
            return Err(err(format!(
                "{} samples for {cols} × {rows} pixels: only single-band DEMs are read",
                values_m.len()
            )));
        }
        if let Some(nd) = nodata {
            for v in &mut values_m {
                // The marker as written in text, within f32 rounding of the sample.
                if (f64::from(*v) - nd).abs() <= 1e-6 * nd.abs().max(1.0) {
                    *v = f32::NAN;
                }
            }
        }
        let grid = Grid::new(cols as usize, rows as usize, &values_m)
            .ok_or_else(|| err(format!("{cols} × {rows} pixels: at least 2 × 2 are needed")))?;
        Ok(Self {
            name: super::base_name(name).to_owned(),
            crs,
            x0: tx + (half - ti) * sx,
            y0: ty - (half - tj) * sy,
            dx: *sx,
            dy: *sy,
            datum,
            grid,
        })
    }

    /// Reads a DEM from a file.
    pub fn read(path: &std::path::Path) -> Result<Self, TerrainError> {
        let (name, bytes) = super::read_dem_file(FORMAT, path)?;
        Self::from_bytes(&name, &bytes)
    }

    /// Model coordinates (x east, y north) of `p`.
    fn model_xy(&self, p: LatLon) -> (f64, f64) {
        match &self.crs {
            Crs::Geographic => (p.lon_deg, p.lat_deg),
            Crs::Utm { south, frame, .. } => {
                let c = frame.to_local(p);
                let false_northing_m = if *south { 10_000_000.0 } else { 0.0 };
                (500_000.0 + UTM_K0 * c.x, false_northing_m + UTM_K0 * c.y)
            }
        }
    }
}

fn utm(zone: u16, south: bool) -> Crs {
    let central_deg = f64::from(zone) * 6.0 - 183.0;
    Crs::Utm {
        zone: zone as u8,
        south,
        frame: LocalFrame::new(LatLon::new(0.0, central_deg)),
    }
}

impl Elevation for GeoTiffDem {
    fn elevation_m(&self, p: LatLon) -> Result<f64, NoData> {
        let (x, y) = self.model_xy(p);
        let col = (x - self.x0) / self.dx;
        let row = (self.y0 - y) / self.dy;
        self.grid.bilinear(col, row).ok_or(NoData { at: p })
    }

    fn datum(&self) -> VerticalDatum {
        self.datum
    }

    fn resolution_m(&self, p: LatLon) -> f64 {
        match self.crs {
            Crs::Geographic => {
                let cos = p.lat_deg.to_radians().cos().max(0.05);
                (self.dy * METRES_PER_DEG_LAT).min(self.dx * METRES_PER_DEG_LAT * cos)
            }
            Crs::Utm { .. } => self.dx.min(self.dy),
        }
    }

    fn describe(&self) -> String {
        let crs = match &self.crs {
            Crs::Geographic => "EPSG:4326".to_owned(),
            Crs::Utm { zone, south, .. } => {
                format!("UTM {zone}{}", if *south { 'S' } else { 'N' })
            }
        };
        format!("GeoTIFF {} ({crs}, {})", self.name, self.datum.as_str())
    }
}
