//! End to end: a survey flown by the real simulator over a real MAVLink UDP socket, driven
//! through `aviary-links`, its telemetry stored in a real store file, then the `aviary
//! report` command line run on that file. The outputs are read back with real tools:
//! `pdftotext`/`pdfinfo` (poppler-utils) for the PDF and Python's `csv` module for the CSV.
//!
//! Needs `pdftotext`, `pdfinfo` and `python3` on the PATH. The `aviary` binary is built with
//! cargo by the test when it runs under nextest (as `scripts/check.sh` does).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test: a panic is the failure report"
)]

use aviary_core::wire::CommandAction;
use aviary_core::*;
use aviary_links::mav::{
    self, CommandOutcome, LinkAddress, LinkConfig, LinkEvent, LinkEvents, MissionOp,
    items_from_waypoints,
};
use aviary_sim::{SimConfig, Simulator};
use aviary_store::{CommandAck, ResultSource, Store, StoreOptions, TelemetryRange};
use chrono::{DateTime, Duration, Utc};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

// --- helpers ------------------------------------------------------------------------------

/// The first event matching `f` within `limit` wall seconds (an upper bound, not a sleep).
fn wait_for<T>(
    events: &mut LinkEvents,
    limit_s: u64,
    mut f: impl FnMut(&LinkEvent) -> Option<T>,
) -> T {
    let deadline = Instant::now() + std::time::Duration::from_secs(limit_s);
    while Instant::now() < deadline {
        if let Some(e) = events.recv_timeout(std::time::Duration::from_millis(20))
            && let Some(t) = f(&e)
        {
            return t;
        }
    }
    panic!("no matching link event within {limit_s} s");
}

/// The `aviary` binary of this build profile, built first so it is never stale.
fn aviary_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    // <target>/<profile>/deps/reports_e2e-<hash>
    let profile_dir = exe.parent().and_then(Path::parent).unwrap();
    let target_dir = profile_dir.parent().unwrap();
    let bin = profile_dir.join(format!("aviary{}", std::env::consts::EXE_SUFFIX));
    if std::env::var_os("NEXTEST").is_some() {
        // nextest runs tests after cargo released its build lock, so building here is safe
        // (and a no-op when the workspace build already made the binary).
        let profile = profile_dir.file_name().unwrap().to_str().unwrap();
        let mut cmd = Command::new(option_env!("CARGO").unwrap_or("cargo"));
        cmd.args(["build", "--quiet", "-p", "aviary-app", "--bin", "aviary"])
            .arg("--target-dir")
            .arg(target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        match profile {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        let status = cmd.status().expect("cargo runs");
        assert!(status.success(), "building the aviary binary failed");
    }
    assert!(
        bin.is_file(),
        "{} is missing: run `cargo build -p aviary-app` first, or run this test with nextest",
        bin.display()
    );
    bin
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{stdout}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// Parses `"12 min 05 s"`, `"1 h 02 min 05 s"` or `"42 s"` into seconds.
fn parse_duration_s(text: &str) -> f64 {
    let words: Vec<&str> = text.split_whitespace().collect();
    let mut total = 0.0;
    for pair in words.chunks(2) {
        let [n, unit] = pair else { break };
        let Ok(n) = n.parse::<f64>() else { break };
        total += n * match *unit {
            "h" => 3600.0,
            "min" => 60.0,
            "s" => 1.0,
            _ => break,
        };
    }
    total
}

/// The value after `label` in `pdftotext -layout` output: the summary table has two
/// label/value columns, so the value ends at the next run of two spaces.
fn pdf_value<'a>(text: &'a str, label: &str) -> &'a str {
    let at = text
        .lines()
        .find_map(|l| l.find(label).map(|i| &l[i + label.len()..]))
        .unwrap_or_else(|| panic!("no {label:?} in the PDF text:\n{text}"));
    let value = at.trim_start();
    value.find("  ").map_or(value, |end| &value[..end]).trim()
}

// --- the flight -----------------------------------------------------------------------------

