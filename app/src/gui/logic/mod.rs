//! `logic` ingests, `ui` draws: this module drains background-job results (and, through the
//! backend, the store) into [`AppState`] on a time budget, raises alerts, and executes every
//! [`Command`](super::command::Command) the UI emitted — the only place that calls the store,
//! the simulator or a job.
//!
//! One file per role: the drain loop and its time budget here; `refresh` (store re-reads and
//! telemetry samples), `job_results`, `alerts` (raised, saved, restored at [`start`], sounded
//! and spoken), `link_events` (MAVLink and MQTT events);
//! `commands`, the one place a `Command` is executed, with `files` (imports and exports),
//! `reports` and `simulator` beside it; `control` (mission commands sent to drones and their
//! outcomes); `supervision` (each `MAVLink` drone's mission supervisor: the vehicle's reports
//! move its mission, pre-flight checks before a start); `weather` (site reports from the
//! links-side service, the verdicts shown and checked); `scheduler` (the desktop's own
//! scheduled runs through `aviary_core::schedule`); `offline_maps` (the Offline maps window's
//! area downloads and stored sets); `terrain` (the DEMs chosen in Settings and the Plan view).

mod alerts;
pub mod chooser;
mod commands;
mod control;
mod files;
mod job_results;
mod link_events;
mod offline_maps;
mod records;
mod refresh;
mod reports;
mod scheduler;
mod simulator;
mod supervision;
mod terrain;
mod weather;

pub use alerts::{GEOFENCE_MARGIN_M, RESTORE_RECENT_H, alert_phrase, outside_geofence};
pub use commands::handle_command;
pub use control::{action_str, confirm_command, mission_event};
pub use link_events::{apply_link_event, apply_link_settings};
pub use records::{fail_command, record_confirmed, store_write};
pub use refresh::{ingest_sample, refresh_from_store, report_telemetry_loss};

use super::backend::Backend;
use super::settings::Settings;
use super::state::AppState;
use chrono::{DateTime, Utc};
use std::time::{Duration, Instant};

/// Time `logic` may spend draining events per frame, at least ([`ingest_budget`]).
pub const INGEST_BUDGET: Duration = Duration::from_millis(10);
/// The most time `logic` may spend draining events in one frame.
pub const MAX_INGEST_BUDGET: Duration = Duration::from_millis(40);

/// The time `logic` may spend draining events this frame, given how long the last frame
/// took from start to start: a third of it, between [`INGEST_BUDGET`] and
/// [`MAX_INGEST_BUDGET`]. When drawing is slow (software GL, a large window, a loaded
/// laptop) a fixed 10 ms a frame drained too little: with frames 150 ms apart the app took
/// in events 7 % of the time, fell seconds behind a 1,000-drone fleet and raised link-lost
/// alerts for drones that were reporting. A third keeps the frame rate within a third of
/// what drawing alone allows.
pub fn ingest_budget(last_frame: Option<Duration>) -> Duration {
    last_frame.map_or(INGEST_BUDGET, |f| {
        (f / 3).clamp(INGEST_BUDGET, MAX_INGEST_BUDGET)
    })
}
/// How often fleet and missions are re-read from the store, seconds of clock time.
const REFRESH_EVERY_S: i64 = 1;

/// What `logic` remembers between frames.
#[derive(Debug, Default)]
pub struct LogicMemory {
    last_refresh: Option<DateTime<Utc>>,
    /// Forces a store refresh on the next ingest.
    pub dirty: bool,
    /// The periodic re-read of the drones, a page per pass.
    drone_sweep: refresh::DroneSweep,
    /// Link drained first next time (round robin, so one busy link cannot starve the rest).
    next_link: usize,
    /// The telemetry writer's counters last shown (losses are shown once each).
    telemetry_seen: aviary_store::TelemetryStats,
    /// Alerts up to this id have had their chance to sound.
    sounded_up_to: u64,
    /// Alerts up to this id have had their chance to be spoken.
    spoken_up_to: u64,
    /// Alerts up to this id are in the store.
    saved_up_to: u64,
    /// The local scheduler's runs in flight.
    pub(crate) scheduler: scheduler::SchedulerMemory,
    /// What the built-in file chooser is open for.
    chooser: Option<chooser::ChooserPurpose>,
    /// The folder the built-in file chooser listed last.
    chooser_dir: Option<std::path::PathBuf>,
}

