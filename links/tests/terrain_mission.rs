//! A terrain-following mission flown end to end over UDP on the simulator (issue 20): a
//! short survey up the side of a cone is planned to keep 40 m above the ground
//! (`follow_terrain` over a synthetic SRTM tile), uploaded as terrain-frame items
//! (`MAV_FRAME_GLOBAL_TERRAIN_ALT`, the vehicle's own terrain from our `TERRAIN_DATA`) or as
//! absolute (AMSL) items, read back item for item, and flown: at every waypoint the vehicle
//! reports the planned height above the DEM's ground, and it never comes near the ground.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test: a panic is the failure report"
)]

mod common;

use aviary_core::mission_items::{AltitudeRef, first_difference, frame, mission_items_at};
use aviary_core::{LatLon, Waypoint, WaypointAction};
use aviary_links::mav::{self, LinkAddress, LinkConfig, LinkEvent, TerrainSource};
use aviary_planner::terrain::{Elevation, SrtmSet, TerrainParams, follow_terrain};
use aviary_sim::{SimConfig, Simulator, TerrainOptions, VehicleConfig};
use common::{HOME, discovered, read_back, srtm_n47e008, start_mission, wait_for};
use std::sync::Arc;
use std::time::{Duration, Instant};

const AGL_M: f64 = 40.0;

/// A 3″ tile N47E008 holding a cone whose top, 1.5 km north-east of home, stands 150 m over
/// home's ground (0.1 m per metre): the survey climbs its flank.
fn cone_dem() -> SrtmSet {
    let top = HOME.offset_ne(1100.0, 1100.0);
    srtm_n47e008(|p| (600.0 - 0.1 * p.distance_m(top)).max(400.0))
}

fn wp(pos: LatLon, action: WaypointAction) -> Waypoint {
    Waypoint {
        pos,
        alt_rel_m: AGL_M,
        action,
    }
}

/// Takeoff, two transects up the flank with the camera on, return.
fn survey() -> Vec<Waypoint> {
    let a = HOME.offset_ne(150.0, 150.0);
    let b = HOME.offset_ne(650.0, 650.0);
    let c = HOME.offset_ne(700.0, 600.0);
    let d = HOME.offset_ne(200.0, 100.0);
    vec![
        wp(HOME, WaypointAction::Takeoff),
        wp(a, WaypointAction::FlyThrough),
        wp(a, WaypointAction::CameraTriggerStart { distance_m: 20.0 }),
        wp(b, WaypointAction::FlyThrough),
        wp(c, WaypointAction::FlyThrough),
        wp(d, WaypointAction::FlyThrough),
        wp(d, WaypointAction::CameraTriggerStop),
        wp(HOME, WaypointAction::ReturnToLaunch),
    ]
}

