//! Simulator commands (add and remove simulated drones, inject faults, apply the simulator
//! settings) and the simulator panel's event log.

use super::LogicMemory;
use crate::gui::backend::Backend;
use crate::gui::settings::Settings;
use crate::gui::state::{AppState, FaultKind, SimLogEntry};
use aviary_core::{DroneId, SiteId};

/// Adds a simulated drone at `site`.
pub(super) fn add_sim_drone(
    state: &mut AppState,
    backend: &mut Backend,
    memory: &mut LogicMemory,
    site: SiteId,
) {
    match backend.add_sim_drone(site) {
        Ok(d) => {
            sim_log(state, format!("added simulated drone {}", d.serial_number));
            memory.dirty = true;
        }
        Err(e) => state.notice(format!("cannot add drone: {e}"), true),
    }
}

/// Removes simulated drone `drone`.
pub(super) fn remove_sim_drone(
    state: &mut AppState,
    backend: &mut Backend,
    memory: &mut LogicMemory,
    drone: DroneId,
) {
    let label = state.drone_label(drone);
    match backend.remove_sim_drone(drone) {
        Ok(()) => sim_log(state, format!("removed simulated drone {label}")),
        Err(e) => state.notice(format!("cannot remove drone: {e}"), true),
    }
    memory.dirty = true;
}

/// Injects `fault` into simulated drone `drone`.
pub(super) fn inject_fault(
    state: &mut AppState,
    backend: &mut Backend,
    drone: DroneId,
    fault: FaultKind,
) {
    let label = state.drone_label(drone);
    match backend.inject_fault(drone, fault) {
        Ok(()) => {
            state.sim.fault_at.insert(drone, state.now);
            sim_log(state, format!("injected {} into {label}", fault.label()));
        }
        Err(e) => state.notice(format!("cannot inject fault: {e}"), true),
    }
}

/// Starts, restarts or stops the built-in simulator as the settings say.
pub(super) fn apply_simulator(
    state: &mut AppState,
    backend: &mut Backend,
    settings: &Settings,
    memory: &mut LogicMemory,
) {
    match backend.apply_simulator(settings) {
        Ok(what) => {
            sim_log(state, what.clone());
            state.notice(what, false);
        }
        Err(e) => state.notice(format!("cannot start the simulated fleet: {e}"), true),
    }
    // Already connected to a fleet server: register now rather than at the next login.
    if matches!(
        state.server.status,
        crate::gui::state::ServerStatus::Connected { .. }
    ) {
        crate::gui::fleet_server::register_sim_fleet(state, backend);
    }
    memory.dirty = true;
}

/// Logs `text` in the simulator panel and as a notice.
pub(super) fn sim_log(state: &mut AppState, text: String) {
    state.notice(text.clone(), false);
    state.sim.log.push(SimLogEntry {
        time: state.now,
        text,
    });
}
