//! `aviary fly` end to end: the real binary flies a planned survey through the real `MAVLink`
//! link (UDP) against the simulated `ArduCopter` (in process, sped up), and every line it
//! prints is checked: the pre-flight checks, each transition in order, progress, alerts with
//! the vehicle's own words, the stdin commands and the exit codes. The flight is then read
//! back from the store (`aviary report mission --latest`, transitions, flown speed). A vehicle
//! doing terrain is refused without `--dem` and flies with it.

use aviary_core::supervisor::MissionPhase;
use aviary_core::{LatLon, SystemClock};
use aviary_sim::{Fault, SimConfig, SimHandle, Simulator};
use aviary_store::{Store, StoreOptions, TelemetryRange};
use serde_json::Value;
use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

const AVIARY: &str = env!("CARGO_BIN_EXE_aviary");
const HOME: LatLon = LatLon {
    lat_deg: 47.397_742,
    lon_deg: 8.545_594,
};
/// Simulated seconds per wall second: the 150 × 100 m survey takes about 30 s.
const SPEEDUP: f64 = 10.0;
/// Bound on one run; the peers answer long before (the test waits for lines, never sleeps).
const RUN_LIMIT: Duration = Duration::from_mins(3);

/// A UDP port nobody listens on (bound, read and released).
fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A 150 × 100 m field `north_m` north of the simulator's home, planned at 40 m and 6 m/s.
fn plan(dir: &Path, north_m: f64) -> PathBuf {
    plan_with(dir, north_m, &[])
}

/// [`plan`] with more `aviary plan` arguments.
fn plan_with(dir: &Path, north_m: f64, extra: &[&str]) -> PathBuf {
    let sw = HOME.offset_ne(north_m, 30.0);
    let ring: Vec<[f64; 2]> = [
        sw,
        sw.offset_ne(0.0, 150.0),
        sw.offset_ne(100.0, 150.0),
        sw.offset_ne(100.0, 0.0),
        sw,
    ]
    .iter()
    .map(|p| [p.lon_deg, p.lat_deg])
    .collect();
    let area = dir.join(format!("area{north_m}.geojson"));
    let gj = serde_json::json!({"type": "Polygon", "coordinates": [ring]});
    std::fs::write(&area, gj.to_string()).expect("write area");
    let out = dir.join(format!("survey{north_m}.plan"));
    let st = Command::new(AVIARY)
        .args(["plan", "--altitude-m", "40", "--speed-mps", "6", "--home"])
        .arg(format!("{},{}", HOME.lat_deg, HOME.lon_deg))
        .arg("--area")
        .arg(&area)
        .arg("--out")
        .arg(&out)
        .args(extra)
        .status()
        .expect("run aviary plan");
    assert!(st.success(), "aviary plan failed");
    out
}

/// A running `aviary fly`, its output lines as they come and its stdin.
struct Fly {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<Value>,
    seen: Vec<Value>,
}

impl Fly {
    fn start(db: &Path, plan: &Path, port: u16, extra: &[&str]) -> Self {
        let mut child = Command::new(AVIARY)
            .arg("fly")
            .arg("--link")
            .arg(format!("udp:127.0.0.1:{port}"))
            .arg("--plan")
            .arg(plan)
            .arg("--db")
            .arg(db)
            .args(["--json", "--wait-s", "20"])
            .args(extra)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("run aviary fly");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let v: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
                if tx.send(v).is_err() {
                    break;
                }
            }
        });
        let stdin = child.stdin.take();
        Self {
            child,
            stdin,
            lines,
            seen: Vec::new(),
        }
    }

    /// Reads lines until one matches `pred` (returned), failing after [`RUN_LIMIT`].
    fn until(&mut self, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + RUN_LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(v) => {
                    self.seen.push(v.clone());
                    if pred(&v) {
                        return v;
                    }
                }
                Err(e) => panic!("no line for {what} ({e}); seen:\n{}", self.dump()),
            }
        }
    }

    fn transition_to(&mut self, state: &str) -> Value {
        self.until(&format!("transition to {state}"), |v| {
            v["event"] == "transition" && v["state"] == state
        })
    }

    fn say(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        writeln!(stdin, "{line}").expect("write stdin");
        stdin.flush().expect("flush stdin");
    }

    /// Reads to the end and waits for the exit code.
    fn finish(mut self) -> (i32, Vec<Value>) {
        let end = self.until("the end line", |v| v["event"] == "end");
        let _ = end;
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(20);
        let code = loop {
            if let Some(st) = self.child.try_wait().expect("wait") {
                break st.code().unwrap_or(-1);
            }
            assert!(Instant::now() < deadline, "aviary fly did not exit");
            std::thread::sleep(Duration::from_millis(50));
        };
        (code, std::mem::take(&mut self.seen))
    }

    fn dump(&self) -> String {
        dump(&self.seen)
    }
}

