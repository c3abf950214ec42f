//! The mission supervisor: one drone's flight state and its mission's lifecycle, driven by what
//! the vehicle reports ([`VehicleFact`]s), never by what Aviary last commanded.
//!
//! ```text
//! planned ─start─▶ uploading ─▶ ready ─▶ launching ─(armed, AUTO)─▶ in_progress ⇄ paused
//!                                                                       │
//!                          (mode RTL/LAND, or AUTO on the mission's RTL item)
//!                                                                       ▼
//!                              returning ─(landing)─▶ landing ─(touchdown)─▶ landed
//!                                                                              │ (disarmed)
//!                                                                              ▼
//!                                                       completed │ aborted │ failed(reason)
//! ```
//!
//! The supervisor is I/O-free: the host (the desktop's `logic`, `aviary fly`, the fleet
//! server) feeds it facts and operator requests with the current time and acts on the
//! [`Output`]s it returns (store the transition, raise the alert, send the link request). A
//! drone is available again only when the vehicle reports it landed and disarmed. A mode change
//! Aviary did not ask for is a fact with its `STATUSTEXT` reason: it raises an alert and moves
//! the mission. After a failsafe the operator may resume from the item after the last one
//! reached, once the vehicle is ready again.

use crate::mission::{FailureReason, MissionStatus, PAUSE_TIMEOUT};
use crate::model::DroneStatus;
use crate::vehicle::{FlightMode, LandedState, ModeClass, VehicleFact};
use crate::wire::CommandAction;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Where a mission is, finer than the stored [`MissionStatus`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MissionPhase {
    /// Saved, not flown.
    Planned,
    /// Its items are going to the vehicle.
    Uploading,
    /// On the vehicle, not started.
    Ready,
    /// Start sent: arming, switching to AUTO, taking off.
    Launching,
    /// Flying the survey.
    InProgress,
    /// Holding position (operator's pause, or a pilot's mode change).
    Paused,
    /// Flying home (the mission's own RTL item, an operator's RTH or a failsafe).
    Returning,
    /// Descending to land.
    Landing,
    /// On the ground, motors still armed.
    Landed,
    /// Every item flown, landed and disarmed.
    Completed,
    /// Stopped by the operator, landed and disarmed.
    Aborted,
    /// Ended for a [`FailureReason`].
    Failed,
}

impl MissionPhase {
    /// Every phase, in lifecycle order.
    pub const ALL: [MissionPhase; 12] = [
        Self::Planned,
        Self::Uploading,
        Self::Ready,
        Self::Launching,
        Self::InProgress,
        Self::Paused,
        Self::Returning,
        Self::Landing,
        Self::Landed,
        Self::Completed,
        Self::Aborted,
        Self::Failed,
    ];

    /// Stored and printed spelling (`in_progress`).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Uploading => "uploading",
            Self::Ready => "ready",
            Self::Launching => "launching",
            Self::InProgress => "in_progress",
            Self::Paused => "paused",
            Self::Returning => "returning",
            Self::Landing => "landing",
            Self::Landed => "landed",
            Self::Completed => "completed",
            Self::Aborted => "aborted",
            Self::Failed => "failed",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.as_str() == s)
    }

    /// The design's coarser status this phase is stored and served as.
    pub const fn status(self) -> MissionStatus {
        match self {
            Self::Planned | Self::Uploading | Self::Ready => MissionStatus::Planned,
            Self::Launching | Self::InProgress | Self::Returning | Self::Landing | Self::Landed => {
                MissionStatus::InProgress
            }
            Self::Paused => MissionStatus::Paused,
            Self::Completed => MissionStatus::Completed,
            Self::Aborted => MissionStatus::Aborted,
            Self::Failed => MissionStatus::Failed,
        }
    }

    /// The phase a stored status stands for when no finer phase was stored.
    pub const fn from_status(status: MissionStatus) -> Self {
        match status {
            MissionStatus::Planned | MissionStatus::Deleted => Self::Planned,
            MissionStatus::InProgress => Self::InProgress,
            MissionStatus::Paused => Self::Paused,
            MissionStatus::Completed => Self::Completed,
            MissionStatus::Aborted => Self::Aborted,
            MissionStatus::Failed => Self::Failed,
        }
    }

    /// True once the mission has ended.
    pub const fn is_terminal(self) -> bool {
        matches!(self, Self::Completed | Self::Aborted | Self::Failed)
    }

    /// True from start until the vehicle has landed and disarmed: the drone is busy.
    pub const fn is_active(self) -> bool {
        matches!(
            self,
            Self::Uploading
                | Self::Launching
                | Self::InProgress
                | Self::Paused
                | Self::Returning
                | Self::Landing
                | Self::Landed
        )
    }

    /// True while the vehicle flies for this mission (launching to landed).
    pub const fn is_flying(self) -> bool {
        matches!(
            self,
            Self::Launching
                | Self::InProgress
                | Self::Paused
                | Self::Returning
                | Self::Landing
                | Self::Landed
        )
    }
}

