//! The simulator behaves like `ArduCopter` 4.7 where a ground station depends on it (issue 14),
//! seen over real `MAVLink` 2 on loopback UDP from a bare ground station, at a speed-up so a
//! flight takes seconds of wall time.

#![allow(
    deprecated,
    reason = "SET_MODE is what ground stations send to ArduPilot"
)]
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic is the failure report"
)]

use aviary_core::LatLon;
use aviary_sim::{CopterMode, Fault, SimConfig, SimHandle, Simulator};
use mav::MavLandedState as L;
use mavlink::dialects::ardupilotmega::{self as mav, MavMessage};
use mavlink::{MavHeader, MavlinkReader};
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

const HOME: LatLon = LatLon::new(47.397_742, 8.545_594);

/// A bare ground station: one UDP socket, everything it hears kept in order.
struct Gcs {
    sock: UdpSocket,
    drone: SocketAddr,
    seq: u8,
    heard: Vec<MavMessage>,
}

impl Gcs {
    fn start(drones: u32, speedup: f64, tune: impl FnOnce(&mut SimConfig)) -> (Self, SimHandle) {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        let mut cfg = SimConfig::new(sock.local_addr().unwrap(), drones);
        cfg.speedup = speedup;
        cfg.gps_noise_m = 0.0;
        tune(&mut cfg);
        let sim = Simulator::spawn(cfg).unwrap();
        let drone = sim.drones()[0].local_addr;
        let mut gcs = Self {
            sock,
            drone,
            seq: 0,
            heard: Vec::new(),
        };
        gcs.wait_for("first heartbeat", 10.0, |m| {
            matches!(m, MavMessage::HEARTBEAT(_))
        });
        (gcs, sim)
    }

    fn send(&mut self, msg: &MavMessage) {
        let header = MavHeader {
            system_id: 255,
            component_id: 190,
            sequence: self.seq,
        };
        self.seq = self.seq.wrapping_add(1);
        let mut buf = Vec::new();
        mavlink::write_v2_msg(&mut buf, header, msg).unwrap();
        self.sock.send_to(&buf, self.drone).unwrap();
    }

    /// Reads what has arrived for up to `wall_s`, stopping at the first message `pred` accepts
    /// (returned); `None` when the time ran out.
    fn poll(
        &mut self,
        wall_s: f64,
        mut pred: impl FnMut(&MavMessage) -> bool,
    ) -> Option<MavMessage> {
        let deadline = Instant::now() + Duration::from_secs_f64(wall_s);
        let mut buf = [0u8; 2048];
        while Instant::now() < deadline {
            let Ok((n, from)) = self.sock.recv_from(&mut buf) else {
                continue;
            };
            if from != self.drone {
                continue;
            }
            let mut reader = MavlinkReader::new(&buf[..n]);
            while let Ok((_, msg)) = reader.read_any_message::<MavMessage>() {
                self.heard.push(msg.clone());
                if pred(&msg) {
                    return Some(msg);
                }
            }
        }
        None
    }

    fn wait_for(
        &mut self,
        what: &str,
        wall_s: f64,
        pred: impl FnMut(&MavMessage) -> bool,
    ) -> MavMessage {
        self.poll(wall_s, pred)
            .unwrap_or_else(|| panic!("no {what} within {wall_s} s"))
    }

    fn command(&mut self, command: mav::MavCmd, p: [f32; 7]) -> mav::MavResult {
        self.send(&MavMessage::COMMAND_LONG(mav::COMMAND_LONG_DATA {
            param1: p[0],
            param2: p[1],
            param3: p[2],
            param4: p[3],
            param5: p[4],
            param6: p[5],
            param7: p[6],
            command,
            target_system: 0,
            target_component: 0,
            confirmation: 0,
        }));
        match self.wait_for(
            "COMMAND_ACK",
            5.0,
            |m| matches!(m, MavMessage::COMMAND_ACK(a) if a.command == command),
        ) {
            MavMessage::COMMAND_ACK(a) => a.result,
            _ => unreachable!(),
        }
    }

    fn set_mode(&mut self, mode: CopterMode) -> mav::MavResult {
        self.command(
            mav::MavCmd::MAV_CMD_DO_SET_MODE,
            [1.0, mode.custom_mode() as f32, 0.0, 0.0, 0.0, 0.0, 0.0],
        )
    }

