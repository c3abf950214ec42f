//! Tests of `schedule`: recurrence across DST in three zones, each lead-time reason, and a
//! run's life under an injected clock.

use super::*;
use crate::DroneStatus;
use crate::ManualClock;
use crate::clock::Clock as _;
use crate::weather::{Reason, ReasonKind};
use chrono_tz::{America, Australia, Europe};

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("time")
}

fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, mo, d, h, mi, 0)
        .single()
        .expect("utc")
}

fn spec(zone: Tz, at: NaiveTime, recurrence: Recurrence, start: NaiveDate) -> ScheduleSpec {
    ScheduleSpec {
        timezone: zone,
        local_time: at,
        recurrence,
        start_date: start,
        end_date: None,
    }
}

fn runs(s: &ScheduleSpec, from: DateTime<Utc>, n: usize) -> Vec<(NaiveDate, DateTime<Utc>)> {
    s.runs_from(from)
        .take(n)
        .map(|r| (r.local_date, r.at))
        .collect()
}

// --- recurrence across DST ----------------------------------------------------------------

#[test]
fn berlin_nine_oclock_stays_nine_local_across_both_changes() {
    let s = spec(
        Europe::Berlin,
        time(9, 0),
        Recurrence::Daily,
        date(2026, 3, 28),
    );
    assert_eq!(
        runs(&s, utc(2026, 3, 28, 0, 0), 3),
        vec![
            (date(2026, 3, 28), utc(2026, 3, 28, 8, 0)), // CET, +01:00
            (date(2026, 3, 29), utc(2026, 3, 29, 7, 0)), // CEST from that night, +02:00
            (date(2026, 3, 30), utc(2026, 3, 30, 7, 0)),
        ]
    );
    assert_eq!(
        runs(&s, utc(2026, 10, 24, 12, 0), 2),
        vec![
            (date(2026, 10, 25), utc(2026, 10, 25, 8, 0)), // back to CET
            (date(2026, 10, 26), utc(2026, 10, 26, 8, 0)),
        ]
    );
    for (_, at) in runs(&s, utc(2026, 3, 1, 0, 0), 300) {
        assert_eq!(at.with_timezone(&Europe::Berlin).time(), time(9, 0), "{at}");
    }
}

#[test]
fn berlin_skipped_and_repeated_half_past_two() {
    let s = spec(
        Europe::Berlin,
        time(2, 30),
        Recurrence::Daily,
        date(2026, 3, 28),
    );
    // 29 March: 02:00 CET jumps to 03:00 CEST; 02:30 runs at 03:00 CEST (01:00 UTC).
    assert_eq!(
        runs(&s, utc(2026, 3, 28, 0, 0), 3),
        vec![
            (date(2026, 3, 28), utc(2026, 3, 28, 1, 30)),
            (date(2026, 3, 29), utc(2026, 3, 29, 1, 0)),
            (date(2026, 3, 30), utc(2026, 3, 30, 0, 30)),
        ]
    );
    // 25 October: 02:30 happens twice (CEST then CET); it runs once, at the first.
    let october = runs(&s, utc(2026, 10, 24, 12, 0), 3);
    assert_eq!(
        october,
        vec![
            (date(2026, 10, 25), utc(2026, 10, 25, 0, 30)),
            (date(2026, 10, 26), utc(2026, 10, 26, 1, 30)),
            (date(2026, 10, 27), utc(2026, 10, 27, 1, 30)),
        ]
    );
    // Asked from between the two 02:30s, the repeated hour does not give a second run.
    assert_eq!(
        runs(&s, utc(2026, 10, 25, 0, 45), 1),
        vec![(date(2026, 10, 26), utc(2026, 10, 26, 1, 30))]
    );
}

#[test]
fn new_york_weekly_across_both_changes() {
    let s = spec(
        America::New_York,
        time(2, 30),
        Recurrence::Weekly {
            days: vec![Weekday::Sun, Weekday::Wed],
        },
        date(2026, 3, 1),
    );
    assert_eq!(
        runs(&s, utc(2026, 3, 1, 0, 0), 4),
        vec![
            (date(2026, 3, 1), utc(2026, 3, 1, 7, 30)), // Sun, EST -05:00
            (date(2026, 3, 4), utc(2026, 3, 4, 7, 30)), // Wed
            (date(2026, 3, 8), utc(2026, 3, 8, 7, 0)),  // Sun: 02:30 skipped, 03:00 EDT
            (date(2026, 3, 11), utc(2026, 3, 11, 6, 30)), // Wed, EDT -04:00
        ]
    );
    let nine = ScheduleSpec {
        local_time: time(9, 0),
        ..s.clone()
    };
    for (d, at) in runs(&nine, utc(2026, 3, 1, 0, 0), 40) {
        let local = at.with_timezone(&America::New_York);
        assert_eq!(local.time(), time(9, 0), "{at}");
        assert!(matches!(d.weekday(), Weekday::Sun | Weekday::Wed));
    }
    // 1 November 01:30 is repeated (EDT then EST): once, the first.
    let repeated = ScheduleSpec {
        local_time: time(1, 30),
        ..s
    };
    assert_eq!(
        runs(&repeated, utc(2026, 10, 31, 0, 0), 2),
        vec![
            (date(2026, 11, 1), utc(2026, 11, 1, 5, 30)),
            (date(2026, 11, 4), utc(2026, 11, 4, 6, 30)),
        ]
    );
}

