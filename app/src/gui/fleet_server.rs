//! Logic side of the fleet-server connection: starts the `aviary-links` fleet client on demand,
//! drains its events on the frame's budget, and merges the organisation's drones listed by the
//! server into the app's drone table next to the local ones (never into the local store).

use std::sync::Arc;
use std::time::Instant;

use aviary_core::wire::FleetDrone;
use aviary_core::{Drone, DroneStatus, LatLon, TelemetrySample};
use aviary_links::fleet::{FleetConfig, FleetEvent, FleetLink, FleetSnapshot};

use super::backend::{Backend, FleetClient};
use super::state::{AppState, DroneView, ServerStatus};

/// Events kept waiting between frames (snapshots supersede each other).
const EVENT_CAPACITY: usize = 8;

/// Logs in to `url` (starting the client thread on first use).
pub fn connect(state: &mut AppState, backend: &mut Backend, url: &str, email: &str, pw: &str) {
    let config = match FleetConfig::new(url, email, pw) {
        Ok(c) => c,
        Err(e) => {
            state.server.status = ServerStatus::Failed(e.to_string());
            state.notice(e.to_string(), true);
            return;
        }
    };
    if backend.fleet.is_none() {
        match FleetLink::spawn(Arc::clone(&backend.wake), EVENT_CAPACITY) {
            Ok((link, events)) => backend.fleet = Some(FleetClient { link, events }),
            Err(e) => {
                state.server.status = ServerStatus::Failed(e.to_string());
                state.notice(e.to_string(), true);
                return;
            }
        }
    }
    if let Some(client) = &backend.fleet {
        match client.link.connect(config) {
            Ok(()) => state.server.status = ServerStatus::Connecting,
            Err(e) => {
                state.server.status = ServerStatus::Failed(e.to_string());
                state.notice(e.to_string(), true);
            }
        }
    }
}

/// Stops polling and removes the server's drones from view.
pub fn disconnect(state: &mut AppState, backend: &Backend) {
    if let Some(client) = &backend.fleet
        && let Err(e) = client.link.disconnect()
    {
        state.notice(e.to_string(), true);
    }
    forget_server_drones(state);
    state.server.status = ServerStatus::Disconnected;
}

fn forget_server_drones(state: &mut AppState) {
    state.drones.retain(|_, d| d.server.is_none());
    state.server.sites.clear();
    state.server.missions.clear();
    state.server.updated = None;
}

/// Applies the client's waiting events; stops early when `budget_end` passes. Returns whether
/// events are left.
pub fn drain(state: &mut AppState, backend: &Backend, budget_end: Instant) -> bool {
    let Some(client) = &backend.fleet else {
        return false;
    };
    let mut register_after_login = false;
    while let Ok(event) = client.events.try_recv() {
        match &event {
            // The simulated MQTT fleet joins the organisation's at each login.
            FleetEvent::Connected { .. } => register_after_login = true,
            FleetEvent::Registered { drones, .. } => {
                let elsewhere = drones
                    .iter()
                    .filter(|(id, created)| !created && !backend.is_simulated(*id))
                    .count();
                if elsewhere > 0 {
                    state.notice(
                        format!(
                            "{elsewhere} simulated drone(s) have serial numbers the fleet server \
                             knows under other drone ids: the server will not show them live"
                        ),
                        true,
                    );
                }
            }
            _ => {}
        }
        apply(state, event);
        if std::mem::take(&mut register_after_login) {
            register_sim_fleet(state, backend);
        }
        if Instant::now() > budget_end {
            return true;
        }
    }
    false
}

/// Registers the built-in simulator's MQTT drones on the connected server (nothing unless it
/// flies over MQTT with Settings → Simulator → register on); the outcome arrives as an event.
pub fn register_sim_fleet(state: &mut AppState, backend: &Backend) {
    let Some(client) = &backend.fleet else {
        return;
    };
    match backend.sim_registrations() {
        Ok(registrations) => {
            for r in registrations {
                if let Err(e) = client.link.register(r) {
                    state.notice(format!("cannot register the simulated fleet: {e}"), true);
                }
            }
        }
        Err(e) => state.notice(format!("cannot register the simulated fleet: {e}"), true),
    }
}

fn apply(state: &mut AppState, event: FleetEvent) {
    match event {
        FleetEvent::Connected { role, server, .. } => {
            state.notice(
                format!(
                    "connected to the fleet server {server} as {}",
                    role.as_str()
                ),
                false,
            );
            state.server.status = ServerStatus::Connected { role, server };
        }
        FleetEvent::Snapshot(s) => {
            if matches!(state.server.status, ServerStatus::Connected { .. }) {
                apply_snapshot(state, s);
            }
        }
        FleetEvent::Error { error, retry_in } => {
            let text = match retry_in {
                Some(d) => format!("{error} (retrying in {} s)", d.as_secs()),
                None => error.to_string(),
            };
            // Repeated failures of a retrying connection are shown once in the panel, not as
            // a notice each second.
            let first = !matches!(&state.server.status, ServerStatus::Failed(t) if *t == text);
            if first {
                state.notice(text.clone(), true);
            }
            if retry_in.is_none() {
                forget_server_drones(state);
            }
            state.server.status = ServerStatus::Failed(text);
        }
        FleetEvent::Registered { drones, .. } => {
            state.notice(
                format!("{} drone(s) registered on the fleet server", drones.len()),
                false,
            );
        }
        FleetEvent::Disconnected => state.server.status = ServerStatus::Disconnected,
    }
}

