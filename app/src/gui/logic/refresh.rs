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

/// Drones re-read per `logic` pass while the periodic re-read of the fleet runs: 5,000 drones
/// read at once made one pass a second tens of milliseconds long, and every position that
/// arrived meanwhile waited for it.
pub const DRONE_PAGE: usize = 256;

/// Where the periodic re-read of the fleet has got to ([`refresh_periodic`] starts it,
/// [`sweep_drones`] goes on with it a page per pass).
#[derive(Debug, Default)]
pub struct DroneSweep {
    /// The serial number of the last drone read; `None` before the first page.
    after: Option<String>,
    /// A sweep is under way.
    running: bool,
}

/// Re-reads organisation, sites, every drone, counts and open missions at once; fails paused
/// missions past their timeout. After the operator changed something (and at start).
pub fn refresh_from_store(state: &mut AppState, backend: &mut Backend) -> Result<(), StoreError> {
    let drones = backend.store.list_drones(None, None)?;
    refresh_fleet_and_missions(state, backend, Some(drones))
}

/// The periodic re-read: all but the drones at once (a few rows), and a new sweep of the
/// drones, a page per pass ([`sweep_drones`]), unless the last one is still under way (at
/// the window's 4 Hz a sweep of 5,000 drones takes five seconds: restarting it every second
/// would never reach the drones past the first thousand).
pub(super) fn refresh_periodic(
    state: &mut AppState,
    backend: &mut Backend,
    sweep: &mut DroneSweep,
) -> Result<(), StoreError> {
    if !sweep.running {
        *sweep = DroneSweep {
            after: None,
            running: true,
        };
    }
    refresh_fleet_and_missions(state, backend, None)
}

/// The next page of the running sweep of the drones, if one runs.
pub(super) fn sweep_drones(
    state: &mut AppState,
    backend: &mut Backend,
    sweep: &mut DroneSweep,
) -> Result<(), StoreError> {
    if !sweep.running {
        return Ok(());
    }
    let page = backend
        .store
        .list_drones_page(sweep.after.as_deref(), DRONE_PAGE)?;
    sweep.running = page.len() == DRONE_PAGE;
    sweep.after = page.last().map(|d| d.serial_number.clone());
    apply_drones(state, backend, page);
    Ok(())
}

/// Drones as the store has them into the fleet view (their live data kept).
fn apply_drones(state: &mut AppState, backend: &Backend, drones: Vec<aviary_core::Drone>) {
    for d in drones {
        let site_name = state
            .sites
            .iter()
            .find(|s| s.id == d.site_id)
            .map(|s| s.name.as_str())
            .unwrap_or_default();
        let simulated = backend.is_simulated(d.id);
        if let Some(v) = state.drones.get_mut(&d.id) {
            if v.site_name != site_name {
                site_name.clone_into(&mut v.site_name);
            }
            v.drone = d;
            v.simulated = simulated;
        } else {
            let mut v = DroneView::new(d, site_name.to_owned());
            v.simulated = simulated;
            state.drones.insert(v.drone.id, v);
        }
    }
}

/// Organisation, sites, `drones` when given, counts and open missions; paused missions past
/// their timeout failed.
fn refresh_fleet_and_missions(
    state: &mut AppState,
    backend: &mut Backend,
    drones: Option<Vec<aviary_core::Drone>>,
) -> Result<(), StoreError> {
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
    state.org = backend.store.list_orgs()?.into_iter().next();
    state.sites = backend.store.list_sites()?;
    if let Some(drones) = drones {
        apply_drones(state, backend, drones);
    }
    let store = &backend.store;
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
        state.sampled_since_alerts.push(sample.drone_id);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gui::backend::BackendOptions;
    use crate::gui::jobs::JobMode;
    use aviary_core::{Clock, DroneId, DroneStatus, ManualClock};
    use aviary_store::{Store, StoreOptions};
    use chrono::{TimeZone, Utc};
    use std::sync::Arc;

    #[test]
    fn the_fleet_is_reread_a_page_a_pass_and_a_slow_sweep_is_not_restarted() {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::new(
            Utc.with_ymd_and_hms(2026, 12, 7, 9, 0, 0)
                .single()
                .expect("time"),
        ));
        let store = Store::open(
            &dir.path().join("aviary.db"),
            Arc::clone(&clock),
            StoreOptions::default(),
        )
        .expect("store");
        let options = BackendOptions {
            seed_demo: true,
            simulated_fleet: false,
            job_mode: JobMode::Inline,
        };
        let mut backend = Backend::new(store, Arc::clone(&clock), options, Arc::new(|| {}));
        let mut state = AppState::new(clock.now());
        refresh_from_store(&mut state, &mut backend).expect("first read");
        let site = state.sites.first().expect("a demo site").clone();
        // A fleet of more than two pages.
        let fleet: Vec<aviary_core::Drone> = (0..600)
            .map(|i| aviary_core::Drone {
                id: DroneId::new_random(),
                site_id: site.id,
                serial_number: format!("ZZ-{i:04}"),
                model: "MAVLink vehicle".to_owned(),
                status: DroneStatus::Available,
                battery_pct: 100,
                last_seen: None,
                home: site.location,
                firmware_version: "unknown".to_owned(),
                link: None,
                created_at: clock.now(),
            })
            .collect();
        let outcomes = backend.store.insert_drones(&fleet).expect("filed");
        assert!(outcomes.iter().all(Result::is_ok));
        let last = fleet.last().expect("a drone").id;
        backend
            .store
            .set_drone_status(last, DroneStatus::Maintenance)
            .expect("status");

        let mut sweep = DroneSweep::default();
        refresh_periodic(&mut state, &mut backend, &mut sweep).expect("periodic");
        let mut pages = 0;
        while sweep.running {
            sweep_drones(&mut state, &mut backend, &mut sweep).expect("page");
            pages += 1;
            // A second passes mid-sweep: the sweep goes on from where it was.
            if pages == 1 {
                refresh_periodic(&mut state, &mut backend, &mut sweep).expect("periodic");
                assert!(sweep.after.is_some(), "a running sweep is not restarted");
            }
            assert!(pages <= 10, "the sweep ends");
        }
        let total = backend.store.list_drones(None, None).expect("list").len();
        assert_eq!(pages, total.div_ceil(DRONE_PAGE));
        assert_eq!(state.drones.len(), total);
        assert_eq!(
            state.drones.get(&last).map(|d| d.drone.status),
            Some(DroneStatus::Maintenance),
            "the last page reached the last drone"
        );
    }
}
