//! Weather and the local scheduler in the desktop, driven by label through `egui_kittest` on
//! the real app state: a temp-dir store with the demo seed, a manual clock, the links-side
//! weather service fetching from a plain HTTP server this test starts (answering in
//! Open-Meteo's real format), and, where a drone must fly, the built-in simulated fleet on
//! real UDP sockets. Waits are bounded loops on a real peer; the app's time only moves when
//! the test moves the clock.

use aviary_app::gui::app::{AviaryApp, MapTiles};
use aviary_app::gui::backend::{Backend, BackendOptions};
use aviary_app::gui::command::Command;
use aviary_app::gui::jobs::JobMode;
use aviary_app::gui::settings::Settings;
use aviary_app::gui::state::AlertKind;
use aviary_core::preflight::CheckKind;
use aviary_core::weather::Verdict;
use aviary_core::{Clock, DroneId};
use aviary_core::{ManualClock, MissionStatus};
use aviary_store::{Store, StoreOptions};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use std::io::{Read as _, Write as _};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// 2027-01-15 08:00 UTC (00:00 in San Francisco).
fn t0() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_800_000_000, 0).expect("t0")
}

/// Wind and gusts the server answers with, m/s; changed by the test while it runs.
type Forecast = Arc<Mutex<(f64, f64)>>;

/// A plain HTTP server answering every request with an Open-Meteo forecast (its real shape:
/// `hourly` arrays with `hourly_units`, ISO times at `utc_offset_seconds`) of 72 hours from
/// two hours before `t0`, with the wind and gusts in `forecast` at the time of the request.
fn open_meteo_server(forecast: Forecast) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(mut sock) = sock else { break };
            let mut got = Vec::new();
            let mut buf = [0_u8; 4096];
            while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                match sock.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => got.extend_from_slice(&buf[..n]),
                }
            }
            let (wind, gust) = *forecast.lock().expect("forecast");
            let first = t0() - chrono::Duration::hours(2);
            let times: Vec<String> = (0..72)
                .map(|h| {
                    (first + chrono::Duration::hours(h))
                        .format("%Y-%m-%dT%H:00")
                        .to_string()
                })
                .collect();
            let same = |v: f64| vec![v; 72];
            let body = serde_json::json!({
                "utc_offset_seconds": 0,
                "hourly_units": { "time": "iso8601", "wind_speed_10m": "km/h",
                    "wind_speed_80m": "km/h", "wind_gusts_10m": "km/h", "temperature_2m": "°C",
                    "precipitation": "mm", "precipitation_probability": "%", "visibility": "m" },
                "hourly": { "time": times, "wind_speed_10m": same(wind * 3.6),
                    "wind_speed_80m": same(wind * 3.6), "wind_gusts_10m": same(gust * 3.6),
                    "temperature_2m": same(12.0), "precipitation": same(0.0),
                    "precipitation_probability": same(5.0), "visibility": same(24_000.0) }
            })
            .to_string();
            let _ = write!(
                sock,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}/v1/forecast")
}

struct Rig {
    h: Harness<'static, AviaryApp>,
    clock: ManualClock,
    forecast: Forecast,
    _dir: tempfile::TempDir,
}

fn rig(simulated_fleet: bool, wind_gust: (f64, f64)) -> Rig {
    let dir = tempfile::tempdir().expect("temp dir");
    let clock = ManualClock::new(t0());
    let shared: Arc<dyn Clock> = Arc::new(clock.clone());
    let store = Store::open(
        &dir.path().join("aviary.db"),
        Arc::clone(&shared),
        StoreOptions::default(),
    )
    .expect("store");
    let options = BackendOptions {
        seed_demo: true,
        simulated_fleet,
        job_mode: JobMode::Inline,
    };
    let backend = Backend::new(store, shared, options, Arc::new(|| {}));
    let forecast = Arc::new(Mutex::new(wind_gust));
    let settings = Settings {
        weather_url: open_meteo_server(Arc::clone(&forecast)),
        ..Settings::default()
    };
    let app = AviaryApp::new(
        &egui::Context::default(),
        backend,
        settings,
        MapTiles::BasemapOnly,
    );
    let h = Harness::builder()
        .with_size([1500.0, 950.0])
        .build_ui_state(|ui, app: &mut AviaryApp| app.frame_ui(ui), app);
    Rig {
        h,
        clock,
        forecast,
        _dir: dir,
    }
}

