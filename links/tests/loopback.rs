//! Our link against our simulator over real UDP on loopback: discovery, telemetry, mission
//! upload/download, start → pause → resume → RTL → land, link loss and recovery, faults.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic is the failure report"
)]

mod common;

use aviary_core::wire::CommandAction;
use aviary_links::mav::{CommandOutcome, LinkEvent, MissionOp, PlanState};
use aviary_sim::{CopterMode, Fault, SimConfig, Simulator, StreamRates};
use common::{discovered, link, mission, wait_for};
use mavlink::dialects::ardupilotmega::MavCmd;
use std::time::Duration;

fn confirmed(events: &mut aviary_links::mav::LinkEvents, command: MavCmd) {
    wait_for(events, Duration::from_secs(15), |e| match e {
        LinkEvent::Command {
            command: c,
            outcome: CommandOutcome::Confirmed,
            ..
        } if *c == command => Some(()),
        LinkEvent::Command {
            command: c,
            outcome: CommandOutcome::Failed(f),
            ..
        } if *c == command => panic!("{command:?} failed: {f}"),
        _ => None,
    });
}

#[test]
fn upload_start_pause_resume_rtl_land_over_udp() {
    let (handle, mut events) = link(|c| c.request_streams_hz = Some(10));
    let mut cfg = SimConfig::new(handle.local_addr().unwrap(), 1);
    cfg.speedup = 10.0;
    let sim = Simulator::spawn(cfg).unwrap();
    let id = discovered(&mut events);
    assert_eq!(id.peer, sim.drones()[0].local_addr);

    // ArduPilot-like: silent until asked; the link asked for streams on discovery.
    let state = wait_for(&mut events, Duration::from_secs(10), |e| match e {
        LinkEvent::State(s) if s.pos.is_some() && s.battery_pct.is_some() && s.gps_fix >= 3 => {
            Some(s.clone())
        }
        _ => None,
    });
    assert!(state.link_up && !state.armed);
    assert_eq!(state.mode, "STABILIZE");

    let items = mission(8);
    handle.upload_mission(id, items.clone()).unwrap();
    wait_for(&mut events, Duration::from_secs(10), |e| match e {
        LinkEvent::MissionDone {
            op: MissionOp::Upload,
            result,
            ..
        } => Some(result.clone().expect("upload accepted")),
        _ => None,
    });
    assert_eq!(
        handle.vehicle(id).unwrap().plan,
        PlanState::Synced { items: 8 }
    );
    handle.download_mission(id).unwrap();
    let back = wait_for(&mut events, Duration::from_secs(10), |e| match e {
        LinkEvent::MissionDone {
            op: MissionOp::Download,
            result,
            ..
        } => Some(result.clone().expect("download")),
        _ => None,
    });
    assert_eq!(back.len(), items.len());
    for (a, b) in items.iter().zip(&back).skip(1) {
        assert!(a.same_content(b), "{a:?} vs {b:?}");
    }

    handle.action(id, CommandAction::Start, false).unwrap();
    confirmed(&mut events, MavCmd::MAV_CMD_COMPONENT_ARM_DISARM);
    confirmed(&mut events, MavCmd::MAV_CMD_MISSION_START);
    wait_for(&mut events, Duration::from_secs(30), |e| {
        matches!(e, LinkEvent::ItemReached { seq: 2, .. }).then_some(())
    });

    handle.action(id, CommandAction::Pause, false).unwrap();
    confirmed(&mut events, MavCmd::MAV_CMD_DO_SET_MODE);
    assert_eq!(handle.vehicle(id).unwrap().mode, "BRAKE");
    let paused_seq = sim.snapshot(0).unwrap().current_seq;

    handle.action(id, CommandAction::Resume, false).unwrap();
    confirmed(&mut events, MavCmd::MAV_CMD_DO_SET_MODE);
    assert_eq!(handle.vehicle(id).unwrap().mode, "AUTO");
    wait_for(&mut events, Duration::from_secs(30), |e| {
        matches!(e, LinkEvent::ItemReached { seq, .. } if *seq > paused_seq).then_some(())
    });

    handle.action(id, CommandAction::Rth, false).unwrap();
    confirmed(&mut events, MavCmd::MAV_CMD_NAV_RETURN_TO_LAUNCH);
    assert_eq!(sim.snapshot(0).unwrap().mode, CopterMode::Rtl);

    handle.action(id, CommandAction::Land, false).unwrap();
    confirmed(&mut events, MavCmd::MAV_CMD_NAV_LAND);
    wait_for(&mut events, Duration::from_mins(1), |e| match e {
        LinkEvent::State(s) if !s.armed && s.alt_rel_m < 0.2 => Some(()),
        _ => None,
    });
    assert!(!sim.snapshot(0).unwrap().armed);
    // A second identical command while one is pending is refused.
    handle.set_mode(id, 5).unwrap();
    handle.set_mode(id, 5).unwrap();
    wait_for(&mut events, Duration::from_secs(10), |e| match e {
        LinkEvent::Command {
            outcome: CommandOutcome::Failed(aviary_links::mav::CommandFailure::Duplicate),
            ..
        } => Some(()),
        _ => None,
    });
    handle.shutdown();
}

