//! Seeds an Aviary database with demonstration missions for `aviary report`:
//! `cargo run -p aviary-reports --example seed_demo -- /tmp/demo.db`. Prints the mission ids.
//!
//! Three lawnmower surveys flown at 10 Hz over fields near Delft: one completed, one
//! completed with three minutes of telemetry lost, one aborted a third of the way through.

use aviary_core::{ManualClock, MissionStatus};
use aviary_reports::testdata;
use aviary_store::{Store, StoreOptions};
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).ok_or("usage: seed_demo DB_FILE")?;
    let clock = Arc::new(ManualClock::new(
        testdata::start_time() + chrono::Duration::days(1),
    ));
    let store = Store::open(std::path::Path::new(&path), clock, StoreOptions::default())?;
    let full =
        testdata::lawnmower_mission("North field survey", 300.0, 200.0, MissionStatus::Completed);
    let gappy =
        testdata::lawnmower_mission("Canal bank survey", 400.0, 250.0, MissionStatus::Completed);
    let aborted =
        testdata::lawnmower_mission("Orchard survey", 250.0, 250.0, MissionStatus::Aborted);
    let a = testdata::seed_store(&store, full, 10.0)?;
    let b =
        testdata::seed_store_with_loss(&store, gappy, 10.0, |t_s| !(120.0..300.0).contains(&t_s))?;
    let c = testdata::seed_store_with_loss(&store, aborted, 10.0, |t_s| t_s < 250.0)?;
    for s in [a, b, c] {
        println!(
            "{} {} ({}, {} samples)",
            s.mission.id,
            s.mission.name,
            s.mission.status,
            s.samples.len()
        );
    }
    Ok(())
}