/// A 120 m × 60 m survey north-east of the simulator's home, flown as three transects at 20 m.
fn survey_mission(site: &Site, drone: &Drone, home: LatLon, created: DateTime<Utc>) -> Mission {
    let corner = home.offset_ne(20.0, 20.0);
    let area = SurveyArea {
        exterior: vec![
            corner,
            corner.offset_ne(0.0, 60.0),
            corner.offset_ne(120.0, 60.0),
            corner.offset_ne(120.0, 0.0),
        ],
        holes: vec![],
    };
    let alt_m = 20.0;
    let wp = |north_m: f64, east_m: f64| Waypoint {
        pos: corner.offset_ne(north_m, east_m),
        alt_rel_m: alt_m,
        action: WaypointAction::FlyThrough,
    };
    let waypoints = vec![
        Waypoint {
            pos: home,
            alt_rel_m: alt_m,
            action: WaypointAction::Takeoff,
        },
        wp(0.0, 10.0),
        wp(120.0, 10.0),
        wp(120.0, 30.0),
        wp(0.0, 30.0),
        wp(0.0, 50.0),
        wp(120.0, 50.0),
        Waypoint {
            pos: corner.offset_ne(120.0, 50.0),
            alt_rel_m: 0.0,
            action: WaypointAction::Land,
        },
    ];
    Mission {
        id: MissionId::new_random(),
        org_id: site.org_id,
        site_id: site.id,
        drone_id: Some(drone.id),
        name: "E2E rooftop survey".into(),
        status: MissionStatus::Planned,
        survey_area: area,
        flight_pattern: FlightPattern::Lawnmower,
        parameters: MissionParams {
            altitude_m: alt_m,
            ..MissionParams::default()
        },
        scheduled_start: None,
        actual_start: None,
        actual_end: None,
        paused_at: None,
        estimated_duration_s: 120.0,
        estimated_distance_m: 500.0,
        waypoints,
        created_by: None,
        created_at: created,
    }
}

/// What the flight left in the store.
struct Flown {
    mission: Mission,
    samples: Vec<TelemetrySample>,
}

