//! The mission lifecycle of the system design's state diagram, as a state machine without I/O.
//!
//! ```text
//! planned ──start──▶ in_progress ──pause──▶ paused ──resume──▶ in_progress
//!    │                  │  │  │               │  │
//!  delete            finish abort fail      abort timeout(5 min)
//!    ▼                  ▼    ▼    ▼            ▼     ▼
//! deleted          completed aborted failed  aborted failed
//! ```
//!
//! [`MissionLifecycle::handle`] takes an event and the current time and returns the new status
//! or a typed [`TransitionError`]; [`MissionLifecycle::tick`] applies the paused timeout.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// How long a mission may stay paused before it is declared failed (design: 5 minutes).
pub const PAUSE_TIMEOUT: Duration = Duration::minutes(5);

/// Where a mission is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissionStatus {
    /// Created, not yet flown. The only state a mission can be deleted from.
    Planned,
    /// The drone is flying it.
    InProgress,
    /// Held by the operator; fails after [`PAUSE_TIMEOUT`].
    Paused,
    /// Finished every waypoint.
    Completed,
    /// Stopped by the operator.
    Aborted,
    /// Lost link, critical battery, or a pause that timed out.
    Failed,
    /// Removed before it flew.
    Deleted,
}

impl MissionStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [MissionStatus; 7] = [
        Self::Planned,
        Self::InProgress,
        Self::Paused,
        Self::Completed,
        Self::Aborted,
        Self::Failed,
        Self::Deleted,
    ];

    /// The design's spelling (`in_progress`), also used in the database.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::InProgress => "in_progress",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Aborted => "aborted",
            Self::Failed => "failed",
            Self::Deleted => "deleted",
        }
    }

    /// Parses the design's spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }

    /// True once nothing more can happen to the mission.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Aborted | Self::Failed | Self::Deleted
        )
    }

    /// True while a drone is assigned and airborne for it.
    pub const fn is_active(self) -> bool {
        matches!(self, Self::InProgress | Self::Paused)
    }
}

impl MissionStatus {
    /// The status in words, as the window, reports and messages show it (`in progress`).
    pub const fn label(self) -> &'static str {
        match self {
            Self::InProgress => "in progress",
            other => other.as_str(),
        }
    }
}

/// Words for people (`in progress`); [`MissionStatus::as_str`] is the stored spelling.
impl std::fmt::Display for MissionStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// Why a mission failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureReason {
    /// The drone's link was lost.
    ConnectionLost,
    /// Battery reached the critical threshold.
    BatteryCritical,
    /// Paused longer than [`PAUSE_TIMEOUT`].
    PauseTimeout,
    /// The vehicle reported a failure (motor, crash, …) or landed before finishing.
    VehicleFault,
    /// The vehicle's GPS or EKF failsafe took over.
    GpsFailsafe,
    /// The vehicle's geofence failsafe took over.
    Geofence,
    /// A pilot switched the vehicle out of the mission.
    PilotTookControl,
    /// The mission could not be uploaded.
    UploadFailed,
}

impl FailureReason {
    /// Every reason.
    pub const ALL: [FailureReason; 8] = [
        Self::ConnectionLost,
        Self::BatteryCritical,
        Self::PauseTimeout,
        Self::VehicleFault,
        Self::GpsFailsafe,
        Self::Geofence,
        Self::PilotTookControl,
        Self::UploadFailed,
    ];

    /// Stored spelling (`connection_lost`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::ConnectionLost => "connection_lost",
            Self::BatteryCritical => "battery_critical",
            Self::PauseTimeout => "pause_timeout",
            Self::VehicleFault => "vehicle_fault",
            Self::GpsFailsafe => "gps_failsafe",
            Self::Geofence => "geofence",
            Self::PilotTookControl => "pilot_took_control",
            Self::UploadFailed => "upload_failed",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Words for an operator.
    pub const fn describe(self) -> &'static str {
        match self {
            Self::ConnectionLost => "link lost",
            Self::BatteryCritical => "battery failsafe",
            Self::PauseTimeout => "paused too long",
            Self::VehicleFault => "vehicle fault",
            Self::GpsFailsafe => "GPS/EKF failsafe",
            Self::Geofence => "geofence breach",
            Self::PilotTookControl => "pilot took control",
            Self::UploadFailed => "upload failed",
        }
    }
}

