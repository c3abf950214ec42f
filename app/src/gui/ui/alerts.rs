//! Alerts as the operator meets them: a banner across the top of the window for open warnings
//! and critical alerts (whatever the view), and the Monitor's list grouped by kind and drone,
//! so a flood of one kind is one row with a count and never buries another kind.

use super::{ERROR, PENDING, UiCx};
use crate::gui::command::{Command, CommandQueue};
use crate::gui::state::{
    AlertGroup, AlertHistoryQuery, AlertSeverity, AppState, View, alert_groups,
};
use egui::{Color32, RichText, Ui};

/// Drone rows shown under an expanded group (the rest are counted).
const DRONE_ROWS_MAX: usize = 25;

/// Colour of a severity.
pub const fn severity_color(severity: AlertSeverity) -> Color32 {
    match severity {
        AlertSeverity::Critical => ERROR,
        AlertSeverity::Warning => PENDING,
        AlertSeverity::Info => Color32::from_rgb(0x1a, 0x4f, 0x8a),
    }
}

/// The banner: the most serious open group (warning or above), its newest message, how many
/// more are open, and buttons to acknowledge it, all, or see the list. Nothing when none.
pub fn banner_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    let groups = alert_groups(&cx.state.alerts);
    let Some(top) = groups
        .iter()
        .find(|g| !g.open_ids.is_empty() && g.severity >= AlertSeverity::Warning)
    else {
        return;
    };
    let open_all: Vec<u64> = groups
        .iter()
        .filter(|g| g.severity >= AlertSeverity::Warning)
        .flat_map(|g| g.open_ids.iter().copied())
        .collect();
    let fill = severity_color(top.severity);
    egui::Panel::top("alert_banner")
        .frame(
            egui::Frame::new()
                .fill(fill)
                .inner_margin(egui::Margin::symmetric(10, 6)),
        )
        .show(ui, |ui| {
            ui.horizontal(|ui| {
                // Buttons first: they stay where they are whatever the message says.
                let ack = egui::Button::new(RichText::new("Acknowledge").color(fill))
                    .fill(Color32::WHITE);
                if ui.add(ack).clicked() {
                    cx.commands
                        .send(Command::AcknowledgeAlerts(top.open_ids.clone()));
                }
                let all = egui::Button::new(
                    RichText::new(format!("Acknowledge all ({})", open_all.len())).color(fill),
                )
                .fill(Color32::WHITE);
                if ui.add(all).clicked() {
                    cx.commands
                        .send(Command::AcknowledgeAlerts(open_all.clone()));
                }
                if cx.state.view != View::Monitor
                    && ui
                        .add(
                            egui::Button::new(RichText::new("Show").color(fill))
                                .fill(Color32::WHITE),
                        )
                        .clicked()
                {
                    cx.state.view = View::Monitor;
                }
                ui.label(
                    RichText::new(banner_text(cx.state, top, open_all.len()))
                        .color(Color32::WHITE)
                        .strong(),
                );
            });
        });
}

/// `CRITICAL · Vehicle fault · MAV-3: GPS Glitch · 1,001 open`.
fn banner_text(state: &AppState, g: &AlertGroup, open_all: usize) -> String {
    let newest = g
        .drones
        .iter()
        .filter(|r| !r.open_ids.is_empty())
        .max_by_key(|r| r.latest_time);
    let message = newest.map_or_else(String::new, |r| {
        let who = r.drone.map(|d| state.drone_label(d));
        match who {
            Some(who) if !r.latest_message.contains(&who) => {
                format!("{who}: {}", r.latest_message)
            }
            _ => r.latest_message.clone(),
        }
    });
    let more = if g.open_ids.len() > 1 {
        format!(" (+{} more of this kind)", g.open_ids.len() - 1)
    } else {
        String::new()
    };
    format!(
        "{} · {} · {message}{more} · {open_all} open",
        g.severity.label().to_uppercase(),
        g.kind.label()
    )
}

/// The Monitor's alert list, grouped by kind and then drone.
pub fn alerts_ui(ui: &mut Ui, state: &AppState, commands: &mut CommandQueue) {
    let groups = alert_groups(&state.alerts);
    let open: Vec<u64> = groups
        .iter()
        .flat_map(|g| g.open_ids.iter().copied())
        .collect();
    ui.horizontal(|ui| {
        ui.label(RichText::new(format!("Alerts ({} open)", open.len())).strong());
        if ui
            .add_enabled(
                !open.is_empty(),
                egui::Button::new("Acknowledge all").small(),
            )
            .clicked()
        {
            commands.send(Command::AcknowledgeAlerts(open.clone()));
        }
        if ui
            .add(egui::Button::new("Alert history…").small())
            .on_hover_text("Every stored alert, newest first, with who acknowledged it")
            .clicked()
        {
            commands.send(Command::ShowAlertHistory(AlertHistoryQuery {
                page: 0,
                ..state.alert_history.query
            }));
        }
    });
    if groups.is_empty() {
        ui.label(RichText::new("No alerts.").weak());
    }
    for g in &groups {
        let open_n = g.open_ids.len();
        let color = if open_n == 0 {
            ui.visuals().weak_text_color()
        } else {
            severity_color(g.severity)
        };
        let drones = g.drones.iter().filter(|r| r.drone.is_some()).count();
        let title = format!(
            "{} · {} — {open_n} open of {}{}",
            g.severity.label(),
            g.kind.label(),
            g.total,
            if drones > 1 {
                format!(" on {drones} drones")
            } else {
                String::new()
            }
        );
        let id = ui.make_persistent_id(("alert_group", g.kind.label()));
        egui::collapsing_header::CollapsingState::load_with_default_open(
            ui.ctx(),
            id,
            g.drones.len() <= 3,
        )
        .show_header(ui, |ui| {
            if ui
                .add_enabled(open_n > 0, egui::Button::new("Ack group").small())
                .on_hover_text(format!("Acknowledge every open '{}' alert", g.kind.label()))
                .clicked()
            {
                commands.send(Command::AcknowledgeAlerts(g.open_ids.clone()));
            }
            ui.label(RichText::new(title).color(color).strong());
        })
        .body(|ui| {
            for r in g.drones.iter().take(DRONE_ROWS_MAX) {
                ui.horizontal(|ui| {
                    if ui
                        .add_enabled(!r.open_ids.is_empty(), egui::Button::new("Ack").small())
                        .clicked()
                    {
                        commands.send(Command::AcknowledgeAlerts(r.open_ids.clone()));
                    }
                    let who = r
                        .drone
                        .map_or_else(|| "—".to_owned(), |d| state.drone_label(d));
                    let count = if r.total > 1 {
                        format!(" ×{}", r.total)
                    } else {
                        String::new()
                    };
                    let c = if r.open_ids.is_empty() {
                        ui.visuals().weak_text_color()
                    } else {
                        color
                    };
                    ui.label(
                        RichText::new(format!(
                            "{} {who}{count}: {}",
                            r.latest_time.format("%H:%M:%S"),
                            r.latest_message
                        ))
                        .color(c),
                    );
                });
            }
            if g.drones.len() > DRONE_ROWS_MAX {
                ui.label(
                    RichText::new(format!(
                        "… and {} more drones",
                        g.drones.len() - DRONE_ROWS_MAX
                    ))
                    .weak(),
                );
            }
        });
    }
}