impl Drop for Fly {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn sim(port: u16) -> SimHandle {
    let mut c = SimConfig::new(format!("127.0.0.1:{port}").parse().expect("addr"), 1);
    c.speedup = SPEEDUP;
    c.home = HOME;
    Simulator::spawn(c).expect("simulator")
}

/// Every line, one per line, for failure messages.
fn dump(lines: &[Value]) -> String {
    lines
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

fn states(lines: &[Value]) -> Vec<String> {
    lines
        .iter()
        .filter(|v| v["event"] == "transition")
        .map(|v| v["state"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn open(db: &Path) -> Store {
    Store::open(db, Arc::new(SystemClock), StoreOptions::default()).expect("open store")
}

#[test]
fn a_full_mission_completes_only_after_landing_and_is_reported() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(dir.path(), 60.0);
    let port = free_udp_port();
    let fly = Fly::start(&dir.path().join("a.db"), &plan, port, &[]);
    let _sim = sim(port);
    let (code, lines) = fly.finish();
    let dump = dump(&lines);
    println!("{dump}");
    assert_eq!(code, 0, "exit code; lines:\n{dump}");
    // Nine checks, all passed, before anything moves.
    let checks: Vec<&Value> = lines.iter().filter(|v| v["event"] == "check").collect();
    assert_eq!(checks.len(), 9, "{dump}");
    assert!(checks.iter().all(|c| c["ok"] == true), "{dump}");
    // "landed" shows only when the vehicle reports touch-down in one update
    // and the disarm in a later one; where both arrive together the
    // supervisor goes straight to "completed". Either is what the vehicle did.
    let mut seen = states(&lines);
    if let Some(i) = seen.iter().position(|s| s == "landed") {
        assert_eq!(
            seen.get(i + 1).map(String::as_str),
            Some("completed"),
            "landed is followed by completed; {dump}"
        );
        seen.remove(i);
    }
    assert_eq!(
        seen,
        [
            "uploading",
            "ready",
            "launching",
            "in_progress",
            "returning",
            "landing",
            "completed"
        ],
        "{dump}"
    );
    let done = lines
        .iter()
        .find(|v| v["event"] == "transition" && v["state"] == "completed")
        .expect("completed");
    assert_eq!(done["cause"], "vehicle: landed and disarmed", "{dump}");
    let last = lines.last().expect("a last line");
    assert_eq!(last["event"], "end");
    assert_eq!(last["state"], "completed");
    // Progress went through the survey to the return item.
    let items: Vec<u64> = lines
        .iter()
        .filter(|v| v["event"] == "progress")
        .filter_map(|v| v["item"].as_u64())
        .collect();
    let of = lines
        .iter()
        .find(|v| v["event"] == "progress")
        .and_then(|v| v["of"].as_u64())
        .expect("progress");
    assert!(items.windows(2).all(|w| w[0] < w[1]), "{items:?}");
    assert_eq!(items.last().copied(), Some(of), "{items:?}");

    // The store holds the whole flight: transitions, and telemetry through the landing.
    let store = open(&dir.path().join("a.db"));
    let missions = store
        .list_missions(&aviary_store::MissionFilter::default())
        .expect("missions");
    assert_eq!(missions.len(), 1);
    let m = &missions[0];
    assert_eq!(
        store.mission_phase(m.id).expect("phase").0,
        MissionPhase::Completed
    );
    let tr = store.mission_transitions(m.id).expect("transitions");
    assert_eq!(tr.len(), 7);
    // Flown at the planned 6 m/s (within 10 %) over the survey, not the vehicle's 10 m/s.
    let at = |s: MissionPhase| tr.iter().find(|t| t.to == s).map(|t| t.at).expect("phase");
    let (from, to) = (at(MissionPhase::InProgress), at(MissionPhase::Returning));
    let mut speeds: Vec<f64> = store
        .mission_telemetry(m.id, TelemetryRange::all())
        .expect("telemetry")
        .iter()
        .filter(|s| s.time > from && s.time < to && s.speed_mps > 1.0)
        .map(|s| s.speed_mps)
        .collect();
    assert!(speeds.len() > 20, "{} survey samples", speeds.len());
    speeds.sort_by(f64::total_cmp);
    let median = speeds[speeds.len() / 2];
    assert!(
        (median - 6.0).abs() <= 0.6,
        "median survey speed {median:.2} m/s for a plan at 6 m/s"
    );
    drop(store);

    let out = Command::new(AVIARY)
        .args(["report", "mission", "--latest", "--db"])
        .arg(dir.path().join("a.db"))
        .output()
        .expect("aviary report");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "report: {text}");
    assert!(text.contains("completed"), "{text}");
    assert!(text.contains("Distance flown"), "{text}");
}

#[test]
fn stdin_pauses_resumes_and_returns_and_the_mission_ends_aborted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(dir.path(), 60.0);
    let port = free_udp_port();
    let mut fly = Fly::start(&dir.path().join("b.db"), &plan, port, &[]);
    let _sim = sim(port);
    fly.until("item 4", |v| {
        v["event"] == "progress" && v["item"].as_u64().is_some_and(|i| i >= 4)
    });
    fly.say("hover");
    let refused = fly.until("the unknown command refused", |v| v["event"] == "refused");
    assert!(
        refused["text"]
            .as_str()
            .is_some_and(|t| t.contains("\"hover\"")),
        "{refused}"
    );
    fly.say("pause");
    let paused = fly.transition_to("paused");
    assert!(
        paused["cause"]
            .as_str()
            .is_some_and(|c| c.contains("BRAKE")),
        "{paused}"
    );
    fly.say("resume");
    fly.transition_to("in_progress");
    fly.say("rtl");
    fly.transition_to("returning");
    // Busy until the vehicle is down: a start now is refused by the supervisor.
    fly.say("start");
    let r = fly.until("start refused while returning", |v| v["event"] == "refused");
    assert!(
        r["text"]
            .as_str()
            .is_some_and(|t| t.contains("the mission is returning")),
        "{r}"
    );
    let (code, lines) = fly.finish();
    assert_eq!(code, 1);
    let s = states(&lines);
    assert_eq!(s.last().map(String::as_str), Some("aborted"), "{s:?}");
    assert!(s.contains(&"landing".to_owned()), "{s:?}");
    let last = lines.last().expect("last");
    assert_eq!(last["event"], "end");
    assert_eq!(last["state"], "aborted");
}

#[test]
fn a_battery_failsafe_ends_the_mission_failed_with_the_vehicles_words() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(dir.path(), 60.0);
    let port = free_udp_port();
    let mut fly = Fly::start(&dir.path().join("c.db"), &plan, port, &[]);
    let sim = sim(port);
    fly.until("item 3", |v| {
        v["event"] == "progress" && v["item"].as_u64().is_some_and(|i| i >= 3)
    });
    let id = sim.drones().first().expect("a drone").id;
    sim.inject_fault(id, Fault::LowBattery { remaining_pct: 9.0 })
        .expect("fault");
    let alert = fly.until("the failsafe alert", |v| {
        v["event"] == "alert" && v["reason"] == "battery_critical" && v["level"] == "critical"
    });
    println!("alert: {alert}");
    let (code, lines) = fly.finish();
    let dump = dump(&lines);
    println!("{dump}");
    assert_eq!(code, 1, "{dump}");
    assert!(
        lines.iter().any(|v| v["event"] == "alert"
            && v["text"]
                .as_str()
                .is_some_and(|t| t.contains("Battery Failsafe"))),
        "the vehicle's STATUSTEXT is shown: {dump}"
    );
    let failed = lines
        .iter()
        .find(|v| v["event"] == "transition" && v["state"] == "failed")
        .expect("failed");
    assert_eq!(failed["reason"], "battery_critical", "{dump}");
    let last = lines.last().expect("last");
    assert_eq!(last["state"], "failed");
    assert!(
        last["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "{last}"
    );
}

#[test]
fn a_survey_far_from_home_is_refused_before_anything_moves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(dir.path(), 9_000.0);
    let port = free_udp_port();
    let fly = Fly::start(&dir.path().join("d.db"), &plan, port, &[]);
    let sim = sim(port);
    let (code, lines) = fly.finish();
    assert_eq!(code, 3, "{lines:?}");
    let distance = lines
        .iter()
        .find(|v| v["event"] == "check" && v["check"] == "distance")
        .expect("distance check");
    assert_eq!(distance["ok"], false, "{distance}");
    assert!(states(&lines).is_empty(), "nothing may move: {lines:?}");
    let last = lines.last().expect("last");
    assert_eq!(last["state"], "refused");
    assert!(
        last["reason"]
            .as_str()
            .is_some_and(|r| r.contains("distance") && r.contains("--override-checks")),
        "{last}"
    );
    let id = sim.drones().first().expect("drone").id;
    let snap = sim.snapshot(id).expect("snapshot");
    assert!(!snap.armed, "the vehicle stays disarmed");
}

#[test]
fn a_mission_in_two_sorties_lands_waits_for_the_battery_swap_and_completes() {
    let dir = tempfile::tempdir().expect("tempdir");
    // A 15 Wh battery cannot fly the survey in one go: with --sorties, aviary plan writes one
    // file per sortie into the folder survey60_sorties.
    let whole = plan_with(dir.path(), 60.0, &["--battery-wh", "15", "--sorties"]);
    let sorties = whole.with_file_name("survey60_sorties");
    let s1 = sorties.join("survey60_sortie1.plan");
    let s2 = sorties.join("survey60_sortie2.plan");
    assert!(
        s1.is_file() && s2.is_file(),
        "aviary plan wrote two sorties"
    );
    assert!(
        !sorties.join("survey60_sortie3.plan").exists(),
        "two sorties"
    );
    let port = free_udp_port();
    let db = dir.path().join("e.db");
    let mut fly = Fly::start(&db, &s1, port, &["--plan", s2.to_str().expect("utf-8")]);
    let _sim = sim(port);
    let check = fly.until("the sortie check", |v| {
        v["event"] == "check" && v["check"] == "sorties"
    });
    assert_eq!(check["ok"], true, "{check}");
    let swap = fly.until("the battery-swap prompt", |v| {
        v["event"] == "alert"
            && v["text"]
                .as_str()
                .is_some_and(|t| t.contains("swap the battery"))
    });
    assert_eq!(swap["state"], "landed", "{swap}");
    assert!(
        !fly.seen
            .iter()
            .any(|v| v["event"] == "transition" && v["state"] == "completed"),
        "not completed after the first sortie"
    );
    fly.say("resume");
    let next = fly.transition_to("uploading");
    assert_eq!(next["cause"], "operator: sortie 2 of 2", "{next}");
    let (code, lines) = fly.finish();
    assert_eq!(code, 0, "{lines:?}");
    let s = states(&lines);
    assert_eq!(s.last().map(String::as_str), Some("completed"), "{s:?}");
    assert_eq!(
        s.iter().filter(|x| *x == "in_progress").count(),
        2,
        "two sorties flown: {s:?}"
    );
    // One mission in the store, with both sorties' waypoints.
    let store = open(&db);
    let missions = store
        .list_missions(&aviary_store::MissionFilter::default())
        .expect("missions");
    assert_eq!(missions.len(), 1);
}

#[test]
fn after_a_gps_failsafe_landing_the_operator_resumes_and_the_mission_completes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(dir.path(), 60.0);
    let port = free_udp_port();
    let db = dir.path().join("f.db");
    let mut fly = Fly::start(&db, &plan, port, &["--resume-window-s", "120"]);
    let sim = sim(port);
    fly.until("item 6", |v| {
        v["event"] == "progress" && v["item"].as_u64().is_some_and(|i| i >= 6)
    });
    let id = sim.drones().first().expect("a drone").id;
    sim.inject_fault(id, Fault::GpsLoss { active: true })
        .expect("fault");
    let alert = fly.until("the failsafe alert", |v| {
        v["event"] == "alert" && v["level"] == "critical" && v["reason"] == "gps_failsafe"
    });
    println!("alert: {alert}");
    let failed = fly.transition_to("failed");
    assert_eq!(failed["reason"], "gps_failsafe", "{failed}");
    // GPS back: the vehicle is ready again and the operator resumes.
    sim.inject_fault(id, Fault::GpsLoss { active: false })
        .expect("clear fault");
    let offer = fly.until("the resume offer", |v| {
        v["event"] == "alert"
            && v["text"]
                .as_str()
                .is_some_and(|t| t.contains("send resume"))
    });
    println!("offer: {offer}");
    fly.say("resume");
    let relaunch = fly.transition_to("uploading");
    assert!(
        relaunch["cause"]
            .as_str()
            .is_some_and(|c| c.starts_with("operator: resume from item")),
        "{relaunch}"
    );
    fly.transition_to("in_progress");
    let (code, lines) = fly.finish();
    let dump = dump(&lines);
    println!("{dump}");
    assert_eq!(code, 0, "{dump}");
    assert_eq!(
        states(&lines).last().map(String::as_str),
        Some("completed"),
        "{dump}"
    );
    // The resumed flight is the rest of the mission: fewer items than the whole.
    let of_after = lines
        .iter()
        .rev()
        .find(|v| v["event"] == "progress")
        .and_then(|v| v["of"].as_u64())
        .expect("progress after the resume");
    assert!(
        of_after < 17,
        "the resume mission has {of_after} items after home"
    );
}

