//! A store write that fails is logged and shown, never dropped (issue 22): the desktop's
//! command records, drone status and telemetry, against a store that refuses every write.

use aviary_app::gui::app::{AviaryApp, MapTiles};
use aviary_app::gui::backend::{Backend, BackendOptions};
use aviary_app::gui::jobs::JobMode;
use aviary_app::gui::logic::{LogicMemory, confirm_command, fail_command, ingest, ingest_sample};
use aviary_app::gui::settings::Settings;
use aviary_app::gui::state::{CommandOutcome, CommandRecord};
use aviary_core::wire::CommandAction;
use aviary_core::{Clock, DroneId, DroneStatus, LatLon, ManualClock, MissionId, TelemetrySample};
use aviary_store::{Store, StoreOptions};
use chrono::{TimeZone, Utc};
use std::sync::Arc;
use std::time::Duration;

fn app_with_read_only_store(dir: &std::path::Path) -> (AviaryApp, Arc<ManualClock>) {
    let db = dir.join("aviary.db");
    let manual = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 12, 6, 9, 0, 0)
            .single()
            .expect("test store"),
    ));
    let clock: Arc<dyn Clock> = manual.clone();
    // Created (and migrated) once, then reopened read-only: every write fails.
    drop(Store::open(&db, clock.clone(), StoreOptions::default()).expect("test store"));
    let store = Store::open_read_only(&db, clock.clone()).expect("test store");
    let options = BackendOptions {
        seed_demo: false,
        simulated_fleet: false,
        job_mode: JobMode::Inline,
    };
    let backend = Backend::new(store, clock, options, Arc::new(|| {}));
    let app = AviaryApp::new(
        &egui::Context::default(),
        backend,
        Settings::default(),
        MapTiles::BasemapOnly,
    );
    (app, manual)
}

fn pending(app: &mut AviaryApp, action: CommandAction) -> uuid::Uuid {
    let id = uuid::Uuid::new_v4();
    app.state.commands.push(CommandRecord {
        id,
        action,
        mission: MissionId::new_random(),
        drone: DroneId::new_random(),
        sent_at: app.state.now,
        outcome: CommandOutcome::Pending,
    });
    id
}

fn error_notices(app: &AviaryApp) -> Vec<String> {
    app.state
        .notices
        .iter()
        .filter(|n| n.error)
        .map(|n| n.text.clone())
        .collect()
}

#[test]
fn failed_command_records_are_shown() {
    let dir = tempfile::tempdir().expect("test store");
    let (mut app, _) = app_with_read_only_store(dir.path());
    let refused = pending(&mut app, CommandAction::Pause);
    fail_command(&mut app.state, &mut app.backend, refused, "denied");
    let confirmed = pending(&mut app, CommandAction::Resume);
    confirm_command(&mut app.state, &mut app.backend, confirmed);
    let shown = error_notices(&app);
    assert!(
        shown
            .iter()
            .any(|t| t.starts_with("failed command not saved")),
        "{shown:?}"
    );
    assert!(
        shown
            .iter()
            .any(|t| t.starts_with("confirmed command not saved")),
        "{shown:?}"
    );
    // Each names the store's refusal (the mission itself is unknown to this empty store,
    // which the confirm path reports on its own line).
    let unsaved: Vec<&String> = shown.iter().filter(|t| t.contains("not saved")).collect();
    assert_eq!(unsaved.len(), 2, "{shown:?}");
    assert!(
        unsaved.iter().all(|t| t.contains("cannot be written")),
        "{unsaved:?}"
    );
}

#[test]
fn telemetry_the_writer_could_not_store_is_shown_once() {
    let dir = tempfile::tempdir().expect("test store");
    let (mut app, clock) = app_with_read_only_store(dir.path());
    let mut memory = LogicMemory::default();
    ingest(
        &mut app.state,
        &mut app.backend,
        &mut app.settings,
        &mut memory,
        Duration::from_millis(10),
    );
    app.state.notices.clear();
    let drone = DroneId::new_random();
    for i in 0..5 {
        let sample = TelemetrySample {
            time: clock.now() + chrono::Duration::milliseconds(100 * i),
            mission_id: None,
            drone_id: drone,
            pos: LatLon::new(47.0, 8.0),
            alt_rel_m: 30.0,
            speed_mps: 5.0,
            heading_deg: 90.0,
            battery_pct: 80.0,
            signal_pct: 100.0,
            status: DroneStatus::InMission,
        };
        ingest_sample(&mut app.state, &mut app.backend, sample);
    }
    // What a pass does at its end: the samples go to the writer together.
    app.backend.hand_over_telemetry();
    // The flush answers for its own batch only; the counters hold every loss.
    let _last_batch = app.backend.store.telemetry().flush();
    assert_eq!(app.backend.store.telemetry().stats().dropped_error, 5);
    clock.advance(chrono::Duration::seconds(2));
    ingest(
        &mut app.state,
        &mut app.backend,
        &mut app.settings,
        &mut memory,
        Duration::from_millis(10),
    );
    let shown = error_notices(&app);
    assert_eq!(
        shown
            .iter()
            .filter(|t| t.starts_with("5 telemetry samples not saved"))
            .count(),
        1,
        "{shown:?}"
    );
    // Shown once: the next refresh has nothing new to tell.
    clock.advance(chrono::Duration::seconds(2));
    ingest(
        &mut app.state,
        &mut app.backend,
        &mut app.settings,
        &mut memory,
        Duration::from_millis(10),
    );
    assert_eq!(error_notices(&app), shown);
}
