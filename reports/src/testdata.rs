//! Synthetic but physically consistent flights for tests, benches and demos: a lawnmower
//! survey over a rectangle, flown waypoint to waypoint at constant speed and altitude with a
//! linear battery drain, sampled at a fixed rate. Also a helper that seeds a [`Store`] with
//! an organisation, a site, a drone, the mission, its telemetry and its audit events.

use crate::error::ReportError;
use aviary_core::{
    AuditEvent, Drone, DroneId, DroneStatus, FlightPattern, LatLon, Mission, MissionId,
    MissionParams, MissionStatus, OrgId, Organization, Site, SiteId, SurveyArea, TelemetrySample,
    Waypoint, WaypointAction,
};
use aviary_store::{ImportedMission, MissionResult, ResultSource, Store};
use chrono::{DateTime, Duration, Utc};

/// Name of the demo site [`seed_store`] creates and reuses.
pub const SITE_NAME: &str = "Delft Polder";
/// South-west corner of the survey rectangle (a field near Delft).
pub const ORIGIN: LatLon = LatLon::new(52.0, 4.35);
/// Survey rectangle width (east-west), metres.
pub const AREA_W_M: f64 = 300.0;
/// Survey rectangle height (north-south), metres.
pub const AREA_H_M: f64 = 200.0;
/// Cruise speed, m/s.
pub const SPEED_MPS: f64 = 5.0;
/// Survey altitude above takeoff, metres.
pub const ALT_M: f64 = 50.0;
/// Transect spacing: 75 m footprint at 50 m with 70 % side overlap.
pub const LINE_SPACING_M: f64 = 22.5;
/// Camera trigger spacing: 50 m footprint along the track with 80 % front overlap.
pub const TRIGGER_SPACING_M: f64 = 10.0;
/// Battery drain while flying, percent per second (about 80 % in 55 minutes).
pub const DRAIN_PCT_PER_S: f64 = 0.024;

/// 2026-11-26 13:00:00 UTC, the first sample's time (14:00 in Amsterdam).
pub fn start_time() -> DateTime<Utc> {
    DateTime::from_timestamp(1_795_698_000, 0).unwrap_or_default()
}

/// A lawnmower mission over a `width_m` × `height_m` rectangle north-east of [`ORIGIN`],
/// transects running north-south, [`LINE_SPACING_M`] apart.
pub fn lawnmower_mission(
    name: &str,
    width_m: f64,
    height_m: f64,
    status: MissionStatus,
) -> Mission {
    let corner = |e: f64, n: f64| ORIGIN.offset_ne(n, e);
    let exterior = vec![
        corner(0.0, 0.0),
        corner(width_m, 0.0),
        corner(width_m, height_m),
        corner(0.0, height_m),
    ];
    let mut waypoints = Vec::new();
    let mut x = LINE_SPACING_M / 2.0;
    let mut northbound = true;
    while x < width_m {
        let (a, b) = if northbound {
            (0.0, height_m)
        } else {
            (height_m, 0.0)
        };
        for (i, n) in [a, b].into_iter().enumerate() {
            let action = if waypoints.is_empty() {
                WaypointAction::CameraTriggerStart {
                    distance_m: TRIGGER_SPACING_M,
                }
            } else if i == 1 && x + LINE_SPACING_M >= width_m {
                WaypointAction::CameraTriggerStop
            } else {
                WaypointAction::FlyThrough
            };
            waypoints.push(Waypoint {
                pos: corner(x, n),
                alt_rel_m: ALT_M,
                action,
            });
        }
        x += LINE_SPACING_M;
        northbound = !northbound;
    }
    let start = start_time();
    Mission {
        id: MissionId::new_random(),
        org_id: OrgId::new_random(),
        site_id: SiteId::new_random(),
        drone_id: None,
        name: name.to_owned(),
        status,
        survey_area: SurveyArea {
            exterior,
            holes: Vec::new(),
        },
        flight_pattern: FlightPattern::Lawnmower,
        parameters: MissionParams {
            altitude_m: ALT_M,
            speed_mps: SPEED_MPS,
            ..MissionParams::default()
        },
        scheduled_start: Some(start),
        actual_start: status
            .is_terminal()
            .then_some(start)
            .or(status.is_active().then_some(start)),
        actual_end: None,
        paused_at: None,
        estimated_duration_s: 0.0,
        estimated_distance_m: 0.0,
        waypoints,
        created_by: None,
        created_at: start - Duration::hours(1),
    }
}

