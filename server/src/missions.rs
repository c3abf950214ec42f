//! The missions service: what happens to a mission whoever asked — an operator through the
//! REST API or the WebSocket ([`crate::api::missions`]), or a drone through the MQTT ingest
//! ([`crate::broker`]). It sits below both, so the MQTT handler never calls up into the HTTP
//! layer. It announces nothing itself: each caller publishes the change it gets back on its
//! own channel, with [`status_event`].

use aviary_core::{MissionEvent, MissionId, MissionStatus};
use chrono::{DateTime, Utc};

use crate::error::ServerError;
use crate::lifecycle::{Applied, Cause};
use crate::{Shared, audit};

/// The `mission_status` message the mission's WebSocket clients receive; `reason` names why
/// a mission failed (`pause_timeout`, `connection_lost`).
pub fn status_event(
    id: MissionId,
    status: MissionStatus,
    reason: Option<&str>,
    at: DateTime<Utc>,
) -> serde_json::Value {
    let mut event = serde_json::json!({
        "type": "mission_status", "mission_id": id, "status": status, "timestamp": at,
    });
    if let Some(reason) = reason {
        event["reason"] = serde_json::Value::from(reason);
    }
    event
}

/// The mission's own drone reported the route flown and its telemetry shows it on the ground:
/// lifecycle `Finish`, audited (idempotent across instances). Returns the new status when this
/// call moved the mission, `None` when another instance or an earlier report already did.
/// Before touchdown the mission stays in progress (phase `returning`): the return leg is part
/// of the flight.
pub async fn finish(
    s: &Shared,
    id: MissionId,
    now: DateTime<Utc>,
) -> Result<Option<MissionStatus>, ServerError> {
    let mut conn = s.pool.get().await?;
    let tx = conn.transaction().await?;
    let Applied::Changed(c) = crate::lifecycle::apply(
        &tx,
        id,
        None,
        MissionEvent::Finish,
        now,
        Cause {
            user: None,
            text: "drone: route flown, landed",
        },
        None,
        false,
    )
    .await?
    else {
        return Ok(None);
    };
    audit::append(
        &tx,
        &s.audit_key,
        Some(c.org),
        None,
        "mission.finish",
        &format!("mission:{id}"),
        &serde_json::json!({}),
    )
    .await?;
    tx.commit().await?;
    s.drone_lists.invalidate_all();
    Ok(Some(c.to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_event_names_its_reason_only_when_given() {
        let id = MissionId::new_random();
        let at = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let plain = status_event(id, MissionStatus::Completed, None, at);
        assert_eq!(plain["type"], "mission_status");
        assert_eq!(plain["status"], "completed");
        assert!(plain.get("reason").is_none());
        let failed = status_event(id, MissionStatus::Failed, Some("pause_timeout"), at);
        assert_eq!(failed["reason"], "pause_timeout");
        assert_eq!(failed["mission_id"], serde_json::json!(id));
    }
}
