//! Mission round trips through a seeded lossy UDP proxy (drop, duplicate, reorder). At 10 %
//! loss each way a 100-item mission must round-trip with identical content in at least 98 of
//! 100 runs; at 30 % transfers fail cleanly and success is never claimed wrongly.
//!
//! The link's mission timeouts are shrunk (60 ms / 20 ms instead of 1.5 s / 250 ms): the
//! link's equivalent of the simulator's speed-up, so 100 runs take seconds, not hours.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic is the failure report"
)]

mod common;

use aviary_links::mav::{LinkEvent, MissionOp, MissionTiming};
use aviary_sim::{SimConfig, Simulator, StreamRates};
use common::{LossyProxy, discovered, link, mission, wait_for};
use std::time::Duration;

struct Tally {
    ok_identical: u32,
    ok_wrong: u32,
    failed: u32,
}

fn run_trials(loss: f64, runs: u32, seed: u64) -> Tally {
    let timing = MissionTiming {
        timeout: Duration::from_millis(60),
        item_timeout: Duration::from_millis(20),
        max_retries: 5,
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
    let sim = Simulator::spawn(cfg).unwrap();
    let id = discovered(&mut events);
    let mut t = Tally {
        ok_identical: 0,
        ok_wrong: 0,
        failed: 0,
    };
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
        if up.is_err() {
            t.failed += 1;
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
            Err(_) => t.failed += 1,
        }
        assert!(
            same_on_vehicle,
            "upload claimed success but the vehicle holds something else (run {run})"
        );
    }
    handle.shutdown();
    drop(sim);
    drop(proxy);
    t
}

#[test]
fn ten_percent_loss_round_trips_at_least_98_of_100() {
    let t = run_trials(0.10, 100, 0xA11CE);
    eprintln!(
        "10% loss: {} identical round trips, {} failed cleanly, {} wrong",
        t.ok_identical, t.failed, t.ok_wrong
    );
    assert_eq!(t.ok_wrong, 0);
    assert!(t.ok_identical >= 98, "only {} of 100", t.ok_identical);
}

#[test]
fn thirty_percent_loss_fails_cleanly_and_never_claims_success_wrongly() {
    let t = run_trials(0.30, 10, 0xB0B);
    eprintln!(
        "30% loss: {} identical round trips, {} failed cleanly, {} wrong",
        t.ok_identical, t.failed, t.ok_wrong
    );
    assert_eq!(t.ok_wrong, 0);
    assert!(
        t.failed >= 5,
        "30% loss should defeat most transfers: {} failed",
        t.failed
    );
}
