//! Scheduled missions: when a schedule's runs fall, and what the scheduler does with each run
//! (the lead-time checks, the start or the operator's confirmation, the missed run).
//!
//! I/O-free and time injected: the host (the fleet server's scheduler task, or the desktop for
//! its local missions) gathers the facts and the time and carries out the returned
//! [`RunAction`]s. Times are site-local and DST-correct: a 09:00 survey stays at 09:00 local
//! across the change; a local time the clocks skip runs at the first valid instant after the
//! gap; a local time the clocks repeat runs once, at its first occurrence. A run is named by
//! its schedule and its local date ([`RunKey`]), so one date can never give two runs.

use crate::weather::{Verdict, WeatherVerdict};
use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike as _,
    Utc, Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use std::fmt;
use uuid::Uuid;

// --- recurrence ---------------------------------------------------------------------------

/// How often a schedule runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Recurrence {
    /// Once, on the schedule's start date.
    Once,
    /// Every day from the start date.
    Daily,
    /// On the chosen weekdays from the start date.
    Weekly {
        /// The days, in any order; never empty (see [`ScheduleSpec::validate`]).
        days: Vec<Weekday>,
    },
}

/// When a schedule runs, in the site's local time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScheduleSpec {
    /// The site's time zone (IANA name in JSON, e.g. `Europe/Berlin`).
    pub timezone: Tz,
    /// Local time of day of each run.
    pub local_time: NaiveTime,
    /// Once, daily or weekly.
    pub recurrence: Recurrence,
    /// First local date (the only one for [`Recurrence::Once`]).
    pub start_date: NaiveDate,
    /// Last local date a run may fall on, inclusive.
    #[serde(default)]
    pub end_date: Option<NaiveDate>,
}

/// A schedule that cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScheduleError {
    /// Weekly without a day.
    #[error("a weekly schedule needs at least one weekday")]
    NoWeekday,
    /// The end date is before the start date.
    #[error("the end date {end} is before the start date {start}")]
    EndBeforeStart {
        /// Start date.
        start: NaiveDate,
        /// End date.
        end: NaiveDate,
    },
    /// A local time the zone never reaches on that date (no valid instant within a day).
    #[error("{local} does not exist in {zone}")]
    NoSuchLocalTime {
        /// The local date and time.
        local: NaiveDateTime,
        /// The zone.
        zone: Tz,
    },
}

impl ScheduleSpec {
    /// Checks the spec; bad input names the problem.
    pub fn validate(&self) -> Result<(), ScheduleError> {
        if let Recurrence::Weekly { days } = &self.recurrence
            && days.is_empty()
        {
            return Err(ScheduleError::NoWeekday);
        }
        if let Some(end) = self.end_date
            && end < self.start_date
        {
            return Err(ScheduleError::EndBeforeStart {
                start: self.start_date,
                end,
            });
        }
        Ok(())
    }

    /// Whether a run falls on local date `date` (ignoring the time of day).
    pub fn runs_on(&self, date: NaiveDate) -> bool {
        if date < self.start_date || self.end_date.is_some_and(|end| date > end) {
            return false;
        }
        match &self.recurrence {
            Recurrence::Once => date == self.start_date,
            Recurrence::Daily => true,
            Recurrence::Weekly { days } => days.contains(&date.weekday()),
        }
    }

    /// The instant of the run on local date `date` (whether or not one falls on it).
    pub fn instant_on(&self, date: NaiveDate) -> Result<DateTime<Utc>, ScheduleError> {
        local_instant(self.timezone, date.and_time(self.local_time))
    }

    /// The runs at or after `from`, in order (ends with the end date or a once schedule's run).
    pub fn runs_from(&self, from: DateTime<Utc>) -> Runs<'_> {
        // A run on the local date before `from`'s could still fall at or after it only through
        // a zone change of more than a day, which no zone has; one day back is enough.
        let local_from = from.with_timezone(&self.timezone).date_naive();
        let first = local_from
            .pred_opt()
            .unwrap_or(local_from)
            .max(self.start_date);
        Runs {
            spec: self,
            date: Some(first),
            from,
        }
    }
}

/// The instant of a local time in `zone`: the first occurrence of a repeated time, the first
/// valid instant after the gap for a skipped one.
pub fn local_instant(zone: Tz, local: NaiveDateTime) -> Result<DateTime<Utc>, ScheduleError> {
    if let Some(t) = zone.from_local_datetime(&local).earliest() {
        return Ok(t.with_timezone(&Utc));
    }
    // In a gap: the clocks jump at a whole minute, so the first valid local minute after the
    // skipped time is the gap's end, which is the transition instant.
    let mut probe = local
        .with_second(0)
        .and_then(|p| p.with_nanosecond(0))
        .unwrap_or(local);
    for _ in 0..(24 * 60) {
        probe += Duration::minutes(1);
        if let Some(t) = zone.from_local_datetime(&probe).earliest() {
            return Ok(t.with_timezone(&Utc));
        }
    }
    Err(ScheduleError::NoSuchLocalTime { local, zone })
}

