//! The map: tile source ([`tiles`]), the bundled offline basemap ([`basemap`]) and the
//! overlays drawn as walkers plugins ([`overlays`], the drones in [`drones`]).

pub mod basemap;
pub mod drones;
pub mod fill;
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

/// Colour of a timeline entry, grey when disarmed: the common modes and mission phases by
/// what they do (mission blue, return orange, landing red, holding teal, guided purple,
/// manual pink, altitude-held olive), any other name one of the palette's (stable across runs).
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
    let known = match label {
        "AUTO" | "MISSION" | "in mission" => Some(PALETTE[0]),
        "RTL" | "SMART_RTL" | "RETURN" | "returning" => Some(PALETTE[3]),
        "LAND" | "PRECLAND" | "landing" => Some(PALETTE[6]),
        "LOITER" | "POSHOLD" | "HOLD" | "BRAKE" | "CIRCLE" | "paused" => Some(PALETTE[5]),
        "GUIDED" | "OFFBOARD" | "TAKEOFF" | "launching" => Some(PALETTE[4]),
        "STABILIZE" | "ACRO" | "MANUAL" | "STABILIZED" | "DRIFT" | "SPORT" => Some(PALETTE[2]),
        "ALT_HOLD" | "ALTCTL" | "POSCTL" => Some(PALETTE[7]),
        "completed" => Some(PALETTE[1]),
        _ => None,
    };
    if let Some(c) = known {
        return c;
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
