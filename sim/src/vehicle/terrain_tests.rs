//! Unit tests of the simulated terrain: requests, reports, the pre-arm check.

use super::*;
use aviary_core::terrain_grid::{self, PointE7};

const HOME: LatLon = LatLon::new(47.397_742, 8.545_594);

fn terrain_vehicle() -> Vehicle {
    let mut cfg = VehicleConfig::new(1, HOME);
    cfg.gps_noise_m = 0.0;
    cfg.terrain = Some(TerrainOptions {
        spacing_m: 100,
        request_every_s: 0.5,
    });
    Vehicle::new(cfg)
}

fn tick(v: &mut Vehicle, t: f64) -> Vec<MavMessage> {
    v.tick(Tick {
        dt_sim_s: 0.1,
        sim_time_s: t,
        wall_time_s: t,
    })
}

fn arm(v: &mut Vehicle) -> (mav::MavResult, Vec<MavMessage>) {
    let out = v.handle(
        255,
        190,
        &MavMessage::COMMAND_LONG(mav::COMMAND_LONG_DATA {
            param1: 1.0,
            command: mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
            target_system: 1,
            target_component: 1,
            ..Default::default()
        }),
    );
    let result = out
        .iter()
        .find_map(|m| match m {
            MavMessage::COMMAND_ACK(a) => Some(a.result),
            _ => None,
        })
        .unwrap_or(mav::MavResult::MAV_RESULT_UNSUPPORTED);
    (result, out)
}

fn last_report(msgs: &[MavMessage]) -> Option<mav::TERRAIN_REPORT_DATA> {
    msgs.iter().rev().find_map(|m| match m {
        MavMessage::TERRAIN_REPORT(r) => Some(r.clone()),
        _ => None,
    })
}

/// Answers every requested sub-grid with a flat 300 m, as a ground station would.
fn answer_flat(v: &mut Vehicle, msgs: &[MavMessage]) -> usize {
    let mut answered = 0;
    for m in msgs {
        if let MavMessage::TERRAIN_REQUEST(r) = m {
            for bit in 0..terrain_grid::SUBGRIDS {
                if r.mask & (1 << bit) != 0 {
                    let data = MavMessage::TERRAIN_DATA(mav::TERRAIN_DATA_DATA {
                        lat: r.lat,
                        lon: r.lon,
                        grid_spacing: r.grid_spacing,
                        gridbit: bit,
                        data: [300; 16],
                    });
                    assert!(v.handle(255, 190, &data).is_empty());
                    answered += 1;
                }
            }
        }
    }
    answered
}

#[test]
fn no_terrain_by_default() {
    let mut v = Vehicle::new(VehicleConfig::new(1, HOME));
    let out: Vec<_> = (1..30)
        .flat_map(|i| tick(&mut v, f64::from(i) * 0.1))
        .collect();
    assert!(!out.iter().any(|m| matches!(
        m,
        MavMessage::TERRAIN_REQUEST(_) | MavMessage::TERRAIN_REPORT(_)
    )));
}

#[test]
fn requests_its_block_and_refuses_to_arm_until_loaded() {
    let mut v = terrain_vehicle();
    let out = tick(&mut v, 0.1);
    let Some(MavMessage::TERRAIN_REQUEST(r)) = out
        .iter()
        .find(|m| matches!(m, MavMessage::TERRAIN_REQUEST(_)))
    else {
        panic!("no TERRAIN_REQUEST in {out:?}");
    };
    let own = terrain_grid::grid_info(PointE7::from_latlon(HOME), 100).block;
    assert_eq!(
        (r.lat, r.lon, r.grid_spacing),
        (own.lat_e7, own.lon_e7, 100)
    );
    assert_eq!(r.mask, terrain_grid::BITMAP_MASK);
    let report = last_report(&out).expect("a report with the request");
    assert_eq!((report.spacing, report.pending, report.loaded), (0, 56, 0));

    let (result, said) = arm(&mut v);
    assert_eq!(result, mav::MavResult::MAV_RESULT_FAILED);
    assert!(said.iter().any(|m| matches!(m, MavMessage::STATUSTEXT(t)
        if t.text.to_str().unwrap_or("") == "PreArm: Waiting for Terrain data")));

    // Answer every request until the vehicle asks for nothing more.
    let mut answered = answer_flat(&mut v, &out);
    let mut t = 0.1;
    for _ in 0..200 {
        t += 0.1;
        let out = tick(&mut v, t);
        answered += answer_flat(&mut v, &out);
    }
    let blocks = terrain_grid::blocks_around(PointE7::from_latlon(HOME), 100).len();
    assert_eq!(answered, 56 * blocks, "each block requested once, in full");
    let out: Vec<_> = (1..=6)
        .flat_map(|i| tick(&mut v, t + f64::from(i) * 0.1))
        .collect();
    let report = last_report(&out).expect("report");
    assert_eq!(report.pending, 0);
    assert_eq!(usize::from(report.loaded), 56 * blocks);
    assert_eq!(report.spacing, 100);
    assert!((report.terrain_height - 300.0).abs() < 1e-3);
    assert!(report.current_height.abs() < 1e-3, "on the ground at home");
    assert_eq!(arm(&mut v).0, mav::MavResult::MAV_RESULT_ACCEPTED);
}

#[test]
fn terrain_check_elsewhere_reports_no_data_and_loads_that_block() {
    let mut v = terrain_vehicle();
    let far = PointE7::from_latlon(LatLon::new(47.9, 8.9));
    let out = v.handle(
        255,
        190,
        &MavMessage::TERRAIN_CHECK(mav::TERRAIN_CHECK_DATA {
            lat: far.lat_e7,
            lon: far.lon_e7,
        }),
    );
    let report = last_report(&out).expect("a report in reply");
    assert_eq!((report.lat, report.lon), (far.lat_e7, far.lon_e7));
    assert_eq!(report.spacing, 0);
    // Home's and the far point's blocks now wait.
    assert_eq!(report.pending, 2 * 56);
    // Data for a block it does not hold is ignored.
    let stray = MavMessage::TERRAIN_DATA(mav::TERRAIN_DATA_DATA {
        lat: 1,
        lon: 2,
        grid_spacing: 100,
        gridbit: 0,
        data: [1; 16],
    });
    assert!(v.handle(255, 190, &stray).is_empty());
}