/// Steps until `done` holds (bounded; the weather thread and the simulated drones are real).
fn step_until(h: &mut Harness<'_, AviaryApp>, what: &str, done: impl Fn(&AviaryApp) -> bool) {
    let deadline = Instant::now() + Duration::from_mins(1);
    while !done(h.state()) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; notices: {:?}; weather errors: {:?}",
            h.state().state.notices,
            h.state()
                .state
                .weather
                .sites
                .values()
                .map(|w| (w.error.clone(), w.requested_at, w.report.is_some()))
                .collect::<Vec<_>>()
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(2);
}

fn san_francisco(a: &AviaryApp) -> aviary_core::Site {
    a.state
        .sites
        .iter()
        .find(|s| s.name == "San Francisco")
        .expect("demo site")
        .clone()
}

fn plan_verdict(a: &AviaryApp) -> Option<Verdict> {
    a.state.weather.plan.as_ref().map(|v| v.verdict)
}

#[test]
fn the_plan_view_shows_the_verdict_and_model_limits_edited_in_the_fleet_view_apply() {
    let mut r = rig(false, (6.0, 14.0));
    let h = &mut r.h;
    h.run_steps(2);
    h.get_by_label("Plan").click();
    h.run_steps(1);
    let sf = san_francisco(h.state());
    h.state_mut().state.plan.site = Some(sf.id);
    h.run_steps(2);
    step_until(h, "the forecast", |a| {
        plan_verdict(a).is_some_and(|v| v != Verdict::Unknown)
    });
    let v = h.state().state.weather.plan.clone().expect("verdict");
    assert_eq!(v.verdict, Verdict::NoGo, "{v:?}");
    let gust = &v.reasons[0];
    assert_eq!(
        (gust.value, gust.limit, gust.unit.as_str()),
        (Some(14.0), Some(12.0), "m/s"),
        "{gust:?}"
    );
    assert_eq!(
        gust.text,
        "gusts 14.0 m/s at 10 m > 12.0 m/s limit for Aviary X4 (simulated)"
    );
    assert_eq!(v.age_s, Some(0), "fetched at the app's clock");
    h.get_by_label("NO-GO");
    h.get_by_label(&gust.text);
    h.get_by_label("Data: Open-Meteo forecast, 0 s old");

    // The Fleet view: the demo model's gust limit raised to 15 m/s and stored.
    h.get_by_label("Fleet").click();
    h.run_steps(1);
    h.get_by_label("Weather limits per model").click();
    h.run_steps(2);
    let model = "Aviary X4 (simulated)";
    let row = h
        .state_mut()
        .state
        .weather
        .limits
        .iter_mut()
        .find(|l| l.model == model)
        .expect("the fleet's model is listed");
    assert!(!row.edited);
    row.limits.max_gust_mps = 15.0;
    h.get_by_label(&format!("Save {model}")).click();
    h.run_steps(3);
    let stored = h
        .state()
        .backend
        .store
        .weather_limits(model)
        .expect("limits");
    assert!((stored.max_gust_mps - 15.0).abs() < 1e-9, "{stored:?}");
    h.get_by_label(&format!("{model} (edited)"));
    // 14 m/s gusts under a 15 m/s limit: past 80 % of it, caution.
    assert_eq!(plan_verdict(h.state()), Some(Verdict::Caution));

    // Stale: four hours later without a new answer the verdict is unknown, never go.
    r.forecast.lock().expect("forecast").1 = 3.0;
    h.get_by_label("Plan").click();
    h.state_mut().settings.weather_url = String::from("http://127.0.0.1:9/v1/forecast");
    r.clock.advance(chrono::Duration::hours(4));
    h.run_steps(3);
    let v = h.state().state.weather.plan.clone().expect("verdict");
    assert_eq!(v.verdict, Verdict::Unknown, "{v:?}");
    assert!(
        v.reasons[0].text.starts_with("weather data is 240 min old"),
        "{v:?}"
    );
    h.get_by_label("UNKNOWN");

    // Back to the defaults.
    h.get_by_label("Fleet").click();
    h.run_steps(1);
    h.get_by_label(&format!("Defaults {model}")).click();
    h.run_steps(2);
    assert!(
        h.state()
            .backend
            .store
            .edited_weather_limits()
            .expect("limits")
            .is_empty()
    );
}

