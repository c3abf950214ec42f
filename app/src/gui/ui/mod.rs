//! One module per view; each draws from [`AppState`] and queues [`Command`]s. Nothing here
//! calls the store, a link or the simulator.

pub mod alert_history;
pub mod alerts;
pub mod calendar;
pub mod chooser;
pub mod fleet;
pub mod flight;
pub mod history;
pub mod limits;
pub mod map;
pub mod monitor;
pub mod offline_maps;
pub mod plan;
pub mod plan_terrain;
pub mod plots;
pub mod replay;
pub mod reports;
pub mod settings;
pub mod simulator;
pub mod weather;

use super::command::{Command, CommandQueue};
use super::settings::Settings;
use super::state::{AppState, Destructive, View, action_label};
use super::view::{FrameStats, MapView};
use aviary_core::wire::CommandAction;
use egui::{Color32, RichText, Ui};

/// What a view's `*_ui` function works with.
pub struct UiCx<'a> {
    /// Runtime state.
    pub state: &'a mut AppState,
    /// Persisted settings (edited in the Settings view, saved by a command).
    pub settings: &'a mut Settings,
    /// The map widget state.
    pub map: &'a mut MapView,
    /// Where intents go.
    pub commands: &'a mut CommandQueue,
    /// Frame times.
    pub frame_stats: &'a FrameStats,
}

/// Accent colour for headings.
pub const ACCENT: Color32 = Color32::from_rgb(0x1a, 0x4f, 0x8a);
/// Error red.
pub const ERROR: Color32 = Color32::from_rgb(0xc0, 0x39, 0x2b);
/// Success green.
pub const OK: Color32 = Color32::from_rgb(0x2e, 0x8b, 0x3e);
/// Pending amber.
pub const PENDING: Color32 = Color32::from_rgb(0xb8, 0x77, 0x00);

/// The whole window.
pub fn root_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    dropped_files_ui(ui, cx);
    egui::Panel::top("top_bar").show(ui, |ui| top_bar_ui(ui, cx));
    alerts::banner_ui(ui, cx);
    egui::Panel::bottom("status_bar").show(ui, |ui| status_bar_ui(ui, cx));
    match cx.state.view {
        View::Plan => {
            egui::Panel::left("plan_panel")
                .resizable(true)
                .default_size(360.0)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical().show(ui, |ui| plan::plan_panel_ui(ui, cx));
                });
            if plan_terrain::has_profile(cx) {
                egui::Panel::bottom("terrain_profile")
                    .resizable(true)
                    .default_size(220.0)
                    .show(ui, |ui| plan_terrain::terrain_profile_ui(ui, cx));
            }
        }
        View::Monitor => {
            egui::Panel::left("monitor_panel")
                .resizable(true)
                .default_size(380.0)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical().show(ui, |ui| monitor::monitor_panel_ui(ui, cx));
                });
            egui::Panel::right("flight_display")
                .resizable(true)
                .default_size(330.0)
                .show(ui, |ui| flight::flight_display_ui(ui, cx));
            egui::Panel::bottom("plots")
                .resizable(true)
                .default_size(190.0)
                .show(ui, |ui| plots::plots_ui(ui, cx));
        }
        View::History => {
            egui::Panel::left("history_panel")
                .resizable(true)
                .default_size(400.0)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical().show(ui, |ui| history::history_panel_ui(ui, cx));
                });
        }
        View::Simulator => {
            egui::Panel::left("sim_panel")
                .resizable(true)
                .default_size(360.0)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical()
                        .show(ui, |ui| simulator::simulator_panel_ui(ui, cx));
                });
        }
        View::Fleet | View::Calendar | View::Reports | View::Settings => {}
    }
    egui::CentralPanel::default_margins().show(ui, |ui| match cx.state.view {
        View::Fleet => fleet::fleet_ui(ui, cx),
        View::Calendar => calendar::calendar_ui(ui, cx),
        View::Reports => reports::reports_ui(ui, cx),
        View::Settings => settings::settings_ui(ui, cx),
        _ => map::map_ui(ui, cx),
    });
    confirm_ui(ui, cx);
    destructive_ui(ui, cx);
    preflight_ui(ui, cx);
    chooser::chooser_ui(ui, cx);
    calendar::run_prompt_ui(ui, cx);
    offline_maps::offline_maps_ui(ui, cx);
    alert_history::alert_history_ui(ui, cx);
}

