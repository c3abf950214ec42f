//! Link events into state: MAVLink vehicles (discovery, state, command and mission-transfer
//! results, progress, link loss) and MQTT drones.

use super::control::{confirm_command, fail_command};
use super::refresh::ingest_sample;
use crate::gui::backend::Backend;
use crate::gui::links::{Awaiting, PendingAction};
use crate::gui::state::{AlertKind, AppState, DroneView, LinkDetail};
use aviary_core::{DroneId, DroneStatus, LatLon, MissionEvent, MissionStatus, TelemetrySample};
use aviary_links::mav::{
    CommandOutcome as MavOutcome, LinkEvent, MissionError, MissionItem, MissionOp, VehicleId,
    VehicleState,
};
use aviary_links::mqtt::MqttLinkEvent;

/// Applies one event of link `link`.
pub fn apply_link_event(
    state: &mut AppState,
    backend: &mut Backend,
    link: usize,
    event: LinkEvent,
) {
    let drone_of =
        |backend: &Backend, id: VehicleId| backend.links.by_vehicle.get(&(link, id)).copied();
    match event {
        // The supervisor's events: not yet wired into the desktop (issue 14, in progress).
        LinkEvent::ActionResult { .. }
        | LinkEvent::VehicleIdentified { .. }
        | LinkEvent::Fact { .. } => {}
        LinkEvent::VehicleDiscovered { id, .. } => {
            if drone_of(backend, id).is_none() {
                register_vehicle(state, backend, link, id);
            }
        }
        LinkEvent::State(v) => {
            let Some(drone) = drone_of(backend, v.id) else {
                return;
            };
            vehicle_state(state, backend, drone, &v);
        }
        LinkEvent::Command {
            id,
            command,
            outcome,
        } => {
            let Some(drone) = drone_of(backend, id) else {
                return;
            };
            let Some(p) = backend.links.pending.get(&drone).copied() else {
                return;
            };
            match outcome {
                MavOutcome::Failed(why) => {
                    backend.links.pending.remove(&drone);
                    fail_command(state, backend, p.cmd_id, &why.to_string());
                }
                MavOutcome::Confirmed if p.awaiting == Awaiting::Command(command as u32) => {
                    backend.links.pending.remove(&drone);
                    confirm_command(state, backend, p.cmd_id);
                }
                MavOutcome::Confirmed | MavOutcome::Pending => {}
            }
        }
        LinkEvent::MissionProgress {
            id, done, total, ..
        } => {
            if let Some(drone) = drone_of(backend, id) {
                let label = state.drone_label(drone);
                if done == total || done % 20 == 0 {
                    state.notice(
                        format!("uploading mission to {label}: {done}/{total}"),
                        false,
                    );
                }
            }
        }
        LinkEvent::MissionDone { id, op, result } => {
            let Some(drone) = drone_of(backend, id) else {
                return;
            };
            mission_done(state, backend, drone, op, result);
        }
        LinkEvent::ItemReached { id, seq } => {
            let Some(drone) = drone_of(backend, id) else {
                return;
            };
            item_reached(state, backend, drone, seq);
        }
        LinkEvent::LinkLost { id } => {
            let Some(drone) = drone_of(backend, id) else {
                return;
            };
            let label = state.drone_label(drone);
            if let Some(d) = state.drones.get_mut(&drone) {
                d.link_up = false;
            }
            state.raise_alert(
                AlertKind::LinkLost,
                Some(drone),
                format!("{label}: no heartbeat"),
            );
        }
        LinkEvent::LinkRecovered { id } => {
            if let Some(d) = drone_of(backend, id).and_then(|drone| state.drones.get_mut(&drone)) {
                d.link_up = true;
            }
        }
        LinkEvent::StatusText { id, severity, text } => {
            let Some(drone) = drone_of(backend, id) else {
                return;
            };
            let label = state.drone_label(drone);
            if severity <= 3 {
                state.raise_alert(
                    AlertKind::VehicleFault,
                    Some(drone),
                    format!("{label}: {text}"),
                );
            }
            if let Some(d) = state.drones.get_mut(&drone) {
                d.link.status_text = text;
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

/// A vehicle's state report: link details, and a telemetry sample when it has a position.
fn vehicle_state(state: &mut AppState, backend: &Backend, drone: DroneId, v: &VehicleState) {
    if let Some(d) = state.drones.get_mut(&drone) {
        d.link = LinkDetail {
            gps_fix: v.gps_fix,
            satellites: v.gps_sats,
            sensors_ok: v.gps_fix >= 3 && v.battery_pct.is_none_or(|b| b > 0.0),
            armed: v.armed,
            mode: v.mode.clone(),
            current_item: Some(v.mission_seq),
            status_text: std::mem::take(&mut d.link.status_text),
        };
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

/// A mission transfer ended: after the upload for a start, the start command goes out.
fn mission_done(
    state: &mut AppState,
    backend: &mut Backend,
    drone: DroneId,
    op: MissionOp,
    result: Result<Vec<MissionItem>, MissionError>,
) {
    let Some(p) = backend.links.pending.get(&drone).copied() else {
        return;
    };
    if op != MissionOp::Upload || p.awaiting != Awaiting::Upload {
        return;
    }
    let started = match result {
        Ok(_) => backend
            .links
            .confirming_command(drone, p.action)
            .ok_or_else(|| "no start command".to_owned())
            .and_then(|c| {
                let (handle, vehicle) = backend.links.route(drone).map_err(|e| e.to_string())?;
                handle
                    .action(vehicle, p.action, false)
                    .map_err(|e| e.to_string())?;
                Ok(c)
            }),
        Err(e) => Err(format!("mission upload failed: {e}")),
    };
    match started {
        Ok(c) => {
            backend.links.pending.insert(
                drone,
                PendingAction {
                    awaiting: Awaiting::Command(c),
                    ..p
                },
            );
        }
        Err(why) => {
            backend.links.pending.remove(&drone);
            fail_command(state, backend, p.cmd_id, &why);
        }
    }
}

/// The vehicle reached mission item `seq`: past the last waypoint the mission is finished.
fn item_reached(state: &mut AppState, backend: &mut Backend, drone: DroneId, seq: u16) {
    if let Some(d) = state.drones.get_mut(&drone) {
        d.link.current_item = Some(seq);
    }
    let finished = state
        .missions
        .iter()
        .find(|m| {
            m.drone_id == Some(drone)
                && m.status == MissionStatus::InProgress
                && usize::from(seq) >= m.waypoints.len()
        })
        .map(|m| m.id);
    if let Some(mission) = finished {
        match backend
            .store
            .apply_mission_event(mission, MissionEvent::Finish, None)
        {
            Ok(m) => {
                let _ = backend
                    .store
                    .set_drone_status(drone, DroneStatus::Available);
                state.notice(format!("mission '{}' completed", m.name), false);
                if let Some(slot) = state.missions.iter_mut().find(|x| x.id == m.id) {
                    *slot = m;
                }
            }
            Err(e) => state.notice(format!("mission state: {e}"), true),
        }
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

/// A vehicle nobody knows yet on a configured link: it joins the fleet as a drone at the
/// first site, named after its system id and address.
fn register_vehicle(state: &mut AppState, backend: &mut Backend, link: usize, id: VehicleId) {
    let link_name = format!("mavlink:{id}");
    let existing = state
        .drones
        .values()
        .find(|d| d.drone.link.as_deref() == Some(link_name.as_str()))
        .map(|d| d.drone.id);
    if let Some(drone) = existing {
        backend.links.bind(link, id, drone);
        return;
    }
    let Some(site) = state.sites.first() else {
        return;
    };
    let drone = aviary_core::Drone {
        id: DroneId::new_random(),
        site_id: site.id,
        serial_number: format!("MAV-{}-{}", id.system_id, id.peer.port()),
        model: "MAVLink vehicle".to_owned(),
        status: DroneStatus::Available,
        battery_pct: 100,
        last_seen: Some(state.now),
        home: site.location,
        firmware_version: "unknown".to_owned(),
        link: Some(link_name),
        created_at: state.now,
    };
    match backend.store.insert_drone(&drone) {
        Ok(()) => {
            backend.links.bind(link, id, drone.id);
            state.notice(
                format!(
                    "new vehicle {id} joined the fleet as {}",
                    drone.serial_number
                ),
                false,
            );
        }
        Err(e) => state.notice(format!("cannot register vehicle {id}: {e}"), true),
    }
}
