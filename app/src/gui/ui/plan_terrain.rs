//! The Plan view's terrain: the plan's DEM (imported through the file chooser) or elevation
//! tiles under the planned path (the source of Settings → Terrain), the altitude
//! mode (above home, or above the terrain), the clearance under which legs are marked, and the
//! terrain profile of the planned path (ground, planned altitude, minimum clearance) drawn
//! with `egui_plot` under the map.

use super::{ERROR, OK, PENDING, UiCx, fmt_distance};
use crate::gui::command::Command;
use crate::gui::settings::PlanTerrainSource;
use crate::gui::state::{AltitudeMode, DemUse, PlanTerrain};
use egui::{Color32, RichText, Ui};

/// Ground in the profile.
const GROUND: Color32 = Color32::from_rgb(0x8d, 0x6e, 0x4c);
/// The planned altitude.
const PATH: Color32 = Color32::from_rgb(0x1f, 0x6f, 0xc5);
/// The profile is never drawn lower than this, points: a panel sized to its first frame's
/// content would otherwise keep a flattened plot.
const PLOT_MIN_HEIGHT: f32 = 170.0;

/// The side panel's Terrain section. Changing the mode asks for a new plan (the caller sees
/// the revision change).
pub fn plan_terrain_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    ui.label(RichText::new("Terrain").strong());
    ui.horizontal(|ui| {
        ui.label("From");
        for source in PlanTerrainSource::ALL {
            if ui
                .radio_value(&mut cx.settings.plan_terrain, source, source.label())
                .changed()
            {
                cx.state.plan.revision += 1;
                cx.commands.send(Command::SaveSettings);
            }
        }
    });
    match cx.settings.plan_terrain {
        PlanTerrainSource::DemFile => dem_file_ui(ui, cx),
        PlanTerrainSource::Tiles => {
            let source = cx.settings.terrain_tile_source();
            let zoom = cx.settings.terrain_tile_zoom;
            match source {
                Ok(s) => ui
                    .label(RichText::new(format!("{} at zoom {zoom}", s.name)).weak())
                    .on_hover_text(format!(
                        "{}\nRead from the offline sets and the tile cache, fetched where \
                         missing. Change the source under Settings, Terrain.",
                        s.template
                    )),
                Err(e) => ui.colored_label(ERROR, e.to_string()),
            };
        }
    }
    let ed = &mut cx.state.plan;
    ui.horizontal_wrapped(|ui| {
        ui.label("Altitude");
        for mode in AltitudeMode::ALL {
            if ui
                .radio_value(&mut ed.alt_mode, mode, mode.label())
                .changed()
            {
                ed.revision += 1;
            }
        }
    });
    if ed.alt_mode == AltitudeMode::AboveTerrain {
        ui.horizontal(|ui| {
            let label = ui.label("Tolerance");
            let max_m = (ed.params.altitude_m - 1.0).max(1.0);
            if ui
                .add(
                    egui::DragValue::new(&mut ed.terrain_tolerance_m)
                        .range(0.5..=max_m)
                        .suffix(" m")
                        .speed(0.5),
                )
                .labelled_by(label.id)
                .on_hover_text(
                    "Points are added along the legs wherever the ground departs from the \
                     straight line by more than this: the clearance never falls below the \
                     altitude less it",
                )
                .changed()
            {
                ed.revision += 1;
            }
        });
    }
    ui.horizontal(|ui| {
        let label = ui.label("Mark legs below");
        ui.add(
            egui::DragValue::new(&mut ed.warn_clearance_m)
                .range(0.0..=500.0)
                .suffix(" m")
                .speed(1.0),
        )
        .labelled_by(label.id);
        ui.label("clearance");
    });
    let Some(p) = ed.any_preview() else {
        return;
    };
    let Some(t) = &p.terrain else {
        return;
    };
    let profile = &t.profile;
    let color = if profile.min_clearance_m < ed.warn_clearance_m {
        ERROR
    } else {
        OK
    };
    ui.colored_label(
        color,
        format!(
            "Minimum clearance: {:.1} m ({} along the path)",
            profile.min_clearance_m,
            fmt_distance(profile.min_clearance_at_m)
        ),
    );
    let below = profile.legs_below(ed.warn_clearance_m).count();
    if below == 0 {
        ui.label(format!(
            "No leg below {:.0} m of {}",
            ed.warn_clearance_m,
            profile.legs.len()
        ));
    } else {
        ui.colored_label(
            ERROR,
            format!(
                "{below} of {} legs below {:.0} m (red in the profile)",
                profile.legs.len(),
                ed.warn_clearance_m
            ),
        );
    }
    if let Some(f) = t.following {
        ui.label(
            RichText::new(format!(
                "Following the terrain at {:.0} m ± {:.0} m: {} points added, largest climb {:.0} m",
                f.agl_m, f.tolerance_m, f.inserted_waypoints, f.max_climb_m
            ))
            .weak(),
        );
    }
}