impl MissionPhase {
    /// The phase in words, as the window and messages show it (`in progress`).
    pub const fn label(self) -> &'static str {
        match self {
            Self::InProgress => "in progress",
            other => other.as_str(),
        }
    }
}

/// Words for people (`in progress`); [`MissionPhase::as_str`] is the stored spelling.
impl std::fmt::Display for MissionPhase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// Tunables, with the defaults a ground station uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SupervisorConfig {
    /// A mission whose vehicle stays unheard this long fails with `ConnectionLost`.
    pub link_lost_fail_after: Duration,
    /// An operator's pause older than this fails the mission and sends the vehicle home.
    pub pause_timeout: Duration,
    /// A `STATUSTEXT` this recent explains a mode change.
    pub reason_window: Duration,
    /// A mode change this soon after a request is the request's doing.
    pub request_window: Duration,
    /// Battery at or below this raises a critical alert in flight, percent.
    pub critical_battery_pct: f64,
}

impl Default for SupervisorConfig {
    fn default() -> Self {
        Self {
            link_lost_fail_after: Duration::minutes(5),
            pause_timeout: PAUSE_TIMEOUT,
            reason_window: Duration::seconds(5),
            request_window: Duration::seconds(15),
            critical_battery_pct: 15.0,
        }
    }
}

/// The vehicle as last reported.
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleView {
    /// Heartbeats arriving.
    pub link_up: bool,
    /// Since when the link is down (or since the supervisor started without one).
    pub lost_since: Option<DateTime<Utc>>,
    /// Motors armed.
    pub armed: bool,
    /// Current mode, once a heartbeat came.
    pub mode: Option<FlightMode>,
    /// Landed state.
    pub landed: LandedState,
    /// Altitude above home, metres.
    pub alt_rel_m: f64,
    /// Ground speed, m/s.
    pub ground_speed_mps: f64,
    /// Battery remaining, percent.
    pub battery_pct: Option<f64>,
    /// Battery voltage, volts.
    pub battery_v: Option<f64>,
    /// `GPS_FIX_TYPE`.
    pub gps_fix: u8,
    /// Satellites.
    pub satellites: u8,
    /// Recent `STATUSTEXT`s, newest last (severity, text, time).
    pub texts: Vec<(u8, String, DateTime<Utc>)>,
}

impl VehicleView {
    fn new(now: DateTime<Utc>) -> Self {
        Self {
            link_up: false,
            lost_since: Some(now),
            armed: false,
            mode: None,
            landed: LandedState::Unknown,
            alt_rel_m: 0.0,
            ground_speed_mps: 0.0,
            battery_pct: None,
            battery_v: None,
            gps_fix: 0,
            satellites: 0,
            texts: Vec::new(),
        }
    }

    /// On the ground: reported so, or (where the autopilot does not say) disarmed.
    pub fn on_ground(&self) -> bool {
        match self.landed {
            LandedState::OnGround => true,
            LandedState::Unknown => !self.armed,
            _ => false,
        }
    }

    /// Linked, on the ground and disarmed: ready for a mission.
    pub fn idle(&self) -> bool {
        self.link_up && self.on_ground() && !self.armed
    }

    fn class(&self) -> Option<ModeClass> {
        self.mode.as_ref().map(|m| m.class)
    }

    /// The autopilot's own refusals (`PreArm: …`, `Arm: …`) heard within `window` of `now`.
    pub fn prearm_texts(&self, now: DateTime<Utc>, window: Duration) -> Vec<String> {
        self.texts
            .iter()
            .filter(|(_, t, at)| {
                now - *at <= window && (t.starts_with("PreArm:") || t.starts_with("Arm:"))
            })
            .map(|(_, t, _)| t.clone())
            .collect()
    }
}

/// One change of phase, with why it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transition {
    /// Phase before.
    pub from: MissionPhase,
    /// Phase after.
    pub to: MissionPhase,
    /// When.
    pub at: DateTime<Utc>,
    /// What caused it, in words (`vehicle: mode RTL (Battery Failsafe)`, `operator: pause`).
    pub cause: String,
    /// Why it failed, for a transition to [`MissionPhase::Failed`] (or the interruption that
    /// moved it).
    pub reason: Option<FailureReason>,
}

/// How loud an alert is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertLevel {
    /// Worth knowing.
    Info,
    /// Needs attention.
    Warning,
    /// Needs action now.
    Critical,
}

/// Something the operator must hear about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SupervisorAlert {
    /// How loud.
    pub level: AlertLevel,
    /// The failure it is about, if any.
    pub reason: Option<FailureReason>,
    /// The words, with the vehicle's own where it gave any.
    pub text: String,
}

/// What the host must do after feeding the supervisor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Output {
    /// The mission changed phase: store it (with its cause) and show it.
    Transition(Transition),
    /// Raise an alert.
    Alert(SupervisorAlert),
    /// The vehicle moved on in the mission.
    Progress {
        /// Item being flown to (or reached).
        item: u16,
        /// Last item's sequence number.
        of: u16,
    },
    /// The supervisor asks the host to send this to the vehicle (e.g. RTL after a pause
    /// timed out).
    Request {
        /// The action.
        action: CommandAction,
    },
}

