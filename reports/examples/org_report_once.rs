//! The organisation report of the `org_report_from_store` bench, outside criterion, for
//! `perf stat` / callgrind (instruction counts hold under load where wall time does not):
//!
//! ```text
//! cargo run --release -p aviary-reports --example org_report_once -- seed /tmp/org.db
//! perf stat -e task-clock,instructions \
//!     target/release/examples/org_report_once run /tmp/org.db 20
//! ```
//!
//! `seed` writes the bench's store (3 sites, 50 drones, 100,000 missions with results over a
//! year); `run` opens it and times `load_org_report` for that year N times.

use aviary_core::ManualClock;
use aviary_reports::ReportOptions;
use aviary_reports::summary::{Grouping, MaintenancePolicy, load_org_report};
use aviary_reports::testdata;
use aviary_store::{Store, StoreOptions};
use chrono::Duration;
use std::path::Path;
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let usage = "usage: org_report_once seed DB_FILE | run DB_FILE N";
    let mode = std::env::args().nth(1).ok_or(usage)?;
    let path = std::env::args().nth(2).ok_or(usage)?;
    let path = Path::new(&path);
    match mode.as_str() {
        "seed" => seed(path),
        "run" => {
            let n: u32 = std::env::args().nth(3).ok_or(usage)?.parse()?;
            run(path, n)
        }
        _ => Err(usage.into()),
    }
}

fn run(path: &Path, n: u32) -> Result<(), Box<dyn std::error::Error>> {
    let clock = Arc::new(ManualClock::new(testdata::start_time()));
    let store = Store::open(path, clock, StoreOptions::default())?;
    let t0 = testdata::start_time() - Duration::days(365);
    let to = t0 + Duration::days(365);
    let (opts, policy) = (ReportOptions::default(), MaintenancePolicy::default());
    let mut best = std::time::Duration::MAX;
    for _ in 0..n {
        let started = std::time::Instant::now();
        let r = load_org_report(&store, t0, to, Grouping::Week, &opts, &policy)?;
        best = best.min(started.elapsed());
        assert_eq!(r.summary.totals.missions, 100_000);
        std::hint::black_box(r);
    }
    println!("{n} runs, fastest {best:?}");
    Ok(())
}

fn seed(path: &Path) -> Result<(), Box<dyn std::error::Error>> {
    let clock = Arc::new(ManualClock::new(testdata::start_time()));
    let mut store = Store::open(path, clock, StoreOptions::default())?;
    let n = testdata::seed_org_store(&mut store, 100_000)?;
    println!("imported {n} missions");
    Ok(())
}
