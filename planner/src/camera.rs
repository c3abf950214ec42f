//! Camera math as QGroundControl and Mission Planner do it, and a small list of common
//! survey cameras. The camera is mounted landscape: image width across the track.

use crate::error::{PlanError, Result};

/// A camera's sensor and lens.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Camera {
    /// Sensor width, millimetres.
    pub sensor_width_mm: f64,
    /// Sensor height, millimetres.
    pub sensor_height_mm: f64,
    /// Focal length, millimetres.
    pub focal_length_mm: f64,
    /// Image width, pixels.
    pub image_width_px: u32,
    /// Image height, pixels.
    pub image_height_px: u32,
}

/// A named entry of the built-in camera list.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NamedCamera {
    /// Name used on the command line.
    pub name: &'static str,
    /// Human-readable model.
    pub model: &'static str,
    /// Its parameters.
    pub camera: Camera,
}

/// Common survey cameras (values as in QGroundControl's camera list).
pub const BUILTIN_CAMERAS: &[NamedCamera] = &[
    NamedCamera {
        name: "phantom4pro",
        model: "DJI Phantom 4 Pro (FC6310, 1\" 20 MP)",
        camera: Camera {
            sensor_width_mm: 13.2,
            sensor_height_mm: 8.8,
            focal_length_mm: 8.8,
            image_width_px: 5472,
            image_height_px: 3648,
        },
    },
    NamedCamera {
        name: "mavic3e",
        model: "DJI Mavic 3 Enterprise (4/3\" 20 MP)",
        camera: Camera {
            sensor_width_mm: 17.3,
            sensor_height_mm: 13.0,
            focal_length_mm: 12.29,
            image_width_px: 5280,
            image_height_px: 3956,
        },
    },
    NamedCamera {
        name: "sony-a6000",
        model: "Sony a6000 with 20 mm lens (APS-C 24 MP)",
        camera: Camera {
            sensor_width_mm: 23.5,
            sensor_height_mm: 15.6,
            focal_length_mm: 20.0,
            image_width_px: 6000,
            image_height_px: 4000,
        },
    },
    NamedCamera {
        name: "rededge-mx",
        model: "MicaSense RedEdge-MX (multispectral)",
        camera: Camera {
            sensor_width_mm: 4.8,
            sensor_height_mm: 3.6,
            focal_length_mm: 5.4,
            image_width_px: 1280,
            image_height_px: 960,
        },
    },
    NamedCamera {
        name: "sequoia",
        model: "Parrot Sequoia RGB",
        camera: Camera {
            sensor_width_mm: 6.17,
            sensor_height_mm: 4.55,
            focal_length_mm: 4.88,
            image_width_px: 4608,
            image_height_px: 3456,
        },
    },
];

/// Finds a built-in camera by name (case-insensitive).
pub fn builtin_camera(name: &str) -> Result<Camera> {
    BUILTIN_CAMERAS
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(name.trim()))
        .map(|c| c.camera)
        .ok_or_else(|| PlanError::UnknownCamera {
            name: name.to_owned(),
            known: BUILTIN_CAMERAS
                .iter()
                .map(|c| c.name)
                .collect::<Vec<_>>()
                .join(", "),
        })
}

impl Camera {
    /// Checks every field is positive and finite.
    pub fn validate(&self) -> Result<()> {
        for (name, v) in [
            ("sensor_width_mm", self.sensor_width_mm),
            ("sensor_height_mm", self.sensor_height_mm),
            ("focal_length_mm", self.focal_length_mm),
            ("image_width_px", f64::from(self.image_width_px)),
            ("image_height_px", f64::from(self.image_height_px)),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(PlanError::InvalidParam {
                    name,
                    value: v,
                    expected: "must be positive",
                });
            }
        }
        Ok(())
    }

    /// Ground footprint across the track (image width), metres: altitude × sensor width / focal.
    pub fn footprint_side_m(&self, alt_rel_m: f64) -> f64 {
        alt_rel_m * self.sensor_width_mm / self.focal_length_mm
    }

    /// Ground footprint along the track (image height), metres.
    pub fn footprint_front_m(&self, alt_rel_m: f64) -> f64 {
        alt_rel_m * self.sensor_height_mm / self.focal_length_mm
    }

    /// Distance between transects: side footprint × (1 − side overlap).
    pub fn line_spacing_m(&self, alt_rel_m: f64, side_overlap_pct: f64) -> f64 {
        self.footprint_side_m(alt_rel_m) * (1.0 - side_overlap_pct / 100.0)
    }

    /// Distance between photos: front footprint × (1 − front overlap).
    pub fn trigger_distance_m(&self, alt_rel_m: f64, front_overlap_pct: f64) -> f64 {
        self.footprint_front_m(alt_rel_m) * (1.0 - front_overlap_pct / 100.0)
    }

    /// Ground sample distance, cm/px: altitude × sensor width × 100 / (image width × focal).
    pub fn gsd_cm_px(&self, alt_rel_m: f64) -> f64 {
        alt_rel_m * self.sensor_width_mm * 100.0
            / (f64::from(self.image_width_px) * self.focal_length_mm)
    }

    /// The altitude that gives `gsd_cm_px` (inverse of [`Camera::gsd_cm_px`]).
    pub fn alt_for_gsd_m(&self, gsd_cm_px: f64) -> f64 {
        gsd_cm_px * f64::from(self.image_width_px) * self.focal_length_mm
            / (self.sensor_width_mm * 100.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phantom4pro_matches_qgroundcontrol() {
        let c = builtin_camera("Phantom4Pro").unwrap_or_else(|e| panic!("{e}"));
        // QGC shows 1.37 cm/px at 50 m for this camera.
        assert!((c.gsd_cm_px(50.0) - 1.3706).abs() < 1e-3);
        assert!((c.footprint_side_m(50.0) - 75.0).abs() < 1e-9);
        assert!((c.line_spacing_m(50.0, 70.0) - 22.5).abs() < 1e-9);
        assert!((c.trigger_distance_m(50.0, 80.0) - 10.0).abs() < 1e-9);
        assert!((c.alt_for_gsd_m(c.gsd_cm_px(73.0)) - 73.0).abs() < 1e-9);
    }

    #[test]
    fn unknown_camera_lists_the_known_ones() {
        let e = builtin_camera("hasselblad")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("phantom4pro"), "{e}");
    }
}
