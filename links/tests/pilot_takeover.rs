//! A pilot takes the vehicle mid-mission from another ground station, and the supervisor sees
//! it for what it is (issue 14): MAVProxy — ArduPilot's own command-line ground station, as a
//! second GCS — is connected to the simulated copter and switches it to LOITER while it flies a
//! mission that Aviary started through its link. Fed only the link's facts, the core's
//! [`Supervisor`] raises an alert with [`FailureReason::PilotTookControl`] and moves the
//! mission to [`MissionPhase::Paused`].
//!
//! MAVProxy sits where a pilot's MAVProxy usually sits: the vehicle sends to it (`--master`) and
//! it forwards to Aviary (`--out`), relaying Aviary's requests back. Every `MAVLink` byte is
//! real UDP on loopback. The test needs `mavproxy.py`: without it, it prints why and passes,
//! unless `AVIARY_REQUIRE_SERVICES` is set (CI), where a missing MAVProxy fails it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic is the failure report"
)]

mod common;

use aviary_core::mission::FailureReason;
use aviary_core::mission_items::{PlanItem, cmd, mission_items};
use aviary_core::supervisor::{MissionPhase, Output, Supervisor, SupervisorConfig};
use aviary_core::vehicle::VehicleFact;
use aviary_core::wire::CommandAction;
use aviary_core::{Waypoint, WaypointAction};
use aviary_links::mav::{LinkEvent, LinkEvents, LinkHandle, MissionOp, MissionRequest, VehicleId};
use aviary_sim::{CopterMode, SimConfig, Simulator};
use chrono::Utc;
use common::{HOME, link};
use std::io::Write as _;
use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Whether `name` is an executable file on `PATH`.
fn on_path(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            std::fs::metadata(dir.join(name)).is_ok_and(|m| {
                std::os::unix::fs::PermissionsExt::mode(&m.permissions()) & 0o111 != 0
            })
        })
    })
}

/// `true` when MAVProxy can run; otherwise prints why the test is skipped, or fails it when
/// `AVIARY_REQUIRE_SERVICES` is set (CI installs it with `scripts/install-peers.sh`).
fn mavproxy_available() -> bool {
    if on_path("mavproxy.py") {
        return true;
    }
    let msg = "`mavproxy.py` is not on PATH (scripts/install-peers.sh, or: pip install \
               pymavlink pyserial numpy pillow && pip install --no-deps mavproxy)";
    assert!(
        std::env::var_os("AVIARY_REQUIRE_SERVICES").is_none(),
        "AVIARY_REQUIRE_SERVICES is set but {msg}"
    );
    eprintln!("SKIPPED: {msg}");
    false
}

/// MAVProxy, run under `timeout`; killed by its PID (and its children by their parent's PID)
/// when dropped.
struct MavProxy {
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl MavProxy {
    /// Listens for the vehicle on `master_port` and forwards to `out_port`.
    fn start(master_port: u16, out_port: u16) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("mavproxy.out");
        let child = Command::new("timeout")
            .args([
                "-k",
                "5",
                "120",
                "mavproxy.py",
                &format!("--master=udpin:127.0.0.1:{master_port}"),
                &format!("--out=udpout:127.0.0.1:{out_port}"),
                "--state-basedir",
                &dir.path().display().to_string(),
                "--aircraft=pilot",
            ])
            .stdin(Stdio::piped())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("mavproxy starts");
        Self {
            child,
            log,
            _dir: dir,
        }
    }

    /// Types a command at MAVProxy's console.
    fn say(&mut self, command: &str) {
        let stdin = self.child.stdin.as_mut().unwrap();
        writeln!(stdin, "{command}").unwrap();
        stdin.flush().unwrap();
    }