fn top_bar_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    ui.horizontal(|ui| {
        ui.label(RichText::new("Aviary").strong().size(18.0).color(ACCENT));
        if let Some(org) = &cx.state.org {
            ui.label(RichText::new(&org.name).weak());
        }
        ui.separator();
        for v in View::ALL {
            let label = match v {
                View::Monitor if cx.state.open_alerts() > 0 => {
                    format!("Monitor ({})", cx.state.open_alerts())
                }
                _ => v.label().to_owned(),
            };
            if ui
                .selectable_label(cx.state.view == v, RichText::new(label).size(15.0))
                .clicked()
            {
                cx.state.view = v;
            }
        }
        ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
            ui.label(RichText::new(cx.state.now.format("%H:%M:%S UTC").to_string()).monospace());
            if cx.settings.show_frame_time {
                let (mean, max) = cx.frame_stats.mean_max_ms();
                ui.label(
                    RichText::new(format!("frame {mean:.1} ms (max {max:.1})"))
                        .monospace()
                        .weak(),
                );
            }
            let flying = cx
                .state
                .drones
                .values()
                .filter(|d| d.drone.status == aviary_core::DroneStatus::InMission)
                .count();
            let linked = cx.state.drones.values().filter(|d| d.link_up).count();
            ui.label(format!(
                "{} drones · {linked} linked · {flying} flying",
                cx.state.drones.len()
            ));
        });
    });
}

fn status_bar_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    ui.horizontal(|ui| {
        for job in &cx.state.jobs {
            ui.spinner();
            match job.progress {
                Some(p) => ui.label(format!("{} {:.0} %", job.title, p * 100.0)),
                None => ui.label(format!("{}…", job.title)),
            };
            ui.separator();
        }
        let now = cx.state.now;
        if let Some(n) = cx.state.notices.back().filter(|n| n.is_fresh(now)) {
            let color = if n.error {
                ERROR
            } else {
                ui.visuals().text_color()
            };
            ui.label(
                RichText::new(format!("{}  {}", n.time.format("%H:%M:%S"), n.text)).color(color),
            );
        } else {
            ui.label(RichText::new("Ready").weak());
        }
    });
}

/// The confirmation step of abort and return-to-home.
fn confirm_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    let Some((mission, action)) = cx.state.confirm else {
        return;
    };
    let name = cx
        .state
        .mission(mission)
        .map(|m| m.name.clone())
        .unwrap_or_default();
    let modal = egui::Modal::new(egui::Id::unique("confirm_command")).show(ui.ctx(), |ui| {
        ui.set_width(380.0);
        ui.heading(format!("{}?", action_label(action)));
        let what = match action {
            CommandAction::Abort => {
                "The drone stops the survey and returns home. The mission ends as aborted."
            }
            CommandAction::Land => {
                "The drone leaves the survey and lands where it is. The mission ends."
            }
            _ => "The drone leaves the survey and flies back to its home point. The mission ends.",
        };
        ui.label(format!("Mission '{name}'. {what}"));
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            let confirm = egui::Button::new(
                RichText::new(format!("Confirm {}", action_label(action).to_lowercase()))
                    .color(Color32::WHITE),
            )
            .fill(ERROR);
            if ui.add(confirm).clicked() {
                cx.commands
                    .send(Command::MissionControl { mission, action });
                cx.state.confirm = None;
            }
            if ui.button("Cancel").clicked() {
                cx.state.confirm = None;
            }
        });
    });
    if modal.should_close() {
        cx.state.confirm = None;
    }
}

/// The confirmation of a deletion: what goes, Cancel, and a red Delete (or Remove).
fn destructive_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    let Some(action) = cx.state.destructive else {
        return;
    };
    let (title, what, verb, command) = match action {
        Destructive::DeletePlan(id) => (
            "Delete plan?",
            format!(
                "Mission '{}' is deleted with its waypoints. This cannot be undone.",
                cx.state
                    .mission(id)
                    .map(|m| m.name.clone())
                    .unwrap_or_default()
            ),
            "Delete",
            Command::DeleteMission(id),
        ),
        Destructive::RemoveSimDrone(id) => (
            "Remove drone?",
            format!(
                "Simulated drone {} leaves the simulator and the fleet.",
                cx.state.drone_label(id)
            ),
            "Remove",
            Command::RemoveSimDrone(id),
        ),
        Destructive::DeleteSchedule(id) => (
            "Delete schedule?",
            "The schedule and its runs are deleted. This cannot be undone.".to_owned(),
            "Delete",
            Command::DeleteSchedule(id),
        ),
    };
    let mut close = false;
    let modal = egui::Modal::new(egui::Id::unique("confirm_destructive")).show(ui.ctx(), |ui| {
        ui.set_width(380.0);
        ui.heading(title);
        ui.label(what);
        ui.add_space(8.0);
        ui.horizontal(|ui| {
            // Cancel first, where the eye and the cursor land; the red button second.
            if ui.button("Cancel").clicked() {
                close = true;
            }
            let confirm = egui::Button::new(RichText::new(verb).color(Color32::WHITE)).fill(ERROR);
            if ui.add(confirm).clicked() {
                cx.commands.send(command.clone());
                close = true;
            }
        });
    });
    if close || modal.should_close() {
        cx.state.destructive = None;
    }
}

