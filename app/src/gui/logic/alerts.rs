//! Alerts raised from the live view (low battery, link lost, geofence) and their
//! acknowledgement by the operator; each alert and acknowledgement written to the store's
//! `alerts` table, the open and recent ones read back at start, the history paged from it;
//! new alerts sounded and spoken.

use super::records::store_write;
use super::simulator::sim_log;
use crate::gui::backend::Backend;
use crate::gui::settings::Settings;
use crate::gui::state::{
    ALERT_HISTORY_PAGE, Alert, AlertHistoryQuery, AlertHistoryRow, AlertKind, AlertSeverity,
    AppState, LINK_LOST_AFTER_S, LOW_BATTERY_PCT,
};
use aviary_core::{DroneId, LatLon, MissionId, MissionStatus, SurveyArea};
use aviary_store::{AlertFilter, StoredAlert};
use chrono::{DateTime, Utc};

/// Acknowledged alerts raised this long before a start are shown again beside the open ones.
pub const RESTORE_RECENT_H: i64 = 24;

/// A drone farther than this outside its mission's area (and from home) breaks the geofence.
pub const GEOFENCE_MARGIN_M: f64 = 500.0;

/// How often the alerts walk the whole fleet for links gone quiet, milliseconds of clock
/// time: a link is lost after seconds of silence, so a quarter of a second late is nothing,
/// while a walk over 5,000 drones on every pass held up the positions arriving meanwhile.
pub const FLEET_ALERT_WALK_MS: i64 = 250;

/// Low battery, link lost and geofence alerts from the live view. The drones that got a
/// sample since the last call are checked at once (battery, link back up); the whole fleet
/// every [`FLEET_ALERT_WALK_MS`] (links gone quiet, and a low battery acknowledged but still
/// low is raised again).
pub(super) fn evaluate_alerts(state: &mut AppState) {
    let now = state.now;
    let mut raise: Vec<(AlertKind, DroneId, String)> = Vec::new();
    let walk = state
        .alerts_walked_at
        .is_none_or(|t| now < t || (now - t).num_milliseconds() >= FLEET_ALERT_WALK_MS);
    let mut sampled = std::mem::take(&mut state.sampled_since_alerts);
    if walk {
        state.alerts_walked_at = Some(now);
        for (id, d) in &mut state.drones {
            check_drone(now, *id, d, &mut raise);
        }
    } else {
        sampled.sort_unstable();
        sampled.dedup();
        for id in &sampled {
            if let Some(d) = state.drones.get_mut(id) {
                check_drone(now, *id, d, &mut raise);
            }
        }
    }
    sampled.clear();
    state.sampled_since_alerts = sampled;
    for m in state
        .missions
        .iter()
        .filter(|m| m.status == MissionStatus::InProgress)
    {
        let Some(drone) = m.drone_id.and_then(|id| state.drones.get(&id)) else {
            continue;
        };
        let Some(live) = drone.live else { continue };
        if outside_geofence(&m.survey_area, drone.drone.home, live.pos) {
            raise.push((
                AlertKind::Geofence,
                drone.drone.id,
                format!(
                    "{} left the area of '{}'",
                    drone.drone.serial_number, m.name
                ),
            ));
        }
    }
    for (kind, drone, msg) in raise {
        state.raise_alert(kind, Some(drone), msg);
    }
}

/// One drone's link and battery: a link silent for [`LINK_LOST_AFTER_S`] is lost (once), a
/// recent sample brings it back; a battery under [`LOW_BATTERY_PCT`] is raised.
fn check_drone(
    now: DateTime<Utc>,
    id: DroneId,
    d: &mut crate::gui::state::DroneView,
    raise: &mut Vec<(AlertKind, DroneId, String)>,
) {
    let Some(live) = d.live else { return };
    if (now - live.time).num_seconds() >= LINK_LOST_AFTER_S {
        if d.link_up {
            d.link_up = false;
            raise.push((
                AlertKind::LinkLost,
                id,
                format!(
                    "{}: no telemetry for {LINK_LOST_AFTER_S} s",
                    d.drone.serial_number
                ),
            ));
        }
    } else {
        d.link_up = true;
    }
    if live.battery_pct < LOW_BATTERY_PCT {
        raise.push((
            AlertKind::LowBattery,
            id,
            format!(
                "{}: battery {:.0} %",
                d.drone.serial_number, live.battery_pct
            ),
        ));
    }
}

/// Whether `pos` is more than [`GEOFENCE_MARGIN_M`] outside the area's bounding box and
/// farther than that from home (the transit from home to the area is allowed).
pub fn outside_geofence(area: &SurveyArea, home: LatLon, pos: LatLon) -> bool {
    if area.exterior.is_empty() || pos.distance_m(home) <= GEOFENCE_MARGIN_M {
        return false;
    }
    let (mut s, mut w, mut n, mut e) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for p in &area.exterior {
        s = s.min(p.lat_deg);
        n = n.max(p.lat_deg);
        w = w.min(p.lon_deg);
        e = e.max(p.lon_deg);
    }
    let clamped = LatLon::new(pos.lat_deg.clamp(s, n), pos.lon_deg.clamp(w, e));
    clamped.distance_m(pos) > GEOFENCE_MARGIN_M
}

