//! The central map of the Plan, Monitor, History and Simulator views: basemap, tiles and the
//! overlays that view needs, plus zoom and site buttons.

use super::UiCx;
use crate::gui::map::drones::DronesOverlay;
use crate::gui::map::overlays::{
    HomesOverlay, PathOverlay, PlanEditOverlay, ReplayOverlay, SurveyOverlay, TrailsOverlay,
};
use crate::gui::map::to_position;
use crate::gui::state::{AppState, View};
use aviary_core::LatLon;
use egui::{Color32, DragPanButtons, RichText, Ui};
use walkers::{Map, MercatorProjection, Projector};

/// Draws the map for the current view.
pub fn map_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    let state = &mut *cx.state;
    let map = &mut *cx.map;
    if !map.centred
        && let Some(site) = state.sites.first()
    {
        map.memory
            .center_at(to_position(site.location.offset_ne(180.0, 220.0)));
        map.centred = true;
    }
    let home = state
        .sites
        .first()
        .map_or(LatLon::new(0.0, 0.0), |s| s.location);
    let my_position = to_position(home);
    let rect = ui.available_rect_before_wrap();
    if let Some((sw, ne)) = state.map_focus.take() {
        let centre = LatLon::new(
            f64::midpoint(sw.lat_deg, ne.lat_deg),
            f64::midpoint(sw.lon_deg, ne.lon_deg),
        );
        map.memory.center_at(to_position(centre));
        let _ = map
            .memory
            .set_zoom(fit_zoom(sw, ne, rect.width(), rect.height()));
        map.centred = true;
    }
    // The basemap goes under the tiles: wherever a tile is missing, it shows through.
    if let Some(basemap) = &map.basemap {
        let projector = Projector::new(rect, &MercatorProjection, &map.memory, my_position);
        basemap.paint(&ui.painter_at(rect), &projector, rect, map.fill);
    }
    let attribution = map.tiles.as_ref().map(|t| t.attribution_text().to_owned());
    let view = state.view;
    let tiles = map.tiles.as_mut().map(|t| t as &mut dyn walkers::Tiles);
    // The editor is borrowed mutably by its overlay; the path it previews is drawn from a copy.
    let preview_path = if view == View::Plan {
        state.plan.any_preview().map(|p| p.waypoints.clone())
    } else {
        None
    };
    let mut picked = None;
    let mut cluster_focus = None;
    let mut m = Map::new(tiles, &mut map.memory, my_position).zoom_with_ctrl(false);
    let editing = view == View::Plan && (state.plan.drawing || state.plan.drawing_no_fly.is_some());
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
                    .filter(|_| mission.status.is_active())
                    .map(|seq| usize::from(seq).saturating_sub(1));
                m = m.with_plugin(PathOverlay {
                    waypoints: &mission.waypoints,
                    color: Color32::from_rgb(0xe6, 0x5c, 0x00),
                    current,
                });
            }
            m = m.with_plugin(TrailsOverlay {
                drones: &state.drones,
                cache: &mut map.trails,
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
            focus: &mut cluster_focus,
        });
    }
    let response = ui.add(m);
    if cluster_focus.is_some() {
        // A click on a cluster of drones zooms in on it.
        state.map_focus = cluster_focus;
    }
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
    // The visible area, for the Offline maps window.
    let projector = Projector::new(response.rect, &MercatorProjection, &map.memory, my_position);
    let sw =
        crate::gui::map::from_position(projector.unproject(response.rect.left_bottom().to_vec2()));
    let ne =
        crate::gui::map::from_position(projector.unproject(response.rect.right_top().to_vec2()));
    state.offline.visible = Some((sw, ne, map.memory.zoom()));
    if let Some(problem) = map.tiles.as_ref().and_then(|t| t.problem()) {
        tiles_problem_ui(ui, response.rect, problem);
    }
    let lat_deg = map
        .memory
        .detached()
        .map_or(home.lat_deg, walkers::geo_types::Point::y);
    scale_bar_ui(ui, response.rect, lat_deg, map.memory.zoom());
    map_controls_ui(ui, cx, response.rect, attribution);
}

/// A scale bar in the map's bottom-left corner (Web Mercator, 256-pixel tiles).
fn scale_bar_ui(ui: &Ui, rect: egui::Rect, lat_deg: f64, zoom: f64) {
    let m_per_px = 156_543.034 * lat_deg.to_radians().cos() / 2f64.powf(zoom);
    if !m_per_px.is_finite() || m_per_px <= 0.0 {
        return;
    }
    let max_m = 120.0 * m_per_px;
    let exp = 10f64.powf(max_m.log10().floor());
    let nice = [5.0, 2.0, 1.0]
        .into_iter()
        .map(|k| k * exp)
        .find(|v| *v <= max_m)
        .unwrap_or(exp);
    let len_px = (nice / m_per_px) as f32;
    let painter = ui.painter_at(rect);
    let base = rect.left_bottom() + egui::vec2(14.0, -16.0);
    let stroke = egui::Stroke::new(2.0, Color32::from_gray(40));
    painter.rect_filled(
        egui::Rect::from_min_max(
            base + egui::vec2(-6.0, -22.0),
            base + egui::vec2(len_px + 6.0, 6.0),
        ),
        3.0,
        Color32::from_white_alpha(200),
    );
    painter.line_segment([base, base + egui::vec2(len_px, 0.0)], stroke);
    painter.line_segment([base, base + egui::vec2(0.0, -5.0)], stroke);
    painter.line_segment(
        [
            base + egui::vec2(len_px, 0.0),
            base + egui::vec2(len_px, -5.0),
        ],
        stroke,
    );
    let label = if nice >= 1000.0 {
        format!("{:.0} km", nice / 1000.0)
    } else {
        format!("{nice:.0} m")
    };
    painter.text(
        base + egui::vec2(len_px / 2.0, -8.0),
        egui::Align2::CENTER_BOTTOM,
        label,
        egui::FontId::proportional(11.0),
        Color32::from_gray(30),
    );
}