#[test]
fn a_scheduled_run_without_a_link_is_missed_with_its_reasons_and_alerts() {
    let mut r = rig(false, (3.0, 5.0));
    let h = &mut r.h;
    h.run_steps(2);
    h.get_by_label("Calendar").click();
    h.run_steps(2);
    let site = san_francisco(h.state());
    let mission = h
        .state()
        .state
        .missions
        .iter()
        .find(|m| m.site_id == site.id)
        .expect("demo mission")
        .clone();
    h.get_by_label("Scheduled mission").click();
    h.run_steps(2);
    h.get_by_label(&mission.name).click();
    h.run_steps(1);
    assert_eq!(
        h.state().state.calendar.form.mission,
        Some(mission.id),
        "{:?}",
        h.state().state.calendar.form
    );
    {
        // 00:30 in San Francisco on the clock's day: 08:30 UTC, in 30 minutes.
        let form = &mut h.state_mut().state.calendar.form;
        form.date = "2027-01-15".into();
        form.time = "00:30".into();
    }
    h.run_steps(2);
    h.get_by_label("Schedule").click();
    h.run_steps(3);
    assert!(
        !h.state().state.calendar.rows.is_empty(),
        "{:?} {:?} {:?}",
        h.state().state.calendar.form,
        h.state().state.notices,
        h.state().backend.store.list_schedules()
    );
    step_until(h, "the site's forecast", |a| {
        a.state
            .weather
            .sites
            .get(&site.id)
            .is_some_and(|w| w.report.is_some())
    });
    let row = h
        .state()
        .state
        .calendar
        .rows
        .first()
        .expect("a run")
        .clone();
    assert_eq!(row.local, "2027-01-15 00:30 PST");
    assert_eq!(row.due, t0() + chrono::Duration::minutes(30));
    assert_eq!(row.phase, "upcoming");
    h.get_by_label("2027-01-15 00:30 PST");

    // Nothing happens before the lead time (10 min).
    r.clock.advance(chrono::Duration::minutes(19));
    h.run_steps(3);
    assert_eq!(h.state().state.calendar.rows[0].phase, "upcoming");
    // At the lead time the checks run: no drone is linked, so the run is missed.
    r.clock.advance(chrono::Duration::minutes(1));
    step_until(h, "the lead-time checks", |a| {
        a.state
            .calendar
            .rows
            .first()
            .is_some_and(|r| r.phase == "missed")
    });
    let row = h.state().state.calendar.rows[0].clone();
    assert!(
        row.detail.contains("no link to the drone") && row.detail.contains("battery not reported"),
        "{row:?}"
    );
    let alert = h
        .state()
        .state
        .alerts
        .iter()
        .find(|a| a.kind == AlertKind::MissedRun)
        .expect("missed-run alert")
        .clone();
    assert!(
        alert
            .message
            .contains("scheduled run at 2027-01-15 08:30 UTC missed: no link to the drone"),
        "{alert:?}"
    );
    h.get_by_label("1 missed");
    let missed = h
        .state()
        .backend
        .store
        .missed_runs_by_site(t0(), t0() + chrono::Duration::days(1))
        .expect("count");
    assert_eq!(missed, vec![(site.id, 1)]);
    // The template is untouched and nothing was started.
    assert_eq!(
        h.state()
            .backend
            .store
            .get_mission(mission.id)
            .expect("mission")
            .status,
        MissionStatus::Planned
    );
}

