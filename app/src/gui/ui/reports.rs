//! The Reports view: the organisation report for a period (PDF and CSV, written by a
//! background job through [`Command::OrgReport`]) and the figures the app already holds
//! (fleet per site, open missions). A mission's report is started from the History view.
//! The same documents come from `aviary report` on the command line.

use super::UiCx;
use crate::gui::command::{Command, OrgReportRequest};
use crate::gui::state::ORG_REPORT_JOB;
use aviary_core::MissionStatus;
use chrono::NaiveDate;
use egui::{RichText, Ui};
use std::path::PathBuf;

/// The whole view.
pub fn reports_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    ui.heading("Reports");
    ui.add_space(4.0);
    org_report_ui(ui, cx);
    ui.add_space(12.0);
    let state = &*cx.state;
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

/// The organisation-report form: period, formats, folder, and the button that emits the
/// command; a progress bar while the job runs.
fn org_report_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    ui.label(RichText::new("Organisation report").strong());
    ui.label(
        "Missions by status, flight hours, distance, area, success rate, per-site charts, drone \
         utilisation and maintenance for a period; the period's mission history as CSV.",
    );
    let form = &mut cx.state.org_report;
    let parse = |s: &str| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok();
    egui::Grid::new("org_report_form")
        .num_columns(2)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            let label = ui.label("From (UTC day)");
            ui.add(
                egui::TextEdit::singleline(&mut form.from)
                    .desired_width(110.0)
                    .hint_text("YYYY-MM-DD"),
            )
            .labelled_by(label.id);
            ui.end_row();
            let label = ui.label("To (inclusive)");
            ui.add(
                egui::TextEdit::singleline(&mut form.to)
                    .desired_width(110.0)
                    .hint_text("YYYY-MM-DD"),
            )
            .labelled_by(label.id);
            ui.end_row();
            ui.label("Formats");
            ui.horizontal(|ui| {
                ui.checkbox(&mut form.pdf, "PDF");
                ui.checkbox(&mut form.csv, "CSV (mission history)");
            });
            ui.end_row();
            let label = ui.label("Folder");
            ui.add(
                egui::TextEdit::singleline(&mut form.out_dir)
                    .desired_width(320.0)
                    .hint_text("empty: choose when writing"),
            )
            .labelled_by(label.id);
            ui.end_row();
        });
    let from = parse(&form.from);
    let to = parse(&form.to);
    let problem = match (from, to) {
        (None, _) => Some("the start day is not a date (YYYY-MM-DD)"),
        (_, None) => Some("the end day is not a date (YYYY-MM-DD)"),
        (Some(f), Some(t)) if f > t => Some("the period starts after it ends"),
        _ if !form.pdf && !form.csv => Some("choose PDF, CSV or both"),
        _ => None,
    };
    let running = cx.state.jobs.iter().find(|j| j.title == ORG_REPORT_JOB);
    ui.horizontal(|ui| {
        let clicked = ui
            .add_enabled(
                problem.is_none() && running.is_none(),
                egui::Button::new("Write organisation report"),
            )
            .clicked();
        if let Some(p) = problem {
            ui.colored_label(ui.visuals().warn_fg_color, p);
        }
        if let (true, Some(from), Some(to)) = (clicked, from, to) {
            let dir = form.out_dir.trim();
            cx.commands.send(Command::OrgReport(OrgReportRequest {
                from,
                to,
                pdf: form.pdf,
                csv: form.csv,
                out_dir: (!dir.is_empty()).then(|| PathBuf::from(dir)),
            }));
        }
    });
    if let Some(job) = running {
        ui.add(
            egui::ProgressBar::new(job.progress.unwrap_or(0.0))
                .desired_width(320.0)
                .text(format!(
                    "{} {:.0} %",
                    job.title,
                    job.progress.unwrap_or(0.0) * 100.0
                )),
        );
    }
}
