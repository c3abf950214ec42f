//! The flight display of the selected drone (QGroundControl's Fly view, Mission Planner's HUD):
//! attitude and heading instruments, the vehicle's own mode and armed state, altitudes, speeds,
//! battery, GPS, distance to home, link quality, the mission item and the vehicle's
//! `STATUSTEXT` messages with their severity. Everything is what the vehicle reported; what it
//! did not report reads "unknown". A vehicle that does terrain also shows its terrain height
//! and the terrain data it has loaded and still waits for.

use super::{ERROR, OK, PENDING, UiCx, fmt_distance};
use crate::gui::state::{Attitude, DroneView};
use egui::{Color32, Pos2, RichText, Sense, Shape, Stroke, Ui, Vec2, pos2, vec2};

/// Sky of the artificial horizon.
const SKY: Color32 = Color32::from_rgb(0x3a, 0x7b, 0xc8);
/// Ground of the artificial horizon.
const GROUND: Color32 = Color32::from_rgb(0x8a, 0x5a, 0x2b);
/// The fixed aircraft symbol.
const AIRCRAFT: Color32 = Color32::from_rgb(0xff, 0xc8, 0x00);
/// Pixels per degree of pitch on the horizon.
const PX_PER_PITCH_DEG: f32 = 2.2;

/// The flight display panel.
pub fn flight_display_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    let state = &*cx.state;
    ui.heading("Flight display");
    let Some(d) = state.selected_drone.and_then(|id| state.drones.get(&id)) else {
        ui.label(RichText::new("Select a drone on the map or a mission.").weak());
        return;
    };
    header_ui(ui, d);
    ui.add_space(4.0);
    let attitude = d.link.attitude;
    let heading_deg = attitude.map_or_else(|| d.live.map(|s| s.heading_deg), |a| Some(a.yaw_deg));
    ui.horizontal(|ui| {
        horizon_ui(ui, attitude, 150.0);
        compass_ui(ui, heading_deg, 150.0);
    });
    ui.add_space(4.0);
    figures_ui(ui, d);
    ui.add_space(6.0);
    messages_ui(ui, d, state.now);
}

/// Serial, the vehicle's flight mode, armed state, link.
fn header_ui(ui: &mut Ui, d: &DroneView) {
    ui.label(RichText::new(&d.drone.serial_number).strong().size(16.0));
    ui.horizontal_wrapped(|ui| {
        let mode = if d.link.mode.is_empty() {
            "mode unknown".to_owned()
        } else {
            d.link.mode.clone()
        };
        ui.label(RichText::new(mode).strong().size(18.0).color(super::ACCENT));
        let mavlink = d.link.link_quality_pct.is_some();
        let (armed, color) = match (mavlink, d.link.armed) {
            (false, _) => ("armed state unknown", ui.visuals().weak_text_color()),
            (true, true) => ("ARMED", ERROR),
            (true, false) => ("DISARMED", OK),
        };
        ui.label(RichText::new(armed).strong().color(color));
        let (link, color) = if d.link_up {
            ("link up", OK)
        } else {
            ("LINK LOST", ERROR)
        };
        ui.label(RichText::new(link).color(color));
    });
}

fn unknown() -> String {
    "unknown".to_owned()
}