#[test]
fn sydney_southern_hemisphere_changes() {
    let s = spec(
        Australia::Sydney,
        time(9, 0),
        Recurrence::Daily,
        date(2026, 4, 4),
    );
    // DST ends 5 April 03:00 AEDT -> 02:00 AEST.
    assert_eq!(
        runs(&s, utc(2026, 4, 3, 0, 0), 2),
        vec![
            (date(2026, 4, 4), utc(2026, 4, 3, 22, 0)), // AEDT +11:00
            (date(2026, 4, 5), utc(2026, 4, 4, 23, 0)), // AEST +10:00
        ]
    );
    let night = ScheduleSpec {
        local_time: time(2, 30),
        ..s
    };
    // Repeated 02:30 on 5 April: the first (AEDT), once.
    assert_eq!(
        runs(&night, utc(2026, 4, 4, 0, 0), 2),
        vec![
            (date(2026, 4, 5), utc(2026, 4, 4, 15, 30)),
            (date(2026, 4, 6), utc(2026, 4, 5, 16, 30)),
        ]
    );
    // Skipped 02:30 on 4 October (02:00 AEST -> 03:00 AEDT): 03:00 AEDT = 16:00 UTC the day before.
    assert_eq!(
        runs(&night, utc(2026, 10, 2, 0, 0), 3),
        vec![
            (date(2026, 10, 3), utc(2026, 10, 2, 16, 30)),
            (date(2026, 10, 4), utc(2026, 10, 3, 16, 0)),
            (date(2026, 10, 5), utc(2026, 10, 4, 15, 30)),
        ]
    );
}

#[test]
fn once_and_end_date_bound_the_runs_and_bad_specs_are_named() {
    let once = spec(
        Europe::Berlin,
        time(9, 0),
        Recurrence::Once,
        date(2026, 6, 1),
    );
    assert_eq!(
        runs(&once, utc(2026, 1, 1, 0, 0), 5),
        vec![(date(2026, 6, 1), utc(2026, 6, 1, 7, 0))]
    );
    assert!(runs(&once, utc(2026, 6, 1, 7, 1), 5).is_empty(), "past");
    let bounded = ScheduleSpec {
        recurrence: Recurrence::Daily,
        end_date: Some(date(2026, 6, 3)),
        ..once.clone()
    };
    assert_eq!(runs(&bounded, utc(2026, 1, 1, 0, 0), 10).len(), 3);
    assert_eq!(bounded.validate(), Ok(()));
    let backwards = ScheduleSpec {
        end_date: Some(date(2026, 5, 1)),
        ..bounded
    };
    assert_eq!(
        backwards.validate().map_err(|e| e.to_string()),
        Err("the end date 2026-05-01 is before the start date 2026-06-01".into())
    );
    let no_days = ScheduleSpec {
        recurrence: Recurrence::Weekly { days: vec![] },
        ..once
    };
    assert_eq!(no_days.validate(), Err(ScheduleError::NoWeekday));
    let json = serde_json::to_value(spec(
        Australia::Sydney,
        time(9, 0),
        Recurrence::Weekly {
            days: vec![Weekday::Mon],
        },
        date(2026, 1, 5),
    ))
    .expect("json");
    assert_eq!(json["timezone"], "Australia/Sydney");
    assert_eq!(json["recurrence"]["kind"], "weekly");
    assert_eq!(json["recurrence"]["days"][0], "Mon");
}

// --- lead-time checks ---------------------------------------------------------------------

fn verdict(v: Verdict) -> WeatherVerdict {
    WeatherVerdict {
        verdict: v,
        reasons: if v == Verdict::Go {
            vec![]
        } else {
            vec![Reason {
                kind: ReasonKind::Gust,
                verdict: v,
                value: Some(14.0),
                limit: Some(12.0),
                unit: "m/s".into(),
                at: None,
                text: "gusts 14.0 m/s at 10 m > 12.0 m/s limit for Aviary X4".into(),
            }]
        },
        not_assessed: vec![],
        model: "Aviary X4".into(),
        source: Some("open-meteo".into()),
        age_s: Some(60),
        window_start: utc(2026, 6, 1, 7, 0),
        window_end: utc(2026, 6, 1, 7, 30),
    }
}