impl FailureReason {
    /// The reason in words, as the window, reports and messages show it (`connection lost`).
    pub const fn label(self) -> &'static str {
        match self {
            Self::ConnectionLost => "connection lost",
            Self::BatteryCritical => "battery critical",
            Self::PauseTimeout => "paused too long",
            Self::VehicleFault => "vehicle fault",
            Self::GpsFailsafe => "GPS failsafe",
            Self::Geofence => "geofence breach",
            Self::PilotTookControl => "pilot took control",
            Self::UploadFailed => "upload failed",
        }
    }
}

/// Words for people (`in progress`); [`FailureReason::as_str`] is the stored spelling.
impl std::fmt::Display for FailureReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// Something that happens to a mission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MissionEvent {
    /// Operator's start command, confirmed by the drone.
    Start,
    /// Operator's pause command, confirmed.
    Pause,
    /// Operator's resume command, confirmed.
    Resume,
    /// Operator's abort command, confirmed.
    Abort,
    /// The drone reached the last waypoint.
    Finish,
    /// Something went wrong in flight.
    Fail(FailureReason),
    /// The operator deleted the plan.
    Delete,
}

impl MissionEvent {
    /// Short name for messages.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Start => "start",
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Abort => "abort",
            Self::Finish => "finish",
            Self::Fail(_) => "fail",
            Self::Delete => "delete",
        }
    }
}

/// An event that is not allowed in the mission's current state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cannot {event} a mission that is {from}", event = .event.name())]
pub struct TransitionError {
    /// The state the mission was in.
    pub from: MissionStatus,
    /// The refused event.
    pub event: MissionEvent,
}

/// The mission lifecycle: current status plus the timestamps the transitions set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MissionLifecycle {
    status: MissionStatus,
    actual_start: Option<DateTime<Utc>>,
    actual_end: Option<DateTime<Utc>>,
    paused_at: Option<DateTime<Utc>>,
    failure: Option<FailureReason>,
}

impl Default for MissionLifecycle {
    fn default() -> Self {
        Self::new()
    }
}

impl MissionLifecycle {
    /// A new, planned mission.
    pub const fn new() -> Self {
        Self {
            status: MissionStatus::Planned,
            actual_start: None,
            actual_end: None,
            paused_at: None,
            failure: None,
        }
    }

