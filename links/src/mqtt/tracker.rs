//! Command tracking without I/O: which commands wait for an acknowledgement, which timed out,
//! and which acknowledgements are duplicates (`QoS` 1 may deliver an ack twice).
//!
//! The driver in [`super`] feeds it `sent`, `on_ack` and `on_tick` with the current instant and
//! turns the returned [`CommandReport`]s into events. Nothing here resends a command: a
//! command that times out is reported [`CommandOutcome::Unacknowledged`] and stays so until the
//! operator chooses [`CommandTracker::retry`], which re-arms it under the *same* `cmd_id` so
//! a drone that did execute it the first time recognises the duplicate and does nothing.

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::{Duration, Instant};

use aviary_core::DroneId;
use aviary_core::MissionId;
use aviary_core::wire::{AckStatus, CommandAck, CommandAction, DroneCommand};
use uuid::Uuid;

/// How long a command may wait for its acknowledgement (design section 6.3; issue 7: 5 s).
pub const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(5);

/// How many resolved command ids are remembered to recognise duplicate acks.
const RESOLVED_MEMORY: usize = 4096;

/// True for commands that protect the aircraft or people under it. They are never resent
/// automatically: a resend that arrives late could, say, pause a drone the operator has since
/// resumed. (No command is resent automatically; this marks which ones the UI must flag loudly.)
pub const fn is_safety_critical(action: CommandAction) -> bool {
    matches!(
        action,
        CommandAction::Pause | CommandAction::Abort | CommandAction::Rth | CommandAction::Land
    )
}

/// What became of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOutcome {
    /// The drone executed it.
    Executed,
    /// The drone refused it.
    Rejected {
        /// The drone's reason.
        detail: String,
    },
    /// No acknowledgement within the timeout. The command was *not* resent.
    Unacknowledged,
}

/// A command's resolution, as shown to the operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandReport {
    /// The command id.
    pub cmd_id: Uuid,
    /// Drone it was sent to.
    pub drone_id: DroneId,
    /// What it asked for.
    pub action: CommandAction,
    /// Mission it concerned.
    pub mission_id: Option<MissionId>,
    /// Outcome.
    pub outcome: CommandOutcome,
    /// Time from (last) sending to the acknowledgement or the timeout.
    pub latency: Duration,
    /// True when an ack arrives after the command was already reported unacknowledged.
    pub late: bool,
    /// Whether [`is_safety_critical`] holds for the action.
    pub safety_critical: bool,
}

/// Why a retry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RetryError {
    /// The id is not a command that timed out.
    #[error("command {0} is not waiting for a retry (unknown, pending or already acknowledged)")]
    NotRetryable(Uuid),
}

#[derive(Debug, Clone)]
struct Pending {
    command: DroneCommand,
    drone_id: DroneId,
    sent_at: Instant,
}

/// Pending commands and their deadlines.
#[derive(Debug)]
pub struct CommandTracker {
    timeout: Duration,
    pending: HashMap<Uuid, Pending>,
    timed_out: HashMap<Uuid, Pending>,
    resolved: HashSet<Uuid>,
    resolved_order: VecDeque<Uuid>,
}

impl CommandTracker {
    /// A tracker with the given acknowledgement timeout.
    pub fn new(timeout: Duration) -> Self {
        Self {
            timeout,
            pending: HashMap::new(),
            timed_out: HashMap::new(),
            resolved: HashSet::new(),
            resolved_order: VecDeque::new(),
        }
    }

    /// A new command for `drone_id` with a fresh unique id.
    pub fn new_command(action: CommandAction, mission_id: Option<MissionId>) -> DroneCommand {
        DroneCommand {
            cmd_id: Uuid::new_v4(),
            action,
            mission_id,
        }
    }

    /// Records that `command` was published to `drone_id` at `now`.
    pub fn sent(&mut self, drone_id: DroneId, command: DroneCommand, now: Instant) {
        self.pending.insert(
            command.cmd_id,
            Pending {
                command,
                drone_id,
                sent_at: now,
            },
        );
    }

