//! The Monitor view: missions, progress, controls with their command outcomes and alerts (the
//! telemetry plots of the selected drone are in `plots`).

use super::{ERROR, OK, PENDING, UiCx, fmt_distance, fmt_duration};
use crate::gui::command::Command;
use crate::gui::state::{
    AppState, CommandOutcome, Destructive, action_label, bounds, drones_by_name,
};
use aviary_core::wire::CommandAction;
use aviary_core::{DroneStatus, Mission, MissionStatus};
use egui::{RichText, Ui};

/// Progress figures of a mission from its drone's live data.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Percent of the path done.
    pub pct: f64,
    /// Waypoint being flown (1-based for display), if known.
    pub current: Option<usize>,
    /// Distance flown in this mission, metres.
    pub flown_m: f64,
    /// Time to finish at the planned speed, seconds.
    pub eta_s: Option<f64>,
}

/// Progress of `m` from the state.
pub fn progress(state: &AppState, m: &Mission) -> Progress {
    let drone = m.drone_id.and_then(|d| state.drones.get(&d));
    let flown_m = drone.map_or(0.0, |d| d.flown_m(m.id));
    let leg_m = |w: &[aviary_core::Waypoint]| w[0].pos.distance_m(w[1].pos);
    let total_m: f64 = m.waypoints.windows(2).map(leg_m).sum::<f64>().max(0.0);
    // Item 0 of the uploaded mission is home; waypoint k is item k + 1.
    let wp = if m.status.is_active() {
        drone.and_then(|d| d.link.current_item).map(|seq| {
            usize::from(seq)
                .saturating_sub(1)
                .min(m.waypoints.len().saturating_sub(1))
        })
    } else {
        None
    };
    let (pct, eta_s) = match (m.status, wp) {
        (MissionStatus::Completed, _) => (100.0, Some(0.0)),
        (_, Some(i)) if !m.waypoints.is_empty() => {
            let done_m: f64 = m.waypoints[..=i]
                .windows(2)
                .map(leg_m)
                .sum::<f64>()
                .max(0.0);
            let remaining_m = (total_m - done_m).max(0.0);
            let pct = if total_m > 0.0 {
                100.0 * done_m / total_m
            } else {
                0.0
            };
            (
                // `+ 0.0`: an empty float sum is -0.0, which would print as "-0 %".
                pct.clamp(0.0, 100.0) + 0.0,
                Some(remaining_m / m.parameters.speed_mps.max(0.1)),
            )
        }
        (MissionStatus::Planned, _) => (0.0, Some(m.estimated_duration_s)),
        _ => (0.0, None),
    };
    Progress {
        pct,
        current: wp.map(|i| i + 1),
        flown_m,
        eta_s,
    }
}

/// Rows the mission list is tall (it scrolls past them).
const MISSION_LIST_ROWS: f32 = 6.0;

/// The side panel.
pub fn monitor_panel_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    ui.heading("Missions");
    let state = &mut *cx.state;
    if state.missions.is_empty() {
        ui.label(RichText::new("No planned or active missions. Plan one in the Plan view.").weak());
    }
    // A fixed height, scrolled past it: a finished mission dropping out of the list never
    // moves the controls below it under the operator's cursor.
    let row_h = ui.spacing().interact_size.y + ui.spacing().item_spacing.y;
    let list_h = row_h * MISSION_LIST_ROWS;
    egui::ScrollArea::vertical()
        .id_salt("mission_list")
        .max_height(list_h)
        .auto_shrink([false, false])
        .show(ui, |ui| {
            ui.set_min_height(list_h);
            for m in &state.missions {
                let drone = m
                    .drone_id
                    .map_or_else(|| "no drone".to_owned(), |d| state.drone_label(d));
                let text = format!("{} · {} · {}", m.name, m.status, drone);
                if ui
                    .selectable_label(state.selected_mission == Some(m.id), text)
                    .clicked()
                {
                    state.selected_mission = Some(m.id);
                    state.selected_drone = m.drone_id;
                    // The map moves to the selected mission's area.
                    if let Some(corners) = bounds(m.survey_area.exterior.iter().copied()) {
                        state.map_focus = Some(corners);
                    }
                }
            }
        });
    ui.separator();
    if let Some(m) = state
        .selected_mission
        .and_then(|id| state.missions.iter().find(|m| m.id == id))
        .cloned()
    {
        mission_ui(ui, state, cx.commands, &m);
        ui.separator();
    }
    super::alerts::alerts_ui(ui, state, cx.commands);
}