/// Iterator over a schedule's runs (see [`ScheduleSpec::runs_from`]).
#[derive(Debug, Clone)]
pub struct Runs<'a> {
    spec: &'a ScheduleSpec,
    date: Option<NaiveDate>,
    from: DateTime<Utc>,
}

/// One run of a schedule: its local date and its instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedRun {
    /// Local date of the run (with the schedule, its identity).
    pub local_date: NaiveDate,
    /// When it is due.
    pub at: DateTime<Utc>,
}

impl Iterator for Runs<'_> {
    type Item = PlannedRun;

    fn next(&mut self) -> Option<PlannedRun> {
        loop {
            let date = self.date?;
            if self.spec.end_date.is_some_and(|end| date > end)
                || (self.spec.recurrence == Recurrence::Once && date > self.spec.start_date)
            {
                self.date = None;
                return None;
            }
            self.date = date.succ_opt();
            if !self.spec.runs_on(date) {
                continue;
            }
            let Ok(at) = self.spec.instant_on(date) else {
                continue;
            };
            if at >= self.from {
                return Some(PlannedRun {
                    local_date: date,
                    at,
                });
            }
        }
    }
}

// --- the lead-time checks -----------------------------------------------------------------

/// What the host knows about a run's mission at the lead time and at the start time.
#[derive(Debug, Clone, PartialEq)]
pub struct LeadFacts {
    /// The drone assigned to the mission, by name (`None`: none assigned).
    pub drone: Option<String>,
    /// Its status in the fleet.
    pub drone_status: crate::DroneStatus,
    /// The link to it is up (heartbeat or telemetry heard recently).
    pub link_up: bool,
    /// On the ground and disarmed.
    pub landed: bool,
    /// Its battery, percent (`None`: not reported).
    pub battery_pct: Option<f64>,
    /// What the first sortie needs with the reserve, percent.
    pub battery_needed_pct: f64,
    /// The weather verdict for the run's window (`None`: not fetched).
    pub weather: Option<WeatherVerdict>,
    /// Another mission that holds the drone at that time, by name.
    pub conflicting_mission: Option<String>,
}

/// Why a run cannot start: one per failed check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "check")]
pub enum MissReason {
    /// No drone is assigned to the mission.
    NoDrone,
    /// The drone is not available (charging, in maintenance, offline, flying).
    DroneUnavailable {
        /// Its status.
        status: crate::DroneStatus,
    },
    /// No link to the drone.
    LinkDown,
    /// The drone is armed or in the air.
    NotLanded,
    /// Not enough battery.
    Battery {
        /// Reported, percent (`None`: not reported).
        have_pct: Option<f64>,
        /// Needed with the reserve, percent.
        need_pct: f64,
    },
    /// The weather is not go (no-go or unknown).
    Weather {
        /// The verdict's summary.
        summary: String,
    },
    /// Another mission holds the drone.
    Conflict {
        /// Its name.
        mission: String,
    },
    /// Due while the scheduler was not running, later than the grace window.
    Late {
        /// Minutes after the due time it was first seen.
        late_min: i64,
        /// The grace window, minutes.
        grace_min: i64,
    },
    /// The operator did not confirm the start within the grace window.
    NotConfirmed,
    /// The operator declined the start.
    Declined {
        /// Their reason.
        reason: String,
    },
    /// The start was sent but refused (a pre-flight check at the start, the vehicle).
    StartRefused {
        /// What refused it, in words.
        detail: String,
    },
}

impl MissReason {
    /// The check that failed in a word or two, the same for every run (reports count runs
    /// per reason by it): `no drone`, `drone unavailable`, `no link`, `not landed`,
    /// `battery`, `weather`, `conflict`, `late`, `not confirmed`, `declined`,
    /// `start refused`.
    pub const fn label(&self) -> &'static str {
        match self {
            Self::NoDrone => "no drone",
            Self::DroneUnavailable { .. } => "drone unavailable",
            Self::LinkDown => "no link",
            Self::NotLanded => "not landed",
            Self::Battery { .. } => "battery",
            Self::Weather { .. } => "weather",
            Self::Conflict { .. } => "conflict",
            Self::Late { .. } => "late",
            Self::NotConfirmed => "not confirmed",
            Self::Declined { .. } => "declined",
            Self::StartRefused { .. } => "start refused",
        }
    }
}