    /// Restores a lifecycle from stored fields.
    pub const fn restore(
        status: MissionStatus,
        actual_start: Option<DateTime<Utc>>,
        actual_end: Option<DateTime<Utc>>,
        paused_at: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            status,
            actual_start,
            actual_end,
            paused_at,
            failure: None,
        }
    }

    /// Current status.
    pub const fn status(&self) -> MissionStatus {
        self.status
    }
    /// When the mission started, if it has.
    pub const fn actual_start(&self) -> Option<DateTime<Utc>> {
        self.actual_start
    }
    /// When the mission reached a terminal state, if it has.
    pub const fn actual_end(&self) -> Option<DateTime<Utc>> {
        self.actual_end
    }
    /// When the current pause began.
    pub const fn paused_at(&self) -> Option<DateTime<Utc>> {
        self.paused_at
    }
    /// Why the mission failed, if it did.
    pub const fn failure(&self) -> Option<FailureReason> {
        self.failure
    }

    /// The status `event` would lead to, without changing anything.
    pub fn next(&self, event: MissionEvent) -> Result<MissionStatus, TransitionError> {
        use MissionEvent as E;
        use MissionStatus as S;
        let to = match (self.status, event) {
            (S::Planned, E::Start) | (S::Paused, E::Resume) => S::InProgress,
            (S::Planned, E::Delete) => S::Deleted,
            (S::InProgress, E::Pause) => S::Paused,
            (S::InProgress, E::Finish) => S::Completed,
            (S::InProgress | S::Paused, E::Abort) => S::Aborted,
            (S::InProgress | S::Paused, E::Fail(_)) => S::Failed,
            (from, event) => return Err(TransitionError { from, event }),
        };
        Ok(to)
    }

    /// Applies `event` at time `now`.
    pub fn handle(
        &mut self,
        event: MissionEvent,
        now: DateTime<Utc>,
    ) -> Result<MissionStatus, TransitionError> {
        let to = self.next(event)?;
        match event {
            MissionEvent::Start => self.actual_start = Some(now),
            MissionEvent::Pause => self.paused_at = Some(now),
            MissionEvent::Resume => self.paused_at = None,
            MissionEvent::Fail(reason) => self.failure = Some(reason),
            _ => {}
        }
        if to.is_terminal() && to != MissionStatus::Deleted {
            self.actual_end = Some(now);
            self.paused_at = None;
        }
        self.status = to;
        Ok(to)
    }

    /// Applies time-driven transitions: a pause older than [`PAUSE_TIMEOUT`] fails the
    /// mission. Returns the new status when it changed.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Option<MissionStatus> {
        let since = self.paused_at?;
        if self.status == MissionStatus::Paused && now - since >= PAUSE_TIMEOUT {
            self.handle(MissionEvent::Fail(FailureReason::PauseTimeout), now)
                .ok()
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use MissionEvent as E;
    use MissionStatus as S;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default()
    }

    #[test]
    fn happy_path_sets_times() {
        let mut m = MissionLifecycle::new();
        assert_eq!(m.handle(E::Start, t(0)), Ok(S::InProgress));
        assert_eq!(m.handle(E::Pause, t(10)), Ok(S::Paused));
        assert_eq!(m.paused_at(), Some(t(10)));
        assert_eq!(m.handle(E::Resume, t(20)), Ok(S::InProgress));
        assert_eq!(m.handle(E::Finish, t(30)), Ok(S::Completed));
        assert_eq!(m.actual_start(), Some(t(0)));
        assert_eq!(m.actual_end(), Some(t(30)));
        assert_eq!(m.paused_at(), None);
    }

    #[test]
    fn every_pair_matches_the_diagram() {
        let allowed = [
            (S::Planned, E::Start, S::InProgress),
            (S::Planned, E::Delete, S::Deleted),
            (S::InProgress, E::Pause, S::Paused),
            (S::InProgress, E::Finish, S::Completed),
            (S::InProgress, E::Abort, S::Aborted),
            (
                S::InProgress,
                E::Fail(FailureReason::ConnectionLost),
                S::Failed,
            ),
            (S::Paused, E::Resume, S::InProgress),
            (S::Paused, E::Abort, S::Aborted),
            (S::Paused, E::Fail(FailureReason::PauseTimeout), S::Failed),
        ];
        let events = [
            E::Start,
            E::Pause,
            E::Resume,
            E::Abort,
            E::Finish,
            E::Fail(FailureReason::ConnectionLost),
            E::Delete,
        ];
        let mut checked = 0;
        for from in S::ALL {
            for ev in events {
                let m = MissionLifecycle::restore(from, None, None, None);
                let want = allowed
                    .iter()
                    .find(|(f, e, _)| *f == from && e.name() == ev.name())
                    .map(|(_, _, to)| *to);
                match (m.next(ev), want) {
                    (Ok(got), Some(to)) => assert_eq!(got, to),
                    (Err(e), None) => {
                        assert_eq!(e.from, from);
                        assert!(e.to_string().contains(from.label()), "{e}");
                    }
                    (got, want) => panic!("{from} + {ev:?}: got {got:?}, want {want:?}"),
                }
                checked += 1;
            }
        }
        assert_eq!(checked, 49);
    }

    #[test]
    fn deletion_only_from_planned() {
        let mut m = MissionLifecycle::new();
        m.handle(E::Start, t(0)).ok();
        let err = m.handle(E::Delete, t(1)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "cannot delete a mission that is in progress"
        );
        assert_eq!(m.status(), S::InProgress, "a refused event changes nothing");
    }

    #[test]
    fn pause_times_out_after_five_minutes() {
        let mut m = MissionLifecycle::new();
        m.handle(E::Start, t(0)).ok();
        m.handle(E::Pause, t(100)).ok();
        assert_eq!(m.tick(t(100 + 299)), None);
        assert_eq!(m.tick(t(100 + 300)), Some(S::Failed));
        assert_eq!(m.failure(), Some(FailureReason::PauseTimeout));
        assert_eq!(m.actual_end(), Some(t(400)));
        assert_eq!(m.tick(t(10_000)), None);
    }

    #[test]
    fn status_strings_round_trip() {
        for s in S::ALL {
            assert_eq!(S::parse(s.as_str()), Some(s));
        }
        assert_eq!(S::parse("flying"), None);
    }
}
