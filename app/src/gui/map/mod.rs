//! The map: tile source ([`tiles`]), the bundled offline basemap ([`basemap`]) and the
//! overlays drawn as walkers plugins ([`overlays`], the drones in [`drones`]).

pub mod basemap;
pub mod drones;
pub mod overlays;
pub mod tiles;
pub mod triangulate;

use aviary_core::{DroneStatus, LatLon};
use egui::Color32;

/// A core position as a walkers position (`geo_types::Point`, x = longitude).
pub fn to_position(p: LatLon) -> walkers::Position {
    walkers::lat_lon(p.lat_deg, p.lon_deg)
}

/// Pointer distance that picks a drone or a vertex, points.
pub const PICK_RADIUS: f32 = 12.0;

/// Where `p` is on the screen.
pub fn screen(projector: &walkers::Projector, p: LatLon) -> egui::Pos2 {
    projector.project(to_position(p)).to_pos2()
}

/// A walkers position as a core position.
pub fn from_position(p: walkers::Position) -> LatLon {
    LatLon::new(p.y(), p.x())
}

/// Colour of a timeline entry: one per mode name (stable across runs), grey when disarmed.
pub fn mark_color(label: &str) -> Color32 {
    const PALETTE: [Color32; 8] = [
        Color32::from_rgb(0x1f, 0x6f, 0xd1),
        Color32::from_rgb(0x2e, 0x9e, 0x44),
        Color32::from_rgb(0xd3, 0x2f, 0x8a),
        Color32::from_rgb(0xe6, 0x7e, 0x22),
        Color32::from_rgb(0x8e, 0x44, 0xad),
        Color32::from_rgb(0x16, 0xa0, 0x85),
        Color32::from_rgb(0xc0, 0x39, 0x2b),
        Color32::from_rgb(0x7f, 0x8c, 0x0d),
    ];
    if label.ends_with("disarmed") {
        return Color32::from_gray(150);
    }
    // FNV-1a: the same name gets the same colour in every run and on every machine.
    let hash = label.bytes().fold(0x811c_9dc5_u32, |h, b| {
        (h ^ u32::from(b)).wrapping_mul(0x0100_0193)
    });
    PALETTE[hash as usize % PALETTE.len()]
}

/// Map colour of a drone status (readable on OSM tiles and on the basemap).
pub fn status_color(status: DroneStatus) -> Color32 {
    match status {
        DroneStatus::Available => Color32::from_rgb(0x2e, 0x9e, 0x44),
        DroneStatus::InMission => Color32::from_rgb(0x1f, 0x6f, 0xd1),
        DroneStatus::Charging => Color32::from_rgb(0xd9, 0x8c, 0x00),
        DroneStatus::Maintenance => Color32::from_rgb(0x8a, 0x8a, 0x8a),
        DroneStatus::Offline => Color32::from_rgb(0xc0, 0x39, 0x2b),
    }
}
