//! Commands (`COMMAND_LONG` / `COMMAND_INT`) and their `COMMAND_ACK`, as an I/O-free state
//! machine, plus the mapping of mission actions to `ArduCopter` and `PX4` commands.
//!
//! Rules: an ack matches on (system, component, command); idempotent commands (mode change,
//! RTL, land, pause) are resent up to 3 times at 1.5 s with `confirmation` incremented; arm,
//! disarm, takeoff and flight termination are never resent; `IN_PROGRESS` extends the wait;
//! a mode change counts as done only when the heartbeat shows the new mode.

use aviary_core::vehicle::{FlightMode, ModeClass};
use aviary_core::wire::CommandAction as MissionAction;
use mav::MavMessage;
use mavlink::dialects::ardupilotmega as mav;
use std::time::Duration;

/// Wait for an ack.
pub const ACK_TIMEOUT: Duration = Duration::from_millis(1500);
/// Resends of an idempotent command.
pub const MAX_RESENDS: u8 = 3;
/// After an accepted mode change, how long we wait for a heartbeat showing the mode
/// (heartbeats come at 1 Hz; allow for two lost ones).
pub const MODE_TIMEOUT: Duration = Duration::from_millis(3500);

/// Which flight stack a vehicle runs, from its heartbeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Autopilot {
    /// `ArduPilot` (`ArduCopter` custom modes).
    ArduPilot,
    /// `PX4` (main/sub custom modes).
    Px4,
    /// Anything else: generic commands only.
    Other,
}

/// `ArduCopter` `custom_mode` numbers used by the mapping (the whole table is
/// [`COPTER_MODES`]).
pub mod copter_mode {
    /// STABILIZE.
    pub const STABILIZE: u32 = 0;
    /// AUTO.
    pub const AUTO: u32 = 3;
    /// GUIDED.
    pub const GUIDED: u32 = 4;
    /// LOITER.
    pub const LOITER: u32 = 5;
    /// RTL.
    pub const RTL: u32 = 6;
    /// LAND.
    pub const LAND: u32 = 9;
    /// BRAKE.
    pub const BRAKE: u32 = 17;
}

/// Every `ArduCopter` 4.x flight mode (`ArduCopter/mode.h`, `Mode::Number`): number, name and
/// what it does. Numbers not listed (8, 10, 12) are unused.
pub const COPTER_MODES: [(u32, &str, ModeClass); 26] = [
    (0, "STABILIZE", ModeClass::Manual),
    (1, "ACRO", ModeClass::Manual),
    (2, "ALT_HOLD", ModeClass::Manual),
    (3, "AUTO", ModeClass::Auto),
    (4, "GUIDED", ModeClass::Guided),
    (5, "LOITER", ModeClass::Hold),
    (6, "RTL", ModeClass::Return),
    (7, "CIRCLE", ModeClass::Other),
    (9, "LAND", ModeClass::Land),
    (11, "DRIFT", ModeClass::Manual),
    (13, "SPORT", ModeClass::Manual),
    (14, "FLIP", ModeClass::Manual),
    (15, "AUTOTUNE", ModeClass::Other),
    (16, "POSHOLD", ModeClass::Hold),
    (17, "BRAKE", ModeClass::Hold),
    (18, "THROW", ModeClass::Other),
    (19, "AVOID_ADSB", ModeClass::Other),
    (20, "GUIDED_NOGPS", ModeClass::Guided),
    (21, "SMART_RTL", ModeClass::Return),
    (22, "FLOWHOLD", ModeClass::Hold),
    (23, "FOLLOW", ModeClass::Other),
    (24, "ZIGZAG", ModeClass::Manual),
    (25, "SYSTEMID", ModeClass::Other),
    (26, "AUTOROTATE", ModeClass::Land),
    // AUTO flying a DO_LAND_START landing sequence reports this mode.
    (27, "AUTO_RTL", ModeClass::Return),
    (28, "TURTLE", ModeClass::Manual),
];

/// `PX4` `custom_mode` values (main mode in bits 16..24, sub mode in bits 24..32).
pub mod px4_mode {
    const fn auto(sub: u32) -> u32 {
        (4 << 16) | (sub << 24)
    }
    /// AUTO.LOITER (hold).
    pub const HOLD: u32 = auto(3);
    /// AUTO.MISSION.
    pub const MISSION: u32 = auto(4);
    /// AUTO.RTL.
    pub const RTL: u32 = auto(5);
    /// AUTO.LAND.
    pub const LAND: u32 = auto(6);
}

