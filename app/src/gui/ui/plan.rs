//! The Plan view's side panel: polygon (draw on the map or type it), undo/redo, pattern and
//! parameters, live estimates, import/export, drone assignment and saving, terrain
//! (`plan_terrain`), the weather.

use super::{ERROR, PENDING, UiCx, fmt_area, fmt_distance, fmt_duration};
use crate::gui::command::{Command, ExportFormat};
use crate::gui::state::{AppState, area_distance_m, drones_by_name};
use aviary_core::{DroneStatus, FlightPattern};
use egui::{RichText, Ui};

/// The side panel.
pub fn plan_panel_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    let before = cx.state.plan.revision;
    ui.heading("Plan a survey");
    ui.add_space(4.0);

    // --- area ---
    ui.label(RichText::new("Survey area").strong());
    ui.horizontal_wrapped(|ui| {
        let ed = &mut cx.state.plan;
        let label = if ed.drawing { "Done drawing" } else { "Draw on map" };
        if ui.selectable_label(ed.drawing, label).on_hover_text("Click to add vertices, drag to move, right-click to delete, click a midpoint to insert").clicked() {
            ed.drawing = !ed.drawing;
        }
        if ui.add_enabled(!ed.undo.is_empty(), egui::Button::new("Undo")).clicked() {
            ed.undo();
        }
        if ui.add_enabled(!ed.redo.is_empty(), egui::Button::new("Redo")).clicked() {
            ed.redo();
        }
        if ui.add_enabled(!ed.vertices.is_empty(), egui::Button::new("Clear")).clicked() {
            ed.set_vertices(Vec::new());
        }
    });
    ui.horizontal(|ui| {
        if ui
            .button("Import area...")
            .on_hover_text(
                "GeoJSON, KML, KMZ or Shapefile, or a mission: QGroundControl .plan, QGC WPL 110 \
                 (or drop the file on the window, in any view)",
            )
            .clicked()
        {
            cx.commands.send(Command::ImportArea);
        }
        ui.label(RichText::new(format!("{} vertices", cx.state.plan.vertices.len())).weak());
    });
    let label = ui.label(RichText::new("Vertices (lat, lon per line)").small());
    let ed = &mut cx.state.plan;
    ui.add(
        egui::TextEdit::multiline(&mut ed.vertices_text)
            .id_salt("vertices_text")
            .desired_rows(4)
            .desired_width(f32::INFINITY)
            .font(egui::TextStyle::Monospace)
            .hint_text("37.8080, -122.4177"),
    )
    .labelled_by(label.id);
    if ui.button("Apply vertices").clicked() {
        ed.apply_text();
    }
    if let Some(e) = &ed.vertices_error {
        ui.colored_label(ERROR, e);
    }
    ui.separator();
    no_fly_ui(ui, cx);
    ui.separator();

    // --- pattern and parameters ---
    let ed = &mut cx.state.plan;
    ui.label(RichText::new("Pattern").strong());
    ui.horizontal_wrapped(|ui| {
        for p in FlightPattern::ALL {
            let label = match p {
                FlightPattern::Lawnmower => "Lawnmower",
                FlightPattern::Crosshatch => "Crosshatch",
                FlightPattern::Perimeter => "Perimeter",
                FlightPattern::Spiral => "Spiral",
            };
            if ui.selectable_label(ed.pattern == p, label).clicked() && ed.pattern != p {
                ed.pattern = p;
                ed.revision += 1;
            }
        }
    });
    let mut params = ed.params.clone();
    egui::Grid::new("plan_params")
        .num_columns(2)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            ui.label("Altitude");
            ui.add(
                egui::DragValue::new(&mut params.altitude_m)
                    .range(5.0..=500.0)
                    .suffix(" m")
                    .speed(1.0),
            );
            ui.end_row();
            ui.label("Speed");
            ui.add(
                egui::DragValue::new(&mut params.speed_mps)
                    .range(1.0..=25.0)
                    .suffix(" m/s")
                    .speed(0.1),
            );
            ui.end_row();
            ui.label("Side overlap");
            ui.add(
                egui::DragValue::new(&mut params.side_overlap_pct)
                    .range(0.0..=95.0)
                    .suffix(" %")
                    .speed(1.0),
            );
            ui.end_row();
            ui.label("Front overlap");
            ui.add(
                egui::DragValue::new(&mut params.front_overlap_pct)
                    .range(0.0..=95.0)
                    .suffix(" %")
                    .speed(1.0),
            );
            ui.end_row();
            ui.label("Camera");
            let cameras = aviary_planner::BUILTIN_CAMERAS;
            let current = params
                .camera
                .as_deref()
                .and_then(|n| cameras.iter().find(|c| c.name.eq_ignore_ascii_case(n)))
                .or(cameras.first());
            let combo = egui::ComboBox::from_id_salt("plan_camera")
                .selected_text(current.map_or("—", |c| c.model))
                .width(180.0)
                .show_ui(ui, |ui| {
                    for c in cameras {
                        let chosen = current.is_some_and(|cur| cur.name == c.name);
                        let text = format!(
                            "{} ({:.1} × {:.1} mm, {:.1} mm lens, {} px)",
                            c.model,
                            c.camera.sensor_width_mm,
                            c.camera.sensor_height_mm,
                            c.camera.focal_length_mm,
                            c.camera.image_width_px
                        );
                        if ui.selectable_label(chosen, text).clicked() {
                            params.camera = Some(c.name.to_owned());
                        }
                    }
                });
            super::name_combo(&combo.response, "Camera");
            ui.end_row();
            ui.label("Sweep angle");
            ui.horizontal(|ui| {
                let mut auto = params.sweep_angle_deg.is_none();
                if ui
                    .checkbox(&mut auto, "Auto")
                    .on_hover_text("Choose the angle that gives the shortest path")
                    .changed()
                {
                    params.sweep_angle_deg = if auto { None } else { Some(0.0) };
                }
                if let Some(angle) = &mut params.sweep_angle_deg {
                    ui.add(
                        egui::DragValue::new(angle)
                            .range(0.0..=179.0)
                            .suffix("°")
                            .speed(1.0),
                    );
                }
            });
            ui.end_row();
        });
    if params != ed.params {
        ed.params = params;
        ed.revision += 1;
    }
    ui.separator();

    // --- estimates ---
    ui.label(RichText::new("Estimates").strong());
    let planning = ed.requested_revision == ed.revision
        && ed.current_preview().is_none()
        && ed.preview_error.is_none();
    if ed.vertices.len() < 3 {
        ui.label(RichText::new("Draw or import an area with at least 3 vertices.").weak());
    } else if let Some(e) = &ed.preview_error {
        ui.colored_label(ERROR, e);
    } else if let Some(p) = ed.any_preview() {
        let stale = ed.current_preview().is_none();
        egui::Grid::new("plan_estimates")
            .num_columns(2)
            .spacing([12.0, 3.0])
            .show(ui, |ui| {
                for (k, v) in [
                    ("Area", fmt_area(p.area_m2)),
                    ("Waypoints", p.item_count.to_string()),
                    ("Distance", fmt_distance(p.distance_m)),
                    ("Duration", fmt_duration(p.duration_s)),
                    ("Photos", p.photos.to_string()),
                    ("Sorties", p.sorties.to_string()),
                    ("Battery", format!("{:.0} %", p.battery_pct)),
                    ("Altitude flown", format!("{:.0} m", p.alt_rel_m)),
                    ("Line spacing", format!("{:.1} m", p.line_spacing_m)),
                    (
                        "GSD",
                        p.gsd_cm_px
                            .map_or_else(|| "—".to_owned(), |g| format!("{g:.2} cm/px")),
                    ),
                ] {
                    ui.label(k);
                    ui.label(RichText::new(v).monospace());
                    ui.end_row();
                }
            });
        for w in &p.warnings {
            ui.colored_label(PENDING, format!("Warning: {w}"));
        }
        if stale {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label("updating…");
            });
        }
    } else if planning {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("planning…");
        });
    }
    ui.separator();

    // --- mission ---
    ui.label(RichText::new("Mission").strong());
    let state = &mut *cx.state;
    egui::Grid::new("plan_mission")
        .num_columns(2)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            let label = ui.label("Name");
            ui.add(
                egui::TextEdit::singleline(&mut state.plan.name)
                    .id_salt("mission_name")
                    .desired_width(200.0),
            )
            .labelled_by(label.id);
            ui.end_row();
            ui.label("Site");
            let site_name = state
                .plan
                .site
                .and_then(|id| state.site(id))
                .map(|s| s.name.clone())
                .unwrap_or_default();
            let combo = egui::ComboBox::from_id_salt("plan_site")
                .selected_text(site_name)
                .show_ui(ui, |ui| {
                    for s in &state.sites {
                        if ui
                            .selectable_label(state.plan.site == Some(s.id), &s.name)
                            .clicked()
                            && state.plan.site != Some(s.id)
                        {
                            state.plan.site = Some(s.id);
                            state.plan.drone = None;
                            state.plan.revision += 1;
                        }
                    }
                });
            super::name_combo(&combo.response, "Site");
            ui.end_row();
            ui.label("Drone");
            let drone_name = state
                .plan
                .drone
                .map_or_else(|| "— none —".to_owned(), |d| state.drone_label(d));
            let combo = egui::ComboBox::from_id_salt("plan_drone")
                .selected_text(drone_name)
                .show_ui(ui, |ui| {
                    if ui
                        .selectable_label(state.plan.drone.is_none(), "— none —")
                        .clicked()
                    {
                        state.plan.drone = None;
                    }
                    for d in drones_by_name(&state.drones)
                        .into_iter()
                        .filter(|d| Some(d.drone.site_id) == state.plan.site)
                    {
                        let ok = d.drone.status == DroneStatus::Available;
                        let text = format!("{} ({})", d.drone.serial_number, d.drone.status);
                        if ui
                            .add_enabled(
                                ok,
                                egui::Button::selectable(
                                    state.plan.drone == Some(d.drone.id),
                                    text,
                                ),
                            )
                            .clicked()
                        {
                            state.plan.drone = Some(d.drone.id);
                            state.plan.revision += 1;
                        }
                    }
                });
            super::name_combo(&combo.response, "Drone");
            ui.end_row();
        });
    far_from_home_ui(ui, state);
    ui.add_space(6.0);
    let ready = state.plan.current_preview().cloned();
    ui.horizontal(|ui| {
        let save = ui.add_enabled(
            ready.is_some() && state.plan.site.is_some(),
            egui::Button::new(RichText::new("Save mission").strong()),
        );
        if save.clicked()
            && let (Some(plan), Some(site)) = (ready.clone(), state.plan.site)
        {
            cx.commands.send(Command::SaveMission {
                name: state.plan.name.clone(),
                site,
                drone: state.plan.drone,
                area: state.plan.area(),
                pattern: state.plan.pattern,
                params: state.plan.params.clone(),
                plan,
            });
        }
    });
    ui.horizontal_wrapped(|ui| {
        ui.label("Export:");
        for f in ExportFormat::ALL {
            if ui
                .add_enabled(ready.is_some(), egui::Button::new(f.label()))
                .clicked()
            {
                cx.commands.send(Command::ExportPlan(f));
            }
        }
    });

    ui.separator();
    super::plan_terrain::plan_terrain_ui(ui, cx);
    ui.separator();
    let state = &mut *cx.state;
    plan_weather_ui(ui, state);

    // The plan changed: ask for a new preview (in the background).
    let ed = &state.plan;
    if ed.revision != before || (ed.requested_revision != ed.revision && ed.vertices.len() >= 3) {
        request_preview(state, cx.commands);
    }
}