#[test]
fn a_confirmed_scheduled_run_flies_records_its_weather_and_a_change_in_flight_alerts() {
    let mut r = rig(true, (3.0, 5.0));
    let h = &mut r.h;
    h.run_steps(2);
    let site = san_francisco(h.state());
    let (mission, _drone) = sf_mission_flying_ready(h);
    h.get_by_label("Calendar").click();
    h.run_steps(1);
    h.get_by_label("Scheduled mission").click();
    h.run_steps(2);
    h.get_by_label(&mission.name).click();
    h.run_steps(1);
    assert_eq!(
        h.state().state.calendar.form.mission,
        Some(mission.id),
        "{:?}",
        h.state().state.calendar.form
    );
    {
        let form = &mut h.state_mut().state.calendar.form;
        form.date = "2027-01-15".into();
        form.time = "00:15".into();
    }
    h.run_steps(2);
    h.get_by_label("Schedule").click();
    h.run_steps(3);
    // Lead time: the checks pass (linked, landed, battery, weather go).
    ready_at_lead_time(h, &r.clock, site.id);
    // Start time: the operator is asked.
    r.clock.advance(chrono::Duration::minutes(10));
    step_until(h, "the confirmation prompt", |a| {
        !a.state.calendar.prompts.is_empty()
    });
    h.get_by_label("Start scheduled run").click();
    h.run_steps(2);
    let run_mission = h
        .state()
        .state
        .missions
        .iter()
        .find(|m| m.scheduled_start.is_some())
        .expect("the run's mission")
        .id;
    step_until(h, "the run in flight", |a| {
        a.state
            .mission(run_mission)
            .is_some_and(|m| m.status == MissionStatus::InProgress)
    });
    assert_eq!(h.state().state.calendar.rows[0].phase, "started");
    let forecast = h
        .state()
        .backend
        .store
        .mission_weather(run_mission)
        .expect("weather")
        .forecast
        .expect("forecast at start recorded");
    assert_eq!(forecast.verdict.verdict, Verdict::Go, "{forecast:?}");

    // The drone's own wind estimates are taken once a (clock) second.
    for _ in 0..5 {
        r.clock.advance(chrono::Duration::seconds(1));
        h.run_steps(1);
        std::thread::sleep(Duration::from_millis(300));
    }
    step_until(h, "the drone's wind estimate", |a| {
        a.state
            .weather
            .measured
            .get(&run_mission)
            .and_then(|f| f.wind.result())
            .is_some()
    });

    // The forecast turns no-go during the flight: an alert on the Monitor.
    *r.forecast.lock().expect("forecast") = (13.0, 18.0);
    r.clock.advance(chrono::Duration::minutes(16));
    step_until(h, "the weather alert", |a| {
        a.state.alerts.iter().any(|x| x.kind == AlertKind::Weather)
    });
    let alert = h
        .state()
        .state
        .alerts
        .iter()
        .find(|x| x.kind == AlertKind::Weather)
        .expect("alert")
        .clone();
    assert!(
        alert.message.contains("changed from go to no-go"),
        "{alert:?}"
    );
    h.get_by_label_contains("Monitor").click();
    h.state_mut().state.selected_mission = Some(run_mission);
    h.run_steps(2);
    h.get_by_label("NO-GO");
    // The measured wind is stored with the mission.
    assert!(
        h.state()
            .backend
            .store
            .mission_weather(run_mission)
            .expect("weather")
            .measured
            .is_some_and(|m| m.samples >= 1)
    );
}

/// Waits for `site`'s forecast, moves the clock 5 min to the run's lead time and waits for the
/// first calendar row's checks to pass.
fn ready_at_lead_time(
    h: &mut Harness<'_, AviaryApp>,
    clock: &ManualClock,
    site: aviary_core::SiteId,
) {
    step_until(h, "the site's forecast", |a| {
        a.state
            .weather
            .sites
            .get(&site)
            .is_some_and(|w| w.report.is_some())
    });
    clock.advance(chrono::Duration::minutes(5));
    step_until(h, "the lead-time checks", |a| {
        a.state
            .calendar
            .rows
            .first()
            .is_some_and(|r| r.phase == "ready")
    });
}

/// The San Francisco demo mission and its drone, once the drone's telemetry is heard.
fn sf_mission_flying_ready(h: &mut Harness<'_, AviaryApp>) -> (aviary_core::Mission, DroneId) {
    let site = san_francisco(h.state());
    let mission = h
        .state()
        .state
        .missions
        .iter()
        .find(|m| m.site_id == site.id)
        .expect("demo mission")
        .clone();
    let drone = mission.drone_id.expect("demo mission has a drone");
    step_until(h, "the drone's telemetry", |a| {
        a.state
            .drones
            .get(&drone)
            .is_some_and(|d| d.live.is_some() && d.link_up)
    });
    (mission, drone)
}

