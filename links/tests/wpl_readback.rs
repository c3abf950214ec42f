//! One item list, the same in the exported file, the upload and the read-back (issue 14): a
//! survey planned by the planner is started with `MissionRequest::Start` over real UDP on the
//! simulator, read back from the vehicle, and compared item by item with the planner's
//! `QGC WPL 110` export of the same plan — same count, sequence numbers, commands, frames and
//! parameters, positions to the wire's 1e-7 degrees.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "test helpers: a panic is the failure report"
)]

mod common;

use aviary_core::mission_items::{PlanItem, cmd, first_difference, mission_items};
use aviary_core::{SurveyArea, WaypointAction};
use aviary_links::mav::LinkEvent;
use aviary_planner::formats::{self, MissionDoc};
use aviary_planner::{Area, SurveyParams, plan_survey};
use aviary_sim::{SimConfig, Simulator};
use common::{HOME, discovered, link, read_back, start_mission, wait_for};
use std::time::Duration;

/// A 150 × 100 m lawnmower survey at 40 m, 60 m north-east of home, at 6 m/s.
fn survey() -> aviary_planner::Plan {
    let c = HOME.offset_ne(60.0, 60.0);
    let area = SurveyArea {
        exterior: vec![
            c,
            c.offset_ne(0.0, 150.0),
            c.offset_ne(100.0, 150.0),
            c.offset_ne(100.0, 0.0),
        ],
        holes: Vec::new(),
    };
    let area = Area::new(&[area], &[], aviary_planner::params::DEFAULT_MAX_AREA_M2).unwrap();
    plan_survey(
        &area,
        &SurveyParams {
            alt_rel_m: 40.0,
            speed_mps: 6.0,
            home: Some(HOME),
            ..SurveyParams::default()
        },
    )
    .unwrap()
}

#[test]
fn the_items_read_back_from_the_vehicle_equal_the_exported_wpl_file() {
    let plan = survey();
    assert!(
        plan.items
            .iter()
            .any(|w| matches!(w.action, WaypointAction::CameraTriggerStart { .. })),
        "a survey with camera items, where file and upload used to differ"
    );
    let doc = MissionDoc::from_plan(&plan);
    let file: Vec<PlanItem> = formats::read_wpl_items(&formats::to_wpl(&doc)).unwrap();
    let uploaded = mission_items(plan.home, &plan.items, plan.speed_mps);
    assert!(
        file.iter()
            .any(|i| i.command == cmd::DO_CHANGE_SPEED && (i.params[1] - 6.0).abs() < 1e-6),
        "the planned speed is in the file"
    );

    let (handle, mut events) = link(|c| c.request_streams_hz = Some(4));
    let mut cfg = SimConfig::new(handle.local_addr().unwrap(), 1);
    cfg.speedup = 10.0;
    let sim = Simulator::spawn(cfg).unwrap();
    let id = discovered(&mut events);
    wait_for(&mut events, Duration::from_secs(10), |e| match e {
        LinkEvent::State(s) if s.pos.is_some() && s.gps_fix >= 3 => Some(()),
        _ => None,
    });
    start_mission(&handle, &mut events, id, uploaded);
    let back = read_back(&handle, &mut events, id);
    assert_eq!(
        back.len(),
        file.len(),
        "as many items on the vehicle as in the file"
    );
    for (f, v) in file.iter().zip(&back) {
        assert_eq!(
            (f.seq, f.command, f.frame),
            (v.seq, v.command, v.frame),
            "item {}: the file's sequence number, command and frame on the vehicle\n\
             file:    {f:?}\nvehicle: {v:?}",
            f.seq
        );
    }
    // Item 0 is the vehicle's own home, as on ArduPilot; everything else item for item.
    assert_eq!(first_difference(&file, &back, true), None);
    assert_eq!(sim.snapshot(0).unwrap().mission.len(), file.len());
    handle.shutdown();
    sim.shutdown();
}
