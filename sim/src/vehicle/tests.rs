//! Unit tests of the vehicle: messages in, messages out, simulated time.

use super::*;

const HOME: LatLon = LatLon::new(47.397_742, 8.545_594);
const GCS: (u8, u8) = (255, 190);

fn vehicle() -> Vehicle {
    let mut cfg = VehicleConfig::new(1, HOME);
    cfg.gps_noise_m = 0.0;
    Vehicle::new(cfg)
}

struct Sim {
    v: Vehicle,
    t: f64,
    seen: Vec<MavMessage>,
}

impl Sim {
    fn new(v: Vehicle) -> Self {
        Self {
            v,
            t: 0.0,
            seen: Vec::new(),
        }
    }
    #[expect(
        clippy::needless_pass_by_value,
        reason = "test helper: call sites build the message inline"
    )]
    fn send(&mut self, msg: MavMessage) -> Vec<MavMessage> {
        let out = self.v.handle(GCS.0, GCS.1, &msg);
        self.seen.extend(out.iter().cloned());
        out
    }
    fn run(&mut self, seconds: f64) {
        let dt = 0.1;
        for _ in 0..(seconds / dt).round() as usize {
            self.t += dt;
            let out = self.v.tick(Tick {
                dt_sim_s: dt,
                sim_time_s: self.t,
                wall_time_s: self.t,
            });
            self.seen.extend(out);
        }
    }
    fn command(&mut self, command: mav::MavCmd, p: [f32; 7]) -> mav::MavResult {
        let out = self.send(MavMessage::COMMAND_LONG(mav::COMMAND_LONG_DATA {
            param1: p[0],
            param2: p[1],
            param3: p[2],
            param4: p[3],
            param5: p[4],
            param6: p[5],
            param7: p[6],
            command,
            target_system: 1,
            target_component: 1,
            confirmation: 0,
        }));
        out.iter()
            .find_map(|m| match m {
                MavMessage::COMMAND_ACK(a) if a.command == command => Some(a.result),
                _ => None,
            })
            .unwrap()
    }
    fn set_mode(&mut self, mode: CopterMode) -> mav::MavResult {
        self.command(
            mav::MavCmd::MAV_CMD_DO_SET_MODE,
            [1.0, mode.custom_mode() as f32, 0.0, 0.0, 0.0, 0.0, 0.0],
        )
    }
}

fn item(seq: u16, command: mav::MavCmd, pos: LatLon, alt: f32) -> MavMessage {
    MavMessage::MISSION_ITEM_INT(mav::MISSION_ITEM_INT_DATA {
        param1: 0.0,
        param2: 0.0,
        param3: 0.0,
        param4: 0.0,
        x: (pos.lat_deg * 1e7) as i32,
        y: (pos.lon_deg * 1e7) as i32,
        z: alt,
        seq,
        command,
        target_system: 1,
        target_component: 1,
        frame: mav::MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT,
        current: 0,
        autocontinue: 1,
    })
}

fn requested(out: &[MavMessage]) -> Option<u16> {
    out.iter().find_map(|m| match m {
        MavMessage::MISSION_REQUEST_INT(r) => Some(r.seq),
        _ => None,
    })
}

fn acked(out: &[MavMessage]) -> Option<mav::MavMissionResult> {
    out.iter().find_map(|m| match m {
        MavMessage::MISSION_ACK(a) => Some(a.mavtype),
        _ => None,
    })
}

/// Home, takeoff to 20 m, two waypoints 100 m apart, land.
fn upload_square(s: &mut Sim) {
    let items = [
        item(0, mav::MavCmd::MAV_CMD_NAV_WAYPOINT, HOME, 0.0),
        item(1, mav::MavCmd::MAV_CMD_NAV_TAKEOFF, HOME, 20.0),
        item(
            2,
            mav::MavCmd::MAV_CMD_NAV_WAYPOINT,
            HOME.offset_ne(100.0, 0.0),
            20.0,
        ),
        item(
            3,
            mav::MavCmd::MAV_CMD_NAV_WAYPOINT,
            HOME.offset_ne(100.0, 100.0),
            20.0,
        ),
        item(
            4,
            mav::MavCmd::MAV_CMD_NAV_LAND,
            HOME.offset_ne(100.0, 100.0),
            0.0,
        ),
    ];
    let out = s.send(MavMessage::MISSION_COUNT(mav::MISSION_COUNT_DATA {
        count: 5,
        target_system: 1,
        target_component: 1,
    }));
    assert_eq!(requested(&out), Some(0));
    for (i, it) in items.into_iter().enumerate() {
        let out = s.send(it);
        if i < 4 {
            assert_eq!(requested(&out), Some(i as u16 + 1));
        } else {
            assert_eq!(
                acked(&out),
                Some(mav::MavMissionResult::MAV_MISSION_ACCEPTED)
            );
        }
    }
}

