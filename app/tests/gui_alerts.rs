//! Alerts an operator notices (issue 18), driven by label through `egui_kittest` on the real
//! app state: an alert survives a restart (the app rebuilt from the same store file lists it
//! again, not sounded or spoken twice), its acknowledgement persists with who and when, the
//! alert history window pages and filters the stored alerts, and critical alerts are spoken.

use aviary_app::gui::app::AviaryApp;
use aviary_app::gui::command::Command;
use aviary_app::gui::state::{AlertHistoryQuery, AlertKind, AlertSeverity, View};
use chrono::{DateTime, Utc};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;

fn start() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default()
}

fn harness(db: &std::path::Path, at: DateTime<Utc>) -> Harness<'static, AviaryApp> {
    let app = AviaryApp::headless(db, at, false).expect("store");
    let mut h = Harness::builder()
        .with_size([1600.0, 1000.0])
        .build_ui_state(|ui, app: &mut AviaryApp| app.frame_ui(ui), app);
    h.run_steps(2);
    h
}

fn send(h: &mut Harness<'_, AviaryApp>, command: Command) {
    h.state_mut().commands.send(command);
    h.state_mut().handle_commands();
}

#[test]
fn alerts_survive_a_restart_and_their_history_is_kept() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("aviary.db");
    let mut h = harness(&db, start());
    let drone = *h.state().state.drones.keys().next().expect("a demo drone");
    let label = h.state().state.drone_label(drone);
    let operator = h.state().state.operator_name();
    {
        let s = &mut h.state_mut().state;
        s.raise_event_alert(AlertKind::VehicleFault, Some(drone), "GPS failsafe");
        s.raise_alert(AlertKind::LowBattery, Some(drone), "battery 18 %");
    }
    h.run_steps(2);
    // Critical alerts are spoken by default, warnings not: one phrase, naming the drone.
    assert_eq!(
        h.state().backend.speech.requested,
        vec![format!("{label}: GPS failsafe")]
    );
    let battery = h
        .state()
        .state
        .alerts
        .iter()
        .find(|a| a.kind == AlertKind::LowBattery)
        .map(|a| a.id)
        .expect("battery alert");
    send(&mut h, Command::AcknowledgeAlerts(vec![battery]));
    drop(h);

    // An hour later the app starts again on the same file.
    let later = start() + chrono::Duration::hours(1);
    let mut h = harness(&db, later);
    let alerts = h.state().state.alerts.clone();
    assert_eq!(alerts.len(), 2, "{alerts:#?}");
    let gps = alerts
        .iter()
        .find(|a| a.kind == AlertKind::VehicleFault)
        .expect("the GPS alert is back");
    assert_eq!(
        (gps.drone, gps.message.as_str(), gps.severity, gps.time),
        (
            Some(drone),
            "GPS failsafe",
            AlertSeverity::Critical,
            start()
        )
    );
    assert!(gps.acknowledged_at.is_none());
    let gps_id = gps.id;
    let low = alerts
        .iter()
        .find(|a| a.id == battery)
        .expect("the recent acknowledged alert is back");
    assert_eq!(low.acknowledged_at, Some(start()));
    assert_eq!(low.acknowledged_by.as_deref(), Some(operator.as_str()));
    // Restored alerts are neither sounded nor spoken again.
    assert!(h.state().backend.sound.requested.is_empty());
    assert!(h.state().backend.speech.requested.is_empty());
    h.state_mut().state.view = View::Monitor;
    h.run_steps(2);
    h.get_by_label("Critical · Vehicle fault — 1 open of 1");
    h.get_by_label_contains("CRITICAL · Vehicle fault · ");

    // Acknowledged from the Monitor's list; the history window shows both, newest first.
    h.get_by_label("Acknowledge all").click();
    h.run_steps(2);
    assert_eq!(h.state().state.open_alerts(), 0);
    h.get_by_label("Alert history…").click();
    // A window's first frame only sizes it; it is drawn from the next one.
    h.run_steps(3);
    assert!(h.state().state.alert_history.open);
    h.get_by_label("Page 1 of 1 · 2 alerts");
    h.get_by_label("GPS failsafe");
    h.get_by_label("battery 18 %");
    let site = {
        let s = &h.state().state;
        s.site(s.drones[&drone].drone.site_id)
            .expect("site")
            .clone()
    };
    let raised = site.local_time(start()).format("%Y-%m-%d %H:%M:%S %Z");
    assert_eq!(
        h.query_all_by_label(&raised.to_string()).count(),
        2,
        "both raised at {raised}, in the site's time zone"
    );
    h.get_by_label(&format!(
        "acknowledged {} by {operator}",
        site.local_time(later).format("%Y-%m-%d %H:%M:%S %Z")
    ));
    h.get_by_label(&format!(
        "acknowledged {} by {operator}",
        site.local_time(start()).format("%Y-%m-%d %H:%M:%S %Z")
    ));
    let ids: Vec<u64> = h
        .state()
        .state
        .alert_history
        .rows
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(ids, vec![battery, gps_id], "newest first");
    // Filtered to warnings: only the battery.
    send(
        &mut h,
        Command::ShowAlertHistory(AlertHistoryQuery {
            page: 0,
            severity: Some(AlertSeverity::Warning),
            drone: None,
        }),
    );
    h.run_steps(2);
    h.get_by_label("Page 1 of 1 · 1 alerts");
    assert!(h.query_by_label("GPS failsafe").is_none());
    h.get_by_label("battery 18 %");
    // A new alert continues after the stored ids.
    h.state_mut()
        .state
        .raise_alert(AlertKind::Geofence, Some(drone), "left the area");
    h.run_steps(2);
    let newest = h.state().state.alerts.last().map(|a| a.id);
    assert_eq!(newest, Some(3));
    drop(h);

    // Two days on, the acknowledgement held: nothing is open, the old alerts are only in the
    // history (the geofence alert is open and back).
    let mut h = harness(&db, start() + chrono::Duration::days(2));
    let alerts = &h.state().state.alerts;
    assert_eq!(alerts.len(), 1, "{alerts:#?}");
    assert_eq!(alerts[0].kind, AlertKind::Geofence);
    send(
        &mut h,
        Command::ShowAlertHistory(AlertHistoryQuery::default()),
    );
    h.run_steps(2);
    h.get_by_label("Page 1 of 1 · 3 alerts");
}