/// `PX4` main modes (`px4_custom_mode.h`, `PX4_CUSTOM_MAIN_MODE_*`) with their class; `AUTO`
/// (4) and `POSCTL` (3) are refined by their sub mode in [`PX4_AUTO_SUB_MODES`] and
/// [`PX4_POSCTL_SUB_MODES`].
pub const PX4_MAIN_MODES: [(u32, &str, ModeClass); 10] = [
    (1, "MANUAL", ModeClass::Manual),
    (2, "ALTCTL", ModeClass::Manual),
    (3, "POSCTL", ModeClass::Manual),
    (4, "AUTO", ModeClass::Auto),
    (5, "ACRO", ModeClass::Manual),
    (6, "OFFBOARD", ModeClass::Guided),
    (7, "STABILIZED", ModeClass::Manual),
    (8, "RATTITUDE", ModeClass::Manual),
    (9, "SIMPLE", ModeClass::Manual),
    (10, "TERMINATION", ModeClass::Other),
];

/// `PX4` `AUTO` sub modes (`PX4_CUSTOM_SUB_MODE_AUTO_*`).
pub const PX4_AUTO_SUB_MODES: [(u32, &str, ModeClass); 10] = [
    (1, "READY", ModeClass::Hold),
    (2, "TAKEOFF", ModeClass::Takeoff),
    (3, "HOLD", ModeClass::Hold),
    (4, "MISSION", ModeClass::Auto),
    (5, "RTL", ModeClass::Return),
    (6, "LAND", ModeClass::Land),
    (7, "RTGS", ModeClass::Return),
    (8, "FOLLOW_TARGET", ModeClass::Other),
    (9, "PRECLAND", ModeClass::Land),
    (10, "VTOL_TAKEOFF", ModeClass::Takeoff),
];

/// `PX4` `POSCTL` sub modes (`PX4_CUSTOM_SUB_MODE_POSCTL_*`).
pub const PX4_POSCTL_SUB_MODES: [(u32, &str, ModeClass); 3] = [
    (0, "POSCTL", ModeClass::Manual),
    (1, "ORBIT", ModeClass::Other),
    (2, "POSCTL_SLOW", ModeClass::Manual),
];