/// What the host must send to the vehicle for an accepted operator request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    /// The action.
    pub action: CommandAction,
    /// Upload the mission's items first (start from planned).
    pub upload: bool,
    /// Continue from this item (`MISSION_SET_CURRENT`) instead of the start or current item.
    pub from_seq: Option<u16>,
}

/// An operator request the supervisor refuses, with the reason in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot {action}: {why}")]
pub struct Refusal {
    /// What was asked (`start`, `pause`, …).
    pub action: &'static str,
    /// Why not.
    pub why: String,
}

/// How the current mission will end once the vehicle is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Aborted,
    Failed(FailureReason),
}

/// The mission being supervised.
#[derive(Debug, Clone, PartialEq)]
struct Run {
    phase: MissionPhase,
    /// Items on the vehicle, home (0) included.
    items: u16,
    /// Sequence number of the mission's own return item, if it ends with one.
    rtl_seq: Option<u16>,
    current: u16,
    last_reached: Option<u16>,
    /// Set by the operator (abort/RTH/land) or a timeout.
    outcome: Option<Outcome>,
    /// Set by the vehicle (a failsafe or a pilot's mode change).
    interruption: Option<FailureReason>,
    /// Last accepted request and when.
    pending: Option<(CommandAction, DateTime<Utc>)>,
    paused_at: Option<DateTime<Utc>>,
    /// The vehicle has been airborne in this run.
    flew: bool,
    /// Sortie being flown (1-based) and how many the mission has.
    sortie: u16,
    sorties: u16,
    /// A sortie before the last landed and disarmed: waiting for a battery swap and resume.
    between_sorties: bool,
}

/// One drone's supervisor. See the module docs.
#[derive(Debug, Clone)]
pub struct Supervisor {
    config: SupervisorConfig,
    vehicle: VehicleView,
    run: Option<Run>,
}

