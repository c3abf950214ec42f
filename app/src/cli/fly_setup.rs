//! `aviary fly` before the start: waiting for the vehicle and for its terrain data, identifying
//! it, filing it under the nearest site, and storing the planned mission.

use anyhow::Context as _;
use aviary_app::flight;
use aviary_core::supervisor::Supervisor;
use aviary_core::vehicle::VehicleFact;
use aviary_core::{
    Clock, Drone, DroneId, DroneStatus, FlightPattern, LatLon, Mission, MissionId, MissionParams,
    MissionStatus, OrgId, Organization, Site, SiteId, SurveyArea,
};
use aviary_links::mav::{LinkEvent, LinkEvents, LinkHandle, VehicleId};
use aviary_store::Store;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What `aviary fly` waits for before the start, from its arguments.
pub(super) struct VehicleWait<'a> {
    /// The link's address, for messages.
    pub link: &'a str,
    /// Only this system id, when given.
    pub system_id: Option<u8>,
    /// The longest wait, seconds.
    pub wait_s: f64,
}

/// A vehicle that does terrain has its data once it reports nothing pending and no more
/// loaded for this long (`ArduPilot` asks for the next block only every 2 s and reports 0
/// pending in between, so only a count that stopped growing says it is done).
const TERRAIN_SETTLED: Duration = Duration::from_secs(3);
/// A vehicle that sent no `TERRAIN_REPORT` for this long does not do terrain.
const TERRAIN_SILENT: Duration = Duration::from_secs(3);

/// With `--dem`, waits (at most `--wait-s`) until a vehicle that does terrain has loaded the
/// blocks around it, so its "Waiting for Terrain data" pre-arm check does not refuse the
/// start. A vehicle that reports no terrain is not waited for; one still loading at the end
/// is started anyway and answers for itself.
pub(super) fn wait_for_terrain(
    wait: &VehicleWait<'_>,
    handle: &LinkHandle,
    events: &mut LinkEvents,
    sup: &mut Supervisor,
    clock: &Arc<dyn Clock>,
    id: VehicleId,
) {
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(wait.wait_s.max(0.1));
    // Since when the report says nothing pending with this many sub-grids loaded.
    let mut settled: Option<(Instant, u16)> = None;
    while Instant::now() < deadline {
        if let Some(ev) = events.recv_timeout(Duration::from_millis(100)) {
            let now = clock.now();
            for (vid, fact) in flight::facts(&ev) {
                if vid == id {
                    sup.fact(fact, now);
                }
            }
        }
        let terrain = handle.vehicle(id).and_then(|v| v.terrain);
        match terrain {
            None if start.elapsed() > TERRAIN_SILENT => return,
            None => {}
            Some(t) if t.pending == 0 => match settled {
                Some((since, loaded)) if loaded == t.loaded => {
                    if since.elapsed() >= TERRAIN_SETTLED {
                        return;
                    }
                }
                _ => settled = Some((Instant::now(), t.loaded)),
            },
            Some(_) => settled = None,
        }
    }
    tracing::warn!(
        "the vehicle is still loading terrain after {:.0} s",
        wait.wait_s
    );
}