// --- weather ------------------------------------------------------------------------------

/// A plain HTTP server on an ephemeral port answering every request with an Open-Meteo
/// forecast (its real shape, 48 hours from two hours ago) of this wind and these gusts, m/s.
fn open_meteo_server(wind_mps: f64, gust_mps: f64) -> String {
    use std::io::Read as _;
    let first = chrono::Utc::now() - chrono::Duration::hours(2);
    let times: Vec<String> = (0..48)
        .map(|h| {
            (first + chrono::Duration::hours(h))
                .format("%Y-%m-%dT%H:00")
                .to_string()
        })
        .collect();
    let same = |v: f64| vec![v; 48];
    let body = serde_json::json!({
        "utc_offset_seconds": 0,
        "hourly_units": { "time": "iso8601", "wind_speed_10m": "m/s", "wind_speed_80m": "m/s",
            "wind_gusts_10m": "m/s", "temperature_2m": "°C", "precipitation": "mm",
            "precipitation_probability": "%", "visibility": "m" },
        "hourly": { "time": times, "wind_speed_10m": same(wind_mps), "wind_speed_80m": same(wind_mps),
            "wind_gusts_10m": same(gust_mps), "temperature_2m": same(15.0), "precipitation": same(0.0),
            "precipitation_probability": same(0.0), "visibility": same(20_000.0) }
    })
    .to_string();
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
            let _ = write!(
                sock,
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    format!("http://{addr}/v1/forecast")
}

#[test]
fn a_no_go_forecast_refuses_the_start_as_a_soft_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(dir.path(), 60.0);
    let port = free_udp_port();
    let url = open_meteo_server(6.0, 20.0);
    let fly = Fly::start(
        &dir.path().join("w.db"),
        &plan,
        port,
        &["--weather", "--weather-url", &url, "--model", "Aviary X4"],
    );
    let sim = sim(port);
    let (code, lines) = fly.finish();
    assert_eq!(code, 3, "{}", dump(&lines));
    let weather = lines
        .iter()
        .find(|v| v["event"] == "check" && v["check"] == "weather")
        .expect("weather check");
    assert_eq!(
        (weather["ok"].as_bool(), weather["soft"].as_bool()),
        (Some(false), Some(true)),
        "{weather}"
    );
    assert!(
        weather["detail"].as_str().is_some_and(
            |d| d.starts_with("no-go: gusts 20.0 m/s at 10 m > 12.0 m/s limit for Aviary X4")
        ),
        "{weather}"
    );
    let last = lines.last().expect("last");
    assert!(
        last["reason"]
            .as_str()
            .is_some_and(|r| r.contains("weather") && r.contains("--override-checks")),
        "{last}"
    );
    let id = sim.drones().first().expect("drone").id;
    assert!(!sim.snapshot(id).expect("snapshot").armed, "nothing moves");
}