/// Flies `mission` with the simulator through the link, storing every new position sample
/// with the simulator's clock (`time_boot_ms` from `t_boot`), and ends it in the store.
fn fly(store: &mut Store, clock: &ManualClock, mission: &Mission, t_boot: DateTime<Utc>) -> Flown {
    let mut cfg = LinkConfig::new(LinkAddress::UdpIn("127.0.0.1:0".parse().unwrap()));
    cfg.request_streams_hz = Some(10);
    let (handle, mut events) = mav::spawn(cfg, Arc::new(|| {})).expect("link starts");
    let mut sim_cfg = SimConfig::new(handle.local_addr().unwrap(), 1);
    sim_cfg.speedup = 10.0;
    let home = sim_cfg.home;
    let _sim = Simulator::spawn(sim_cfg).unwrap();
    let vehicle = wait_for(&mut events, 10, |e| match e {
        LinkEvent::VehicleDiscovered { id, .. } => Some(*id),
        _ => None,
    });
    wait_for(&mut events, 10, |e| match e {
        LinkEvent::State(s) if s.pos.is_some() && s.gps_fix >= 3 => Some(()),
        _ => None,
    });
    handle
        .upload_mission(vehicle, items_from_waypoints(home, &mission.waypoints))
        .unwrap();
    wait_for(&mut events, 10, |e| match e {
        LinkEvent::MissionDone {
            op: MissionOp::Upload,
            result,
            ..
        } => Some(result.clone().expect("upload accepted")),
        _ => None,
    });

    let drone = mission.drone_id.unwrap();
    let start_cmd = uuid::Uuid::new_v4();
    store
        .record_command(start_cmd, drone, Some(mission.id), "start", "pending", "")
        .unwrap();
    handle.action(vehicle, CommandAction::Start, false).unwrap();

    let mut samples: Vec<TelemetrySample> = Vec::new();
    let mut last_boot_ms = None;
    let mut started = false;
    let mut airborne = false;
    let deadline = Instant::now() + std::time::Duration::from_mins(2);
    loop {
        assert!(
            Instant::now() < deadline,
            "the survey did not finish in time"
        );
        let Some(e) = events.recv_timeout(std::time::Duration::from_millis(20)) else {
            continue;
        };
        match e {
            LinkEvent::Command {
                outcome: CommandOutcome::Failed(f),
                ..
            } => panic!("start failed: {f}"),
            LinkEvent::State(s) => {
                let Some(pos) = s.pos else { continue };
                if last_boot_ms.is_some_and(|t| s.time_boot_ms <= t) {
                    continue; // not a new sample of the vehicle's clock
                }
                last_boot_ms = Some(s.time_boot_ms);
                let time = t_boot + Duration::milliseconds(i64::from(s.time_boot_ms));
                clock.set(time);
                if s.armed && !started {
                    // Armed: the start was accepted; the mission starts now.
                    started = true;
                    store
                        .record_command(
                            start_cmd,
                            drone,
                            Some(mission.id),
                            "start",
                            "confirmed",
                            "AUTO",
                        )
                        .unwrap();
                    store
                        .apply_mission_event(mission.id, MissionEvent::Start, None)
                        .unwrap();
                }
                if !started {
                    continue;
                }
                airborne |= s.alt_rel_m > 5.0;
                let sample = TelemetrySample {
                    time,
                    mission_id: Some(mission.id),
                    drone_id: drone,
                    pos,
                    alt_rel_m: s.alt_rel_m,
                    speed_mps: s.ground_speed_mps,
                    heading_deg: s.heading_deg,
                    battery_pct: s.battery_pct.unwrap_or(100.0),
                    signal_pct: s.link_quality_pct,
                    status: DroneStatus::InMission,
                };
                assert!(store.telemetry().submit(sample), "telemetry queue full");
                samples.push(sample);
                if airborne && !s.armed {
                    break; // landed and disarmed at the last waypoint
                }
            }
            _ => {}
        }
    }
    handle.shutdown();
    // Ending the mission commits the queued telemetry and computes its result.
    clock.set(samples.last().unwrap().time + Duration::seconds(1));
    let mission = store
        .apply_mission_event(mission.id, MissionEvent::Finish, None)
        .unwrap();
    Flown { mission, samples }
}

// --- the test -------------------------------------------------------------------------------

