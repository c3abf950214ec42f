//! The Calendar view: schedule a planned mission once or recurring at a site-local time, see
//! the upcoming and past runs per site with their outcomes (started, missed and why), and
//! confirm or decline a run that is due.

use super::{ERROR, OK, PENDING, UiCx};
use crate::gui::command::Command;
use crate::gui::state::Destructive;
use aviary_core::MissionStatus;
use aviary_core::schedule::Recurrence;
use chrono::Weekday;
use egui::{RichText, Ui};

const WEEKDAYS: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// The whole view.
pub fn calendar_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    ui.heading("Calendar");
    ui.label(
        RichText::new(
            "Missions scheduled on this desktop run while Aviary is open: the pre-flight checks \
             run at the lead time (Settings), then the start asks for confirmation unless \
             unattended starts are on.",
        )
        .weak(),
    );
    site_filter_ui(ui, cx);
    counts_ui(ui, cx);
    ui.separator();
    form_ui(ui, cx);
    ui.separator();
    runs_ui(ui, cx);
}

fn site_filter_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    let state = &mut *cx.state;
    let label = state
        .calendar
        .site
        .and_then(|id| state.site(id))
        .map_or_else(|| "All sites".to_owned(), |s| s.name.clone());
    ui.horizontal(|ui| {
        ui.label("Site");
        let combo = egui::ComboBox::from_id_salt("calendar_site")
            .selected_text(label)
            .show_ui(ui, |ui| {
                if ui
                    .selectable_label(state.calendar.site.is_none(), "All sites")
                    .clicked()
                {
                    state.calendar.site = None;
                }
                for s in &state.sites {
                    if ui
                        .selectable_label(state.calendar.site == Some(s.id), &s.name)
                        .clicked()
                    {
                        state.calendar.site = Some(s.id);
                    }
                }
            });
        super::name_combo(&combo.response, "Calendar site");
    });
}

fn counts_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    let state = &*cx.state;
    ui.horizontal_wrapped(|ui| {
        for s in state
            .sites
            .iter()
            .filter(|s| state.calendar.site.is_none_or(|f| f == s.id))
        {
            let (started, missed) = state
                .calendar
                .counts
                .get(&s.id)
                .copied()
                .unwrap_or_default();
            egui::Frame::group(ui.style()).show(ui, |ui| {
                ui.vertical(|ui| {
                    ui.label(RichText::new(&s.name).strong());
                    ui.label(
                        RichText::new(format!(
                            "{} · {}",
                            s.local_time(state.now).format("%H:%M %Z"),
                            s.timezone.name()
                        ))
                        .weak(),
                    );
                    ui.horizontal(|ui| {
                        ui.label(RichText::new(format!("{started} started")).color(OK));
                        ui.label("·");
                        ui.label(
                            RichText::new(format!("{missed} missed")).color(if missed > 0 {
                                ERROR
                            } else {
                                OK
                            }),
                        );
                        ui.label(RichText::new("(last 30 days)").weak());
                    });
                });
            });
        }
    });
}

fn form_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    let state = &mut *cx.state;
    ui.label(RichText::new("Schedule a mission").strong());
    let planned: Vec<(aviary_core::MissionId, String, aviary_core::SiteId)> = state
        .missions
        .iter()
        .filter(|m| m.status == MissionStatus::Planned && m.scheduled_start.is_none())
        .filter(|m| state.calendar.site.is_none_or(|s| s == m.site_id))
        .map(|m| (m.id, m.name.clone(), m.site_id))
        .collect();
    let form = &mut state.calendar.form;
    let chosen = form
        .mission
        .and_then(|id| planned.iter().find(|(m, _, _)| *m == id));
    let zone = chosen
        .and_then(|(_, _, site)| state.sites.iter().find(|s| s.id == *site))
        .map(|s| s.timezone);
    egui::Grid::new("schedule_form")
        .num_columns(2)
        .spacing([12.0, 6.0])
        .show(ui, |ui| {
            ui.label("Mission");
            let combo = egui::ComboBox::from_id_salt("schedule_mission")
                .selected_text(chosen.map_or("— choose —", |(_, n, _)| n.as_str()))
                .width(260.0)
                .show_ui(ui, |ui| {
                    for (id, name, _) in &planned {
                        if ui
                            .selectable_label(form.mission == Some(*id), name)
                            .clicked()
                        {
                            form.mission = Some(*id);
                        }
                    }
                });
            super::name_combo(&combo.response, "Scheduled mission");
            ui.end_row();
            ui.label("Repeat");
            ui.horizontal(|ui| {
                let weekly = matches!(form.recurrence, Recurrence::Weekly { .. });
                if ui
                    .selectable_label(form.recurrence == Recurrence::Once, "Once")
                    .clicked()
                {
                    form.recurrence = Recurrence::Once;
                }
                if ui
                    .selectable_label(form.recurrence == Recurrence::Daily, "Daily")
                    .clicked()
                {
                    form.recurrence = Recurrence::Daily;
                }
                if ui.selectable_label(weekly, "Weekly").clicked() && !weekly {
                    form.recurrence = Recurrence::Weekly {
                        days: vec![Weekday::Mon],
                    };
                }
            });
            ui.end_row();
            if let Recurrence::Weekly { days } = &mut form.recurrence {
                ui.label("On");
                ui.horizontal(|ui| {
                    for d in WEEKDAYS {
                        let mut on = days.contains(&d);
                        if ui.checkbox(&mut on, d.to_string()).changed() {
                            if on {
                                days.push(d);
                            } else {
                                days.retain(|x| *x != d);
                            }
                        }
                    }
                });
                ui.end_row();
            }
            for (label, value, hint) in [
                ("Date", &mut form.date, "YYYY-MM-DD"),
                ("Local time", &mut form.time, "HH:MM"),
                ("End date", &mut form.end_date, "none"),
            ] {
                let l = ui.label(label);
                ui.add(
                    egui::TextEdit::singleline(value)
                        .id_salt(label)
                        .hint_text(hint)
                        .desired_width(120.0),
                )
                .labelled_by(l.id);
                ui.end_row();
            }
        });
    if let Some(z) = zone {
        ui.label(RichText::new(format!("Times are local to the site ({}).", z.name())).weak());
    }
    let ok = form.mission.is_some() && zone.is_some();
    if ui
        .add_enabled(ok, egui::Button::new(RichText::new("Schedule").strong()))
        .clicked()
        && let (Some(mission), Some(zone)) = (form.mission, zone)
    {
        match form.parse(zone) {
            Ok(spec) => {
                form.error = None;
                cx.commands.send(Command::CreateSchedule { mission, spec });
            }
            Err(e) => form.error = Some(e),
        }
    }
    if let Some(e) = &form.error {
        ui.colored_label(ERROR, e);
    }
}