impl fmt::Display for MissReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NoDrone => f.write_str("no drone assigned"),
            Self::DroneUnavailable { status } => write!(f, "drone is {}", status.as_str()),
            Self::LinkDown => f.write_str("no link to the drone"),
            Self::NotLanded => f.write_str("drone is armed or in the air"),
            Self::Battery {
                have_pct: Some(have),
                need_pct,
            } => write!(f, "battery {have:.0} % < {need_pct:.0} % needed"),
            Self::Battery {
                have_pct: None,
                need_pct,
            } => write!(f, "battery not reported ({need_pct:.0} % needed)"),
            Self::Weather { summary } => write!(f, "weather {summary}"),
            Self::Conflict { mission } => write!(f, "drone is held by mission '{mission}'"),
            Self::Late {
                late_min,
                grace_min,
            } => write!(
                f,
                "due {late_min} min ago while the scheduler was down (grace {grace_min} min)"
            ),
            Self::NotConfirmed => f.write_str("the operator did not confirm the start in time"),
            Self::Declined { reason } => write!(f, "declined by the operator: {reason}"),
            Self::StartRefused { detail } => write!(f, "start refused: {detail}"),
        }
    }
}

/// The lead-time checks: every reason the run cannot start (empty: ready). Weather must be go
/// or caution; unknown (offline, stale) is a miss, since nobody can say it is safe.
pub fn lead_checks(facts: &LeadFacts) -> Vec<MissReason> {
    let mut out = Vec::new();
    if facts.drone.is_none() {
        out.push(MissReason::NoDrone);
        return out;
    }
    if facts.drone_status != crate::DroneStatus::Available {
        out.push(MissReason::DroneUnavailable {
            status: facts.drone_status,
        });
    }
    if !facts.link_up {
        out.push(MissReason::LinkDown);
    }
    if !facts.landed {
        out.push(MissReason::NotLanded);
    }
    if facts
        .battery_pct
        .is_none_or(|have| have < facts.battery_needed_pct)
    {
        out.push(MissReason::Battery {
            have_pct: facts.battery_pct,
            need_pct: facts.battery_needed_pct,
        });
    }
    match &facts.weather {
        Some(w) if matches!(w.verdict, Verdict::Go | Verdict::Caution) => {}
        Some(w) => out.push(MissReason::Weather {
            summary: w.summary(),
        }),
        None => out.push(MissReason::Weather {
            summary: "unknown: no weather verdict".into(),
        }),
    }
    if let Some(m) = &facts.conflicting_mission {
        out.push(MissReason::Conflict { mission: m.clone() });
    }
    out
}

// --- one run's life -----------------------------------------------------------------------

/// A run's identity: its schedule and its local date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RunKey {
    /// The schedule.
    pub schedule: Uuid,
    /// The run's local date.
    pub local_date: NaiveDate,
}

/// The scheduler's settings (per organisation).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SchedulerConfig {
    /// The checks run this long before the start.
    pub lead_time: Duration,
    /// A run seen this long after its due time (e.g. after a restart) may still start; later
    /// it is missed.
    pub grace: Duration,
    /// The organisation allows starts without an operator (each one audited).
    pub unattended_starts: bool,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        Self {
            lead_time: Duration::minutes(10),
            grace: Duration::minutes(15),
            unattended_starts: false,
        }
    }
}

/// Where a run stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "phase")]
pub enum RunPhase {
    /// Before the lead time.
    Upcoming,
    /// The lead-time checks passed; waiting for the start time.
    Ready,
    /// Due; waiting for the operator's confirmation (unattended starts are off).
    AwaitingConfirmation,
    /// Started.
    Started {
        /// Without an operator.
        unattended: bool,
        /// When.
        at: DateTime<Utc>,
    },
    /// Could not start.
    Missed {
        /// Every reason.
        reasons: Vec<MissReason>,
        /// When it was decided.
        at: DateTime<Utc>,
    },
}

impl RunPhase {
    /// Started or missed: nothing more happens to the run.
    pub const fn is_final(&self) -> bool {
        matches!(self, Self::Started { .. } | Self::Missed { .. })
    }

    /// The word stored and shown (`upcoming`, `ready`, `awaiting_confirmation`, `started`,
    /// `missed`).
    pub const fn as_str(&self) -> &'static str {
        match self {
            Self::Upcoming => "upcoming",
            Self::Ready => "ready",
            Self::AwaitingConfirmation => "awaiting_confirmation",
            Self::Started { .. } => "started",
            Self::Missed { .. } => "missed",
        }
    }
}

