//! Mission actions as one request with one result: the whole protocol sequence behind "start",
//! "pause", "resume", "return", "land" and "abort", as an I/O-free state machine
//! ([`ActionSequence::handle`] takes [`SeqEvent`]s and returns [`SeqStep`]s; the driver
//! uploads, sends commands and runs the timer).
//!
//! Start on `ArduCopter`: upload (if items are given) and verify the vehicle's count → if the
//! mode refuses arming ([`ModeClass::blocks_arming`], e.g. AUTO or RTL after a finished
//! mission) switch to GUIDED and wait for the heartbeat to show it → arm and wait for the
//! heartbeat to show armed → `MISSION_SET_CURRENT` if a first item is given → `MISSION_START`,
//! confirmed when the heartbeat shows AUTO. On `PX4` the mode comes first: `MISSION` then arm.
//!
//! When a step fails after the sequence armed the vehicle and the vehicle is still on the
//! ground, the sequence disarms it again, so a refused start leaves the vehicle as it was
//! found. A failure carries the vehicle's own words: every `STATUSTEXT` of warning severity or
//! worse received during the sequence (and for a short grace period after the failure, since
//! `ArduPilot` may send the reason after the refusal).

use super::command::{
    self, Autopilot, CommandFailure, CommandOutcome, CommandSpec, MODE_TIMEOUT, copter_mode,
    px4_mode,
};
use super::driver::VehicleId;
use super::mission::{MissionError, MissionItem};
use aviary_core::mission_items::PlanItem;
use aviary_core::vehicle::{LandedState, ModeClass};
use std::collections::VecDeque;
use std::time::Duration;

/// How long the vehicle gets to answer a count request or show a new current item.
pub const STEP_TIMEOUT: Duration = Duration::from_millis(1500);
/// Attempts of a count request or `MISSION_SET_CURRENT`.
pub const STEP_ATTEMPTS: u8 = 3;
/// After a failure, how long `STATUSTEXT`s are still collected before the result goes out.
pub const STATUSTEXT_GRACE: Duration = Duration::from_millis(400);
/// `MAV_SEVERITY_WARNING`: texts this severe or worse are kept as the vehicle's words.
const WORDS_SEVERITY: u8 = 4;

/// A mission action the link carries out as a whole (see [`super::LinkHandle::mission_action`]).
#[derive(Debug, Clone, PartialEq)]
pub enum MissionRequest {
    /// Upload `items` if given (and verify the count), make the vehicle armable, arm and start
    /// the mission, from item `from_seq` if given.
    Start {
        /// The mission to upload first ([`aviary_core::mission_items::mission_items`]);
        /// `None` starts the mission already on the vehicle.
        items: Option<Vec<PlanItem>>,
        /// Start from this item instead of the first (resume after a failsafe or a battery
        /// swap).
        from_seq: Option<u16>,
    },
    /// Hold position (`ArduCopter` BRAKE, `PX4` HOLD).
    Pause,
    /// Continue the mission (AUTO / MISSION), from item `from_seq` if given.
    Resume {
        /// Continue from this item instead of where the vehicle stopped.
        from_seq: Option<u16>,
    },
    /// Return to launch.
    Rtl,
    /// Land where it is.
    Land,
    /// Stop the mission: return to launch when airborne, disarm when armed on the ground,
    /// nothing when already landed and disarmed.
    Abort,
}

/// Which action a result is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ActionKind {
    /// [`MissionRequest::Start`].
    Start,
    /// [`MissionRequest::Pause`].
    Pause,
    /// [`MissionRequest::Resume`].
    Resume,
    /// [`MissionRequest::Rtl`].
    Rtl,
    /// [`MissionRequest::Land`].
    Land,
    /// [`MissionRequest::Abort`].
    Abort,
}

impl std::fmt::Display for ActionKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Start => "start",
            Self::Pause => "pause",
            Self::Resume => "resume",
            Self::Rtl => "return to launch",
            Self::Land => "land",
            Self::Abort => "abort",
        })
    }
}

