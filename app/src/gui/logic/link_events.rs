//! Link events into state: MAVLink vehicles (identity, state, action results, progress, link
//! loss — each also a fact for the drone's supervisor) and MQTT drones; the links of Settings
//! applied at once.

use super::control::confirm_command;
use super::records::fail_command;
use super::refresh::ingest_sample;
use super::supervision;
use crate::gui::backend::Backend;
use crate::gui::settings::Settings;
use crate::gui::state::{AlertKind, AppState, Attitude, DroneView, TerrainStatus};
use aviary_core::vehicle::LandedState;
use aviary_core::{DroneId, DroneStatus, LatLon, TelemetrySample};
use aviary_links::mav::{LinkEvent, VehicleId, VehicleState};
use aviary_links::mqtt::MqttLinkEvent;
use std::sync::Arc;

/// Applies one event of link `link`. Every event of a vehicle bound to a drone feeds that
/// drone's mission supervisor ([`supervision::on_link_event`]); what is shown besides (link
/// details, telemetry, notices) is done here.
pub fn apply_link_event(
    state: &mut AppState,
    backend: &mut Backend,
    link: usize,
    event: LinkEvent,
) {
    let drone_of =
        |backend: &Backend, id: VehicleId| backend.links.by_vehicle.get(&(link, id)).copied();
    if let Some(id) = event_vehicle(&event)
        && let Some(drone) = drone_of(backend, id)
    {
        supervision::on_link_event(state, backend, drone, &event);
    }
    match event {
        LinkEvent::VehicleIdentified { id, uid, .. } => {
            if drone_of(backend, id).is_none() {
                identify_vehicle(state, backend, link, id, uid, false);
            }
        }
        // A vehicle joins the fleet once identified (by its autopilot's uid where it has
        // one), so a restarted vehicle on a new port is not a new drone.
        LinkEvent::VehicleDiscovered { .. }
        | LinkEvent::Fact { .. }
        | LinkEvent::Command { .. }
        | LinkEvent::MissionDone { .. } => {}
        LinkEvent::State(v) => {
            let Some(drone) = drone_of(backend, v.id) else {
                // A new vehicle waiting for its first position to be placed.
                if let Some((uid, since)) = backend.links.unplaced.get(&(link, v.id)).copied()
                    && (v.pos.is_some() || (state.now - since).num_seconds() >= PLACE_WAIT_S)
                {
                    backend.links.unplaced.remove(&(link, v.id));
                    identify_vehicle(state, backend, link, v.id, uid, true);
                }
                return;
            };
            vehicle_state(state, backend, drone, &v);
        }
        LinkEvent::ActionResult {
            id,
            request,
            result,
        } => {
            if let (Some(drone), Err(f)) = (drone_of(backend, id), &result) {
                let label = state.drone_label(drone);
                state.notice(
                    format!("{label}: {request} {}", crate::flight::failure_words(f)),
                    true,
                );
            }
        }
        LinkEvent::MissionProgress {
            id, done, total, ..
        } => {
            if let Some(drone) = drone_of(backend, id) {
                let label = state.drone_label(drone);
                if done == total {
                    state.notice(format!("mission uploaded to {label}: {total} items"), false);
                } else if done % 20 == 0 {
                    state.notice(
                        format!("uploading mission to {label}: {done}/{total}"),
                        false,
                    );
                }
            }
        }
        LinkEvent::ItemReached { id, seq } => {
            if let Some(d) = drone_of(backend, id).and_then(|drone| state.drones.get_mut(&drone)) {
                d.link.current_item = Some(seq);
            }
        }
        LinkEvent::LinkLost { id } => {
            if let Some(d) = drone_of(backend, id).and_then(|drone| state.drones.get_mut(&drone)) {
                d.link_up = false;
            }
        }
        LinkEvent::LinkRecovered { id } => {
            if let Some(d) = drone_of(backend, id).and_then(|drone| state.drones.get_mut(&drone)) {
                d.link_up = true;
            }
        }
        LinkEvent::StatusText { id, severity, text } => {
            // Alerts for the vehicle's warnings come from its supervisor, with their reason;
            // every message is kept for the flight display.
            let now = state.now;
            if let Some(d) = drone_of(backend, id).and_then(|drone| state.drones.get_mut(&drone)) {
                d.link.push_message(now, severity, text);
            }
        }
        LinkEvent::TransportError(e) => {
            let address = backend
                .links
                .links
                .get(link)
                .map(|l| l.address.clone())
                .unwrap_or_default();
            state.notice(format!("link {address}: {e}"), true);
        }
    }
}

