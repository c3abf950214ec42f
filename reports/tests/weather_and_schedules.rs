//! The weather a mission flew in and the scheduled runs that were missed, as the reports show
//! them: the mission report's "Forecast at start" and "Wind measured" rows from a recorded
//! Open-Meteo answer and the drone's own `WIND` estimates, and the organisation report's
//! missed runs per site (PDF text through poppler's `pdftotext`, CSV parsed back).
//!
//! Set `AVIARY_REPORT_ARTIFACTS=DIR` to keep the PDFs (render them with `pdftoppm -png`).

use aviary_core::schedule::{
    MissReason, Recurrence, RunKey, RunPhase, RunState, ScheduleSpec, SchedulerConfig,
};
use aviary_core::weather::{EvalConfig, Flight, WeatherLimits, evaluate};
use aviary_core::weather_feed::parse_open_meteo;
use aviary_core::weather_log::{StartForecast, WindAccumulator};
use aviary_core::{DroneStatus, ManualClock, MissionStatus};
use aviary_reports::missed::{MISSED_HEADER, write_missed_runs_csv};
use aviary_reports::summary::{Grouping, MaintenancePolicy, load_org_report};
use aviary_reports::{ReportOptions, load_mission_report, pdf, testdata};
use aviary_store::{LocalSchedule, Store, StoreOptions, StoredRun};
use chrono::{DateTime, Duration, NaiveTime, Utc};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// Open-Meteo's answer for Berlin as recorded (times 2026-12-05 00:00 to 2026-12-07 23:00 UTC,
/// SI units), the same file the links' provider tests serve.
const BERLIN: &[u8] = include_bytes!("../../links/tests/data/weather/open-meteo-berlin.json");