/// Schedules `mission` once on the clock's day at `local` San Francisco time, through the
/// Calendar's form.
fn schedule_once(h: &mut Harness<'_, AviaryApp>, mission: &aviary_core::Mission, local: &str) {
    h.get_by_label("Calendar").click();
    h.run_steps(1);
    h.get_by_label("Scheduled mission").click();
    h.run_steps(2);
    h.get_by_label(&mission.name).click();
    h.run_steps(1);
    assert_eq!(h.state().state.calendar.form.mission, Some(mission.id));
    {
        let form = &mut h.state_mut().state.calendar.form;
        form.date = "2027-01-15".into();
        form.time = local.into();
    }
    h.run_steps(2);
    h.get_by_label("Schedule").click();
    h.run_steps(3);
    assert!(
        !h.state().state.calendar.rows.is_empty(),
        "{:?}",
        h.state().state.notices
    );
}

#[test]
fn a_weather_no_go_start_needs_a_typed_reason_and_the_override_is_audited() {
    // Gusts of 14 m/s against the demo model's 12 m/s limit: no-go.
    let mut r = rig(true, (6.0, 14.0));
    let h = &mut r.h;
    h.state_mut().state.operator = "jane.pilot".into();
    h.run_steps(2);
    let (mission, _drone) = sf_mission_flying_ready(h);
    h.get_by_label_contains("Monitor").click();
    h.state_mut().state.selected_mission = Some(mission.id);
    h.run_steps(2);
    // The selected mission's site forecast is fetched for its Start.
    step_until(h, "the site's forecast", |a| {
        a.state
            .weather
            .sites
            .get(&mission.site_id)
            .is_some_and(|w| w.report.is_some())
    });

    h.get_by_label("Start").click();
    h.run_steps(2);
    let prompt = h
        .state()
        .state
        .preflight
        .clone()
        .expect("the start is refused");
    let weather = prompt
        .checks
        .iter()
        .find(|c| c.kind == CheckKind::Weather)
        .expect("weather check")
        .clone();
    assert!(!weather.ok && weather.soft, "{weather:?}");
    let gust_text = "gusts 14.0 m/s at 10 m > 12.0 m/s limit for Aviary X4 (simulated)";
    assert!(
        weather.detail.starts_with(&format!("no-go: {gust_text}")),
        "{weather:?}"
    );
    assert!(prompt.overridable, "only soft checks failed: {prompt:?}");
    assert!(h.state().state.last_command(mission.id).is_none());

    // Without a typed reason: "Start anyway" is disabled and a click does nothing ...
    h.run_steps(2);
    h.get_by_label("Override reason");
    assert!(
        h.get_by_label("Start anyway")
            .accesskit_node()
            .is_disabled()
    );
    h.get_by_label("Start anyway").click();
    h.run_steps(2);
    assert!(h.state().state.preflight.is_some(), "still refused");
    // ... and an override whose reason is blank is refused by the logic too.
    h.state_mut().commands.send(Command::StartOverride {
        mission: mission.id,
        reason: "   ".into(),
    });
    h.run_steps(2);
    assert!(
        h.state().state.preflight.is_some(),
        "a blank reason is no reason"
    );
    assert!(h.state().state.last_command(mission.id).is_none());
    let overrides = |a: &AviaryApp| {
        a.backend
            .store
            .audit_log()
            .expect("audit")
            .into_iter()
            .filter(|e| e.action == "preflight.override")
            .collect::<Vec<_>>()
    };
    assert!(overrides(h.state()).is_empty(), "nothing audited yet");
    assert_eq!(
        h.state()
            .backend
            .store
            .get_mission(mission.id)
            .expect("mission")
            .status,
        MissionStatus::Planned
    );

    // With a typed reason the start goes out, and the override is in the audit log.
    h.get_by_label("Override reason").focus();
    h.run_steps(1);
    h.get_by_label("Override reason")
        .type_text("gusts are from the sea, survey is over land");
    h.run_steps(1);
    assert!(
        !h.get_by_label("Start anyway")
            .accesskit_node()
            .is_disabled()
    );
    h.get_by_label("Start anyway").click();
    h.run_steps(2);
    assert!(h.state().state.preflight.is_none());
    step_until(h, "the mission in flight", |a| {
        a.state
            .mission(mission.id)
            .is_some_and(|m| m.status == MissionStatus::InProgress)
    });
    let audit = overrides(h.state());
    assert_eq!(audit.len(), 1, "{audit:?}");
    let entry = &audit[0];
    assert_eq!(entry.target, mission.id.to_string());
    assert_eq!(entry.time, t0(), "at the app's clock");
    let detail: serde_json::Value = serde_json::from_str(&entry.detail).expect("JSON detail");
    assert_eq!(detail["operator"], "jane.pilot", "{detail}");
    assert_eq!(
        detail["reason"], "gusts are from the sea, survey is over land",
        "{detail}"
    );
    assert_eq!(detail["weather_verdict"], "no-go", "{detail}");
    assert_eq!(detail["weather_reasons"][0], gust_text, "{detail}");
    assert!(
        detail["overridden"]
            .as_array()
            .expect("checks")
            .iter()
            .any(|c| c["check"] == "weather"
                && c["detail"].as_str().is_some_and(|d| d.contains(gust_text))),
        "{detail}"
    );
    // The forecast the mission started under is kept with it: the no-go.
    let forecast = h
        .state()
        .backend
        .store
        .mission_weather(mission.id)
        .expect("weather")
        .forecast
        .expect("forecast at start");
    assert_eq!(forecast.verdict.verdict, Verdict::NoGo, "{forecast:?}");
}