/// The vehicle an event is about.
const fn event_vehicle(event: &LinkEvent) -> Option<VehicleId> {
    match event {
        LinkEvent::VehicleDiscovered { id, .. }
        | LinkEvent::Command { id, .. }
        | LinkEvent::MissionProgress { id, .. }
        | LinkEvent::MissionDone { id, .. }
        | LinkEvent::ItemReached { id, .. }
        | LinkEvent::LinkLost { id }
        | LinkEvent::LinkRecovered { id }
        | LinkEvent::StatusText { id, .. }
        | LinkEvent::ActionResult { id, .. }
        | LinkEvent::VehicleIdentified { id, .. }
        | LinkEvent::Fact { id, .. } => Some(*id),
        LinkEvent::State(v) => Some(v.id),
        LinkEvent::TransportError(_) => None,
    }
}

/// A vehicle's state report: link details, and a telemetry sample when it has a position.
fn vehicle_state(state: &mut AppState, backend: &mut Backend, drone: DroneId, v: &VehicleState) {
    if let Some(d) = state.drones.get_mut(&drone) {
        let l = &mut d.link;
        l.gps_fix = v.gps_fix;
        l.satellites = v.gps_sats;
        l.sensors_ok = v.gps_fix >= 3 && v.battery_pct.is_none_or(|b| b > 0.0);
        l.armed = v.armed;
        l.mode.clone_from(&v.mode);
        l.current_item = Some(v.mission_seq);
        l.mission_total = v.mission_total;
        l.attitude = v.attitude.map(|a| Attitude {
            roll_deg: a.roll_deg,
            pitch_deg: a.pitch_deg,
            yaw_deg: a.yaw_deg,
        });
        l.alt_amsl_m = v.pos.map(|_| v.alt_amsl_m);
        l.climb_mps = v.climb_mps;
        l.battery_pct = v.battery_pct;
        l.battery_v = v.battery_v;
        l.battery_current_a = v.battery_current_a;
        l.home = v.home;
        l.link_quality_pct = Some(v.link_quality_pct);
        landed_words(v.landed).clone_into(&mut l.landed);
        l.terrain = v.terrain.map(|t| TerrainStatus {
            terrain_height_m: t.has_data().then_some(t.terrain_height_m),
            above_terrain_m: t.has_data().then_some(t.current_height_m),
            pending: t.pending,
            loaded: t.loaded,
        });
    }
    let Some(pos) = v.pos else { return };
    let last_battery = state
        .drones
        .get(&drone)
        .map_or(100.0, DroneView::battery_pct);
    let status = state
        .drones
        .get(&drone)
        .map_or(DroneStatus::Available, |d| d.drone.status);
    let sample = TelemetrySample {
        time: state.now,
        mission_id: None,
        drone_id: drone,
        pos,
        alt_rel_m: v.alt_rel_m,
        speed_mps: v.ground_speed_mps,
        heading_deg: v.heading_deg,
        battery_pct: v.battery_pct.unwrap_or(last_battery),
        signal_pct: v.link_quality_pct,
        status,
    };
    ingest_sample(state, backend, sample);
}

/// The vehicle's landed state in words.
const fn landed_words(landed: LandedState) -> &'static str {
    match landed {
        LandedState::Unknown => "unknown",
        LandedState::OnGround => "on the ground",
        LandedState::InAir => "in the air",
        LandedState::Takeoff => "taking off",
        LandedState::Landing => "landing",
    }
}

