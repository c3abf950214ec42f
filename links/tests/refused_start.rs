//! A Start refused after arming (as ArduCopter refuses `MISSION_START` while its EKF does not
//! use GPS yet) leaves the vehicle disarmed and reports the vehicle's own words. The vehicle is
//! a tiny scripted `MAVLink` peer over real UDP: it acks arming, refuses `MISSION_START` with a
//! `STATUSTEXT`, and acks disarming.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic is the failure report"
)]

mod common;

use aviary_links::mav::{FailureCause, LinkEvent, MissionRequest, codec};
use common::{discovered, link, wait_for};
use mavlink::MavHeader;
use mavlink::dialects::ardupilotmega::{self as mavd, MavMessage};
use std::net::UdpSocket;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

const REASON: &str = "Mode change to AUTO failed: requires position";

fn send(sock: &UdpSocket, to: std::net::SocketAddr, seq: &mut u8, msg: &MavMessage) {
    let mut b = Vec::new();
    codec::encode(
        MavHeader {
            system_id: 1,
            component_id: 1,
            sequence: *seq,
        },
        msg,
        None,
        &mut b,
    )
    .unwrap();
    *seq = seq.wrapping_add(1);
    sock.send_to(&b, to).unwrap();
}

/// Runs the scripted vehicle until `stop`; returns whether it ended armed.
fn scripted_vehicle(
    gcs: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<bool> {
    std::thread::Builder::new()
        .name("test-scripted-vehicle".into())
        .spawn(move || {
            let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
            sock.set_read_timeout(Some(Duration::from_millis(20)))
                .unwrap();
            let (mut seq, mut armed, mut next_hb) = (0u8, false, Instant::now());
            let mut buf = [0u8; 2048];
            while !stop.load(Ordering::Relaxed) {
                if Instant::now() >= next_hb {
                    let mut base = mavd::MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED;
                    if armed {
                        base |= mavd::MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED;
                    }
                    let hb = MavMessage::HEARTBEAT(mavd::HEARTBEAT_DATA {
                        custom_mode: 0,
                        mavtype: mavd::MavType::MAV_TYPE_QUADROTOR,
                        autopilot: mavd::MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
                        base_mode: base,
                        system_status: mavd::MavState::MAV_STATE_STANDBY,
                        mavlink_version: 3,
                    });
                    send(&sock, gcs, &mut seq, &hb);
                    next_hb = Instant::now() + Duration::from_millis(200);
                }
                let Ok(n) = sock.recv(&mut buf) else { continue };
                let mut c = codec::RxCounters::default();
                let mut frames = Vec::new();
                codec::decode_datagram(&buf[..n], None, &mut c, &mut frames);
                for f in frames {
                    let MavMessage::COMMAND_LONG(cmd) = f.msg else {
                        continue;
                    };
                    let result = match cmd.command {
                        mavd::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM => {
                            armed = cmd.param1 > 0.5;
                            mavd::MavResult::MAV_RESULT_ACCEPTED
                        }
                        mavd::MavCmd::MAV_CMD_MISSION_START => {
                            let text = MavMessage::STATUSTEXT(mavd::STATUSTEXT_DATA {
                                severity: mavd::MavSeverity::MAV_SEVERITY_WARNING,
                                text: REASON.into(),
                            });
                            send(&sock, gcs, &mut seq, &text);
                            mavd::MavResult::MAV_RESULT_FAILED
                        }
                        _ => mavd::MavResult::MAV_RESULT_UNSUPPORTED,
                    };
                    let ack = MavMessage::COMMAND_ACK(mavd::COMMAND_ACK_DATA {
                        command: cmd.command,
                        result,
                    });
                    send(&sock, gcs, &mut seq, &ack);
                }
            }
            armed
        })
        .unwrap()
}

#[test]
fn a_start_refused_after_arming_disarms_and_says_why_in_the_vehicles_words() {
    let (handle, mut events) = link(|c| c.request_streams_hz = None);
    let stop = Arc::new(AtomicBool::new(false));
    let peer = scripted_vehicle(handle.local_addr().unwrap(), Arc::clone(&stop));
    let id = discovered(&mut events);
    handle
        .mission_action(
            id,
            MissionRequest::Start {
                items: None,
                from_seq: None,
            },
        )
        .unwrap();
    let failure = wait_for(&mut events, Duration::from_secs(15), |e| match e {
        LinkEvent::ActionResult { result, .. } => Some(result.clone()),
        _ => None,
    })
    .expect_err("the vehicle refused MISSION_START");
    assert_eq!(failure.step, "MISSION_START");
    assert!(
        matches!(failure.cause, FailureCause::Command(_)),
        "{failure}"
    );
    assert!(failure.disarmed_again, "{failure}");
    assert_eq!(failure.vehicle_said, vec![REASON.to_owned()]);
    assert!(failure.to_string().contains(REASON));
    stop.store(true, Ordering::Relaxed);
    assert!(
        !peer.join().unwrap(),
        "the vehicle is left disarmed, as it was found"
    );
    handle.shutdown();
}
