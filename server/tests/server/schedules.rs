//! Scheduled missions and site weather on the fleet server: `/api/v1/schedules` scoped by
//! organisation and role, `GET /api/v1/sites/{id}/weather` against a local HTTP server
//! answering in Open-Meteo's format, two scheduler loops on one database never starting one
//! run twice, and runs due while the server was down (inside and outside the grace window).
//! The scheduler passes run at injected times; the drone is a simulated MQTT drone.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aviary_core::auth::Role;
use aviary_core::{DroneId, LatLon};
use aviary_sim::mqtt_drone::{Broker, MqttDrone, MqttDroneConfig};
use chrono::{DateTime, Timelike as _, Utc};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

use crate::common::{self, Http};

// --- a local Open-Meteo ------------------------------------------------------------------

/// What the local provider answers: status and body.
type Answer = Arc<Mutex<(u16, String)>>;

/// An hourly Open-Meteo answer from two hours before `around` for 48 hours, every hour with
/// the same wind and gusts (m/s), in Open-Meteo's real shape.
fn open_meteo(around: DateTime<Utc>, wind_mps: f64, gust_mps: f64) -> String {
    let first = around
        .with_minute(0)
        .and_then(|t| t.with_second(0))
        .expect("hour")
        - chrono::Duration::hours(2);
    let n = 48;
    let times: Vec<String> = (0..n)
        .map(|h| {
            (first + chrono::Duration::hours(h))
                .format("%Y-%m-%dT%H:%M")
                .to_string()
        })
        .collect();
    let same = |v: f64| vec![json!(v); n as usize];
    json!({
        "latitude": 47.4, "longitude": 8.54, "utc_offset_seconds": 0, "timezone": "GMT",
        "hourly_units": {
            "time": "iso8601", "temperature_2m": "°C", "precipitation": "mm",
            "precipitation_probability": "%", "visibility": "m", "wind_speed_10m": "m/s",
            "wind_speed_80m": "m/s", "wind_speed_120m": "m/s", "wind_speed_180m": "m/s",
            "wind_direction_10m": "°", "wind_gusts_10m": "m/s"
        },
        "hourly": {
            "time": times,
            "temperature_2m": same(15.0),
            "precipitation": same(0.0),
            "precipitation_probability": same(0.0),
            "visibility": same(24_000.0),
            "wind_speed_10m": same(wind_mps),
            "wind_speed_80m": same(wind_mps),
            "wind_speed_120m": same(wind_mps),
            "wind_speed_180m": same(wind_mps),
            "wind_direction_10m": same(270.0),
            "wind_gusts_10m": same(gust_mps),
        }
    })
    .to_string()
}

/// A plain HTTP/1.1 server on an ephemeral port answering every request with `answer`.
async fn provider(answer: Answer) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let answer = Arc::clone(&answer);
            tokio::spawn(async move {
                let mut buf = vec![0_u8; 8192];
                let mut got = Vec::new();
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                let (status, body) = answer.lock().expect("answer").clone();
                let head = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                    body.len()
                );
                let _ = sock.write_all(head.as_bytes()).await;
                let _ = sock.write_all(body.as_bytes()).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    format!("http://{addr}/v1/forecast")
}

// --- helpers ------------------------------------------------------------------------------

struct Rig {
    t: common::TestServer,
    http: Http,
    org: common::Org,
    answer: Answer,
    _drone: Option<MqttDrone>,
}

/// A server whose weather provider is local, an organisation, and (when `fly`) its drone as a
/// simulated MQTT drone, online.
async fn rig(prefix: &str, fly: bool) -> Option<Rig> {
    let answer: Answer = Arc::new(Mutex::new((200, open_meteo(Utc::now(), 3.0, 5.0))));
    let url = provider(Arc::clone(&answer)).await;
    let t = common::start_with(prefix, |c| {
        c.weather_url = url;
        c.ack_timeout = Duration::from_secs(5);
    })
    .await?;
    let http = Http::new(t.server.addr);
    let drone_id = DroneId::new_random();
    let org = common::org(&t.server, &http, prefix, drone_id).await;
    let drone = if fly {
        let mut cfg = MqttDroneConfig::new(
            Broker::parse(&format!("{}:{}", t.mqtt_host, t.mqtt_port)).expect("broker"),
            drone_id,
            LatLon::new(47.397, 8.545),
        );
        cfg.time_scale = 10.0;
        let drone = MqttDrone::spawn(cfg);
        wait_online(&http, &org).await;
        Some(drone)
    } else {
        None
    };
    Some(Rig {
        t,
        http,
        org,
        answer,
        _drone: drone,
    })
}