/// Applies one event of MQTT broker `broker`.
pub(super) fn apply_mqtt_event(
    state: &mut AppState,
    backend: &mut Backend,
    broker: usize,
    event: MqttLinkEvent,
) {
    let url = backend
        .links
        .mqtt
        .get(broker)
        .map(|b| b.url.clone())
        .unwrap_or_default();
    match event {
        MqttLinkEvent::Connected => state.notice(format!("connected to {url}"), false),
        MqttLinkEvent::ConnectionLost { error } => state.notice(format!("{url}: {error}"), true),
        MqttLinkEvent::Telemetry(t) => {
            if !state.drones.contains_key(&t.drone_id) {
                return;
            }
            backend.links.mqtt_drones.insert(t.drone_id, broker);
            let status = state
                .drones
                .get(&t.drone_id)
                .map_or(DroneStatus::Available, |d| d.drone.status);
            let Ok(pos) = LatLon::checked(t.position.lat, t.position.lon) else {
                return;
            };
            let sample = TelemetrySample {
                time: state.now,
                mission_id: None,
                drone_id: t.drone_id,
                pos,
                alt_rel_m: t.position.altitude,
                speed_mps: t.velocity.speed,
                heading_deg: t.velocity.heading,
                battery_pct: t.battery,
                signal_pct: 100.0,
                status,
            };
            ingest_sample(state, backend, sample);
        }
        MqttLinkEvent::DroneOnline(id) => {
            backend.links.mqtt_drones.insert(id, broker);
            if let Some(d) = state.drones.get_mut(&id) {
                d.link_up = true;
            }
        }
        MqttLinkEvent::DroneOffline { drone_id, .. } => {
            if let Some(d) = state.drones.get_mut(&drone_id) {
                d.link_up = false;
                let label = d.drone.serial_number.clone();
                state.raise_alert(
                    AlertKind::LinkLost,
                    Some(drone_id),
                    format!("{label}: offline on {url}"),
                );
            }
        }
        MqttLinkEvent::Command(report) => {
            let Some(cmd_id) = backend.links.mqtt_commands.remove(&report.cmd_id) else {
                return;
            };
            match report.outcome {
                aviary_links::mqtt::CommandOutcome::Executed => {
                    confirm_command(state, backend, cmd_id);
                }
                aviary_links::mqtt::CommandOutcome::Rejected { detail } => {
                    fail_command(state, backend, cmd_id, &format!("rejected: {detail}"));
                }
                aviary_links::mqtt::CommandOutcome::Unacknowledged => {
                    fail_command(state, backend, cmd_id, "no acknowledgement (not resent)");
                }
            }
        }
        MqttLinkEvent::Malformed { topic, error } => {
            state.notice(format!("{url} {topic}: {error}"), true);
        }
    }
}

/// The serial number of a `MAVLink` vehicle: its autopilot's unique id (as `aviary fly`
/// names it), else its system id on its link (never its UDP port).
pub fn vehicle_serial(link_address: &str, id: VehicleId, uid: Option<u64>) -> String {
    match uid {
        Some(u) => format!("MAV-{u:016X}"),
        None => format!("MAV-{link_address}-{}", id.system_id),
    }
}

/// A vehicle identified on a link and bound to no drone yet: a known drone (same autopilot
/// uid, or same link and system id without one) is rebound to it — a restarted UDP vehicle
/// comes back on a new port; an unknown one joins the fleet at the site nearest its
/// position (once it reports one: until then it waits in `unplaced`, at most
/// [`PLACE_WAIT_S`]).
/// How long a new vehicle may take to report a position before it is filed under the first
/// site, seconds.
const PLACE_WAIT_S: i64 = 10;

fn identify_vehicle(
    state: &mut AppState,
    backend: &mut Backend,
    link: usize,
    id: VehicleId,
    uid: Option<u64>,
    waited: bool,
) {
    let Some(address) = backend.links.links.get(link).map(|l| l.address.clone()) else {
        return;
    };
    let serial = vehicle_serial(&address, id, uid);
    let known = backend
        .joining
        .iter()
        .find(|d| d.serial_number == serial)
        .map(|d| d.id)
        .or_else(|| {
            backend
                .store
                .drone_by_serial(&serial)
                .ok()
                .flatten()
                .map(|d| d.id)
        });
    if let Some(drone) = known {
        let was = backend.links.by_drone.get(&drone).copied();
        backend.links.bind(link, id, drone);
        supervision::seed_from_link(state, backend, drone);
        if was.is_some_and(|(_, old)| old != id) {
            state.notice(format!("{serial} is back on {id}"), false);
        }
        return;
    }
    let pos = backend
        .links
        .links
        .get(link)
        .and_then(|l| l.handle.vehicle(id))
        .and_then(|v| v.pos);
    if pos.is_none() && !waited {
        backend.links.unplaced.insert((link, id), (uid, state.now));
        return;
    }
    let site = match pos {
        Some(p) => state.sites.iter().min_by(|a, b| {
            a.location
                .distance_m(p)
                .total_cmp(&b.location.distance_m(p))
        }),
        None => state.sites.first(),
    };
    let Some(site) = site else {
        state.notice(
            format!("vehicle {serial} heard on {address}, but there is no site to file it under"),
            true,
        );
        return;
    };
    let drone = aviary_core::Drone {
        id: DroneId::new_random(),
        site_id: site.id,
        serial_number: serial,
        model: "MAVLink vehicle".to_owned(),
        status: DroneStatus::Available,
        battery_pct: 100,
        last_seen: Some(state.now),
        home: pos.unwrap_or(site.location),
        firmware_version: "unknown".to_owned(),
        link: Some(address),
        created_at: state.now,
    };
    // Bound and shown now, so the rest of this pass's events reach it; filed in the store at
    // the pass's end with the others that joined in it (`file_joined`).
    let site_name = site.name.clone();
    backend.links.bind(link, id, drone.id);
    state
        .drones
        .insert(drone.id, DroneView::new(drone.clone(), site_name));
    backend.joining.push(drone.clone());
    supervision::seed_from_link(state, backend, drone.id);
}