/// The weather for the plan's site, drone model and window (evaluated by `logic` from the
/// site's latest report).
fn plan_weather_ui(ui: &mut Ui, state: &mut crate::gui::state::AppState) {
    ui.label(RichText::new("Weather").strong());
    ui.horizontal(|ui| {
        ui.label("Window starts in");
        ui.add(
            egui::DragValue::new(&mut state.weather.plan_start_in_min)
                .range(0..=2_880)
                .speed(5.0)
                .suffix(" min"),
        )
        .on_hover_text("The mission's window: this start plus the estimated duration");
    });
    match &state.weather.plan {
        Some(v) => super::weather::verdict_ui(ui, v, "plan_weather_reasons"),
        None => {
            ui.label(RichText::new("Choose a site to see its weather.").weak());
        }
    }
}

/// Queues a background plan of the editor's current revision.
fn request_preview(
    state: &mut crate::gui::state::AppState,
    commands: &mut crate::gui::command::CommandQueue,
) {
    let ed = &mut state.plan;
    if ed.vertices.len() < 3 {
        ed.preview = None;
        ed.preview_error = None;
        ed.requested_revision = ed.revision;
        return;
    }
    ed.requested_revision = ed.revision;
    let home = ed
        .drone
        .and_then(|d| state.drones.get(&d))
        .map(|d| d.drone.home)
        .or_else(|| {
            ed.site
                .and_then(|s| state.sites.iter().find(|x| x.id == s))
                .map(|s| s.location)
        });
    commands.send(Command::PlanPreview {
        revision: ed.revision,
        area: ed.area(),
        pattern: ed.pattern,
        params: ed.params.clone(),
        home,
        no_fly: ed.no_fly_areas(),
        alt_mode: ed.alt_mode,
        terrain_tolerance_m: ed.terrain_tolerance_m,
    });
}

