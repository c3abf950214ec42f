//! Fixtures shared by the store tests.
#![allow(
    dead_code,
    clippy::unwrap_used,
    reason = "fixtures: each test file uses a subset; a panic is the failure report"
)]

use aviary_core::*;
use aviary_store::{Store, StoreOptions};
use chrono::{DateTime, Utc};
use std::path::Path;
use std::sync::Arc;

pub fn t0() -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000, 0).unwrap()
}

pub fn open(path: &Path, clock: &ManualClock) -> Store {
    Store::open(path, Arc::new(clock.clone()), StoreOptions::default()).unwrap()
}

pub fn org() -> Organization {
    Organization {
        id: OrgId::new_random(),
        name: "Acme Surveys".into(),
        created_at: t0(),
    }
}

pub fn site(org: &Organization, name: &str, tz: chrono_tz::Tz) -> Site {
    Site {
        id: SiteId::new_random(),
        org_id: org.id,
        name: name.into(),
        location: LatLon::new(51.9, 4.48),
        timezone: tz,
        created_at: t0(),
    }
}

pub fn drone(site: &Site, serial: &str, status: DroneStatus) -> Drone {
    Drone {
        id: DroneId::new_random(),
        site_id: site.id,
        serial_number: serial.into(),
        model: "Quad X8".into(),
        status,
        battery_pct: 90,
        last_seen: None,
        home: site.location,
        firmware_version: "ArduCopter 4.5.7".into(),
        link: None,
        created_at: t0(),
    }
}

pub fn mission(
    org: &Organization,
    site: &Site,
    drone: Option<&Drone>,
    name: &str,
    created_at: DateTime<Utc>,
) -> Mission {
    let a = LatLon::new(51.9, 4.48);
    Mission {
        id: MissionId::new_random(),
        org_id: org.id,
        site_id: site.id,
        drone_id: drone.map(|d| d.id),
        name: name.into(),
        status: MissionStatus::Planned,
        survey_area: SurveyArea {
            exterior: vec![a, a.offset_ne(0.0, 100.0), a.offset_ne(100.0, 100.0)],
            holes: vec![],
        },
        flight_pattern: FlightPattern::Crosshatch,
        parameters: MissionParams::default(),
        scheduled_start: None,
        actual_start: None,
        actual_end: None,
        paused_at: None,
        estimated_duration_s: 600.0,
        estimated_distance_m: 2500.0,
        waypoints: vec![Waypoint {
            pos: a,
            alt_rel_m: 50.0,
            action: WaypointAction::Takeoff,
        }],
        created_by: None,
        created_at,
    }
}

pub fn sample(
    drone: DroneId,
    mission: Option<MissionId>,
    time: DateTime<Utc>,
    i: u32,
) -> TelemetrySample {
    TelemetrySample {
        time,
        mission_id: mission,
        drone_id: drone,
        pos: LatLon::new(51.9 + f64::from(i) * 1e-6, 4.48),
        alt_rel_m: 50.0,
        speed_mps: 5.0,
        heading_deg: 90.0,
        battery_pct: 80.0,
        signal_pct: 95.0,
        status: DroneStatus::InMission,
    }
}

/// Org, one site and one drone stored.
pub fn seeded(store: &Store) -> (Organization, Site, Drone) {
    let o = org();
    let s = site(&o, "Rotterdam", chrono_tz::Europe::Amsterdam);
    let d = drone(&s, "SN-001", DroneStatus::Available);
    store.upsert_org(&o).unwrap();
    store.upsert_site(&s).unwrap();
    store.insert_drone(&d).unwrap();
    (o, s, d)
}

/// Submits `n` samples one second apart from `start`, each 10 m north of the previous one,
/// battery falling by 0.5 % a sample; returns them.
pub fn fly_north(
    store: &Store,
    drone: DroneId,
    mission: MissionId,
    start: chrono::DateTime<chrono::Utc>,
    n: u32,
) -> Vec<TelemetrySample> {
    let origin = LatLon::new(51.9, 4.48);
    let samples: Vec<TelemetrySample> = (0..n)
        .map(|i| TelemetrySample {
            pos: origin.offset_ne(f64::from(i) * 10.0, 0.0),
            battery_pct: 90.0 - f64::from(i) * 0.5,
            ..sample(
                drone,
                Some(mission),
                start + chrono::Duration::seconds(i64::from(i)),
                i,
            )
        })
        .collect();
    for s in &samples {
        assert!(store.telemetry().submit(*s));
    }
    samples
}