/// The figures beside the instruments.
fn figures_ui(ui: &mut Ui, d: &DroneView) {
    let l = &d.link;
    let mavlink = l.link_quality_pct.is_some();
    let live = d.live;
    // An MQTT drone's sample carries its battery; a MAVLink vehicle's battery is what it said
    // (the sample's value falls back to the stored one, which is not a measurement).
    let battery_pct = if mavlink {
        l.battery_pct
    } else {
        live.map(|s| s.battery_pct)
    };
    let battery = match (battery_pct, l.battery_v, l.battery_current_a) {
        (None, None, None) => unknown(),
        (pct, v, a) => [
            v.map(|v| format!("{v:.1} V")),
            Some(pct.map_or_else(|| "? %".to_owned(), |p| format!("{p:.0} %"))),
            a.map(|a| format!("{a:.1} A")),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" · "),
    };
    let battery_color = match battery_pct {
        Some(p) if p < crate::gui::state::LOW_BATTERY_PCT => ERROR,
        Some(p) if p < 35.0 => PENDING,
        _ => ui.visuals().text_color(),
    };
    let gps = if mavlink {
        format!("{} · {} satellites", fix_words(l.gps_fix), l.satellites)
    } else {
        unknown()
    };
    let gps_color = if !mavlink || l.gps_fix >= 3 {
        ui.visuals().text_color()
    } else {
        ERROR
    };
    let home = l.home.unwrap_or(d.drone.home);
    let mut rows: Vec<(&str, String, Color32)> = vec![
        (
            "Altitude (relative)",
            live.map_or_else(unknown, |s| format!("{:.1} m", s.alt_rel_m)),
            ui.visuals().text_color(),
        ),
        (
            "Altitude (AMSL)",
            l.alt_amsl_m.map_or_else(unknown, |a| format!("{a:.1} m")),
            ui.visuals().text_color(),
        ),
        (
            "Ground speed",
            live.map_or_else(unknown, |s| format!("{:.1} m/s", s.speed_mps)),
            ui.visuals().text_color(),
        ),
        (
            "Climb",
            if mavlink {
                format!("{:+.1} m/s", l.climb_mps)
            } else {
                unknown()
            },
            ui.visuals().text_color(),
        ),
        ("Battery", battery, battery_color),
        ("GPS", gps, gps_color),
        (
            "To home",
            live.map_or_else(unknown, |s| fmt_distance(s.pos.distance_m(home))),
            ui.visuals().text_color(),
        ),
        (
            "Link quality",
            l.link_quality_pct
                .or(live.map(|s| s.signal_pct))
                .map_or_else(unknown, |q| format!("{q:.0} %")),
            ui.visuals().text_color(),
        ),
        (
            "Mission item",
            mission_item_words(d),
            ui.visuals().text_color(),
        ),
        (
            "Vehicle",
            if l.landed.is_empty() {
                unknown()
            } else {
                l.landed.clone()
            },
            ui.visuals().text_color(),
        ),
    ];
    // Only for a vehicle that does terrain (it sent a `TERRAIN_REPORT`).
    if let Some(t) = l.terrain {
        let height = t.terrain_height_m.map_or_else(
            || "no data here".to_owned(),
            |h| match t.above_terrain_m {
                Some(a) => format!("{h:.0} m AMSL, {a:.0} m above"),
                None => format!("{h:.0} m AMSL"),
            },
        );
        let color = if t.pending > 0 {
            PENDING
        } else {
            ui.visuals().text_color()
        };
        rows.push((
            "Terrain",
            format!("{height} · {} loaded · {} pending", t.loaded, t.pending),
            color,
        ));
    }
    egui::Grid::new("flight_figures")
        .num_columns(2)
        .spacing([12.0, 3.0])
        .striped(true)
        .show(ui, |ui| {
            for (name, value, color) in rows {
                ui.label(RichText::new(name).weak());
                ui.label(RichText::new(value).monospace().color(color));
                ui.end_row();
            }
        });
}

/// `3 of 12` (item 0 is home, so the survey items count from 1).
fn mission_item_words(d: &DroneView) -> String {
    match (d.link.current_item, d.link.mission_total) {
        (None, _) => unknown(),
        (Some(0), _) => "none (home)".to_owned(),
        (Some(c), Some(total)) if total > 1 => format!("{c} of {}", total - 1),
        (Some(c), _) => c.to_string(),
    }
}

/// `GPS_FIX_TYPE` in words.
pub fn fix_words(fix: u8) -> &'static str {
    match fix {
        0 | 1 => "no fix",
        2 => "2D fix",
        3 => "3D fix",
        4 => "DGPS",
        5 => "RTK float",
        6 => "RTK fixed",
        7 => "static",
        _ => "PPP",
    }
}

/// `MAV_SEVERITY` name and colour.
pub fn severity_words(severity: u8) -> (&'static str, Color32) {
    match severity {
        0 => ("EMERGENCY", ERROR),
        1 => ("ALERT", ERROR),
        2 => ("CRITICAL", ERROR),
        3 => ("ERROR", ERROR),
        4 => ("WARNING", PENDING),
        5 => ("NOTICE", super::ACCENT),
        6 => ("INFO", Color32::from_gray(0x60)),
        _ => ("DEBUG", Color32::from_gray(0x90)),
    }
}

