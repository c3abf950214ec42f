//! The operator's alerts in the store (schema v8): written, acknowledged, read back after a
//! reopen, paged and filtered for the history, and deleted with the telemetry's retention.
#![allow(
    clippy::unwrap_used,
    reason = "a panic is the failure report in these story tests"
)]

mod common;

use aviary_core::*;
use aviary_store::{AlertFilter, Store, StoreOptions, StoredAlert};
use chrono::Duration;
use common::*;
use std::sync::Arc;

fn alert(id: u64, drone: Option<DroneId>, severity: &str, seconds: i64) -> StoredAlert {
    StoredAlert {
        id,
        drone,
        kind: if severity == "critical" {
            "link_lost".into()
        } else {
            "low_battery".into()
        },
        severity: severity.into(),
        message: format!("alert {id}"),
        raised_at: t0() + Duration::seconds(seconds),
        acknowledged_at: None,
        acknowledged_by: None,
        mission: None,
    }
}

#[test]
fn alerts_round_trip_across_a_reopen_with_their_acknowledgement() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("aviary.db");
    let clock = ManualClock::new(t0());
    let drone = DroneId::new_random();
    let mission = MissionId::new_random();
    let gps = StoredAlert {
        kind: "vehicle_fault".into(),
        message: "MAV-3: GPS failsafe".into(),
        mission: Some(mission),
        ..alert(1, Some(drone), "critical", 0)
    };
    let battery = alert(2, Some(drone), "warning", 5);
    let unattached = alert(3, None, "info", 6);
    {
        let store = open(&path, &clock);
        assert_eq!(store.max_alert_id().unwrap(), 0);
        for a in [&gps, &battery, &unattached] {
            store.insert_alert(a).unwrap();
        }
        let at = t0() + Duration::seconds(9);
        assert_eq!(
            store
                .acknowledge_alerts(&[2, 3, 99], at, Some("ops@example.org"))
                .unwrap(),
            2
        );
        // A second acknowledgement keeps the first one's time and name.
        assert_eq!(
            store
                .acknowledge_alerts(&[2], at + Duration::seconds(1), Some("other"))
                .unwrap(),
            0
        );
    }
    let store = open(&path, &clock);
    assert_eq!(store.max_alert_id().unwrap(), 3);
    // Restoring an hour later: only the open alert; with a window back to t0, all three.
    let open_only = store.alerts_to_restore(t0() + Duration::hours(1)).unwrap();
    assert_eq!(open_only, vec![gps.clone()]);
    let all = store.alerts_to_restore(t0()).unwrap();
    assert_eq!(all.len(), 3);
    assert_eq!(all[0], gps, "oldest first");
    assert_eq!(all[1].id, 2);
    assert_eq!(all[1].acknowledged_at, Some(t0() + Duration::seconds(9)));
    assert_eq!(all[1].acknowledged_by.as_deref(), Some("ops@example.org"));
    assert_eq!(all[2].drone, None);
    // Writing the same id again replaces its row (an alert acknowledged before it was saved).
    let acked = StoredAlert {
        acknowledged_at: Some(t0() + Duration::seconds(2)),
        acknowledged_by: Some("me".into()),
        ..gps
    };
    store.insert_alert(&acked).unwrap();
    assert!(
        store
            .alerts_to_restore(t0() + Duration::hours(1))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn history_pages_newest_first_and_filters_by_severity_and_drone() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let store = open(&dir.path().join("aviary.db"), &clock);
    let (a, b) = (DroneId::new_random(), DroneId::new_random());
    for id in 1..=250u64 {
        let drone = if id % 2 == 0 { a } else { b };
        let severity = if id % 5 == 0 { "critical" } else { "warning" };
        store
            .insert_alert(&alert(id, Some(drone), severity, id as i64))
            .unwrap();
    }
    let every = AlertFilter::default();
    let first = store.alert_history(&every, 0, 100).unwrap();
    assert_eq!(first.total, 250);
    assert_eq!(first.alerts.len(), 100);
    assert_eq!(first.alerts[0].id, 250, "newest first");
    assert_eq!(first.alerts[99].id, 151);
    let last = store.alert_history(&every, 2, 100).unwrap();
    assert_eq!(
        last.alerts.iter().map(|x| x.id).collect::<Vec<_>>(),
        (1..=50).rev().collect::<Vec<_>>()
    );
    assert!(
        store
            .alert_history(&every, 3, 100)
            .unwrap()
            .alerts
            .is_empty()
    );

    let critical = AlertFilter {
        severity: Some("critical".into()),
        drone: None,
    };
    let page = store.alert_history(&critical, 0, 100).unwrap();
    assert_eq!(page.total, 50);
    assert!(page.alerts.iter().all(|x| x.severity == "critical"));
    let critical_of_a = AlertFilter {
        severity: Some("critical".into()),
        drone: Some(a),
    };
    let page = store.alert_history(&critical_of_a, 0, 100).unwrap();
    // Multiples of 10 are even (drone a) and critical.
    assert_eq!(page.total, 25);
    assert_eq!(page.alerts[0].id, 250);
    assert!(page.alerts.iter().all(|x| x.drone == Some(a)));
    let of_b = AlertFilter {
        severity: None,
        drone: Some(b),
    };
    assert_eq!(store.alert_history(&of_b, 0, 10).unwrap().total, 125);
}

#[test]
fn retention_deletes_old_alerts_with_the_telemetry() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let opts = StoreOptions {
        retention_interval: Duration::days(365 * 100),
        ..StoreOptions::default()
    };
    let store = Store::open(&dir.path().join("t.db"), Arc::new(clock.clone()), opts).unwrap();
    store.insert_alert(&alert(1, None, "critical", 0)).unwrap();
    store
        .insert_alert(&alert(2, None, "warning", 86_400 * 100))
        .unwrap();
    clock.advance(Duration::days(730) + Duration::days(1));
    store.telemetry().run_retention().unwrap();
    let left = store.alert_history(&AlertFilter::default(), 0, 10).unwrap();
    assert_eq!(
        left.alerts.iter().map(|x| x.id).collect::<Vec<_>>(),
        vec![2]
    );
    // The highest id stays known through the rows that remain.
    assert_eq!(store.max_alert_id().unwrap(), 2);
}