#[test]
fn many_alerts_page_by_hundred() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("aviary.db");
    let mut h = harness(&db, start());
    let drones: Vec<_> = h.state().state.drones.keys().copied().take(2).collect();
    for k in 0..150 {
        let s = &mut h.state_mut().state;
        s.now = start() + chrono::Duration::seconds(k);
        s.raise_event_alert(
            AlertKind::VehicleFault,
            Some(drones[usize::try_from(k % 2).unwrap_or(0)]),
            format!("fault {k}"),
        );
    }
    h.run_steps(2);
    send(
        &mut h,
        Command::ShowAlertHistory(AlertHistoryQuery::default()),
    );
    h.run_steps(2);
    h.get_by_label("Page 1 of 2 · 150 alerts");
    h.get_by_label("fault 149");
    assert!(h.query_by_label("fault 49").is_none());
    h.get_by_label("Older >").click();
    h.run_steps(2);
    h.get_by_label("Page 2 of 2 · 150 alerts");
    h.get_by_label("fault 49");
    assert_eq!(h.state().state.alert_history.rows.len(), 50);
    send(
        &mut h,
        Command::ShowAlertHistory(AlertHistoryQuery {
            page: 0,
            severity: None,
            drone: Some(drones[0]),
        }),
    );
    h.run_steps(2);
    h.get_by_label("Page 1 of 1 · 75 alerts");
}
