//! `mission_action` against our simulator over real UDP: a Start from a mode that refuses
//! arming (RTL, where a finished mission leaves the vehicle) succeeds because the link switches
//! to GUIDED first; so does a second Start after a flown mission landed in AUTO and after a
//! real RTL flight landed in RTL; the uploaded list reads back equal item for item; requests to
//! a vehicle never heard fail at once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic is the failure report"
)]

mod common;

use aviary_core::mission_items::{first_difference, mission_items};
use aviary_core::{Waypoint, WaypointAction};
use aviary_links::mav::{
    CommandOutcome, LinkError, LinkEvent, MissionOp, MissionRequest, VehicleId, plan_items,
};
use aviary_sim::{CopterMode, SimConfig, Simulator};
use common::{HOME, discovered, link, wait_for};
use std::time::Duration;

#[test]
fn start_from_rtl_on_the_ground_switches_to_guided_and_the_mission_reads_back_equal() {
    let (handle, mut events) = link(|c| c.request_streams_hz = Some(10));
    let mut cfg = SimConfig::new(handle.local_addr().unwrap(), 1);
    cfg.speedup = 10.0;
    let sim = Simulator::spawn(cfg).unwrap();
    let id = discovered(&mut events);
    wait_for(&mut events, Duration::from_secs(10), |e| match e {
        LinkEvent::State(s) if s.pos.is_some() && s.gps_fix >= 3 => Some(()),
        _ => None,
    });
    // Leave the vehicle where an RTL leaves it: landed, disarmed, in RTL.
    handle.set_mode(id, 6).unwrap();
    wait_for(&mut events, Duration::from_secs(10), |e| match e {
        LinkEvent::Command {
            outcome: CommandOutcome::Confirmed,
            ..
        } => Some(()),
        LinkEvent::Command {
            outcome: CommandOutcome::Failed(f),
            ..
        } => panic!("RTL: {f}"),
        _ => None,
    });
    assert_eq!(sim.snapshot(0).unwrap().mode, CopterMode::Rtl);

    let a = HOME.offset_ne(30.0, 0.0);
    let wps = [
        Waypoint {
            pos: HOME,
            alt_rel_m: 15.0,
            action: WaypointAction::Takeoff,
        },
        Waypoint {
            pos: a,
            alt_rel_m: 15.0,
            action: WaypointAction::FlyThrough,
        },
        Waypoint {
            pos: a,
            alt_rel_m: 15.0,
            action: WaypointAction::CameraTriggerStart { distance_m: 5.0 },
        },
        Waypoint {
            pos: HOME.offset_ne(30.0, 30.0),
            alt_rel_m: 15.0,
            action: WaypointAction::FlyThrough,
        },
        Waypoint {
            pos: HOME,
            alt_rel_m: 15.0,
            action: WaypointAction::CameraTriggerStop,
        },
        Waypoint {
            pos: HOME,
            alt_rel_m: 15.0,
            action: WaypointAction::ReturnToLaunch,
        },
    ];
    let items = mission_items(HOME, &wps, 6.0);
    handle
        .mission_action(
            id,
            MissionRequest::Start {
                items: Some(items.clone()),
                from_seq: None,
            },
        )
        .unwrap();
    let result = wait_for(&mut events, Duration::from_secs(30), |e| match e {
        LinkEvent::ActionResult { result, .. } => Some(result.clone()),
        _ => None,
    });
    result.unwrap_or_else(|f| panic!("start failed: {f}"));
    let snap = sim.snapshot(0).unwrap();
    assert!(snap.armed, "armed by the start");
    assert_eq!(snap.mode, CopterMode::Auto);

    handle.download_mission(id).unwrap();
    let back = wait_for(&mut events, Duration::from_secs(10), |e| match e {
        LinkEvent::MissionDone {
            op: MissionOp::Download,
            result,
            ..
        } => Some(result.clone().expect("download")),
        _ => None,
    });
    // Item 0 is the vehicle's own home, as on ArduPilot.
    assert_eq!(first_difference(&items, &plan_items(&back), true), None);
    handle.shutdown();
    sim.shutdown();
}

/// Sends `request` and waits for its one `ActionResult`, which must be a success.
fn act(
    handle: &aviary_links::mav::LinkHandle,
    events: &mut aviary_links::mav::LinkEvents,
    id: VehicleId,
    request: MissionRequest,
    what: &str,
) {
    handle.mission_action(id, request).unwrap();
    wait_for(events, Duration::from_secs(30), |e| match e {
        LinkEvent::ActionResult { id: v, result, .. } if *v == id => Some(result.clone()),
        _ => None,
    })
    .unwrap_or_else(|f| panic!("{what}: {f}"));
}

