//! The supervisor's transitions in the store: a mission's phase, its failure reason and every
//! transition with its cause, written in one transaction with the mission's status, times and
//! (when it ends) its result.

use super::{Store, StoreError};
use aviary_core::mission::{FailureReason, MissionStatus};
use aviary_core::model::{Mission, MissionId, UserId};
use aviary_core::supervisor::{MissionPhase, Transition};
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};

fn us(t: DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn from_us(v: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(v).unwrap_or_default()
}

impl Store {
    /// Stores one supervisor transition: the mission's status (the phase's
    /// [`MissionPhase::status`]), phase, failure reason, start/end/pause times, the transition
    /// row with its cause, an audit row, and the result when the mission ends.
    pub fn apply_transition(
        &mut self,
        id: MissionId,
        tr: &Transition,
        user: Option<UserId>,
    ) -> Result<Mission, StoreError> {
        let mut m = self.get_mission(id)?;
        let status = tr.to.status();
        if m.status == MissionStatus::Deleted {
            return Err(StoreError::Transition(aviary_core::TransitionError {
                from: m.status,
                event: aviary_core::MissionEvent::Start,
            }));
        }
        match tr.to {
            MissionPhase::Launching => {
                if m.actual_start.is_none() || m.status.is_terminal() {
                    m.actual_start = m.actual_start.or(Some(tr.at));
                }
                m.actual_end = None;
                m.paused_at = None;
            }
            MissionPhase::Paused => m.paused_at = m.paused_at.or(Some(tr.at)),
            p if p.is_terminal() => {
                m.actual_end = Some(tr.at);
                m.paused_at = None;
            }
            _ => m.paused_at = None,
        }
        m.status = status;
        let ended = tr.to.is_terminal();
        if ended {
            let _committed_what_it_could = self.writer.flush();
        }
        let failure = if tr.to == MissionPhase::Failed {
            tr.reason.map(FailureReason::as_str)
        } else {
            None
        };
        let tx = self
            .conn
            .transaction()
            .map_err(|e| StoreError::from_sqlite(&self.path, e))?;
        let path = self.path.clone();
        let map = |e| StoreError::from_sqlite(&path, e);
        tx.execute(
            "UPDATE missions SET status = ?2, actual_start = ?3, actual_end = ?4, paused_at = ?5,
                phase = ?6, failure_reason = ?7 WHERE mission_id = ?1",
            params![
                m.id.0,
                status.as_str(),
                m.actual_start.map(us),
                m.actual_end.map(us),
                m.paused_at.map(us),
                tr.to.as_str(),
                failure
            ],
        )
        .map_err(map)?;
        tx.execute(
            "INSERT INTO mission_transitions (mission_id, time_us, from_phase, to_phase, cause, reason)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                m.id.0,
                us(tr.at),
                tr.from.as_str(),
                tr.to.as_str(),
                tr.cause,
                tr.reason.map(FailureReason::as_str)
            ],
        )
        .map_err(map)?;
        if ended {
            super::results::write_result_from_telemetry(
                &tx,
                m.id,
                status,
                m.actual_end.unwrap_or(tr.at),
                tr.at,
            )
            .map_err(map)?;
        }
        tx.execute(
            "INSERT INTO audit_log (time_us, user_id, action, target, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                us(tr.at),
                user.map(|u| u.0),
                format!("mission.{}", tr.to.as_str()),
                m.id.to_string(),
                tr.cause
            ],
        )
        .map_err(map)?;
        tx.commit().map_err(map)?;
        Ok(m)
    }

    /// A mission's phase (from its status where no phase was stored yet) and failure reason.
    pub fn mission_phase(
        &self,
        id: MissionId,
    ) -> Result<(MissionPhase, Option<FailureReason>), StoreError> {
        let row: Option<(String, Option<String>, Option<String>)> = self
            .conn
            .query_row(
                "SELECT status, phase, failure_reason FROM missions WHERE mission_id = ?1",
                [id.0],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let (status, phase, reason) = row.ok_or(StoreError::NotFound {
            kind: "mission",
            id: id.to_string(),
        })?;
        let status = MissionStatus::parse(&status).unwrap_or(MissionStatus::Planned);
        let phase = phase
            .as_deref()
            .and_then(MissionPhase::parse)
            .filter(|p| p.status() == status)
            .unwrap_or_else(|| MissionPhase::from_status(status));
        Ok((phase, reason.as_deref().and_then(FailureReason::parse)))
    }

    /// Every stored transition of a mission, oldest first.
    pub fn mission_transitions(&self, id: MissionId) -> Result<Vec<Transition>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT time_us, from_phase, to_phase, cause, reason FROM mission_transitions
                 WHERE mission_id = ?1 ORDER BY time_us, rowid",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([id.0], |r| {
                let from: String = r.get(1)?;
                let to: String = r.get(2)?;
                let reason: Option<String> = r.get(4)?;
                Ok(Transition {
                    at: from_us(r.get(0)?),
                    from: MissionPhase::parse(&from).unwrap_or(MissionPhase::Planned),
                    to: MissionPhase::parse(&to).unwrap_or(MissionPhase::Planned),
                    cause: r.get(3)?,
                    reason: reason.as_deref().and_then(FailureReason::parse),
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| self.err(e))
    }
}
