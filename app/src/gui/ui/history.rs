//! The History view: stored missions by site, status and date; replay of a mission's stored
//! telemetry or of a `.tlog` on the map (its controls, timeline and plots are in `replay`).

use super::{UiCx, fmt_distance};
use crate::gui::command::Command;
use aviary_core::MissionStatus;
use egui::{RichText, Ui};

/// The side panel.
pub fn history_panel_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    let state = &mut *cx.state;
    ui.heading("History");
    let h = &mut state.history;
    let mut search = false;
    egui::Grid::new("history_filter")
        .num_columns(2)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            ui.label("Site");
            let site_label = h
                .site
                .and_then(|id| state.sites.iter().find(|s| s.id == id))
                .map_or("All sites", |s| s.name.as_str());
            let combo = egui::ComboBox::from_id_salt("history_site")
                .selected_text(site_label)
                .show_ui(ui, |ui| {
                    search |= ui
                        .selectable_value(&mut h.site, None, "All sites")
                        .clicked();
                    for s in &state.sites {
                        search |= ui
                            .selectable_value(&mut h.site, Some(s.id), &s.name)
                            .clicked();
                    }
                });
            super::name_combo(&combo.response, "Site");
            ui.end_row();
            ui.label("Status");
            let st = h.status.map_or("Any".to_owned(), |s| s.to_string());
            let combo = egui::ComboBox::from_id_salt("history_status")
                .selected_text(st)
                .show_ui(ui, |ui| {
                    search |= ui.selectable_value(&mut h.status, None, "Any").clicked();
                    for s in MissionStatus::ALL
                        .into_iter()
                        .filter(|s| *s != MissionStatus::Deleted)
                    {
                        search |= ui
                            .selectable_value(&mut h.status, Some(s), s.label())
                            .clicked();
                    }
                });
            super::name_combo(&combo.response, "Status");
            ui.end_row();
            ui.label("Created");
            let days = match h.last_days {
                0 => "any time".to_owned(),
                d => format!("last {d} days"),
            };
            let combo = egui::ComboBox::from_id_salt("history_days")
                .selected_text(days)
                .show_ui(ui, |ui| {
                    for (d, l) in [
                        (0, "any time"),
                        (1, "last 1 days"),
                        (7, "last 7 days"),
                        (30, "last 30 days"),
                    ] {
                        search |= ui.selectable_value(&mut h.last_days, d, l).clicked();
                    }
                });
            super::name_combo(&combo.response, "Created");
            ui.end_row();
        });
    ui.horizontal(|ui| {
        search |= ui.button("Search").clicked();
        if ui.button("Open .tlog...").clicked() {
            cx.commands.send(Command::OpenTlog);
        }
    });
    if search {
        cx.commands.send(Command::SearchHistory {
            site: h.site,
            status: h.status,
            last_days: h.last_days,
        });
    }
    ui.separator();
    if h.results.is_empty() {
        ui.label(RichText::new("No missions found (press Search).").weak());
    }
    let mut replay = None;
    let mut report = None;
    for m in &h.results {
        ui.horizontal_wrapped(|ui| {
            let site = state.sites.iter().find(|s| s.id == m.site_id);
            let when = site.map_or_else(
                || m.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                |s| {
                    s.local_time(m.created_at)
                        .format("%Y-%m-%d %H:%M %Z")
                        .to_string()
                },
            );
            ui.label(RichText::new(&m.name).strong());
            ui.label(format!(
                "{} · {when} · {}",
                m.status,
                fmt_distance(m.estimated_distance_m)
            ));
            if m.status != MissionStatus::Planned {
                if ui.small_button("Replay").clicked() {
                    replay = Some(m.id);
                }
                if ui.small_button("PDF report").clicked() {
                    report = Some(m.id);
                }
            }
        });
    }
    if let Some(id) = replay {
        cx.commands.send(Command::ReplayMission(id));
    }
    if let Some(id) = report {
        cx.commands.send(Command::MissionReport(id));
    }
    ui.separator();
    super::replay::replay_controls_ui(ui, cx.state.history.replay.as_mut());
}