#[test]
fn an_overridden_no_go_is_audited_and_offline_weather_only_warns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(dir.path(), 60.0);
    let port = free_udp_port();
    let url = open_meteo_server(6.0, 20.0);
    let db = dir.path().join("o.db");
    let mut fly = Fly::start(
        &db,
        &plan,
        port,
        &[
            "--weather",
            "--weather-url",
            &url,
            "--override-checks",
            "gusts measured 6 m/s on site",
        ],
    );
    let _sim = sim(port);
    fly.transition_to("in_progress");
    fly.say("abort");
    let (_, lines) = fly.finish();
    let weather = lines
        .iter()
        .find(|v| v["event"] == "check" && v["check"] == "weather")
        .expect("weather check");
    assert_eq!(weather["ok"], false, "{weather}");
    let audit = open(&db).audit_log().expect("audit");
    let detail: serde_json::Value = audit
        .iter()
        .find(|a| a.action == "preflight.override")
        .and_then(|a| serde_json::from_str(&a.detail).ok())
        .unwrap_or_else(|| panic!("no override in {audit:?}"));
    assert_eq!(detail["reason"], "gusts measured 6 m/s on site", "{detail}");
    assert_eq!(detail["weather_verdict"], "no-go", "{detail}");
    assert!(
        detail["overridden"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["check"] == "weather")),
        "{detail}"
    );
    assert!(
        detail["operator"].as_str().is_some_and(|o| !o.is_empty()),
        "{detail}"
    );

    // No provider listening: unknown, a warning that does not stop the start.
    let plan = plan_with(dir.path(), 60.0, &[]);
    let port = free_udp_port();
    let closed = format!("http://127.0.0.1:{}/v1/forecast", free_udp_port());
    let mut fly = Fly::start(
        &dir.path().join("u.db"),
        &plan,
        port,
        &["--weather", "--weather-url", &closed],
    );
    let _sim = sim(port);
    let check = fly.until("the weather check", |v| {
        v["event"] == "check" && v["check"] == "weather"
    });
    assert_eq!(
        (check["ok"].as_bool(), check["warn"].as_bool()),
        (Some(true), Some(true)),
        "{check}"
    );
    assert!(
        check["detail"]
            .as_str()
            .is_some_and(|d| d.starts_with("unknown: no weather data")),
        "{check}"
    );
    fly.transition_to("in_progress");
    fly.say("abort");
    let (code, _) = fly.finish();
    assert_eq!(code, 1, "aborted");
}

