//! Mission round trips through a seeded lossy UDP proxy (drop, duplicate, reorder). At 10 %
//! loss each way a 100-item mission must round-trip with identical content in at least 98 of
//! 100 runs; at 30 % transfers fail cleanly and success is never claimed wrongly.
//!
//! Every protocol timer on both sides is divided by the same factor, 10, so 100 runs take a
//! minute, not hours, and their ratios stay as in the field: the link's answer timeout
//! 1.5 s → 150 ms and per-item download timeout 250 ms → 25 ms (`QGroundControl`'s), the
//! vehicle's item re-request 1 s → 100 ms and its upload give-up 8 s → 800 ms (`ArduPilot`'s
//! `MissionItemProtocol`). Retries stay at the protocol's 5 per request. (At /25 a thread
//! stalled for 300 ms on this busy 2-core machine could outlast the vehicle's give-up: the
//! test then measured the scheduler, not the protocol.)
//!
//! The proxy's losses are deterministic per seed (see [`common::LossyProxy`]), so a count is
//! reproduced by running the test again, up to what load changes: a retransmission that a
//! stalled thread adds or removes shifts the later fates of that one packet content. The
//! failures left at 10 % are the protocol's own limit: a download gives up when a request and
//! its item fail 6 times in a row (0.19⁶ per item, about 0.5 % of 100-item downloads).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic is the failure report"
)]

mod common;

use aviary_links::mav::{LinkEvent, MissionOp, MissionTiming};
use aviary_sim::{SimConfig, Simulator, StreamRates};
use common::{LossyProxy, discovered, link, mission, wait_for};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Field timers divided by this in both the link and the simulator.
const TIME_SCALE: u32 = 10;

#[derive(Debug, Default)]
struct Tally {
    ok_identical: u32,
    ok_wrong: u32,
    failed: u32,
    /// Packets the proxies saw and dropped: `[to the link, to the vehicle]`.
    seen: [u64; 2],
    dropped: [u64; 2],
    /// Why each failed round trip failed.
    failures: Vec<String>,
}

impl Tally {
    fn add(&mut self, o: &Self) {
        self.ok_identical += o.ok_identical;
        self.ok_wrong += o.ok_wrong;
        self.failed += o.failed;
        self.failures.extend(o.failures.iter().cloned());
        for d in 0..2 {
            self.seen[d] += o.seen[d];
            self.dropped[d] += o.dropped[d];
        }
    }

    fn drop_rate(&self, dir: usize) -> f64 {
        self.dropped[dir] as f64 / self.seen[dir].max(1) as f64
    }

    /// The proxies really lost about `loss` each way (the counts above mean nothing
    /// otherwise).
    fn assert_loss_near(&self, loss: f64) {
        for dir in 0..2 {
            let rate = self.drop_rate(dir);
            assert!(
                (rate - loss).abs() < loss * 0.25,
                "proxy dropped {rate:.3} in direction {dir}, configured {loss}"
            );
        }
    }
}

/// `runs` round trips split over `lanes` independent link–proxy–simulator sets running side
/// by side (each its own sockets, threads and proxy seed `seed + lane`): the transfers spend
/// their time waiting for timers, not computing, so lanes divide the wall time without
/// shortening any timer.
fn run_lanes(loss: f64, runs: u32, lanes: u32, seed: u64) -> Tally {
    std::thread::scope(|scope| {
        let workers: Vec<_> = (0..lanes)
            .map(|lane| {
                let lane_runs = runs / lanes + u32::from(lane < runs % lanes);
                std::thread::Builder::new()
                    .name(format!("lossy-lane-{lane}"))
                    .spawn_scoped(scope, move || {
                        run_trials(loss, lane_runs, seed + u64::from(lane))
                    })
                    .unwrap()
            })
            .collect();
        let mut total = Tally::default();
        for w in workers {
            total.add(&w.join().unwrap());
        }
        total
    })
}