/// What the host must do.
#[derive(Debug, Clone, PartialEq)]
pub enum RunAction {
    /// Start the mission now. When `unattended`, write the audit entry
    /// (`schedule.unattended_start`).
    Start {
        /// No operator confirmed it.
        unattended: bool,
    },
    /// Ask the operator to confirm the start.
    AskOperator,
    /// Record the run as missed and raise an alert (in-app and the webhook) with this text.
    Missed {
        /// The alert's text: the reasons joined.
        alert: String,
    },
}

/// One run going through lead time, start time and outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunState {
    /// Which run.
    pub key: RunKey,
    /// When it is due.
    pub due: DateTime<Utc>,
    /// Where it stands.
    pub phase: RunPhase,
}

impl RunState {
    /// A run not yet looked at.
    pub const fn new(key: RunKey, due: DateTime<Utc>) -> Self {
        Self {
            key,
            due,
            phase: RunPhase::Upcoming,
        }
    }

    /// Whether a [`Self::tick`] at `now` asks for the facts (a host gathers them only then: a
    /// weather fetch is not free).
    pub fn checks_due(&self, now: DateTime<Utc>, config: &SchedulerConfig) -> bool {
        let within_grace = now - self.due <= config.grace;
        within_grace
            && match self.phase {
                RunPhase::Upcoming => now >= self.due - config.lead_time,
                RunPhase::Ready => now >= self.due,
                _ => false,
            }
    }

    /// Moves the run on at `now`. `facts` is called (at most once) when checks are due: at the
    /// lead time, and again at the start time (conditions change in ten minutes).
    pub fn tick(
        &mut self,
        now: DateTime<Utc>,
        config: &SchedulerConfig,
        facts: impl FnOnce() -> LeadFacts,
    ) -> Option<RunAction> {
        let late = now - self.due;
        let check_due = match self.phase {
            RunPhase::Upcoming => now >= self.due - config.lead_time,
            RunPhase::Ready => now >= self.due,
            RunPhase::AwaitingConfirmation => {
                return (late > config.grace)
                    .then(|| self.miss(vec![MissReason::NotConfirmed], now));
            }
            RunPhase::Started { .. } | RunPhase::Missed { .. } => return None,
        };
        if !check_due {
            return None;
        }
        if late > config.grace {
            let reason = MissReason::Late {
                late_min: late.num_minutes(),
                grace_min: config.grace.num_minutes(),
            };
            return Some(self.miss(vec![reason], now));
        }
        let failed = lead_checks(&facts());
        if !failed.is_empty() {
            return Some(self.miss(failed, now));
        }
        if now < self.due {
            self.phase = RunPhase::Ready;
            return None;
        }
        if config.unattended_starts {
            self.phase = RunPhase::Started {
                unattended: true,
                at: now,
            };
            Some(RunAction::Start { unattended: true })
        } else {
            self.phase = RunPhase::AwaitingConfirmation;
            Some(RunAction::AskOperator)
        }
    }

    /// The operator's answer to [`RunAction::AskOperator`]: start (`Ok`) or decline with a
    /// reason. `None` when the run is not waiting for one (already started, missed, or the
    /// grace window passed — then it is missed).
    pub fn answer(
        &mut self,
        confirm: Result<(), String>,
        now: DateTime<Utc>,
        config: &SchedulerConfig,
    ) -> Option<RunAction> {
        if self.phase != RunPhase::AwaitingConfirmation {
            return None;
        }
        if now - self.due > config.grace {
            return Some(self.miss(vec![MissReason::NotConfirmed], now));
        }
        match confirm {
            Ok(()) => {
                self.phase = RunPhase::Started {
                    unattended: false,
                    at: now,
                };
                Some(RunAction::Start { unattended: false })
            }
            Err(reason) => Some(self.miss(vec![MissReason::Declined { reason }], now)),
        }
    }

    /// A start that was sent (after [`RunAction::Start`]) and refused: the run is missed
    /// after all. `None` unless the run had started.
    pub fn start_refused(&mut self, detail: String, now: DateTime<Utc>) -> Option<RunAction> {
        matches!(self.phase, RunPhase::Started { .. })
            .then(|| self.miss(vec![MissReason::StartRefused { detail }], now))
    }

    fn miss(&mut self, reasons: Vec<MissReason>, now: DateTime<Utc>) -> RunAction {
        let alert = missed_alert(self.due, &reasons);
        self.phase = RunPhase::Missed { reasons, at: now };
        RunAction::Missed { alert }
    }
}

/// The alert text of a missed run.
pub fn missed_alert(due: DateTime<Utc>, reasons: &[MissReason]) -> String {
    let words: Vec<String> = reasons.iter().map(ToString::to_string).collect();
    format!(
        "scheduled run at {} missed: {}",
        due.format("%Y-%m-%d %H:%M UTC"),
        words.join("; ")
    )
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
