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
//! What the drone says over MQTT becomes the supervisor's facts through the core's own mapping
//! ([`TelemetryUpdate::facts`]: its status and altitude give mode, armed and landed state), and
//! [`on_ground`] reads touchdown from them: landed and disarmed, never the drone's word alone
//! (`completed` while 35 m up is still a flying vehicle).

use aviary_core::supervisor::MissionPhase;
use aviary_core::vehicle::{LandedState, VehicleFact};
use aviary_core::wire::TelemetryUpdate;
use aviary_core::{
    DroneId, MissionEvent, MissionId, MissionLifecycle, MissionStatus, OrgId, UserId,
};
use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;

use crate::error::ServerError;

/// Touchdown as the supervisor sees it: the drone's facts say it is on the ground and
/// disarmed.
pub fn on_ground(t: &TelemetryUpdate) -> bool {
    let facts = t.facts();
    let landed = facts.iter().any(|f| {
        matches!(
            f,
            VehicleFact::Landed {
                state: LandedState::OnGround
            }
        )
    });
    let disarmed = facts
        .iter()
        .any(|f| matches!(f, VehicleFact::Heartbeat { armed: false, .. }));
    landed && disarmed
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
/// record the phase once, without a status change; the mission completes on touchdown. The
/// mission row is locked, so an operator's abort committing meanwhile (which records the
/// return itself) is seen and nothing is recorded twice.
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
         AND NOT EXISTS (SELECT 1 FROM mission_transitions t WHERE t.mission_id = $1 AND t.phase = 'returning')
         FOR UPDATE OF m",
        &[&mission.0, &drone.0, &now],
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aviary_core::wire::{WirePosition, WireVelocity};

    fn sample(status: &str, alt: f64) -> TelemetryUpdate {
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
                speed: 0.0,
                heading: 0.0,
            },
            battery: 50.0,
            status: status.into(),
            progress: 100.0,
        }
    }

    #[test]
    fn touchdown_is_the_vehicles_landed_state_not_the_word() {
        assert!(on_ground(&sample("completed", 0.0)));
        assert!(on_ground(&sample("aborted", 0.2)));
        assert!(
            !on_ground(&sample("completed", 35.0)),
            "a ground word 35 m up"
        );
        assert!(!on_ground(&sample("landing", 0.3)), "still landing");
        assert!(!on_ground(&sample("in_progress", 0.0)), "taking off");
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
