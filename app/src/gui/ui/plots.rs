//! The Monitor's telemetry plots of the selected drone: altitude, speed, heading, battery and
//! link quality over a window the operator picks (30 s to the whole flight), with the link's
//! dropouts drawn as gaps, times read as "-2:30" and a y range that fits the data.

use super::UiCx;
use crate::gui::map::status_color;
use crate::gui::state::{
    AppState, DroneView, PlotSample, PlotWindow, segments, time_tick, y_range,
};
use aviary_core::DroneStatus;
use chrono::{DateTime, Utc};
use egui::{RichText, Ui};

/// One plotted quantity.
struct Quantity {
    name: &'static str,
    unit: &'static str,
    color: egui::Color32,
    /// The value of a sample, `None` when the vehicle does not know it.
    value: fn(&PlotSample) -> Option<f32>,
    /// The smallest y span shown, in the quantity's unit.
    min_span: f64,
    /// The range the quantity cannot leave.
    limits: Option<(f64, f64)>,
}

const PERCENT: Option<(f64, f64)> = Some((0.0, 100.0));

fn quantities() -> [Quantity; 5] {
    [
        Quantity {
            name: "Altitude",
            unit: "m",
            color: egui::Color32::from_rgb(0x1f, 0x6f, 0xd1),
            value: |s| Some(s.alt_rel_m),
            min_span: 5.0,
            limits: None,
        },
        Quantity {
            name: "Speed",
            unit: "m/s",
            color: egui::Color32::from_rgb(0x2e, 0x9e, 0x44),
            value: |s| Some(s.speed_mps),
            min_span: 2.0,
            limits: Some((0.0, f64::MAX)),
        },
        Quantity {
            name: "Heading",
            unit: "°",
            color: egui::Color32::from_rgb(0x8e, 0x44, 0xad),
            value: |s| Some(s.heading_deg),
            min_span: 360.0,
            limits: Some((0.0, 360.0)),
        },
        Quantity {
            name: "Battery",
            unit: "%",
            color: status_color(DroneStatus::Charging),
            value: |s| (s.battery_pct >= 0.0).then_some(s.battery_pct),
            min_span: 10.0,
            limits: PERCENT,
        },
        Quantity {
            name: "Signal",
            unit: "%",
            color: egui::Color32::from_rgb(0x16, 0xa0, 0x85),
            value: |s| (s.signal_pct >= 0.0).then_some(s.signal_pct),
            min_span: 10.0,
            limits: PERCENT,
        },
    ]
}

/// Where the window starts: `length` before now, or for the whole flight when the drone's
/// latest mission started (everything kept when it has flown none).
fn window_start(state: &AppState, d: &DroneView, window: PlotWindow) -> Option<DateTime<Utc>> {
    match window.length_s() {
        Some(s) => Some(state.now - chrono::Duration::seconds(s)),
        None => state
            .missions
            .iter()
            .filter(|m| m.drone_id == Some(d.drone.id))
            .filter_map(|m| m.actual_start)
            .max(),
    }
}

/// Telemetry plots of the selected drone.
pub fn plots_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    let state = &mut *cx.state;
    let Some(d) = state.selected_drone.and_then(|id| state.drones.get(&id)) else {
        ui.centered_and_justified(|ui| {
            ui.label(
                RichText::new("Select a drone on the map or a mission to see its telemetry.")
                    .weak(),
            )
        });
        return;
    };
    if d.plot.is_empty() {
        ui.centered_and_justified(|ui| {
            ui.label(RichText::new(format!("{}: no telemetry yet", d.drone.serial_number)).weak())
        });
        return;
    }
    let mut window = state.plot_window;
    ui.horizontal(|ui| {
        ui.label(RichText::new(format!("Telemetry — {}", d.drone.serial_number)).strong());
        ui.separator();
        for w in PlotWindow::ALL {
            ui.selectable_value(&mut window, w, w.label());
        }
    });
    let now = state.now;
    let since = window_start(state, d, window);
    let samples: Vec<&PlotSample> = match since {
        Some(t) => d.plot.since(t).collect(),
        None => d.plot.iter().collect(),
    };
    // The x axis spans the whole window even before the data fills it.
    let x_min_s = match (window.length_s(), samples.first()) {
        (Some(s), _) => -(s as f64),
        (None, Some(first)) => {
            ((first.time_ms - now.timestamp_millis()) as f64 / 1000.0).min(-30.0)
        }
        (None, None) => -30.0,
    };
    let width = (ui.available_width() / 5.0 - 8.0).max(120.0);
    let height = (ui.available_height() - 8.0).max(80.0);
    ui.horizontal(|ui| {
        for q in quantities() {
            let lines = segments(samples.iter().copied(), now, q.value);
            let (y_lo, y_hi) = y_range(&lines, q.min_span, q.limits).unwrap_or((0.0, q.min_span));
            ui.vertical(|ui| {
                let latest = samples
                    .last()
                    .and_then(|s| (q.value)(s))
                    .map_or_else(|| "unknown".to_owned(), |v| format!("{v:.1}"));
                ui.label(RichText::new(format!("{} ({}): {latest}", q.name, q.unit)).small());
                let unit = q.unit;
                egui_plot::Plot::new(q.name)
                    .width(width)
                    .height(height - 18.0)
                    .allow_scroll(false)
                    .allow_drag(false)
                    .allow_zoom(false)
                    .allow_boxed_zoom(false)
                    .allow_double_click_reset(false)
                    .show_axes([true, true])
                    .y_axis_min_width(28.0)
                    .x_axis_formatter(|mark, _| time_tick(mark.value))
                    .label_formatter(move |pos| {
                        let p = match pos {
                            egui_plot::HoverPosition::NearDataPoint { position, .. }
                            | egui_plot::HoverPosition::Elsewhere { position } => position,
                        };
                        Some(format!("{:.1} {unit} at {}", p.y, time_tick(p.x)))
                    })
                    .show(ui, |p| {
                        p.set_plot_bounds(egui_plot::PlotBounds::from_min_max(
                            [x_min_s, y_lo],
                            [0.0, y_hi],
                        ));
                        for points in lines {
                            p.line(
                                egui_plot::Line::new(q.name, points)
                                    .color(q.color)
                                    .width(1.5),
                            );
                        }
                    });
            });
        }
    });
    state.plot_window = window;
}