    fn arm(&mut self) -> mav::MavResult {
        self.command(
            mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        )
    }

    fn interval(&mut self, msg_id: u32, interval_us: f32) {
        assert_eq!(
            self.command(
                mav::MavCmd::MAV_CMD_SET_MESSAGE_INTERVAL,
                [msg_id as f32, interval_us, 0.0, 0.0, 0.0, 0.0, 0.0]
            ),
            mav::MavResult::MAV_RESULT_ACCEPTED
        );
    }

    fn heartbeat(&mut self) {
        self.send(&MavMessage::HEARTBEAT(mav::HEARTBEAT_DATA {
            custom_mode: 0,
            mavtype: mav::MavType::MAV_TYPE_GCS,
            autopilot: mav::MavAutopilot::MAV_AUTOPILOT_INVALID,
            base_mode: mav::MavModeFlag::empty(),
            system_status: mav::MavState::MAV_STATE_ACTIVE,
            mavlink_version: 3,
        }));
    }

    fn upload(&mut self, items: &[(mav::MavCmd, LatLon, f32, [f32; 4])]) {
        self.send(&MavMessage::MISSION_COUNT(mav::MISSION_COUNT_DATA {
            count: items.len() as u16,
            target_system: 1,
            target_component: 1,
        }));
        loop {
            let m = self.wait_for("mission request or ack", 5.0, |m| {
                matches!(
                    m,
                    MavMessage::MISSION_REQUEST_INT(_) | MavMessage::MISSION_ACK(_)
                )
            });
            let seq = match m {
                MavMessage::MISSION_REQUEST_INT(r) => r.seq,
                MavMessage::MISSION_ACK(a) => {
                    assert_eq!(a.mavtype, mav::MavMissionResult::MAV_MISSION_ACCEPTED);
                    return;
                }
                _ => unreachable!(),
            };
            let (command, pos, alt, params) = items[usize::from(seq)];
            self.send(&MavMessage::MISSION_ITEM_INT(mav::MISSION_ITEM_INT_DATA {
                param1: params[0],
                param2: params[1],
                param3: params[2],
                param4: params[3],
                x: (pos.lat_deg * 1e7) as i32,
                y: (pos.lon_deg * 1e7) as i32,
                z: alt,
                seq,
                command,
                target_system: 1,
                target_component: 1,
                frame: mav::MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
                current: 0,
                autocontinue: 1,
            }));
        }
    }

    fn said(&self, text: &str) -> bool {
        self.heard.iter().any(
            |m| matches!(m, MavMessage::STATUSTEXT(t) if t.text.to_str().unwrap_or("") == text),
        )
    }

    fn said_prefix(&self, prefix: &str) -> bool {
        self.heard.iter().any(|m| {
            matches!(m, MavMessage::STATUSTEXT(t) if t.text.to_str().unwrap_or("").starts_with(prefix))
        })
    }

    /// GUIDED, arm, take off to `alt_m` and wait until there.
    fn take_off(&mut self, sim: &SimHandle, alt_m: f32) {
        assert_eq!(
            self.set_mode(CopterMode::Guided),
            mav::MavResult::MAV_RESULT_ACCEPTED
        );
        assert_eq!(self.arm(), mav::MavResult::MAV_RESULT_ACCEPTED);
        assert_eq!(
            self.command(
                mav::MavCmd::MAV_CMD_NAV_TAKEOFF,
                [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, alt_m]
            ),
            mav::MavResult::MAV_RESULT_ACCEPTED
        );
        until(sim, 20.0, |s| s.alt_rel_m > f64::from(alt_m) - 1.0);
    }
}