/// The vehicle's messages, newest at the bottom, in a scrolling list.
fn messages_ui(ui: &mut Ui, d: &DroneView, now: chrono::DateTime<chrono::Utc>) {
    ui.label(RichText::new(format!("Vehicle messages ({})", d.link.messages.len())).strong());
    if d.link.messages.is_empty() {
        ui.label(RichText::new("No messages from the vehicle yet.").weak());
        return;
    }
    egui::ScrollArea::vertical()
        .id_salt("vehicle_messages")
        .max_height(ui.available_height().max(80.0))
        .stick_to_bottom(true)
        .auto_shrink([false, true])
        .show(ui, |ui| {
            for m in &d.link.messages {
                let (word, color) = severity_words(m.severity);
                let age_s = (now - m.time).num_seconds().max(0);
                ui.label(
                    RichText::new(format!(
                        "{} {word:<9} {}",
                        m.time.format("%H:%M:%S"),
                        m.text
                    ))
                    .color(color)
                    .monospace(),
                )
                .on_hover_text(format!("{age_s} s ago"));
            }
        });
}

/// Rotates `p` about `c` by `angle_rad` (screen coordinates, clockwise positive).
fn rotate(p: Pos2, c: Pos2, angle_rad: f32) -> Pos2 {
    let (s, co) = angle_rad.sin_cos();
    let v = p - c;
    c + vec2(v.x * co - v.y * s, v.x * s + v.y * co)
}

/// The artificial horizon: sky and ground split by the horizon, tilted by roll and moved by
/// pitch, a pitch ladder every 10°, and the fixed aircraft symbol.
fn horizon_ui(ui: &mut Ui, attitude: Option<Attitude>, size: f32) {
    let (rect, response) = ui.allocate_exact_size(Vec2::splat(size), Sense::hover());
    let label = attitude.map_or_else(
        || "Attitude: unknown".to_owned(),
        |a| {
            format!(
                "Attitude: roll {:.0}°, pitch {:.0}°",
                a.roll_deg, a.pitch_deg
            )
        },
    );
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &label));
    let painter = ui.painter_at(rect);
    let c = rect.center();
    let Some(a) = attitude else {
        painter.rect_filled(rect, 6.0, Color32::from_gray(0x50));
        painter.text(
            c,
            egui::Align2::CENTER_CENTER,
            "no attitude",
            egui::FontId::proportional(13.0),
            Color32::WHITE,
        );
        return;
    };
    painter.rect_filled(rect, 6.0, SKY);
    // Bank the world the other way from the aircraft; nose up moves the horizon down.
    let roll = -(a.roll_deg as f32).to_radians();
    let offset = (a.pitch_deg as f32) * PX_PER_PITCH_DEG;
    let big = size * 2.0;
    let horizon_y = c.y + offset;
    let ground = [
        pos2(c.x - big, horizon_y),
        pos2(c.x + big, horizon_y),
        pos2(c.x + big, horizon_y + big),
        pos2(c.x - big, horizon_y + big),
    ]
    .map(|p| rotate(p, c, roll));
    painter.add(Shape::convex_polygon(
        ground.to_vec(),
        GROUND,
        Stroke::new(1.5, Color32::WHITE),
    ));
    for step in [-30_i32, -20, -10, 10, 20, 30] {
        let y = horizon_y - step as f32 * PX_PER_PITCH_DEG;
        let half = if step % 20 == 0 { 22.0 } else { 14.0 };
        let a = rotate(pos2(c.x - half, y), c, roll);
        let b = rotate(pos2(c.x + half, y), c, roll);
        painter.line_segment([a, b], Stroke::new(1.0, Color32::WHITE));
        painter.text(
            rotate(pos2(c.x + half + 10.0, y), c, roll),
            egui::Align2::CENTER_CENTER,
            step.abs().to_string(),
            egui::FontId::proportional(9.0),
            Color32::WHITE,
        );
    }
    // Fixed aircraft: wings and a centre dot.
    let wing = Stroke::new(3.0, AIRCRAFT);
    painter.line_segment([pos2(c.x - 40.0, c.y), pos2(c.x - 12.0, c.y)], wing);
    painter.line_segment([pos2(c.x - 12.0, c.y), pos2(c.x - 12.0, c.y + 6.0)], wing);
    painter.line_segment([pos2(c.x + 12.0, c.y), pos2(c.x + 40.0, c.y)], wing);
    painter.line_segment([pos2(c.x + 12.0, c.y), pos2(c.x + 12.0, c.y + 6.0)], wing);
    painter.circle_filled(c, 3.0, AIRCRAFT);
    // Roll pointer at the top, against a fixed zero mark.
    let top = pos2(c.x, rect.top() + 8.0);
    painter.line_segment(
        [top, pos2(c.x, rect.top() + 2.0)],
        Stroke::new(2.0, Color32::WHITE),
    );
    let tip = rotate(pos2(c.x, rect.top() + 10.0), c, roll);
    let l = rotate(pos2(c.x - 5.0, rect.top() + 18.0), c, roll);
    let r = rotate(pos2(c.x + 5.0, rect.top() + 18.0), c, roll);
    painter.add(Shape::convex_polygon(
        vec![tip, r, l],
        AIRCRAFT,
        Stroke::NONE,
    ));
    painter.text(
        pos2(rect.left() + 4.0, rect.bottom() - 4.0),
        egui::Align2::LEFT_BOTTOM,
        format!("R {:+.0}° P {:+.0}°", a.roll_deg, a.pitch_deg),
        egui::FontId::monospace(10.0),
        Color32::WHITE,
    );
}