/// What a flight display needs beyond position and battery percent reaches `VehicleState`:
/// attitude (`ATTITUDE`), home (`HOME_POSITION`), battery voltage and current (`SYS_STATUS`).
#[test]
fn attitude_home_and_battery_current_reach_the_vehicle_state() {
    let (handle, mut events) = link(|c| c.request_streams_hz = Some(10));
    let mut cfg = SimConfig::new(handle.local_addr().unwrap(), 1);
    cfg.speedup = 10.0;
    let (home, home_alt_amsl_m) = (cfg.home, cfg.home_alt_amsl_m);
    let _sim = Simulator::spawn(cfg).unwrap();
    discovered(&mut events);
    let state = wait_for(&mut events, Duration::from_secs(10), |e| match e {
        LinkEvent::State(s)
            if s.attitude.is_some() && s.home.is_some() && s.battery_current_a.is_some() =>
        {
            Some(s.clone())
        }
        _ => None,
    });
    let attitude = state.attitude.unwrap();
    // On the ground and still: level, heading within a turn.
    assert!(attitude.roll_deg.abs() < 1.0, "{attitude:?}");
    assert!(attitude.pitch_deg.abs() < 1.0, "{attitude:?}");
    assert!((0.0..360.0).contains(&attitude.yaw_deg), "{attitude:?}");
    let reported = state.home.unwrap();
    assert!(reported.distance_m(home) < 50.0, "{reported:?} vs {home:?}");
    let alt = state.home_alt_amsl_m.unwrap();
    assert!(
        (alt - home_alt_amsl_m).abs() < 0.01,
        "{alt} vs {home_alt_amsl_m}"
    );
    assert!(state.battery_v.is_some_and(|v| v > 10.0), "{state:?}");
    assert!(state.battery_current_a.unwrap() >= 0.0, "{state:?}");
    handle.shutdown();
}

#[test]
fn fleet_is_addressed_per_drone_and_link_loss_is_seen_and_recovered() {
    let (handle, mut events) = link(|c| c.request_streams_hz = None);
    let mut cfg = SimConfig::new(handle.local_addr().unwrap(), 3);
    cfg.default_streams = Some(StreamRates {
        position_hz: 5.0,
        status_hz: 1.0,
    });
    let sim = Simulator::spawn(cfg).unwrap();
    let mut ids = Vec::new();
    while ids.len() < 3 {
        ids.push(discovered(&mut events));
    }
    ids.sort();
    let mut sysids: Vec<u8> = ids.iter().map(|i| i.system_id).collect();
    sysids.sort_unstable();
    assert_eq!(sysids, vec![1, 2, 3]);

    // Arm only drone 2: the others stay disarmed.
    let two = *ids.iter().find(|i| i.system_id == 2).unwrap();
    handle.set_mode(two, 4).unwrap();
    confirmed(&mut events, MavCmd::MAV_CMD_DO_SET_MODE);
    handle.arm(two).unwrap();
    confirmed(&mut events, MavCmd::MAV_CMD_COMPONENT_ARM_DISARM);
    assert!(sim.snapshot(1).unwrap().armed);
    assert!(!sim.snapshot(0).unwrap().armed && !sim.snapshot(2).unwrap().armed);

    // Link loss on drone 3: lost within 3.5 s (+ tick), recovered on the next heartbeat.
    let three = *ids.iter().find(|i| i.system_id == 3).unwrap();
    sim.inject_fault(2, Fault::LinkLoss { active: true })
        .unwrap();
    let t0 = std::time::Instant::now();
    wait_for(&mut events, Duration::from_secs(8), |e| {
        matches!(e, LinkEvent::LinkLost { id } if *id == three).then_some(())
    });
    let lost_after = t0.elapsed();
    assert!(lost_after <= Duration::from_millis(4700), "{lost_after:?}");
    assert!(handle.vehicle(three).is_some_and(|v| !v.link_up));
    sim.inject_fault(2, Fault::LinkLoss { active: false })
        .unwrap();
    let t1 = std::time::Instant::now();
    wait_for(&mut events, Duration::from_secs(5), |e| {
        matches!(e, LinkEvent::LinkRecovered { id } if *id == three).then_some(())
    });
    assert!(
        t1.elapsed() <= Duration::from_millis(1600),
        "{:?}",
        t1.elapsed()
    );

    // Statustext reaches the app.
    sim.inject_fault(0, Fault::GpsLoss { active: true })
        .unwrap();
    wait_for(&mut events, Duration::from_secs(5), |e| {
        matches!(e, LinkEvent::StatusText { text, .. } if text.contains("GPS")).then_some(())
    });
    handle.shutdown();
    sim.shutdown();
}

#[test]
fn signed_link_talks_only_to_a_signed_peer() {
    // Our simulator does not sign: a signing link must ignore it entirely.
    let (handle, mut events) = link(|c| {
        c.signing = Some(aviary_links::mav::SigningKey {
            secret: [7; 32],
            link_id: 1,
        });
    });
    let mut cfg = SimConfig::new(handle.local_addr().unwrap(), 1);
    cfg.default_streams = Some(StreamRates {
        position_hz: 5.0,
        status_hz: 1.0,
    });
    let _sim = Simulator::spawn(cfg).unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(2);
    while std::time::Instant::now() < deadline {
        if let Some(e) = events.recv_timeout(Duration::from_millis(50)) {
            assert!(
                !matches!(e, LinkEvent::VehicleDiscovered { .. } | LinkEvent::State(_)),
                "unsigned traffic accepted: {e:?}"
            );
        }
    }
    assert!(
        handle
            .stats()
            .rejected_signature
            .load(std::sync::atomic::Ordering::Relaxed)
            > 5
    );
    handle.shutdown();
}
