//! Typed positions. Never pass a bare `(f64, f64)` around: latitude and longitude are easy
//! to swap, and GeoJSON orders them `[lon, lat]` while MAVLink orders them `lat, lon`.

use serde::{Deserialize, Serialize};

/// Mean Earth radius (IUGG), metres. Used for great-circle distances.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// A WGS84 position in degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
pub struct LatLon {
    /// Latitude, degrees north, -90..=90.
    pub lat_deg: f64,
    /// Longitude, degrees east, -180..=180.
    pub lon_deg: f64,
}

/// Why a coordinate pair is not a valid WGS84 position.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CoordError {
    /// Latitude outside -90..=90 or not finite.
    #[error("latitude {0} is out of range (-90..=90)")]
    Latitude(f64),
    /// Longitude outside -180..=180 or not finite.
    #[error("longitude {0} is out of range (-180..=180)")]
    Longitude(f64),
}

impl LatLon {
    /// A position, unchecked. Use [`LatLon::checked`] for user input.
    pub const fn new(lat_deg: f64, lon_deg: f64) -> Self {
        Self { lat_deg, lon_deg }
    }

    /// A position, validated: finite and within range.
    pub fn checked(lat_deg: f64, lon_deg: f64) -> Result<Self, CoordError> {
        if !lat_deg.is_finite() || !(-90.0..=90.0).contains(&lat_deg) {
            return Err(CoordError::Latitude(lat_deg));
        }
        if !lon_deg.is_finite() || !(-180.0..=180.0).contains(&lon_deg) {
            return Err(CoordError::Longitude(lon_deg));
        }
        Ok(Self { lat_deg, lon_deg })
    }

    /// Great-circle (haversine) distance in metres.
    pub fn distance_m(self, other: LatLon) -> f64 {
        let (p1, p2) = (self.lat_deg.to_radians(), other.lat_deg.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon_deg - self.lon_deg).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().asin()
    }

    /// Initial bearing towards `other`, degrees clockwise from north in 0..360.
    pub fn bearing_deg(self, other: LatLon) -> f64 {
        let (p1, p2) = (self.lat_deg.to_radians(), other.lat_deg.to_radians());
        let dl = (other.lon_deg - self.lon_deg).to_radians();
        let y = dl.sin() * p2.cos();
        let x = p1.cos() * p2.sin() - p1.sin() * p2.cos() * dl.cos();
        (y.atan2(x).to_degrees() + 360.0) % 360.0
    }

    /// The point `distance_m` away along `bearing_deg` (spherical destination formula).
    #[must_use]
    pub fn offset(self, bearing_deg: f64, distance_m: f64) -> LatLon {
        let d = distance_m / EARTH_RADIUS_M;
        let b = bearing_deg.to_radians();
        let p1 = self.lat_deg.to_radians();
        let l1 = self.lon_deg.to_radians();
        let p2 = (p1.sin() * d.cos() + p1.cos() * d.sin() * b.cos()).asin();
        let l2 = l1 + (b.sin() * d.sin() * p1.cos()).atan2(d.cos() - p1.sin() * p2.sin());
        let lon = (l2.to_degrees() + 540.0) % 360.0 - 180.0;
        LatLon::new(p2.to_degrees(), lon)
    }

    /// Offset by metres north and east (flat-earth, for short distances such as simulation
    /// steps).
    #[must_use]
    pub fn offset_ne(self, north_m: f64, east_m: f64) -> LatLon {
        let dlat = north_m / EARTH_RADIUS_M;
        let dlon = east_m / (EARTH_RADIUS_M * self.lat_deg.to_radians().cos().max(1e-9));
        LatLon::new(
            self.lat_deg + dlat.to_degrees(),
            self.lon_deg + dlon.to_degrees(),
        )
    }
}

impl std::fmt::Display for LatLon {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:.6}, {:.6}", self.lat_deg, self.lon_deg)
    }
}

impl std::str::FromStr for LatLon {
    type Err = String;

    /// Parses `"LAT,LON"` in degrees.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (a, b) = s
            .split_once(',')
            .ok_or_else(|| format!("expected LAT,LON but got {s:?}"))?;
        let lat: f64 = a
            .trim()
            .parse()
            .map_err(|_| format!("latitude {a:?} is not a number"))?;
        let lon: f64 = b
            .trim()
            .parse()
            .map_err(|_| format!("longitude {b:?} is not a number"))?;
        LatLon::checked(lat, lon).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance_and_offset_agree() {
        let a = LatLon::new(37.7749, -122.4194);
        let b = a.offset(45.0, 1000.0);
        assert!((a.distance_m(b) - 1000.0).abs() < 0.01);
        assert!((a.bearing_deg(b) - 45.0).abs() < 0.01);
    }

    #[test]
    fn parse_and_validate() {
        assert_eq!("51.9, 4.48".parse::<LatLon>(), Ok(LatLon::new(51.9, 4.48)));
        assert!("91,0".parse::<LatLon>().unwrap_err().contains("latitude"));
        assert!("x,0".parse::<LatLon>().is_err());
        assert!(LatLon::checked(0.0, f64::NAN).is_err());
    }
}
