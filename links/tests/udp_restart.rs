//! A simulated vehicle over UDP that dies is lost once [`mav::LINK_LOST_AFTER`] (3.5 s) has
//! passed on the link's clock (a manual one here: the test moves time, it never waits it), and
//! when it restarts on a new source port the link identifies it by its autopilot's unique id
//! (`AUTOPILOT_VERSION.uid`), the same as before, so the app keeps the same drone instead of
//! creating one per port (issue 14, "Identity and links").

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic is the failure report"
)]

mod common;

use aviary_core::{Clock, ManualClock, SystemClock};
use aviary_links::mav::{self, LinkEvent, LinkEvents, VehicleId};
use aviary_sim::vehicle::uid_for_index;
use aviary_sim::{SimConfig, SimHandle, Simulator};
use common::{link, wait_for};
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

/// An upper bound for an event the link owes after the clock moved (it checks its vehicles
/// every 50 ms tick); never a wait that decides the result.
const EVENT_BOUND: Duration = Duration::from_secs(5);

/// One simulated drone (fleet index 0, so always the same uid) sending to `gcs`.
fn vehicle(gcs: SocketAddr) -> SimHandle {
    let mut cfg = SimConfig::new(gcs, 1);
    cfg.speedup = 10.0;
    Simulator::spawn(cfg).unwrap()
}

/// The next vehicle discovered and the uid it is identified with.
fn discovered_and_identified(events: &mut LinkEvents) -> (VehicleId, Option<u64>) {
    let id = common::discovered(events);
    // The link asks for AUTOPILOT_VERSION on discovery and reports within its IDENTIFY_WAIT
    // (3 s; not exported), uid or not.
    let uid = wait_for(events, Duration::from_secs(6), |e| match e {
        LinkEvent::VehicleIdentified { id: v, uid, .. } if *v == id => Some(*uid),
        _ => None,
    });
    (id, uid)
}

#[test]
fn a_killed_udp_vehicle_is_lost_in_time_and_restarted_on_a_new_port_keeps_its_uid() {
    let clock = ManualClock::new(SystemClock.now());
    let (handle, mut events) = link(|c| {
        c.request_streams_hz = Some(4);
        c.clock = Arc::new(clock.clone());
    });
    let gcs = handle.local_addr().unwrap();
    let sim = vehicle(gcs);
    let old_addr = sim.drones()[0].local_addr;
    let (first, first_uid) = discovered_and_identified(&mut events);
    assert_eq!(first.peer, old_addr);
    assert_eq!(first_uid, Some(uid_for_index(0)), "the autopilot's own uid");

    // Kill it: its runtime and socket are gone, nothing more is sent. The link's deadline is
    // LINK_LOST_AFTER after the last heartbeat on its clock, which stands still: however long
    // the host takes, the vehicle is not lost while the clock has not passed the deadline.
    sim.shutdown();
    assert!(
        handle.vehicle(first).is_some_and(|v| v.link_up),
        "not lost while the clock stands"
    );
    // Move the clock past the deadline. (A heartbeat still in the socket when the simulator
    // stopped is stamped with the moved clock: then one more move is needed.)
    let mut moves = 0;
    let lost = loop {
        clock.advance(
            chrono::Duration::from_std(mav::LINK_LOST_AFTER).unwrap()
                + chrono::Duration::milliseconds(1),
        );
        moves += 1;
        let bound = std::time::Instant::now() + EVENT_BOUND;
        let mut got = false;
        while !got && std::time::Instant::now() < bound {
            got = events
                .recv_timeout(Duration::from_millis(20))
                .is_some_and(|e| matches!(e, LinkEvent::LinkLost { id } if id == first));
        }
        if got || moves == 3 {
            break handle.vehicle(first).unwrap();
        }
    };
    assert!(!lost.link_up, "lost after {moves} moves of the clock");
    assert!(
        clock.instant().duration_since(lost.last_heartbeat) >= mav::LINK_LOST_AFTER,
        "not declared lost before its deadline on the link's clock"
    );

    // Restart the same vehicle. Hold its old port while it binds, so it surely gets a new one
    // (as a restarted SITL or companion computer does).
    let holder = UdpSocket::bind(old_addr).unwrap();
    let sim = vehicle(gcs);
    drop(holder);
    let new_addr = sim.drones()[0].local_addr;
    assert_ne!(new_addr.port(), old_addr.port());
    let (second, second_uid) = discovered_and_identified(&mut events);
    assert_eq!(second.peer, new_addr, "a new address for the link");
    assert_eq!(second.system_id, first.system_id);
    assert_eq!(
        second_uid, first_uid,
        "the same uid on the new port: the same drone"
    );
    assert!(
        handle.vehicle(first).is_some_and(|v| !v.link_up),
        "the old address stays lost"
    );
    assert!(
        handle
            .vehicle(second)
            .is_some_and(|v| v.link_up && v.uid == first_uid)
    );
    handle.shutdown();
    sim.shutdown();
}
