//! Helpers shared by the loopback tests: a link on an ephemeral port, a simulator sending to
//! it, waiting for events with an upper bound, and a seeded lossy UDP proxy.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic is the failure report"
)]
#![allow(dead_code, reason = "each test file uses a different subset")]

use aviary_core::LatLon;
use aviary_links::mav::{
    self, LinkAddress, LinkConfig, LinkEvent, LinkEvents, LinkHandle, MissionItem, VehicleId,
};
use mavlink::dialects::ardupilotmega as mavd;
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

pub const HOME: LatLon = LatLon::new(47.397_742, 8.545_594);

pub fn link(cfg: impl FnOnce(&mut LinkConfig)) -> (LinkHandle, LinkEvents) {
    let mut c = LinkConfig::new(LinkAddress::UdpIn("127.0.0.1:0".parse().unwrap()));
    cfg(&mut c);
    mav::spawn(c, Arc::new(|| {})).expect("link starts")
}

/// Waits for the first event matching `f`, for at most `limit` (an upper bound, not a sleep).
pub fn wait_for<T>(
    events: &mut LinkEvents,
    limit: Duration,
    mut f: impl FnMut(&LinkEvent) -> Option<T>,
) -> T {
    let deadline = Instant::now() + limit;
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        if let Some(e) = events.recv_timeout(Duration::from_millis(20)) {
            if let Some(t) = f(&e) {
                return t;
            }
            if !matches!(e, LinkEvent::State(_)) {
                seen.push(format!("{e:?}"));
            }
        }
    }
    panic!(
        "timed out after {limit:?}; recent events: {:#?}",
        &seen[seen.len().saturating_sub(15)..]
    );
}

pub fn discovered(events: &mut LinkEvents) -> VehicleId {
    wait_for(events, Duration::from_secs(10), |e| {
        if let LinkEvent::VehicleDiscovered { id, .. } = e {
            Some(*id)
        } else {
            None
        }
    })
}

/// A survey-like mission: home, takeoff, `n - 2` waypoints on a lawnmower, all relative alt.
pub fn mission(n: usize) -> Vec<MissionItem> {
    let mut items = vec![MissionItem {
        frame: mavd::MavFrame::MAV_FRAME_GLOBAL,
        ..MissionItem::global(mavd::MavCmd::MAV_CMD_NAV_WAYPOINT, HOME, 0.0)
    }];
    items.push(MissionItem {
        current: true,
        ..MissionItem::global(mavd::MavCmd::MAV_CMD_NAV_TAKEOFF, HOME, 20.0)
    });
    for i in 0..n.saturating_sub(2) {
        let row = (i / 10) as f64;
        let col = if (i / 10) % 2 == 0 {
            (i % 10) as f64
        } else {
            9.0 - (i % 10) as f64
        };
        items.push(MissionItem::global(
            mavd::MavCmd::MAV_CMD_NAV_WAYPOINT,
            HOME.offset_ne(20.0 + row * 15.0, col * 15.0),
            20.0 + (i % 3) as f64,
        ));
    }
    items
}

/// A UDP proxy between one drone and a ground station that drops, duplicates and reorders
/// packets with a seeded generator. The drone sends to [`LossyProxy::addr`]; the proxy
/// forwards to `gcs` and sends the ground station's answers back to the drone.
pub struct LossyProxy {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl LossyProxy {
    pub fn start(gcs: SocketAddr, loss: f64, dup: f64, reorder: f64, seed: u64) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(5)))
            .unwrap();
        let addr = sock.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("lossy-proxy".into())
            .spawn(move || {
                let mut rng = SmallRng::seed_from_u64(seed);
                let mut drone: Option<SocketAddr> = None;
                let mut held: Option<(Vec<u8>, SocketAddr)> = None;
                let mut buf = vec![0u8; 65_536];
                while !stop2.load(Ordering::Relaxed) {
                    let Ok((n, from)) = sock.recv_from(&mut buf) else {
                        // Idle: release a held packet so reordering never turns into loss.
                        if let Some((b, to)) = held.take() {
                            let _ = sock.send_to(&b, to);
                        }
                        continue;
                    };
                    let to = if from == gcs {
                        match drone {
                            Some(d) => d,
                            None => continue,
                        }
                    } else {
                        drone = Some(from);
                        gcs
                    };
                    if rng.random_bool(loss) {
                        continue;
                    }
                    let copies = if rng.random_bool(dup) { 2 } else { 1 };
                    if held.is_none() && rng.random_bool(reorder) {
                        held = Some((buf[..n].to_vec(), to));
                        continue;
                    }
                    for _ in 0..copies {
                        let _ = sock.send_to(&buf[..n], to);
                    }
                    if let Some((b, t)) = held.take() {
                        let _ = sock.send_to(&b, t);
                    }
                }
            })
            .unwrap();
        Self {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for LossyProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