/// A compass rose, north up, with the heading as an arrow from the centre and in figures.
fn compass_ui(ui: &mut Ui, heading_deg: Option<f64>, size: f32) {
    let (rect, response) = ui.allocate_exact_size(Vec2::splat(size), Sense::hover());
    let label = heading_deg.map_or_else(
        || "Heading: unknown".to_owned(),
        |h| format!("Heading: {:03.0}°", h.rem_euclid(360.0)),
    );
    response.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &label));
    let painter = ui.painter_at(rect);
    let c = rect.center();
    let radius = size / 2.0 - 4.0;
    let ink = ui.visuals().text_color();
    painter.circle(
        c,
        radius,
        ui.visuals().extreme_bg_color,
        Stroke::new(1.5, ink),
    );
    for deg in (0..360).step_by(30) {
        let angle = (deg as f32).to_radians();
        let dir = vec2(angle.sin(), -angle.cos());
        let inner = if deg % 90 == 0 {
            radius - 12.0
        } else {
            radius - 6.0
        };
        painter.line_segment([c + dir * inner, c + dir * radius], Stroke::new(1.0, ink));
        if deg % 90 == 0 {
            let name = ["N", "E", "S", "W"][(deg / 90) as usize];
            let color = if deg == 0 { ERROR } else { ink };
            painter.text(
                c + dir * (radius - 22.0),
                egui::Align2::CENTER_CENTER,
                name,
                egui::FontId::proportional(13.0),
                color,
            );
        }
    }
    let Some(h) = heading_deg else {
        painter.text(
            c,
            egui::Align2::CENTER_CENTER,
            "no heading",
            egui::FontId::proportional(12.0),
            ink,
        );
        return;
    };
    // An arrow with a notched tail: its direction cannot be read the wrong way round.
    let angle = (h as f32).to_radians();
    let tip = c + vec2(angle.sin(), -angle.cos()) * (radius - 30.0);
    let arrow: Vec<Pos2> = [
        pos2(0.0, -(radius - 30.0)),
        pos2(9.0, 14.0),
        pos2(0.0, 6.0),
        pos2(-9.0, 14.0),
    ]
    .iter()
    .map(|p| rotate(c + p.to_vec2(), c, angle))
    .collect();
    painter.add(Shape::convex_polygon(
        vec![arrow[0], arrow[1], arrow[2]],
        super::ACCENT,
        Stroke::NONE,
    ));
    painter.add(Shape::convex_polygon(
        vec![arrow[0], arrow[2], arrow[3]],
        super::ACCENT,
        Stroke::NONE,
    ));
    painter.circle_filled(tip, 2.0, super::ACCENT);
    painter.text(
        pos2(c.x, rect.bottom() - 6.0),
        egui::Align2::CENTER_BOTTOM,
        format!("{:03.0}°", h.rem_euclid(360.0)),
        egui::FontId::monospace(12.0),
        ink,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_is_clockwise_on_screen() {
        let c = pos2(0.0, 0.0);
        // North (up, -y) rotated by 90° points east (+x).
        let p = rotate(pos2(0.0, -10.0), c, std::f32::consts::FRAC_PI_2);
        assert!((p.x - 10.0).abs() < 1e-4 && p.y.abs() < 1e-4, "{p:?}");
    }

    #[test]
    fn severities_and_fixes_read_as_words() {
        assert_eq!(severity_words(2).0, "CRITICAL");
        assert_eq!(severity_words(6).0, "INFO");
        assert_eq!(fix_words(6), "RTK fixed");
        assert_eq!(fix_words(1), "no fix");
    }
}