/// Merges a listing: server drones are added, updated or removed; a drone the local store
/// also holds stays local (its own link is the fresher source).
pub fn apply_snapshot(state: &mut AppState, snapshot: FleetSnapshot) {
    let server = match &state.server.status {
        ServerStatus::Connected { server, .. } => server.clone(),
        _ => String::new(),
    };
    let listed: std::collections::BTreeSet<_> =
        snapshot.drones.iter().map(|d| d.drone_id).collect();
    state
        .drones
        .retain(|id, d| d.server.is_none() || listed.contains(id));
    for fd in &snapshot.drones {
        let site_name = snapshot
            .sites
            .iter()
            .find(|s| s.site_id == fd.site_id)
            .map(|s| s.name.clone())
            .unwrap_or_default();
        match state.drones.get_mut(&fd.drone_id) {
            Some(v) if v.server.is_none() => {}
            Some(v) => {
                v.drone = to_drone(fd, state.now);
                v.site_name = site_name;
                update_live(v, fd);
            }
            None => {
                let mut v = DroneView::new(to_drone(fd, state.now), site_name);
                v.server = Some(server.clone());
                update_live(&mut v, fd);
                state.drones.insert(fd.drone_id, v);
            }
        }
    }
    state.server.sites = snapshot.sites;
    state.server.missions = snapshot.missions;
    state.server.updated = Some(state.now);
}

fn to_drone(fd: &FleetDrone, now: chrono::DateTime<chrono::Utc>) -> Drone {
    let status = if fd.online {
        DroneStatus::parse(&fd.status).unwrap_or(DroneStatus::Available)
    } else {
        DroneStatus::Offline
    };
    let home = LatLon::checked(fd.home.lat, fd.home.lon).unwrap_or(LatLon::new(0.0, 0.0));
    Drone {
        id: fd.drone_id,
        site_id: fd.site_id,
        serial_number: fd.serial_number.clone(),
        model: fd.model.clone(),
        status,
        battery_pct: fd
            .battery_level
            .map_or(0, |b| b.clamp(0.0, 100.0).round() as u8),
        last_seen: fd.last_seen,
        home,
        firmware_version: fd.firmware_version.clone(),
        link: Some("fleet server".into()),
        created_at: now,
    }
}

/// A newer latest sample becomes the drone's live sample (trail and plots included).
fn update_live(v: &mut DroneView, fd: &FleetDrone) {
    v.link_up = fd.online;
    let (Some(p), Some(t)) = (fd.position, fd.last_seen) else {
        return;
    };
    let Ok(pos) = LatLon::checked(p.lat, p.lon) else {
        return;
    };
    if v.live.is_some_and(|l| l.time >= t) {
        return;
    }
    let vel = fd.velocity.unwrap_or(aviary_core::wire::WireVelocity {
        speed: 0.0,
        heading: 0.0,
    });
    v.push_sample(TelemetrySample {
        time: t,
        mission_id: fd.mission_id,
        drone_id: fd.drone_id,
        pos,
        alt_rel_m: p.altitude,
        speed_mps: vel.speed,
        heading_deg: vel.heading,
        battery_pct: fd.battery_level.unwrap_or(0.0),
        signal_pct: if fd.online { 100.0 } else { 0.0 },
        status: v.drone.status,
    });
    v.link_up = fd.online;
}

#[cfg(test)]
mod tests {
    use super::*;
    use aviary_core::auth::Role;
    use aviary_core::wire::{FleetSite, WireLatLon, WirePosition};
    use aviary_core::{DroneId, SiteId};
    use chrono::{DateTime, Duration};

    fn t0() -> DateTime<chrono::Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    fn fleet_drone(id: DroneId, site: SiteId, t: DateTime<chrono::Utc>, lat: f64) -> FleetDrone {
        FleetDrone {
            drone_id: id,
            site_id: site,
            serial_number: "SIM-0001".into(),
            model: "Aviary SimCopter".into(),
            status: "available".into(),
            online: true,
            battery_level: Some(87.4),
            last_seen: Some(t),
            home: WireLatLon {
                lat: 47.0,
                lon: 8.0,
            },
            firmware_version: String::new(),
            position: Some(WirePosition {
                lat,
                lon: 8.0,
                altitude: 30.0,
            }),
            velocity: None,
            mission_id: None,
        }
    }