/// Waits (at most `limit`) for a telemetry update of `id` that `pred` accepts.
fn until_state(
    events: &mut aviary_links::mav::LinkEvents,
    id: VehicleId,
    limit: Duration,
    pred: impl Fn(&aviary_links::mav::VehicleState) -> bool,
) {
    wait_for(events, limit, |e| match e {
        LinkEvent::State(s) if s.id == id && pred(s) => Some(()),
        _ => None,
    });
}

#[test]
fn a_second_start_succeeds_after_a_completed_mission_and_after_an_rtl() {
    let (handle, mut events) = link(|c| c.request_streams_hz = Some(10));
    let mut cfg = SimConfig::new(handle.local_addr().unwrap(), 1);
    cfg.speedup = 20.0;
    cfg.gps_noise_m = 0.0;
    let sim = Simulator::spawn(cfg).unwrap();
    let id = discovered(&mut events);
    until_state(&mut events, id, Duration::from_secs(10), |s| {
        s.pos.is_some() && s.gps_fix >= 3
    });
    let a = HOME.offset_ne(30.0, 0.0);
    let wps = [
        Waypoint {
            pos: HOME,
            alt_rel_m: 10.0,
            action: WaypointAction::Takeoff,
        },
        Waypoint {
            pos: a,
            alt_rel_m: 10.0,
            action: WaypointAction::FlyThrough,
        },
        Waypoint {
            pos: a,
            alt_rel_m: 10.0,
            action: WaypointAction::ReturnToLaunch,
        },
    ];
    let items = mission_items(HOME, &wps, 10.0);

    // First flight: the whole mission, its own RTL item included, lands and disarms in AUTO.
    let first = MissionRequest::Start {
        items: Some(items),
        from_seq: None,
    };
    act(&handle, &mut events, id, first, "first start");
    until_state(&mut events, id, Duration::from_secs(20), |s| {
        s.armed && s.alt_rel_m > 5.0
    });
    until_state(&mut events, id, Duration::from_secs(30), |s| !s.armed);
    let snap = sim.snapshot(0).unwrap();
    assert_eq!(
        snap.mode,
        CopterMode::Auto,
        "a completed mission leaves ArduCopter in AUTO, where it cannot arm: {snap:?}"
    );
    assert!(snap.alt_rel_m < 0.5, "landed: {snap:?}");

    // Second Start of the mission already on the vehicle, from AUTO on the ground.
    let again = || MissionRequest::Start {
        items: None,
        from_seq: None,
    };
    act(
        &handle,
        &mut events,
        id,
        again(),
        "start after a completed mission",
    );
    let snap = sim.snapshot(0).unwrap();
    assert!(snap.armed, "armed by the second start: {snap:?}");
    assert_eq!(snap.mode, CopterMode::Auto);
    until_state(&mut events, id, Duration::from_secs(20), |s| {
        s.armed && s.alt_rel_m > 5.0
    });

    // Called back mid-mission: RTL climbs, returns, lands and disarms, staying in RTL.
    act(&handle, &mut events, id, MissionRequest::Rtl, "rtl");
    until_state(&mut events, id, Duration::from_secs(30), |s| !s.armed);
    let snap = sim.snapshot(0).unwrap();
    assert_eq!(
        snap.mode,
        CopterMode::Rtl,
        "an RTL leaves ArduCopter in RTL, where it cannot arm: {snap:?}"
    );
    assert!(snap.alt_rel_m < 0.5, "landed: {snap:?}");

    // Third Start, from RTL on the ground.
    act(&handle, &mut events, id, again(), "start after an RTL");
    let snap = sim.snapshot(0).unwrap();
    assert!(snap.armed, "armed by the start after an RTL: {snap:?}");
    assert_eq!(snap.mode, CopterMode::Auto);
    until_state(&mut events, id, Duration::from_secs(20), |s| {
        s.armed && s.alt_rel_m > 5.0
    });
    handle.shutdown();
    sim.shutdown();
}

#[test]
fn a_vehicle_never_heard_is_refused_at_once() {
    let (handle, _events) = link(|_| {});
    let id = VehicleId {
        peer: "127.0.0.1:9".parse().unwrap(),
        system_id: 7,
    };
    let err = handle
        .mission_action(id, MissionRequest::Pause)
        .unwrap_err();
    assert!(matches!(err, LinkError::NeverHeard(v) if v == id));
    assert!(
        err.to_string()
            .contains("has never been heard on this link"),
        "{err}"
    );
    handle.shutdown();
}
