//! The map: tile source ([`tiles`]), the bundled offline basemap ([`basemap`]) and the
//! overlays drawn as walkers plugins ([`overlays`]).

pub mod basemap;
pub mod overlays;
pub mod tiles;
pub mod triangulate;

use aviary_core::{DroneStatus, LatLon};
use egui::Color32;

/// A core position as a walkers position (`geo_types::Point`, x = longitude).
pub fn to_position(p: LatLon) -> walkers::Position {
    walkers::lat_lon(p.lat_deg, p.lon_deg)
}

/// A walkers position as a core position.
pub fn from_position(p: walkers::Position) -> LatLon {
    LatLon::new(p.y(), p.x())
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
