//! What the store and the links' telemetry put into state: the periodic re-read of fleet and
//! missions, and each telemetry sample.

use crate::gui::backend::Backend;
use crate::gui::state::{AlertKind, AppState, DroneView};
use aviary_core::mission::FailureReason;
use aviary_core::{Mission, MissionEvent, MissionStatus, TelemetrySample};
use aviary_store::{MissionFilter, StoreError, TelemetryStats};

/// Fails paused missions past their timeout — except those of `MAVLink` drones, whose
/// supervisor sends the drone home first and fails the mission once it has landed.
fn expire_paused(backend: &mut Backend) -> Result<Vec<Mission>, StoreError> {
    let now = backend.clock.now();
    let paused = backend.store.list_missions(&MissionFilter {
        statuses: vec![MissionStatus::Paused],
        ..MissionFilter::default()
    })?;
    let mut failed = Vec::new();
    for m in paused {
        if m.drone_id
            .is_some_and(|d| backend.links.by_drone.contains_key(&d))
        {
            continue;
        }
        if m.lifecycle().tick(now).is_some() {
            failed.push(backend.store.apply_mission_event(
                m.id,
                MissionEvent::Fail(FailureReason::PauseTimeout),
                None,
            )?);
        }
    }
    Ok(failed)
}

/// Re-reads organisation, sites, drones, counts and open missions; fails paused missions past
/// their timeout.
pub fn refresh_from_store(state: &mut AppState, backend: &mut Backend) -> Result<(), StoreError> {
    for failed in expire_paused(backend)? {
        state.raise_alert(
            AlertKind::CommandFailed,
            failed.drone_id,
            format!(
                "mission '{}' failed: paused longer than 5 minutes",
                failed.name
            ),
        );
    }
    let store = &backend.store;
    state.org = store.list_orgs()?.into_iter().next();
    state.sites = store.list_sites()?;
    let drones = store.list_drones(None, None)?;
    for d in drones {
        let site_name = state
            .sites
            .iter()
            .find(|s| s.id == d.site_id)
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let simulated = backend.is_simulated(d.id);
        if let Some(v) = state.drones.get_mut(&d.id) {
            v.drone = d;
            v.site_name = site_name;
            v.simulated = simulated;
        } else {
            let mut v = DroneView::new(d, site_name);
            v.simulated = simulated;
            state.drones.insert(v.drone.id, v);
        }
    }
    state.fleet_counts.clear();
    for s in &state.sites {
        state
            .fleet_counts
            .insert(s.id, store.fleet_status_counts(s.id)?);
    }
    state.missions = store.list_missions(&MissionFilter {
        statuses: vec![
            MissionStatus::Planned,
            MissionStatus::InProgress,
            MissionStatus::Paused,
        ],
        ..MissionFilter::default()
    })?;
    // Something to look at on first start: the first site's open mission and its drone.
    if state.selected_mission.is_none() {
        let first_site = state.sites.first().map(|s| s.id);
        if let Some(m) = state
            .missions
            .iter()
            .find(|m| Some(m.site_id) == first_site)
        {
            state.selected_mission = Some(m.id);
            state.selected_drone = state.selected_drone.or(m.drone_id);
        }
    }
    // The selected mission stays in view after it ends, so its outcome can be read.
    if let Some(id) = state.selected_mission
        && !state.missions.iter().any(|m| m.id == id)
        && let Ok(m) = store.get_mission(id)
    {
        state.missions.push(m);
    }
    if state.plan.site.is_none() {
        state.plan.site = state.sites.first().map(|s| s.id);
    }
    if state.sim.add_site.is_none() {
        state.sim.add_site = state.sites.first().map(|s| s.id);
    }
    state.sim.running = backend.sim.is_some();
    state.sim.over_mqtt = backend.sim_mqtt.as_ref().map(|m| m.url.clone());
    Ok(())
}

/// Records a telemetry sample from a link: live view, trail, plots, and the store.
pub fn ingest_sample(state: &mut AppState, backend: &mut Backend, mut sample: TelemetrySample) {
    let mission = state
        .missions
        .iter()
        .find(|m| m.drone_id == Some(sample.drone_id) && m.status.is_active())
        .map(|m| m.id);
    sample.mission_id = mission;
    if let Some(d) = state.drones.get_mut(&sample.drone_id) {
        // Samples are stamped with the pass's clock reading (`state.now`); two of one drone in
        // the same pass would share the store's key (drone, time) and the second would be
        // ignored by the writer's `INSERT OR IGNORE`. One microsecond apart, both are kept.
        if let Some(last) = d.live
            && sample.time <= last.time
        {
            sample.time = last.time + chrono::Duration::microseconds(1);
        }
        d.push_sample(sample);
    }
    // Handed to the writer at the end of the pass, all together; a full queue drops and
    // counts (the writer's stats, shown by `report_telemetry_loss`); the UI never blocks on
    // disk.
    backend.telemetry_pass.push(sample);
}

/// Telemetry the writer could not store (queue full, disk full, a write error) and writer
/// errors (retention) since `seen`: logged and shown in the status bar, so a hole in a stored
/// flight is never found only in its report.
pub fn report_telemetry_loss(state: &mut AppState, backend: &Backend, seen: &mut TelemetryStats) {
    let now = backend.store.telemetry().stats();
    let lost = now.lost().saturating_sub(seen.lost());
    let new_error = now.last_error.is_some() && now.last_error != seen.last_error;
    if lost == 0 && !new_error {
        return;
    }
    let detail = now
        .last_error
        .as_deref()
        .unwrap_or("the writer could not keep up");
    let text = if lost > 0 {
        format!(
            "{lost} telemetry samples not saved ({} so far: {} queue full, {} disk full, {} \
             write errors; last error: {detail})",
            now.lost(),
            now.dropped_queue_full,
            now.dropped_disk_full,
            now.dropped_error
        )
    } else {
        format!("telemetry store: {detail}")
    };
    tracing::error!(lost, total = now.lost(), detail, "telemetry write failed");
    state.notice(text, true);
    *seen = now;
}
