//! The Fleet view's weather limits per drone model: every model in the fleet and the built-in
//! ones, editable, stored by a command; a model never edited shows its built-in defaults.

use super::UiCx;
use crate::gui::command::Command;
use aviary_core::weather::WeatherLimits;
use egui::{RichText, Ui};

/// The collapsible editor.
pub fn limits_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    egui::CollapsingHeader::new("Weather limits per model")
        .id_salt("weather_limits")
        .default_open(false)
        .show(ui, |ui| {
            ui.label(
                RichText::new(
                    "Go / caution / no-go in the Plan and Monitor views, the pre-flight check \
                     and the scheduler use these limits.",
                )
                .weak(),
            );
            egui::Grid::new("limits_grid")
                .num_columns(8)
                .striped(true)
                .spacing([10.0, 4.0])
                .show(ui, |ui| {
                    for h in [
                        "Model",
                        "Max wind",
                        "Max gust",
                        "Rain",
                        "Min temp",
                        "Max temp",
                        "Min visibility",
                        "",
                    ] {
                        ui.label(RichText::new(h).strong());
                    }
                    ui.end_row();
                    for row in &mut cx.state.weather.limits {
                        model_row_ui(ui, row, cx.commands);
                        ui.end_row();
                    }
                });
        });
}

fn model_row_ui(
    ui: &mut Ui,
    row: &mut crate::gui::state::ModelLimits,
    commands: &mut crate::gui::command::CommandQueue,
) {
    let l = &mut row.limits;
    ui.label(if row.edited {
        RichText::new(format!("{} (edited)", row.model)).strong()
    } else {
        RichText::new(&row.model)
    });
    ui.add(
        egui::DragValue::new(&mut l.max_wind_mps)
            .range(1.0..=40.0)
            .speed(0.1)
            .suffix(" m/s"),
    )
    .on_hover_text(format!("{}: max sustained wind", row.model));
    ui.add(
        egui::DragValue::new(&mut l.max_gust_mps)
            .range(1.0..=50.0)
            .speed(0.1)
            .suffix(" m/s"),
    );
    ui.checkbox(&mut l.rain_allowed, "allowed");
    ui.add(
        egui::DragValue::new(&mut l.min_temp_c)
            .range(-60.0..=40.0)
            .speed(0.5)
            .suffix(" °C"),
    );
    ui.add(
        egui::DragValue::new(&mut l.max_temp_c)
            .range(-20.0..=70.0)
            .speed(0.5)
            .suffix(" °C"),
    );
    ui.add(
        egui::DragValue::new(&mut l.min_visibility_m)
            .range(0.0..=20_000.0)
            .speed(50.0)
            .suffix(" m"),
    );
    ui.horizontal(|ui| {
        let valid = l.min_temp_c < l.max_temp_c && l.max_wind_mps <= l.max_gust_mps;
        if ui
            .add_enabled(valid, egui::Button::new(format!("Save {}", row.model)))
            .on_disabled_hover_text("min temperature below max, sustained wind ≤ gusts")
            .clicked()
        {
            commands.send(Command::SetWeatherLimits {
                model: row.model.clone(),
                limits: Some(*l),
            });
        }
        if ui
            .add_enabled(
                row.edited || *l != WeatherLimits::for_model(&row.model),
                egui::Button::new(format!("Defaults {}", row.model)),
            )
            .clicked()
        {
            commands.send(Command::SetWeatherLimits {
                model: row.model.clone(),
                limits: None,
            });
        }
    });
}
