//! The `serial:` transport for real: a pseudo-terminal pair stands in for the USB cable. The
//! link opens the pty's device path like any `/dev/ttyUSB0`; on the other end a simulated
//! drone is bridged frame by frame from the pty's master side to its UDP socket, so the link
//! meets the same autopilot as over UDP, through a real tty (termios, `TIOCEXCL`, a kernel
//! line buffer). A pty does not throttle to the baud rate: this proves the transport, not the
//! bandwidth of a 57,600-baud radio.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic is the failure report"
)]

mod common;

use aviary_links::mav::{
    self, CommandOutcome, LinkConfig, LinkError, LinkEvent, MissionOp, PlanState, SERIAL_PEER,
};
use aviary_sim::{CopterMode, SimConfig, Simulator};
use common::{discovered, mission, wait_for};
use mavlink::AsyncMavlinkReader;
use mavlink::dialects::ardupilotmega::{MavCmd, MavMessage};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio_serial::{SerialPort, SerialStream};

/// Copies frames between the pty master and a drone's UDP socket: every frame the drone sends
/// to `udp` goes down the tty, every frame read from the tty (found by the `mavlink` crate)
/// goes to the drone as one datagram, as the simulator expects.
async fn bridge(master: SerialStream, udp: tokio::net::UdpSocket, drone: SocketAddr) {
    let (read, mut write) = tokio::io::split(master);
    let udp = Arc::new(udp);
    let to_drone = Arc::clone(&udp);
    let down = tokio::spawn(async move {
        let mut reader = AsyncMavlinkReader::new(read);
        while let Ok(raw) = reader.read_any_raw_message::<MavMessage>().await {
            let bytes = match &raw {
                mavlink::MAVLinkMessageRaw::V1(r) => r.raw_bytes(),
                mavlink::MAVLinkMessageRaw::V2(r) => r.raw_bytes(),
            };
            if to_drone.send_to(bytes, drone).await.is_err() {
                break;
            }
        }
    });
    let mut buf = vec![0u8; 65_536];
    while let Ok((n, _)) = udp.recv_from(&mut buf).await {
        if write.write_all(&buf[..n]).await.is_err() {
            break;
        }
    }
    down.abort();
}

#[test]
fn serial_link_flies_a_simulated_drone_through_a_pty() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("serial-bridge")
        .enable_all()
        .build()
        .unwrap();
    // The slave end stays open for the whole test: with no slave open, the master reads EIO.
    let (master, slave) = rt.block_on(async { SerialStream::pair() }).unwrap();
    let slave_path = slave.name().expect("a pty slave has a device path");
    let udp = rt
        .block_on(tokio::net::UdpSocket::bind("127.0.0.1:0"))
        .unwrap();
    let mut cfg = SimConfig::new(udp.local_addr().unwrap(), 1);
    cfg.speedup = 10.0;
    let sim = Simulator::spawn(cfg).unwrap();
    rt.spawn(bridge(master, udp, sim.drones()[0].local_addr));

    let address = format!("serial:{slave_path}:57600");
    let (handle, mut events) =
        mav::spawn(LinkConfig::new(address.parse().unwrap()), Arc::new(|| {})).unwrap();
    assert_eq!(handle.local_addr(), None);

    let id = discovered(&mut events);
    assert_eq!(id.peer, SERIAL_PEER);
    assert_eq!(id.system_id, sim.drones()[0].system_id);
    // Our stream request went out over the tty: telemetry comes back.
    let state = wait_for(&mut events, Duration::from_secs(10), |e| match e {
        LinkEvent::State(s) if s.pos.is_some() && s.gps_fix >= 3 => Some(s.clone()),
        _ => None,
    });
    assert!(state.link_up && !state.armed);

    let items = mission(30);
    handle.upload_mission(id, items.clone()).unwrap();
    wait_for(&mut events, Duration::from_secs(10), |e| match e {
        LinkEvent::MissionDone {
            op: MissionOp::Upload,
            result,
            ..
        } => Some(result.clone().expect("upload accepted over serial")),
        _ => None,
    });
    assert_eq!(
        handle.vehicle(id).unwrap().plan,
        PlanState::Synced { items: 30 }
    );
    assert_eq!(sim.snapshot(0).unwrap().mission.len(), 30);
    handle.download_mission(id).unwrap();
    let back = wait_for(&mut events, Duration::from_secs(10), |e| match e {
        LinkEvent::MissionDone {
            op: MissionOp::Download,
            result,
            ..
        } => Some(result.clone().expect("download over serial")),
        _ => None,
    });
    assert_eq!(back.len(), items.len());
    for (a, b) in items.iter().zip(&back).skip(1) {
        assert!(a.same_content(b), "{a:?} vs {b:?}");
    }

    // A mode change counts only when the heartbeat, read from the tty, shows it.
    handle
        .set_mode(id, aviary_links::mav::command::copter_mode::GUIDED)
        .unwrap();
    let outcome = wait_for(&mut events, Duration::from_secs(10), |e| match e {
        LinkEvent::Command {
            command: MavCmd::MAV_CMD_DO_SET_MODE,
            outcome,
            ..
        } if *outcome != CommandOutcome::Pending => Some(outcome.clone()),
        _ => None,
    });
    assert_eq!(outcome, CommandOutcome::Confirmed);
    assert_eq!(handle.vehicle(id).unwrap().mode, "GUIDED");
    assert_eq!(sim.snapshot(0).unwrap().mode, CopterMode::Guided);
    assert!(
        handle
            .stats()
            .frames_tx
            .load(std::sync::atomic::Ordering::Relaxed)
            > 30
    );

    handle.shutdown();
    drop(sim);
    drop(slave);
    rt.shutdown_timeout(Duration::from_secs(1));
}

#[test]
fn serial_open_failure_names_the_port() {
    let err = mav::spawn(
        LinkConfig::new("serial:/dev/aviary-no-such-tty:57600".parse().unwrap()),
        Arc::new(|| {}),
    )
    .unwrap_err();
    assert!(matches!(err, LinkError::Open { .. }), "{err:?}");
    assert!(err.to_string().contains("/dev/aviary-no-such-tty"), "{err}");
}
