//! Alerts raised from the live view (low battery, link lost, geofence) and their
//! acknowledgement by the operator.

use super::simulator::sim_log;
use crate::gui::backend::Backend;
use crate::gui::settings::Settings;
use crate::gui::state::{AlertKind, AppState, LINK_LOST_AFTER_S, LOW_BATTERY_PCT};
use aviary_core::{DroneId, LatLon, MissionStatus, SurveyArea};

/// A drone farther than this outside its mission's area (and from home) breaks the geofence.
pub const GEOFENCE_MARGIN_M: f64 = 500.0;

/// Low battery, link lost and geofence alerts from the live view.
pub(super) fn evaluate_alerts(state: &mut AppState) {
    let now = state.now;
    let mut raise: Vec<(AlertKind, DroneId, String)> = Vec::new();
    for (id, d) in &mut state.drones {
        let Some(live) = d.live else { continue };
        if (now - live.time).num_seconds() >= LINK_LOST_AFTER_S {
            if d.link_up {
                d.link_up = false;
                raise.push((
                    AlertKind::LinkLost,
                    *id,
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
                *id,
                format!(
                    "{}: battery {:.0} %",
                    d.drone.serial_number, live.battery_pct
                ),
            ));
        }
    }
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

pub(super) fn acknowledge_alert(state: &mut AppState, id: u64) {
    let now = state.now;
    let Some(alert) = state.alerts.iter_mut().find(|a| a.id == id) else {
        return;
    };
    if alert.acknowledged_at.is_some() {
        return;
    }
    alert.acknowledged_at = Some(now);
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