fn lookup(table: &[(u32, &'static str, ModeClass)], n: u32) -> Option<(&'static str, ModeClass)> {
    table
        .iter()
        .find(|(k, _, _)| *k == n)
        .map(|(_, name, class)| (*name, *class))
}

/// The flight mode a heartbeat's `custom_mode` stands for: its name and class. Unknown numbers
/// are named `MODE(n)` (`PX4(main.sub)`) and classed [`ModeClass::Other`].
pub fn flight_mode(autopilot: Autopilot, custom_mode: u32) -> FlightMode {
    let (name, class) = match autopilot {
        Autopilot::ArduPilot => lookup(&COPTER_MODES, custom_mode).map_or_else(
            || (format!("MODE({custom_mode})"), ModeClass::Other),
            |(n, c)| (n.to_owned(), c),
        ),
        Autopilot::Px4 => {
            let main = (custom_mode >> 16) & 0xff;
            let sub = custom_mode >> 24;
            let refined = match main {
                4 => lookup(&PX4_AUTO_SUB_MODES, sub),
                3 => lookup(&PX4_POSCTL_SUB_MODES, sub),
                _ => lookup(&PX4_MAIN_MODES, main),
            };
            refined.map_or_else(
                || (format!("PX4({main}.{sub})"), ModeClass::Other),
                |(n, c)| (n.to_owned(), c),
            )
        }
        Autopilot::Other => (format!("MODE({custom_mode})"), ModeClass::Other),
    };
    FlightMode { name, class }
}

/// Human name of a flight mode.
pub fn mode_name(autopilot: Autopilot, custom_mode: u32) -> String {
    flight_mode(autopilot, custom_mode).name
}

/// What a flight mode does.
pub fn mode_class(autopilot: Autopilot, custom_mode: u32) -> ModeClass {
    flight_mode(autopilot, custom_mode).class
}

/// A command to send, with what confirms it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CommandSpec {
    /// The command.
    pub command: mav::MavCmd,
    /// `param1`..`param7` (for `COMMAND_INT`, `param5`/`param6` are ignored and `x`/`y` used).
    pub params: [f32; 7],
    /// Send as `COMMAND_INT` with this position (1e7 degrees) instead of `COMMAND_LONG`.
    pub int_position: Option<(i32, i32)>,
    /// Done only when the heartbeat shows this `custom_mode`.
    pub expect_mode: Option<u32>,
}

impl CommandSpec {
    /// A `COMMAND_LONG` with `params`.
    pub const fn long(command: mav::MavCmd, params: [f32; 7]) -> Self {
        Self {
            command,
            params,
            int_position: None,
            expect_mode: None,
        }
    }

    /// Mode change through `MAV_CMD_DO_SET_MODE`, confirmed by heartbeat.
    pub fn set_mode(autopilot: Autopilot, custom_mode: u32) -> Self {
        let params = match autopilot {
            // PX4 takes main and sub mode as separate parameters.
            Autopilot::Px4 => [
                1.0,
                ((custom_mode >> 16) & 0xff) as f32,
                (custom_mode >> 24) as f32,
                0.0,
                0.0,
                0.0,
                0.0,
            ],
            _ => [1.0, custom_mode as f32, 0.0, 0.0, 0.0, 0.0, 0.0],
        };
        Self {
            expect_mode: Some(custom_mode),
            ..Self::long(mav::MavCmd::MAV_CMD_DO_SET_MODE, params)
        }
    }

    /// Whether this command may be resent automatically. Arm, disarm, takeoff, mission start
    /// and flight termination change the vehicle's state in ways a duplicate could repeat.
    pub fn resendable(&self) -> bool {
        use mav::MavCmd as C;
        matches!(
            self.command,
            C::MAV_CMD_DO_SET_MODE
                | C::MAV_CMD_NAV_RETURN_TO_LAUNCH
                | C::MAV_CMD_NAV_LAND
                | C::MAV_CMD_DO_PAUSE_CONTINUE
                | C::MAV_CMD_DO_REPOSITION
                | C::MAV_CMD_DO_CHANGE_SPEED
                | C::MAV_CMD_SET_MESSAGE_INTERVAL
                | C::MAV_CMD_REQUEST_MESSAGE
        )
    }

    /// The wire message for attempt `confirmation` (0 = first).
    pub fn to_message(&self, target: (u8, u8), confirmation: u8) -> MavMessage {
        let p = self.params;
        match self.int_position {
            Some((x, y)) => MavMessage::COMMAND_INT(mav::COMMAND_INT_DATA {
                param1: p[0],
                param2: p[1],
                param3: p[2],
                param4: p[3],
                x,
                y,
                z: p[6],
                command: self.command,
                target_system: target.0,
                target_component: target.1,
                frame: mav::MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT,
                current: 0,
                autocontinue: 0,
            }),
            None => MavMessage::COMMAND_LONG(mav::COMMAND_LONG_DATA {
                param1: p[0],
                param2: p[1],
                param3: p[2],
                param4: p[3],
                param5: p[4],
                param6: p[5],
                param7: p[6],
                command: self.command,
                target_system: target.0,
                target_component: target.1,
                confirmation,
            }),
        }
    }
}

/// Arm the motors (never resent).
pub const fn arm() -> CommandSpec {
    CommandSpec::long(
        mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM,
        [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    )
}

/// Disarm (never resent).
pub const fn disarm() -> CommandSpec {
    CommandSpec::long(mav::MavCmd::MAV_CMD_COMPONENT_ARM_DISARM, [0.0; 7])
}

/// Take off to `alt_m` above home (never resent).
pub const fn takeoff(alt_m: f32) -> CommandSpec {
    CommandSpec::long(
        mav::MavCmd::MAV_CMD_NAV_TAKEOFF,
        [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, alt_m],
    )
}

/// Start the uploaded mission from its first item (never resent).
pub const fn mission_start() -> CommandSpec {
    CommandSpec::long(mav::MavCmd::MAV_CMD_MISSION_START, [0.0; 7])
}

/// Start the uploaded mission from item `first` (0: the first item; `ArduCopter` starts where
/// `MISSION_SET_CURRENT` left it). Never resent.
pub const fn mission_start_from(first: u16) -> CommandSpec {
    CommandSpec::long(
        mav::MavCmd::MAV_CMD_MISSION_START,
        [first as f32, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
    )
}

/// The commands for a mission action, in order: each must be confirmed before the next is sent.
/// `Abort` returns home unless `abort_lands` (the operator chose to land where it is).
pub fn action_commands(
    autopilot: Autopilot,
    action: MissionAction,
    abort_lands: bool,
) -> Vec<CommandSpec> {
    use mav::MavCmd as C;
    let rtl_mode = if autopilot == Autopilot::Px4 {
        px4_mode::RTL
    } else {
        copter_mode::RTL
    };
    let land_mode = if autopilot == Autopilot::Px4 {
        px4_mode::LAND
    } else {
        copter_mode::LAND
    };
    let rtl = CommandSpec {
        expect_mode: Some(rtl_mode),
        ..CommandSpec::long(C::MAV_CMD_NAV_RETURN_TO_LAUNCH, [0.0; 7])
    };
    let land = CommandSpec {
        expect_mode: Some(land_mode),
        ..CommandSpec::long(
            C::MAV_CMD_NAV_LAND,
            [0.0, 0.0, 0.0, f32::NAN, f32::NAN, f32::NAN, 0.0],
        )
    };
    match (autopilot, action) {
        (_, MissionAction::Start) => vec![arm(), mission_start()],
        (Autopilot::Px4, MissionAction::Pause) => vec![CommandSpec {
            // DO_REPOSITION with no position and the change-mode flag: PX4 holds where it is.
            expect_mode: Some(px4_mode::HOLD),
            ..CommandSpec::long(
                C::MAV_CMD_DO_REPOSITION,
                [-1.0, 1.0, 0.0, f32::NAN, f32::NAN, f32::NAN, f32::NAN],
            )
        }],
        (Autopilot::Px4, MissionAction::Resume) => {
            vec![CommandSpec::set_mode(autopilot, px4_mode::MISSION)]
        }
        (_, MissionAction::Pause) => vec![CommandSpec::set_mode(autopilot, copter_mode::BRAKE)],
        (_, MissionAction::Resume) => vec![CommandSpec::set_mode(autopilot, copter_mode::AUTO)],
        (_, MissionAction::Rth) => vec![rtl],
        (_, MissionAction::Land) => vec![land],
        (_, MissionAction::Abort) => vec![if abort_lands { land } else { rtl }],
    }
}

/// Why a command did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandFailure {
    /// The vehicle answered with a result other than accepted.
    #[error("vehicle answered {0}")]
    Rejected(String),
    /// No ack after all attempts.
    #[error("no answer after {attempts} attempt(s)")]
    NoAck {
        /// Attempts made.
        attempts: u8,
    },
    /// Accepted, but the heartbeat never showed the new mode.
    #[error("accepted, but the vehicle never reported mode {expected}")]
    ModeNotShown {
        /// The mode we waited for.
        expected: String,
    },
    /// The same command to the same vehicle is still pending.
    #[error("the same command is already pending")]
    Duplicate,
    /// The vehicle is not known on this link (no heartbeat yet).
    #[error("the vehicle has never been heard on this link")]
    UnknownVehicle,
    /// The vehicle's heartbeats stopped (link lost): nothing is sent until it is back.
    #[error("the vehicle's link is lost")]
    VehicleLost,
    /// The link went away.
    #[error("link closed")]
    LinkClosed,
}

/// Progress and result of a command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandOutcome {
    /// Sent, waiting (also after `IN_PROGRESS` or an accepted ack awaiting the heartbeat).
    Pending,
    /// Done: acked (and, for a mode change, shown by the heartbeat).
    Confirmed,
    /// Not done.
    Failed(CommandFailure),
}

/// Input of the command state machine.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CommandEvent {
    /// Send the command.
    Start,
    /// A `COMMAND_ACK` for this (system, component, command).
    Ack(mav::MavResult),
    /// A heartbeat from the vehicle with this `custom_mode`.
    Heartbeat {
        /// Reported mode.
        custom_mode: u32,
    },
    /// The timer fired.
    Timeout,
}

