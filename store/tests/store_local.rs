//! The desktop's weather limits, mission weather and local schedules in a real SQLite file:
//! stored, read back after a reopen, reset to defaults, deleted with their mission.
#![allow(
    clippy::many_single_char_names,
    clippy::unwrap_used,
    reason = "o, s, d, m: org, site, drone, mission fixtures; a panic is the failure report"
)]

mod common;

use aviary_core::schedule::{MissReason, Recurrence, RunKey, RunPhase, RunState, ScheduleSpec};
use aviary_core::weather::WeatherLimits;
use aviary_core::weather_log::WindAccumulator;
use aviary_core::*;
use aviary_store::{LocalSchedule, StoredRun};
use chrono::{Duration, NaiveDate, NaiveTime};
use common::*;

#[test]
fn weather_limits_are_edited_per_model_and_reset_to_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let path = dir.path().join("a.db");
    let store = open(&path, &clock);
    assert_eq!(
        store.weather_limits("Aviary X8 (simulated)").unwrap(),
        WeatherLimits::for_model("Aviary X8"),
        "a model never edited has its built-in limits"
    );
    let edited = WeatherLimits {
        max_wind_mps: 7.5,
        max_gust_mps: 9.0,
        ..WeatherLimits::for_model("Aviary X4")
    };
    store
        .set_weather_limits(" Aviary X4 ", Some(&edited))
        .unwrap();
    drop(store);
    let store = open(&path, &clock);
    assert_eq!(store.weather_limits("Aviary X4").unwrap(), edited);
    assert_eq!(
        store.edited_weather_limits().unwrap(),
        vec![("Aviary X4".to_owned(), edited)]
    );
    store.set_weather_limits("Aviary X4", None).unwrap();
    assert_eq!(
        store.weather_limits("Aviary X4").unwrap(),
        WeatherLimits::for_model("Aviary X4")
    );
    assert!(store.edited_weather_limits().unwrap().is_empty());
}

#[test]
fn schedules_runs_and_mission_weather_round_trip_and_go_with_their_mission() {
    let dir = tempfile::tempdir().unwrap();
    let clock = ManualClock::new(t0());
    let path = dir.path().join("s.db");
    let store = open(&path, &clock);
    let o = org();
    let s = site(&o, "Dock", chrono_tz::Europe::Berlin);
    let d = drone(&s, "X-1", DroneStatus::Available);
    let m = mission(&o, &s, Some(&d), "Weekly dock survey", t0());
    store.upsert_org(&o).unwrap();
    store.upsert_site(&s).unwrap();
    store.insert_drone(&d).unwrap();
    store.insert_mission(&m).unwrap();

    let sched = LocalSchedule {
        id: uuid::Uuid::new_v4(),
        mission: m.id,
        site: s.id,
        spec: ScheduleSpec {
            timezone: chrono_tz::Europe::Berlin,
            local_time: NaiveTime::from_hms_opt(9, 0, 0).unwrap(),
            recurrence: Recurrence::Weekly {
                days: vec![chrono::Weekday::Mon, chrono::Weekday::Thu],
            },
            start_date: NaiveDate::from_ymd_opt(2027, 1, 11).unwrap(),
            end_date: None,
        },
        created_at: t0(),
    };
    store.save_schedule(&sched).unwrap();
    let due = sched.spec.instant_on(sched.spec.start_date).unwrap();
    let mut run = RunState::new(
        RunKey {
            schedule: sched.id,
            local_date: sched.spec.start_date,
        },
        due,
    );
    run.phase = RunPhase::Missed {
        reasons: vec![MissReason::LinkDown],
        at: due,
    };
    store
        .save_run(&StoredRun {
            state: run.clone(),
            mission: None,
        })
        .unwrap();
    let mut acc = WindAccumulator::default();
    acc.add(5.0, 180.0, t0());
    store
        .put_measured_wind(m.id, &acc.result().unwrap())
        .unwrap();
    drop(store);

    let store = open(&path, &clock);
    assert_eq!(store.list_schedules().unwrap(), vec![sched.clone()]);
    let runs = store
        .runs_between(due - Duration::days(1), due + Duration::days(1))
        .unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].state, run);
    assert_eq!(
        store
            .missed_runs_by_site(due - Duration::days(1), due + Duration::days(1))
            .unwrap(),
        vec![(s.id, 1)]
    );
    assert!(
        store
            .missed_runs_by_site(due + Duration::days(1), due + Duration::days(2))
            .unwrap()
            .is_empty(),
        "outside the period"
    );
    let w = store.mission_weather(m.id).unwrap();
    assert_eq!(w.measured.map(|x| x.samples), Some(1));
    assert!(w.forecast.is_none());

    // A schedule goes with its runs.
    store.delete_schedule(sched.id).unwrap();
    assert!(store.list_schedules().unwrap().is_empty());
    assert!(
        store
            .runs_between(due - Duration::days(1), due + Duration::days(1))
            .unwrap()
            .is_empty()
    );
}
