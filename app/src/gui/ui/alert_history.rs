//! The alert history window: every stored alert, newest first, a page at a time, filtered by
//! severity and drone, with when (in the drone's site's time zone) and who acknowledged it.
//! Opened from the Monitor's alert list; the rows are read by `logic` from the store.

use super::UiCx;
use super::alerts::severity_color;
use crate::gui::command::Command;
use crate::gui::state::{AlertHistoryQuery, AlertSeverity, drones_by_name};
use egui::{RichText, Ui};

/// The window, when open.
pub fn alert_history_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    if !cx.state.alert_history.open {
        return;
    }
    let mut open = true;
    let mut query = cx.state.alert_history.query;
    let before = query;
    egui::Window::new("Alert history")
        .open(&mut open)
        .default_size([860.0, 520.0])
        .resizable(true)
        .show(ui.ctx(), |ui| {
            filters_ui(ui, cx, &mut query);
            let h = &cx.state.alert_history;
            ui.horizontal(|ui| {
                if ui
                    .add_enabled(query.page > 0, egui::Button::new("< Newer"))
                    .clicked()
                {
                    query.page -= 1;
                }
                ui.label(format!(
                    "Page {} of {} · {} alerts",
                    query.page + 1,
                    h.pages(),
                    h.total
                ));
                if ui
                    .add_enabled(query.page + 1 < h.pages(), egui::Button::new("Older >"))
                    .clicked()
                {
                    query.page += 1;
                }
            });
            ui.separator();
            if h.rows.is_empty() {
                ui.label(RichText::new("No stored alerts match.").weak());
                return;
            }
            egui::ScrollArea::both()
                .auto_shrink([false, false])
                .show(ui, |ui| {
                    egui::Grid::new("alert_history_grid")
                        .striped(true)
                        .num_columns(6)
                        .show(ui, |ui| {
                            for title in [
                                "Raised",
                                "Severity",
                                "Kind",
                                "Drone",
                                "Message",
                                "Acknowledged",
                            ] {
                                ui.label(RichText::new(title).strong());
                            }
                            ui.end_row();
                            for r in &h.rows {
                                ui.label(&r.raised);
                                match r.severity {
                                    Some(s) => {
                                        ui.label(RichText::new(s.label()).color(severity_color(s)))
                                    }
                                    None => ui.label("—"),
                                };
                                ui.label(&r.kind);
                                ui.label(&r.drone);
                                ui.label(&r.message);
                                if r.acknowledged == "open" {
                                    ui.label(RichText::new("open").strong());
                                } else {
                                    ui.label(format!("acknowledged {}", r.acknowledged));
                                }
                                ui.end_row();
                            }
                        });
                });
        });
    if !open {
        cx.state.alert_history.open = false;
    } else if query != before {
        cx.commands.send(Command::ShowAlertHistory(query));
    }
}

/// Severity and drone filters; a change goes back to the first page.
fn filters_ui(ui: &mut Ui, cx: &UiCx<'_>, query: &mut AlertHistoryQuery) {
    ui.horizontal(|ui| {
        let mut severity = query.severity;
        egui::ComboBox::from_id_salt("alert_history_severity")
            .selected_text(severity.map_or("All severities", AlertSeverity::label))
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut severity, None, "All severities");
                for s in AlertSeverity::ALL {
                    ui.selectable_value(&mut severity, Some(s), s.label());
                }
            });
        let mut drone = query.drone;
        let drone_text = drone.map_or_else(|| "All drones".to_owned(), |d| cx.state.drone_label(d));
        egui::ComboBox::from_id_salt("alert_history_drone")
            .selected_text(drone_text)
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut drone, None, "All drones");
                for d in drones_by_name(&cx.state.drones) {
                    ui.selectable_value(&mut drone, Some(d.drone.id), &d.drone.serial_number);
                }
            });
        if severity != query.severity || drone != query.drone {
            *query = AlertHistoryQuery {
                page: 0,
                severity,
                drone,
            };
        }
    });
}
