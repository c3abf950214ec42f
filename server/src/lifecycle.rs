//! The one place that changes a mission's state after it was created.
//!
//! Every change — an operator's command once the drone executed it, the drone's own report that
//! it finished and landed, its link going down, a pause that timed out, a deletion — is an
//! [`MissionEvent`] checked by the core's [`MissionLifecycle`] against the row as it is now
//! (read `FOR UPDATE` inside the caller's transaction, so two instances never both apply one),
//! written back with the timestamps the lifecycle sets, and recorded in `mission_transitions`
//! with its cause. The drone's status follows: busy while the mission is active, available once
//! it ended — except after an abort or RTH, where the drone stays busy until its own telemetry
//! shows it on the ground ([`drone_landed`]).
//!
//! What the drone says over MQTT is mapped to [`aviary_core::vehicle::VehicleFact`]s where the
//! payload carries them ([`facts_of`]: motion, battery), and [`on_ground`] decides touchdown as
//! the supervisor does when the autopilot sends no landed state (disarmed is not on the wire,
//! so altitude and speed decide).

use aviary_core::supervisor::MissionPhase;
use aviary_core::vehicle::VehicleFact;
use aviary_core::wire::TelemetryUpdate;
use aviary_core::{
    DroneId, MissionEvent, MissionId, MissionLifecycle, MissionStatus, OrgId, UserId,
};
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

use crate::error::ServerError;

/// Highest altitude above home, metres, at which a drone reporting no landed state counts as on
/// the ground: touchdown, not the last half metre of the descent (`LAND_SPEED` is 0.5 m/s).
pub const GROUND_ALT_M: f64 = 0.1;
/// Highest ground speed, m/s, at which a drone counts as stopped on the ground.
pub const GROUND_SPEED_MPS: f64 = 0.3;

/// The facts one MQTT telemetry sample carries (the rest of the supervisor's vocabulary —
/// mode, armed, landed state, mission item — is not on this wire).
pub fn facts_of(t: &TelemetryUpdate) -> [VehicleFact; 2] {
    [
        VehicleFact::Motion {
            alt_rel_m: t.position.altitude,
            ground_speed_mps: t.velocity.speed,
        },
        VehicleFact::Battery {
            remaining_pct: Some(t.battery),
            voltage_v: None,
        },
    ]
}

/// Touchdown as the supervisor infers it without `EXTENDED_SYS_STATE`: low and still.
pub fn on_ground(t: &TelemetryUpdate) -> bool {
    facts_of(t).iter().any(|f| {
        matches!(f, VehicleFact::Motion { alt_rel_m, ground_speed_mps }
            if *alt_rel_m <= GROUND_ALT_M && *ground_speed_mps <= GROUND_SPEED_MPS)
    })
}

/// One applied change.
#[derive(Debug, Clone)]
pub struct Change {
    /// The mission's organisation.
    pub org: OrgId,
    /// Its drone, if assigned.
    pub drone: Option<DroneId>,
    /// Status before.
    pub from: MissionStatus,
    /// Status after.
    pub to: MissionStatus,
    /// The lifecycle after the event (timestamps).
    pub lifecycle: MissionLifecycle,
}

/// What [`apply`] did.
#[derive(Debug, Clone)]
pub enum Applied {
    /// The mission moved.
    Changed(Change),
    /// The lifecycle does not allow the event in the mission's current state.
    Refused(aviary_core::TransitionError),
    /// No such mission (in the given organisation).
    Missing,
}

/// Who asked for a change and why, as stored with the transition.
#[derive(Debug, Clone, Copy)]
pub struct Cause<'a> {
    /// The operator, for a command; `None` for the drone or the server itself.
    pub user: Option<UserId>,
    /// In words: `operator: pause`, `drone: completed and landed`, `drone offline`.
    pub text: &'a str,
}

/// The finer phase a status change lands in (for the transitions' `phase`).
fn phase_of(event: MissionEvent, to: MissionStatus) -> MissionPhase {
    match (event, to) {
        // An abort or RTH sends the vehicle home: the mission ended, the flight has not.
        (MissionEvent::Abort, _) => MissionPhase::Returning,
        (_, to) => MissionPhase::from_status(to),
    }
}

