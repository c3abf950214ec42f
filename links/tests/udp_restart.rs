//! A simulated vehicle over UDP that dies is lost within [`mav::LINK_LOST_AFTER`] (3.5 s), and
//! when it restarts on a new source port the link identifies it by its autopilot's unique id
//! (`AUTOPILOT_VERSION.uid`), the same as before, so the app keeps the same drone instead of
//! creating one per port (issue 14, "Identity and links").

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic is the failure report"
)]

mod common;

use aviary_links::mav::{self, LinkEvent, LinkEvents, VehicleId};
use aviary_sim::vehicle::uid_for_index;
use aviary_sim::{SimConfig, SimHandle, Simulator};
use common::{link, wait_for};
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

/// How late after the link's own deadline the event may reach the test: the link checks its
/// vehicles every tick (50 ms) and the event crosses a channel on a loaded machine.
const SCHEDULING_MARGIN: Duration = Duration::from_millis(400);

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
    let (handle, mut events) = link(|c| c.request_streams_hz = Some(4));
    let gcs = handle.local_addr().unwrap();
    let sim = vehicle(gcs);
    let old_addr = sim.drones()[0].local_addr;
    let (first, first_uid) = discovered_and_identified(&mut events);
    assert_eq!(first.peer, old_addr);
    assert_eq!(first_uid, Some(uid_for_index(0)), "the autopilot's own uid");

    // Kill it: its runtime and socket are gone, nothing more is sent. The link's deadline is
    // LINK_LOST_AFTER after the last heartbeat, which came before the kill.
    sim.shutdown();
    wait_for(&mut events, mav::LINK_LOST_AFTER + SCHEDULING_MARGIN, |e| {
        matches!(e, LinkEvent::LinkLost { id } if *id == first).then_some(())
    });
    let lost = handle.vehicle(first).unwrap();
    assert!(!lost.link_up);
    assert!(
        lost.last_heartbeat.elapsed() >= mav::LINK_LOST_AFTER,
        "not declared lost before its deadline"
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
