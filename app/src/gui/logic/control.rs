//! Mission commands sent to drones (start, pause, resume, abort, return, land) and their
//! outcome: recorded in the store, handed to the drone's link, confirmed or failed.

use super::simulator::sim_log;
use crate::gui::backend::Backend;
use crate::gui::links::{Awaiting, PendingAction};
use crate::gui::state::{AlertKind, AppState, CommandOutcome, CommandRecord, action_label};
use aviary_core::wire::CommandAction;
use aviary_core::{DroneId, DroneStatus, Mission, MissionEvent, MissionId, MissionStatus};

/// The lifecycle event a confirmed command applies. Return-to-home ends the mission like an
/// abort (the drone leaves the survey); land likewise.
pub const fn mission_event(action: CommandAction) -> MissionEvent {
    match action {
        CommandAction::Start => MissionEvent::Start,
        CommandAction::Pause => MissionEvent::Pause,
        CommandAction::Resume => MissionEvent::Resume,
        CommandAction::Abort | CommandAction::Rth | CommandAction::Land => MissionEvent::Abort,
    }
}

/// Wire spelling of an action (as stored in the commands table).
pub const fn action_str(action: CommandAction) -> &'static str {
    match action {
        CommandAction::Start => "start",
        CommandAction::Pause => "pause",
        CommandAction::Resume => "resume",
        CommandAction::Abort => "abort",
        CommandAction::Rth => "rth",
        CommandAction::Land => "land",
    }
}

/// Records command `action` on `mission` and sends it to the mission's drone.
pub(super) fn mission_control(
    state: &mut AppState,
    backend: &mut Backend,
    mission: MissionId,
    action: CommandAction,
) {
    state.confirm = None;
    let m = match backend.store.get_mission(mission) {
        Ok(m) => m,
        Err(e) => {
            state.notice(format!("{}: {e}", action_label(action)), true);
            return;
        }
    };
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
    // Training: how long after an injected fault did the operator act?
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
    let sent = send_to_drone(state, backend, drone, &m, action, id);
    if let Err(reason) = sent {
        fail_command(state, backend, id, &reason);
    }
}

/// Hands a command to the drone's MAVLink link. Start first uploads the mission, then
/// starts it when the upload is done; the other actions go out at once.
fn send_to_drone(
    state: &AppState,
    backend: &mut Backend,
    drone: DroneId,
    mission: &Mission,
    action: CommandAction,
    cmd_id: uuid::Uuid,
) -> Result<(), String> {
    let label = state.drone_label(drone);
    if !backend.links.by_drone.contains_key(&drone)
        && let Some(broker) = backend
            .links
            .mqtt_drones
            .get(&drone)
            .and_then(|i| backend.links.mqtt.get(*i))
    {
        // MQTT drones run their stored mission themselves; the command carries the mission id.
        let link_id = broker
            .link
            .send_command(drone, action, Some(mission.id))
            .map_err(|e| e.to_string())?;
        backend.links.mqtt_commands.insert(link_id, cmd_id);
        return Ok(());
    }
    let (handle, vehicle) = backend
        .links
        .route(drone)
        .map_err(|_| format!("{label} has no MAVLink link"))?;
    let awaiting = if action == CommandAction::Start {
        let home = state.drones.get(&drone).map_or_else(
            || mission.waypoints.first().map(|w| w.pos).unwrap_or_default(),
            |d| d.drone.home,
        );
        let items = aviary_links::mav::items_from_waypoints(home, &mission.waypoints);
        handle
            .upload_mission(vehicle, items)
            .map_err(|e| e.to_string())?;
        Awaiting::Upload
    } else {
        let confirming = backend
            .links
            .confirming_command(drone, action)
            .ok_or("no MAVLink command for this action")?;
        handle
            .action(vehicle, action, false)
            .map_err(|e| e.to_string())?;
        Awaiting::Command(confirming)
    };
    backend.links.pending.insert(
        drone,
        PendingAction {
            cmd_id,
            action,
            mission: mission.id,
            awaiting,
        },
    );
    Ok(())
}

/// The drone confirmed command `id`: the mission changes state.
pub fn confirm_command(state: &mut AppState, backend: &mut Backend, id: uuid::Uuid) {
    let Some(rec) = state.commands.iter_mut().find(|c| c.id == id) else {
        return;
    };
    if rec.outcome != CommandOutcome::Pending {
        return;
    }
    rec.outcome = CommandOutcome::Confirmed;
    let (mission, drone, action) = (rec.mission, rec.drone, rec.action);
    let _ = backend.store.record_command(
        id,
        drone,
        Some(mission),
        action_str(action),
        "confirmed",
        "",
    );
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
                let _ = backend.store.set_drone_status(drone, s);
            }
            if let Some(slot) = state.missions.iter_mut().find(|x| x.id == m.id) {
                *slot = m;
            }
        }
        Err(e) => state.notice(format!("mission state: {e}"), true),
    }
}

/// Command `id` was refused or timed out.
pub fn fail_command(state: &mut AppState, backend: &mut Backend, id: uuid::Uuid, reason: &str) {
    let Some(rec) = state.commands.iter_mut().find(|c| c.id == id) else {
        return;
    };
    rec.outcome = CommandOutcome::Failed(reason.to_owned());
    let (mission, drone, action) = (rec.mission, rec.drone, rec.action);
    let _ = backend.store.record_command(
        id,
        drone,
        Some(mission),
        action_str(action),
        "failed",
        reason,
    );
    let label = state.drone_label(drone);
    state.raise_alert(
        AlertKind::CommandFailed,
        Some(drone),
        format!("{} on {label} failed: {reason}", action_label(action)),
    );
}