impl MissionRequest {
    /// Which action this is.
    pub fn kind(&self) -> ActionKind {
        match self {
            Self::Start { .. } => ActionKind::Start,
            Self::Pause => ActionKind::Pause,
            Self::Resume { .. } => ActionKind::Resume,
            Self::Rtl => ActionKind::Rtl,
            Self::Land => ActionKind::Land,
            Self::Abort => ActionKind::Abort,
        }
    }
}

/// Why a step of a mission action failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FailureCause {
    /// A command was refused, unanswered or not shown by the heartbeat.
    #[error(transparent)]
    Command(#[from] CommandFailure),
    /// The mission upload failed.
    #[error(transparent)]
    Mission(#[from] MissionError),
    /// The vehicle holds another number of items than we uploaded.
    #[error("the vehicle reports {got} mission items, {expected} were uploaded")]
    CountMismatch {
        /// Items uploaded.
        expected: u16,
        /// Items the vehicle reports.
        got: u16,
    },
    /// The vehicle did not answer a count request.
    #[error("the vehicle did not report its mission count")]
    NoCount,
    /// Accepted, but the heartbeat never showed the vehicle armed.
    #[error("accepted, but the vehicle never reported armed")]
    ArmNotShown,
    /// The vehicle never reported the requested current item.
    #[error("the vehicle never reported item {seq} as current")]
    CurrentNotShown {
        /// The item asked for.
        seq: u16,
    },
    /// An item cannot be sent (unknown command or frame).
    #[error("{0}")]
    BadItem(String),
    /// The vehicle's heartbeats stopped.
    #[error("the vehicle's link is lost")]
    VehicleLost,
    /// No heartbeat from this vehicle ever arrived on this link.
    #[error("the vehicle has never been heard on this link")]
    NeverHeard,
    /// Another action on this vehicle is still running.
    #[error("another action ({0}) is still running on this vehicle")]
    Busy(ActionKind),
    /// A later request (return, land, abort) replaced this one.
    #[error("replaced by a later {0} request")]
    Superseded(ActionKind),
    /// The link shut down.
    #[error("the link closed")]
    LinkClosed,
}

/// A mission action that did not complete: which vehicle, which step, why, and what the
/// vehicle said while it ran.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionFailure {
    /// The vehicle.
    pub vehicle: VehicleId,
    /// The step that failed (`"upload"`, `"mode GUIDED"`, `"arm"`, `"MISSION_START"`, …).
    pub step: String,
    /// Why.
    pub cause: FailureCause,
    /// `STATUSTEXT`s of warning severity or worse received during the action, verbatim, in
    /// order (e.g. `"Arm: Mode not armable"`, `"PreArm: GPS: no fix"`).
    pub vehicle_said: Vec<String>,
    /// The action had armed the vehicle and disarmed it again after the failure.
    pub disarmed_again: bool,
}

impl std::fmt::Display for ActionFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "vehicle {}: {} failed: {}",
            self.vehicle, self.step, self.cause
        )?;
        if !self.vehicle_said.is_empty() {
            write!(f, "; the vehicle said: ")?;
            for (i, t) in self.vehicle_said.iter().enumerate() {
                if i > 0 {
                    write!(f, ", ")?;
                }
                write!(f, "\"{t}\"")?;
            }
        }
        if self.disarmed_again {
            write!(f, " (disarmed again, as it was found)")?;
        }
        Ok(())
    }
}

impl std::error::Error for ActionFailure {}

/// What the sequence knows of the vehicle when it starts.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct VehicleView {
    /// Flight stack.
    pub autopilot: Autopilot,
    /// Current mode's class.
    pub mode_class: ModeClass,
    /// Motors armed.
    pub armed: bool,
    /// On the ground or flying.
    pub landed: LandedState,
}