/// Applies `event` to `mission` inside the caller's transaction `c` (see the module docs).
#[expect(
    clippy::too_many_arguments,
    reason = "one call site shape per caller, all named"
)]
pub async fn apply<C: GenericClient>(
    c: &C,
    mission: MissionId,
    org: Option<OrgId>,
    event: MissionEvent,
    now: DateTime<Utc>,
    cause: Cause<'_>,
    reason: Option<aviary_core::mission::FailureReason>,
    drone_busy_until_landed: bool,
) -> Result<Applied, ServerError> {
    let Some(r) = c
        .query_opt(
            "SELECT org_id, drone_id, status, actual_start, actual_end, paused_at FROM missions
             WHERE mission_id = $1 AND ($2::uuid IS NULL OR org_id = $2) FOR UPDATE",
            &[&mission.0, &org.map(|o| o.0)],
        )
        .await?
    else {
        return Ok(Applied::Missing);
    };
    let org = OrgId(r.get(0));
    let drone = r.get::<_, Option<uuid::Uuid>>(1).map(DroneId);
    let Some(from) = MissionStatus::parse(r.get(2)) else {
        return Ok(Applied::Missing);
    };
    let mut l = MissionLifecycle::restore(from, r.get(3), r.get(4), r.get(5));
    let to = match l.handle(event, now) {
        Ok(to) => to,
        Err(e) => return Ok(Applied::Refused(e)),
    };
    c.execute(
        "UPDATE missions SET status = $2, actual_start = $3, actual_end = $4, paused_at = $5, updated_at = now()
         WHERE mission_id = $1",
        &[&mission.0, &to.as_str(), &l.actual_start(), &l.actual_end(), &l.paused_at()],
    )
    .await?;
    let reason = reason
        .or_else(|| l.failure())
        .map(aviary_core::mission::FailureReason::as_str);
    c.execute(
        "INSERT INTO mission_transitions (mission_id, org_id, at, from_status, to_status, phase, cause, reason, user_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        &[
            &mission.0,
            &org.0,
            &now,
            &from.as_str(),
            &to.as_str(),
            &phase_of(event, to).as_str(),
            &cause.text,
            &reason,
            &cause.user.map(|u| u.0),
        ],
    )
    .await?;
    if let Some(d) = drone {
        if to.is_active() || drone_busy_until_landed {
            c.execute(
                "UPDATE drones SET status = 'in_mission' WHERE drone_id = $1 AND status <> 'maintenance'",
                &[&d.0],
            )
            .await?;
        } else if to != MissionStatus::Deleted {
            c.execute(
                "UPDATE drones SET status = 'available' WHERE drone_id = $1 AND status = 'in_mission'",
                &[&d.0],
            )
            .await?;
        }
    }
    Ok(Applied::Changed(Change {
        org,
        drone,
        from,
        to,
        lifecycle: l,
    }))
}

/// The drone's telemetry for `mission` shows it on the ground after the mission's flight: the
/// touchdown is recorded once (phase `landed`), and a drone no longer flying a mission is
/// available again (after an abort or RTH kept it busy while it flew home). Returns whether
/// the drone's status changed.
pub async fn drone_landed<C: GenericClient>(
    c: &C,
    drone: DroneId,
    mission: MissionId,
    now: DateTime<Utc>,
) -> Result<bool, ServerError> {
    c.execute(
        "INSERT INTO mission_transitions (mission_id, org_id, at, from_status, to_status, phase, cause)
         SELECT m.mission_id, m.org_id, $3, m.status, m.status, 'landed', 'drone: on the ground'
         FROM missions m WHERE m.mission_id = $1 AND m.drone_id = $2 AND m.actual_start IS NOT NULL
         AND NOT EXISTS (SELECT 1 FROM mission_transitions t WHERE t.mission_id = $1 AND t.phase = 'landed')",
        &[&mission.0, &drone.0, &now],
    )
    .await?;
    let n = c
        .execute(
            "UPDATE drones d SET status = 'available' WHERE d.drone_id = $1 AND d.status = 'in_mission'
             AND NOT EXISTS (SELECT 1 FROM missions m WHERE m.drone_id = $1 AND m.status IN ('in_progress', 'paused'))",
            &[&drone.0],
        )
        .await?;
    Ok(n > 0)
}

/// The drone flies home (it says so, or says its route is flown while still in the air):
/// record the phase once, without a status change; the mission completes on touchdown.
pub async fn drone_returning<C: GenericClient>(
    c: &C,
    drone: DroneId,
    mission: MissionId,
    now: DateTime<Utc>,
) -> Result<(), ServerError> {
    c.execute(
        "INSERT INTO mission_transitions (mission_id, org_id, at, from_status, to_status, phase, cause)
         SELECT m.mission_id, m.org_id, $3, m.status, m.status, 'returning', 'drone: flying home'
         FROM missions m WHERE m.mission_id = $1 AND m.drone_id = $2 AND m.status = 'in_progress'
         AND NOT EXISTS (SELECT 1 FROM mission_transitions t WHERE t.mission_id = $1 AND t.phase = 'returning')",
        &[&mission.0, &drone.0, &now],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aviary_core::wire::{WirePosition, WireVelocity};

    fn sample(alt: f64, speed: f64) -> TelemetryUpdate {
        TelemetryUpdate {
            kind: "telemetry_update".into(),
            mission_id: None,
            drone_id: DroneId::new_random(),
            timestamp: Utc::now(),
            position: WirePosition {
                lat: 47.0,
                lon: 8.0,
                altitude: alt,
            },
            velocity: WireVelocity {
                speed,
                heading: 0.0,
            },
            battery: 50.0,
            status: "completed".into(),
            progress: 100.0,
        }
    }

    #[test]
    fn touchdown_needs_low_and_still() {
        assert!(on_ground(&sample(0.0, 0.0)));
        assert!(on_ground(&sample(0.05, 0.2)));
        assert!(!on_ground(&sample(0.4, 0.0)), "still descending");
        assert!(!on_ground(&sample(3.4, 0.0)), "hovering low is not landed");
        assert!(!on_ground(&sample(0.1, 2.0)), "moving is not landed");
    }

    #[test]
    fn an_abort_lands_in_returning_everything_else_in_its_status() {
        assert_eq!(
            phase_of(MissionEvent::Abort, MissionStatus::Aborted),
            MissionPhase::Returning
        );
        assert_eq!(
            phase_of(MissionEvent::Finish, MissionStatus::Completed),
            MissionPhase::Completed
        );
        assert_eq!(
            phase_of(MissionEvent::Pause, MissionStatus::Paused),
            MissionPhase::Paused
        );
    }
}
