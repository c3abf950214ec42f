//! Real third-party ground stations against our simulator: MAVProxy flies it (driven through
//! its stdin) and MAVSDK connects, reads telemetry, transfers a mission, arms and takes off.
//!
//! The Python peers are optional locally: when the modules are missing the tests print why
//! and pass, unless `AVIARY_REQUIRE_SERVICES=1` (CI), where missing peers fail the test.
//! Every peer runs under `timeout` and is killed by PID at the end.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic is the failure report"
)]

use aviary_sim::{CopterMode, DroneSnapshot, SimConfig, SimHandle, Simulator};
use std::fmt::Write as _;
use std::io::Write;
use std::net::UdpSocket;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn python_has(module: &str) -> bool {
    Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `true` when the peer can run; otherwise prints the skip reason (or panics in CI).
fn peer_available(module: &str, pip: &str) -> bool {
    if python_has(module) {
        return true;
    }
    let msg = format!("python module `{module}` not installed ({pip})");
    assert!(
        std::env::var("AVIARY_REQUIRE_SERVICES").as_deref() != Ok("1"),
        "AVIARY_REQUIRE_SERVICES=1 but {msg}"
    );
    eprintln!("SKIPPED: {msg}");
    false
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the peer (and its process group leader's children) by PID when dropped.
struct Peer(Child);

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = Command::new("pkill")
            .args(["-KILL", "-P", &self.0.id().to_string()])
            .status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn poll(
    sim: &SimHandle,
    log: &std::path::Path,
    what: &str,
    limit: Duration,
    f: impl Fn(&DroneSnapshot) -> bool,
) -> DroneSnapshot {
    let deadline = Instant::now() + limit;
    loop {
        let s = sim.snapshot(0).unwrap();
        if f(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {s:?}\npeer output:\n{}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn mavproxy_flies_the_simulated_copter() {
    if !peer_available(
        "MAVProxy",
        "pip install pymavlink pyserial numpy pillow && pip install --no-deps mavproxy",
    ) {
        return;
    }
    let port = free_udp_port();
    let mut cfg = SimConfig::new(format!("127.0.0.1:{port}").parse().unwrap(), 1);
    cfg.speedup = 4.0;
    let sim = Simulator::spawn(cfg).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let home = aviary_core::LatLon::new(47.397_742, 8.545_594);
    let wpl = dir.path().join("mission.txt");
    let mut text = String::from("QGC WPL 110\n");
    let _ = writeln!(
        text,
        "0\t1\t0\t16\t0\t0\t0\t0\t{:.7}\t{:.7}\t488.0\t1",
        home.lat_deg, home.lon_deg
    );
    let _ = writeln!(
        text,
        "1\t0\t3\t22\t0\t0\t0\t0\t{:.7}\t{:.7}\t20.0\t1",
        home.lat_deg, home.lon_deg
    );
    for (i, (n, e)) in [(60.0, 0.0), (60.0, 60.0), (0.0, 60.0)]
        .into_iter()
        .enumerate()
    {
        let p = home.offset_ne(n, e);
        let _ = writeln!(
            text,
            "{}\t0\t3\t16\t0\t0\t0\t0\t{:.7}\t{:.7}\t20.0\t1",
            i + 2,
            p.lat_deg,
            p.lon_deg
        );
    }
    std::fs::write(&wpl, text).unwrap();
    let child = Command::new("timeout")
        .args([
            "-k",
            "5",
            "150",
            "mavproxy.py",
            &format!("--master=udpin:127.0.0.1:{port}"),
            "--state-basedir",
            &dir.path().display().to_string(),
            "--aircraft=aviary",
        ])
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(dir.path().join("mavproxy.out")).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .expect("mavproxy starts");
    let log = dir.path().join("mavproxy.out");
    let mut peer = Peer(child);
    let mut say = |cmd: &str| {
        let stdin = peer.0.stdin.as_mut().unwrap();
        writeln!(stdin, "{cmd}").unwrap();
        stdin.flush().unwrap();
    };
    // MAVProxy is connected once it has asked for streams (the sim received its traffic).
    let counters = sim.counters(0).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while counters.received.load(std::sync::atomic::Ordering::Relaxed) < 5 {
        assert!(
            Instant::now() < deadline,
            "MAVProxy never talked to the simulator"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    say(&format!("wp load {}", wpl.display()));
    poll(&sim, &log, "mission upload", Duration::from_secs(30), |s| {
        s.mission.len() == 5
    });
    say("mode GUIDED");
    poll(&sim, &log, "GUIDED", Duration::from_secs(15), |s| {
        s.mode == CopterMode::Guided
    });
    say("arm throttle");
    poll(&sim, &log, "armed", Duration::from_secs(15), |s| s.armed);
    say("takeoff 15");
    poll(&sim, &log, "takeoff", Duration::from_secs(40), |s| {
        s.alt_rel_m > 10.0
    });
    say("mode AUTO");
    poll(
        &sim,
        &log,
        "AUTO flying the mission",
        Duration::from_mins(1),
        |s| s.mode == CopterMode::Auto && s.current_seq >= 3,
    );
    say("mode RTL");
    poll(&sim, &log, "RTL", Duration::from_secs(15), |s| {
        s.mode == CopterMode::Rtl
    });
    poll(
        &sim,
        &log,
        "landed at home and disarmed",
        Duration::from_secs(90),
        |s| !s.armed && s.pos.distance_m(home) < 5.0,
    );
    say("exit");
    eprintln!("MAVProxy: wp load, GUIDED, arm, takeoff 15, AUTO, RTL -> landed at home");
}

#[test]
fn mavsdk_connects_transfers_a_mission_arms_and_takes_off() {
    if !peer_available("mavsdk.asyncio", "pip install mavsdk") {
        return;
    }
    let port = free_udp_port();
    let mut cfg = SimConfig::new(format!("127.0.0.1:{port}").parse().unwrap(), 1);
    cfg.speedup = 4.0;
    let sim = Simulator::spawn(cfg).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/mavsdk_check.py");
    let child = Command::new("timeout")
        .args(["-k", "5", "120", "python3", script, &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python starts");
    let peer = Peer(child);
    let pid = peer.0.id();
    let mut peer = peer;
    let out = std::mem::replace(&mut peer.0, Command::new("true").spawn().unwrap());
    let output = out.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    eprintln!(
        "MAVSDK (pid {pid}):\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
            .lines()
            .rev()
            .take(15)
            .collect::<Vec<_>>()
            .join("\n")
    );
    assert!(stdout.contains("RESULT ok"), "MAVSDK run failed");
    let s = sim.snapshot(0).unwrap();
    assert!(s.armed && s.alt_rel_m > 4.0, "{s:?}");
    assert_eq!(s.mission.len(), 5);
}