/// No-fly zones: draw one on the map, import a file of them, list and delete.
fn no_fly_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    ui.label(RichText::new("No-fly zones").strong());
    let ed = &mut cx.state.plan;
    let mut drawing = None;
    ui.horizontal_wrapped(|ui| {
        if let Some(zone) = &ed.drawing_no_fly {
            let n = zone.len();
            if ui
                .button("Finish zone")
                .on_hover_text("Close the zone (at least 3 vertices)")
                .clicked()
            {
                // A refused zone keeps drawing and shows why below.
                let _ = ed.finish_no_fly();
            }
            if ui.button("Cancel zone").clicked() {
                ed.cancel_no_fly();
            }
            drawing = Some(n);
        } else if ui
            .button("Draw zone")
            .on_hover_text("Click the map to place the zone's vertices, then Finish zone")
            .clicked()
        {
            ed.start_no_fly();
        }
        if ui
            .button("Import zones...")
            .on_hover_text("Every polygon of a GeoJSON, KML, KMZ or Shapefile becomes a zone")
            .clicked()
        {
            cx.commands.send(Command::ImportNoFly);
        }
    });
    if let Some(n) = drawing {
        ui.label(RichText::new(format!("{n} vertices: click the map to add")).color(PENDING));
    }
    let ed = &mut cx.state.plan;
    if let Some(e) = &ed.no_fly_error {
        ui.colored_label(ERROR, e);
    }
    if ed.no_fly.is_empty() && ed.drawing_no_fly.is_none() {
        ui.label(RichText::new("None: the path may go anywhere in the area.").weak());
    }
    let mut remove = None;
    for (i, zone) in ed.no_fly.iter().enumerate() {
        ui.horizontal(|ui| {
            ui.label(format!(
                "Zone {} · {} vertices · {}",
                i + 1,
                zone.len(),
                fmt_area(zone_area_m2(zone))
            ));
            if ui
                .small_button("Delete")
                .on_hover_text(format!("Delete no-fly zone {}", i + 1))
                .clicked()
            {
                remove = Some(i);
            }
        });
    }
    if let Some(i) = remove {
        ed.remove_no_fly(i);
    }
}

