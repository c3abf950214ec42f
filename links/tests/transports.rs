//! Transports other than `udpin`: `tcpout` against a TCP peer, `udpout`, and the `.tlog` the
//! link writes (read back by our reader and, when installed, pymavlink). Serial has its own
//! file, `serial.rs`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic is the failure report"
)]

mod common;

use aviary_links::mav::{self, LinkAddress, LinkConfig, LinkEvent, TlogReader, codec};
use aviary_sim::{SimConfig, Simulator, StreamRates};
use common::{discovered, link, wait_for};
use mavlink::MavHeader;
use mavlink::dialects::ardupilotmega::{self as mavd, MavMessage};
use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

fn heartbeat_frame(seq: u8) -> Vec<u8> {
    let hb = MavMessage::HEARTBEAT(mavd::HEARTBEAT_DATA {
        custom_mode: 3,
        mavtype: mavd::MavType::MAV_TYPE_QUADROTOR,
        autopilot: mavd::MavAutopilot::MAV_AUTOPILOT_PX4,
        base_mode: mavd::MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED,
        system_status: mavd::MavState::MAV_STATE_STANDBY,
        mavlink_version: 3,
    });
    let mut b = Vec::new();
    codec::encode(
        MavHeader {
            system_id: 42,
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

#[test]
fn tcpout_discovers_a_vehicle_and_sends_our_heartbeat_back() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        let mut got = Vec::new();
        for seq in 0..30u8 {
            // Garbage between frames on a stream is skipped too.
            s.write_all(b"\x00junk").unwrap();
            s.write_all(&heartbeat_frame(seq)).unwrap();
            let mut buf = [0u8; 512];
            if let Ok(n) = s.read(&mut buf) {
                got.extend_from_slice(&buf[..n]);
            }
        }
        got
    });
    let (handle, mut events) =
        mav::spawn(LinkConfig::new(LinkAddress::TcpOut(addr)), Arc::new(|| {})).unwrap();
    let (id, autopilot) = wait_for(&mut events, Duration::from_secs(10), |e| {
        if let LinkEvent::VehicleDiscovered { id, autopilot } = e {
            Some((*id, *autopilot))
        } else {
            None
        }
    });
    assert_eq!(id.system_id, 42);
    assert_eq!(autopilot, mav::Autopilot::Px4);
    let state = wait_for(&mut events, Duration::from_secs(5), |e| {
        if let LinkEvent::State(s) = e {
            Some(s.clone())
        } else {
            None
        }
    });
    assert!(
        state.link_up && state.mode.starts_with("PX4"),
        "{}",
        state.mode
    );
    let from_link = server.join().unwrap();
    let mut c = codec::RxCounters::default();
    let mut out = Vec::new();
    codec::decode_datagram(&from_link, None, &mut c, &mut out);
    assert!(out.iter().any(|d| d.header.system_id == 255 && matches!(&d.msg, MavMessage::HEARTBEAT(h) if h.mavtype == mavd::MavType::MAV_TYPE_GCS)), "our GCS heartbeat reached the peer");
    handle.shutdown();
}

#[test]
fn udpout_reaches_a_vehicle_listening_on_a_fixed_port() {
    // The vehicle listens (like a companion computer's udpin); we send to it first.
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let (handle, mut events) = mav::spawn(
        LinkConfig::new(LinkAddress::UdpOut(sock.local_addr().unwrap())),
        Arc::new(|| {}),
    )
    .unwrap();
    let mut buf = [0u8; 512];
    let (n, from) = sock
        .recv_from(&mut buf)
        .expect("our 1 Hz heartbeat arrives");
    assert!(n > 10);
    sock.send_to(&heartbeat_frame(0), from).unwrap();
    let id = discovered(&mut events);
    assert_eq!(id.system_id, 42);
    handle.shutdown();
}

#[test]
fn link_writes_a_tlog_that_readers_replay() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("flight.tlog");
    let p2 = path.clone();
    let (handle, mut events) = link(move |c| {
        c.tlog = Some(p2);
        c.request_streams_hz = None;
    });
    let mut cfg = SimConfig::new(handle.local_addr().unwrap(), 1);
    cfg.default_streams = Some(StreamRates {
        position_hz: 10.0,
        status_hz: 2.0,
    });
    let sim = Simulator::spawn(cfg).unwrap();
    let id = discovered(&mut events);
    // Collect ~2.5 s of traffic, including at least two of our heartbeats.
    let until = std::time::Instant::now() + Duration::from_millis(2500);
    while std::time::Instant::now() < until {
        let _ = events.recv_timeout(Duration::from_millis(50));
    }
    handle.shutdown();
    drop(sim);
    let records: Vec<_> = TlogReader::open(&path).unwrap().collect();
    let ours = records
        .iter()
        .filter(|r| r.frame.header.system_id == 255)
        .count();
    let theirs = records
        .iter()
        .filter(|r| r.frame.header.system_id == u32::from(id.system_id))
        .count();
    assert!(ours >= 2, "{ours} GCS frames");
    assert!(theirs >= 20, "{theirs} vehicle frames");
    assert!(
        records
            .windows(2)
            .all(|w| w[0].timestamp_us <= w[1].timestamp_us + 1_000_000)
    );
    // pymavlink's reader, when installed, sees the same number of messages.
    let py = std::process::Command::new("timeout")
        .args(["30", "python3", "-c", "import sys\nfrom pymavlink import mavutil\nm=mavutil.mavlink_connection(sys.argv[1])\nn=0\nwhile m.recv_match() is not None: n+=1\nprint(n)", &path.display().to_string()])
        .output();
    match py {
        Ok(o) if o.status.success() => {
            let n: usize = String::from_utf8_lossy(&o.stdout).trim().parse().unwrap();
            assert_eq!(
                n,
                records.len(),
                "pymavlink read {n}, we read {}",
                records.len()
            );
        }
        _ => {
            assert!(
                std::env::var("AVIARY_REQUIRE_SERVICES").as_deref() != Ok("1"),
                "pymavlink required but not runnable"
            );
            eprintln!("SKIPPED pymavlink cross-check: pymavlink not installed");
        }
    }
}