/// Flies `mission`'s waypoints at [`SPEED_MPS`] from [`start_time`], one sample every
/// `1 / rate_hz` seconds on a uniform clock (plus one at the last waypoint), battery
/// draining from 98 %.
pub fn fly(mission: &Mission, drone: DroneId, rate_hz: f64) -> Vec<TelemetrySample> {
    fly_from(mission, drone, rate_hz, start_time())
}

/// [`fly`], taking off at `start`.
pub fn fly_from(
    mission: &Mission,
    drone: DroneId,
    rate_hz: f64,
    start: DateTime<Utc>,
) -> Vec<TelemetrySample> {
    let legs: Vec<(LatLon, LatLon, f64, f64)> = mission
        .waypoints
        .windows(2)
        .map(|w| {
            (
                w[0].pos,
                w[1].pos,
                w[0].pos.distance_m(w[1].pos),
                w[0].alt_rel_m,
            )
        })
        .filter(|l| l.2 > 0.0)
        .collect();
    let total_m: f64 = legs.iter().map(|l| l.2).sum();
    let total_s = total_m / SPEED_MPS;
    let sample = |t_s: f64, pos: LatLon, alt_rel_m: f64, heading_deg: f64| TelemetrySample {
        time: start + Duration::microseconds((t_s * 1e6_f64).round() as i64),
        mission_id: Some(mission.id),
        drone_id: drone,
        pos,
        alt_rel_m,
        speed_mps: SPEED_MPS,
        heading_deg,
        battery_pct: 98.0 - DRAIN_PCT_PER_S * t_s,
        signal_pct: 95.0,
        status: DroneStatus::InMission,
    };
    let mut out = Vec::with_capacity((total_s * rate_hz) as usize + 2);
    let (mut leg, mut leg_start_m) = (0, 0.0);
    let mut k = 0_u64;
    loop {
        let t_s = k as f64 / rate_hz;
        if t_s >= total_s || legs.is_empty() {
            break;
        }
        let d_m = t_s * SPEED_MPS;
        while leg + 1 < legs.len() && d_m >= leg_start_m + legs[leg].2 {
            leg_start_m += legs[leg].2;
            leg += 1;
        }
        let (a, b, _, alt) = legs[leg];
        let heading_deg = a.bearing_deg(b);
        out.push(sample(
            t_s,
            a.offset(heading_deg, d_m - leg_start_m),
            alt,
            heading_deg,
        ));
        k += 1;
    }
    if let Some(&(a, b, _, alt)) = legs.last() {
        out.push(sample(total_s, b, alt, a.bearing_deg(b)));
    }
    out
}

/// The standard 300 × 200 m survey, flown completely at `rate_hz`.
pub fn flown_lawnmower(status: MissionStatus, rate_hz: f64) -> (Mission, Vec<TelemetrySample>) {
    let mission = lawnmower_mission("North field survey", AREA_W_M, AREA_H_M, status);
    let samples = fly(&mission, DroneId::new_random(), rate_hz);
    (mission, samples)
}

/// A mission whose lawnmower takes about `duration_s` to fly (1 km transects).
pub fn mission_lasting(duration_s: f64, status: MissionStatus) -> Mission {
    let height_m = 1000.0;
    let transects = (duration_s * SPEED_MPS / (height_m + LINE_SPACING_M)).ceil();
    lawnmower_mission(
        "Long corridor survey",
        transects * LINE_SPACING_M,
        height_m,
        status,
    )
}

/// What [`seed_store`] created.
#[derive(Debug, Clone)]
pub struct Seeded {
    /// The site (Europe/Amsterdam).
    pub site: Site,
    /// The drone.
    pub drone: Drone,
    /// The mission, status as given.
    pub mission: Mission,
    /// The samples stored.
    pub samples: Vec<TelemetrySample>,
}

/// Stores an organisation, a site in Europe/Amsterdam, a drone, `mission` (re-homed to them),
/// its flight at `rate_hz`, and start/pause/resume/alert/finish audit events.
pub fn seed_store(store: &Store, mission: Mission, rate_hz: f64) -> Result<Seeded, ReportError> {
    seed_store_with_loss(store, mission, rate_hz, |_| true)
}

