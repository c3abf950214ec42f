//! Terrain for the autopilot, end to end over UDP on loopback: a simulated drone with terrain
//! enabled asks for terrain (`TERRAIN_REQUEST`) the way `ArduPilot` does. A link without a DEM
//! leaves it waiting, and the drone refuses to arm; a link with a DEM (a synthetic SRTM tile)
//! answers with `TERRAIN_DATA`, the drone's `TERRAIN_REPORT`s show the DEM's height at its
//! position and nothing pending, and it arms. A DEM set on a running link
//! (`LinkHandle::set_terrain`) is answered from then on, and clearing it stops the answers.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test: a panic is the failure report"
)]

mod common;

use aviary_core::terrain_grid::{self, PointE7};
use aviary_links::mav::{
    self, CommandOutcome, LinkAddress, LinkConfig, LinkEvent, LinkEvents, TerrainReport,
    TerrainSource, VehicleId,
};
use aviary_planner::terrain::{Elevation, SrtmSet};
use aviary_sim::{SimConfig, Simulator, TerrainOptions, VehicleConfig};
use common::{HOME, discovered, link, srtm_n47e008, wait_for};
use mavlink::dialects::ardupilotmega::MavCmd;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A 3″ tile N47E008 holding a cone: 1500 m at its top 3 km north-east of home, falling
/// 0.1 m per metre (about 1200 m at home), so the heights change everywhere around home.
fn cone_dem() -> SrtmSet {
    let top = HOME.offset_ne(2000.0, 2200.0);
    srtm_n47e008(|p| 1500.0 - 0.1 * p.distance_m(top))
}

/// The next `TERRAIN_REPORT` (in a state update) that satisfies `f`.
fn report(
    events: &mut LinkEvents,
    limit: Duration,
    f: impl Fn(&TerrainReport) -> bool,
) -> TerrainReport {
    wait_for(events, limit, |e| match e {
        LinkEvent::State(s) => s.terrain.filter(|r| f(r)),
        _ => None,
    })
}

fn arm_outcome(events: &mut LinkEvents) -> Result<(), String> {
    wait_for(events, Duration::from_secs(10), |e| match e {
        LinkEvent::Command {
            command: MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
            outcome: CommandOutcome::Confirmed,
            ..
        } => Some(Ok(())),
        LinkEvent::Command {
            command: MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
            outcome: CommandOutcome::Failed(f),
            ..
        } => Some(Err(f.to_string())),
        _ => None,
    })
}

fn guided(handle: &mav::LinkHandle, events: &mut LinkEvents, id: VehicleId) {
    handle.set_mode(id, 4).unwrap();
    wait_for(events, Duration::from_secs(10), |e| match e {
        LinkEvent::Command {
            command: MavCmd::MAV_CMD_DO_SET_MODE,
            outcome,
            ..
        } if *outcome != CommandOutcome::Pending => Some(()),
        _ => None,
    });
}