fn open_store(dir: &Path) -> Store {
    let clock = Arc::new(ManualClock::new(testdata::start_time() + Duration::days(1)));
    Store::open(&dir.join("aviary.db"), clock, StoreOptions::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn artifacts(tmp: &Path) -> PathBuf {
    let dir = std::env::var_os("AVIARY_REPORT_ARTIFACTS")
        .map_or_else(|| tmp.to_path_buf(), PathBuf::from);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    dir
}

/// `pdftotext {mode}` of `pdf`, `None` (with a message) when poppler is not installed,
/// unless `AVIARY_REQUIRE_SERVICES=1`. `-raw` keeps the content order, so the summary's
/// side-by-side cells read one after the other; `-layout` keeps tables' rows on lines.
fn pdf_text(pdf: &Path, mode: &str) -> Option<String> {
    match Command::new("pdftotext")
        .args([mode, &pdf.display().to_string(), "-"])
        .output()
    {
        Ok(out) => {
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            Some(String::from_utf8_lossy(&out.stdout).into_owned())
        }
        Err(e) => {
            assert!(
                std::env::var("AVIARY_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "pdftotext is required (AVIARY_REQUIRE_SERVICES=1): {e}"
            );
            eprintln!("skipping the PDF text checks: pdftotext: {e}");
            None
        }
    }
}

/// `pdftotext -layout` joins a table row's cells with runs of spaces and wraps long cells;
/// this folds all white space so a row reads as one line.
fn folded(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn the_mission_report_shows_the_forecast_at_start_and_the_wind_the_drone_measured() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = open_store(tmp.path());
    let mission = testdata::lawnmower_mission(
        "North field survey",
        testdata::AREA_W_M,
        testdata::AREA_H_M,
        MissionStatus::Completed,
    );
    let seeded = testdata::seed_store(&store, mission, 2.0).unwrap_or_else(|e| panic!("{e}"));
    let start = seeded.samples[0].time;

    // The recorded answer, fetched at 07:30 on its first day, moved to the flight's day so
    // its 08:00 hour is the hour the mission started in (13:00 UTC).
    let recorded_at: DateTime<Utc> = "2026-12-05T07:30:00Z".parse().expect("time");
    let mut report =
        parse_open_meteo(BERLIN, "http://127.0.0.1/v1/forecast", recorded_at).expect("recording");
    let shift = start - (recorded_at + Duration::minutes(30));
    report.fetched_at += shift;
    for s in &mut report.samples {
        s.time += shift;
    }
    let limits = WeatherLimits {
        max_gust_mps: 9.0,
        ..WeatherLimits::for_model("Aviary X4")
    };
    let flight = Flight {
        model: "Aviary X4",
        limits,
        start,
        end: start + Duration::minutes(55),
        max_alt_m: 60.0,
    };
    let verdict = evaluate(Some(&report), &flight, &EvalConfig::default(), start);
    let forecast = StartForecast::new(verdict, Some(&report), start);
    store
        .put_start_forecast(seeded.mission.id, &forecast)
        .unwrap_or_else(|e| panic!("{e}"));
    // The autopilot's WIND estimates, once a second for the first ten seconds.
    let mut wind = WindAccumulator::default();
    for (i, (speed, dir)) in [
        (4.1, 241.0),
        (4.6, 243.0),
        (5.2, 246.0),
        (6.3, 250.0),
        (5.8, 248.0),
        (5.0, 245.0),
        (4.4, 244.0),
        (4.9, 245.0),
        (5.5, 247.0),
        (5.2, 246.0),
    ]
    .into_iter()
    .enumerate()
    {
        wind.add(speed, dir, start + Duration::seconds(i as i64));
    }
    store
        .put_measured_wind(seeded.mission.id, &wind.result().expect("measured"))
        .unwrap_or_else(|e| panic!("{e}"));

    let r = load_mission_report(&store, seeded.mission.id, &ReportOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let rows = pdf::mission_summary_pairs(&r);
    let row = |name: &str| {
        rows.iter()
            .find(|(k, _)| *k == name)
            .map_or_else(|| panic!("no {name} row: {rows:?}"), |(_, v)| v.clone())
    };
    let forecast_row = row("Forecast at start");
    let wind_row = row("Wind measured");
    // 13:00 UTC on the flight's day is the recording's 08:00 hour: 4.7 m/s at 10 m from 248°
    // with 9.5 m/s gusts, over the 9.0 m/s gust limit this test sets.
    assert_eq!(
        forecast_row,
        "no-go: gusts 9.5 m/s at 10 m > 9.0 m/s limit for Aviary X4. Open-Meteo forecast for \
         13:00 UTC (30 min old): wind 4.7 m/s at 10 m from 248°, gusts 9.5 m/s"
    );
    assert_eq!(
        wind_row,
        "mean 5.1 m/s, max 6.3 m/s from 250° (10 estimates, 13:00:00 to 13:00:09 UTC)"
    );

    let out = artifacts(tmp.path());
    let pdf_path = out.join("mission-weather.pdf");
    let mut file = std::fs::File::create(&pdf_path).unwrap_or_else(|e| panic!("{e}"));
    pdf::write_mission_pdf(&mut file, &r).unwrap_or_else(|e| panic!("{e}"));
    drop(file);
    if let Some(text) = pdf_text(&pdf_path, "-raw") {
        let text = folded(&text);
        assert!(
            text.contains(&format!("Forecast at start {forecast_row}")),
            "{text}"
        );
        assert!(
            text.contains(&format!("Wind measured {wind_row}")),
            "{text}"
        );
    }
}

/// A schedule of `mission` at 09:00 daily in the site's zone.
fn daily(
    store: &Store,
    seeded: &testdata::Seeded,
    mission: aviary_core::MissionId,
) -> LocalSchedule {
    let s = LocalSchedule {
        id: uuid::Uuid::new_v4(),
        mission,
        site: seeded.site.id,
        spec: ScheduleSpec {
            timezone: seeded.site.timezone,
            local_time: NaiveTime::from_hms_opt(9, 0, 0).expect("09:00"),
            recurrence: Recurrence::Daily,
            start_date: (testdata::start_time() - Duration::days(10)).date_naive(),
            end_date: None,
        },
        created_at: testdata::start_time() - Duration::days(10),
    };
    store.save_schedule(&s).unwrap_or_else(|e| panic!("{e}"));
    s
}

/// Stores the run of `sched` on the day `days` after its start date, in `phase`.
fn run(store: &Store, sched: &LocalSchedule, days: i64, phase: RunPhase) -> DateTime<Utc> {
    let planned = sched
        .spec
        .runs_from(sched.created_at)
        .nth(usize::try_from(days).expect("days"))
        .expect("a run");
    let mut state = RunState::new(
        RunKey {
            schedule: sched.id,
            local_date: planned.local_date,
        },
        planned.at,
    );
    state.phase = phase;
    store
        .save_run(&StoredRun {
            state,
            mission: None,
        })
        .unwrap_or_else(|e| panic!("{e}"));
    planned.at
}

#[test]
fn the_organisation_report_counts_missed_runs_per_site_with_their_reasons() {
    let tmp = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let store = open_store(tmp.path());
    let seeded = testdata::seed_store(
        &store,
        testdata::lawnmower_mission("Dyke survey", 200.0, 120.0, MissionStatus::Completed),
        1.0,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let sched = daily(&store, &seeded, seeded.mission.id);
    let grace = SchedulerConfig::default().grace;
    let at = testdata::start_time();
    // Day 0 is before the period; days 3..=6 are in it: two missed, one started, one missed
    // while the scheduler was down.
    run(
        &store,
        &sched,
        0,
        RunPhase::Missed {
            reasons: vec![MissReason::LinkDown],
            at,
        },
    );
    let first = run(
        &store,
        &sched,
        3,
        RunPhase::Missed {
            reasons: vec![
                MissReason::LinkDown,
                MissReason::Battery {
                    have_pct: None,
                    need_pct: 35.0,
                },
            ],
            at,
        },
    );
    run(
        &store,
        &sched,
        4,
        RunPhase::Started {
            unattended: false,
            at,
        },
    );
    run(
        &store,
        &sched,
        5,
        RunPhase::Missed {
            reasons: vec![MissReason::DroneUnavailable {
                status: DroneStatus::Charging,
            }],
            at,
        },
    );
    run(
        &store,
        &sched,
        6,
        RunPhase::Missed {
            reasons: vec![MissReason::Late {
                late_min: 95,
                grace_min: grace.num_minutes(),
            }],
            at,
        },
    );
    let from = first - Duration::hours(9);
    let to = first + Duration::days(5);
    let report = load_org_report(
        &store,
        from,
        to,
        Grouping::Week,
        &ReportOptions::default(),
        &MaintenancePolicy::default(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let site = report
        .missed_runs
        .site(seeded.site.id)
        .expect("the site's missed runs");
    assert_eq!(report.missed_runs.total(), 3);
    assert_eq!(site.runs.len(), 3);
    assert_eq!(
        site.by_reason(),
        vec![
            ("battery", 1),
            ("drone unavailable", 1),
            ("late", 1),
            ("no link", 1)
        ]
    );
    assert_eq!(site.runs[0].mission, "Dyke survey");

    // CSV: one row per site, parsed back.
    let mut csv_bytes = Vec::new();
    write_missed_runs_csv(&mut csv_bytes, &report.missed_runs).unwrap_or_else(|e| panic!("{e}"));
    let mut rd = csv::Reader::from_reader(csv_bytes.as_slice());
    let header: Vec<String> = rd
        .headers()
        .expect("header")
        .iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(header, MISSED_HEADER);
    let rows: Vec<Vec<String>> = rd
        .records()
        .map(|r| r.expect("row").iter().map(str::to_owned).collect())
        .collect();
    assert_eq!(
        rows,
        vec![vec![
            seeded.site.name.clone(),
            "Europe/Amsterdam".to_owned(),
            "3".to_owned(),
            "battery 1; drone unavailable 1; late 1; no link 1".to_owned(),
        ]]
    );

    // PDF: the organisation page's table and the site page's list of runs.
    let out = artifacts(tmp.path());
    let pdf_path = out.join("org-missed-runs.pdf");
    let mut file = std::fs::File::create(&pdf_path).unwrap_or_else(|e| panic!("{e}"));
    report
        .write_pdf(&mut file)
        .unwrap_or_else(|e| panic!("{e}"));
    drop(file);
    if let Some(text) = pdf_text(&pdf_path, "-layout") {
        let text = folded(&text);
        assert!(
            text.contains(&format!(
                "Missed scheduled runs Site Missed Runs per reason {} 3 battery 1; drone unavailable 1; late 1; no link 1",
                seeded.site.name
            )),
            "{text}"
        );
        assert!(text.contains("Missed scheduled runs: 3"), "{text}");
        let local = first
            .with_timezone(&seeded.site.timezone)
            .format("%Y-%m-%d %H:%M %Z")
            .to_string();
        assert!(
            text.contains(&format!(
                "{local} Dyke survey no link to the drone; battery not reported (35 % needed)"
            )),
            "{text}"
        );
        assert!(
            text.contains(&format!(
                "due 95 min ago while the scheduler was down (grace {} min)",
                grace.num_minutes()
            )),
            "{text}"
        );
    }
}
