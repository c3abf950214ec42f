//! Command records: each command's outcome in the Monitor's list and the store's `commands`
//! table, for MAVLink drones (their supervisor, [`super::supervision`]) and MQTT drones
//! ([`super::control`]) alike. Below both, so neither imports the other for it.

use crate::gui::backend::Backend;
use crate::gui::state::{AlertKind, AppState, CommandOutcome, action_label};
use aviary_core::wire::action_name;

/// The link carried out command `id`: its record is confirmed (the mission moves by what the
/// vehicle reports, not here).
pub fn record_confirmed(state: &mut AppState, backend: &Backend, id: uuid::Uuid) {
    let pending = state
        .commands
        .iter()
        .any(|c| c.id == id && c.outcome == CommandOutcome::Pending);
    if pending {
        settle(state, backend, id, CommandOutcome::Confirmed);
    }
}

/// Sets command `id`'s outcome in the Monitor's list and writes it to the store's `commands`
/// table (a failed write is shown, see [`store_write`]); returns the command's drone and
/// action, or `None` when no such command is listed.
fn settle(
    state: &mut AppState,
    backend: &Backend,
    id: uuid::Uuid,
    outcome: CommandOutcome,
) -> Option<(aviary_core::DroneId, aviary_core::wire::CommandAction)> {
    let rec = state.commands.iter_mut().find(|c| c.id == id)?;
    let (status, detail, what) = match &outcome {
        CommandOutcome::Confirmed => ("confirmed", String::new(), "confirmed command"),
        CommandOutcome::Failed(reason) => ("failed", reason.clone(), "failed command"),
        CommandOutcome::Pending => ("pending", String::new(), "pending command"),
    };
    rec.outcome = outcome;
    let (mission, drone, action) = (rec.mission, rec.drone, rec.action);
    let written = backend.store.record_command(
        id,
        drone,
        Some(mission),
        action_name(action),
        status,
        &detail,
    );
    store_write(state, what, written);
    Some((drone, action))
}

/// A store write's outcome: a failure is logged and shown in the status bar as an error (the
/// operator learns the record on disk is behind what happened), never dropped.
pub fn store_write<T>(
    state: &mut AppState,
    what: &str,
    result: Result<T, aviary_store::StoreError>,
) -> Option<T> {
    match result {
        Ok(v) => Some(v),
        Err(e) => {
            tracing::error!(what, error = %e, "store write failed");
            state.notice(format!("{what} not saved: {e}"), true);
            None
        }
    }
}

/// Command `id` was refused or timed out.
pub fn fail_command(state: &mut AppState, backend: &mut Backend, id: uuid::Uuid, reason: &str) {
    let Some((drone, action)) = settle(
        state,
        backend,
        id,
        CommandOutcome::Failed(reason.to_owned()),
    ) else {
        return;
    };
    let label = state.drone_label(drone);
    state.raise_alert(
        AlertKind::CommandFailed,
        Some(drone),
        format!("{} on {label} failed: {reason}", action_label(action)),
    );
}