/// The mission's control buttons, each always drawn (enabled or not) in the same place.
fn controls_ui(
    ui: &mut Ui,
    state: &mut AppState,
    commands: &mut crate::gui::command::CommandQueue,
    m: &Mission,
) {
    // A MAVLink drone's supervisor says what may be asked now (from what the vehicle reports);
    // other drones follow the stored lifecycle.
    let supervised = m.drone_id.and_then(|d| state.supervised.get(&d));
    let life = m.lifecycle();
    let pending = state
        .last_command(m.id)
        .is_some_and(|c| c.outcome == CommandOutcome::Pending);
    ui.add_space(4.0);
    ui.horizontal_wrapped(|ui| {
        for action in CommandAction::ALL {
            let allowed = match supervised {
                Some(sv) => sv.allows(m.id, m.status, action),
                None => {
                    action != CommandAction::Land
                        && life.next(aviary_core::wire::mission_event(action)).is_ok()
                }
            } && !pending;
            let b = ui.add_enabled(allowed, egui::Button::new(action_label(action)));
            if b.clicked() {
                match action {
                    CommandAction::Abort | CommandAction::Rth | CommandAction::Land => {
                        state.confirm = Some((m.id, action));
                    }
                    _ => commands.send(Command::MissionControl {
                        mission: m.id,
                        action,
                    }),
                }
            }
        }
    });
    // Below the buttons: this line comes and goes with the vehicle's link.
    if let Some(sv) = supervised {
        let phase = sv
            .phase
            .filter(|_| sv.mission == Some(m.id))
            .map_or("—", aviary_core::supervisor::MissionPhase::as_str);
        ui.label(format!("Phase: {phase} · vehicle: {}", sv.vehicle.words()));
    }
}

fn mission_ui(
    ui: &mut Ui,
    state: &mut AppState,
    commands: &mut crate::gui::command::CommandQueue,
    m: &Mission,
) {
    ui.label(RichText::new(&m.name).strong().size(16.0));
    let status_color = match m.status {
        MissionStatus::InProgress => OK,
        MissionStatus::Paused => PENDING,
        MissionStatus::Failed | MissionStatus::Aborted => ERROR,
        _ => ui.visuals().text_color(),
    };
    ui.label(
        RichText::new(format!("Mission status: {}", m.status))
            .color(status_color)
            .strong(),
    );
    controls_ui(ui, state, commands, m);
    if let Some(w) = state.weather.flying.get(&m.id) {
        ui.horizontal_wrapped(|ui| {
            ui.label("Weather");
            ui.label(
                RichText::new(super::weather::verdict_word(w.verdict))
                    .strong()
                    .color(super::weather::verdict_color(w.verdict)),
            );
            let text = match w.reasons.first() {
                Some(r) => format!("{} ({})", r.text, super::weather::age_words(w)),
                None => format!("within limits ({})", super::weather::age_words(w)),
            };
            // A reason can hold a long URL without spaces: cut to the panel (whole on hover)
            // rather than widen the panel and push the flight display off the window.
            ui.add(egui::Label::new(RichText::new(&text).small()).truncate())
                .on_hover_text(text);
        });
    }
    if let Some(w) = state
        .weather
        .measured
        .get(&m.id)
        .and_then(|f| f.wind.result())
    {
        ui.label(RichText::new(format!("Wind measured by the drone: {}", w.line())).small());
    }
    let p = progress(state, m);
    ui.add(egui::ProgressBar::new((p.pct / 100.0) as f32).text(format!("{:.0} %", p.pct)));
    egui::Grid::new("mission_figures")
        .num_columns(2)
        .spacing([12.0, 2.0])
        .show(ui, |ui| {
            ui.label("Waypoint");
            ui.label(p.current.map_or("—".to_owned(), |c| {
                format!("{c} of {}", m.waypoints.len())
            }));
            ui.end_row();
            ui.label("Flown");
            ui.label(fmt_distance(p.flown_m));
            ui.end_row();
            ui.label("ETA");
            ui.label(p.eta_s.map_or("—".to_owned(), fmt_duration));
            ui.end_row();
            ui.label("Planned");
            ui.label(format!(
                "{} · {}",
                fmt_distance(m.estimated_distance_m),
                fmt_duration(m.estimated_duration_s)
            ));
            ui.end_row();
        });
    // Assign a drone to a planned mission without one.
    if m.status == MissionStatus::Planned {
        ui.horizontal(|ui| {
            ui.label("Drone:");
            let current = m
                .drone_id
                .map_or_else(|| "— choose —".to_owned(), |d| state.drone_label(d));
            let combo = egui::ComboBox::from_id_salt("assign_drone")
                .selected_text(current)
                .show_ui(ui, |ui| {
                    for d in drones_by_name(&state.drones).into_iter().filter(|d| {
                        d.drone.site_id == m.site_id && d.drone.status == DroneStatus::Available
                    }) {
                        if ui
                            .selectable_label(
                                m.drone_id == Some(d.drone.id),
                                &d.drone.serial_number,
                            )
                            .clicked()
                        {
                            commands.send(Command::AssignDrone {
                                mission: m.id,
                                drone: d.drone.id,
                            });
                        }
                    }
                });
            super::name_combo(&combo.response, "Assign drone");
        });
    }
    if m.status == MissionStatus::Planned {
        ui.horizontal(|ui| {
            if ui.small_button("Delete plan").clicked() {
                state.destructive = Some(Destructive::DeletePlan(m.id));
            }
        });
    }
    // --- command outcomes ---
    let cmds: Vec<_> = state
        .commands
        .iter()
        .filter(|c| c.mission == m.id)
        .rev()
        .take(8)
        .collect();
    if !cmds.is_empty() {
        ui.label(RichText::new("Commands").strong());
        for c in cmds {
            let color = match c.outcome {
                CommandOutcome::Pending => PENDING,
                CommandOutcome::Confirmed => OK,
                CommandOutcome::Failed(_) => ERROR,
            };
            ui.label(
                RichText::new(format!(
                    "{} {}: {}",
                    c.sent_at.format("%H:%M:%S"),
                    action_label(c.action),
                    c.outcome.label()
                ))
                .color(color),
            );
        }
    }
}