/// The imported DEM file, its buttons and the last refusal.
fn dem_file_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    let choice = cx.state.terrain.choice(DemUse::Plan).clone();
    ui.horizontal_wrapped(|ui| {
        if ui
            .button("Import DEM...")
            .on_hover_text("An SRTM .hgt tile or a GeoTIFF covering the survey and its transits")
            .clicked()
        {
            cx.commands.send(Command::ChooseDem(DemUse::Plan));
        }
        if choice.dem.is_some() && ui.button("Remove DEM").clicked() {
            cx.commands.send(Command::ClearDem(DemUse::Plan));
        }
        match &choice.dem {
            Some(dem) => ui
                .label(RichText::new(&dem.describe).weak())
                .on_hover_text(dem.path.display().to_string()),
            None => ui.label(RichText::new("no DEM").weak()),
        };
    });
    if let Some(e) = &choice.error {
        ui.colored_label(ERROR, e);
    }
}

/// Whether the Plan view has a terrain profile to show.
pub fn has_profile(cx: &UiCx<'_>) -> bool {
    cx.state
        .plan
        .any_preview()
        .is_some_and(|p| p.terrain.is_some())
}

/// The terrain profile of the planned path, under the map.
pub fn terrain_profile_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    let ed = &cx.state.plan;
    let Some(t) = ed.any_preview().and_then(|p| p.terrain.as_ref()) else {
        return;
    };
    let warn_m = ed.warn_clearance_m;
    ui.horizontal(|ui| {
        ui.label(RichText::new("Terrain profile").strong());
        ui.label(
            RichText::new(format!(
                "{} · {} · minimum clearance {:.1} m · legs below {warn_m:.0} m in red",
                t.profile.terrain_source,
                fmt_distance(t.profile.length_m),
                t.profile.min_clearance_m
            ))
            .weak(),
        );
        if ed.current_preview().is_none() {
            ui.label(RichText::new("updating…").color(PENDING));
        }
    });
    profile_plot_ui(ui, t, warn_m);
}

fn profile_plot_ui(ui: &mut Ui, t: &PlanTerrain, warn_m: f64) {
    let points = &t.profile.points;
    let xs: Vec<f64> = points.iter().map(|p| p.s_m).collect();
    let ground: Vec<f64> = points.iter().map(|p| p.ground_m).collect();
    let lo = ground.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = points
        .iter()
        .map(|p| p.alt_m.max(p.ground_m))
        .fold(f64::NEG_INFINITY, f64::max);
    let floor = lo - 0.1 * (hi - lo).max(10.0);
    let floors = vec![floor; xs.len()];
    let path: Vec<[f64; 2]> = points.iter().map(|p| [p.s_m, p.alt_m]).collect();
    let warn_line: Vec<[f64; 2]> = points
        .iter()
        .map(|p| [p.s_m, p.ground_m + warn_m])
        .collect();
    // The planned altitude over each leg below the clearance, in red (the points are in path
    // order, so each leg's are found by bisection).
    let low: Vec<Vec<[f64; 2]>> = t
        .profile
        .legs_below(warn_m)
        .map(|leg| {
            let from = path.partition_point(|q| q[0] < leg.from_s_m);
            let to = path.partition_point(|q| q[0] <= leg.to_s_m);
            path[from..to.max(from)].to_vec()
        })
        .collect();
    let lowest = points
        .iter()
        .min_by(|a, b| a.clearance_m().total_cmp(&b.clearance_m()))
        .map(|p| [p.s_m, p.alt_m]);
    egui_plot::Plot::new("terrain_profile")
        .height((ui.available_height() - 4.0).max(PLOT_MIN_HEIGHT))
        .allow_scroll(false)
        .allow_drag(false)
        .allow_zoom(false)
        .allow_boxed_zoom(false)
        .allow_double_click_reset(false)
        .x_axis_label("along the path (m)")
        .y_axis_label("m AMSL")
        .y_axis_min_width(36.0)
        .legend(egui_plot::Legend::default().position(egui_plot::Corner::LeftTop))
        .include_y(floor)
        .include_y(hi + 0.05 * (hi - lo).max(10.0))
        .show(ui, |p| {
            p.add(
                egui_plot::FilledArea::new("Ground", &xs, &floors, &ground)
                    .fill_color(GROUND.gamma_multiply(0.6))
                    .stroke(egui::Stroke::new(1.0, GROUND)),
            );
            p.line(
                egui_plot::Line::new(format!("Ground + {warn_m:.0} m"), warn_line)
                    .color(Color32::GRAY)
                    .style(egui_plot::LineStyle::dashed_dense())
                    .width(1.0),
            );
            p.line(
                egui_plot::Line::new("Planned altitude", path)
                    .color(PATH)
                    .width(2.0),
            );
            for segment in low {
                p.line(
                    egui_plot::Line::new("Below clearance", segment)
                        .color(ERROR)
                        .width(3.0),
                );
            }
            if let Some(at) = lowest {
                p.points(
                    egui_plot::Points::new("Minimum clearance", vec![at])
                        .color(ERROR)
                        .radius(4.0),
                );
            }
        });
}