    /// Number of commands waiting for an acknowledgement.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// When the earliest pending command times out.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.pending
            .values()
            .map(|p| p.sent_at + self.timeout)
            .min()
    }

    fn remember(&mut self, id: Uuid) {
        if self.resolved.insert(id) {
            self.resolved_order.push_back(id);
            while self.resolved_order.len() > RESOLVED_MEMORY {
                if let Some(old) = self.resolved_order.pop_front() {
                    self.resolved.remove(&old);
                }
            }
        }
    }

    fn report(p: &Pending, outcome: CommandOutcome, now: Instant, late: bool) -> CommandReport {
        CommandReport {
            cmd_id: p.command.cmd_id,
            drone_id: p.drone_id,
            action: p.command.action,
            mission_id: p.command.mission_id,
            outcome,
            latency: now.saturating_duration_since(p.sent_at),
            late,
            safety_critical: is_safety_critical(p.command.action),
        }
    }

    /// An acknowledgement from `drone_id`. Returns the report to show, or `None` for a
    /// duplicate, an unknown id, or an ack from a drone the command was not sent to.
    pub fn on_ack(
        &mut self,
        drone_id: DroneId,
        ack: &CommandAck,
        now: Instant,
    ) -> Option<CommandReport> {
        if self.resolved.contains(&ack.cmd_id) {
            return None;
        }
        let outcome = match ack.status {
            AckStatus::Executed => CommandOutcome::Executed,
            AckStatus::Rejected => CommandOutcome::Rejected {
                detail: ack.detail.clone(),
            },
        };
        for (map_late, late) in [(false, false), (true, true)] {
            let map = if map_late {
                &mut self.timed_out
            } else {
                &mut self.pending
            };
            if map.get(&ack.cmd_id).is_some_and(|p| p.drone_id == drone_id) {
                let p = map.remove(&ack.cmd_id)?;
                self.remember(ack.cmd_id);
                return Some(Self::report(&p, outcome, now, late));
            }
        }
        None
    }

    /// Reports every pending command whose deadline has passed as unacknowledged.
    pub fn on_tick(&mut self, now: Instant) -> Vec<CommandReport> {
        let expired: Vec<Uuid> = self
            .pending
            .iter()
            .filter(|(_, p)| now >= p.sent_at + self.timeout)
            .map(|(id, _)| *id)
            .collect();
        let mut out = Vec::with_capacity(expired.len());
        for id in expired {
            if let Some(p) = self.pending.remove(&id) {
                out.push(Self::report(&p, CommandOutcome::Unacknowledged, now, false));
                self.timed_out.insert(id, p);
            }
        }
        while self.timed_out.len() > RESOLVED_MEMORY {
            let oldest = self
                .timed_out
                .iter()
                .min_by_key(|(_, p)| p.sent_at)
                .map(|(id, _)| *id);
            match oldest {
                Some(id) => self.timed_out.remove(&id),
                None => break,
            };
        }
        out
    }

    /// The operator's explicit retry of a command reported unacknowledged: re-arms it with the
    /// same `cmd_id` (so a drone that executed the first copy ignores this one) and returns the
    /// command and drone to publish to again.
    pub fn retry(
        &mut self,
        cmd_id: Uuid,
        now: Instant,
    ) -> Result<(DroneId, DroneCommand), RetryError> {
        let mut p = self
            .timed_out
            .remove(&cmd_id)
            .ok_or(RetryError::NotRetryable(cmd_id))?;
        p.sent_at = now;
        let out = (p.drone_id, p.command.clone());
        self.pending.insert(cmd_id, p);
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ack(id: Uuid, status: AckStatus) -> CommandAck {
        CommandAck {
            cmd_id: id,
            status,
            detail: "why".into(),
        }
    }

    #[test]
    fn ack_resolves_once_and_duplicates_are_ignored() {
        let t0 = Instant::now();
        let drone = DroneId::new_random();
        let mut t = CommandTracker::new(DEFAULT_ACK_TIMEOUT);
        let cmd = CommandTracker::new_command(CommandAction::Pause, None);
        t.sent(drone, cmd.clone(), t0);
        assert_eq!(t.next_deadline(), Some(t0 + DEFAULT_ACK_TIMEOUT));
        let r = t.on_ack(
            drone,
            &ack(cmd.cmd_id, AckStatus::Executed),
            t0 + Duration::from_millis(40),
        );
        let r = r.expect("first ack resolves");
        assert_eq!(r.outcome, CommandOutcome::Executed);
        assert_eq!(r.latency, Duration::from_millis(40));
        assert!(r.safety_critical);
        assert_eq!(
            t.on_ack(
                drone,
                &ack(cmd.cmd_id, AckStatus::Executed),
                t0 + Duration::from_millis(41)
            ),
            None
        );
        assert_eq!(t.pending_len(), 0);
        assert!(t.on_tick(t0 + Duration::from_mins(1)).is_empty());
    }

    #[test]
    fn ack_from_another_drone_does_not_resolve() {
        let t0 = Instant::now();
        let (a, b) = (DroneId::new_random(), DroneId::new_random());
        let mut t = CommandTracker::new(DEFAULT_ACK_TIMEOUT);
        let cmd = CommandTracker::new_command(CommandAction::Abort, None);
        t.sent(a, cmd.clone(), t0);
        assert_eq!(t.on_ack(b, &ack(cmd.cmd_id, AckStatus::Executed), t0), None);
        assert_eq!(t.pending_len(), 1);
    }

    #[test]
    fn timeout_is_reported_once_never_resent_and_retry_keeps_the_id() {
        let t0 = Instant::now();
        let drone = DroneId::new_random();
        let mut t = CommandTracker::new(DEFAULT_ACK_TIMEOUT);
        let cmd = CommandTracker::new_command(CommandAction::Rth, None);
        t.sent(drone, cmd.clone(), t0);
        assert!(t.on_tick(t0 + Duration::from_millis(4999)).is_empty());
        let reports = t.on_tick(t0 + DEFAULT_ACK_TIMEOUT);
        assert_eq!(reports.len(), 1);
        assert_eq!(reports[0].outcome, CommandOutcome::Unacknowledged);
        assert!(
            t.on_tick(t0 + Duration::from_secs(30)).is_empty(),
            "reported once"
        );
        assert_eq!(t.next_deadline(), None, "nothing is rescheduled by itself");
        let (d, again) = t
            .retry(cmd.cmd_id, t0 + Duration::from_secs(31))
            .expect("retryable");
        assert_eq!((d, again.cmd_id), (drone, cmd.cmd_id));
        assert_eq!(
            t.retry(cmd.cmd_id, t0),
            Err(RetryError::NotRetryable(cmd.cmd_id))
        );
        let r = t.on_ack(
            drone,
            &ack(cmd.cmd_id, AckStatus::Rejected),
            t0 + Duration::from_secs(32),
        );
        assert_eq!(
            r.map(|r| r.outcome),
            Some(CommandOutcome::Rejected {
                detail: "why".into()
            })
        );
    }

    #[test]
    fn late_ack_is_reported_as_late() {
        let t0 = Instant::now();
        let drone = DroneId::new_random();
        let mut t = CommandTracker::new(Duration::from_secs(1));
        let cmd = CommandTracker::new_command(CommandAction::Start, None);
        t.sent(drone, cmd.clone(), t0);
        assert_eq!(t.on_tick(t0 + Duration::from_secs(2)).len(), 1);
        let r = t
            .on_ack(
                drone,
                &ack(cmd.cmd_id, AckStatus::Executed),
                t0 + Duration::from_secs(3),
            )
            .expect("late");
        assert!(r.late);
        assert!(!r.safety_critical);
        assert_eq!(r.outcome, CommandOutcome::Executed);
    }
}
