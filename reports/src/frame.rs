//! A local metric frame for geometry over a survey-sized area, and the camera used to turn
//! altitude into a ground footprint.
//!
//! Reports work in metres east/north of an origin (equirectangular projection about the
//! origin's latitude). Over a few kilometres the scale error is far below GPS noise, and it
//! lets `geo`'s planar buffer, intersection and area work in m and m².

use aviary_core::LatLon;
use aviary_core::geo::EARTH_RADIUS_M;
use geo::Coord;

/// Metres east (`x`) and north (`y`) of an origin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LocalFrame {
    origin: LatLon,
    m_per_deg_lat: f64,
    m_per_deg_lon: f64,
}

impl LocalFrame {
    /// A frame centred on `origin`.
    pub fn new(origin: LatLon) -> Self {
        let m_per_deg_lat = EARTH_RADIUS_M.to_radians();
        let m_per_deg_lon = m_per_deg_lat * origin.lat_deg.to_radians().cos().max(1e-6);
        Self {
            origin,
            m_per_deg_lat,
            m_per_deg_lon,
        }
    }

    /// The frame's origin.
    pub const fn origin(&self) -> LatLon {
        self.origin
    }

    /// `p` as metres east (`x`) and north (`y`) of the origin.
    pub fn to_xy_m(&self, p: LatLon) -> Coord<f64> {
        Coord {
            x: (p.lon_deg - self.origin.lon_deg) * self.m_per_deg_lon,
            y: (p.lat_deg - self.origin.lat_deg) * self.m_per_deg_lat,
        }
    }

    /// The inverse of [`LocalFrame::to_xy_m`].
    pub fn to_latlon(&self, c: Coord<f64>) -> LatLon {
        LatLon::new(
            self.origin.lat_deg + c.y / self.m_per_deg_lat,
            self.origin.lon_deg + c.x / self.m_per_deg_lon,
        )
    }
}

/// The camera whose footprint defines "area covered" and whose trigger spacing defines
/// "photos taken".
///
/// Missions do not store their camera yet, so reports use [`ReportCamera::DEFAULT`]: a
/// 1-inch 20 MP sensor (13.2 × 8.8 mm) behind an 8.8 mm lens, mounted landscape (image width
/// across the track) — the DJI Phantom 4 Pro, the planner's default survey camera. At 50 m
/// it sees 75 m across the track and 50 m along it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ReportCamera {
    /// Sensor width (across the track), millimetres.
    pub sensor_width_mm: f64,
    /// Sensor height (along the track), millimetres.
    pub sensor_height_mm: f64,
    /// Focal length, millimetres.
    pub focal_length_mm: f64,
}

impl ReportCamera {
    /// 13.2 × 8.8 mm sensor, 8.8 mm focal length.
    pub const DEFAULT: Self = Self {
        sensor_width_mm: 13.2,
        sensor_height_mm: 8.8,
        focal_length_mm: 8.8,
    };

    /// Ground footprint across the track at `alt_rel_m`, metres.
    pub fn footprint_side_m(&self, alt_rel_m: f64) -> f64 {
        alt_rel_m * self.sensor_width_mm / self.focal_length_mm
    }

    /// Ground footprint along the track at `alt_rel_m`, metres.
    pub fn footprint_front_m(&self, alt_rel_m: f64) -> f64 {
        alt_rel_m * self.sensor_height_mm / self.focal_length_mm
    }

    /// Distance between photos for `front_overlap_pct` at `alt_rel_m`, metres.
    pub fn trigger_spacing_m(&self, alt_rel_m: f64, front_overlap_pct: f64) -> f64 {
        self.footprint_front_m(alt_rel_m) * (1.0 - front_overlap_pct / 100.0)
    }
}

impl Default for ReportCamera {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_round_trips_and_matches_haversine() {
        let o = LatLon::new(52.0, 4.5);
        let f = LocalFrame::new(o);
        let p = o.offset_ne(300.0, -400.0);
        let c = f.to_xy_m(p);
        assert!((c.x + 400.0).abs() < 0.5, "{c:?}");
        assert!((c.y - 300.0).abs() < 0.5, "{c:?}");
        assert!(((c.x * c.x + c.y * c.y).sqrt() - o.distance_m(p)).abs() < 0.5);
        let back = f.to_latlon(c);
        assert!(back.distance_m(p) < 1e-6);
    }

    #[test]
    fn default_camera_footprint() {
        let c = ReportCamera::DEFAULT;
        assert!((c.footprint_side_m(50.0) - 75.0).abs() < 1e-9);
        assert!((c.footprint_front_m(50.0) - 50.0).abs() < 1e-9);
        assert!((c.trigger_spacing_m(50.0, 80.0) - 10.0).abs() < 1e-9);
    }
}
