//! Child process for the crash-safety test: writes missions and telemetry to the store given
//! as the first argument and prints a line after every commit that returned, until killed.
//!
//! Lines: `M <mission-uuid>` after a mission insert committed; `T <drone-uuid> <first_us>
//! <count>` after a telemetry batch was flushed to disk.

use aviary_core::store::{Store, StoreOptions};
use aviary_core::*;
use chrono::{DateTime, Duration, Utc};
use std::io::Write;
use std::sync::Arc;

fn main() -> anyhow::Result<()> {
    let path = std::env::args().nth(1).ok_or_else(|| anyhow::anyhow!("usage: crash_writer DB"))?;
    let t0 = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    let store = Store::open(std::path::Path::new(&path), Arc::new(ManualClock::new(t0)), StoreOptions::default())?;
    let org = Organization { id: OrgId::new_random(), name: "crash".into(), created_at: t0 };
    store.upsert_org(&org)?;
    let site = Site {
        id: SiteId::new_random(),
        org_id: org.id,
        name: "crash site".into(),
        location: LatLon::new(1.0, 2.0),
        timezone: chrono_tz::UTC,
        created_at: t0,
    };
    store.upsert_site(&site)?;
    let drone_id = DroneId::new_random();
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let start_us = Utc::now().timestamp_micros();
    for i in 0_i64.. {
        let m = Mission {
            id: MissionId::new_random(),
            org_id: org.id,
            site_id: site.id,
            drone_id: None,
            name: format!("crash mission {i}"),
            status: MissionStatus::Planned,
            survey_area: SurveyArea::default(),
            flight_pattern: FlightPattern::Lawnmower,
            parameters: MissionParams::default(),
            scheduled_start: None,
            actual_start: None,
            actual_end: None,
            paused_at: None,
            estimated_duration_s: 1.0,
            estimated_distance_m: 1.0,
            waypoints: Vec::new(),
            created_by: None,
            created_at: t0,
        };
        store.insert_mission(&m)?;
        writeln!(out, "M {}", m.id)?;
        out.flush()?;
        let first_us = start_us + i * 1_000_000;
        let count = 200;
        for j in 0..count {
            let time = DateTime::from_timestamp_micros(first_us + j * 1_000).unwrap_or_default() + Duration::zero();
            store.telemetry().submit(TelemetrySample {
                time,
                mission_id: Some(m.id),
                drone_id,
                pos: LatLon::new(1.0, 2.0),
                alt_rel_m: 10.0,
                speed_mps: 1.0,
                heading_deg: 0.0,
                battery_pct: 50.0,
                signal_pct: 100.0,
                status: DroneStatus::InMission,
            });
        }
        store.telemetry().flush()?;
        writeln!(out, "T {drone_id} {first_us} {count}")?;
        out.flush()?;
    }
    Ok(())
}