#[test]
fn with_unattended_starts_enabled_a_scheduled_run_starts_without_the_operator_and_is_audited() {
    let mut r = rig(true, (3.0, 5.0));
    let h = &mut r.h;
    h.run_steps(2);
    // The organisation's choice, made in Settings.
    h.get_by_label("Settings").click();
    h.run_steps(2);
    h.get_by_label("Start scheduled runs unattended (no confirmation; each start audited)")
        .click();
    h.run_steps(2);
    assert!(h.state().settings.unattended_starts);
    let (mission, _drone) = sf_mission_flying_ready(h);
    // 00:15 in San Francisco: 08:15 UTC, 15 min after the clock.
    schedule_once(h, &mission, "00:15");
    ready_at_lead_time(h, &r.clock, mission.site_id);
    let unattended_audits = |a: &AviaryApp| {
        a.backend
            .store
            .audit_log()
            .expect("audit")
            .into_iter()
            .filter(|e| e.action == "schedule.unattended_start")
            .collect::<Vec<_>>()
    };
    // One minute before the start: nothing yet.
    r.clock.advance(chrono::Duration::minutes(9));
    h.run_steps(3);
    assert_eq!(h.state().state.calendar.rows[0].phase, "ready");
    assert!(unattended_audits(h.state()).is_empty());
    // At the start time the run starts by itself: no prompt, nobody clicks.
    r.clock.advance(chrono::Duration::minutes(1));
    step_until(h, "the unattended start", |a| {
        a.state
            .missions
            .iter()
            .any(|m| m.scheduled_start.is_some() && m.status == MissionStatus::InProgress)
    });
    assert!(
        h.state().state.calendar.prompts.is_empty(),
        "{:?}",
        h.state().state.calendar.prompts
    );
    let run = h
        .state()
        .state
        .missions
        .iter()
        .find(|m| m.scheduled_start.is_some())
        .expect("the run's mission")
        .clone();
    let due = t0() + chrono::Duration::minutes(15);
    assert_eq!(run.scheduled_start, Some(due));
    let row = h.state().state.calendar.rows[0].clone();
    assert_eq!(row.phase, "started");
    assert!(
        row.detail.contains("started 08:15 UTC unattended"),
        "{row:?}"
    );
    let audit = unattended_audits(h.state());
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].time, due);
    assert_eq!(audit[0].target, mission.id.to_string());
    assert!(audit[0].user_id.is_none(), "no operator started it");
    assert!(
        audit[0].detail.contains(&format!(
            "scheduled run of '{}' due 2027-01-15 08:15 UTC started without an operator",
            mission.name
        )),
        "{audit:?}"
    );
}