/// Plans the survey over the cone, uploads it with `alt` (terrain frame or AMSL, from the
/// plan), reads it back, flies it and checks the height over the ground at every waypoint.
fn fly(terrain_frame: bool) {
    let dem = Arc::new(cone_dem());
    let params = TerrainParams::new(AGL_M, 8.0, &aviary_planner::Airframe::default());
    let plan = follow_terrain(&survey(), HOME, dem.as_ref(), &params).expect("follows");
    let home_amsl_m = plan.home_amsl_m;
    let alt = if terrain_frame {
        AltitudeRef::Terrain {
            home_amsl_m,
            ground_amsl_m: &plan.ground_amsl_m,
        }
    } else {
        AltitudeRef::Amsl { home_amsl_m }
    };
    let items = mission_items_at(HOME, &plan.items, 8.0, alt);
    let want_frame = if terrain_frame {
        frame::GLOBAL_TERRAIN_ALT
    } else {
        frame::GLOBAL
    };
    assert!(items.iter().skip(1).any(|i| i.frame == want_frame));

    // The simulated drone does terrain and stands at the DEM's height at home.
    let mut cfg = LinkConfig::new(LinkAddress::UdpIn("127.0.0.1:0".parse().unwrap()));
    cfg.terrain = Some(TerrainSource(dem.clone()));
    cfg.request_streams_hz = Some(5);
    let (handle, mut events) = mav::spawn(cfg, Arc::new(|| {})).expect("link");
    let mut sim_cfg = SimConfig::new(handle.local_addr().unwrap(), 0);
    sim_cfg.speedup = 10.0;
    let sim = Simulator::spawn(sim_cfg).unwrap();
    let mut vc = VehicleConfig::new(1, HOME);
    vc.gps_noise_m = 0.0;
    vc.home_alt_amsl_m = home_amsl_m;
    vc.terrain = Some(TerrainOptions {
        spacing_m: 30,
        request_every_s: 0.05,
    });
    sim.add_drone_with(vc).unwrap();
    let id = discovered(&mut events);
    wait_for(&mut events, Duration::from_secs(30), |e| match e {
        LinkEvent::State(s) if s.gps_fix >= 3 && s.terrain.is_some_and(|t| t.pending == 0) => {
            Some(())
        }
        _ => None,
    });

    start_mission(&handle, &mut events, id, items.clone());

    // Read back: the same items, frames and altitudes (home aside: the vehicle's own).
    let back = read_back(&handle, &mut events, id);
    assert_eq!(first_difference(&items, &back, true), None);

    // Fly: at each waypoint reached, the planned height over the DEM; between, clear of it.
    let nav_seqs: Vec<u16> = items
        .iter()
        .filter(|i| i.command == aviary_core::mission_items::cmd::NAV_WAYPOINT && i.seq > 0)
        .map(|i| i.seq)
        .collect();
    let mut reached = Vec::new();
    let mut lowest = f64::INFINITY;
    let mut over_flank = false;
    let deadline = Instant::now() + Duration::from_mins(2);
    let mut airborne = false;
    while reached.len() < nav_seqs.len() {
        assert!(
            Instant::now() < deadline,
            "reached {reached:?} of {nav_seqs:?}; lowest {lowest:.1} m"
        );
        let Some(e) = events.recv_timeout(Duration::from_secs(5)) else {
            continue;
        };
        match e {
            LinkEvent::State(s) => {
                let Some(pos) = s.pos else { continue };
                let agl = s.alt_amsl_m - dem.elevation_m(pos).unwrap();
                airborne |= s.alt_rel_m > AGL_M - 5.0;
                if airborne && !reached.is_empty() {
                    lowest = lowest.min(agl);
                    over_flank |= dem.elevation_m(pos).unwrap() > home_amsl_m + 40.0;
                }
            }
            LinkEvent::ItemReached { seq, .. } if nav_seqs.contains(&seq) => {
                let pos = items[usize::from(seq)].pos();
                let planned_agl = items[usize::from(seq)].alt_m
                    - if terrain_frame {
                        0.0
                    } else {
                        dem.elevation_m(pos).unwrap()
                    };
                let v = sim.snapshot(0).unwrap();
                let flown_agl = home_amsl_m + v.alt_rel_m - dem.elevation_m(v.pos).unwrap();
                assert!(
                    (flown_agl - planned_agl).abs() < 6.0,
                    "item {seq}: {flown_agl:.1} m over the ground, planned {planned_agl:.1} m"
                );
                reached.push(seq);
            }
            _ => {}
        }
    }
    assert!(over_flank, "the survey climbed the cone's flank");
    assert!(
        lowest > AGL_M - params.tolerance_m - 10.0,
        "lowest {lowest:.1} m over the ground"
    );
    handle.shutdown();
    sim.shutdown();
}

#[test]
fn a_terrain_frame_mission_round_trips_and_flies_over_the_ground() {
    fly(true);
}

#[test]
fn an_absolute_mission_round_trips_and_flies_over_the_ground() {
    fly(false);
}