/// A simulator whose drone does `ArduPilot`-like terrain (asking again every 0.2 s).
fn terrain_sim(port: u16) -> SimHandle {
    let mut c = SimConfig::new(format!("127.0.0.1:{port}").parse().expect("addr"), 1);
    c.speedup = SPEEDUP;
    c.home = HOME;
    c.terrain = Some(aviary_sim::TerrainOptions {
        spacing_m: 100,
        request_every_s: 0.2,
    });
    Simulator::spawn(c).expect("simulator")
}

/// An SRTM tile N47E008 (3″) sloping up 1 m per 20 m to the north, written to `dir`.
fn slope_tile(dir: &Path) -> PathBuf {
    let mut bytes = Vec::with_capacity(1201 * 1201 * 2);
    for row in 0..1201_u32 {
        let north_m = f64::from(1200 - row) / 1200.0 * 111_195.0;
        let h = (300.0 + north_m / 20.0).round() as i16;
        for _ in 0..1201 {
            bytes.extend_from_slice(&h.to_be_bytes());
        }
    }
    let path = dir.join("N47E008.hgt");
    std::fs::write(&path, bytes).expect("write tile");
    path
}

#[test]
fn a_terrain_vehicle_refuses_the_start_without_a_dem() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(dir.path(), 60.0);
    let port = free_udp_port();
    let fly = Fly::start(&dir.path().join("t.db"), &plan, port, &[]);
    let sim = terrain_sim(port);
    let (code, lines) = fly.finish();
    let dump = dump(&lines);
    assert_ne!(code, 0, "{dump}");
    assert!(dump.contains("PreArm: Waiting for Terrain data"), "{dump}");
    let id = sim.drones().first().expect("drone").id;
    assert!(!sim.snapshot(id).expect("snapshot").armed);
}

#[test]
fn with_a_dem_fly_answers_the_terrain_requests_and_the_mission_completes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let plan = plan(dir.path(), 60.0);
    let tile = slope_tile(dir.path());
    let port = free_udp_port();
    let dem = tile.to_str().expect("utf-8 path");
    let fly = Fly::start(&dir.path().join("u.db"), &plan, port, &["--dem", dem]);
    let _sim = terrain_sim(port);
    let (code, lines) = fly.finish();
    let dump = dump(&lines);
    assert_eq!(code, 0, "{dump}");
    assert!(!dump.contains("Waiting for Terrain"), "{dump}");
    assert_eq!(
        states(&lines).last().map(String::as_str),
        Some("completed"),
        "{dump}"
    );
}