/// [`seed_store`], storing only the samples for which `keep(seconds since start)` is true
/// (to simulate telemetry lost in flight).
pub fn seed_store_with_loss(
    store: &Store,
    mut mission: Mission,
    rate_hz: f64,
    keep: impl Fn(f64) -> bool,
) -> Result<Seeded, ReportError> {
    let created = start_time() - Duration::days(30);
    // Reuse the demo site (and its org and drone) when it is already there, flying each
    // further mission a day later so the drone is never in two places at once.
    let existing = store
        .list_sites()?
        .into_iter()
        .find(|s| s.name == SITE_NAME);
    let (site, drone, day) = if let Some(site) = existing {
        let drone = store.list_drones(Some(site.id), None)?.into_iter().next();
        let flown = store
            .list_missions(&aviary_store::MissionFilter {
                site_id: Some(site.id),
                ..Default::default()
            })?
            .len();
        (site, drone, flown as i64)
    } else {
        let org = Organization {
            id: OrgId::new_random(),
            name: "Aviary Test Org".into(),
            created_at: created,
        };
        store.upsert_org(&org)?;
        let site = Site {
            id: SiteId::new_random(),
            org_id: org.id,
            name: SITE_NAME.into(),
            location: ORIGIN,
            timezone: chrono_tz::Europe::Amsterdam,
            created_at: created,
        };
        store.upsert_site(&site)?;
        (site, None, 0)
    };
    let drone = if let Some(d) = drone {
        d
    } else {
        let d = Drone {
            id: DroneId::new_random(),
            site_id: site.id,
            serial_number: format!("AV-{}", &mission.id.to_string()[..8]),
            model: "Quad X4".into(),
            status: DroneStatus::Available,
            battery_pct: 100,
            last_seen: None,
            home: ORIGIN,
            firmware_version: "4.5.7".into(),
            link: None,
            created_at: created,
        };
        store.insert_drone(&d)?;
        d
    };
    mission.org_id = site.org_id;
    mission.site_id = site.id;
    mission.drone_id = Some(drone.id);
    let t_start = start_time() + Duration::days(day);
    if mission.actual_start.is_some() {
        mission.actual_start = Some(t_start);
    }
    let samples: Vec<TelemetrySample> = fly_from(&mission, drone.id, rate_hz, t_start)
        .into_iter()
        .filter(|s| keep((s.time - t_start).num_milliseconds() as f64 / 1000.0))
        .collect();
    if mission.status.is_terminal() {
        mission.actual_end = samples.last().map(|s| s.time);
    }
    store.insert_mission(&mission)?;
    for s in &samples {
        while !store.telemetry().submit(*s) {
            // The queue is full: let the writer catch up, then retry this sample.
            store.telemetry().flush()?;
        }
    }
    store.telemetry().flush()?;
    let t0 = samples.first().map_or(t_start, |s| s.time);
    let target = mission.id.to_string();
    let audit = |secs: i64, action: &str, detail: &str| {
        store.append_audit(&AuditEvent {
            time: t0 + Duration::seconds(secs),
            user_id: None,
            action: action.into(),
            target: target.clone(),
            detail: detail.into(),
        })
    };
    audit(0, "mission.start", "in_progress")?;
    audit(95, "mission.pause", "paused")?;
    audit(125, "mission.resume", "in_progress")?;
    audit(200, "alert.link_degraded", "signal 41 %")?;
    if let Some(end) = mission.actual_end {
        let (action, detail) = match mission.status {
            MissionStatus::Aborted => ("mission.abort", "aborted"),
            MissionStatus::Failed => ("mission.fail", "failed"),
            _ => ("mission.finish", "completed"),
        };
        audit((end - t0).num_seconds(), action, detail)?;
    }
    Ok(Seeded {
        site,
        drone,
        mission,
        samples,
    })
}

