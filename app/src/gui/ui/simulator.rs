//! The Simulator panel for trainers: add and remove simulated drones, inject faults into a
//! running mission, and read the log of events and the operator's reaction times.

use super::{ERROR, UiCx};
use crate::gui::command::Command;
use crate::gui::state::{Destructive, FaultKind, drones_by_name};
use egui::{RichText, Ui};

/// The side panel.
pub fn simulator_panel_ui(ui: &mut Ui, cx: &mut UiCx<'_>) {
    let state = &mut *cx.state;
    ui.heading("Simulator");
    if let Some(url) = &state.sim.over_mqtt {
        ui.label(format!(
            "The simulated drones fly as MQTT clients of {url}. Adding drones and injecting \
             faults need the MAVLink simulator (Settings, Simulator)."
        ));
        return;
    }
    if !state.sim.running {
        ui.colored_label(
            ERROR,
            "The built-in simulator is not running (enable it in Settings, Simulator).",
        );
        return;
    }
    ui.horizontal(|ui| {
        ui.label("Add a drone at");
        let site_label = state
            .sim
            .add_site
            .and_then(|id| state.sites.iter().find(|s| s.id == id))
            .map_or("—", |s| s.name.as_str());
        let combo = egui::ComboBox::from_id_salt("sim_site")
            .selected_text(site_label)
            .show_ui(ui, |ui| {
                for s in &state.sites {
                    ui.selectable_value(&mut state.sim.add_site, Some(s.id), &s.name);
                }
            });
        super::name_combo(&combo.response, "Site for new drones");
        if ui.button("Add").clicked()
            && let Some(site) = state.sim.add_site
        {
            cx.commands.send(Command::AddSimDrone(site));
        }
    });
    ui.separator();
    ui.label(RichText::new("Simulated drones").strong());
    let selected = state.selected_drone;
    let mut remove = None;
    for d in drones_by_name(&state.drones)
        .into_iter()
        .filter(|d| d.simulated)
    {
        ui.horizontal(|ui| {
            if ui
                .selectable_label(selected == Some(d.drone.id), &d.drone.serial_number)
                .clicked()
            {
                state.selected_drone = Some(d.drone.id);
            }
            ui.label(RichText::new(format!("{} · {}", d.site_name, d.drone.status)).weak());
            if ui.small_button("Remove").clicked() {
                remove = Some(d.drone.id);
            }
        });
    }
    if let Some(id) = remove {
        state.destructive = Some(Destructive::RemoveSimDrone(id));
    }
    ui.separator();
    ui.label(RichText::new("Inject a fault").strong());
    match state
        .selected_drone
        .filter(|id| state.drones.get(id).is_some_and(|d| d.simulated))
    {
        None => {
            ui.label(RichText::new("Select a simulated drone (list or map).").weak());
        }
        Some(drone) => {
            ui.label(format!("into {}", state.drone_label(drone)));
            ui.horizontal_wrapped(|ui| {
                for fault in FaultKind::ALL {
                    if ui.button(fault.label()).clicked() {
                        cx.commands.send(Command::InjectFault { drone, fault });
                    }
                }
            });
        }
    }
    ui.separator();
    ui.label(RichText::new("Event log").strong());
    if state.sim.log.is_empty() {
        ui.label(RichText::new("Nothing yet.").weak());
    }
    for e in state.sim.log.iter().rev().take(50) {
        ui.label(format!("{}  {}", e.time.format("%H:%M:%S"), e.text));
    }
}