/// Area of a small ring (a no-fly zone): the shoelace formula on an equirectangular frame at the
/// ring's mean latitude, good to a fraction of a percent over a few kilometres.
fn zone_area_m2(ring: &[aviary_core::LatLon]) -> f64 {
    if ring.len() < 3 {
        return 0.0;
    }
    let lat0 = ring.iter().map(|p| p.lat_deg).sum::<f64>() / ring.len() as f64;
    let m_per_deg = aviary_core::geo::EARTH_RADIUS_M.to_radians();
    let kx = m_per_deg * lat0.to_radians().cos();
    let xy = |p: &aviary_core::LatLon| (p.lon_deg * kx, p.lat_deg * m_per_deg);
    let twice: f64 = ring
        .iter()
        .zip(ring.iter().cycle().skip(1))
        .map(|(a, b)| {
            let ((x1, y1), (x2, y2)) = (xy(a), xy(b));
            x1 * y2 - x2 * y1
        })
        .sum();
    twice.abs() / 2.0
}

/// A warning when the survey lies further from the assigned drone's home than the pre-flight
/// check allows (a survey saved 8,800 km away must not pass without a word).
fn far_from_home_ui(ui: &mut Ui, state: &AppState) {
    let Some(d) = state.plan.drone.and_then(|id| state.drones.get(&id)) else {
        return;
    };
    let limit_m = aviary_core::preflight::PreflightConfig::default().max_home_distance_m;
    match area_distance_m(&state.plan.vertices, d.drone.home) {
        Some(dist_m) if dist_m > limit_m => {
            ui.colored_label(
                ERROR,
                format!(
                    "The survey is {} from {}'s home (pre-flight allows {}): check the area or the drone.",
                    fmt_distance(dist_m),
                    d.drone.serial_number,
                    fmt_distance(limit_m)
                ),
            );
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::zone_area_m2;
    use aviary_core::LatLon;

    #[test]
    fn zone_area_of_a_square_of_200_m() {
        let c = LatLon::new(51.92, 4.48);
        let ring = [
            c,
            c.offset_ne(0.0, 200.0),
            c.offset_ne(200.0, 200.0),
            c.offset_ne(200.0, 0.0),
        ];
        let a = zone_area_m2(&ring);
        assert!((a - 40_000.0).abs() < 100.0, "{a} m²");
        assert!(zone_area_m2(&ring[..2]).abs() < f64::EPSILON);
    }
}
