//! Mission commands sent to drones (start, pause, resume, abort, return, land) and their
//! outcome: recorded in the store, handed to the drone's link, confirmed or failed.
//! `MAVLink` drones go through their mission supervisor ([`super::supervision`]): the vehicle's
//! reports move the mission. MQTT drones still move it on the command's confirmation.

use super::records::{fail_command, record_confirmed, store_write};
use super::simulator::sim_log;
use super::supervision;
use crate::gui::backend::Backend;
use crate::gui::state::{AppState, CommandOutcome, CommandRecord, action_label};
use aviary_core::wire::CommandAction;
use aviary_core::{DroneId, DroneStatus, Mission, MissionId, MissionStatus};

// One spelling and one lifecycle mapping of a command, shared with the fleet server.
pub use aviary_core::wire::{action_name as action_str, mission_event};

/// Records command `action` on `mission` and sends it to the mission's drone. A start of a
/// `MAVLink` drone runs the pre-flight checks first; `override_reason` is the operator's
/// reason to start despite failed soft checks.
pub(super) fn mission_control(
    state: &mut AppState,
    backend: &mut Backend,
    mission: MissionId,
    action: CommandAction,
    override_reason: Option<&str>,
) {
    state.confirm = None;
    let m = match backend.store.get_mission(mission) {
        Ok(m) => m,
        Err(e) => {
            state.notice(format!("{}: {e}", action_label(action)), true);
            return;
        }
    };
    if let Some(drone) = m.drone_id
        && supervision::is_mavlink(backend, drone)
    {
        reaction_time(state, drone, action);
        supervision::control(state, backend, &m, drone, action, override_reason);
        return;
    }
    if let Err(e) = m.lifecycle().next(mission_event(action)) {
        state.notice(format!("{}: {e}", action_label(action)), true);
        return;
    }
    let Some(drone) = m.drone_id else {
        state.notice(
            format!(
                "{}: mission '{}' has no drone assigned",
                action_label(action),
                m.name
            ),
            true,
        );
        return;
    };
    let id = uuid::Uuid::new_v4();
    if let Err(e) =
        backend
            .store
            .record_command(id, drone, Some(mission), action_str(action), "pending", "")
    {
        state.notice(format!("cannot record command: {e}"), true);
        return;
    }
    state.commands.push(CommandRecord {
        id,
        action,
        mission,
        drone,
        sent_at: state.now,
        outcome: CommandOutcome::Pending,
    });
    reaction_time(state, drone, action);
    let sent = send_to_drone(state, backend, drone, &m, action, id);
    if let Err(reason) = sent {
        fail_command(state, backend, id, &reason);
    }
}

/// Training: how long after an injected fault did the operator act?
fn reaction_time(state: &mut AppState, drone: DroneId, action: CommandAction) {
    if let Some(at) = state.sim.fault_at.remove(&drone) {
        let reaction_s = (state.now - at).num_milliseconds() as f64 / 1000.0;
        let label = state.drone_label(drone);
        sim_log(
            state,
            format!(
                "operator sent {} to {label} {reaction_s:.1} s after the fault",
                action_label(action)
            ),
        );
    }
}

/// Hands a command to the drone's MQTT link (`MAVLink` drones go through
/// [`supervision::control`]).
fn send_to_drone(
    state: &AppState,
    backend: &mut Backend,
    drone: DroneId,
    mission: &Mission,
    action: CommandAction,
    cmd_id: uuid::Uuid,
) -> Result<(), String> {
    let label = state.drone_label(drone);
    let Some(broker) = backend
        .links
        .mqtt_drones
        .get(&drone)
        .and_then(|i| backend.links.mqtt.get(*i))
    else {
        return Err(format!("{label} has no MAVLink link (not heard from yet)"));
    };
    // MQTT drones run their stored mission themselves; the command carries the mission id.
    let link_id = broker
        .link
        .send_command(drone, action, Some(mission.id))
        .map_err(|e| e.to_string())?;
    backend.links.mqtt_commands.insert(link_id, cmd_id);
    Ok(())
}

/// An MQTT drone confirmed command `id`: the mission changes state (MQTT drones are not yet
/// under the supervisor).
pub fn confirm_command(state: &mut AppState, backend: &mut Backend, id: uuid::Uuid) {
    let Some(rec) = state.commands.iter().find(|c| c.id == id) else {
        return;
    };
    if rec.outcome != CommandOutcome::Pending {
        return;
    }
    let (mission, drone, action) = (rec.mission, rec.drone, rec.action);
    record_confirmed(state, backend, id);
    match backend
        .store
        .apply_mission_event(mission, mission_event(action), None)
    {
        Ok(m) => {
            let status = match m.status {
                MissionStatus::InProgress => Some(DroneStatus::InMission),
                s if s.is_terminal() => Some(DroneStatus::Available),
                _ => None,
            };
            if let Some(s) = status {
                let written = backend.store.set_drone_status(drone, s);
                store_write(state, "drone status", written);
            }
            if let Some(slot) = state.missions.iter_mut().find(|x| x.id == m.id) {
                *slot = m;
            }
        }
        Err(e) => state.notice(format!("mission state: {e}"), true),
    }
}
