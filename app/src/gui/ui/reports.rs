//! The Reports view: the entry point for mission and fleet reports. It shows the figures the
//! app already holds (fleet per site, open missions); PDF and CSV documents come from the
//! `aviary-reports` crate (also reachable as `aviary report` on the command line).

use super::UiCx;
use aviary_core::MissionStatus;
use egui::{RichText, Ui};

/// The whole view.
pub fn reports_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    let state = &*cx.state;
    ui.heading("Reports");
    ui.label("Fleet and mission figures at a glance. Printable PDF and CSV reports are produced by `aviary report`.");
    ui.add_space(8.0);
    ui.label(RichText::new("Fleet by site").strong());
    egui::Grid::new("report_fleet")
        .striped(true)
        .num_columns(7)
        .spacing([16.0, 4.0])
        .show(ui, |ui| {
            for h in [
                "Site",
                "Time zone",
                "Available",
                "Flying",
                "Charging",
                "Maintenance",
                "Offline",
            ] {
                ui.label(RichText::new(h).strong());
            }
            ui.end_row();
            for s in &state.sites {
                let c = state.fleet_counts.get(&s.id).copied().unwrap_or_default();
                ui.label(&s.name);
                ui.label(s.timezone.name());
                for n in [
                    c.available,
                    c.in_mission,
                    c.charging,
                    c.maintenance,
                    c.offline,
                ] {
                    ui.label(n.to_string());
                }
                ui.end_row();
            }
        });
    ui.add_space(8.0);
    ui.label(RichText::new("Open missions").strong());
    let count = |st: MissionStatus| state.missions.iter().filter(|m| m.status == st).count();
    ui.label(format!(
        "{} planned · {} in progress · {} paused",
        count(MissionStatus::Planned),
        count(MissionStatus::InProgress),
        count(MissionStatus::Paused)
    ));
    if let Some(path) = &state.last_report {
        ui.label(format!("Last report: {path}"));
    }
}