fn mins(d: Duration) -> String {
    let s = d.num_seconds();
    if s >= 60 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

/// The failure a `STATUSTEXT` names, if it names one (`ArduCopter`'s and `PX4`'s wordings).
pub fn reason_in_text(text: &str) -> Option<FailureReason> {
    let t = text.to_ascii_lowercase();
    if t.contains("battery") {
        Some(FailureReason::BatteryCritical)
    } else if t.contains("ekf") || t.contains("gps") || t.contains("position lost") {
        Some(FailureReason::GpsFailsafe)
    } else if t.contains("fence") {
        Some(FailureReason::Geofence)
    } else if t.contains("gcs") || t.contains("radio") || t.contains("data link") {
        Some(FailureReason::ConnectionLost)
    } else if t.contains("crash")
        || t.contains("motor")
        || t.contains("thrust")
        || t.contains("vibration")
        || t.contains("parachute")
    {
        Some(FailureReason::VehicleFault)
    } else {
        None
    }
}

impl Supervisor {
    /// A supervisor for a drone not heard from yet, with no mission.
    pub fn new(config: SupervisorConfig, now: DateTime<Utc>) -> Self {
        Self {
            config,
            vehicle: VehicleView::new(now),
            run: None,
        }
    }

    /// The vehicle as last reported.
    pub const fn vehicle(&self) -> &VehicleView {
        &self.vehicle
    }

    /// The mission's phase, if a mission is supervised.
    pub fn phase(&self) -> Option<MissionPhase> {
        self.run.as_ref().map(|r| r.phase)
    }

    /// The last mission item the vehicle reported reached.
    pub fn last_reached(&self) -> Option<u16> {
        self.run.as_ref().and_then(|r| r.last_reached)
    }

    /// The item the vehicle flies to and the last item's number.
    pub fn progress(&self) -> Option<(u16, u16)> {
        self.run
            .as_ref()
            .map(|r| (r.current, r.items.saturating_sub(1)))
    }

    /// True when the drone may take a new mission: linked, landed, disarmed, no mission
    /// running.
    pub fn available(&self) -> bool {
        self.vehicle.idle() && !self.run.as_ref().is_some_and(|r| r.phase.is_active())
    }

    /// The drone's status as the vehicle reports it (`Maintenance`/`Charging` are the
    /// operator's to set; the host keeps those).
    pub fn drone_status(&self) -> DroneStatus {
        if !self.vehicle.link_up {
            DroneStatus::Offline
        } else if self.run.as_ref().is_some_and(|r| r.phase.is_active())
            || self.vehicle.armed
            || !self.vehicle.on_ground()
        {
            DroneStatus::InMission
        } else {
            DroneStatus::Available
        }
    }

    /// The operator actions that make sense now (for enabling buttons).
    pub fn allowed(&self, action: CommandAction) -> bool {
        self.check_request(action).is_ok()
    }

    /// Supervises a mission that is planned (`phase` Planned/Ready) or was running when the
    /// host restarted (its stored phase): facts decide from here.
    pub fn attach(
        &mut self,
        phase: MissionPhase,
        items: u16,
        rtl_seq: Option<u16>,
        last_reached: Option<u16>,
    ) {
        self.run = Some(Run {
            phase,
            items,
            rtl_seq,
            current: last_reached.map_or(0, |s| s.saturating_add(1)),
            last_reached,
            outcome: None,
            interruption: None,
            pending: None,
            paused_at: None,
            flew: phase.is_flying(),
            sortie: 1,
            sorties: 1,
            between_sorties: false,
        });
    }

    /// The mission is flown in `total` sorties (one battery each): after each sortie but the
    /// last the vehicle lands, the mission waits in [`MissionPhase::Landed`] for a battery
    /// swap, and the operator's resume uploads and starts the next one
    /// ([`Order::upload`] set). `current` is the sortie being flown (1-based), for a mission
    /// re-attached after a restart.
    pub fn set_sorties(&mut self, current: u16, total: u16) {
        if let Some(run) = self.run.as_mut() {
            run.sorties = total.max(1);
            run.sortie = current.clamp(1, run.sorties);
        }
    }

    /// The sortie being flown (1-based) and how many the mission has.
    pub fn sortie(&self) -> Option<(u16, u16)> {
        self.run.as_ref().map(|r| (r.sortie, r.sorties))
    }

    /// True while a sortie has landed and the next waits for a battery swap and resume.
    pub fn between_sorties(&self) -> bool {
        self.run.as_ref().is_some_and(|r| r.between_sorties)
    }

    /// Stops supervising the mission (it ended and the host has stored it, or was deleted).
    pub fn detach(&mut self) {
        self.run = None;
    }

    fn check_request(&self, action: CommandAction) -> Result<Order, Refusal> {
        use CommandAction as A;
        use MissionPhase as P;
        let name = crate::wire::action_name(action);
        let refuse = |why: String| Refusal { action: name, why };
        let Some(run) = self.run.as_ref() else {
            return Err(refuse("no mission is assigned to this drone".into()));
        };
        let v = &self.vehicle;
        if !v.link_up {
            return Err(refuse("the vehicle is not reporting (link lost)".into()));
        }
        let resume_from = run.last_reached.map(|s| s.saturating_add(1));
        if run.between_sorties {
            return match action {
                A::Resume if v.idle() => Ok(Order {
                    action,
                    upload: true,
                    from_seq: None,
                }),
                A::Resume => Err(refuse(format!(
                    "the vehicle is not ready for the next sortie ({})",
                    self.describe_vehicle()
                ))),
                A::Abort => Ok(Order {
                    action,
                    upload: false,
                    from_seq: None,
                }),
                _ => Err(refuse(format!(
                    "sortie {} of {} has landed: swap the battery, then resume",
                    run.sortie, run.sorties
                ))),
            };
        }
        match (action, run.phase) {
            (A::Start, P::Planned | P::Ready) => {
                if !v.idle() {
                    return Err(refuse(format!(
                        "the vehicle is not landed and disarmed ({})",
                        self.describe_vehicle()
                    )));
                }
                Ok(Order {
                    action,
                    upload: run.phase == P::Planned,
                    from_seq: None,
                })
            }
            (A::Resume, P::Paused) => Ok(Order {
                action,
                upload: false,
                from_seq: run.interruption.and(resume_from),
            }),
            (A::Resume, P::Returning | P::Landing) if run.interruption.is_some() => Ok(Order {
                action,
                upload: false,
                from_seq: resume_from,
            }),
            (A::Resume, P::Failed) if run.interruption.is_some() || run.last_reached.is_some() => {
                if !v.idle() {
                    return Err(refuse(format!(
                        "the vehicle is not ready again ({})",
                        self.describe_vehicle()
                    )));
                }
                // On the ground again: the rest of the mission goes up as a new one that
                // starts with a takeoff (`mission_items::resume_items`).
                Ok(Order {
                    action,
                    upload: true,
                    from_seq: Some(resume_from.unwrap_or(1)),
                })
            }
            (A::Pause, P::InProgress)
            | (A::Abort | A::Rth | A::Land, P::Launching | P::InProgress | P::Paused)
            | (A::Land, P::Returning) => Ok(Order {
                action,
                upload: false,
                from_seq: None,
            }),
            (A::Rth | A::Abort, P::Returning) if run.outcome.is_none() => Ok(Order {
                action,
                upload: false,
                from_seq: None,
            }),
            (_, phase) => Err(refuse(format!("the mission is {phase}"))),
        }
    }

    fn describe_vehicle(&self) -> String {
        let v = &self.vehicle;
        let mode = v.mode.as_ref().map_or("no mode yet", |m| m.name.as_str());
        format!(
            "{mode}, {}, {}, {:.1} m",
            if v.armed { "armed" } else { "disarmed" },
            match v.landed {
                LandedState::OnGround => "on the ground",
                LandedState::InAir => "in the air",
                LandedState::Takeoff => "taking off",
                LandedState::Landing => "landing",
                LandedState::Unknown => "landed state unknown",
            },
            v.alt_rel_m
        )
    }

    /// An operator request. Accepted: the host sends the [`Order`] to the vehicle and reports
    /// its result with [`Self::command_result`]; the phase moves when the vehicle confirms it
    /// by its own reports.
    pub fn request(
        &mut self,
        action: CommandAction,
        now: DateTime<Utc>,
    ) -> Result<(Order, Vec<Output>), Refusal> {
        let order = self.check_request(action)?;
        let mut out = Vec::new();
        if let Some(run) = self.run.as_mut() {
            run.pending = Some((action, now));
            if run.between_sorties {
                run.between_sorties = false;
                if action == CommandAction::Abort {
                    // Already down and disarmed: the mission ends here.
                    self.go(
                        MissionPhase::Aborted,
                        now,
                        "operator: abort between sorties".into(),
                        None,
                        &mut out,
                    );
                    return Ok((order, out));
                }
                run.sortie = run.sortie.saturating_add(1);
                run.flew = false;
                run.last_reached = None;
                run.current = 0;
                let cause = format!("operator: sortie {} of {}", run.sortie, run.sorties);
                self.go(MissionPhase::Uploading, now, cause, None, &mut out);
                return Ok((order, out));
            }
            match action {
                CommandAction::Start => {
                    let to = if order.upload {
                        MissionPhase::Uploading
                    } else {
                        MissionPhase::Launching
                    };
                    run.outcome = None;
                    run.interruption = None;
                    run.flew = false;
                    run.last_reached = None;
                    run.current = 0;
                    self.go(to, now, "operator: start".into(), None, &mut out);
                }
                CommandAction::Resume if run.phase == MissionPhase::Failed => {
                    run.flew = false;
                    run.interruption = None;
                    run.outcome = None;
                    run.paused_at = None;
                    self.go(
                        MissionPhase::Uploading,
                        now,
                        format!(
                            "operator: resume from item {}",
                            order.from_seq.unwrap_or_default()
                        ),
                        None,
                        &mut out,
                    );
                }
                _ => {}
            }
        }
        Ok((order, out))
    }

    /// The mission's items reached the vehicle (`items` with home, `rtl_seq` of its own
    /// return item) or could not be uploaded (`Err` with the reason).
    pub fn upload_result(
        &mut self,
        result: Result<(u16, Option<u16>), String>,
        now: DateTime<Utc>,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        let Some(run) = self.run.as_mut() else {
            return out;
        };
        if run.phase != MissionPhase::Uploading {
            return out;
        }
        match result {
            Ok((items, rtl_seq)) => {
                run.items = items;
                run.rtl_seq = rtl_seq;
                // A new list numbers the items anew (a resume mission).
                run.last_reached = None;
                run.current = 0;
                self.go(
                    MissionPhase::Ready,
                    now,
                    format!("vehicle: {items} items stored"),
                    None,
                    &mut out,
                );
                if let Some((a @ (CommandAction::Start | CommandAction::Resume), _)) =
                    self.run.as_ref().and_then(|r| r.pending)
                {
                    self.go(
                        MissionPhase::Launching,
                        now,
                        format!("operator: {}", crate::wire::action_name(a)),
                        None,
                        &mut out,
                    );
                }
            }
            Err(why) => {
                let resuming = run.pending.is_some_and(|(a, _)| a == CommandAction::Resume);
                run.pending = None;
                self.go(
                    if resuming {
                        MissionPhase::Failed
                    } else {
                        MissionPhase::Planned
                    },
                    now,
                    format!("upload failed: {why}"),
                    Some(FailureReason::UploadFailed),
                    &mut out,
                );
                out.push(Output::Alert(SupervisorAlert {
                    level: AlertLevel::Warning,
                    reason: Some(FailureReason::UploadFailed),
                    text: format!("mission upload failed: {why}"),
                }));
            }
        }
        out
    }

    /// The link's answer to an order: `Err` carries the vehicle's own words.
    pub fn command_result(
        &mut self,
        action: CommandAction,
        result: Result<(), String>,
        now: DateTime<Utc>,
    ) -> Vec<Output> {
        let mut out = Vec::new();
        let Some(run) = self.run.as_mut() else {
            return out;
        };
        match result {
            Ok(()) => match action {
                CommandAction::Abort | CommandAction::Rth | CommandAction::Land => {
                    run.outcome = Some(Outcome::Aborted);
                }
                CommandAction::Pause => {
                    run.paused_at = Some(now);
                }
                CommandAction::Resume => {
                    run.interruption = None;
                    run.paused_at = None;
                }
                CommandAction::Start => {}
            },
            Err(why) => {
                run.pending = None;
                out.push(Output::Alert(SupervisorAlert {
                    level: AlertLevel::Warning,
                    reason: None,
                    text: format!("{} refused: {why}", crate::wire::action_name(action)),
                }));
                if run.phase == MissionPhase::Launching && !self.vehicle.armed {
                    // The link leaves the vehicle as it found it: the mission is ready again.
                    self.go(
                        MissionPhase::Ready,
                        now,
                        format!("start refused: {why}"),
                        None,
                        &mut out,
                    );
                }
            }
        }
        self.settle(now, &mut out);
        out
    }

    /// A fact from the vehicle.
    pub fn fact(&mut self, fact: VehicleFact, now: DateTime<Utc>) -> Vec<Output> {
        let mut out = Vec::new();
        match fact {
            VehicleFact::Heartbeat { mode, armed } => {
                let before = self.vehicle.class();
                let changed = self.vehicle.mode.as_ref().map(|m| &m.name) != Some(&mode.name);
                self.vehicle.armed = armed;
                let class = mode.class;
                let name = mode.name.clone();
                self.vehicle.mode = Some(mode);
                if changed && before.is_some() {
                    self.mode_changed(class, &name, now, &mut out);
                }
            }
            VehicleFact::Landed { state } => self.vehicle.landed = state,
            VehicleFact::Motion {
                alt_rel_m,
                ground_speed_mps,
            } => {
                self.vehicle.alt_rel_m = alt_rel_m;
                self.vehicle.ground_speed_mps = ground_speed_mps;
            }
            VehicleFact::MissionCurrent { seq } => {
                if let Some(run) = self.run.as_mut()
                    && run.phase.is_flying()
                    && seq != run.current
                {
                    run.current = seq;
                    out.push(Output::Progress {
                        item: seq,
                        of: run.items.saturating_sub(1),
                    });
                }
            }
            VehicleFact::ItemReached { seq } => {
                if let Some(run) = self.run.as_mut()
                    && run.phase.is_flying()
                {
                    run.last_reached = Some(run.last_reached.map_or(seq, |s| s.max(seq)));
                }
            }
            VehicleFact::Battery {
                remaining_pct,
                voltage_v,
            } => {
                let was = self.vehicle.battery_pct;
                self.vehicle.battery_pct = remaining_pct;
                self.vehicle.battery_v = voltage_v;
                let crit = self.config.critical_battery_pct;
                if let Some(pct) = remaining_pct
                    && pct <= crit
                    && was.is_none_or(|w| w > crit)
                    && self.run.as_ref().is_some_and(|r| r.phase.is_flying())
                {
                    out.push(Output::Alert(SupervisorAlert {
                        level: AlertLevel::Critical,
                        reason: Some(FailureReason::BatteryCritical),
                        text: format!("battery {pct:.0} % (critical at {crit:.0} %)"),
                    }));
                }
            }
            VehicleFact::Gps {
                fix_type,
                satellites,
            } => {
                let lost = self.vehicle.gps_fix >= 3 && fix_type < 3;
                self.vehicle.gps_fix = fix_type;
                self.vehicle.satellites = satellites;
                if lost && self.run.as_ref().is_some_and(|r| r.phase.is_flying()) {
                    out.push(Output::Alert(SupervisorAlert {
                        level: AlertLevel::Critical,
                        reason: Some(FailureReason::GpsFailsafe),
                        text: format!("GPS fix lost ({satellites} satellites)"),
                    }));
                }
            }
            VehicleFact::StatusText { severity, text } => {
                if severity <= 3 {
                    out.push(Output::Alert(SupervisorAlert {
                        level: if severity <= 2 {
                            AlertLevel::Critical
                        } else {
                            AlertLevel::Warning
                        },
                        reason: reason_in_text(&text),
                        text: text.clone(),
                    }));
                }
                self.vehicle.texts.push((severity, text, now));
                let keep_from = self.vehicle.texts.len().saturating_sub(16);
                self.vehicle.texts.drain(..keep_from);
            }
            VehicleFact::LinkUp => {
                if !self.vehicle.link_up {
                    self.vehicle.link_up = true;
                    self.vehicle.lost_since = None;
                    if self.run.as_ref().is_some_and(|r| r.phase.is_flying()) {
                        out.push(Output::Alert(SupervisorAlert {
                            level: AlertLevel::Info,
                            reason: None,
                            text: "link recovered".into(),
                        }));
                    }
                }
            }
            VehicleFact::LinkLost => {
                if self.vehicle.link_up {
                    self.vehicle.link_up = false;
                    self.vehicle.lost_since = Some(now);
                    let flying = self.run.as_ref().is_some_and(|r| r.phase.is_flying());
                    out.push(Output::Alert(SupervisorAlert {
                        level: if flying {
                            AlertLevel::Critical
                        } else {
                            AlertLevel::Warning
                        },
                        reason: Some(FailureReason::ConnectionLost),
                        text: "no heartbeat: link lost".into(),
                    }));
                }
            }
        }
        self.settle(now, &mut out);
        out
    }

    /// Time-driven transitions: a pause past its timeout, a link lost past its limit.
    pub fn tick(&mut self, now: DateTime<Utc>) -> Vec<Output> {
        let mut out = Vec::new();
        let Some(run) = self.run.as_mut() else {
            return out;
        };
        if !run.phase.is_active() {
            return out;
        }
        if let Some(since) = self.vehicle.lost_since
            && !self.vehicle.link_up
            && now - since >= self.config.link_lost_fail_after
        {
            let cause = format!("link lost for {}", mins(self.config.link_lost_fail_after));
            self.go(
                MissionPhase::Failed,
                now,
                cause,
                Some(FailureReason::ConnectionLost),
                &mut out,
            );
            return out;
        }
        if run.phase == MissionPhase::Paused
            && run.interruption.is_none()
            && run.outcome.is_none()
            && let Some(at) = run.paused_at
            && now - at >= self.config.pause_timeout
        {
            run.outcome = Some(Outcome::Failed(FailureReason::PauseTimeout));
            run.pending = Some((CommandAction::Rth, now));
            out.push(Output::Alert(SupervisorAlert {
                level: AlertLevel::Critical,
                reason: Some(FailureReason::PauseTimeout),
                text: format!(
                    "paused for {}: returning home",
                    mins(self.config.pause_timeout)
                ),
            }));
            out.push(Output::Request {
                action: CommandAction::Rth,
            });
        }
        out
    }

    /// The recent `STATUSTEXT` that explains what just happened, if any.
    fn recent_reason(&self, now: DateTime<Utc>) -> Option<(FailureReason, String)> {
        self.vehicle
            .texts
            .iter()
            .rev()
            .filter(|(_, _, at)| now - *at <= self.config.reason_window)
            .find_map(|(_, t, _)| reason_in_text(t).map(|r| (r, t.clone())))
    }

    fn recent_text(&self, now: DateTime<Utc>) -> Option<String> {
        self.vehicle
            .texts
            .iter()
            .rev()
            .find(|(sev, _, at)| now - *at <= self.config.reason_window && *sev <= 4)
            .map(|(_, t, _)| t.clone())
    }

    /// Was a change to `class` asked for by the last request?
    fn commanded(&self, class: ModeClass, now: DateTime<Utc>) -> bool {
        let Some(run) = self.run.as_ref() else {
            return true;
        };
        let Some((action, at)) = run.pending else {
            return false;
        };
        if now - at > self.config.request_window {
            return false;
        }
        match action {
            CommandAction::Start => matches!(
                class,
                ModeClass::Guided | ModeClass::Auto | ModeClass::Takeoff
            ),
            CommandAction::Pause => class == ModeClass::Hold,
            CommandAction::Resume => matches!(class, ModeClass::Auto | ModeClass::Guided),
            CommandAction::Rth | CommandAction::Abort => {
                matches!(class, ModeClass::Return | ModeClass::Land)
            }
            CommandAction::Land => class == ModeClass::Land,
        }
    }

    fn mode_changed(
        &mut self,
        class: ModeClass,
        name: &str,
        now: DateTime<Utc>,
        out: &mut Vec<Output>,
    ) {
        let flying = self
            .run
            .as_ref()
            .is_some_and(|r| r.phase.is_flying() && !r.phase.is_terminal());
        if !flying || self.commanded(class, now) {
            return;
        }
        // The mission's own items may switch nothing but AUTO; anything else is the vehicle's
        // or a pilot's doing.
        if class == ModeClass::Auto {
            return;
        }
        let (reason, why) = match (class, self.recent_reason(now)) {
            (ModeClass::Return | ModeClass::Land, Some((r, t))) => (r, Some(t)),
            (ModeClass::Return | ModeClass::Land, None) => {
                let reason = if self.vehicle.battery_pct.is_some_and(|b| b <= 25.0) {
                    FailureReason::BatteryCritical
                } else if self.vehicle.gps_fix < 3 {
                    FailureReason::GpsFailsafe
                } else {
                    FailureReason::VehicleFault
                };
                (reason, self.recent_text(now))
            }
            (_, Some((r, t))) if r != FailureReason::VehicleFault => (r, Some(t)),
            _ => (FailureReason::PilotTookControl, self.recent_text(now)),
        };
        if let Some(run) = self.run.as_mut() {
            if run.outcome.is_none() {
                run.interruption = Some(reason);
            }
            run.pending = None;
        }
        let text = match &why {
            Some(t) => format!("mode changed to {name} by the vehicle: {t}"),
            None => format!(
                "mode changed to {name} by the vehicle ({})",
                reason.describe()
            ),
        };
        out.push(Output::Alert(SupervisorAlert {
            level: AlertLevel::Critical,
            reason: Some(reason),
            text,
        }));
    }

    /// Moves the phase to where the vehicle's reports put it.
    fn settle(&mut self, now: DateTime<Utc>, out: &mut Vec<Output>) {
        use MissionPhase as P;
        let Some(run) = self.run.as_ref() else {
            return;
        };
        if !run.phase.is_flying() || !self.vehicle.link_up || run.between_sorties {
            return;
        }
        let v = &self.vehicle;
        let airborne = v.landed.airborne() || (v.landed == LandedState::Unknown && v.armed);
        if airborne && let Some(r) = self.run.as_mut() {
            r.flew = true;
        }
        let Some(run) = self.run.as_ref() else {
            return;
        };
        let class = v.class();
        let mode = v.mode.as_ref().map_or("?", |m| m.name.as_str()).to_owned();
        let mut next: Option<(P, String)> = None;
        if run.phase == P::Launching {
            if v.armed && class == Some(ModeClass::Auto) {
                next = Some((P::InProgress, format!("vehicle: armed, {mode}")));
            }
        } else if v.on_ground() && !v.armed && (run.flew || run.phase == P::Landed) {
            // Down and disarmed: the mission ends, as the vehicle's flight decides.
            let survey_done = match (run.rtl_seq, run.last_reached) {
                (Some(rtl), Some(last)) => last.saturating_add(1) >= rtl,
                (None, Some(last)) => last.saturating_add(1) >= run.items,
                (_, None) => false,
            };
            if run.outcome.is_none()
                && run.interruption.is_none()
                && survey_done
                && run.sortie < run.sorties
            {
                let (k, n) = (run.sortie, run.sorties);
                if let Some(r) = self.run.as_mut() {
                    r.between_sorties = true;
                    r.pending = None;
                }
                self.go(
                    P::Landed,
                    now,
                    format!("vehicle: sortie {k} of {n} landed and disarmed"),
                    None,
                    out,
                );
                out.push(Output::Alert(SupervisorAlert {
                    level: AlertLevel::Warning,
                    reason: None,
                    text: format!(
                        "sortie {k} of {n} flown: swap the battery, then resume for sortie {}",
                        k + 1
                    ),
                }));
                return;
            }
            let (to, reason) = match (run.outcome, run.interruption) {
                (Some(Outcome::Aborted), _) => (P::Aborted, None),
                (Some(Outcome::Failed(r)), _) => (P::Failed, Some(r)),
                (None, Some(r)) if !survey_done => (P::Failed, Some(r)),
                (None, _) if survey_done => (P::Completed, None),
                (None, _) => (P::Failed, Some(FailureReason::VehicleFault)),
            };
            let cause = match reason {
                Some(r) if to == P::Failed => {
                    format!("vehicle: landed and disarmed ({})", r.describe())
                }
                _ => "vehicle: landed and disarmed".to_owned(),
            };
            self.go(to, now, cause, reason, out);
            return;
        } else if v.on_ground() && run.flew {
            next = Some((P::Landed, "vehicle: touched down".into()));
        } else if let Some(class) = class {
            let on_rtl_item = run.rtl_seq.is_some_and(|s| run.current >= s);
            let landing = v.landed == LandedState::Landing;
            next = match class {
                ModeClass::Auto if on_rtl_item && landing => {
                    Some((P::Landing, "vehicle: landing (mission's return)".into()))
                }
                ModeClass::Auto if on_rtl_item => {
                    Some((P::Returning, "vehicle: mission's return item".into()))
                }
                ModeClass::Auto => Some((P::InProgress, format!("vehicle: {mode}"))),
                ModeClass::Hold | ModeClass::Manual | ModeClass::Guided | ModeClass::Other => {
                    Some((P::Paused, format!("vehicle: {mode}")))
                }
                ModeClass::Return if landing => {
                    Some((P::Landing, format!("vehicle: {mode}, landing")))
                }
                ModeClass::Return => Some((P::Returning, format!("vehicle: {mode}"))),
                ModeClass::Land => Some((P::Landing, format!("vehicle: {mode}"))),
                ModeClass::Takeoff => None,
            };
        }
        if let Some((to, cause)) = next
            && to != run.phase
        {
            let reason = run.interruption;
            if to == P::InProgress
                && let Some(r) = self.run.as_mut()
            {
                r.interruption = None;
                r.paused_at = None;
            }
            if to == P::Paused
                && let Some(r) = self.run.as_mut()
                && r.paused_at.is_none()
            {
                r.paused_at = Some(now);
            }
            self.go(to, now, cause, reason, out);
        }
    }

    fn go(
        &mut self,
        to: MissionPhase,
        now: DateTime<Utc>,
        cause: String,
        reason: Option<FailureReason>,
        out: &mut Vec<Output>,
    ) {
        let Some(run) = self.run.as_mut() else {
            return;
        };
        let from = run.phase;
        if from == to {
            return;
        }
        run.phase = to;
        // A request is done once the vehicle shows its effect: later mode changes are not its.
        let fulfilled = match run.pending.map(|(a, _)| a) {
            Some(CommandAction::Start | CommandAction::Resume) => to == MissionPhase::InProgress,
            Some(CommandAction::Pause) => to == MissionPhase::Paused,
            Some(CommandAction::Rth | CommandAction::Abort | CommandAction::Land) => {
                matches!(to, MissionPhase::Returning | MissionPhase::Landing)
            }
            None => false,
        };
        if to.is_terminal() || fulfilled {
            run.pending = None;
        }
        out.push(Output::Transition(Transition {
            from,
            to,
            at: now,
            cause,
            reason,
        }));
    }
}

#[cfg(test)]
#[path = "supervisor_tests.rs"]
mod tests;