#[test]
fn simulated_survey_to_pdf_and_csv_through_the_cli() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("aviary.db");
    let t_boot = DateTime::parse_from_rfc3339("2026-11-26T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let clock = ManualClock::new(t_boot);
    let mut store = Store::open(&db, Arc::new(clock.clone()), StoreOptions::default()).unwrap();

    let home = SimConfig::new("127.0.0.1:9".parse().unwrap(), 1).home;
    let org = Organization {
        id: OrgId::new_random(),
        name: "E2E Surveys".into(),
        created_at: t_boot - Duration::days(1),
    };
    let site = Site {
        id: SiteId::new_random(),
        org_id: org.id,
        name: "Zurich field".into(),
        location: home,
        timezone: chrono_tz::Europe::Zurich,
        created_at: org.created_at,
    };
    let drone = Drone {
        id: DroneId::new_random(),
        site_id: site.id,
        serial_number: "SIM-E2E-1".into(),
        model: "ArduCopter SITL-like".into(),
        status: DroneStatus::Available,
        battery_pct: 100,
        last_seen: None,
        home,
        firmware_version: "sim".into(),
        link: None,
        created_at: org.created_at,
    };
    store.upsert_org(&org).unwrap();
    store.upsert_site(&site).unwrap();
    store.insert_drone(&drone).unwrap();
    let planned = survey_mission(&site, &drone, home, org.created_at);
    store.insert_mission(&planned).unwrap();

    let Flown { mission, samples } = fly(&mut store, &clock, &planned, t_boot);
    assert_eq!(mission.status, MissionStatus::Completed);
    assert!(samples.len() > 30, "only {} samples", samples.len());

    // What the telemetry says, computed here independently of the reports crate.
    let distance_m: f64 = samples
        .windows(2)
        .map(|w| w[0].pos.distance_m(w[1].pos))
        .sum();
    let duration_s =
        (samples.last().unwrap().time - samples[0].time).num_milliseconds() as f64 / 1000.0;
    // The planned track is about 20 m + 120 m + 20 m + 120 m + 20 m + 120 m plus the climb
    // transit: the simulator really flew it.
    assert!(distance_m > 400.0 && distance_m < 700.0, "{distance_m}");

    // The store wrote the mission's result when it ended, from the committed telemetry.
    let stored = store
        .mission_telemetry(mission.id, TelemetryRange::all())
        .unwrap();
    assert_eq!(stored.len(), samples.len(), "every sample committed");
    let result = store.mission_result(mission.id).unwrap().expect("result");
    assert_eq!(
        (result.outcome, result.samples, result.source),
        (
            MissionStatus::Completed,
            samples.len() as u64,
            ResultSource::Store
        )
    );
    assert!((result.distance_m.unwrap() - distance_m).abs() < 1e-6);
    assert!((result.duration_s.unwrap() - duration_s).abs() < 1e-3);
    let cmds = store.mission_commands(mission.id).unwrap();
    assert_eq!(cmds.len(), 1);
    assert_eq!(
        (cmds[0].action.as_str(), &cmds[0].ack),
        ("start", &CommandAck::Confirmed)
    );
    assert!(cmds[0].updated_at >= cmds[0].sent_at);
    drop(store);

    // --- `aviary report mission` ---
    let bin = aviary_bin();
    let pdf = dir.path().join("mission.pdf");
    let summary_csv = dir.path().join("summary.csv");
    let telemetry_csv = dir.path().join("telemetry.csv");
    let out = run(Command::new(&bin)
        .args(["report", "mission", "--db"])
        .arg(&db)
        .arg("--mission")
        .arg(mission.id.to_string())
        .arg("--pdf")
        .arg(&pdf)
        .arg("--csv")
        .arg(&summary_csv)
        .arg("--telemetry-csv")
        .arg(&telemetry_csv));
    assert!(out.contains("E2E rooftop survey"), "{out}");
    assert!(
        out.contains(&format!("({} samples)", samples.len())),
        "{out}"
    );

    // The telemetry CSV, read by Python's csv module: one row per stored sample, in order,
    // ISO-8601 UTC times.
    let py = run(Command::new("python3")
        .arg("-c")
        .arg(
            "import csv, sys\n\
         rows = list(csv.DictReader(open(sys.argv[1], newline='')))\n\
         print(len(rows))\n\
         print(rows[0]['time_utc'])\n\
         print(rows[-1]['time_utc'])\n\
         print(sum(1 for r in rows if r['mission_id'] == sys.argv[2]))\n\
         print(max(float(r['alt_rel_m']) for r in rows))\n",
        )
        .arg(&telemetry_csv)
        .arg(mission.id.to_string()));
    let lines: Vec<&str> = py.lines().collect();
    assert_eq!(lines[0].parse::<usize>().unwrap(), samples.len(), "{py}");
    assert_eq!(lines[3].parse::<usize>().unwrap(), samples.len(), "{py}");
    let iso = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    assert_eq!(lines[1], iso(samples[0].time));
    assert_eq!(lines[2], iso(samples.last().unwrap().time));
    let max_alt_m = samples.iter().map(|s| s.alt_rel_m).fold(f64::MIN, f64::max);
    assert!(
        (lines[4].parse::<f64>().unwrap() - max_alt_m).abs() < 0.01,
        "{py}"
    );

    // The summary CSV: one row, figures matching the telemetry.
    let py = run(Command::new("python3")
        .arg("-c")
        .arg(
            "import csv, sys\n\
         rows = list(csv.DictReader(open(sys.argv[1], newline='')))\n\
         print(len(rows))\n\
         print(rows[0]['distance_m'])\n\
         print(rows[0]['duration_s'])\n\
         print(rows[0]['verdict'])\n",
        )
        .arg(&summary_csv));
    let lines: Vec<&str> = py.lines().collect();
    assert_eq!(lines[0], "1");
    assert!(
        (lines[1].parse::<f64>().unwrap() - distance_m).abs() < 0.1,
        "{py}"
    );
    assert!(
        (lines[2].parse::<f64>().unwrap() - duration_s).abs() < 0.1,
        "{py}"
    );

    // The PDF, read by poppler. AVIARY_REPORT_ARTIFACTS=DIR keeps a copy to look at.
    if let Some(keep) = std::env::var_os("AVIARY_REPORT_ARTIFACTS") {
        std::fs::create_dir_all(&keep).unwrap();
        std::fs::copy(&pdf, Path::new(&keep).join("e2e-mission.pdf")).unwrap();
    }
    let info = run(Command::new("pdfinfo").arg(&pdf));
    let pages: u32 = pdf_value(&info, "Pages:").parse().unwrap();
    assert!(pages >= 1, "{info}");
    let text = run(Command::new("pdftotext").arg("-layout").arg(&pdf).arg("-"));
    assert!(text.contains("E2E rooftop survey"), "{text}");
    assert!(text.contains("Zurich field"), "{text}");
    let pdf_distance_m: f64 = pdf_value(&text, "Distance flown")
        .trim_end_matches(" m")
        .parse()
        .unwrap_or_else(|e| panic!("distance in {text}: {e}"));
    assert!(
        (pdf_distance_m - distance_m).abs() <= 1.0,
        "PDF distance {pdf_distance_m} m, telemetry {distance_m} m"
    );
    let pdf_duration_s = parse_duration_s(pdf_value(&text, "Duration"));
    assert!(
        (pdf_duration_s - duration_s).abs() <= 1.0,
        "PDF duration {pdf_duration_s} s, telemetry {duration_s} s"
    );
    assert!(
        pdf_value(&text, "Telemetry samples").starts_with(&samples.len().to_string()),
        "{text}"
    );

    // Reports open the database read-only: the stored result is the store's own (written
    // when the mission ended), not rewritten by the report.
    let store = Store::open(&db, Arc::new(clock.clone()), StoreOptions::default()).unwrap();
    let result = store.mission_result(mission.id).unwrap().expect("result");
    assert_eq!(result.source, ResultSource::Store);
    assert!((result.distance_m.unwrap() - distance_m).abs() < 1e-6);
    drop(store);

    // --- `aviary report history` and `aviary report org` over the flight's day ---
    let history_csv = dir.path().join("history.csv");
    let out = run(Command::new(&bin)
        .args(["report", "history", "--db"])
        .arg(&db)
        .args(["--site", "Zurich field", "--status", "completed"])
        .args(["--from", "2026-11-26", "--to", "2026-11-26", "--csv"])
        .arg(&history_csv));
    assert!(out.starts_with("1 missions"), "{out}");
    let py = run(Command::new("python3")
        .arg("-c")
        .arg(
            "import csv, sys\n\
         rows = list(csv.DictReader(open(sys.argv[1], newline='')))\n\
         print(len(rows), rows[0]['mission_id'], rows[0]['distance_m'], rows[0]['telemetry'])\n",
        )
        .arg(&history_csv));
    let fields: Vec<&str> = py.split_whitespace().collect();
    assert_eq!(fields[0], "1");
    assert_eq!(fields[1], mission.id.to_string());
    assert!(
        (fields[2].parse::<f64>().unwrap() - distance_m).abs() < 0.1,
        "{py}"
    );
    assert_eq!(fields[3], "yes");
    let out = run(Command::new(&bin)
        .args(["report", "history", "--db"])
        .arg(&db)
        .args(["--from", "2026-11-27"]));
    assert!(out.starts_with("0 missions"), "{out}");

    let org_pdf = dir.path().join("org.pdf");
    let out = run(Command::new(&bin)
        .args(["report", "org", "--db"])
        .arg(&db)
        .args(["--from", "2026-11-26", "--to", "2026-11-26", "--pdf"])
        .arg(&org_pdf));
    assert!(out.contains("missions      1"), "{out}");
    let text = run(Command::new("pdftotext")
        .arg("-layout")
        .arg(&org_pdf)
        .arg("-"));
    assert!(text.contains("E2E Surveys"), "{text}");
    assert!(text.contains("Zurich field"), "{text}");
}
