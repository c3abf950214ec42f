//! The supervisor's transitions through the store: phase, reason, causes and the result of a
//! flight that ends only when the vehicle has landed — return leg included.

mod common;

use aviary_core::mission::FailureReason;
use aviary_core::supervisor::{MissionPhase as P, Transition};
use aviary_core::*;
use chrono::Duration;
use common::*;

fn tr(from: P, to: P, at: chrono::DateTime<chrono::Utc>, cause: &str) -> Transition {
    Transition {
        from,
        to,
        at,
        cause: cause.into(),
        reason: None,
    }
}

#[test]
fn a_failsafe_flight_is_stored_with_every_transition_and_its_reason() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.db");
    let clock = ManualClock::new(t0());
    let m = {
        let mut store = open(&path, &clock);
        let (o, s, d) = seeded(&store);
        let m = mission(&o, &s, Some(&d), "roof", t0());
        store.insert_mission(&m).unwrap();
        assert_eq!(store.mission_phase(m.id).unwrap(), (P::Planned, None));
        let at = |secs: i64| t0() + Duration::seconds(secs);
        for (from, to, s, cause) in [
            (P::Planned, P::Uploading, 1, "operator: start"),
            (P::Uploading, P::Ready, 2, "vehicle: 21 items stored"),
            (P::Ready, P::Launching, 2, "operator: start"),
            (P::Launching, P::InProgress, 5, "vehicle: armed, AUTO"),
        ] {
            let stored = store
                .apply_transition(m.id, &tr(from, to, at(s), cause), None)
                .unwrap();
            assert_eq!(stored.status, to.status());
        }
        let started = store.get_mission(m.id).unwrap();
        assert_eq!(started.actual_start, Some(at(2)));
        // Samples during the flight, the failsafe's return included.
        fly_north(&store, d.id, m.id, at(5), 100);
        let mut fs = tr(P::InProgress, P::Returning, at(60), "vehicle: RTL");
        fs.reason = Some(FailureReason::BatteryCritical);
        store.apply_transition(m.id, &fs, None).unwrap();
        assert_eq!(
            store.get_mission(m.id).unwrap().status,
            MissionStatus::InProgress
        );
        store
            .apply_transition(
                m.id,
                &tr(P::Returning, P::Landed, at(100), "vehicle: touched down"),
                None,
            )
            .unwrap();
        let mut end = tr(
            P::Landed,
            P::Failed,
            at(105),
            "vehicle: landed and disarmed (battery failsafe)",
        );
        end.reason = Some(FailureReason::BatteryCritical);
        clock.advance(Duration::seconds(105));
        let ended = store.apply_transition(m.id, &end, None).unwrap();
        assert_eq!(
            (ended.status, ended.actual_end),
            (MissionStatus::Failed, Some(at(105)))
        );
        m
    };
    // Reopened: phase, reason, the seven transitions and a result covering the return leg.
    let store = open(&path, &clock);
    assert_eq!(
        store.mission_phase(m.id).unwrap(),
        (P::Failed, Some(FailureReason::BatteryCritical))
    );
    let all = store.mission_transitions(m.id).unwrap();
    let path_taken: Vec<P> = all.iter().map(|t| t.to).collect();
    assert_eq!(
        path_taken,
        vec![
            P::Uploading,
            P::Ready,
            P::Launching,
            P::InProgress,
            P::Returning,
            P::Landed,
            P::Failed
        ]
    );
    assert_eq!(all[4].reason, Some(FailureReason::BatteryCritical));
    assert_eq!(
        all[6].cause,
        "vehicle: landed and disarmed (battery failsafe)"
    );
    let r = store.mission_result(m.id).unwrap().expect("result");
    assert_eq!((r.outcome, r.samples), (MissionStatus::Failed, 100));
}

#[test]
fn a_failed_mission_resumed_after_a_failsafe_flies_again() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let mut store = open(&dir.path().join("r.db"), &clock);
    let (o, s, d) = seeded(&store);
    let m = mission(&o, &s, Some(&d), "roof", t0());
    store.insert_mission(&m).unwrap();
    let at = |secs: i64| t0() + Duration::seconds(secs);
    store
        .apply_transition(
            m.id,
            &tr(P::Planned, P::Launching, at(1), "operator: start"),
            None,
        )
        .unwrap();
    let mut failed = tr(
        P::Launching,
        P::Failed,
        at(50),
        "vehicle: landed and disarmed (link lost)",
    );
    failed.reason = Some(FailureReason::ConnectionLost);
    store.apply_transition(m.id, &failed, None).unwrap();
    let again = store
        .apply_transition(
            m.id,
            &tr(
                P::Failed,
                P::Launching,
                at(90),
                "operator: resume from item 5",
            ),
            None,
        )
        .unwrap();
    assert_eq!(
        (again.status, again.actual_start, again.actual_end),
        (MissionStatus::InProgress, Some(at(1)), None)
    );
    assert_eq!(store.mission_phase(m.id).unwrap(), (P::Launching, None));
}