fn until(sim: &SimHandle, wall_s: f64, pred: impl Fn(&aviary_sim::DroneSnapshot) -> bool) {
    let deadline = Instant::now() + Duration::from_secs_f64(wall_s);
    loop {
        let s = sim.snapshot(0).unwrap();
        if pred(&s) {
            return;
        }
        assert!(Instant::now() < deadline, "timed out in {s:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

const WP: mav::MavCmd = mav::MavCmd::MAV_CMD_NAV_WAYPOINT;

/// Home, takeoff to 10 m, two waypoints, the mission's own RTL.
fn short_mission() -> Vec<(mav::MavCmd, LatLon, f32, [f32; 4])> {
    vec![
        (WP, HOME, 0.0, [0.0; 4]),
        (mav::MavCmd::MAV_CMD_NAV_TAKEOFF, HOME, 10.0, [0.0; 4]),
        (WP, HOME.offset_ne(40.0, 0.0), 10.0, [0.0; 4]),
        (WP, HOME.offset_ne(40.0, 20.0), 10.0, [0.0; 4]),
        (
            mav::MavCmd::MAV_CMD_NAV_RETURN_TO_LAUNCH,
            LatLon::new(0.0, 0.0),
            0.0,
            [0.0; 4],
        ),
    ]
}

#[test]
fn mission_lands_in_auto_reports_rtl_at_touchdown_and_refuses_to_arm_again_in_auto() {
    let (mut gcs, sim) = Gcs::start(1, 20.0, |_| {});
    gcs.upload(&short_mission());
    // 245 = EXTENDED_SYS_STATE, 20 Hz.
    gcs.interval(245, 50_000.0);
    gcs.poll(0.3, |_| false);
    assert_eq!(
        gcs.set_mode(CopterMode::Guided),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    assert_eq!(gcs.arm(), mav::MavResult::MAV_RESULT_ACCEPTED);
    assert_eq!(
        gcs.command(mav::MavCmd::MAV_CMD_MISSION_START, [0.0; 7]),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    assert_eq!(sim.snapshot(0).unwrap().mode, CopterMode::Auto);
    // The RTL item (4) is reached only when the vehicle has landed.
    gcs.wait_for(
        "RTL item reached",
        30.0,
        |m| matches!(m, MavMessage::MISSION_ITEM_REACHED(r) if r.seq == 4),
    );
    let snap = sim.snapshot(0).unwrap();
    assert!(
        snap.alt_rel_m < 0.1,
        "reached at touchdown, not at {snap:?}"
    );
    assert!(snap.pos.distance_m(HOME) < 3.0);
    assert!(!snap.armed, "disarmed with the RTL item reached");
    assert_eq!(
        snap.mode,
        CopterMode::Auto,
        "stays in AUTO through its own RTL"
    );
    // Landed state went ON_GROUND → TAKEOFF → IN_AIR → LANDING → ON_GROUND.
    gcs.poll(0.5, |_| false);
    let mut states: Vec<mav::MavLandedState> = gcs
        .heard
        .iter()
        .filter_map(|m| match m {
            MavMessage::EXTENDED_SYS_STATE(e) => Some(e.landed_state),
            _ => None,
        })
        .collect();
    states.dedup();
    assert_eq!(
        states,
        [
            L::MAV_LANDED_STATE_ON_GROUND,
            L::MAV_LANDED_STATE_TAKEOFF,
            L::MAV_LANDED_STATE_IN_AIR,
            L::MAV_LANDED_STATE_LANDING,
            L::MAV_LANDED_STATE_ON_GROUND,
        ][..states.len().min(5)],
        "{states:?}"
    );
    assert_eq!(states.len(), 5, "{states:?}");
    // ArduCopter will not arm in AUTO: a ground station must go through GUIDED.
    assert_eq!(gcs.arm(), mav::MavResult::MAV_RESULT_FAILED);
    assert!(gcs.said("Arm: AUTO mode not armable"));
    assert_eq!(
        gcs.set_mode(CopterMode::Guided),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    assert_eq!(gcs.arm(), mav::MavResult::MAV_RESULT_ACCEPTED);
    assert_eq!(
        gcs.command(mav::MavCmd::MAV_CMD_MISSION_START, [0.0; 7]),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    until(&sim, 10.0, |s| {
        s.mode == CopterMode::Auto && s.alt_rel_m > 2.0
    });
}

#[test]
fn rtl_mode_lands_disarms_and_stays_in_rtl_where_it_cannot_arm() {
    let (mut gcs, sim) = Gcs::start(1, 20.0, |_| {});
    gcs.take_off(&sim, 8.0);
    assert_eq!(
        gcs.command(mav::MavCmd::MAV_CMD_NAV_RETURN_TO_LAUNCH, [0.0; 7]),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    // Climbs to RTL_ALT (15 m) first.
    until(&sim, 10.0, |s| s.alt_rel_m > 14.0);
    until(&sim, 20.0, |s| !s.armed);
    let snap = sim.snapshot(0).unwrap();
    assert_eq!(snap.mode, CopterMode::Rtl);
    assert!(snap.alt_rel_m < 0.1);
    assert_eq!(gcs.arm(), mav::MavResult::MAV_RESULT_FAILED);
    assert!(gcs.said("Arm: RTL mode not armable"));
}

#[test]
fn do_change_speed_sets_the_flown_speed_as_item_and_as_command() {
    let (mut gcs, sim) = Gcs::start(1, 10.0, |_| {});
    let far = HOME.offset_ne(300.0, 0.0);
    gcs.upload(&[
        (WP, HOME, 0.0, [0.0; 4]),
        (mav::MavCmd::MAV_CMD_NAV_TAKEOFF, HOME, 10.0, [0.0; 4]),
        (
            mav::MavCmd::MAV_CMD_DO_CHANGE_SPEED,
            LatLon::new(0.0, 0.0),
            0.0,
            [1.0, 6.0, -1.0, 0.0],
        ),
        (WP, HOME.offset_ne(150.0, 0.0), 10.0, [0.0; 4]),
        (WP, far, 10.0, [0.0; 4]),
    ]);
    gcs.interval(74, 100_000.0); // VFR_HUD, 10 Hz
    assert_eq!(
        gcs.set_mode(CopterMode::Guided),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    assert_eq!(gcs.arm(), mav::MavResult::MAV_RESULT_ACCEPTED);
    assert_eq!(
        gcs.command(mav::MavCmd::MAV_CMD_MISSION_START, [0.0; 7]),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    let fastest = |gcs: &mut Gcs, wall_s: f64| {
        gcs.heard.clear();
        gcs.poll(wall_s, |_| false);
        gcs.heard
            .iter()
            .filter_map(|m| match m {
                MavMessage::VFR_HUD(h) => Some(f64::from(h.groundspeed)),
                _ => None,
            })
            .fold(0.0, f64::max)
    };
    // The item's 6 m/s on the first 150 m leg.
    until(&sim, 10.0, |s| s.pos.distance_m(HOME) > 60.0);
    let v = fastest(&mut gcs, 1.0);
    assert!((v - 6.0).abs() <= 6.0 * 0.03, "flew {v} m/s for 6");
    // A COMMAND_LONG on the second leg: 4 m/s.
    until(&sim, 10.0, |s| s.current_seq == 4);
    assert_eq!(
        gcs.command(
            mav::MavCmd::MAV_CMD_DO_CHANGE_SPEED,
            [1.0, 4.0, -1.0, 0.0, 0.0, 0.0, 0.0]
        ),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    gcs.poll(1.0, |_| false);
    let v = fastest(&mut gcs, 1.0);
    assert!((v - 4.0).abs() <= 4.0 * 0.03, "flew {v} m/s for 4");
}

fn uid_of(gcs: &mut Gcs, via: mav::MavCmd, p: [f32; 7]) -> (u64, mav::MavProtocolCapability) {
    assert_eq!(gcs.command(via, p), mav::MavResult::MAV_RESULT_ACCEPTED);
    match gcs.wait_for("AUTOPILOT_VERSION", 5.0, |m| {
        matches!(m, MavMessage::AUTOPILOT_VERSION(_))
    }) {
        MavMessage::AUTOPILOT_VERSION(v) => (v.uid, v.capabilities),
        _ => unreachable!(),
    }
}

#[test]
fn autopilot_version_uid_is_stable_per_drone_across_restarts() {
    let mut uids = Vec::new();
    for _ in 0..2 {
        let (mut gcs, sim) = Gcs::start(2, 1.0, |_| {});
        let (uid, caps) = uid_of(
            &mut gcs,
            mav::MavCmd::MAV_CMD_REQUEST_MESSAGE,
            [148.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        );
        let (again, _) = uid_of(
            &mut gcs,
            mav::MavCmd::MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES,
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        );
        assert_eq!(uid, again);
        assert_ne!(uid, 0);
        assert!(caps.contains(mav::MavProtocolCapability::MAV_PROTOCOL_CAPABILITY_MISSION_INT));
        // Drone 1 has its own uid.
        gcs.drone = sim.drones()[1].local_addr;
        let (other, _) = uid_of(
            &mut gcs,
            mav::MavCmd::MAV_CMD_REQUEST_MESSAGE,
            [148.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        );
        assert_ne!(other, uid);
        uids.push((uid, other));
        sim.shutdown();
    }
    assert_eq!(uids[0], uids[1], "the same drones after a restart");
}

#[test]
fn gcs_link_loss_fault_triggers_rtl() {
    let (mut gcs, sim) = Gcs::start(1, 10.0, |c| c.gcs_failsafe_s = 1.0);
    gcs.heartbeat();
    gcs.take_off(&sim, 10.0);
    gcs.heartbeat();
    sim.inject_fault(0, Fault::LinkLoss { active: true })
        .unwrap();
    // The vehicle's text went out while the link was down: only the mode change is seen.
    until(&sim, 5.0, |s| s.mode == CopterMode::Rtl);
}

#[test]
fn a_silent_ground_station_trips_the_gcs_failsafe_and_is_told_why() {
    let (mut gcs, sim) = Gcs::start(1, 10.0, |c| c.gcs_failsafe_s = 1.0);
    gcs.heartbeat();
    gcs.take_off(&sim, 10.0);
    gcs.heartbeat();
    // No more heartbeats from here on.
    gcs.wait_for("GCS Failsafe text", 5.0, |m| {
        matches!(m, MavMessage::STATUSTEXT(t) if t.text.to_str().unwrap_or("") == "GCS Failsafe")
    });
    until(&sim, 2.0, |s| s.mode == CopterMode::Rtl);
    gcs.heartbeat();
    gcs.wait_for("GCS Failsafe Cleared text", 3.0, |m| {
        matches!(m, MavMessage::STATUSTEXT(t)
            if t.text.to_str().unwrap_or("") == "GCS Failsafe Cleared")
    });
}

#[test]
fn low_battery_rtl_then_critical_land_with_arducopter_wording() {
    let (mut gcs, sim) = Gcs::start(1, 10.0, |_| {});
    gcs.take_off(&sim, 10.0);
    sim.inject_fault(
        0,
        Fault::LowBattery {
            remaining_pct: 19.0,
        },
    )
    .unwrap();
    until(&sim, 5.0, |s| s.mode == CopterMode::Rtl);
    sim.inject_fault(0, Fault::LowBattery { remaining_pct: 9.0 })
        .unwrap();
    until(&sim, 5.0, |s| s.mode == CopterMode::Land);
    gcs.poll(0.5, |_| false);
    assert!(gcs.said_prefix("Battery 1 is low "), "{:?}", gcs.heard);
    assert!(gcs.said_prefix("Battery 1 is critical "));
    assert!(gcs.said("Battery Failsafe"));
    until(&sim, 30.0, |s| !s.armed);
    // Grounded at 9 %: arming is refused in the vehicle's words.
    assert_eq!(
        gcs.set_mode(CopterMode::Guided),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    assert_eq!(gcs.arm(), mav::MavResult::MAV_RESULT_FAILED);
    assert!(gcs.said("PreArm: Battery 1 below minimum arming voltage"));
}

#[test]
fn gps_loss_lands_through_the_ekf_failsafe() {
    let (mut gcs, sim) = Gcs::start(1, 10.0, |_| {});
    gcs.take_off(&sim, 10.0);
    sim.inject_fault(0, Fault::GpsLoss { active: true })
        .unwrap();
    until(&sim, 5.0, |s| s.mode == CopterMode::Land);
    gcs.wait_for("EKF failsafe text", 3.0, |m| {
        matches!(m, MavMessage::STATUSTEXT(t)
            if t.text.to_str().unwrap_or("") == "EKF Failsafe: changed to LAND Mode")
    });
    until(&sim, 30.0, |s| !s.armed);
    assert_eq!(gcs.arm(), mav::MavResult::MAV_RESULT_FAILED);
    assert!(gcs.said("Arm: LAND mode not armable"));
    assert_eq!(
        gcs.set_mode(CopterMode::Guided),
        mav::MavResult::MAV_RESULT_FAILED,
        "GUIDED needs a position"
    );
    assert!(gcs.said("Mode change to GUIDED failed: requires position"));
}