/// Seeds `store` with the organisation analytics benchmark's data: one organisation, three
/// sites (Amsterdam, New York, Tokyo), 50 drones and `missions` missions with stored results
/// spread over the 365 days before [`start_time`] (one every 315 s; of every six, four
/// completed, one aborted, one failed). Returns how many missions were imported.
pub fn seed_org_store(store: &mut Store, missions: i64) -> Result<usize, ReportError> {
    let t0 = start_time() - Duration::days(365);
    let org = Organization {
        id: OrgId::new_random(),
        name: "Polder Survey B.V.".into(),
        created_at: t0,
    };
    store.upsert_org(&org)?;
    let zones = [
        chrono_tz::Europe::Amsterdam,
        chrono_tz::America::New_York,
        chrono_tz::Asia::Tokyo,
    ];
    let sites: Vec<Site> = zones
        .iter()
        .enumerate()
        .map(|(i, tz)| Site {
            id: SiteId::new_random(),
            org_id: org.id,
            name: format!("Site {i}"),
            location: LatLon::new(51.9, 4.48),
            timezone: *tz,
            created_at: t0,
        })
        .collect();
    for s in &sites {
        store.upsert_site(s)?;
    }
    let drones: Vec<Drone> = (0..50)
        .map(|i| Drone {
            id: DroneId::new_random(),
            site_id: sites[i % sites.len()].id,
            serial_number: format!("AV-{i:03}"),
            model: "Quad X4".into(),
            status: DroneStatus::Available,
            battery_pct: 100,
            last_seen: None,
            home: LatLon::new(51.9, 4.48),
            firmware_version: "4.5.7".into(),
            link: None,
            created_at: t0,
        })
        .collect();
    for d in &drones {
        store.insert_drone(d)?;
    }
    let template = lawnmower_mission("Field survey", 300.0, 200.0, MissionStatus::Completed);
    let outcomes = [
        MissionStatus::Completed,
        MissionStatus::Completed,
        MissionStatus::Completed,
        MissionStatus::Completed,
        MissionStatus::Aborted,
        MissionStatus::Failed,
    ];
    let items: Vec<ImportedMission> = (0..missions)
        .map(|i| {
            let d = &drones[(i % 50) as usize];
            let outcome = outcomes[(i % 6) as usize];
            // One mission every 315 s: 100,000 fill the year.
            let start = t0 + Duration::seconds(i * 315);
            let flight_s = 900.0 + (i % 13) as f64 * 60.0;
            let end = start + Duration::seconds(flight_s as i64);
            let mission = Mission {
                id: MissionId::new_random(),
                org_id: org.id,
                site_id: d.site_id,
                drone_id: Some(d.id),
                name: format!("Mission {i}"),
                status: outcome,
                created_at: start - Duration::hours(3),
                actual_start: Some(start),
                actual_end: Some(end),
                ..template.clone()
            };
            let result = MissionResult {
                mission_id: mission.id,
                outcome,
                ended_at: end,
                samples: (flight_s * 10.0) as u64,
                first_sample: Some(start),
                last_sample: Some(end),
                duration_s: Some(flight_s),
                distance_m: Some(flight_s * 5.0),
                covered_area_m2: Some(60_000.0),
                coverage_pct: Some(if outcome == MissionStatus::Completed {
                    99.0
                } else {
                    40.0
                }),
                photos: Some(150),
                battery_start_pct: Some(98.0),
                battery_end_pct: Some(98.0 - flight_s / 30.0 - (i % 7) as f64),
                battery_max_pct: Some(98.0),
                battery_min_pct: Some(98.0 - flight_s / 30.0 - (i % 7) as f64),
                source: ResultSource::Report,
                computed_at: end,
            };
            ImportedMission {
                mission,
                result: Some(result),
            }
        })
        .collect();
    Ok(store.import_missions(&items)?)
}

/// Moves every sample by pseudo-random GPS noise, normally distributed with `sigma_m` north
/// and east (deterministic for a `seed`).
pub fn add_gps_noise(samples: &mut [TelemetrySample], sigma_m: f64, seed: u64) {
    let mut state = seed | 1;
    let mut uniform = move || {
        // xorshift64*: enough for test noise, no dependency.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1_u64 << 53) as f64
    };
    for s in samples {
        // Box–Muller: two independent normal values.
        let (u1, u2) = (uniform().max(1e-12), uniform());
        let m = (-2.0 * u1.ln()).sqrt() * sigma_m;
        let a = std::f64::consts::TAU * u2;
        s.pos = s.pos.offset_ne(m * a.cos(), m * a.sin());
    }
}

/// A completed mission that re-flies one `side_m` square lawnmower `passes` times in
/// `duration_s`, sampled at `rate_hz` (the worst case for coverage: every strip overlaps
/// thirteen others). The drone flies faster than [`SPEED_MPS`] to fit the passes in.
pub fn reflown_square(
    side_m: f64,
    passes: usize,
    duration_s: f64,
    rate_hz: f64,
) -> (Mission, Vec<TelemetrySample>) {
    let mission = lawnmower_mission("Re-flown field", side_m, side_m, MissionStatus::Completed);
    let pass = fly(&mission, DroneId::new_random(), rate_hz);
    let total = (duration_s * rate_hz) as usize;
    let per_pass = (total / passes.max(1)).max(2);
    let start = start_time();
    let mut out = Vec::with_capacity(total);
    for k in 0..total {
        let i = (k % per_pass) * (pass.len() - 1) / (per_pass - 1);
        let mut s = pass[i.min(pass.len() - 1)];
        s.time = start + Duration::microseconds((k as f64 / rate_hz * 1e6).round() as i64);
        s.battery_pct = 98.0 - 60.0 * k as f64 / total as f64;
        out.push(s);
    }
    (mission, out)
}