#[test]
fn sim_loads_terrain_from_the_links_dem_and_arms_only_once_loaded() {
    // A link without a DEM: requests go unanswered.
    let (bare, mut bare_events) = link(|c| c.terrain_check_every = Duration::from_millis(200));
    let gcs = bare.local_addr().unwrap();
    let sim = Simulator::spawn(SimConfig::new(gcs, 0)).unwrap();
    let mut vc = VehicleConfig::new(1, HOME);
    vc.gps_noise_m = 0.0;
    vc.terrain = Some(TerrainOptions {
        spacing_m: 100,
        request_every_s: 0.1,
    });
    sim.add_drone_with(vc).unwrap();
    let id = discovered(&mut bare_events);
    let waiting = report(&mut bare_events, Duration::from_secs(10), |r| r.pending > 0);
    assert_eq!(waiting.spacing_m, 0, "no terrain height without data");
    guided(&bare, &mut bare_events, id);
    bare.arm(id).unwrap();
    let mut said = Vec::new();
    let refused = wait_for(&mut bare_events, Duration::from_secs(10), |e| match e {
        LinkEvent::StatusText { text, .. } => {
            said.push(text.clone());
            None
        }
        LinkEvent::Command {
            command: MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
            outcome: CommandOutcome::Failed(f),
            ..
        } => Some(f.to_string()),
        LinkEvent::Command {
            command: MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
            outcome: CommandOutcome::Confirmed,
            ..
        } => panic!("armed while terrain is pending"),
        _ => None,
    });
    assert!(
        said.iter().any(|t| t == "PreArm: Waiting for Terrain data"),
        "refused ({refused}) saying {said:?}"
    );
    assert!(bare.stats().terrain_requests_rx.load(Ordering::Relaxed) > 0);
    assert_eq!(bare.stats().terrain_data_tx.load(Ordering::Relaxed), 0);
    bare.shutdown();

    // The same address with a DEM: every request is answered.
    let dem = Arc::new(cone_dem());
    let mut cfg = LinkConfig::new(LinkAddress::UdpIn(gcs));
    cfg.terrain = Some(TerrainSource(dem.clone()));
    cfg.terrain_check_every = Duration::from_millis(200);
    let (handle, mut events) = mav::spawn(cfg, Arc::new(|| {})).expect("link on the same port");
    let id = discovered(&mut events);
    let blocks = terrain_grid::blocks_around(PointE7::from_latlon(HOME), 100).len();
    let loaded = report(&mut events, Duration::from_secs(30), |r| {
        r.pending == 0 && usize::from(r.loaded) == 56 * blocks && r.has_data()
    });
    assert_eq!(loaded.spacing_m, 100);
    let dem_m = dem.elevation_m(loaded.at).unwrap();
    assert!(
        (loaded.terrain_height_m - dem_m).abs() < 1.0,
        "vehicle says {} m at {}, the DEM {dem_m} m",
        loaded.terrain_height_m,
        loaded.at
    );
    assert!(loaded.at.distance_m(HOME) < 1.0, "the report is about home");
    let stats = handle.stats();
    assert!(stats.terrain_requests_rx.load(Ordering::Relaxed) >= blocks as u64);
    assert!(stats.terrain_data_tx.load(Ordering::Relaxed) >= 56 * blocks as u64);
    assert_eq!(stats.terrain_subgrids_missing.load(Ordering::Relaxed), 0);

    // An explicit check elsewhere in the loaded area answers with the DEM's height there.
    let there = HOME.offset_ne(300.0, -250.0);
    handle.terrain_check(id, there).unwrap();
    let checked = report(&mut events, Duration::from_secs(10), |r| {
        r.at.distance_m(there) < 1.0
    });
    let dem_there = dem.elevation_m(there).unwrap();
    assert!(
        (checked.terrain_height_m - dem_there).abs() < 1.0,
        "{} vs {dem_there}",
        checked.terrain_height_m
    );

    guided(&handle, &mut events, id);
    handle.arm(id).unwrap();
    assert_eq!(arm_outcome(&mut events), Ok(()));
    assert!(sim.snapshot(0).unwrap().armed);
    handle.shutdown();
}

#[test]
fn a_dem_set_on_the_running_link_answers_from_then_on() {
    let (handle, mut events) = link(|c| c.terrain_check_every = Duration::from_millis(200));
    let gcs = handle.local_addr().unwrap();
    let sim = Simulator::spawn(SimConfig::new(gcs, 0)).unwrap();
    let mut vc = VehicleConfig::new(1, HOME);
    vc.gps_noise_m = 0.0;
    vc.terrain = Some(TerrainOptions {
        spacing_m: 100,
        request_every_s: 0.1,
    });
    sim.add_drone_with(vc).unwrap();
    let id = discovered(&mut events);
    report(&mut events, Duration::from_secs(10), |r| r.pending > 0);
    assert_eq!(handle.stats().terrain_data_tx.load(Ordering::Relaxed), 0);

    // The operator chooses a DEM: the same link, its vehicle still bound, answers from it.
    let dem = Arc::new(cone_dem());
    handle
        .set_terrain(Some(TerrainSource(dem.clone())))
        .unwrap();
    let blocks = terrain_grid::blocks_around(PointE7::from_latlon(HOME), 100).len();
    let loaded = report(&mut events, Duration::from_secs(30), |r| {
        r.pending == 0 && usize::from(r.loaded) == 56 * blocks && r.has_data()
    });
    let dem_m = dem.elevation_m(loaded.at).unwrap();
    assert!(
        (loaded.terrain_height_m - dem_m).abs() < 1.0,
        "vehicle says {} m, the DEM {dem_m} m",
        loaded.terrain_height_m
    );
    let sent = handle.stats().terrain_data_tx.load(Ordering::Relaxed);
    assert!(sent >= 56 * blocks as u64, "{sent} TERRAIN_DATA sent");

    // Cleared: new requests (a TERRAIN_CHECK far away makes the vehicle want another block)
    // go unanswered again.
    handle.set_terrain(None).unwrap();
    handle
        .terrain_check(id, HOME.offset_ne(20_000.0, 0.0))
        .unwrap();
    report(&mut events, Duration::from_secs(10), |r| r.pending > 0);
    let requests = handle.stats().terrain_requests_rx.load(Ordering::Relaxed);
    wait_for(&mut events, Duration::from_secs(10), |_| {
        (handle.stats().terrain_requests_rx.load(Ordering::Relaxed) > requests + 2).then_some(())
    });
    assert_eq!(
        handle.stats().terrain_data_tx.load(Ordering::Relaxed),
        sent,
        "nothing answered once cleared"
    );
    handle.shutdown();
}