/// Waits for the vehicle's first heartbeat (and its identity, briefly), feeding what it
/// reports to the supervisor. Returns the vehicle, its position and its autopilot uid.
pub(super) fn wait_for_vehicle(
    wait: &VehicleWait<'_>,
    handle: &LinkHandle,
    events: &mut LinkEvents,
    sup: &mut Supervisor,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<(VehicleId, Option<LatLon>, Option<u64>)> {
    let deadline = Instant::now() + Duration::from_secs_f64(wait.wait_s.max(0.1));
    let wanted = |id: VehicleId| wait.system_id.is_none_or(|s| s == id.system_id);
    let mut found: Option<VehicleId> = None;
    let mut uid = None;
    let mut identified = false;
    let mut pos = None;
    let mut heard_at = None;
    while Instant::now() < deadline {
        let Some(ev) = events.recv_timeout(Duration::from_millis(100)) else {
            if let Some(at) = heard_at
                && Instant::now().duration_since(at) > Duration::from_secs(3)
                && pos.is_some()
            {
                break;
            }
            continue;
        };
        if let LinkEvent::VehicleIdentified { id, uid: u, .. } = &ev
            && found.is_none_or(|f| f == *id)
            && wanted(*id)
        {
            found = Some(*id);
            uid = *u;
            identified = true;
        }
        if let LinkEvent::State(v) = &ev
            && wanted(v.id)
            && found.is_none_or(|f| f == v.id)
        {
            found = Some(v.id);
            heard_at.get_or_insert_with(Instant::now);
            if v.pos.is_some() {
                pos = v.pos;
            }
        }
        if let Some(id) = found {
            let now = clock.now();
            for (vid, fact) in flight::facts(&ev) {
                if vid == id {
                    sup.fact(fact, now);
                }
            }
        }
        if identified && pos.is_some() && sup.vehicle().mode.is_some() {
            break;
        }
    }
    let Some(id) = found else {
        anyhow::bail!(
            "no vehicle heard on {} within {:.0} s",
            wait.link,
            wait.wait_s
        );
    };
    // The link's facts arrive on change only: seed the supervisor with the full picture.
    if let Some(v) = handle.vehicle(id) {
        let now = clock.now();
        sup.fact(VehicleFact::LinkUp, now);
        sup.fact(
            VehicleFact::Heartbeat {
                mode: v.flight_mode(),
                armed: v.armed,
            },
            now,
        );
        sup.fact(VehicleFact::Landed { state: v.landed }, now);
        for fact in flight::state_facts(&v) {
            sup.fact(fact, now);
        }
        pos = pos.or(v.pos);
        uid = uid.or(v.uid);
    }
    Ok((id, pos, uid))
}

/// The stored drone for this vehicle: found by its autopilot's unique id (or, without one,
/// by link and system id), else created at the site nearest its position.
pub(super) fn identify(
    store: &Store,
    link: &str,
    vehicle: VehicleId,
    uid: Option<u64>,
    pos: LatLon,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<Drone> {
    let serial = match uid {
        Some(u) => format!("MAV-{u:016X}"),
        None => format!("MAV-{link}-{}", vehicle.system_id),
    };
    let drones = store.list_drones(None, None)?;
    if let Some(d) = drones.into_iter().find(|d| d.serial_number == serial) {
        return Ok(d);
    }
    let now = clock.now();
    let site = nearest_site(store, pos, now)?;
    let drone = Drone {
        id: DroneId::new_random(),
        site_id: site,
        serial_number: serial,
        model: "MAVLink vehicle".into(),
        status: DroneStatus::Available,
        battery_pct: 100,
        last_seen: Some(now),
        home: pos,
        firmware_version: String::new(),
        link: Some(link.to_owned()),
        created_at: now,
    };
    store.insert_drone(&drone)?;
    Ok(drone)
}

/// The site nearest `pos`; an empty store gets an organisation and a site there.
pub(super) fn nearest_site(
    store: &Store,
    pos: LatLon,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<SiteId> {
    let sites = store.list_sites()?;
    if let Some(s) = sites.iter().min_by(|a, b| {
        a.location
            .distance_m(pos)
            .total_cmp(&b.location.distance_m(pos))
    }) {
        return Ok(s.id);
    }
    let org = if let Some(o) = store.list_orgs()?.into_iter().next() {
        o.id
    } else {
        let org = Organization {
            id: OrgId::new_random(),
            name: "Local".into(),
            created_at: now,
        };
        store.upsert_org(&org)?;
        org.id
    };
    let site = Site {
        id: SiteId::new_random(),
        org_id: org,
        name: "Field".into(),
        location: pos,
        timezone: chrono_tz::UTC,
        created_at: now,
    };
    store.upsert_site(&site)?;
    Ok(site.id)
}

/// What a stored mission keeps of a plan file written over the terrain (absolute
/// altitudes), with `dem` to read the ground under its waypoints: its height over the ground
/// at the median survey waypoint as the planned AGL, the lowest as its clearance.
pub(super) fn planned_terrain(
    doc: &aviary_planner::formats::MissionDoc,
    dem: Option<&dyn aviary_planner::terrain::Elevation>,
) -> Option<aviary_core::PlannedTerrain> {
    let aviary_planner::formats::AltitudeFrame::Amsl { home_amsl_m } = doc.alt_frame else {
        return None;
    };
    let dem = dem?;
    let ground_amsl_m: Vec<Option<f64>> = doc
        .items
        .iter()
        .map(|w| {
            matches!(
                w.action,
                aviary_core::WaypointAction::FlyThrough | aviary_core::WaypointAction::Takeoff
            )
            .then(|| dem.elevation_m(w.pos).ok())
            .flatten()
        })
        .collect();
    let mut agl: Vec<f64> = doc
        .items
        .iter()
        .zip(&ground_amsl_m)
        .filter(|(w, _)| w.action == aviary_core::WaypointAction::FlyThrough)
        .filter_map(|(w, g)| g.map(|g| home_amsl_m + w.alt_rel_m - g))
        .collect();
    agl.sort_by(f64::total_cmp);
    let agl_m = *agl.get(agl.len() / 2)?;
    Some(aviary_core::PlannedTerrain {
        agl_m,
        tolerance_m: 0.0,
        min_clearance_m: agl.first().copied().unwrap_or(agl_m),
        home_amsl_m,
        ground_amsl_m,
        source: dem.describe(),
        sea_level: false,
    })
}

pub(super) fn insert_mission(
    store: &Store,
    drone: &Drone,
    (plan, doc): (&std::path::Path, &aviary_planner::formats::MissionDoc),
    speed_mps: f64,
    dem: Option<&dyn aviary_planner::terrain::Elevation>,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<MissionId> {
    let site = store
        .list_sites()?
        .into_iter()
        .find(|s| s.id == drone.site_id)
        .context("the drone's site is missing")?;
    let route = aviary_planner::estimate_route(
        drone.home,
        &doc.items,
        speed_mps,
        &aviary_planner::Airframe::default(),
    );
    let name = plan
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("mission")
        .to_owned();
    let survey_area = doc.areas.first().cloned().unwrap_or_else(|| SurveyArea {
        exterior: doc.items.iter().map(|w| w.pos).collect(),
        holes: Vec::new(),
    });
    let m = Mission {
        id: MissionId::new_random(),
        org_id: site.org_id,
        site_id: site.id,
        drone_id: Some(drone.id),
        name,
        status: MissionStatus::Planned,
        survey_area,
        flight_pattern: FlightPattern::Lawnmower,
        // A plan over the terrain: its height over the ground, which the report compares
        // with the flight's.
        parameters: match planned_terrain(doc, dem) {
            Some(terrain) => MissionParams {
                altitude_m: terrain.agl_m,
                speed_mps,
                terrain: Some(terrain),
                ..MissionParams::default()
            },
            None => MissionParams {
                altitude_m: route.alt_rel_m,
                speed_mps,
                ..MissionParams::default()
            },
        },
        scheduled_start: None,
        actual_start: None,
        actual_end: None,
        paused_at: None,
        estimated_duration_s: route.duration_s,
        estimated_distance_m: route.distance_m,
        waypoints: doc.items.clone(),
        created_by: None,
        created_at: clock.now(),
    };
    store.insert_mission(&m)?;
    Ok(m.id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aviary_core::{LatLon, Waypoint, WaypointAction};
    use aviary_planner::formats::{AltitudeFrame, MissionDoc};
    use aviary_planner::terrain::{SrtmSet, SrtmTile};

    /// A 3″ tile N47E008 at 400 m everywhere but a 450 m square north of 47.6° N.
    fn dem() -> SrtmSet {
        let mut bytes = Vec::with_capacity(1201 * 1201 * 2);
        for row in 0..1201 {
            let lat = 48.0 - f64::from(row) / 1200.0;
            let h: i16 = if lat > 47.6 { 450 } else { 400 };
            for _ in 0..1201 {
                bytes.extend_from_slice(&h.to_be_bytes());
            }
        }
        let mut set = SrtmSet::new();
        set.insert(SrtmTile::from_bytes("N47E008.hgt", &bytes).expect("tile"));
        set
    }

    #[test]
    fn a_plan_over_the_terrain_keeps_its_ground_for_the_report() {
        let home = LatLon::new(47.5, 8.5);
        let wp = |lat: f64, alt_rel_m: f64, action| Waypoint {
            pos: LatLon::new(lat, 8.5),
            alt_rel_m,
            action,
        };
        let doc = MissionDoc {
            alt_frame: AltitudeFrame::Amsl { home_amsl_m: 400.0 },
            items: vec![
                wp(47.5, 40.0, WaypointAction::Takeoff),
                wp(47.55, 40.0, WaypointAction::FlyThrough),
                wp(
                    47.55,
                    40.0,
                    WaypointAction::CameraTriggerStart { distance_m: 10.0 },
                ),
                wp(47.65, 88.0, WaypointAction::FlyThrough),
                wp(47.7, 90.0, WaypointAction::FlyThrough),
                wp(47.5, 40.0, WaypointAction::ReturnToLaunch),
            ],
            home,
            areas: Vec::new(),
            no_fly: Vec::new(),
            speed_mps: 5.0,
            surveys: Vec::new(),
            rally_points: Vec::new(),
        };
        let dem = dem();
        let t = planned_terrain(&doc, Some(&dem)).expect("a terrain plan");
        assert!((t.home_amsl_m - 400.0).abs() < 1e-9);
        assert_eq!(
            t.ground_amsl_m,
            [
                Some(400.0),
                Some(400.0),
                None,
                Some(450.0),
                Some(450.0),
                None
            ]
        );
        // Over the ground: 40, 38 and 40 m; the median 40, the lowest 38.
        assert!((t.agl_m - 40.0).abs() < 1e-9, "{t:?}");
        assert!((t.min_clearance_m - 38.0).abs() < 1e-9, "{t:?}");
        // Above home, or without a DEM: nothing to keep.
        let flat = MissionDoc {
            alt_frame: AltitudeFrame::AboveHome,
            ..doc.clone()
        };
        assert!(planned_terrain(&flat, Some(&dem)).is_none());
        assert!(planned_terrain(&doc, None).is_none());
    }
}