fn run_trials(loss: f64, runs: u32, seed: u64) -> Tally {
    let field = MissionTiming::default();
    let timing = MissionTiming {
        timeout: field.timeout / TIME_SCALE,
        item_timeout: field.item_timeout / TIME_SCALE,
        max_retries: field.max_retries,
    };
    let (handle, mut events) = link(|c| {
        c.mission_timing = timing;
        c.tick = Duration::from_millis(5);
        c.request_streams_hz = None;
    });
    let proxy = LossyProxy::start(handle.local_addr().unwrap(), loss, 0.02, 0.02, seed);
    let mut cfg = SimConfig::new(proxy.addr, 1);
    cfg.default_streams = Some(StreamRates {
        position_hz: 1.0,
        status_hz: 0.0,
    });
    cfg.mission_rerequest_s /= f64::from(TIME_SCALE);
    cfg.mission_upload_timeout_s /= f64::from(TIME_SCALE);
    // The vehicle checks its timers on ticks: 10 ms ticks keep the 100 ms re-request honest.
    cfg.tick_hz = 100.0;
    let sim = Simulator::spawn(cfg).unwrap();
    let id = discovered(&mut events);
    let mut t = Tally::default();
    for run in 0..runs {
        let mut items = mission(100);
        // Different content every run, so a stale mission cannot pass for the new one.
        for it in &mut items[2..] {
            it.z = 20.0 + run as f32;
        }
        handle.upload_mission(id, items.clone()).unwrap();
        let up = wait_for(&mut events, Duration::from_mins(1), |e| match e {
            LinkEvent::MissionDone {
                op: MissionOp::Upload,
                result,
                ..
            } => Some(result.clone()),
            _ => None,
        });
        if let Err(e) = up {
            t.failed += 1;
            t.failures.push(format!("upload: {e}"));
            assert!(
                !matches!(
                    handle.vehicle(id).map(|v| v.plan),
                    Some(aviary_links::mav::PlanState::Synced { .. })
                ),
                "failed upload must leave the plan unknown"
            );
            continue;
        }
        // Success was claimed: the vehicle must really hold exactly this mission.
        let stored = sim.snapshot(0).unwrap().mission;
        let same_on_vehicle = stored.len() == items.len()
            && stored.iter().zip(&items).skip(1).all(|(s, i)| {
                s.x == i.x
                    && s.y == i.y
                    && (s.z - i.z).abs() < 1e-6
                    && s.command == i.command as u16
            });
        handle.download_mission(id).unwrap();
        let down = wait_for(&mut events, Duration::from_mins(1), |e| match e {
            LinkEvent::MissionDone {
                op: MissionOp::Download,
                result,
                ..
            } => Some(result.clone()),
            _ => None,
        });
        match down {
            Ok(back)
                if back.len() == items.len()
                    && back
                        .iter()
                        .zip(&items)
                        .skip(1)
                        .all(|(a, b)| a.same_content(b))
                    && same_on_vehicle =>
            {
                t.ok_identical += 1;
            }
            Ok(_) => t.ok_wrong += 1,
            Err(e) => {
                t.failed += 1;
                t.failures.push(format!("download: {e}"));
            }
        }
        assert!(
            same_on_vehicle,
            "upload claimed success but the vehicle holds something else (run {run})"
        );
    }
    handle.shutdown();
    drop(sim);
    for d in 0..2 {
        t.seen[d] = proxy.stats().seen[d].load(Ordering::Relaxed);
        t.dropped[d] = proxy.stats().dropped[d].load(Ordering::Relaxed);
    }
    drop(proxy);
    t
}

#[test]
fn ten_percent_loss_round_trips_at_least_98_of_100() {
    let t = run_lanes(0.10, 100, 10, 0xA11CE);
    eprintln!(
        "10% loss: {} identical round trips, {} failed cleanly, {} wrong; dropped {:.3} / {:.3}",
        t.ok_identical,
        t.failed,
        t.ok_wrong,
        t.drop_rate(0),
        t.drop_rate(1)
    );
    eprintln!("failures: {:?}", t.failures);
    t.assert_loss_near(0.10);
    assert_eq!(t.ok_wrong, 0);
    assert!(t.ok_identical >= 98, "only {} of 100", t.ok_identical);
}

#[test]
fn thirty_percent_loss_fails_cleanly_and_never_claims_success_wrongly() {
    let t = run_lanes(0.30, 10, 5, 0xB0B);
    eprintln!(
        "30% loss: {} identical round trips, {} failed cleanly, {} wrong; dropped {:.3} / {:.3}",
        t.ok_identical,
        t.failed,
        t.ok_wrong,
        t.drop_rate(0),
        t.drop_rate(1)
    );
    eprintln!("failures: {:?}", t.failures);
    t.assert_loss_near(0.30);
    assert_eq!(t.ok_wrong, 0);
    assert!(
        t.failed >= 5,
        "30% loss should defeat most transfers: {} failed",
        t.failed
    );
}