fn good() -> LeadFacts {
    LeadFacts {
        drone: Some("Kestrel".into()),
        drone_status: DroneStatus::Available,
        link_up: true,
        landed: true,
        battery_pct: Some(96.0),
        battery_needed_pct: 75.0,
        weather: Some(verdict(Verdict::Go)),
        conflicting_mission: None,
    }
}

#[test]
fn lead_checks_pass_for_a_ready_drone_and_caution() {
    assert_eq!(lead_checks(&good()), vec![]);
    let caution = LeadFacts {
        weather: Some(verdict(Verdict::Caution)),
        ..good()
    };
    assert_eq!(lead_checks(&caution), vec![]);
}

#[test]
fn lead_checks_fail_for_each_reason_with_words() {
    let cases: Vec<(LeadFacts, MissReason, &str)> = vec![
        (
            LeadFacts {
                drone: None,
                ..good()
            },
            MissReason::NoDrone,
            "no drone assigned",
        ),
        (
            LeadFacts {
                drone_status: DroneStatus::Charging,
                ..good()
            },
            MissReason::DroneUnavailable {
                status: DroneStatus::Charging,
            },
            "drone is charging",
        ),
        (
            LeadFacts {
                link_up: false,
                ..good()
            },
            MissReason::LinkDown,
            "no link to the drone",
        ),
        (
            LeadFacts {
                landed: false,
                ..good()
            },
            MissReason::NotLanded,
            "drone is armed or in the air",
        ),
        (
            LeadFacts {
                battery_pct: Some(60.0),
                ..good()
            },
            MissReason::Battery {
                have_pct: Some(60.0),
                need_pct: 75.0,
            },
            "battery 60 % < 75 % needed",
        ),
        (
            LeadFacts {
                battery_pct: None,
                ..good()
            },
            MissReason::Battery {
                have_pct: None,
                need_pct: 75.0,
            },
            "battery not reported (75 % needed)",
        ),
        (
            LeadFacts {
                weather: Some(verdict(Verdict::NoGo)),
                ..good()
            },
            MissReason::Weather {
                summary: "no-go: gusts 14.0 m/s at 10 m > 12.0 m/s limit for Aviary X4".into(),
            },
            "weather no-go: gusts 14.0 m/s at 10 m > 12.0 m/s limit for Aviary X4",
        ),
        (
            LeadFacts {
                weather: Some(verdict(Verdict::Unknown)),
                ..good()
            },
            MissReason::Weather {
                summary: "unknown: gusts 14.0 m/s at 10 m > 12.0 m/s limit for Aviary X4".into(),
            },
            "weather unknown: gusts 14.0 m/s at 10 m > 12.0 m/s limit for Aviary X4",
        ),
        (
            LeadFacts {
                weather: None,
                ..good()
            },
            MissReason::Weather {
                summary: "unknown: no weather verdict".into(),
            },
            "weather unknown: no weather verdict",
        ),
        (
            LeadFacts {
                conflicting_mission: Some("Dock survey".into()),
                ..good()
            },
            MissReason::Conflict {
                mission: "Dock survey".into(),
            },
            "drone is held by mission 'Dock survey'",
        ),
    ];
    for (facts, reason, words) in cases {
        assert_eq!(lead_checks(&facts), vec![reason.clone()], "{words}");
        assert_eq!(reason.to_string(), words);
    }
}

// --- a run's life under an injected clock -------------------------------------------------

fn run_at(due: DateTime<Utc>) -> RunState {
    RunState::new(
        RunKey {
            schedule: Uuid::nil(),
            local_date: due.date_naive(),
        },
        due,
    )
}

#[test]
fn checks_at_the_lead_time_then_an_unattended_start_at_the_due_time() {
    let due = utc(2026, 6, 1, 7, 0);
    let clock = ManualClock::new(due - Duration::minutes(30));
    let config = SchedulerConfig {
        unattended_starts: true,
        ..SchedulerConfig::default()
    };
    let mut run = run_at(due);
    let mut asked = 0;
    assert_eq!(
        run.tick(clock.now(), &config, || {
            asked += 1;
            good()
        }),
        None
    );
    assert_eq!(asked, 0, "no checks before the lead time");
    assert!(!run.checks_due(clock.now(), &config));
    assert!(run.checks_due(due - Duration::minutes(10), &config));
    clock.advance(Duration::minutes(20));
    assert_eq!(run.tick(clock.now(), &config, good), None);
    assert_eq!(run.phase, RunPhase::Ready);
    clock.advance(Duration::minutes(10));
    assert_eq!(
        run.tick(clock.now(), &config, good),
        Some(RunAction::Start { unattended: true })
    );
    assert_eq!(
        run.phase,
        RunPhase::Started {
            unattended: true,
            at: due
        }
    );
    clock.advance(Duration::minutes(1));
    assert_eq!(run.tick(clock.now(), &config, good), None, "starts once");
}