/// Input of [`ActionSequence`].
#[derive(Debug, Clone, PartialEq)]
pub enum SeqEvent {
    /// Begin.
    Start,
    /// The upload the sequence asked for finished.
    Uploaded(Result<(), MissionError>),
    /// `MISSION_COUNT` from the vehicle.
    Count(u16),
    /// The command the sequence asked for finished (final outcome).
    CommandDone(CommandOutcome),
    /// `MISSION_CURRENT` from the vehicle.
    MissionCurrent(u16),
    /// A heartbeat.
    Heartbeat {
        /// Motors armed.
        armed: bool,
    },
    /// The vehicle's landed state changed.
    Landed(LandedState),
    /// `STATUSTEXT` from the vehicle.
    StatusText {
        /// `MAV_SEVERITY`.
        severity: u8,
        /// The text.
        text: String,
    },
    /// The timer set by the last [`SeqStep::SetTimer`] fired.
    Timeout,
    /// The action is abandoned for this reason (link lost, replaced, link closing).
    Abandon(FailureCause),
}

/// Output of [`ActionSequence`].
#[derive(Debug, Clone, PartialEq)]
pub enum SeqStep {
    /// Upload these items (home first); answer with [`SeqEvent::Uploaded`].
    Upload(Vec<MissionItem>),
    /// Send `MISSION_REQUEST_LIST`; the vehicle answers `MISSION_COUNT` ([`SeqEvent::Count`]).
    RequestCount,
    /// Send `MISSION_ACK` (accepted) to close the count request.
    EndCount,
    /// Run this command; answer with [`SeqEvent::CommandDone`].
    Command(CommandSpec),
    /// Send `MISSION_SET_CURRENT` for this item.
    SetCurrent(u16),
    /// (Re)start the sequence's timer.
    SetTimer(Duration),
    /// Cancel the timer.
    CancelTimer,
    /// The action's result; nothing follows.
    Done(Result<(), ActionFailure>),
}

#[derive(Debug, Clone, PartialEq)]
enum Stage {
    Upload(Vec<MissionItem>),
    VerifyCount(u16),
    Command(CommandSpec, String),
    AwaitArmed,
    SetCurrent(u16),
}

