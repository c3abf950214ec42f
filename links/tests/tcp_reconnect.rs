//! A `tcpout` link whose vehicle dies: the end of the stream loses the vehicle at once (not
//! after minutes, as before), requests then fail at once, and when the vehicle listens again
//! on the same port the link reconnects by itself and the same vehicle comes back.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic is the failure report"
)]

mod common;

use aviary_links::mav::{
    self, LinkAddress, LinkConfig, LinkError, LinkEvent, MissionRequest, codec,
};
use common::wait_for;
use mavlink::MavHeader;
use mavlink::dialects::ardupilotmega::{self as mavd, MavMessage};
use std::io::Write;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

fn heartbeat(seq: u8) -> Vec<u8> {
    let hb = MavMessage::HEARTBEAT(mavd::HEARTBEAT_DATA {
        custom_mode: 0,
        mavtype: mavd::MavType::MAV_TYPE_QUADROTOR,
        autopilot: mavd::MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
        base_mode: mavd::MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED,
        system_status: mavd::MavState::MAV_STATE_STANDBY,
        mavlink_version: 3,
    });
    let mut b = Vec::new();
    codec::encode(
        MavHeader {
            system_id: 1,
            component_id: 1,
            sequence: seq,
        },
        &hb,
        None,
        &mut b,
    )
    .unwrap();
    b
}

/// A vehicle serving one TCP connection on `listener`, sending heartbeats at 5 Hz until `stop`;
/// then the connection and the listener close (the process died).
fn vehicle(listener: TcpListener, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("test-tcp-vehicle".into())
        .spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut seq = 0u8;
            while !stop.load(Ordering::Relaxed) {
                if s.write_all(&heartbeat(seq)).is_err() {
                    break;
                }
                seq = seq.wrapping_add(1);
                std::thread::sleep(Duration::from_millis(200));
            }
        })
        .unwrap()
}

#[test]
fn a_dropped_tcp_vehicle_is_lost_at_once_and_comes_back_by_itself() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let first = vehicle(listener, Arc::clone(&stop));
    let (handle, mut events) =
        mav::spawn(LinkConfig::new(LinkAddress::TcpOut(addr)), Arc::new(|| {})).unwrap();
    let id = wait_for(&mut events, Duration::from_secs(10), |e| match e {
        LinkEvent::VehicleDiscovered { id, .. } => Some(*id),
        _ => None,
    });

    stop.store(true, Ordering::Relaxed);
    first.join().unwrap();
    // LINK_LOST_AFTER is the bound; the stream's end is seen well before.
    wait_for(&mut events, mav::LINK_LOST_AFTER, |e| {
        matches!(e, LinkEvent::LinkLost { id: v } if *v == id).then_some(())
    });
    assert!(matches!(
        handle.mission_action(id, MissionRequest::Rtl),
        Err(LinkError::VehicleLost(v)) if v == id
    ));

    // The vehicle restarts on the same port: the link reconnects (every second) on its own.
    let listener = TcpListener::bind(addr).unwrap();
    let stop2 = Arc::new(AtomicBool::new(false));
    let second = vehicle(listener, Arc::clone(&stop2));
    wait_for(&mut events, Duration::from_secs(10), |e| {
        matches!(e, LinkEvent::LinkRecovered { id: v } if *v == id).then_some(())
    });
    assert!(handle.vehicle(id).is_some_and(|v| v.link_up));
    handle.shutdown();
    stop2.store(true, Ordering::Relaxed);
    second.join().unwrap();
}