    #[test]
    fn snapshots_add_update_and_remove_server_drones_only() {
        let mut state = AppState::new(t0());
        state.server.status = ServerStatus::Connected {
            role: Role::Analyst,
            server: "http://fleet".into(),
        };
        let site = SiteId::new_random();
        let sites = vec![FleetSite {
            site_id: site,
            name: "Zurich field".into(),
            location: WireLatLon {
                lat: 47.0,
                lon: 8.0,
            },
            timezone: "Europe/Zurich".into(),
        }];
        // A local drone with the same id as a listed one stays local.
        let local_id = DroneId::new_random();
        let mut local = to_drone(&fleet_drone(local_id, site, t0(), 47.0), t0());
        local.serial_number = "LOCAL".into();
        state
            .drones
            .insert(local_id, DroneView::new(local, "here".into()));
        let remote = DroneId::new_random();
        apply_snapshot(
            &mut state,
            FleetSnapshot {
                sites: sites.clone(),
                drones: vec![
                    fleet_drone(remote, site, t0(), 47.0),
                    fleet_drone(local_id, site, t0(), 47.5),
                ],
                missions: vec![aviary_core::wire::FleetMission {
                    mission_id: aviary_core::MissionId::new_random(),
                    site_id: site,
                    drone_id: Some(remote),
                    name: "Roof".into(),
                    status: aviary_core::MissionStatus::Planned,
                    scheduled_start: Some(t0()),
                    actual_start: None,
                    actual_end: None,
                    estimated_duration: 600.0,
                    estimated_distance: 2_500.0,
                }],
            },
        );
        assert_eq!(
            state.server.missions.len(),
            1,
            "the server's missions are kept"
        );
        assert_eq!(state.server.missions[0].name, "Roof");
        let v = &state.drones[&remote];
        assert_eq!(v.server.as_deref(), Some("http://fleet"));
        assert_eq!(v.site_name, "Zurich field");
        assert_eq!(v.drone.battery_pct, 87);
        assert!(v.link_up);
        assert_eq!(v.live.map(|s| s.pos.lat_deg), Some(47.0));
        assert_eq!(state.drones[&local_id].drone.serial_number, "LOCAL");
        assert!(state.drones[&local_id].server.is_none());
        assert_eq!(state.server.site_tz(site), Some(chrono_tz::Europe::Zurich));

        // A newer sample moves it and extends the trail; an older one is ignored.
        apply_snapshot(
            &mut state,
            FleetSnapshot {
                sites: sites.clone(),
                drones: vec![fleet_drone(
                    remote,
                    site,
                    t0() + Duration::seconds(1),
                    47.001,
                )],
                missions: Vec::new(),
            },
        );
        apply_snapshot(
            &mut state,
            FleetSnapshot {
                sites: sites.clone(),
                drones: vec![fleet_drone(remote, site, t0(), 46.0)],
                missions: Vec::new(),
            },
        );
        let v = &state.drones[&remote];
        assert_eq!(v.live.map(|s| s.pos.lat_deg), Some(47.001));
        assert_eq!(v.trail.len(), 2);

        // Offline on the broker shows as offline.
        let mut gone = fleet_drone(remote, site, t0() + Duration::seconds(2), 47.001);
        gone.online = false;
        apply_snapshot(
            &mut state,
            FleetSnapshot {
                sites: sites.clone(),
                drones: vec![gone],
                missions: Vec::new(),
            },
        );
        assert_eq!(state.drones[&remote].drone.status, DroneStatus::Offline);
        assert!(!state.drones[&remote].link_up);

        // No longer listed: removed; the local drone stays.
        apply_snapshot(
            &mut state,
            FleetSnapshot {
                sites,
                drones: Vec::new(),
                missions: Vec::new(),
            },
        );
        assert!(!state.drones.contains_key(&remote));
        assert!(state.drones.contains_key(&local_id));
    }

    #[test]
    fn a_refused_login_clears_the_server_fleet() {
        let mut state = AppState::new(t0());
        state.server.status = ServerStatus::Connected {
            role: Role::Admin,
            server: "http://fleet".into(),
        };
        let site = SiteId::new_random();
        apply_snapshot(
            &mut state,
            FleetSnapshot {
                sites: Vec::new(),
                drones: vec![fleet_drone(DroneId::new_random(), site, t0(), 47.0)],
                missions: Vec::new(),
            },
        );
        assert_eq!(state.drones.len(), 1);
        apply(
            &mut state,
            FleetEvent::Error {
                error: aviary_links::fleet::FleetError::LoginRefused(
                    "wrong e-mail or password".into(),
                ),
                retry_in: None,
            },
        );
        assert!(state.drones.is_empty());
        assert!(
            matches!(&state.server.status, ServerStatus::Failed(t) if t.contains("wrong e-mail"))
        );
        assert_eq!(state.notices.len(), 1);
        // A retrying failure repeated each second is noticed once.
        for _ in 0..3 {
            apply(
                &mut state,
                FleetEvent::Error {
                    error: aviary_links::fleet::FleetError::Timeout {
                        path: "/api/v1/drones".into(),
                        timeout_s: 5,
                    },
                    retry_in: Some(std::time::Duration::from_secs(2)),
                },
            );
        }
        assert_eq!(state.notices.len(), 2);
    }
}