impl Stage {
    fn name(&self) -> String {
        match self {
            Self::Upload(_) => "upload".into(),
            Self::VerifyCount(_) => "mission count check".into(),
            Self::Command(_, label) => label.clone(),
            Self::AwaitArmed => "arm".into(),
            Self::SetCurrent(seq) => format!("set current item {seq}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
enum State {
    Idle,
    Running {
        stage: Stage,
        attempt: u8,
    },
    /// Disarming after a failure; then [`State::Grace`].
    RollingBack {
        failure: ActionFailure,
    },
    /// Collecting the vehicle's last words before reporting `failure`.
    Grace {
        failure: ActionFailure,
    },
    Done,
}

/// One mission action on one vehicle.
#[derive(Debug, Clone)]
pub struct ActionSequence {
    vehicle: VehicleId,
    kind: ActionKind,
    stages: VecDeque<Stage>,
    state: State,
    armed_by_us: bool,
    landed: LandedState,
    said: Vec<String>,
}

fn label_mode(autopilot: Autopilot, custom_mode: u32) -> String {
    format!("mode {}", command::mode_name(autopilot, custom_mode))
}

fn set_mode(autopilot: Autopilot, custom_mode: u32) -> Stage {
    Stage::Command(
        CommandSpec::set_mode(autopilot, custom_mode),
        label_mode(autopilot, custom_mode),
    )
}

impl ActionSequence {
    /// The sequence for `request` on `vehicle` as it is now. Items that cannot be sent make
    /// the sequence fail on [`SeqEvent::Start`] without touching the vehicle.
    pub fn new(vehicle: VehicleId, request: &MissionRequest, view: VehicleView) -> Self {
        let ap = view.autopilot;
        let px4 = ap == Autopilot::Px4;
        let mut stages = VecDeque::new();
        let mut bad_items = None;
        let arm = |stages: &mut VecDeque<Stage>| {
            stages.push_back(Stage::Command(command::arm(), "arm".into()));
            stages.push_back(Stage::AwaitArmed);
        };
        match request {
            MissionRequest::Start { items, from_seq } => {
                if let Some(items) = items {
                    match super::mission::upload_items(items) {
                        Ok(wire) => {
                            let n = wire.len() as u16;
                            stages.push_back(Stage::Upload(wire));
                            stages.push_back(Stage::VerifyCount(n));
                        }
                        Err(e) => bad_items = Some(e),
                    }
                }
                if px4 {
                    if let Some(seq) = from_seq {
                        stages.push_back(Stage::SetCurrent(*seq));
                    }
                    stages.push_back(set_mode(ap, px4_mode::MISSION));
                    if !view.armed {
                        arm(&mut stages);
                    }
                } else {
                    if !view.armed && view.mode_class.blocks_arming() {
                        stages.push_back(set_mode(ap, copter_mode::GUIDED));
                    }
                    if !view.armed {
                        arm(&mut stages);
                    }
                    if let Some(seq) = from_seq {
                        stages.push_back(Stage::SetCurrent(*seq));
                    }
                    let start = CommandSpec {
                        expect_mode: Some(copter_mode::AUTO),
                        ..command::mission_start_from(from_seq.unwrap_or(0))
                    };
                    stages.push_back(Stage::Command(start, "MISSION_START".into()));
                }
            }
            MissionRequest::Pause => {
                for spec in
                    command::action_commands(ap, aviary_core::wire::CommandAction::Pause, false)
                {
                    stages.push_back(Stage::Command(spec, "pause".into()));
                }
            }
            MissionRequest::Resume { from_seq } => {
                if let Some(seq) = from_seq {
                    stages.push_back(Stage::SetCurrent(*seq));
                }
                let auto = if px4 {
                    px4_mode::MISSION
                } else {
                    copter_mode::AUTO
                };
                stages.push_back(set_mode(ap, auto));
            }
            MissionRequest::Rtl => {
                for spec in
                    command::action_commands(ap, aviary_core::wire::CommandAction::Rth, false)
                {
                    stages.push_back(Stage::Command(spec, "return to launch".into()));
                }
            }
            MissionRequest::Land => {
                for spec in
                    command::action_commands(ap, aviary_core::wire::CommandAction::Land, false)
                {
                    stages.push_back(Stage::Command(spec, "land".into()));
                }
            }
            MissionRequest::Abort => {
                if view.landed.airborne() || (view.armed && view.landed == LandedState::Unknown) {
                    for spec in
                        command::action_commands(ap, aviary_core::wire::CommandAction::Rth, false)
                    {
                        stages.push_back(Stage::Command(spec, "return to launch".into()));
                    }
                } else if view.armed {
                    stages.push_back(Stage::Command(command::disarm(), "disarm".into()));
                }
            }
        }
        let mut s = Self {
            vehicle,
            kind: request.kind(),
            stages,
            state: State::Idle,
            armed_by_us: false,
            landed: view.landed,
            said: Vec::new(),
        };
        if let Some(e) = bad_items {
            s.stages.clear();
            s.stages.push_back(Stage::Upload(Vec::new()));
            s.state = State::Grace {
                failure: s.failure("upload".into(), FailureCause::Mission(e)),
            };
        }
        s
    }

    /// Which action this is.
    pub fn kind(&self) -> ActionKind {
        self.kind
    }

    /// Whether the result was reported.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    fn failure(&self, step: String, cause: FailureCause) -> ActionFailure {
        ActionFailure {
            vehicle: self.vehicle,
            step,
            cause,
            vehicle_said: self.said.clone(),
            disarmed_again: false,
        }
    }

    fn next_stage(&mut self) -> Vec<SeqStep> {
        let Some(stage) = self.stages.pop_front() else {
            self.state = State::Done;
            return vec![SeqStep::CancelTimer, SeqStep::Done(Ok(()))];
        };
        let out = match &stage {
            Stage::Upload(items) => vec![SeqStep::CancelTimer, SeqStep::Upload(items.clone())],
            Stage::VerifyCount(_) => vec![SeqStep::RequestCount, SeqStep::SetTimer(STEP_TIMEOUT)],
            Stage::Command(spec, _) => vec![SeqStep::CancelTimer, SeqStep::Command(*spec)],
            Stage::AwaitArmed => vec![SeqStep::SetTimer(MODE_TIMEOUT)],
            Stage::SetCurrent(seq) => {
                vec![SeqStep::SetCurrent(*seq), SeqStep::SetTimer(STEP_TIMEOUT)]
            }
        };
        self.state = State::Running { stage, attempt: 0 };
        out
    }

    /// A step failed: disarm what we armed if the vehicle is still on the ground, then report.
    fn fail(&mut self, step: String, cause: FailureCause) -> Vec<SeqStep> {
        let failure = self.failure(step, cause);
        if self.armed_by_us && !self.landed.airborne() {
            self.state = State::RollingBack { failure };
            return vec![SeqStep::CancelTimer, SeqStep::Command(command::disarm())];
        }
        self.state = State::Grace { failure };
        vec![SeqStep::SetTimer(STATUSTEXT_GRACE)]
    }

    fn finish_failure(&mut self, mut failure: ActionFailure) -> Vec<SeqStep> {
        failure.vehicle_said.clone_from(&self.said);
        self.state = State::Done;
        vec![SeqStep::CancelTimer, SeqStep::Done(Err(failure))]
    }

    /// Advances the sequence.
    #[expect(
        clippy::match_same_arms,
        reason = "one arm per (state, event) situation reads as the sequence's table"
    )]
    pub fn handle(&mut self, event: SeqEvent) -> Vec<SeqStep> {
        // The vehicle's words and landed state count whatever the stage.
        match &event {
            SeqEvent::StatusText { severity, text } => {
                if *severity <= WORDS_SEVERITY && !matches!(self.state, State::Done) {
                    self.said.push(text.clone());
                }
                return vec![];
            }
            SeqEvent::Landed(l) => {
                self.landed = *l;
                return vec![];
            }
            _ => {}
        }
        let state = std::mem::replace(&mut self.state, State::Done);
        match (state, event) {
            (State::Done, _) => vec![],
            (State::Idle, SeqEvent::Start) => self.next_stage(),
            (s @ State::Idle, _) => {
                self.state = s;
                vec![]
            }
            (State::Grace { failure }, SeqEvent::Start) => {
                // Items that could not be converted: fail before touching the vehicle.
                self.finish_failure(failure)
            }
            (State::Grace { failure }, SeqEvent::Timeout | SeqEvent::Abandon(_)) => {
                self.finish_failure(failure)
            }
            (s @ State::Grace { .. }, _) => {
                self.state = s;
                vec![]
            }
            (State::RollingBack { mut failure }, SeqEvent::CommandDone(o)) => {
                failure.disarmed_again = o == CommandOutcome::Confirmed;
                self.state = State::Grace { failure };
                vec![SeqStep::SetTimer(STATUSTEXT_GRACE)]
            }
            (State::RollingBack { failure }, SeqEvent::Abandon(_)) => self.finish_failure(failure),
            (s @ State::RollingBack { .. }, _) => {
                self.state = s;
                vec![]
            }
            (State::Running { stage, .. }, SeqEvent::Abandon(cause)) => {
                self.fail(stage.name(), cause)
            }
            (
                State::Running {
                    stage: Stage::Upload(_),
                    ..
                },
                SeqEvent::Uploaded(r),
            ) => match r {
                Ok(()) => self.next_stage(),
                Err(e) => self.fail("upload".into(), FailureCause::Mission(e)),
            },
            (
                State::Running {
                    stage: Stage::VerifyCount(n),
                    ..
                },
                SeqEvent::Count(got),
            ) => {
                let mut out = vec![SeqStep::EndCount];
                if got == n {
                    out.extend(self.next_stage());
                } else {
                    out.extend(self.fail(
                        "mission count check".into(),
                        FailureCause::CountMismatch { expected: n, got },
                    ));
                }
                out
            }
            (
                State::Running {
                    stage: Stage::VerifyCount(n),
                    attempt,
                },
                SeqEvent::Timeout,
            ) => {
                if attempt + 1 < STEP_ATTEMPTS {
                    self.state = State::Running {
                        stage: Stage::VerifyCount(n),
                        attempt: attempt + 1,
                    };
                    vec![SeqStep::RequestCount, SeqStep::SetTimer(STEP_TIMEOUT)]
                } else {
                    self.fail("mission count check".into(), FailureCause::NoCount)
                }
            }
            (
                State::Running {
                    stage: Stage::Command(spec, label),
                    ..
                },
                SeqEvent::CommandDone(o),
            ) => match o {
                CommandOutcome::Confirmed => {
                    if spec == command::arm() {
                        self.armed_by_us = true;
                    }
                    self.next_stage()
                }
                CommandOutcome::Failed(f) => self.fail(label, FailureCause::Command(f)),
                CommandOutcome::Pending => {
                    self.state = State::Running {
                        stage: Stage::Command(spec, label),
                        attempt: 0,
                    };
                    vec![]
                }
            },
            (
                State::Running {
                    stage: Stage::AwaitArmed,
                    ..
                },
                SeqEvent::Heartbeat { armed: true },
            ) => self.next_stage(),
            (
                State::Running {
                    stage: Stage::AwaitArmed,
                    ..
                },
                SeqEvent::Timeout,
            ) => self.fail("arm".into(), FailureCause::ArmNotShown),
            (
                State::Running {
                    stage: Stage::SetCurrent(seq),
                    ..
                },
                SeqEvent::MissionCurrent(cur),
            ) if cur == seq => self.next_stage(),
            (
                State::Running {
                    stage: Stage::SetCurrent(seq),
                    attempt,
                },
                SeqEvent::Timeout,
            ) => {
                if attempt + 1 < STEP_ATTEMPTS {
                    self.state = State::Running {
                        stage: Stage::SetCurrent(seq),
                        attempt: attempt + 1,
                    };
                    vec![SeqStep::SetCurrent(seq), SeqStep::SetTimer(STEP_TIMEOUT)]
                } else {
                    self.fail(
                        format!("set current item {seq}"),
                        FailureCause::CurrentNotShown { seq },
                    )
                }
            }
            (s @ State::Running { .. }, _) => {
                self.state = s;
                vec![]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aviary_core::LatLon;
    use aviary_core::mission_items::mission_items;
    use mavlink::dialects::ardupilotmega::MavCmd;

    fn id() -> VehicleId {
        VehicleId {
            peer: "127.0.0.1:14550".parse().expect("address"),
            system_id: 1,
        }
    }

    fn view(mode_class: ModeClass, armed: bool, landed: LandedState) -> VehicleView {
        VehicleView {
            autopilot: Autopilot::ArduPilot,
            mode_class,
            armed,
            landed,
        }
    }

    fn command(steps: &[SeqStep]) -> Option<CommandSpec> {
        steps.iter().find_map(|s| match s {
            SeqStep::Command(c) => Some(*c),
            _ => None,
        })
    }

    fn done(steps: &[SeqStep]) -> Option<&Result<(), ActionFailure>> {
        steps.iter().find_map(|s| match s {
            SeqStep::Done(r) => Some(r),
            _ => None,
        })
    }

    #[test]
    fn start_after_a_finished_mission_switches_to_guided_arms_and_starts() {
        let items = mission_items(LatLon::new(47.0, 8.0), &[], 5.0);
        let req = MissionRequest::Start {
            items: Some(items.clone()),
            from_seq: None,
        };
        let mut s = ActionSequence::new(
            id(),
            &req,
            view(ModeClass::Auto, false, LandedState::OnGround),
        );
        assert!(
            matches!(s.handle(SeqEvent::Start)[1], SeqStep::Upload(ref w) if w.len() == items.len())
        );
        let a = s.handle(SeqEvent::Uploaded(Ok(())));
        assert!(a.contains(&SeqStep::RequestCount));
        let a = s.handle(SeqEvent::Count(items.len() as u16));
        assert_eq!(a[0], SeqStep::EndCount);
        let mode = command(&a).expect("mode change");
        assert_eq!(mode.expect_mode, Some(copter_mode::GUIDED));
        let a = s.handle(SeqEvent::CommandDone(CommandOutcome::Confirmed));
        assert_eq!(command(&a), Some(command::arm()));
        let a = s.handle(SeqEvent::CommandDone(CommandOutcome::Confirmed));
        assert!(
            a.contains(&SeqStep::SetTimer(MODE_TIMEOUT)),
            "waits for the heartbeat"
        );
        assert!(s.handle(SeqEvent::Heartbeat { armed: false }).is_empty());
        let a = s.handle(SeqEvent::Heartbeat { armed: true });
        let start = command(&a).expect("mission start");
        assert_eq!(start.command, MavCmd::MAV_CMD_MISSION_START);
        assert_eq!(start.expect_mode, Some(copter_mode::AUTO));
        let a = s.handle(SeqEvent::CommandDone(CommandOutcome::Confirmed));
        assert_eq!(done(&a), Some(&Ok(())));
        assert!(s.is_done());
    }

    #[test]
    fn refused_start_after_arming_disarms_and_reports_the_vehicles_words() {
        let req = MissionRequest::Start {
            items: None,
            from_seq: Some(4),
        };
        let mut s = ActionSequence::new(
            id(),
            &req,
            view(ModeClass::Manual, false, LandedState::OnGround),
        );
        assert_eq!(
            command(&s.handle(SeqEvent::Start)),
            Some(command::arm()),
            "STABILIZE arms as is"
        );
        s.handle(SeqEvent::CommandDone(CommandOutcome::Confirmed));
        let a = s.handle(SeqEvent::Heartbeat { armed: true });
        assert!(a.contains(&SeqStep::SetCurrent(4)));
        let a = s.handle(SeqEvent::MissionCurrent(4));
        assert!(
            command(&a).is_some_and(|c| c.command == MavCmd::MAV_CMD_MISSION_START
                && (c.params[0] - 4.0).abs() < f32::EPSILON)
        );
        s.handle(SeqEvent::StatusText {
            severity: 6,
            text: "Arming motors".into(),
        });
        s.handle(SeqEvent::StatusText {
            severity: 4,
            text: "Mode change to AUTO failed: requires position".into(),
        });
        let a = s.handle(SeqEvent::CommandDone(CommandOutcome::Failed(
            CommandFailure::Rejected("FAILED".into()),
        )));
        assert_eq!(
            command(&a),
            Some(command::disarm()),
            "disarms what it armed"
        );
        let a = s.handle(SeqEvent::CommandDone(CommandOutcome::Confirmed));
        assert!(a.contains(&SeqStep::SetTimer(STATUSTEXT_GRACE)));
        s.handle(SeqEvent::StatusText {
            severity: 2,
            text: "Disarming motors late".into(),
        });
        let a = s.handle(SeqEvent::Timeout);
        let Some(Err(f)) = done(&a) else {
            panic!("expected a failure: {a:?}")
        };
        assert_eq!(f.step, "MISSION_START");
        assert!(f.disarmed_again);
        assert_eq!(
            f.vehicle_said,
            vec![
                "Mode change to AUTO failed: requires position".to_owned(),
                "Disarming motors late".to_owned()
            ]
        );
        let text = f.to_string();
        assert!(
            text.contains("requires position") && text.contains("vehicle 1@127.0.0.1:14550"),
            "{text}"
        );
    }

    #[test]
    fn a_failure_in_the_air_does_not_disarm_and_a_failure_before_arming_needs_no_rollback() {
        let req = MissionRequest::Start {
            items: None,
            from_seq: None,
        };
        let mut s = ActionSequence::new(
            id(),
            &req,
            view(ModeClass::Manual, false, LandedState::OnGround),
        );
        s.handle(SeqEvent::Start);
        s.handle(SeqEvent::CommandDone(CommandOutcome::Confirmed));
        s.handle(SeqEvent::Heartbeat { armed: true });
        s.handle(SeqEvent::Landed(LandedState::InAir));
        let a = s.handle(SeqEvent::CommandDone(CommandOutcome::Failed(
            CommandFailure::NoAck { attempts: 1 },
        )));
        assert!(command(&a).is_none(), "never disarms in the air");

        let mut s = ActionSequence::new(
            id(),
            &req,
            view(ModeClass::Return, false, LandedState::OnGround),
        );
        s.handle(SeqEvent::Start);
        s.handle(SeqEvent::StatusText {
            severity: 2,
            text: "Arm: Mode not armable".into(),
        });
        let a = s.handle(SeqEvent::CommandDone(CommandOutcome::Failed(
            CommandFailure::Rejected("FAILED".into()),
        )));
        assert!(command(&a).is_none());
        let a = s.handle(SeqEvent::Timeout);
        let Some(Err(f)) = done(&a) else {
            panic!("{a:?}")
        };
        assert_eq!(f.step, "mode GUIDED");
        assert!(!f.disarmed_again);
        assert_eq!(f.vehicle_said, vec!["Arm: Mode not armable".to_owned()]);
    }

    #[test]
    fn px4_sets_the_mission_mode_before_arming_and_abort_depends_on_the_air() {
        let req = MissionRequest::Start {
            items: None,
            from_seq: None,
        };
        let mut s = ActionSequence::new(
            id(),
            &req,
            VehicleView {
                autopilot: Autopilot::Px4,
                mode_class: ModeClass::Hold,
                armed: false,
                landed: LandedState::OnGround,
            },
        );
        let first = command(&s.handle(SeqEvent::Start)).expect("command");
        assert_eq!(first.expect_mode, Some(px4_mode::MISSION));
        assert_eq!(
            command(&s.handle(SeqEvent::CommandDone(CommandOutcome::Confirmed))),
            Some(command::arm())
        );

        let mut on_ground = ActionSequence::new(
            id(),
            &MissionRequest::Abort,
            view(ModeClass::Guided, true, LandedState::OnGround),
        );
        assert_eq!(
            command(&on_ground.handle(SeqEvent::Start)),
            Some(command::disarm())
        );
        let mut flying = ActionSequence::new(
            id(),
            &MissionRequest::Abort,
            view(ModeClass::Auto, true, LandedState::InAir),
        );
        assert!(
            command(&flying.handle(SeqEvent::Start))
                .is_some_and(|c| c.command == MavCmd::MAV_CMD_NAV_RETURN_TO_LAUNCH)
        );
        let mut idle = ActionSequence::new(
            id(),
            &MissionRequest::Abort,
            view(ModeClass::Manual, false, LandedState::OnGround),
        );
        assert_eq!(done(&idle.handle(SeqEvent::Start)), Some(&Ok(())));
    }

    #[test]
    fn a_lost_vehicle_fails_the_running_step_at_once() {
        let mut s = ActionSequence::new(
            id(),
            &MissionRequest::Pause,
            view(ModeClass::Auto, true, LandedState::InAir),
        );
        s.handle(SeqEvent::Start);
        let a = s.handle(SeqEvent::Abandon(FailureCause::VehicleLost));
        assert!(a.contains(&SeqStep::SetTimer(STATUSTEXT_GRACE)));
        let a = s.handle(SeqEvent::Abandon(FailureCause::VehicleLost));
        assert!(matches!(done(&a), Some(Err(f)) if f.cause == FailureCause::VehicleLost));
    }
}