/// Output of the command state machine.
#[expect(
    clippy::large_enum_variant,
    reason = "short-lived per-step values; boxing every outgoing message buys nothing"
)]
#[derive(Debug, Clone, PartialEq)]
pub enum CommandStep {
    /// Send this message.
    Send(MavMessage),
    /// (Re)start the timer.
    SetTimer(Duration),
    /// Report this outcome (the last one reported is final when it is not `Pending`).
    Outcome(CommandOutcome),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CmdState {
    Idle,
    AwaitAck { attempt: u8 },
    AwaitMode,
    Done,
}

/// One command transaction.
#[derive(Debug, Clone)]
pub struct CommandTransaction {
    spec: CommandSpec,
    target: (u8, u8),
    autopilot: Autopilot,
    state: CmdState,
}

impl CommandTransaction {
    /// A transaction sending `spec` to `target`.
    pub fn new(spec: CommandSpec, target: (u8, u8), autopilot: Autopilot) -> Self {
        Self {
            spec,
            target,
            autopilot,
            state: CmdState::Idle,
        }
    }

    /// The command being sent.
    pub fn spec(&self) -> &CommandSpec {
        &self.spec
    }

    /// Whether a final outcome was reported.
    pub fn is_done(&self) -> bool {
        self.state == CmdState::Done
    }