/// Waits (bounded) until the server hears the organisation's drone online and charged.
async fn wait_online(http: &Http, org: &common::Org) {
    let op = org.token(Role::Operator).to_owned();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    loop {
        let (_, d) = http
            .call(
                "GET",
                &format!("/api/v1/drones/{}", org.drone),
                Some(&op),
                None,
            )
            .await;
        if d["online"] == true && d["battery_level"].as_f64().unwrap_or(0.0) > 90.0 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the drone online: {d}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn mission(r: &Rig) -> String {
    let (st, m) = r
        .http
        .call(
            "POST",
            "/api/v1/missions",
            Some(r.org.token(Role::Operator)),
            Some(&common::mission_body(r.org.site, Some(r.org.drone))),
        )
        .await;
    assert_eq!(st, 201, "{m}");
    m["mission_id"].as_str().expect("id").to_owned()
}

/// A one-off schedule of `mission` at the Zurich-local minute of `at`.
async fn schedule_once(r: &Rig, mission: &str, at: DateTime<Utc>) -> (String, DateTime<Utc>) {
    let local = at.with_timezone(&chrono_tz::Europe::Zurich);
    let (st, s) = r
        .http
        .call(
            "POST",
            "/api/v1/schedules",
            Some(r.org.token(Role::Operator)),
            Some(&json!({
                "mission_id": mission,
                "local_time": local.format("%H:%M").to_string(),
                "recurrence": { "kind": "once" },
                "start_date": local.date_naive(),
            })),
        )
        .await;
    assert_eq!(st, 201, "{s}");
    let due: DateTime<Utc> =
        serde_json::from_value(s["next_runs"][0]["at"].clone()).expect("next run");
    (s["schedule_id"].as_str().expect("id").to_owned(), due)
}

async fn unattended(r: &Rig, on: bool) {
    let (st, b) = r
        .http
        .call(
            "PUT",
            "/api/v1/schedules/settings",
            Some(r.org.token(Role::Admin)),
            Some(&json!({ "unattended_starts": on })),
        )
        .await;
    assert_eq!(st, 200, "{b}");
}

async fn count(r: &Rig, sql: &str, id: &str) -> i64 {
    let conn = r.t.server.state.pool.get().await.expect("conn");
    let id: uuid::Uuid = id.parse().expect("uuid");
    conn.query_one(sql, &[&id]).await.expect("count").get(0)
}

async fn runs(r: &Rig, schedule: &str) -> Vec<Value> {
    let (st, s) = r
        .http
        .call(
            "GET",
            &format!("/api/v1/schedules/{schedule}"),
            Some(r.org.token(Role::Analyst)),
            None,
        )
        .await;
    assert_eq!(st, 200, "{s}");
    s["runs"].as_array().cloned().unwrap_or_default()
}

// --- tests --------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn site_weather_comes_from_the_configured_provider_with_the_same_verdicts() {
    let Some(r) = rig("wx", false).await else {
        return;
    };
    let path = format!(
        "/api/v1/sites/{}/weather?model=Aviary%20X4&alt_m=120",
        r.org.site
    );
    let analyst = r.org.token(Role::Analyst).to_owned();
    let (st, calm) = r.http.call("GET", &path, Some(&analyst), None).await;
    assert_eq!(st, 200, "{calm}");
    assert_eq!(calm["verdict"]["verdict"], "go", "{calm}");
    assert_eq!(calm["report"]["samples"].as_array().map(Vec::len), Some(48));

    *r.answer.lock().expect("answer") = (200, open_meteo(Utc::now(), 6.0, 14.0));
    let (_, gusty) = r.http.call("GET", &path, Some(&analyst), None).await;
    assert_eq!(gusty["verdict"]["verdict"], "no-go", "{gusty}");
    let reason = &gusty["verdict"]["reasons"][0];
    assert_eq!(
        (
            reason["kind"].as_str(),
            reason["value"].as_f64(),
            reason["limit"].as_f64(),
            reason["unit"].as_str()
        ),
        (Some("gust"), Some(14.0), Some(12.0), Some("m/s")),
        "{gusty}"
    );

    *r.answer.lock().expect("answer") = (503, r#"{"error":true,"reason":"maintenance"}"#.into());
    let (st, down) = r.http.call("GET", &path, Some(&analyst), None).await;
    assert_eq!(st, 200, "{down}");
    assert_eq!(
        down["verdict"]["verdict"], "unknown",
        "offline is never go: {down}"
    );
    assert!(
        down["error"].as_str().unwrap_or("").contains("503"),
        "{down}"
    );

    let other = common::org(&r.t.server, &r.http, "wx-other", DroneId::new_random()).await;
    let (st, _) = r
        .http
        .call("GET", &path, Some(other.token(Role::Admin)), None)
        .await;
    assert_eq!(st, 404, "another organisation's site");
    r.t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_are_scoped_by_organisation_and_role() {
    let Some(r) = rig("sched-crud", false).await else {
        return;
    };
    let m = mission(&r).await;
    let body = json!({
        "mission_id": m, "local_time": "09:00",
        "recurrence": { "kind": "weekly", "days": ["Mon", "Thu"] },
        "start_date": "2030-03-25", "end_date": "2030-04-30", "lead_time_min": 15,
    });
    let (st, _) = r
        .http
        .call(
            "POST",
            "/api/v1/schedules",
            Some(r.org.token(Role::Analyst)),
            Some(&body),
        )
        .await;
    assert_eq!(st, 403, "analysts never schedule a start");
    let (st, bad) = r
        .http
        .call(
            "POST",
            "/api/v1/schedules",
            Some(r.org.token(Role::Operator)),
            Some(&json!({ "mission_id": m, "local_time": "9 o'clock", "recurrence": { "kind": "daily" }, "start_date": "2030-03-25" })),
        )
        .await;
    assert_eq!(st, 422, "{bad}");
    assert!(
        bad["error"]["message"]
            .as_str()
            .unwrap_or("")
            .contains("HH:MM")
    );
    let (st, created) = r
        .http
        .call(
            "POST",
            "/api/v1/schedules",
            Some(r.org.token(Role::Operator)),
            Some(&body),
        )
        .await;
    assert_eq!(st, 201, "{created}");
    assert_eq!(
        created["spec"]["timezone"], "Europe/Zurich",
        "the site's zone"
    );
    // Zurich changes to summer time on 31 March 2030: 09:00 local stays 09:00.
    let next: Vec<&str> = created["next_runs"]
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| r["at"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(
        next[..3],
        [
            "2030-03-25T08:00:00Z",
            "2030-03-28T08:00:00Z",
            "2030-04-01T07:00:00Z"
        ]
    );
    let id = created["schedule_id"].as_str().expect("id").to_owned();
    let (_, list) = r
        .http
        .call(
            "GET",
            "/api/v1/schedules",
            Some(r.org.token(Role::Analyst)),
            None,
        )
        .await;
    assert_eq!(list.as_array().map(Vec::len), Some(1));

    let other = common::org(&r.t.server, &r.http, "sched-other", DroneId::new_random()).await;
    let (_, theirs) = r
        .http
        .call(
            "GET",
            "/api/v1/schedules",
            Some(other.token(Role::Admin)),
            None,
        )
        .await;
    assert_eq!(theirs, json!([]), "another organisation sees none");
    for (method, b) in [
        ("GET", None),
        ("PATCH", Some(json!({ "enabled": false }))),
        ("DELETE", None),
    ] {
        let (st, _) = r
            .http
            .call(
                method,
                &format!("/api/v1/schedules/{id}"),
                Some(other.token(Role::Admin)),
                b.as_ref(),
            )
            .await;
        assert_eq!(st, 404, "{method} another organisation's schedule");
    }
    let (st, _) = r
        .http
        .call(
            "PUT",
            "/api/v1/schedules/settings",
            Some(r.org.token(Role::Operator)),
            Some(&json!({ "unattended_starts": true })),
        )
        .await;
    assert_eq!(st, 403, "only admins allow unattended starts");

    let (st, patched) = r
        .http
        .call(
            "PATCH",
            &format!("/api/v1/schedules/{id}"),
            Some(r.org.token(Role::Operator)),
            Some(&json!({ "enabled": false, "lead_time_min": 20 })),
        )
        .await;
    assert_eq!(st, 200, "{patched}");
    assert_eq!(
        (
            patched["enabled"].as_bool(),
            patched["lead_time_min"].as_i64()
        ),
        (Some(false), Some(20))
    );
    let (st, _) = r
        .http
        .call(
            "DELETE",
            &format!("/api/v1/schedules/{id}"),
            Some(r.org.token(Role::Operator)),
            None,
        )
        .await;
    assert_eq!(st, 204);
    assert_eq!(
        count(&r, "SELECT count(*) FROM audit_log WHERE action LIKE 'schedule.%' AND target = 'schedule:' || $1::uuid::text", &id).await,
        3,
        "create, update, delete audited"
    );
    r.t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_server_instances_on_one_database_start_a_run_once() {
    let Some(r) = rig("sched-once", true).await else {
        return;
    };
    unattended(&r, true).await;
    let m = mission(&r).await;
    // Half an hour ahead: the servers' own maintenance passes (wall clock) stay out of it.
    let (schedule, due) = schedule_once(&r, &m, Utc::now() + chrono::Duration::minutes(30)).await;
    *r.answer.lock().expect("answer") = (200, open_meteo(due, 3.0, 5.0));
    let state = Arc::clone(&r.t.server.state);
    // A second instance of the cluster: its own pool and scheduler, the same database.
    let other = r.t.second_instance("sched-once-b").await;
    let other_state = Arc::clone(&other.state);

    let lead = due - chrono::Duration::minutes(10);
    let (a, b) = tokio::join!(
        aviary_server::schedules::pass(&state, lead),
        aviary_server::schedules::pass(&other_state, lead)
    );
    let (a, b) = (a.expect("pass"), b.expect("pass"));
    assert_eq!(
        a.missed + b.missed,
        0,
        "{a:?} {b:?} {:?}",
        runs(&r, &schedule).await
    );
    assert_eq!(runs(&r, &schedule).await[0]["phase"], "ready");

    let (a, b) = tokio::join!(
        aviary_server::schedules::pass(&state, due),
        aviary_server::schedules::pass(&other_state, due)
    );
    let (a, b) = (a.expect("pass"), b.expect("pass"));
    assert_eq!(a.started + b.started, 1, "exactly one start: {a:?} {b:?}");
    let (again, again_other) = tokio::join!(
        aviary_server::schedules::pass(&state, due + chrono::Duration::minutes(1)),
        aviary_server::schedules::pass(&other_state, due + chrono::Duration::minutes(1))
    );
    assert_eq!(
        again.expect("pass").started + again_other.expect("pass").started,
        0
    );
    other.shutdown().await;
    assert_eq!(
        count(
            &r,
            "SELECT count(*) FROM commands WHERE mission_id = $1 AND action = 'start'",
            &m
        )
        .await,
        1,
        "one start command"
    );
    assert_eq!(
        count(&r, "SELECT count(*) FROM audit_log WHERE action = 'schedule.unattended_start' AND target LIKE 'schedule:' || $1::uuid::text || '%'", &schedule).await,
        1,
        "the unattended start is audited once"
    );
    let (_, mv) = r
        .http
        .call(
            "GET",
            &format!("/api/v1/missions/{m}"),
            Some(r.org.token(Role::Analyst)),
            None,
        )
        .await;
    assert_eq!(mv["status"], "in_progress", "{mv}");
    assert_eq!(runs(&r, &schedule).await[0]["phase"], "started");
    r.t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn runs_due_while_down_start_inside_the_grace_window_and_are_missed_outside() {
    let Some(r) = rig("sched-restart", true).await else {
        return;
    };
    unattended(&r, true).await;
    let now = Utc::now();
    let early = mission(&r).await;
    let late = mission(&r).await;
    let (inside, due_in) = schedule_once(&r, &early, now + chrono::Duration::hours(1)).await;
    let (outside, due_out) = schedule_once(&r, &late, now + chrono::Duration::hours(2)).await;
    // The last pass before the outage.
    let before = aviary_server::schedules::pass(&r.t.server.state, now)
        .await
        .expect("pass");
    assert_eq!(before, aviary_server::schedules::PassSummary::default());
    *r.answer.lock().expect("answer") = (200, open_meteo(due_in, 3.0, 5.0));

    // The outage: the server stops and starts again (same database and name, a new
    // process state and port), then hears the drone again.
    let Rig {
        t,
        org,
        answer,
        _drone: drone,
        ..
    } = r;
    let t = t.restart().await;
    let http = Http::new(t.server.addr);
    wait_online(&http, &org).await;
    let r = Rig {
        t,
        http,
        org,
        answer,
        _drone: drone,
    };
    let state = Arc::clone(&r.t.server.state);

    // Back 5 min after the first run was due: inside the 15 min grace, it starts late.
    let back = aviary_server::schedules::pass(&state, due_in + chrono::Duration::minutes(5))
        .await
        .expect("pass");
    assert_eq!(
        (back.added, back.started, back.missed),
        (1, 1, 0),
        "{back:?}"
    );
    assert_eq!(runs(&r, &inside).await[0]["phase"], "started");

    // Back 40 min after the second was due: missed, with its reason, audited.
    let much_later =
        aviary_server::schedules::pass(&state, due_out + chrono::Duration::minutes(40))
            .await
            .expect("pass");
    assert_eq!(
        (much_later.started, much_later.missed),
        (0, 1),
        "{much_later:?}"
    );
    let missed = runs(&r, &outside).await;
    assert_eq!(missed[0]["phase"], "missed");
    assert!(
        missed[0]["outcome"]
            .as_str()
            .unwrap_or("")
            .ends_with("missed: due 40 min ago while the scheduler was down (grace 15 min)"),
        "{missed:?}"
    );
    assert_eq!(
        count(&r, "SELECT count(*) FROM audit_log WHERE action = 'schedule.run_missed' AND target LIKE 'schedule:' || $1::uuid::text || '%'", &outside).await,
        1
    );
    assert_eq!(
        count(
            &r,
            "SELECT count(*) FROM commands WHERE mission_id = $1",
            &late
        )
        .await,
        0,
        "nothing sent for a missed run"
    );
    r.t.server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_unattended_starts_the_operator_confirms_and_no_go_weather_misses() {
    let Some(r) = rig("sched-confirm", true).await else {
        return;
    };
    let m = mission(&r).await;
    let (schedule, due) = schedule_once(&r, &m, Utc::now() + chrono::Duration::minutes(30)).await;
    *r.answer.lock().expect("answer") = (200, open_meteo(due, 3.0, 5.0));
    let state = Arc::clone(&r.t.server.state);
    let at_due = aviary_server::schedules::pass(&state, due)
        .await
        .expect("pass");
    assert_eq!(at_due.asked, 1, "{at_due:?}");
    assert_eq!(
        runs(&r, &schedule).await[0]["phase"],
        "awaiting_confirmation"
    );
    let date = runs(&r, &schedule).await[0]["local_date"]
        .as_str()
        .expect("date")
        .to_owned();
    let confirm = format!("/api/v1/schedules/{schedule}/runs/{date}/confirm");
    let (st, _) = r
        .http
        .call(
            "POST",
            &confirm,
            Some(r.org.token(Role::Analyst)),
            Some(&json!({ "start": true })),
        )
        .await;
    assert_eq!(st, 403);
    let (st, b) = r
        .http
        .call(
            "POST",
            &confirm,
            Some(r.org.token(Role::Operator)),
            Some(&json!({ "start": false })),
        )
        .await;
    assert_eq!(st, 422, "declining needs a reason: {b}");
    let (st, b) = r
        .http
        .call(
            "POST",
            &confirm,
            Some(r.org.token(Role::Operator)),
            Some(&json!({ "start": true })),
        )
        .await;
    assert_eq!(st, 200, "{b}");
    assert_eq!(b["phase"]["phase"], "started");
    let (_, mv) = r
        .http
        .call(
            "GET",
            &format!("/api/v1/missions/{m}"),
            Some(r.org.token(Role::Analyst)),
            None,
        )
        .await;
    assert_eq!(mv["status"], "in_progress", "{mv}");

    // A second mission on a gusty day: missed at the lead time with the weather's words.
    let windy = mission(&r).await;
    let (sched2, due2) = schedule_once(&r, &windy, due + chrono::Duration::hours(3)).await;
    *r.answer.lock().expect("answer") = (200, open_meteo(due2, 6.0, 20.0));
    let lead = aviary_server::schedules::pass(&state, due2 - chrono::Duration::minutes(10))
        .await
        .expect("pass");
    assert_eq!(lead.missed, 1, "{lead:?}");
    let outcome = runs(&r, &sched2).await[0]["outcome"]
        .as_str()
        .unwrap_or("")
        .to_owned();
    assert!(
        outcome.contains("weather no-go: gusts 20.0 m/s"),
        "{outcome}"
    );
    r.t.server.shutdown().await;
}