fn map_controls_ui(ui: &mut Ui, cx: &mut UiCx<'_>, rect: egui::Rect, attribution: Option<String>) {
    let map = &mut *cx.map;
    egui::Area::new(egui::Id::unique("map_controls"))
        .fixed_pos(rect.right_top() + egui::vec2(-168.0, 10.0))
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
                if ui.button("Offline maps…").clicked() {
                    cx.state.offline.open = true;
                    cx.commands
                        .send(crate::gui::command::Command::OfflineMapsList);
                }
                goto_ui(ui, &mut map.goto_text, &mut map.goto_error, cx.state);
                ui.label(RichText::new("Go to site").small().weak());
                for site in &cx.state.sites {
                    if ui.button(&site.name).clicked() {
                        map.memory
                            .center_at(to_position(site.location.offset_ne(180.0, 220.0)));
                        let _ = map.memory.set_zoom(16.0);
                    }
                }
                if !cx.state.server.sites.is_empty() {
                    ui.label(RichText::new("Fleet server").small().weak());
                    for site in &cx.state.server.sites {
                        if ui.button(&site.name).clicked()
                            && let Ok(at) =
                                aviary_core::LatLon::checked(site.location.lat, site.location.lon)
                        {
                            map.memory
                                .center_at(to_position(at.offset_ne(180.0, 220.0)));
                            let _ = map.memory.set_zoom(16.0);
                        }
                    }
                }
            });
        });
    let note = match attribution {
        Some(a) => format!("{a} · basemap: Natural Earth"),
        None => "Offline basemap: Natural Earth".to_owned(),
    };
    egui::Area::new(egui::Id::unique("map_attribution"))
        .fixed_pos(rect.right_bottom() + egui::vec2(-330.0, -24.0))
        .show(ui.ctx(), |ui| {
            ui.label(
                RichText::new(note)
                    .small()
                    .background_color(Color32::from_white_alpha(200))
                    .color(Color32::DARK_GRAY),
            );
        });
}

/// The "Go to coordinates" field: `lat, lon` in degrees; Enter or Go moves the map there (a
/// box of 500 m around the point), a bad text says why under the field.
fn goto_ui(ui: &mut Ui, text: &mut String, error: &mut Option<String>, state: &mut AppState) {
    ui.label(RichText::new("Go to coordinates").small().weak());
    let (field, go) = ui
        .horizontal(|ui| {
            let field = ui.add(
                egui::TextEdit::singleline(text)
                    .hint_text("lat, lon")
                    .desired_width(88.0),
            );
            (field, ui.small_button("Go"))
        })
        .inner;
    let entered = field.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
    if (entered || go.clicked()) && !text.trim().is_empty() {
        match text.trim().parse::<LatLon>() {
            Ok(p) => {
                state.map_focus = Some((p.offset_ne(-250.0, -250.0), p.offset_ne(250.0, 250.0)));
                *error = None;
            }
            Err(e) => *error = Some(e),
        }
    }
    if let Some(e) = error {
        ui.label(RichText::new(e.as_str()).small().color(super::ERROR));
    }
}

/// A notice across the top of the map: why tiles do not load, and what still shows.
fn tiles_problem_ui(ui: &Ui, rect: egui::Rect, problem: &str) {
    egui::Area::new(egui::Id::unique("map_tiles_problem"))
        .fixed_pos(rect.left_top() + egui::vec2(10.0, 10.0))
        .show(ui.ctx(), |ui| {
            egui::Frame::popup(ui.style()).show(ui, |ui| {
                ui.set_max_width((rect.width() - 200.0).max(200.0));
                ui.label(
                    RichText::new(format!(
                        "Map tiles cannot load: {problem}. Stored offline maps and the basemap still show."
                    ))
                    .color(super::ERROR),
                );
            });
        });
}

/// The web-mercator zoom at which the box `sw`..`ne` fills at most 80 % of a `width_px` ×
/// `height_px` map (tiles of 256 px), between world view (2) and street level (19).
fn fit_zoom(sw: LatLon, ne: LatLon, width_px: f32, height_px: f32) -> f64 {
    let merc_y = |lat: f64| {
        let r = lat.clamp(-85.0, 85.0).to_radians();
        (r.tan() + 1.0 / r.cos()).ln() / std::f64::consts::TAU
    };
    let dx = ((ne.lon_deg - sw.lon_deg) / 360.0).max(1e-9);
    let dy = (merc_y(ne.lat_deg) - merc_y(sw.lat_deg)).max(1e-9);
    let zx = (f64::from(width_px) * 0.8 / (256.0 * dx)).log2();
    let zy = (f64::from(height_px) * 0.8 / (256.0 * dy)).log2();
    zx.min(zy).clamp(2.0, 19.0)
}