/// A start refused by the pre-flight checks: every check with its detail; failed soft checks
/// can be overridden with a typed reason (it goes to the audit log).
fn preflight_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    let Some(mission) = cx.state.preflight.as_ref().map(|p| p.mission) else {
        return;
    };
    let name = cx
        .state
        .missions
        .iter()
        .find(|m| m.id == mission)
        .map(|m| m.name.clone())
        .unwrap_or_default();
    let operator = cx.state.operator_name();
    let prompt = cx
        .state
        .preflight
        .as_mut()
        .unwrap_or_else(|| unreachable!());
    let mut close = false;
    let modal = egui::Modal::new(egui::Id::unique("preflight_checks")).show(ui.ctx(), |ui| {
        ui.set_width(460.0);
        ui.heading("Pre-flight checks failed");
        ui.label(format!("Mission '{name}' was not started."));
        ui.add_space(4.0);
        egui::Grid::new("preflight_grid")
            .num_columns(2)
            .spacing([10.0, 2.0])
            .show(ui, |ui| {
                for c in &prompt.checks {
                    let (mark, color) = match (c.ok, c.soft) {
                        (true, _) if c.warn => ("warning", PENDING),
                        (true, _) => ("passed", OK),
                        (false, true) => ("failed (soft)", PENDING),
                        (false, false) => ("failed", ERROR),
                    };
                    ui.label(RichText::new(format!("{mark} {}", c.kind.label())).color(color));
                    ui.label(&c.detail);
                    ui.end_row();
                }
            });
        ui.add_space(8.0);
        if prompt.overridable {
            ui.label("Only soft checks failed. Start anyway, giving a reason for the audit log:");
            let label = ui.label("Override reason");
            ui.add(
                egui::TextEdit::singleline(&mut prompt.reason)
                    .id_salt("preflight_override_reason")
                    .hint_text("why the start is safe")
                    .desired_width(f32::INFINITY),
            )
            .labelled_by(label.id);
            ui.label(
                RichText::new(format!(
                    "Recorded in the audit log as {operator}, with the failed checks."
                ))
                .small(),
            );
        } else {
            ui.label("A hard check failed: fix it before starting.");
        }
        ui.horizontal(|ui| {
            if prompt.overridable {
                let ok = !prompt.reason.trim().is_empty();
                if ui
                    .add_enabled(ok, egui::Button::new("Start anyway"))
                    .clicked()
                {
                    cx.commands.send(Command::StartOverride {
                        mission,
                        reason: prompt.reason.trim().to_owned(),
                    });
                    close = true;
                }
            }
            if ui.button("Close").clicked() {
                close = true;
            }
        });
    });
    if close || modal.should_close() {
        cx.state.preflight = None;
    }
}

/// Gives a combo box an accessible name (screen readers, and tests that find it by label);
/// its value stays the selected text.
pub fn name_combo(response: &egui::Response, name: &str) {
    response
        .widget_info(|| egui::WidgetInfo::labeled(egui::Role::ComboBox, response.enabled(), name));
}

/// `1 h 02 min`, `4 min 10 s`, `12 s`.
pub fn fmt_duration(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s >= 3600 {
        format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
    } else if s >= 60 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{s} s")
    }
}

/// `850 m`, `12.4 km`.
pub fn fmt_distance(m: f64) -> String {
    if m >= 1000.0 {
        format!("{:.1} km", m / 1000.0)
    } else {
        format!("{m:.0} m")
    }
}

/// `0.42 km²`, `8 500 m²`.
pub fn fmt_area(m2: f64) -> String {
    if m2 >= 100_000.0 {
        format!("{:.2} km²", m2 / 1e6)
    } else {
        format!("{m2:.0} m²")
    }
}

/// A file dropped on the window, in any view, opens as a double-click would: areas and missions
/// in Plan, telemetry logs in History; anything else is refused in the status line.
fn dropped_files_ui(ui: &Ui, cx: &mut UiCx<'_>) {
    let dropped: Vec<std::path::PathBuf> = ui.input(|i| {
        i.raw
            .dropped_files
            .iter()
            .map(|f| f.path().to_path_buf())
            .collect()
    });
    for path in dropped {
        match super::command::open_file_command(&path) {
            Ok((view, command)) => {
                cx.state.view = view;
                cx.commands.send(command);
            }
            Err(e) => cx.state.notice(e, true),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_read_well() {
        assert_eq!(fmt_duration(3725.0), "1 h 02 min");
        assert_eq!(fmt_duration(250.0), "4 min 10 s");
        assert_eq!(fmt_distance(12_400.0), "12.4 km");
        assert_eq!(fmt_area(420_000.0), "0.42 km²");
    }
}