/// Sounds the alerts raised since the last call: one sound for the batch, that of its most
/// serious unmuted severity (1,000 links lost in one frame are one sound, not 1,000).
pub(super) fn sound_new_alerts(
    state: &AppState,
    backend: &mut Backend,
    settings: &Settings,
    sounded_up_to: &mut u64,
) {
    let newest = state.next_alert_id.saturating_sub(1);
    if newest <= *sounded_up_to {
        return;
    }
    let loudest = state
        .alerts
        .iter()
        .rev()
        .take_while(|a| a.id > *sounded_up_to)
        .filter(|a| a.acknowledged_at.is_none() && settings.sounds(a.severity))
        .map(|a| a.severity)
        .max();
    *sounded_up_to = newest;
    if let Some(severity) = loudest {
        backend.sound.play(severity);
    }
}

/// Speaks the alerts raised since the last call whose severity Settings say to speak: one
/// phrase for the batch, the newest of its most serious severity ("MAV-3: GPS Glitch"), with
/// how many more there are.
pub(super) fn speak_new_alerts(
    state: &AppState,
    backend: &mut Backend,
    settings: &Settings,
    spoken_up_to: &mut u64,
) {
    let newest = state.next_alert_id.saturating_sub(1);
    if newest <= *spoken_up_to {
        return;
    }
    let fresh: Vec<&Alert> = state
        .alerts
        .iter()
        .rev()
        .take_while(|a| a.id > *spoken_up_to)
        .filter(|a| a.acknowledged_at.is_none() && settings.speaks(a.severity))
        .collect();
    *spoken_up_to = newest;
    let Some(top) = fresh.iter().max_by_key(|a| (a.severity, a.id)) else {
        return;
    };
    let phrase = match fresh.len() {
        1 => alert_phrase(state, top),
        n => format!("{}, and {} more", alert_phrase(state, top), n - 1),
    };
    backend.speech.say(&phrase);
}

/// "MAV-3: GPS Glitch": the drone's name, then the message (once, if it names the drone).
pub fn alert_phrase(state: &AppState, alert: &Alert) -> String {
    match alert.drone.map(|d| state.drone_label(d)) {
        Some(who) if !alert.message.contains(&who) => format!("{who}: {}", alert.message),
        _ => alert.message.clone(),
    }
}

/// The mission `drone` is flying (in progress or paused), if any.
fn flying_mission(state: &AppState, drone: Option<DroneId>) -> Option<MissionId> {
    let drone = drone?;
    state
        .missions
        .iter()
        .find(|m| {
            m.drone_id == Some(drone)
                && matches!(m.status, MissionStatus::InProgress | MissionStatus::Paused)
        })
        .map(|m| m.id)
}

/// Writes the alerts raised since the last call to the store (with their acknowledgement, if
/// the operator was quicker than the write). A failed write is shown once per batch.
pub(super) fn save_new_alerts(state: &mut AppState, backend: &Backend, saved_up_to: &mut u64) {
    let newest = state.next_alert_id.saturating_sub(1);
    if newest <= *saved_up_to {
        return;
    }
    let fresh: Vec<StoredAlert> = state
        .alerts
        .iter()
        .filter(|a| a.id > *saved_up_to)
        .map(|a| StoredAlert {
            id: a.id,
            drone: a.drone,
            kind: a.kind.code().to_owned(),
            severity: a.severity.code().to_owned(),
            message: a.message.clone(),
            raised_at: a.time,
            acknowledged_at: a.acknowledged_at,
            acknowledged_by: a.acknowledged_by.clone(),
            mission: flying_mission(state, a.drone),
        })
        .collect();
    *saved_up_to = newest;
    let written = fresh.iter().try_for_each(|a| backend.store.insert_alert(a));
    store_write(state, "alert", written);
}

/// At start: the open alerts of earlier sessions, and those of the last [`RESTORE_RECENT_H`]
/// hours, back on the Monitor; new alerts numbered after the highest stored id. Returns that
/// id (the alerts up to it are saved, and are not sounded or spoken again).
pub(super) fn restore_alerts(state: &mut AppState, backend: &Backend) -> u64 {
    let since = state.now - chrono::Duration::hours(RESTORE_RECENT_H);
    let (stored, max_id) = match (
        backend.store.alerts_to_restore(since),
        backend.store.max_alert_id(),
    ) {
        (Ok(stored), Ok(max_id)) => (stored, max_id),
        (Err(e), _) | (_, Err(e)) => {
            tracing::error!(error = %e, "earlier alerts not read");
            state.notice(format!("earlier alerts not read: {e}"), true);
            return state.next_alert_id.saturating_sub(1);
        }
    };
    for a in stored {
        // A kind from a newer Aviary is kept as a vehicle fault rather than lost.
        let kind = AlertKind::from_code(&a.kind).unwrap_or(AlertKind::VehicleFault);
        state.alerts.push(Alert {
            id: a.id,
            time: a.raised_at,
            kind,
            severity: AlertSeverity::from_code(&a.severity).unwrap_or(kind.severity()),
            drone: a.drone,
            message: a.message,
            acknowledged_at: a.acknowledged_at,
            acknowledged_by: a.acknowledged_by,
        });
    }
    state.next_alert_id = state.next_alert_id.max(max_id + 1);
    state.next_alert_id - 1
}