/// Once, before the first frame: the alerts of earlier sessions back on the Monitor (not
/// sounded, spoken or saved again) and the speech command looked up for Settings.
pub fn start(state: &mut AppState, backend: &mut Backend, memory: &mut LogicMemory) {
    state.now = backend.clock.now();
    let restored_up_to = alerts::restore_alerts(state, backend);
    memory.saved_up_to = restored_up_to;
    memory.sounded_up_to = restored_up_to;
    memory.spoken_up_to = restored_up_to;
    state.speech_engine = backend.speech.program().map(str::to_owned);
}

/// Drains events into `state` for at most `budget`. Returns whether work is left over (the
/// caller asks for another frame).
pub fn ingest(
    state: &mut AppState,
    backend: &mut Backend,
    settings: &mut Settings,
    memory: &mut LogicMemory,
    budget: Duration,
) -> bool {
    ingest_observed(state, backend, settings, memory, budget, &mut |_, _, _| {})
}

/// [`ingest`], showing each `MAVLink` event to `seen` (with the backend as it is before the
/// event is applied, and the link's index) just before it is applied: `aviary bench live`
/// counts and times what reaches the app's state through the app's own pass.
pub fn ingest_observed(
    state: &mut AppState,
    backend: &mut Backend,
    settings: &mut Settings,
    memory: &mut LogicMemory,
    budget: Duration,
    seen: &mut dyn FnMut(&Backend, usize, &aviary_links::mav::LinkEvent),
) -> bool {
    let started = Instant::now();
    state.now = backend.clock.now();
    let mut more = false;
    while let Some((_, out)) = backend.jobs.try_recv() {
        job_results::apply_job_output(state, backend, settings, out);
        if started.elapsed() > budget {
            more = true;
            break;
        }
    }
    if !more {
        let mut start = memory.next_link;
        while let Some((link, event)) = backend.links.try_recv(start) {
            start = link + 1;
            seen(backend, link, &event);
            apply_link_event(state, backend, link, event);
            if started.elapsed() > budget {
                more = true;
                break;
            }
        }
        memory.next_link = start;
        while !more && let Some((broker, event)) = backend.links.try_recv_mqtt() {
            link_events::apply_mqtt_event(state, backend, broker, event);
            more = started.elapsed() > budget;
        }
        if !more {
            more = super::fleet_server::drain(state, backend, started + budget);
        }
    }
    // The vehicles that joined in this pass, filed together: in the store before the re-read
    // below and before their first samples reach the writer.
    link_events::file_joined(state, backend);
    let due = memory
        .last_refresh
        .is_none_or(|t| (state.now - t).num_seconds() >= REFRESH_EVERY_S);
    if memory.dirty || due {
        // After a change of the operator's (and at start) the whole fleet at once; otherwise
        // the drones a page per pass, so no pass waits for thousands of rows.
        let whole = memory.dirty || memory.last_refresh.is_none();
        memory.dirty = false;
        memory.last_refresh = Some(state.now);
        let read = if whole {
            memory.drone_sweep = refresh::DroneSweep::default();
            refresh_from_store(state, backend)
        } else {
            refresh::refresh_periodic(state, backend, &mut memory.drone_sweep)
        };
        if let Err(e) = read {
            state.notice(format!("store: {e}"), true);
        }
        refresh::report_telemetry_loss(state, backend, &mut memory.telemetry_seen);
        state.store_disk_bytes = Some(backend.store.disk_use_bytes());
    } else if let Err(e) = refresh::sweep_drones(state, backend, &mut memory.drone_sweep) {
        state.notice(format!("store: {e}"), true);
    }
    supervision::tick_all(state, backend);
    weather::tick(state, backend, settings);
    offline_maps::tick(state, backend, settings);
    scheduler::tick(state, backend, settings, memory);
    alerts::evaluate_alerts(state);
    alerts::save_new_alerts(state, backend, &mut memory.saved_up_to);
    alerts::sound_new_alerts(state, backend, settings, &mut memory.sounded_up_to);
    alerts::speak_new_alerts(state, backend, settings, &mut memory.spoken_up_to);
    state.jobs = backend.jobs.views();
    backend.hand_over_telemetry();
    more
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ingest_budget_is_a_third_of_the_last_frame_within_its_bounds() {
        // First frame, or fast frames: the floor.
        assert_eq!(ingest_budget(None), INGEST_BUDGET);
        assert_eq!(
            ingest_budget(Some(Duration::from_millis(16))),
            INGEST_BUDGET
        );
        // Slow drawing (software GL): a third of the frame, so logic keeps up.
        assert_eq!(
            ingest_budget(Some(Duration::from_millis(90))),
            Duration::from_millis(30)
        );
        // Never more than the ceiling, even after an idle second.
        assert_eq!(
            ingest_budget(Some(Duration::from_secs(1))),
            MAX_INGEST_BUDGET
        );
    }
}