#[test]
fn a_failed_lead_check_misses_the_run_with_its_reason_and_an_alert() {
    let due = utc(2026, 6, 1, 7, 0);
    let config = SchedulerConfig::default();
    let mut run = run_at(due);
    let action = run.tick(due - Duration::minutes(10), &config, || LeadFacts {
        link_up: false,
        battery_pct: Some(30.0),
        ..good()
    });
    assert_eq!(
        action,
        Some(RunAction::Missed {
            alert: "scheduled run at 2026-06-01 07:00 UTC missed: no link to the drone; \
                    battery 30 % < 75 % needed"
                .into()
        })
    );
    assert!(matches!(&run.phase, RunPhase::Missed { reasons, .. } if reasons.len() == 2));
    assert_eq!(run.tick(due, &config, good), None, "missed stays missed");
}

#[test]
fn weather_turning_no_go_between_lead_and_start_misses_the_run() {
    let due = utc(2026, 6, 1, 7, 0);
    let config = SchedulerConfig {
        unattended_starts: true,
        ..SchedulerConfig::default()
    };
    let mut run = run_at(due);
    assert_eq!(run.tick(due - Duration::minutes(10), &config, good), None);
    let action = run.tick(due, &config, || LeadFacts {
        weather: Some(verdict(Verdict::NoGo)),
        ..good()
    });
    assert!(
        matches!(&action, Some(RunAction::Missed { alert }) if alert.contains("weather no-go")),
        "{action:?}"
    );
}

#[test]
fn without_unattended_starts_the_operator_confirms_declines_or_lets_it_lapse() {
    let due = utc(2026, 6, 1, 7, 0);
    let config = SchedulerConfig::default();
    let mut confirmed = run_at(due);
    assert_eq!(
        confirmed.tick(due - Duration::minutes(10), &config, good),
        None
    );
    assert_eq!(
        confirmed.tick(due, &config, good),
        Some(RunAction::AskOperator)
    );
    assert_eq!(
        confirmed.answer(Ok(()), due + Duration::minutes(2), &config),
        Some(RunAction::Start { unattended: false })
    );
    assert_eq!(confirmed.answer(Ok(()), due, &config), None, "once");

    let mut declined = run_at(due);
    declined.tick(due, &config, good);
    let action = declined.answer(Err("crane on site".into()), due, &config);
    assert!(
        matches!(&action, Some(RunAction::Missed { alert }) if alert.ends_with("declined by the operator: crane on site")),
        "{action:?}"
    );

    let mut lapsed = run_at(due);
    lapsed.tick(due, &config, good);
    assert_eq!(
        lapsed.tick(due + Duration::minutes(15), &config, good),
        None
    );
    let action = lapsed.tick(due + Duration::minutes(16), &config, good);
    assert!(
        matches!(&action, Some(RunAction::Missed { alert }) if alert.ends_with("the operator did not confirm the start in time")),
        "{action:?}"
    );
    assert_eq!(
        lapsed.answer(Ok(()), due + Duration::minutes(17), &config),
        None,
        "too late to confirm"
    );
}

#[test]
fn a_run_seen_late_starts_inside_the_grace_window_and_is_missed_outside() {
    let due = utc(2026, 6, 1, 7, 0);
    let config = SchedulerConfig {
        unattended_starts: true,
        ..SchedulerConfig::default()
    };
    let mut inside = run_at(due);
    assert_eq!(
        inside.tick(due + Duration::minutes(14), &config, good),
        Some(RunAction::Start { unattended: true }),
        "checks and starts in one step"
    );
    let mut outside = run_at(due);
    let mut asked = false;
    let action = outside.tick(due + Duration::minutes(40), &config, || {
        asked = true;
        good()
    });
    assert!(!asked, "no checks for a run past its grace");
    assert_eq!(
        action,
        Some(RunAction::Missed {
            alert: "scheduled run at 2026-06-01 07:00 UTC missed: due 40 min ago while the \
                    scheduler was down (grace 15 min)"
                .into()
        })
    );
}