/// Reads a page of the alert history into the window's state.
pub(super) fn load_alert_history(
    state: &mut AppState,
    backend: &Backend,
    query: AlertHistoryQuery,
) {
    let filter = AlertFilter {
        severity: query.severity.map(|s| s.code().to_owned()),
        drone: query.drone,
    };
    state.alert_history.open = true;
    state.alert_history.query = query;
    match backend
        .store
        .alert_history(&filter, query.page, ALERT_HISTORY_PAGE)
    {
        Ok(page) => {
            state.alert_history.total = page.total;
            state.alert_history.rows = page.alerts.iter().map(|a| history_row(state, a)).collect();
        }
        Err(e) => {
            state.alert_history.rows.clear();
            state.alert_history.total = 0;
            state.notice(format!("alert history: {e}"), true);
        }
    }
}

/// A time in the drone's site's time zone when the drone and its site are known, else UTC.
fn site_time(state: &AppState, drone: Option<DroneId>, t: DateTime<Utc>) -> String {
    let site = drone
        .and_then(|d| state.drones.get(&d))
        .and_then(|d| state.site(d.drone.site_id));
    match site {
        Some(site) => site
            .local_time(t)
            .format("%Y-%m-%d %H:%M:%S %Z")
            .to_string(),
        None => t.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
    }
}

fn history_row(state: &AppState, a: &StoredAlert) -> AlertHistoryRow {
    let acknowledged = match (a.acknowledged_at, &a.acknowledged_by) {
        (Some(at), Some(by)) => format!("{} by {by}", site_time(state, a.drone, at)),
        (Some(at), None) => site_time(state, a.drone, at),
        (None, _) => "open".to_owned(),
    };
    AlertHistoryRow {
        id: a.id,
        raised: site_time(state, a.drone, a.raised_at),
        severity: AlertSeverity::from_code(&a.severity),
        kind: AlertKind::from_code(&a.kind)
            .map_or_else(|| a.kind.clone(), |k| k.label().to_owned()),
        drone: a
            .drone
            .map_or_else(|| "—".to_owned(), |d| state.drone_label(d)),
        message: a.message.clone(),
        acknowledged,
    }
}

/// Acknowledges `ids` (those still open), writes the acknowledgements to the store in one
/// transaction under the operator's name, and refreshes an open history window.
pub(super) fn acknowledge_alerts(state: &mut AppState, backend: &Backend, ids: &[u64]) {
    let acked: Vec<u64> = ids
        .iter()
        .copied()
        .filter(|&id| acknowledge_alert(state, id))
        .collect();
    if acked.is_empty() {
        return;
    }
    let by = state.operator_name();
    let written = backend
        .store
        .acknowledge_alerts(&acked, state.now, Some(by.as_str()));
    store_write(state, "alert acknowledgement", written);
    if state.alert_history.open {
        let query = state.alert_history.query;
        load_alert_history(state, backend, query);
    }
}

/// Acknowledges alert `id` in the window's list; whether it was open.
fn acknowledge_alert(state: &mut AppState, id: u64) -> bool {
    let now = state.now;
    let by = state.operator_name();
    let Some(alert) = state.alerts.iter_mut().find(|a| a.id == id) else {
        return false;
    };
    if alert.acknowledged_at.is_some() {
        return false;
    }
    alert.acknowledged_at = Some(now);
    alert.acknowledged_by = Some(by);
    let (drone, kind) = (alert.drone, alert.kind);
    if let Some(drone) = drone
        && let Some(at) = state.sim.fault_at.get(&drone).copied()
    {
        let reaction_s = (now - at).num_milliseconds() as f64 / 1000.0;
        let label = state.drone_label(drone);
        sim_log(
            state,
            format!(
                "operator acknowledged '{}' on {label} {reaction_s:.1} s after the fault",
                kind.label()
            ),
        );
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geofence_allows_area_and_home() {
        let area = SurveyArea {
            exterior: vec![
                LatLon::new(0.0, 0.0),
                LatLon::new(0.0, 0.01),
                LatLon::new(0.01, 0.01),
                LatLon::new(0.01, 0.0),
            ],
            holes: vec![],
        };
        let home = LatLon::new(-0.05, 0.0);
        assert!(!outside_geofence(&area, home, LatLon::new(0.005, 0.005)));
        assert!(!outside_geofence(&area, home, home.offset_ne(100.0, 0.0)));
        assert!(outside_geofence(&area, home, LatLon::new(0.05, 0.05)));
    }
}