#[test]
fn only_heartbeat_until_streams_are_requested() {
    let mut s = Sim::new(vehicle());
    s.run(3.0);
    assert!(
        s.seen.iter().all(|m| matches!(m, MavMessage::HEARTBEAT(_))),
        "{:?}",
        s.seen
    );
    assert!(s.seen.len() >= 3);
    s.seen.clear();
    assert_eq!(
        s.command(
            mav::MavCmd::MAV_CMD_SET_MESSAGE_INTERVAL,
            [33.0, 100_000.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        ),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    s.run(1.0);
    let n = s
        .seen
        .iter()
        .filter(|m| matches!(m, MavMessage::GLOBAL_POSITION_INT(_)))
        .count();
    assert!((9..=11).contains(&n), "{n} positions at 10 Hz in 1 s");
    let out = s.send(MavMessage::REQUEST_DATA_STREAM(
        mav::REQUEST_DATA_STREAM_DATA {
            req_message_rate: 2,
            target_system: 1,
            target_component: 1,
            req_stream_id: mav::MavDataStream::MAV_DATA_STREAM_EXTENDED_STATUS,
            start_stop: 1,
        },
    ));
    assert!(out.is_empty());
    s.seen.clear();
    s.run(2.0);
    assert!(
        s.seen
            .iter()
            .any(|m| matches!(m, MavMessage::SYS_STATUS(_)))
    );
    assert!(
        s.seen
            .iter()
            .any(|m| matches!(m, MavMessage::GPS_RAW_INT(_)))
    );
}

#[test]
fn default_streams_option_streams_at_once() {
    let mut cfg = VehicleConfig::new(3, HOME);
    cfg.default_streams = Some(StreamRates {
        position_hz: 5.0,
        status_hz: 1.0,
    });
    let mut s = Sim::new(Vehicle::new(cfg));
    s.run(1.0);
    assert!(
        s.seen
            .iter()
            .filter(|m| matches!(m, MavMessage::GLOBAL_POSITION_INT(_)))
            .count()
            >= 4
    );
    assert!(
        s.seen
            .iter()
            .any(|m| matches!(m, MavMessage::BATTERY_STATUS(_)))
    );
}

#[test]
fn request_message_and_home_position() {
    let mut s = Sim::new(vehicle());
    assert_eq!(
        s.command(
            mav::MavCmd::MAV_CMD_REQUEST_MESSAGE,
            [242.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        ),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    assert!(s.seen.iter().any(
        |m| matches!(m, MavMessage::HOME_POSITION(h) if h.latitude == (HOME.lat_deg * 1e7) as i32)
    ));
    assert_eq!(
        s.command(
            mav::MavCmd::MAV_CMD_REQUEST_MESSAGE,
            [148.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        ),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    assert!(
        s.seen
            .iter()
            .any(|m| matches!(m, MavMessage::AUTOPILOT_VERSION(_)))
    );
    assert_eq!(
        s.command(mav::MavCmd::MAV_CMD_GET_HOME_POSITION, [0.0; 7]),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    assert_eq!(
        s.command(
            mav::MavCmd::MAV_CMD_REQUEST_MESSAGE,
            [9999.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        ),
        mav::MavResult::MAV_RESULT_UNSUPPORTED
    );
}

#[test]
fn mission_upload_download_clear_with_home_as_item_zero() {
    let mut s = Sim::new(vehicle());
    upload_square(&mut s);
    assert_eq!(s.v.mission_len(), 5);
    let out = s.send(MavMessage::MISSION_REQUEST_LIST(
        mav::MISSION_REQUEST_LIST_DATA {
            target_system: 1,
            target_component: 1,
        },
    ));
    assert!(matches!(&out[0], MavMessage::MISSION_COUNT(c) if c.count == 5));
    let out = s.send(MavMessage::MISSION_REQUEST_INT(
        mav::MISSION_REQUEST_INT_DATA {
            target_system: 1,
            target_component: 1,
            seq: 2,
        },
    ));
    assert!(
        matches!(&out[0], MavMessage::MISSION_ITEM_INT(i) if i.seq == 2 && i.x == (HOME.offset_ne(100.0, 0.0).lat_deg * 1e7) as i32)
    );
    let out = s.send(MavMessage::MISSION_REQUEST_INT(
        mav::MISSION_REQUEST_INT_DATA {
            target_system: 1,
            target_component: 1,
            seq: 9,
        },
    ));
    assert_eq!(
        acked(&out),
        Some(mav::MavMissionResult::MAV_MISSION_INVALID_SEQUENCE)
    );
    let out = s.send(MavMessage::MISSION_CLEAR_ALL(mav::MISSION_CLEAR_ALL_DATA {
        target_system: 1,
        target_component: 1,
    }));
    assert_eq!(
        acked(&out),
        Some(mav::MavMissionResult::MAV_MISSION_ACCEPTED)
    );
    assert_eq!(s.v.mission_len(), 1);
}

#[test]
fn upload_recovers_from_duplicates_and_lost_requests_and_reacks() {
    let mut s = Sim::new(vehicle());
    s.send(MavMessage::MISSION_COUNT(mav::MISSION_COUNT_DATA {
        count: 2,
        target_system: 1,
        target_component: 1,
    }));
    // Our request for 1 was "lost": the GCS times out and repeats item 0.
    s.send(item(0, mav::MavCmd::MAV_CMD_NAV_WAYPOINT, HOME, 0.0));
    let out = s.send(item(0, mav::MavCmd::MAV_CMD_NAV_WAYPOINT, HOME, 0.0));
    assert_eq!(requested(&out), Some(1));
    let out = s.send(item(1, mav::MavCmd::MAV_CMD_NAV_TAKEOFF, HOME, 10.0));
    assert_eq!(
        acked(&out),
        Some(mav::MavMissionResult::MAV_MISSION_ACCEPTED)
    );
    // Our ACK was lost: the GCS repeats the last item and gets the ACK again.
    let out = s.send(item(1, mav::MavCmd::MAV_CMD_NAV_TAKEOFF, HOME, 10.0));
    assert_eq!(
        acked(&out),
        Some(mav::MavMissionResult::MAV_MISSION_ACCEPTED)
    );
    // A stalled upload is re-requested after 1 s and cancelled after 8 s.
    s.send(MavMessage::MISSION_COUNT(mav::MISSION_COUNT_DATA {
        count: 3,
        target_system: 1,
        target_component: 1,
    }));
    s.seen.clear();
    s.run(1.5);
    assert_eq!(requested(&s.seen), Some(0));
    s.run(5.0);
    assert_eq!(acked(&s.seen), None, "still waiting at 6.5 s");
    s.run(2.0);
    assert_eq!(
        acked(&s.seen),
        Some(mav::MavMissionResult::MAV_MISSION_OPERATION_CANCELLED)
    );
    assert_eq!(s.v.mission_len(), 2, "previous mission kept");
}

#[test]
fn arming_checks_refuse_without_gps_and_without_mission_in_auto() {
    let mut s = Sim::new(vehicle());
    s.set_mode(CopterMode::Guided);
    s.v.inject(Fault::GpsLoss { active: true });
    assert_eq!(
        s.command(
            mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        ),
        mav::MavResult::MAV_RESULT_FAILED
    );
    assert!(s.seen.iter().any(|m| matches!(m, MavMessage::STATUSTEXT(t) if t.text.to_str().unwrap_or("").starts_with("PreArm"))));
    s.v.inject(Fault::GpsLoss { active: false });
    assert_eq!(
        s.set_mode(CopterMode::Auto),
        mav::MavResult::MAV_RESULT_FAILED,
        "AUTO needs a mission"
    );
    assert_eq!(
        s.command(
            mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        ),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    assert!(s.v.armed());
}

#[test]
fn guided_takeoff_then_rtl_lands_home_and_disarms() {
    let mut s = Sim::new(vehicle());
    assert_eq!(
        s.command(
            mav::MavCmd::MAV_CMD_NAV_TAKEOFF,
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 15.0]
        ),
        mav::MavResult::MAV_RESULT_FAILED,
        "needs GUIDED + armed"
    );
    assert_eq!(
        s.set_mode(CopterMode::Guided),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    assert_eq!(
        s.command(
            mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        ),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    assert_eq!(
        s.command(
            mav::MavCmd::MAV_CMD_NAV_TAKEOFF,
            [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 15.0]
        ),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    s.run(15.0);
    assert!(
        (s.v.kinematics().alt_rel_m - 15.0).abs() < 1.0,
        "{:?}",
        s.v.kinematics()
    );
    assert_eq!(
        s.command(mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM, [0.0; 7]),
        mav::MavResult::MAV_RESULT_DENIED,
        "no disarm in flight"
    );
    assert_eq!(
        s.command(mav::MavCmd::MAV_CMD_NAV_RETURN_TO_LAUNCH, [0.0; 7]),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    assert_eq!(s.v.mode(), CopterMode::Rtl);
    s.run(60.0);
    assert!(!s.v.armed(), "{:?}", s.v.kinematics());
    assert!(s.v.kinematics().pos.distance_m(HOME) < 3.0);
}

#[test]
fn auto_mission_flies_pauses_resumes_and_lands() {
    let mut s = Sim::new(vehicle());
    upload_square(&mut s);
    assert_eq!(
        s.command(mav::MavCmd::MAV_CMD_MISSION_START, [0.0; 7]),
        mav::MavResult::MAV_RESULT_FAILED,
        "disarmed"
    );
    assert_eq!(
        s.set_mode(CopterMode::Guided),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    assert_eq!(
        s.command(
            mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        ),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    assert_eq!(
        s.command(mav::MavCmd::MAV_CMD_MISSION_START, [0.0; 7]),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    assert_eq!(s.v.mode(), CopterMode::Auto);
    s.run(20.0);
    assert!(
        s.seen
            .iter()
            .any(|m| matches!(m, MavMessage::MISSION_ITEM_REACHED(r) if r.seq == 1)),
        "takeoff reached"
    );
    // Pause: holds position.
    assert_eq!(
        s.command(mav::MavCmd::MAV_CMD_DO_PAUSE_CONTINUE, [0.0; 7]),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    s.run(6.0);
    let held = s.v.kinematics().pos;
    s.run(5.0);
    assert!(s.v.kinematics().pos.distance_m(held) < 0.5);
    assert_eq!(
        s.command(
            mav::MavCmd::MAV_CMD_DO_PAUSE_CONTINUE,
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        ),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    // BRAKE then AUTO also resumes.
    assert_eq!(
        s.set_mode(CopterMode::Brake),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    s.run(3.0);
    assert_eq!(
        s.set_mode(CopterMode::Auto),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    s.run(120.0);
    for seq in 2..=3 {
        assert!(
            s.seen
                .iter()
                .any(|m| matches!(m, MavMessage::MISSION_ITEM_REACHED(r) if r.seq == seq)),
            "item {seq}"
        );
    }
    assert!(!s.v.armed(), "landed and disarmed: {:?}", s.v.kinematics());
    assert!(
        s.v.kinematics()
            .pos
            .distance_m(HOME.offset_ne(100.0, 100.0))
            < 3.0
    );
    assert!(s.v.battery_pct() < 100.0);
}

#[test]
fn low_battery_triggers_rtl_and_gcs_loss_triggers_rtl() {
    let mut s = Sim::new(vehicle());
    s.set_mode(CopterMode::Guided);
    s.command(
        mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
        [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    );
    s.command(
        mav::MavCmd::MAV_CMD_NAV_TAKEOFF,
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0],
    );
    s.run(8.0);
    s.v.inject(Fault::LowBattery {
        remaining_pct: 19.0,
    });
    s.run(0.2);
    assert_eq!(s.v.mode(), CopterMode::Rtl);

    let mut s = Sim::new(vehicle());
    let gcs_hb = MavMessage::HEARTBEAT(mav::HEARTBEAT_DATA {
        custom_mode: 0,
        mavtype: mav::MavType::MAV_TYPE_GCS,
        autopilot: mav::MavAutopilot::MAV_AUTOPILOT_INVALID,
        base_mode: mav::MavModeFlag::empty(),
        system_status: mav::MavState::MAV_STATE_ACTIVE,
        mavlink_version: 3,
    });
    s.send(gcs_hb.clone());
    s.set_mode(CopterMode::Guided);
    s.command(
        mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
        [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    );
    s.command(
        mav::MavCmd::MAV_CMD_NAV_TAKEOFF,
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0],
    );
    s.run(4.0);
    s.send(gcs_hb);
    s.run(4.0);
    assert_eq!(
        s.v.mode(),
        CopterMode::Guided,
        "heartbeat 4 s ago: no failsafe yet"
    );
    s.run(2.0);
    assert_eq!(s.v.mode(), CopterMode::Rtl);
    assert!(s.seen.iter().any(|m| matches!(m, MavMessage::STATUSTEXT(t) if t.text.to_str().unwrap_or("").contains("GCS Failsafe"))));
}

#[test]
fn motor_failure_forces_a_landing_and_gps_loss_lands() {
    let mut s = Sim::new(vehicle());
    s.set_mode(CopterMode::Guided);
    s.command(
        mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
        [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    );
    s.command(
        mav::MavCmd::MAV_CMD_NAV_TAKEOFF,
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 20.0],
    );
    s.run(12.0);
    s.v.inject(Fault::MotorFailure);
    s.run(10.0);
    assert!(s.v.kinematics().on_ground());
    assert!(!s.v.armed());

    let mut s = Sim::new(vehicle());
    s.set_mode(CopterMode::Guided);
    s.command(
        mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
        [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    );
    s.command(
        mav::MavCmd::MAV_CMD_NAV_TAKEOFF,
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0],
    );
    s.run(8.0);
    s.v.inject(Fault::GpsLoss { active: true });
    assert_eq!(s.v.mode(), CopterMode::Land);
    s.seen.clear();
    s.run(1.0);
    let _ = s.v.message_by_id(id::GPS_RAW_INT).map(|m| assert!(matches!(m, MavMessage::GPS_RAW_INT(g) if g.fix_type == mav::GpsFixType::GPS_FIX_TYPE_NO_FIX)));
}

#[test]
fn wind_gust_pushes_a_hovering_drone_and_packet_loss_drops() {
    let mut s = Sim::new(vehicle());
    s.set_mode(CopterMode::Guided);
    s.command(
        mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
        [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    );
    s.command(
        mav::MavCmd::MAV_CMD_NAV_TAKEOFF,
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0],
    );
    s.run(8.0);
    let before = s.v.kinematics().pos;
    s.v.inject(Fault::WindGust {
        speed_mps: 15.0,
        towards_deg: 90.0,
        duration_s: 3.0,
    });
    s.run(2.0);
    assert!(s.v.kinematics().pos.distance_m(before) > 0.5);
    s.v.inject(Fault::PacketLoss { pct: 50.0 });
    let dropped = (0..1000).filter(|_| s.v.should_drop_packet()).count();
    assert!((400..600).contains(&dropped), "{dropped}");
    s.v.inject(Fault::LinkLoss { active: true });
    assert!((0..100).all(|_| s.v.should_drop_packet()));
}

#[test]
fn heartbeat_reports_mode_armed_and_type() {
    let mut s = Sim::new(vehicle());
    s.set_mode(CopterMode::Guided);
    s.command(
        mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
        [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    );
    let MavMessage::HEARTBEAT(hb) = s.v.heartbeat() else {
        panic!()
    };
    assert_eq!(hb.custom_mode, 4);
    assert_eq!(hb.mavtype, mav::MavType::MAV_TYPE_QUADROTOR);
    assert_eq!(hb.autopilot, mav::MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA);
    assert!(
        hb.base_mode
            .contains(mav::MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED)
    );
}

#[test]
fn rtl_climbs_returns_loiters_lands_and_disarms_in_arducopter_time() {
    let mut s = Sim::new(vehicle());
    s.set_mode(CopterMode::Guided);
    s.command(
        mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
        [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    );
    s.command(
        mav::MavCmd::MAV_CMD_NAV_TAKEOFF,
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 10.0],
    );
    s.run(10.0);
    // Reposition 200 m north at 10 m (below RTL_ALT) and settle there.
    let far = HOME.offset_ne(200.0, 0.0);
    s.send(MavMessage::COMMAND_INT(mav::COMMAND_INT_DATA {
        param1: -1.0,
        param2: 0.0,
        param3: 0.0,
        param4: f32::NAN,
        x: (far.lat_deg * 1e7) as i32,
        y: (far.lon_deg * 1e7) as i32,
        z: 10.0,
        command: mav::MavCmd::MAV_CMD_DO_REPOSITION,
        target_system: 1,
        target_component: 1,
        frame: mav::MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT_INT,
        current: 0,
        autocontinue: 0,
    }));
    s.run(60.0);
    assert!(s.v.kinematics().pos.distance_m(far) < 1.0);
    s.command(mav::MavCmd::MAV_CMD_NAV_RETURN_TO_LAUNCH, [0.0; 7]);
    let t0 = s.t;
    let mut max_alt = 0.0_f64;
    let mut max_speed = 0.0_f64;
    while s.v.armed() {
        s.run(0.1);
        max_alt = max_alt.max(s.v.kinematics().alt_rel_m);
        max_speed = max_speed.max(s.v.kinematics().ground_speed_mps());
        assert!(s.t - t0 < 120.0, "RTL never ended: {:?}", s.v.kinematics());
    }
    let took = s.t - t0;
    eprintln!("RTL from 200 m at 10 m: {took:.1} s");
    assert!(
        (max_alt - 15.0).abs() < 0.5,
        "climbed to RTL_ALT, not {max_alt}"
    );
    assert!(
        (max_speed - 10.0).abs() < 0.1,
        "returned at WPNAV_SPEED, not {max_speed}"
    );
    assert_eq!(s.v.mode(), CopterMode::Rtl, "stays in RTL once landed");
    assert!(s.v.kinematics().pos.distance_m(HOME) < 1.0);
    // Climb 5 m (~3 s), 200 m at 10 m/s with braking (~29 s), loiter 5 s, descend 5 m at
    // 1.5 m/s and 10 m at 0.5 m/s (~24 s), land detector 1 s.
    assert!((55.0..70.0).contains(&took), "{took}");
    assert!(s.seen.iter().any(|m| matches!(m, MavMessage::STATUSTEXT(t) if t.text.to_str().unwrap_or("") == "Disarming motors")));
}

#[test]
fn camera_items_run_at_once_and_set_current_resumes_from_an_item() {
    let mut s = Sim::new(vehicle());
    let mut items = vec![
        item(0, mav::MavCmd::MAV_CMD_NAV_WAYPOINT, HOME, 0.0),
        item(1, mav::MavCmd::MAV_CMD_NAV_TAKEOFF, HOME, 10.0),
        item(
            2,
            mav::MavCmd::MAV_CMD_NAV_WAYPOINT,
            HOME.offset_ne(50.0, 0.0),
            10.0,
        ),
        item(
            3,
            mav::MavCmd::MAV_CMD_DO_SET_CAM_TRIGG_DIST,
            LatLon::new(0.0, 0.0),
            0.0,
        ),
        item(
            4,
            mav::MavCmd::MAV_CMD_NAV_WAYPOINT,
            HOME.offset_ne(50.0, 50.0),
            10.0,
        ),
        item(
            5,
            mav::MavCmd::MAV_CMD_DO_DIGICAM_CONTROL,
            LatLon::new(0.0, 0.0),
            0.0,
        ),
        item(
            6,
            mav::MavCmd::MAV_CMD_NAV_WAYPOINT,
            HOME.offset_ne(0.0, 50.0),
            10.0,
        ),
    ];
    s.send(MavMessage::MISSION_COUNT(mav::MISSION_COUNT_DATA {
        count: items.len() as u16,
        target_system: 1,
        target_component: 1,
    }));
    for it in items.drain(..) {
        s.send(it);
    }
    assert_eq!(s.v.mission_len(), 7);
    s.set_mode(CopterMode::Guided);
    s.command(
        mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
        [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    );
    s.command(mav::MavCmd::MAV_CMD_MISSION_START, [0.0; 7]);
    let reached = |s: &Sim, seq: u16| {
        s.seen
            .iter()
            .any(|m| matches!(m, MavMessage::MISSION_ITEM_REACHED(r) if r.seq == seq))
    };
    // Item 3 (camera) runs as soon as item 2 starts, before 2 is reached.
    s.run(6.0);
    assert_eq!(s.v.current_seq(), 2);
    assert!(reached(&s, 3) && !reached(&s, 2));
    // Pause in LOITER on the way to 4, resume from 2 with MISSION_SET_CURRENT then AUTO.
    s.run(15.0);
    assert_eq!(s.v.current_seq(), 4);
    assert_eq!(
        s.set_mode(CopterMode::Loiter),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    let out = s.send(MavMessage::MISSION_SET_CURRENT(
        mav::MISSION_SET_CURRENT_DATA {
            seq: 2,
            target_system: 1,
            target_component: 1,
        },
    ));
    assert!(
        out.iter()
            .any(|m| matches!(m, MavMessage::MISSION_CURRENT(c) if c.seq == 2))
    );
    s.seen.clear();
    assert_eq!(
        s.set_mode(CopterMode::Auto),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    s.run(40.0);
    assert!(reached(&s, 2) && reached(&s, 4));
    // DO_SET_MISSION_CURRENT (224) jumps while flying.
    assert_eq!(
        s.command(
            mav::MavCmd::MAV_CMD_DO_SET_MISSION_CURRENT,
            [6.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
        ),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    assert_eq!(s.v.current_seq(), 6);
}

#[test]
fn a_mission_interrupted_by_rtl_restarts_from_the_top_after_the_disarm() {
    let mut s = Sim::new(vehicle());
    upload_square(&mut s);
    let arm = |s: &mut Sim| {
        assert_eq!(
            s.set_mode(CopterMode::Guided),
            mav::MavResult::MAV_RESULT_ACCEPTED
        );
        assert_eq!(
            s.command(
                mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
                [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
            ),
            mav::MavResult::MAV_RESULT_ACCEPTED
        );
    };
    arm(&mut s);
    assert_eq!(
        s.command(mav::MavCmd::MAV_CMD_MISSION_START, [0.0; 7]),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    s.run(20.0);
    assert!(
        s.v.current_seq() >= 2,
        "past the takeoff: {}",
        s.v.current_seq()
    );
    assert_eq!(
        s.command(mav::MavCmd::MAV_CMD_NAV_RETURN_TO_LAUNCH, [0.0; 7]),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    s.run(90.0);
    assert!(!s.v.armed(), "landed and disarmed: {:?}", s.v.kinematics());
    // `AP_Arming_Copter::disarm` resets the mission: MISSION_CURRENT says 0 ...
    assert_eq!(s.v.current_seq(), 0);
    assert!(
        s.seen
            .iter()
            .rev()
            .find_map(|m| match m {
                MavMessage::MISSION_CURRENT(c) => Some(c.seq),
                _ => None,
            })
            .is_some_and(|seq| seq == 0),
        "MISSION_CURRENT 0 after the disarm"
    );
    // ... and the next start flies it from its takeoff, not from the interrupted waypoint.
    arm(&mut s);
    assert_eq!(
        s.command(mav::MavCmd::MAV_CMD_MISSION_START, [0.0; 7]),
        mav::MavResult::MAV_RESULT_ACCEPTED
    );
    assert_eq!(s.v.mode(), CopterMode::Auto);
    s.run(5.0);
    assert_eq!(s.v.current_seq(), 1, "flying the takeoff again");
    assert!(s.v.kinematics().alt_rel_m > 1.0);
}