/// Files the vehicles that joined in this pass in the store, one transaction for all (a
/// fleet powering up joins a thousand a second; one transaction each would wait for the disk
/// a thousand times). A drone the store refuses is unbound and leaves the fleet view, with its
/// samples of this pass, and the notice says why; the link identifies it again when it next
/// says who it is. One notice for the pass names the newcomers.
pub(super) fn file_joined(state: &mut AppState, backend: &mut Backend) {
    if backend.joining.is_empty() {
        return;
    }
    let joining = std::mem::take(&mut backend.joining);
    let outcomes: Vec<Result<(), String>> = match backend.store.insert_drones(&joining) {
        Ok(outcomes) => outcomes
            .into_iter()
            .map(|o| o.map_err(|e| e.to_string()))
            .collect(),
        Err(e) => {
            let e = e.to_string();
            joining.iter().map(|_| Err(e.clone())).collect()
        }
    };
    let mut filed: Vec<&aviary_core::Drone> = Vec::with_capacity(joining.len());
    for (drone, outcome) in joining.iter().zip(outcomes) {
        match outcome {
            Ok(()) => filed.push(drone),
            Err(e) => {
                backend.links.unbind(drone.id);
                state.drones.remove(&drone.id);
                state.supervised.remove(&drone.id);
                backend.telemetry_pass.retain(|s| s.drone_id != drone.id);
                state.notice(
                    format!("cannot register vehicle {}: {e}", drone.serial_number),
                    true,
                );
            }
        }
    }
    let site_of = |d: &aviary_core::Drone| {
        state
            .sites
            .iter()
            .find(|s| s.id == d.site_id)
            .map_or_else(String::new, |s| s.name.clone())
    };
    let text = match filed.as_slice() {
        [] => return,
        [one] => format!(
            "new vehicle joined the fleet as {} at {}",
            one.serial_number,
            site_of(one)
        ),
        [first, .., last] => format!(
            "{} new vehicles joined the fleet ({} … {})",
            filed.len(),
            first.serial_number,
            last.serial_number
        ),
    };
    state.notice(text, false);
}

/// Applies the `MAVLink` links of `settings` at once: opens the new ones, stops the removed
/// ones (a changed address is both), with a notice each.
pub fn apply_link_settings(state: &mut AppState, backend: &mut Backend, settings: &Settings) {
    let wanted: Vec<String> = settings
        .links
        .iter()
        .map(|a| a.trim().to_owned())
        .filter(|a| !a.is_empty())
        .collect();
    let configured: Vec<(usize, String)> = backend
        .links
        .links
        .iter()
        .enumerate()
        .filter(|(i, l)| !l.closed && Some(*i) != backend.sim_link)
        .map(|(i, l)| (i, l.address.clone()))
        .collect();
    for (i, address) in &configured {
        if !wanted.contains(address)
            && let Some(address) = backend.links.close(*i)
        {
            state.notice(format!("link {address} stopped"), false);
        }
    }
    for address in wanted {
        if configured.iter().any(|(_, a)| *a == address) {
            continue;
        }
        match backend.links.open(&address, Arc::clone(&backend.wake)) {
            Ok(_) => state.notice(format!("link {address} started"), false),
            Err(e) => state.notice(format!("cannot open link {address}: {e}"), true),
        }
    }
}
