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
use std::collections::HashMap;
use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
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
/// packets. The drone sends to [`LossyProxy::addr`]; the proxy forwards to `gcs` and sends
/// the ground station's answers back to the drone.
///
/// The fate of a packet is deterministic: it is drawn from a generator seeded with `seed`,
/// the direction, the frame's content (sender, message id and payload; not the sequence
/// byte or CRC, which depend on what else was sent) and how many times that same content
/// went that way before. The third `MISSION_REQUEST_INT` for item 7 meets the same fate in
/// every run of the test, however heartbeats and telemetry interleave, so a failure can be
/// reproduced. (Only a retransmission that load adds or removes shifts the later fates of
/// that one content.)
pub struct LossyProxy {
    pub addr: SocketAddr,
    stats: Arc<ProxyStats>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// What the proxy did, per direction (`[to ground station, to drone]`).
#[derive(Debug, Default)]
pub struct ProxyStats {
    pub seen: [AtomicU64; 2],
    pub dropped: [AtomicU64; 2],
    pub duplicated: [AtomicU64; 2],
    pub reordered: [AtomicU64; 2],
}

/// FNV-1a, 64 bits: a hash that is the same on every platform and toolchain.
fn fnv1a(seed: u64, parts: &[&[u8]]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325_u64 ^ seed;
    for part in parts {
        for b in *part {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
        // Separator so ("ab", "c") and ("a", "bc") differ.
        h = (h ^ 0xff).wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The content that identifies a packet: sender and message of every frame in it, without
/// the sequence byte and CRC; the raw bytes if it holds no valid frame.
fn content_key(datagram: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(datagram.len());
    let mut reader = mavlink::MavlinkReader::new(datagram);
    while let Ok(raw) = reader.read_any_raw_message::<mavd::MavMessage>() {
        key.extend_from_slice(&raw.system_id().to_le_bytes());
        key.push(raw.component_id());
        key.extend_from_slice(&raw.message_id().to_le_bytes());
        key.extend_from_slice(raw.payload());
    }
    if key.is_empty() {
        key.extend_from_slice(datagram);
    }
    key
}

struct Fate {
    drop: bool,
    duplicate: bool,
    hold: bool,
}

impl LossyProxy {
    pub fn start(gcs: SocketAddr, loss: f64, dup: f64, reorder: f64, seed: u64) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(5)))
            .unwrap();
        let addr = sock.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(ProxyStats::default());
        let (stop2, stats2) = (Arc::clone(&stop), Arc::clone(&stats));
        let thread = std::thread::Builder::new()
            .name("lossy-proxy".into())
            .spawn(move || {
                let mut occurrences: HashMap<(usize, Vec<u8>), u64> = HashMap::new();
                let mut fate = |dir: usize, datagram: &[u8]| {
                    let key = content_key(datagram);
                    let hash = fnv1a(seed, &[&[dir as u8], &key]);
                    let n = occurrences.entry((dir, key)).or_insert(0);
                    *n += 1;
                    let mut rng = SmallRng::seed_from_u64(fnv1a(hash, &[&n.to_le_bytes()]));
                    Fate {
                        drop: rng.random_bool(loss),
                        duplicate: rng.random_bool(dup),
                        hold: rng.random_bool(reorder),
                    }
                };
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
                    let (to, dir) = if from == gcs {
                        match drone {
                            Some(d) => (d, 1),
                            None => continue,
                        }
                    } else {
                        drone = Some(from);
                        (gcs, 0)
                    };
                    stats2.seen[dir].fetch_add(1, Ordering::Relaxed);
                    let f = fate(dir, &buf[..n]);
                    if f.drop {
                        stats2.dropped[dir].fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    if held.is_none() && f.hold {
                        stats2.reordered[dir].fetch_add(1, Ordering::Relaxed);
                        held = Some((buf[..n].to_vec(), to));
                        continue;
                    }
                    let copies = if f.duplicate {
                        stats2.duplicated[dir].fetch_add(1, Ordering::Relaxed);
                        2
                    } else {
                        1
                    };
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
            stats,
            stop,
            thread: Some(thread),
        }
    }

    /// What the proxy did so far.
    pub fn stats(&self) -> &ProxyStats {
        &self.stats
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

/// Starts `items` on vehicle `id` (`MissionRequest::Start`: upload, arm, AUTO) and waits
/// for the link's one result; panics with the failure.
pub fn start_mission(
    handle: &LinkHandle,
    events: &mut LinkEvents,
    id: VehicleId,
    items: Vec<aviary_core::mission_items::PlanItem>,
) {
    handle
        .mission_action(
            id,
            mav::MissionRequest::Start {
                items: Some(items),
                from_seq: None,
            },
        )
        .unwrap();
    wait_for(events, Duration::from_secs(30), |e| match e {
        LinkEvent::ActionResult { result, .. } => Some(result.clone()),
        _ => None,
    })
    .unwrap_or_else(|f| panic!("start failed: {f}"));
}

/// Downloads vehicle `id`'s mission, as the mission list.
pub fn read_back(
    handle: &LinkHandle,
    events: &mut LinkEvents,
    id: VehicleId,
) -> Vec<aviary_core::mission_items::PlanItem> {
    handle.download_mission(id).unwrap();
    let back = wait_for(events, Duration::from_secs(15), |e| match e {
        LinkEvent::MissionDone {
            op: mav::MissionOp::Download,
            result,
            ..
        } => Some(result.clone().expect("download")),
        _ => None,
    });
    mav::plan_items(&back)
}

/// A 3″ SRTM tile N47E008 (around [`HOME`]) whose every post holds `ground_m` there, as a
/// one-tile elevation source.
pub fn srtm_n47e008(ground_m: impl Fn(LatLon) -> f64) -> aviary_planner::terrain::SrtmSet {
    let mut bytes = Vec::with_capacity(1201 * 1201 * 2);
    for row in 0..1201 {
        for col in 0..1201 {
            let p = LatLon::new(
                48.0 - f64::from(row) / 1200.0,
                8.0 + f64::from(col) / 1200.0,
            );
            bytes.extend_from_slice(&(ground_m(p).round() as i16).to_be_bytes());
        }
    }
    let mut set = aviary_planner::terrain::SrtmSet::new();
    set.insert(aviary_planner::terrain::SrtmTile::from_bytes("N47E008.hgt", &bytes).expect("tile"));
    set
}
