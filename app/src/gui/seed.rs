//! First start: a demo organisation with three sites in different time zones and a dozen
//! drones, written to an empty store so a newcomer sees a fleet at once.

use aviary_core::{
    Drone, DroneId, DroneStatus, FlightPattern, LatLon, Mission, MissionId, MissionParams,
    MissionStatus, OrgId, Organization, Site, SiteId, SurveyArea,
};
use aviary_store::{Store, StoreError};

/// Demo sites: name, position, IANA zone, serial prefix.
pub const DEMO_SITES: [(&str, f64, f64, chrono_tz::Tz, &str); 3] = [
    (
        "San Francisco",
        37.8080,
        -122.4177,
        chrono_tz::America::Los_Angeles,
        "SFO",
    ),
    (
        "Rotterdam",
        51.9050,
        4.4660,
        chrono_tz::Europe::Amsterdam,
        "RTM",
    ),
    (
        "Singapore",
        1.2890,
        103.8600,
        chrono_tz::Asia::Singapore,
        "SIN",
    ),
];

/// Drones per demo site.
pub const DEMO_DRONES_PER_SITE: usize = 4;

/// Model name of demo drones.
pub const DEMO_MODEL: &str = "Aviary X4 (simulated)";

/// Seeds the demo organisation when the store has none. Returns whether it seeded.
pub fn seed_demo_if_empty(store: &Store) -> Result<bool, StoreError> {
    if !store.list_orgs()?.is_empty() {
        return Ok(false);
    }
    let now = store.clock().now();
    let org = Organization {
        id: OrgId::new_random(),
        name: "Aviary Demo Surveys".to_owned(),
        created_at: now,
    };
    store.upsert_org(&org)?;
    for (name, lat, lon, tz, prefix) in DEMO_SITES {
        let site = Site {
            id: SiteId::new_random(),
            org_id: org.id,
            name: name.to_owned(),
            location: LatLon::new(lat, lon),
            timezone: tz,
            created_at: now,
        };
        store.upsert_site(&site)?;
        let mut first_drone = None;
        for i in 0..DEMO_DRONES_PER_SITE {
            // Homes 90 m apart on a short line east of the site's reference point.
            let home = site.location.offset_ne(0.0, 90.0 + 90.0 * i as f64);
            let status = match i {
                3 if prefix == "RTM" => DroneStatus::Maintenance,
                3 if prefix == "SIN" => DroneStatus::Charging,
                _ => DroneStatus::Available,
            };
            let id = DroneId::new_random();
            first_drone.get_or_insert(id);
            store.insert_drone(&Drone {
                id,
                site_id: site.id,
                serial_number: format!("{prefix}-{:02}", i + 1),
                model: DEMO_MODEL.to_owned(),
                status,
                battery_pct: 100,
                last_seen: None,
                home,
                firmware_version: "ArduCopter V4.5 (sim)".to_owned(),
                link: Some("sim".to_owned()),
                created_at: now,
            })?;
        }
        seed_demo_mission(store, &site, first_drone)?;
    }
    Ok(true)
}

/// A small planned survey next to the site, assigned to its first drone, so a newcomer can
/// press Start at once.
fn seed_demo_mission(store: &Store, site: &Site, drone: Option<DroneId>) -> Result<(), StoreError> {
    let corner = site.location.offset_ne(120.0, 0.0);
    let area = SurveyArea {
        exterior: vec![
            corner,
            corner.offset_ne(0.0, 320.0),
            corner.offset_ne(160.0, 380.0),
            corner.offset_ne(260.0, 200.0),
            corner.offset_ne(200.0, -20.0),
        ],
        holes: Vec::new(),
    };
    let params = MissionParams {
        altitude_m: 40.0,
        speed_mps: 6.0,
        ..MissionParams::default()
    };
    let home = site.location.offset_ne(0.0, 90.0);
    let plan = match super::planning::plan_preview(
        &area,
        &[],
        FlightPattern::Lawnmower,
        &params,
        Some(home),
    ) {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(site = %site.name, error = %e, "demo mission not planned");
            return Ok(());
        }
    };
    let now = store.clock().now();
    store.insert_mission(&Mission {
        id: MissionId::new_random(),
        org_id: site.org_id,
        site_id: site.id,
        drone_id: drone,
        name: format!("Demo survey {}", site.name),
        status: MissionStatus::Planned,
        survey_area: area,
        flight_pattern: FlightPattern::Lawnmower,
        parameters: params,
        scheduled_start: None,
        actual_start: None,
        actual_end: None,
        paused_at: None,
        estimated_duration_s: plan.duration_s,
        estimated_distance_m: plan.distance_m,
        waypoints: plan.waypoints,
        created_by: None,
        created_at: now,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aviary_core::ManualClock;
    use std::sync::Arc;

    #[test]
    fn seeds_three_sites_and_twelve_drones_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let clock = Arc::new(ManualClock::new(
            chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
        ));
        let store = Store::open(
            &dir.path().join("a.db"),
            clock,
            aviary_store::StoreOptions::default(),
        )
        .expect("open");
        assert!(seed_demo_if_empty(&store).expect("seed"));
        assert!(
            !seed_demo_if_empty(&store).expect("second seed"),
            "never seeds twice"
        );
        let sites = store.list_sites().expect("sites");
        assert_eq!(sites.len(), 3);
        let zones: Vec<_> = sites.iter().map(|s| s.timezone.name()).collect();
        assert!(
            zones.contains(&"Asia/Singapore") && zones.contains(&"Europe/Amsterdam"),
            "{zones:?}"
        );
        assert_eq!(store.list_drones(None, None).expect("drones").len(), 12);
        let missions = store
            .list_missions(&aviary_store::MissionFilter::default())
            .expect("missions");
        assert_eq!(missions.len(), 3, "one planned demo survey per site");
        assert!(
            missions
                .iter()
                .all(|m| m.drone_id.is_some() && m.waypoints.len() > 5)
        );
    }
}