    fn fail(&mut self, f: CommandFailure) -> Vec<CommandStep> {
        self.state = CmdState::Done;
        vec![CommandStep::Outcome(CommandOutcome::Failed(f))]
    }

    fn confirm(&mut self) -> Vec<CommandStep> {
        self.state = CmdState::Done;
        vec![CommandStep::Outcome(CommandOutcome::Confirmed)]
    }

    /// Advances the transaction.
    #[expect(
        clippy::match_same_arms,
        reason = "one arm per protocol situation reads as the fault table"
    )]
    pub fn handle(&mut self, event: CommandEvent) -> Vec<CommandStep> {
        use CommandStep::{Outcome, Send, SetTimer};
        match (self.state, event) {
            (CmdState::Done, _)
            | (
                CmdState::Idle,
                CommandEvent::Ack(_) | CommandEvent::Heartbeat { .. } | CommandEvent::Timeout,
            ) => vec![],
            (CmdState::Idle, CommandEvent::Start) => {
                self.state = CmdState::AwaitAck { attempt: 0 };
                vec![
                    Send(self.spec.to_message(self.target, 0)),
                    SetTimer(ACK_TIMEOUT),
                    Outcome(CommandOutcome::Pending),
                ]
            }
            (CmdState::AwaitAck { .. } | CmdState::AwaitMode, CommandEvent::Start) => vec![],
            (
                CmdState::AwaitAck { .. },
                CommandEvent::Ack(mav::MavResult::MAV_RESULT_IN_PROGRESS),
            ) => vec![SetTimer(ACK_TIMEOUT)],
            (CmdState::AwaitAck { .. }, CommandEvent::Ack(mav::MavResult::MAV_RESULT_ACCEPTED)) => {
                if self.spec.expect_mode.is_some() {
                    self.state = CmdState::AwaitMode;
                    vec![SetTimer(MODE_TIMEOUT)]
                } else {
                    self.confirm()
                }
            }
            (CmdState::AwaitAck { .. }, CommandEvent::Ack(r)) => {
                self.fail(CommandFailure::Rejected(
                    format!("{r:?}")
                        .trim_start_matches("MAV_RESULT_")
                        .to_owned(),
                ))
            }
            (
                CmdState::AwaitAck { .. } | CmdState::AwaitMode,
                CommandEvent::Heartbeat { custom_mode },
            ) => {
                // The heartbeat is the real confirmation of a mode change, even if the ack was lost.
                if self.spec.expect_mode == Some(custom_mode) {
                    self.confirm()
                } else {
                    vec![]
                }
            }
            (CmdState::AwaitMode, CommandEvent::Ack(_)) => vec![],
            (CmdState::AwaitAck { attempt }, CommandEvent::Timeout) => {
                if self.spec.resendable() && attempt < MAX_RESENDS {
                    let attempt = attempt + 1;
                    self.state = CmdState::AwaitAck { attempt };
                    vec![
                        Send(self.spec.to_message(self.target, attempt)),
                        SetTimer(ACK_TIMEOUT),
                    ]
                } else {
                    self.fail(CommandFailure::NoAck {
                        attempts: attempt + 1,
                    })
                }
            }
            (CmdState::AwaitMode, CommandEvent::Timeout) => {
                let expected = mode_name(self.autopilot, self.spec.expect_mode.unwrap_or_default());
                self.fail(CommandFailure::ModeNotShown { expected })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mav::MavResult as R;

    fn outcome(steps: &[CommandStep]) -> Option<&CommandOutcome> {
        steps.iter().rev().find_map(|s| {
            if let CommandStep::Outcome(o) = s {
                Some(o)
            } else {
                None
            }
        })
    }

    fn sends(steps: &[CommandStep]) -> Vec<u8> {
        steps
            .iter()
            .filter_map(|s| match s {
                CommandStep::Send(MavMessage::COMMAND_LONG(c)) => Some(c.confirmation),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn plain_command_confirms_on_accepted_ack() {
        let mut t = CommandTransaction::new(takeoff(10.0), (1, 1), Autopilot::ArduPilot);
        let s = t.handle(CommandEvent::Start);
        assert_eq!(sends(&s), vec![0]);
        assert_eq!(outcome(&s), Some(&CommandOutcome::Pending));
        assert_eq!(
            outcome(&t.handle(CommandEvent::Ack(R::MAV_RESULT_ACCEPTED))),
            Some(&CommandOutcome::Confirmed)
        );
        assert!(t.is_done());
    }

    #[test]
    fn idempotent_command_is_resent_three_times_with_confirmation_incremented() {
        let mut t = CommandTransaction::new(
            CommandSpec::set_mode(Autopilot::ArduPilot, copter_mode::RTL),
            (1, 1),
            Autopilot::ArduPilot,
        );
        t.handle(CommandEvent::Start);
        for n in 1..=MAX_RESENDS {
            assert_eq!(sends(&t.handle(CommandEvent::Timeout)), vec![n]);
        }
        assert_eq!(
            outcome(&t.handle(CommandEvent::Timeout)),
            Some(&CommandOutcome::Failed(CommandFailure::NoAck {
                attempts: 4
            }))
        );
    }

    #[test]
    fn arm_takeoff_disarm_termination_and_mission_start_are_never_resent() {
        let term = CommandSpec::long(
            mav::MavCmd::MAV_CMD_DO_FLIGHTTERMINATION,
            [1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        );
        for spec in [arm(), disarm(), takeoff(5.0), term, mission_start()] {
            let mut t = CommandTransaction::new(spec, (1, 1), Autopilot::ArduPilot);
            t.handle(CommandEvent::Start);
            let s = t.handle(CommandEvent::Timeout);
            assert!(sends(&s).is_empty(), "{:?} resent", spec.command);
            assert_eq!(
                outcome(&s),
                Some(&CommandOutcome::Failed(CommandFailure::NoAck {
                    attempts: 1
                }))
            );
        }
    }

    #[test]
    fn in_progress_extends_the_wait_without_using_a_resend() {
        let mut t = CommandTransaction::new(takeoff(10.0), (1, 1), Autopilot::ArduPilot);
        t.handle(CommandEvent::Start);
        for _ in 0..5 {
            assert_eq!(
                t.handle(CommandEvent::Ack(R::MAV_RESULT_IN_PROGRESS)),
                vec![CommandStep::SetTimer(ACK_TIMEOUT)]
            );
        }
        assert_eq!(
            outcome(&t.handle(CommandEvent::Ack(R::MAV_RESULT_ACCEPTED))),
            Some(&CommandOutcome::Confirmed)
        );
    }

    #[test]
    fn every_refusal_fails_with_its_result() {
        for r in [
            R::MAV_RESULT_TEMPORARILY_REJECTED,
            R::MAV_RESULT_DENIED,
            R::MAV_RESULT_UNSUPPORTED,
            R::MAV_RESULT_FAILED,
            R::MAV_RESULT_CANCELLED,
        ] {
            let mut t = CommandTransaction::new(
                CommandSpec::set_mode(Autopilot::ArduPilot, 3),
                (1, 1),
                Autopilot::ArduPilot,
            );
            t.handle(CommandEvent::Start);
            assert!(matches!(
                outcome(&t.handle(CommandEvent::Ack(r))),
                Some(CommandOutcome::Failed(CommandFailure::Rejected(_)))
            ));
        }
    }

    #[test]
    fn mode_change_waits_for_the_heartbeat() {
        let mut t = CommandTransaction::new(
            CommandSpec::set_mode(Autopilot::ArduPilot, copter_mode::BRAKE),
            (1, 1),
            Autopilot::ArduPilot,
        );
        t.handle(CommandEvent::Start);
        assert_eq!(
            t.handle(CommandEvent::Ack(R::MAV_RESULT_ACCEPTED)),
            vec![CommandStep::SetTimer(MODE_TIMEOUT)]
        );
        assert!(
            t.handle(CommandEvent::Heartbeat {
                custom_mode: copter_mode::AUTO
            })
            .is_empty()
        );
        assert_eq!(
            outcome(&t.handle(CommandEvent::Heartbeat {
                custom_mode: copter_mode::BRAKE
            })),
            Some(&CommandOutcome::Confirmed)
        );

        let mut t = CommandTransaction::new(
            CommandSpec::set_mode(Autopilot::ArduPilot, copter_mode::BRAKE),
            (1, 1),
            Autopilot::ArduPilot,
        );
        t.handle(CommandEvent::Start);
        t.handle(CommandEvent::Ack(R::MAV_RESULT_ACCEPTED));
        assert!(
            matches!(outcome(&t.handle(CommandEvent::Timeout)), Some(CommandOutcome::Failed(CommandFailure::ModeNotShown { expected })) if expected == "BRAKE")
        );

        // Ack lost, but the heartbeat shows the mode: done.
        let mut t = CommandTransaction::new(
            CommandSpec::set_mode(Autopilot::ArduPilot, copter_mode::RTL),
            (1, 1),
            Autopilot::ArduPilot,
        );
        t.handle(CommandEvent::Start);
        assert_eq!(
            outcome(&t.handle(CommandEvent::Heartbeat {
                custom_mode: copter_mode::RTL
            })),
            Some(&CommandOutcome::Confirmed)
        );
    }

    #[test]
    fn actions_map_to_ardupilot_and_px4() {
        use mav::MavCmd as C;
        let cmd = |a, ap, lands| {
            action_commands(ap, a, lands)
                .iter()
                .map(|s| (s.command, s.expect_mode))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            cmd(MissionAction::Start, Autopilot::ArduPilot, false),
            vec![
                (C::MAV_CMD_COMPONENT_ARM_DISARM, None),
                (C::MAV_CMD_MISSION_START, None)
            ]
        );
        assert_eq!(
            cmd(MissionAction::Pause, Autopilot::ArduPilot, false),
            vec![(C::MAV_CMD_DO_SET_MODE, Some(copter_mode::BRAKE))]
        );
        assert_eq!(
            cmd(MissionAction::Resume, Autopilot::ArduPilot, false),
            vec![(C::MAV_CMD_DO_SET_MODE, Some(copter_mode::AUTO))]
        );
        assert_eq!(
            cmd(MissionAction::Rth, Autopilot::ArduPilot, false),
            vec![(C::MAV_CMD_NAV_RETURN_TO_LAUNCH, Some(copter_mode::RTL))]
        );
        assert_eq!(
            cmd(MissionAction::Land, Autopilot::ArduPilot, false),
            vec![(C::MAV_CMD_NAV_LAND, Some(copter_mode::LAND))]
        );
        assert_eq!(
            cmd(MissionAction::Abort, Autopilot::ArduPilot, false),
            vec![(C::MAV_CMD_NAV_RETURN_TO_LAUNCH, Some(copter_mode::RTL))]
        );
        assert_eq!(
            cmd(MissionAction::Abort, Autopilot::ArduPilot, true),
            vec![(C::MAV_CMD_NAV_LAND, Some(copter_mode::LAND))]
        );
        assert_eq!(
            cmd(MissionAction::Pause, Autopilot::Px4, false),
            vec![(C::MAV_CMD_DO_REPOSITION, Some(px4_mode::HOLD))]
        );
        assert_eq!(
            cmd(MissionAction::Resume, Autopilot::Px4, false),
            vec![(C::MAV_CMD_DO_SET_MODE, Some(px4_mode::MISSION))]
        );
        assert_eq!(
            cmd(MissionAction::Rth, Autopilot::Px4, false),
            vec![(C::MAV_CMD_NAV_RETURN_TO_LAUNCH, Some(px4_mode::RTL))]
        );
        let px4_resume = CommandSpec::set_mode(Autopilot::Px4, px4_mode::MISSION);
        assert!(
            (px4_resume.params[1] - 4.0).abs() < f32::EPSILON
                && (px4_resume.params[2] - 4.0).abs() < f32::EPSILON
        );
        assert_eq!(mode_name(Autopilot::Px4, px4_mode::HOLD), "HOLD");
        assert_eq!(mode_name(Autopilot::ArduPilot, 17), "BRAKE");
    }

    #[test]
    fn every_copter_mode_has_a_name_and_a_class_and_unknown_numbers_are_other() {
        let names: Vec<String> = (0..=28)
            .map(|n| mode_name(Autopilot::ArduPilot, n))
            .collect();
        // 26 modes of ArduCopter 4.x; 8, 10 and 12 are unused numbers.
        assert_eq!(names.iter().filter(|n| !n.starts_with("MODE(")).count(), 26);
        for (n, name) in [(8, "MODE(8)"), (10, "MODE(10)"), (12, "MODE(12)")] {
            assert_eq!(mode_name(Autopilot::ArduPilot, n), name);
            assert_eq!(mode_class(Autopilot::ArduPilot, n), ModeClass::Other);
        }
        let class = |n| mode_class(Autopilot::ArduPilot, n);
        assert_eq!(class(copter_mode::AUTO), ModeClass::Auto);
        assert_eq!(class(copter_mode::GUIDED), ModeClass::Guided);
        assert_eq!(class(20), ModeClass::Guided, "GUIDED_NOGPS");
        for hold in [5, 16, 17, 22] {
            assert_eq!(
                class(hold),
                ModeClass::Hold,
                "{}",
                mode_name(Autopilot::ArduPilot, hold)
            );
        }
        for ret in [6, 21, 27] {
            assert_eq!(
                class(ret),
                ModeClass::Return,
                "{}",
                mode_name(Autopilot::ArduPilot, ret)
            );
        }
        assert_eq!(class(copter_mode::LAND), ModeClass::Land);
        for manual in [0, 1, 2, 11, 13, 14, 24, 28] {
            assert_eq!(
                class(manual),
                ModeClass::Manual,
                "{}",
                mode_name(Autopilot::ArduPilot, manual)
            );
        }
        // What a finished mission or an RTL leaves blocks arming; STABILIZE and GUIDED do not.
        assert!(
            class(copter_mode::AUTO).blocks_arming() && class(copter_mode::RTL).blocks_arming()
        );
        assert!(
            !class(copter_mode::STABILIZE).blocks_arming()
                && !class(copter_mode::GUIDED).blocks_arming()
        );
        assert_eq!(mode_name(Autopilot::ArduPilot, 99), "MODE(99)");
    }

    #[test]
    fn px4_main_and_sub_modes_map_to_names_and_classes() {
        let px4 = |main: u32, sub: u32| flight_mode(Autopilot::Px4, (main << 16) | (sub << 24));
        assert_eq!(
            px4(4, 4),
            FlightMode {
                name: "MISSION".into(),
                class: ModeClass::Auto
            }
        );
        assert_eq!(px4(4, 3).class, ModeClass::Hold);
        assert_eq!(px4(4, 2).class, ModeClass::Takeoff);
        assert_eq!(px4(4, 5).class, ModeClass::Return);
        assert_eq!(px4(4, 6).class, ModeClass::Land);
        assert_eq!(px4(4, 9).name, "PRECLAND");
        assert_eq!(
            px4(6, 0),
            FlightMode {
                name: "OFFBOARD".into(),
                class: ModeClass::Guided
            }
        );
        assert_eq!(px4(3, 0).name, "POSCTL");
        assert_eq!(px4(3, 1).name, "ORBIT");
        assert_eq!(px4(1, 0).class, ModeClass::Manual);
        assert_eq!(px4(7, 0).name, "STABILIZED");
        assert_eq!(
            px4(4, 42),
            FlightMode {
                name: "PX4(4.42)".into(),
                class: ModeClass::Other
            }
        );
        assert_eq!(px4(77, 0).class, ModeClass::Other);
    }
}