    fn output(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for MavProxy {
    fn drop(&mut self) {
        let pid = self.child.id().to_string();
        let _ = Command::new("pkill").args(["-KILL", "-P", &pid]).status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The link, one supervisor for its vehicle, and everything the supervisor said.
struct Rig {
    handle: LinkHandle,
    events: LinkEvents,
    sup: Supervisor,
    items: Vec<PlanItem>,
    vehicle: Option<VehicleId>,
    outputs: Vec<Output>,
}

impl Rig {
    /// Feeds one link event to the supervisor as the host does: the link's facts (mode and
    /// armed, landed state, current item, item reached, `STATUSTEXT`, link up/down) and motion,
    /// battery and GPS from its state reports; upload and action results as results.
    fn feed(&mut self, e: &LinkEvent) {
        let now = Utc::now();
        let out = match e {
            LinkEvent::Fact { id, fact } if Some(*id) == self.vehicle => {
                self.sup.fact(fact.clone(), now)
            }
            LinkEvent::State(s) if Some(s.id) == self.vehicle => [
                VehicleFact::Motion {
                    alt_rel_m: s.alt_rel_m,
                    ground_speed_mps: s.ground_speed_mps,
                },
                VehicleFact::Battery {
                    remaining_pct: s.battery_pct,
                    voltage_v: s.battery_v,
                },
                VehicleFact::Gps {
                    fix_type: s.gps_fix,
                    satellites: s.gps_sats,
                },
            ]
            .into_iter()
            .flat_map(|f| self.sup.fact(f, now))
            .collect(),
            // The start's upload has gone through (the link reports its progress; the
            // action's result follows once armed and in AUTO).
            LinkEvent::MissionProgress {
                op: MissionOp::Upload,
                done,
                total,
                ..
            } if done == total => self.uploaded(now),
            LinkEvent::ActionResult { result, .. } => {
                let mut out = Vec::new();
                if result.is_ok() {
                    out = self.uploaded(now);
                }
                out.extend(self.sup.command_result(
                    CommandAction::Start,
                    result.as_ref().copied().map_err(ToString::to_string),
                    now,
                ));
                out
            }
            _ => Vec::new(),
        };
        self.outputs.extend(out);
    }

    /// The mission is on the vehicle: its item count and its own return item.
    fn uploaded(&mut self, now: chrono::DateTime<Utc>) -> Vec<Output> {
        if self.sup.phase() != Some(MissionPhase::Uploading) {
            return Vec::new();
        }
        let n = u16::try_from(self.items.len()).unwrap();
        let rtl = self
            .items
            .iter()
            .rfind(|i| i.command == cmd::NAV_RETURN_TO_LAUNCH)
            .map(|i| i.seq);
        self.sup.upload_result(Ok((n, rtl)), now)
    }

    /// Drives the link's events into the supervisor until `done` holds, for at most `limit`.
    fn until(
        &mut self,
        what: &str,
        limit: Duration,
        pilot: &MavProxy,
        mut done: impl FnMut(&Self) -> bool,
    ) {
        let deadline = Instant::now() + limit;
        while !done(self) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; phase {:?}, vehicle {:?}\nsupervisor said: \
                 {:#?}\nMAVProxy:\n{}",
                self.sup.phase(),
                self.sup.vehicle(),
                self.outputs,
                pilot.output()
            );
            if let Some(e) = self.events.recv_timeout(Duration::from_millis(20)) {
                if let LinkEvent::VehicleDiscovered { id, .. } = e
                    && id.system_id == 1
                    && self.vehicle.is_none()
                {
                    self.vehicle = Some(id);
                }
                self.feed(&e);
            }
        }
    }
}

/// Takeoff to 20 m, four 150 m legs, the mission's own return: about a minute of flight.
fn long_mission() -> Vec<PlanItem> {
    let wp = |n: f64, e: f64| Waypoint {
        pos: HOME.offset_ne(n, e),
        alt_rel_m: 20.0,
        action: WaypointAction::FlyThrough,
    };
    let wps = [
        Waypoint {
            pos: HOME,
            alt_rel_m: 20.0,
            action: WaypointAction::Takeoff,
        },
        wp(150.0, 0.0),
        wp(150.0, 150.0),
        wp(0.0, 150.0),
        wp(0.0, 0.0),
        Waypoint {
            pos: HOME,
            alt_rel_m: 20.0,
            action: WaypointAction::ReturnToLaunch,
        },
    ];
    mission_items(HOME, &wps, 10.0)
}

#[test]
fn a_pilot_switching_to_loiter_from_mavproxy_is_seen_as_taking_control() {
    if !mavproxy_available() {
        return;
    }
    let (handle, events) = link(|c| c.request_streams_hz = Some(4));
    let link_port = handle.local_addr().unwrap().port();
    let master_port = free_udp_port();
    let mut pilot = MavProxy::start(master_port, link_port);
    let mut cfg = SimConfig::new(format!("127.0.0.1:{master_port}").parse().unwrap(), 1);
    cfg.speedup = 4.0;
    cfg.gps_noise_m = 0.0;
    let sim = Simulator::spawn(cfg).unwrap();
    let mut rig = Rig {
        handle,
        events,
        sup: Supervisor::new(SupervisorConfig::default(), Utc::now()),
        items: long_mission(),
        vehicle: None,
        outputs: Vec::new(),
    };
    rig.sup.attach(MissionPhase::Planned, 0, None, None);

    // The vehicle reaches Aviary through MAVProxy, with a GPS fix, landed and disarmed.
    rig.until(
        "the vehicle through MAVProxy, ready to start",
        Duration::from_secs(30),
        &pilot,
        |r| {
            r.vehicle.is_some()
                && r.sup.allowed(CommandAction::Start)
                && r.sup.vehicle().gps_fix >= 3
        },
    );
    let id = rig.vehicle.unwrap();
    let (order, out) = rig
        .sup
        .request(CommandAction::Start, Utc::now())
        .expect("the supervisor accepts the start");
    rig.outputs.extend(out);
    assert!(order.upload);
    rig.handle
        .mission_action(
            id,
            MissionRequest::Start {
                items: Some(rig.items.clone()),
                from_seq: order.from_seq,
            },
        )
        .unwrap();

    // Aviary's own start: uploaded, armed, AUTO, airborne — no alert so far.
    rig.until(
        "the mission in progress",
        Duration::from_secs(40),
        &pilot,
        |r| {
            r.sup.phase() == Some(MissionPhase::InProgress)
                && r.sup.last_reached().is_some_and(|s| s >= 1)
        },
    );
    assert!(
        !rig.outputs
            .iter()
            .any(|o| matches!(o, Output::Alert(a) if a.reason.is_some())),
        "no failure alert for Aviary's own start: {:#?}",
        rig.outputs
    );
    assert_eq!(sim.snapshot(0).unwrap().mode, CopterMode::Auto);

    // The pilot takes over at MAVProxy's console.
    let before = rig.outputs.len();
    pilot.say("mode LOITER");
    rig.until(
        "the pilot's LOITER seen as taking control",
        Duration::from_secs(20),
        &pilot,
        |r| {
            r.sup.phase() == Some(MissionPhase::Paused)
                && r.outputs[before..].iter().any(|o| {
                    matches!(o, Output::Alert(a) if a.reason == Some(FailureReason::PilotTookControl))
                })
        },
    );
    let snap = sim.snapshot(0).unwrap();
    assert_eq!(snap.mode, CopterMode::Loiter, "{snap:?}");
    assert!(
        snap.armed && snap.alt_rel_m > 5.0,
        "holding in the air: {snap:?}"
    );
    let alert = rig.outputs[before..]
        .iter()
        .find_map(|o| match o {
            Output::Alert(a) if a.reason == Some(FailureReason::PilotTookControl) => Some(a),
            _ => None,
        })
        .unwrap();
    assert!(alert.text.contains("LOITER"), "{alert:?}");
    let paused = rig.outputs[before..]
        .iter()
        .find_map(|o| match o {
            Output::Transition(t) if t.to == MissionPhase::Paused => Some(t),
            _ => None,
        })
        .expect("a transition to paused");
    assert_eq!(paused.from, MissionPhase::InProgress);
    assert_eq!(
        paused.reason,
        Some(FailureReason::PilotTookControl),
        "{paused:?}"
    );
    eprintln!(
        "alert: {}\ntransition: {} -> {} ({})",
        alert.text, paused.from, paused.to, paused.cause
    );

    pilot.say("exit");
    rig.handle.shutdown();
    sim.shutdown();
    drop(pilot);
}
