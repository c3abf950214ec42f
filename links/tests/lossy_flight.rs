//! The whole operator sequence — upload → start → pause → resume → RTL → land — through the
//! seeded lossy proxy at 10 % loss each way (plus 2 % duplicates and 2 % reordering), with the
//! link's real command timing (1.5 s ack timeout, 3 resends with `confirmation` incremented).
//!
//! Idempotent commands (mode changes, RTL, land) must be confirmed at the first press: their
//! resends cover the losses. Arm and mission start are never resent by the link, so when their
//! ack is lost the test does what an operator does: look at the vehicle's reported state and
//! press again only if the command did not take effect.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic is the failure report"
)]

mod common;

use aviary_core::wire::CommandAction;
use aviary_links::mav::{
    self, CommandOutcome, LinkEvent, LinkEvents, LinkHandle, MissionOp, MissionTiming, VehicleId,
    VehicleState,
};
use aviary_sim::{CopterMode, SimConfig, Simulator};
use common::{LossyProxy, discovered, link, mission, wait_for};
use mavlink::dialects::ardupilotmega::MavCmd;
use std::time::{Duration, Instant};

/// Waits for the final outcome of `command` (not `Pending`).
fn outcome(events: &mut LinkEvents, command: MavCmd) -> CommandOutcome {
    wait_for(events, Duration::from_secs(30), |e| match e {
        LinkEvent::Command {
            command: c,
            outcome,
            ..
        } if *c == command && *outcome != CommandOutcome::Pending => Some(outcome.clone()),
        _ => None,
    })
}

/// Whether the link's view of the vehicle satisfies `done` within `limit` (state updates
/// arrive with telemetry; an upper bound, not a sleep).
fn becomes(
    handle: &LinkHandle,
    events: &mut LinkEvents,
    id: VehicleId,
    limit: Duration,
    done: &impl Fn(&VehicleState) -> bool,
) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if handle.vehicle(id).is_some_and(|v| done(&v)) {
            return true;
        }
        let _ = events.recv_timeout(Duration::from_millis(20));
    }
    false
}

/// An operator pressing a never-resent command: press, and if the ack went missing press
/// again only while the vehicle does not show the effect. Returns the number of presses.
fn press_until(
    handle: &LinkHandle,
    events: &mut LinkEvents,
    id: VehicleId,
    spec: mav::CommandSpec,
    done: impl Fn(&VehicleState) -> bool,
) -> u32 {
    for press in 1..=5 {
        handle.commands(id, vec![spec]).unwrap();
        match outcome(events, spec.command) {
            CommandOutcome::Confirmed => return press,
            CommandOutcome::Failed(mav::CommandFailure::NoAck { attempts }) => {
                assert_eq!(attempts, 1, "{:?} must never be resent", spec.command);
                if becomes(handle, events, id, Duration::from_secs(3), &done) {
                    return press;
                }
            }
            other => panic!("{:?}: {other:?}", spec.command),
        }
    }
    panic!("{:?} did not take effect after 5 presses", spec.command);
}

/// An idempotent action: the link's resends must get it confirmed at the first press.
fn confirmed_first_time(
    handle: &LinkHandle,
    events: &mut LinkEvents,
    id: VehicleId,
    action: CommandAction,
    command: MavCmd,
) {
    handle.action(id, action, false).unwrap();
    assert_eq!(
        outcome(events, command),
        CommandOutcome::Confirmed,
        "{action:?}"
    );
}

#[test]
fn upload_start_pause_resume_rtl_land_at_ten_percent_loss() {
    // Three flights side by side, each with its own link, proxy seed and simulator: three
    // different loss patterns for the price of one flight's wall time.
    std::thread::scope(|scope| {
        let flights: Vec<_> = [0xF1157_u64, 0xF1158, 0xF1159]
            .into_iter()
            .map(|seed| {
                std::thread::Builder::new()
                    .name(format!("lossy-flight-{seed:x}"))
                    .spawn_scoped(scope, move || fly(seed))
                    .unwrap()
            })
            .collect();
        for f in flights {
            f.join().unwrap();
        }
    });
}

fn fly(seed: u64) {
    let field = MissionTiming::default();
    let (handle, mut events) = link(|c| {
        c.request_streams_hz = Some(10);
        // Mission timers /10 as in `lossy.rs`; command timing stays the field's.
        c.mission_timing = MissionTiming {
            timeout: field.timeout / 10,
            item_timeout: field.item_timeout / 10,
            max_retries: field.max_retries,
        };
    });
    let proxy = LossyProxy::start(handle.local_addr().unwrap(), 0.10, 0.02, 0.02, seed);
    let mut cfg = SimConfig::new(proxy.addr, 1);
    cfg.speedup = 10.0;
    cfg.mission_rerequest_s /= 10.0;
    cfg.mission_upload_timeout_s /= 10.0;
    let sim = Simulator::spawn(cfg).unwrap();
    let id = discovered(&mut events);
    assert!(becomes(
        &handle,
        &mut events,
        id,
        Duration::from_secs(10),
        &|v| v.pos.is_some()
    ));

    let items = mission(8);
    handle.upload_mission(id, items.clone()).unwrap();
    wait_for(&mut events, Duration::from_secs(30), |e| match e {
        LinkEvent::MissionDone {
            op: MissionOp::Upload,
            result,
            ..
        } => Some(result.clone().expect("upload accepted through 10 % loss")),
        _ => None,
    });
    assert_eq!(sim.snapshot(0).unwrap().mission.len(), items.len());

    let arm_presses = press_until(&handle, &mut events, id, mav::command::arm(), |v| v.armed);
    let start_presses = press_until(
        &handle,
        &mut events,
        id,
        mav::command::mission_start(),
        |v| v.mode == "AUTO",
    );
    eprintln!("seed {seed:x}: arm took {arm_presses} press(es), mission start {start_presses}");
    // MISSION_ITEM_REACHED is sent once and may be lost: watch the streamed current item.
    assert!(becomes(
        &handle,
        &mut events,
        id,
        Duration::from_mins(1),
        &|v| v.mission_seq >= 3
    ));

    confirmed_first_time(
        &handle,
        &mut events,
        id,
        CommandAction::Pause,
        MavCmd::MAV_CMD_DO_SET_MODE,
    );
    assert_eq!(sim.snapshot(0).unwrap().mode, CopterMode::Brake);
    let paused_seq = sim.snapshot(0).unwrap().current_seq;

    confirmed_first_time(
        &handle,
        &mut events,
        id,
        CommandAction::Resume,
        MavCmd::MAV_CMD_DO_SET_MODE,
    );
    assert!(becomes(
        &handle,
        &mut events,
        id,
        Duration::from_mins(1),
        &|v| v.mission_seq > paused_seq
    ));

    confirmed_first_time(
        &handle,
        &mut events,
        id,
        CommandAction::Rth,
        MavCmd::MAV_CMD_NAV_RETURN_TO_LAUNCH,
    );
    assert_eq!(sim.snapshot(0).unwrap().mode, CopterMode::Rtl);

    confirmed_first_time(
        &handle,
        &mut events,
        id,
        CommandAction::Land,
        MavCmd::MAV_CMD_NAV_LAND,
    );
    assert!(becomes(
        &handle,
        &mut events,
        id,
        Duration::from_mins(1),
        &|v| !v.armed && v.alt_rel_m < 0.2
    ));
    assert!(!sim.snapshot(0).unwrap().armed);
    let dropped = proxy.stats().dropped[0].load(std::sync::atomic::Ordering::Relaxed);
    assert!(dropped > 0, "the proxy must have dropped something");
    handle.shutdown();
}