fn runs_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    let state = &*cx.state;
    ui.label(RichText::new("Runs").strong());
    let rows: Vec<_> = state
        .calendar
        .rows
        .iter()
        .filter(|r| state.calendar.site.is_none_or(|s| s == r.site))
        .collect();
    if rows.is_empty() {
        ui.label(RichText::new("Nothing scheduled.").weak());
        return;
    }
    let mut delete = None;
    egui::ScrollArea::vertical().show(ui, |ui| {
        egui::Grid::new("calendar_runs")
            .num_columns(6)
            .striped(true)
            .spacing([14.0, 4.0])
            .show(ui, |ui| {
                for h in ["Local time", "Site", "Mission", "Outcome", "Detail", ""] {
                    ui.label(RichText::new(h).strong());
                }
                ui.end_row();
                for r in rows {
                    let past = r.due <= state.now;
                    ui.label(RichText::new(&r.local).monospace());
                    ui.label(state.site(r.site).map_or("—", |s| s.name.as_str()));
                    ui.label(&r.mission_name);
                    let color = match r.phase.as_str() {
                        "started" => OK,
                        "missed" => ERROR,
                        "awaiting_confirmation" | "ready" => PENDING,
                        _ => ui.visuals().text_color(),
                    };
                    let word = if r.phase == "upcoming" && past {
                        "due".to_owned()
                    } else {
                        r.phase.replace('_', " ")
                    };
                    ui.label(RichText::new(word).color(color).strong());
                    ui.label(&r.detail);
                    if ui.small_button("Delete schedule").clicked() {
                        delete = Some(r.schedule);
                    }
                    ui.end_row();
                }
            });
    });
    if let Some(id) = delete {
        cx.state.destructive = Some(Destructive::DeleteSchedule(id));
    }
}

/// A run that is due and waits for the operator: start it now, or decline with a reason.
pub fn run_prompt_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    let Some(prompt) = cx.state.calendar.prompts.first_mut() else {
        return;
    };
    let mut answer = None;
    egui::Modal::new(egui::Id::unique("scheduled_run_prompt")).show(ui.ctx(), |ui| {
        ui.set_width(460.0);
        ui.heading("Scheduled run due");
        ui.label(&prompt.text);
        ui.add_space(6.0);
        if ui
            .button(RichText::new("Start scheduled run").strong())
            .clicked()
        {
            answer = Some(Ok(()));
        }
        ui.add_space(6.0);
        let l = ui.label("Decline reason");
        ui.add(
            egui::TextEdit::singleline(&mut prompt.reason)
                .id_salt("decline_reason")
                .hint_text("why it does not fly now")
                .desired_width(f32::INFINITY),
        )
        .labelled_by(l.id);
        if ui
            .add_enabled(
                !prompt.reason.trim().is_empty(),
                egui::Button::new("Decline run"),
            )
            .clicked()
        {
            answer = Some(Err(prompt.reason.trim().to_owned()));
        }
    });
    if let Some(confirm) = answer {
        cx.commands.send(Command::AnswerRun {
            schedule: prompt.schedule,
            local_date: prompt.local_date,
            confirm,
        });
    }
}
