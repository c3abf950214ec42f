//! The central map of the Plan, Monitor, History and Simulator views: basemap, tiles and the
//! overlays that view needs, plus zoom and site buttons.

use super::UiCx;
use crate::gui::map::overlays::{
    DronesOverlay, HomesOverlay, PathOverlay, PlanEditOverlay, ReplayOverlay, SurveyOverlay,
    TrailsOverlay,
};
use crate::gui::map::to_position;
use crate::gui::state::View;
use aviary_core::LatLon;
use egui::{Color32, DragPanButtons, RichText, Ui};
use walkers::{Map, MercatorProjection, Projector, Tiles as _};

/// Draws the map for the current view.
pub fn map_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    let state = &mut *cx.state;
    let map = &mut *cx.map;
    if !map.centred
        && let Some(site) = state.sites.first()
    {
        map.memory
            .center_at(to_position(site.location.offset_ne(0.0, 60.0)));
        map.centred = true;
    }
    let home = state
        .sites
        .first()
        .map_or(LatLon::new(0.0, 0.0), |s| s.location);
    let my_position = to_position(home);
    let rect = ui.available_rect_before_wrap();
    // The basemap goes under the tiles: wherever a tile is missing, it shows through.
    if let Some(basemap) = &map.basemap {
        let projector = Projector::new(rect, &MercatorProjection, &map.memory, my_position);
        basemap.paint(&ui.painter_at(rect), &projector, rect);
    }
    let attribution = map.tiles.as_ref().map(|t| t.attribution().text);
    let view = state.view;
    let tiles = map.tiles.as_mut().map(|t| t as &mut dyn walkers::Tiles);
    // The editor is borrowed mutably by its overlay; the path it previews is drawn from a copy.
    let preview_path = if view == View::Plan {
        state.plan.any_preview().map(|p| p.waypoints.clone())
    } else {
        None
    };
    let mut picked = None;
    let mut m = Map::new(tiles, &mut map.memory, my_position).zoom_with_ctrl(false);
    let editing = view == View::Plan && state.plan.drawing;
    if editing {
        m = m
            .drag_pan_buttons(DragPanButtons::SECONDARY | DragPanButtons::MIDDLE)
            .double_click_to_zoom(false);
    }
    m = m.with_plugin(HomesOverlay {
        drones: &state.drones,
        sites: &state.sites,
    });
    match view {
        View::Plan => {
            if let Some(wps) = &preview_path {
                m = m.with_plugin(PathOverlay {
                    waypoints: wps,
                    color: Color32::from_rgb(0xe6, 0x5c, 0x00),
                    current: None,
                });
            }
            m = m.with_plugin(PlanEditOverlay {
                editor: &mut state.plan,
            });
        }
        View::Monitor | View::Simulator => {
            if let Some(mission) = state
                .selected_mission
                .and_then(|id| state.missions.iter().find(|m| m.id == id))
            {
                m = m.with_plugin(SurveyOverlay {
                    vertices: &mission.survey_area.exterior,
                });
                let current = mission
                    .drone_id
                    .and_then(|d| state.drones.get(&d))
                    .and_then(|d| d.link.current_item)
                    .map(usize::from);
                m = m.with_plugin(PathOverlay {
                    waypoints: &mission.waypoints,
                    color: Color32::from_rgb(0xe6, 0x5c, 0x00),
                    current,
                });
            }
            m = m.with_plugin(TrailsOverlay {
                drones: &state.drones,
            });
        }
        View::History => {
            if let Some(r) = &state.history.replay {
                m = m.with_plugin(PathOverlay {
                    waypoints: &r.waypoints,
                    color: Color32::from_rgb(0xe6, 0x5c, 0x00),
                    current: None,
                });
                m = m.with_plugin(ReplayOverlay { replay: r });
            }
        }
        _ => {}
    }
    if view != View::History {
        m = m.with_plugin(DronesOverlay {
            drones: &state.drones,
            selected: state.selected_drone,
            picked: &mut picked,
        });
    }
    let response = ui.add(m);
    if let Some(id) = picked {
        state.selected_drone = Some(id);
        if let Some(mission) = state
            .missions
            .iter()
            .find(|m| m.drone_id == Some(id) && m.status.is_active())
        {
            state.selected_mission = Some(mission.id);
        }
    }
    map_controls_ui(ui, cx, response.rect, attribution);
}

fn map_controls_ui(
    ui: &mut Ui,
    cx: &mut UiCx<'_>,
    rect: egui::Rect,
    attribution: Option<&'static str>,
) {
    let map = &mut *cx.map;
    egui::Area::new(egui::Id::unique("map_controls"))
        .fixed_pos(rect.right_top() + egui::vec2(-150.0, 10.0))
        .show(ui.ctx(), |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                ui.set_width(130.0);
                ui.horizontal(|ui| {
                    if ui
                        .button(RichText::new(" + ").monospace())
                        .on_hover_text("Zoom in")
                        .clicked()
                    {
                        let _ = map.memory.zoom_in();
                    }
                    if ui
                        .button(RichText::new(" - ").monospace())
                        .on_hover_text("Zoom out")
                        .clicked()
                    {
                        let _ = map.memory.zoom_out();
                    }
                    if ui.button("World").clicked() {
                        let _ = map.memory.set_zoom(2.0);
                    }
                });
                ui.label(RichText::new("Go to site").small().weak());
                for site in &cx.state.sites {
                    if ui.button(&site.name).clicked() {
                        map.memory
                            .center_at(to_position(site.location.offset_ne(0.0, 60.0)));
                        let _ = map.memory.set_zoom(16.0);
                    }
                }
            });
        });
    let note = match attribution {
        Some(a) => a.to_owned(),
        None => "Offline basemap: Natural Earth".to_owned(),
    };
    egui::Area::new(egui::Id::unique("map_attribution"))
        .fixed_pos(rect.right_bottom() + egui::vec2(-260.0, -24.0))
        .show(ui.ctx(), |ui| {
            ui.label(
                RichText::new(note)
                    .small()
                    .background_color(Color32::from_white_alpha(200))
                    .color(Color32::DARK_GRAY),
            );
        });
}
