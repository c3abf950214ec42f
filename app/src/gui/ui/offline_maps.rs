//! The Offline maps window: map or elevation tiles, the visible map area or the plan's area
//! and a zoom range,
//! see the tile count and size, download with a progress bar and cancel, list, size and
//! delete stored sets. Emits `Command`s; `logic` does the work.

use super::{ERROR, OK, UiCx};
use crate::gui::command::{Command, OfflineArea};
use crate::gui::state::OfflineTiles;
use aviary_core::LatLon;
use egui::{Button, RichText, Ui};

/// Highest zoom offered (street level; OpenStreetMap serves up to 19).
const MAX_ZOOM: u8 = 19;
/// Highest zoom of elevation tiles (the Terrarium set stops at 15).
const ELEVATION_MAX_ZOOM: u8 = 15;

/// `n` bytes for people.
pub fn fmt_bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.1} GB", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} MB", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.0} kB", n / 1e3)
    } else {
        format!("{n:.0} B")
    }
}

/// The window, when open.
pub fn offline_maps_ui(ui: &Ui, cx: &mut UiCx<'_>) {
    if !cx.state.offline.open {
        return;
    }
    let plan_area = bounds(&cx.state.plan.vertices);
    let mut open = true;
    egui::Window::new("Offline maps")
        .open(&mut open)
        .default_width(420.0)
        .show(ui.ctx(), |ui| {
            let o = &mut cx.state.offline;
            ui.horizontal(|ui| {
                ui.label(RichText::new("Tiles").strong());
                ui.radio_value(&mut o.tiles, OfflineTiles::Map, "Map");
                ui.radio_value(&mut o.tiles, OfflineTiles::Elevation, "Elevation (terrain)")
                    .on_hover_text(
                        "Terrarium elevation tiles from Settings, Terrain: for planning \
                         over the terrain with no network",
                    );
            });
            let elevation = o.tiles == OfflineTiles::Elevation;
            let max_zoom = if elevation {
                ELEVATION_MAX_ZOOM
            } else {
                MAX_ZOOM
            };
            o.zoom_min = o.zoom_min.min(max_zoom);
            o.zoom_max = o.zoom_max.min(max_zoom);
            ui.label(RichText::new("Area").strong());
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(o.visible.is_some(), Button::new("Use visible map area"))
                    .clicked()
                    && let Some((sw, ne, zoom)) = o.visible
                {
                    o.area = Some((sw, ne));
                    let z = (zoom.floor().max(0.0) as u8).min(MAX_ZOOM);
                    o.zoom_min = z;
                    o.zoom_max = (z + 1).min(MAX_ZOOM);
                }
                if ui
                    .add_enabled(plan_area.is_some(), Button::new("Use plan area"))
                    .clicked()
                {
                    o.area = plan_area;
                }
            });
            match o.area {
                Some((sw, ne)) => ui.label(format!(
                    "{:.5}, {:.5} to {:.5}, {:.5}",
                    sw.lat_deg, sw.lon_deg, ne.lat_deg, ne.lon_deg
                )),
                None => ui.label(RichText::new("No area chosen").weak()),
            };
            ui.horizontal(|ui| {
                ui.label("Zoom from");
                ui.add(egui::DragValue::new(&mut o.zoom_min).range(0..=max_zoom));
                ui.label("to");
                ui.add(egui::DragValue::new(&mut o.zoom_max).range(0..=max_zoom));
            });
            ui.horizontal(|ui| {
                ui.label("Name");
                ui.add(egui::TextEdit::singleline(&mut o.name).id_salt("offline_map_name"));
            });
            let area = o.area.map(|(sw, ne)| OfflineArea {
                sw,
                ne,
                zoom_min: o.zoom_min,
                zoom_max: o.zoom_max,
                elevation,
            });
            // The estimate follows the area, zooms and kind as they change.
            let key = area.map(|a| (a.sw, a.ne, a.zoom_min, a.zoom_max, a.elevation));
            if let Some(a) = area
                && o.estimated_for != key
            {
                o.estimated_for = key;
                o.estimate = None;
                cx.commands.send(Command::OfflineMapsEstimate(a));
            }
            let fits = match &o.estimate {
                Some(Ok((tiles, bytes))) => {
                    ui.label(format!("{tiles} tiles, about {}", fmt_bytes(*bytes)));
                    true
                }
                Some(Err(e)) => {
                    ui.colored_label(ERROR, e);
                    false
                }
                None => false,
            };
            ui.horizontal(|ui| {
                let can = fits && !o.downloading && !o.name.trim().is_empty();
                if ui.add_enabled(can, Button::new("Download")).clicked()
                    && let Some(area) = area
                {
                    cx.commands.send(Command::OfflineMapsDownload {
                        name: o.name.trim().to_owned(),
                        area,
                    });
                }
                if o.downloading && ui.button("Cancel download").clicked() {
                    cx.commands.send(Command::OfflineMapsCancel);
                }
            });
            if o.downloading {
                let p = o.progress;
                ui.add(egui::ProgressBar::new(p.fraction()).text(format!(
                    "{} of {} tiles, {}",
                    p.done + p.failed,
                    p.total,
                    fmt_bytes(p.bytes)
                )));
            }
            if let Some((text, is_error)) = &o.message {
                ui.colored_label(if *is_error { ERROR } else { OK }, text);
            }
            ui.separator();
            ui.label(RichText::new("Stored offline maps").strong());
            if o.sets.is_empty() {
                ui.label(RichText::new("None yet").weak());
            }
            let mut delete = None;
            egui::Grid::new("offline_sets")
                .striped(true)
                .show(ui, |ui| {
                    for set in &o.sets {
                        ui.label(&set.name);
                        ui.label(format!("{} z{}–{}", set.source, set.zooms.0, set.zooms.1));
                        ui.label(format!("{} tiles", set.tiles));
                        ui.label(fmt_bytes(set.size_bytes));
                        if ui
                            .add_enabled(!o.downloading, Button::new("Delete"))
                            .on_hover_text(format!("Delete {}", set.name))
                            .clicked()
                        {
                            delete = Some(set.name.clone());
                        }
                        ui.end_row();
                    }
                });
            if let Some(name) = delete {
                cx.commands.send(Command::OfflineMapsDelete(name));
            }
        });
    if !open {
        cx.state.offline.open = false;
    }
}

/// South-west and north-east corners around `points`.
fn bounds(points: &[LatLon]) -> Option<(LatLon, LatLon)> {
    let first = *points.first()?;
    Some(points.iter().fold((first, first), |(sw, ne), p| {
        (
            LatLon::new(sw.lat_deg.min(p.lat_deg), sw.lon_deg.min(p.lon_deg)),
            LatLon::new(ne.lat_deg.max(p.lat_deg), ne.lon_deg.max(p.lon_deg)),
        )
    }))
}
