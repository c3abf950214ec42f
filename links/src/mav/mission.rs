//! The `MAVLink` mission protocol, ground-station side, as I/O-free state machines:
//! [`Upload`] and [`Download`] take [`MissionEvent`]s and return [`MissionAction`]s; the
//! driver sends the messages and runs the timer.
//!
//! Timing per the protocol: 1.5 s for the vehicle's answer, 250 ms while we request items
//! during a download, up to 5 retries per request with the counter reset on every new item.
//! Success is only ever reported after a `MISSION_ACK` with `MAV_MISSION_ACCEPTED` (upload) or
//! after every item arrived (download).

use aviary_core::mission_items::{PlanItem, mission_items};
use aviary_core::{LatLon, Waypoint};
use mav::MavMessage;
use mavlink::dialects::ardupilotmega as mav;
use std::time::Duration;

/// Answer timeout for a request to the vehicle.
pub const TIMEOUT: Duration = Duration::from_millis(1500);
/// Timeout while we request items one by one (download).
pub const ITEM_TIMEOUT: Duration = Duration::from_millis(250);
/// Retries per request before giving up.
pub const MAX_RETRIES: u8 = 5;

/// Timeouts and retries of the mission protocol; [`MissionTiming::default`] is the protocol's.
/// Tests over loopback shrink them (the link's equivalent of the simulator's speed-up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MissionTiming {
    /// Wait for the vehicle's answer.
    pub timeout: Duration,
    /// Wait per item while downloading.
    pub item_timeout: Duration,
    /// Retries per request.
    pub max_retries: u8,
}

impl Default for MissionTiming {
    fn default() -> Self {
        Self {
            timeout: TIMEOUT,
            item_timeout: ITEM_TIMEOUT,
            max_retries: MAX_RETRIES,
        }
    }
}

/// One mission item as it travels (`MISSION_ITEM_INT` semantics; `x`/`y` in 1e7 degrees).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MissionItem {
    /// `MAV_CMD` of the item.
    pub command: mav::MavCmd,
    /// Coordinate frame.
    pub frame: mav::MavFrame,
    /// Whether this is the current item (`MAVSDK` insists on one).
    pub current: bool,
    /// Continue automatically to the next item.
    pub autocontinue: bool,
    /// `param1`..`param4`.
    pub params: [f32; 4],
    /// Latitude, 1e7 degrees (or local x).
    pub x: i32,
    /// Longitude, 1e7 degrees (or local y).
    pub y: i32,
    /// Altitude, metres in `frame`.
    pub z: f32,
}

impl MissionItem {
    /// A global item at `pos` and `alt_m` (relative to home).
    pub fn global(command: mav::MavCmd, pos: LatLon, alt_m: f64) -> Self {
        Self {
            command,
            frame: mav::MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT,
            current: false,
            autocontinue: true,
            params: [0.0; 4],
            x: (pos.lat_deg * 1e7).round() as i32,
            y: (pos.lon_deg * 1e7).round() as i32,
            z: alt_m as f32,
        }
    }

    /// The item's position, if it has one.
    pub fn pos(&self) -> LatLon {
        LatLon::new(f64::from(self.x) / 1e7, f64::from(self.y) / 1e7)
    }

    /// The `MISSION_ITEM_INT` message for sequence `seq`.
    pub fn to_message(&self, seq: u16, target: (u8, u8)) -> MavMessage {
        MavMessage::MISSION_ITEM_INT(mav::MISSION_ITEM_INT_DATA {
            param1: self.params[0],
            param2: self.params[1],
            param3: self.params[2],
            param4: self.params[3],
            x: self.x,
            y: self.y,
            z: self.z,
            seq,
            command: self.command,
            target_system: target.0,
            target_component: target.1,
            frame: self.frame,
            current: u8::from(self.current),
            autocontinue: u8::from(self.autocontinue),
        })
    }

    /// Content comparison that ignores the `current` flag (vehicles set it themselves).
    pub fn same_content(&self, other: &Self) -> bool {
        Self {
            current: false,
            ..*self
        } == Self {
            current: false,
            ..*other
        }
    }
}

/// The `MAV_CMD` of a mission item number, for the commands a mission may hold.
fn mav_cmd(n: u16) -> Option<mav::MavCmd> {
    use mav::MavCmd as C;
    Some(match n {
        16 => C::MAV_CMD_NAV_WAYPOINT,
        17 => C::MAV_CMD_NAV_LOITER_UNLIM,
        18 => C::MAV_CMD_NAV_LOITER_TURNS,
        19 => C::MAV_CMD_NAV_LOITER_TIME,
        20 => C::MAV_CMD_NAV_RETURN_TO_LAUNCH,
        21 => C::MAV_CMD_NAV_LAND,
        22 => C::MAV_CMD_NAV_TAKEOFF,
        93 => C::MAV_CMD_NAV_DELAY,
        112 => C::MAV_CMD_CONDITION_DELAY,
        115 => C::MAV_CMD_CONDITION_YAW,
        177 => C::MAV_CMD_DO_JUMP,
        178 => C::MAV_CMD_DO_CHANGE_SPEED,
        183 => C::MAV_CMD_DO_SET_SERVO,
        189 => C::MAV_CMD_DO_LAND_START,
        203 => C::MAV_CMD_DO_DIGICAM_CONTROL,
        206 => C::MAV_CMD_DO_SET_CAM_TRIGG_DIST,
        _ => return None,
    })
}

/// The `MAV_FRAME` of a frame number, for the frames a mission item may use.
fn mav_frame(n: u8) -> Option<mav::MavFrame> {
    use mav::MavFrame as F;
    Some(match n {
        0 => F::MAV_FRAME_GLOBAL,
        2 => F::MAV_FRAME_MISSION,
        3 => F::MAV_FRAME_GLOBAL_RELATIVE_ALT,
        10 => F::MAV_FRAME_GLOBAL_TERRAIN_ALT,
        _ => return None,
    })
}

impl MissionItem {
    /// The wire item for one item of the mission list (`current` unset).
    pub fn from_plan(item: &PlanItem) -> Result<Self, MissionError> {
        let command = mav_cmd(item.command).ok_or_else(|| {
            MissionError::Unsupported(format!(
                "item {}: MAV_CMD {} is not supported",
                item.seq, item.command
            ))
        })?;
        let frame = mav_frame(item.frame).ok_or_else(|| {
            MissionError::Unsupported(format!(
                "item {}: MAV_FRAME {} is not supported",
                item.seq, item.frame
            ))
        })?;
        Ok(Self {
            command,
            frame,
            current: false,
            autocontinue: item.autocontinue,
            params: item.params,
            x: (item.lat_deg * 1e7).round() as i32,
            y: (item.lon_deg * 1e7).round() as i32,
            z: item.alt_m as f32,
        })
    }

    /// This wire item as item `seq` of a mission list (e.g. what a vehicle sent back).
    pub fn to_plan(&self, seq: u16) -> PlanItem {
        PlanItem {
            seq,
            command: self.command as u16,
            frame: self.frame as u8,
            params: self.params,
            lat_deg: f64::from(self.x) / 1e7,
            lon_deg: f64::from(self.y) / 1e7,
            alt_m: f64::from(self.z),
            autocontinue: self.autocontinue,
        }
    }
}

/// The wire items to upload for a mission list ([`mission_items`]); the first item after home
/// is marked current (`MAVSDK` insists on one).
pub fn upload_items(items: &[PlanItem]) -> Result<Vec<MissionItem>, MissionError> {
    let mut wire = items
        .iter()
        .map(MissionItem::from_plan)
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(first) = wire.get_mut(1) {
        first.current = true;
    }
    Ok(wire)
}

/// The wire items of a downloaded mission as the mission list, numbered from 0.
pub fn plan_items(items: &[MissionItem]) -> Vec<PlanItem> {
    items
        .iter()
        .enumerate()
        .map(|(seq, i)| i.to_plan(seq as u16))
        .collect()
}

/// The item list a vehicle flies for `waypoints`: [`mission_items`] without a speed item, on
/// the wire. Superseded by [`mission_items`] (which takes the planned speed) with
/// [`upload_items`], or by `MissionRequest::Start` with the items; kept for callers that have
/// not moved yet.
pub fn items_from_waypoints(home: LatLon, waypoints: &[Waypoint]) -> Vec<MissionItem> {
    // Every command mission_items produces has a wire form: this cannot fail.
    upload_items(&mission_items(home, waypoints, 0.0)).unwrap_or_default()
}

/// Why a mission transfer failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MissionError {
    /// The vehicle stopped answering.
    #[error("vehicle did not answer {stage} after {attempts} attempts")]
    Timeout {
        /// What we were waiting for.
        stage: &'static str,
        /// How many times we asked.
        attempts: u8,
    },
    /// The vehicle refused with a `MAV_MISSION_RESULT`.
    #[error("vehicle refused the mission: {0}")]
    Rejected(String),
    /// The vehicle asked for an item we do not have.
    #[error("vehicle requested item {seq} of a {count}-item mission")]
    OutOfRange {
        /// Requested sequence number.
        seq: u16,
        /// Items we have.
        count: u16,
    },
    /// The mission has more items than the protocol can number.
    #[error("mission too long ({0} items)")]
    TooLong(usize),
    /// Another transfer with this vehicle is in progress.
    #[error("another mission transfer with this vehicle is in progress")]
    Busy,
    /// The link went away.
    #[error("link closed during the transfer")]
    LinkClosed,
    /// No heartbeat from this vehicle ever arrived on this link.
    #[error("vehicle {0} has never been heard on this link")]
    NeverHeard(String),
    /// The vehicle's heartbeats stopped: nothing is sent until it is back.
    #[error("vehicle {0} is lost (no heartbeat)")]
    VehicleLost(String),
    /// An item has no wire form.
    #[error("{0}")]
    Unsupported(String),
}

/// Input of the mission state machines.
#[derive(Debug, Clone, PartialEq)]
pub enum MissionEvent {
    /// Begin the transfer.
    Start,
    /// The vehicle requested item `seq` (`MISSION_REQUEST_INT` or `MISSION_REQUEST`).
    Request {
        /// Requested sequence number.
        seq: u16,
    },
    /// The vehicle announced its item count (download).
    Count {
        /// Item count.
        count: u16,
    },
    /// The vehicle sent an item (download).
    Item {
        /// Sequence number.
        seq: u16,
        /// The item.
        item: MissionItem,
    },
    /// `MISSION_ACK` from the vehicle.
    Ack(mav::MavMissionResult),
    /// The timer set by the last [`MissionAction::SetTimer`] fired.
    Timeout,
}

/// Output of the mission state machines.
#[expect(
    clippy::large_enum_variant,
    reason = "short-lived per-step values; boxing every outgoing message buys nothing"
)]
#[derive(Debug, Clone, PartialEq)]
pub enum MissionAction {
    /// Send this message to the vehicle.
    Send(MavMessage),
    /// (Re)start the single timer of this transfer.
    SetTimer(Duration),
    /// Items transferred so far.
    Progress {
        /// Items done.
        done: u16,
        /// Items in total.
        total: u16,
    },
    /// Upload finished: `Ok` only after an accepted `MISSION_ACK`.
    UploadDone(Result<(), MissionError>),
    /// Download finished with the items, home first.
    DownloadDone(Result<Vec<MissionItem>, MissionError>),
}

fn result_name(r: mav::MavMissionResult) -> String {
    format!("{r:?}")
        .trim_start_matches("MAV_MISSION_")
        .to_owned()
}

fn ack(target: (u8, u8), result: mav::MavMissionResult) -> MavMessage {
    MavMessage::MISSION_ACK(mav::MISSION_ACK_DATA {
        target_system: target.0,
        target_component: target.1,
        mavtype: result,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum UploadState {
    Idle,
    /// `MISSION_COUNT` sent, waiting for the first request.
    CountSent,
    /// Items up to `highest` sent; waiting for the next request or the ACK. A timeout
    /// resends `highest`: a stale request for an earlier item (reordered or duplicated on the
    /// way) is answered but never becomes what we repeat, because after the last item only
    /// the last item earns a repeated ACK from a vehicle that has finished.
    Sending {
        highest: u16,
    },
    Done,
}

/// Mission upload (we are the client: the vehicle requests, we send).
#[derive(Debug, Clone)]
pub struct Upload {
    timing: MissionTiming,
    items: Vec<MissionItem>,
    target: (u8, u8),
    state: UploadState,
    retries: u8,
    highest_sent: Option<u16>,
}

impl Upload {
    /// An upload of `items` (home first) to `target` (system, component).
    pub fn new(items: Vec<MissionItem>, target: (u8, u8)) -> Self {
        Self::with_timing(items, target, MissionTiming::default())
    }

    /// An upload with non-default timing.
    pub fn with_timing(items: Vec<MissionItem>, target: (u8, u8), timing: MissionTiming) -> Self {
        Self {
            timing,
            items,
            target,
            state: UploadState::Idle,
            retries: 0,
            highest_sent: None,
        }
    }

    /// Whether the transfer has finished (either way).
    pub fn is_done(&self) -> bool {
        self.state == UploadState::Done
    }

    /// Number of items being uploaded.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether this upload clears the mission (no items).
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    fn count(&self) -> u16 {
        self.items.len() as u16
    }

    fn count_msg(&self) -> MavMessage {
        MavMessage::MISSION_COUNT(mav::MISSION_COUNT_DATA {
            count: self.count(),
            target_system: self.target.0,
            target_component: self.target.1,
        })
    }

    fn finish(&mut self, r: Result<(), MissionError>) -> MissionAction {
        self.state = UploadState::Done;
        MissionAction::UploadDone(r)
    }

    /// Advances the handshake.
    #[expect(
        clippy::match_same_arms,
        reason = "one arm per protocol situation reads as the fault table"
    )]
    pub fn handle(&mut self, event: MissionEvent) -> Vec<MissionAction> {
        use MissionAction::{Send, SetTimer};
        match (self.state, event) {
            (UploadState::Done, _) => vec![],
            (UploadState::Idle, MissionEvent::Start) => {
                if self.items.len() > usize::from(u16::MAX) {
                    let n = self.items.len();
                    return vec![self.finish(Err(MissionError::TooLong(n)))];
                }
                self.state = UploadState::CountSent;
                vec![Send(self.count_msg()), SetTimer(self.timing.timeout)]
            }
            (UploadState::Idle, _) => vec![],
            (
                UploadState::CountSent | UploadState::Sending { .. },
                MissionEvent::Request { seq },
            ) => {
                let Some(item) = self.items.get(usize::from(seq)).copied() else {
                    let count = self.count();
                    return vec![
                        Send(ack(
                            self.target,
                            mav::MavMissionResult::MAV_MISSION_INVALID_SEQUENCE,
                        )),
                        self.finish(Err(MissionError::OutOfRange { seq, count })),
                    ];
                };
                let new_item = self.highest_sent.is_none_or(|h| seq > h);
                if new_item {
                    // Counter reset per item.
                    self.retries = 0;
                    self.highest_sent = Some(seq);
                }
                self.state = UploadState::Sending {
                    highest: self.highest_sent.unwrap_or(seq),
                };
                let mut out = vec![
                    Send(item.to_message(seq, self.target)),
                    SetTimer(self.timing.timeout),
                ];
                if new_item {
                    out.push(MissionAction::Progress {
                        done: seq,
                        total: self.count(),
                    });
                }
                out
            }
            (
                UploadState::CountSent,
                MissionEvent::Ack(mav::MavMissionResult::MAV_MISSION_ACCEPTED),
            ) if self.items.is_empty() => {
                vec![self.finish(Ok(()))]
            }
            (
                UploadState::Sending { .. },
                MissionEvent::Ack(mav::MavMissionResult::MAV_MISSION_ACCEPTED),
            ) => {
                if self.highest_sent == Some(self.count().saturating_sub(1)) {
                    let total = self.count();
                    vec![
                        MissionAction::Progress { done: total, total },
                        self.finish(Ok(())),
                    ]
                } else {
                    // Accepted before it saw every item: not a success we can trust.
                    vec![self.finish(Err(MissionError::Rejected(
                        "accepted before all items were sent".into(),
                    )))]
                }
            }
            (
                UploadState::CountSent,
                MissionEvent::Ack(mav::MavMissionResult::MAV_MISSION_ACCEPTED),
            ) => {
                // A stale ACK (e.g. of a previous transfer): keep waiting for requests.
                vec![]
            }
            (UploadState::CountSent | UploadState::Sending { .. }, MissionEvent::Ack(r)) => {
                vec![self.finish(Err(MissionError::Rejected(result_name(r))))]
            }
            (
                st @ (UploadState::CountSent | UploadState::Sending { .. }),
                MissionEvent::Timeout,
            ) => {
                self.retries += 1;
                if self.retries > self.timing.max_retries {
                    let stage = if st == UploadState::CountSent {
                        "the mission count"
                    } else {
                        "the next item request"
                    };
                    let attempts = self.retries;
                    return vec![
                        Send(ack(
                            self.target,
                            mav::MavMissionResult::MAV_MISSION_OPERATION_CANCELLED,
                        )),
                        self.finish(Err(MissionError::Timeout { stage, attempts })),
                    ];
                }
                let msg = match st {
                    UploadState::Sending { highest } => {
                        self.items[usize::from(highest)].to_message(highest, self.target)
                    }
                    _ => self.count_msg(),
                };
                vec![Send(msg), SetTimer(self.timing.timeout)]
            }
            (
                UploadState::CountSent | UploadState::Sending { .. },
                MissionEvent::Start | MissionEvent::Count { .. } | MissionEvent::Item { .. },
            ) => vec![],
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DownloadState {
    Idle,
    ListRequested,
    Requesting { next: u16, count: u16 },
    Done,
}

/// Mission download (we request, the vehicle sends).
#[derive(Debug, Clone)]
pub struct Download {
    timing: MissionTiming,
    target: (u8, u8),
    state: DownloadState,
    retries: u8,
    items: Vec<MissionItem>,
}

impl Download {
    /// A download from `target` (system, component).
    pub fn new(target: (u8, u8)) -> Self {
        Self::with_timing(target, MissionTiming::default())
    }

    /// A download with non-default timing.
    pub fn with_timing(target: (u8, u8), timing: MissionTiming) -> Self {
        Self {
            timing,
            target,
            state: DownloadState::Idle,
            retries: 0,
            items: Vec::new(),
        }
    }

    /// Whether the transfer has finished (either way).
    pub fn is_done(&self) -> bool {
        self.state == DownloadState::Done
    }

    fn list_msg(&self) -> MavMessage {
        MavMessage::MISSION_REQUEST_LIST(mav::MISSION_REQUEST_LIST_DATA {
            target_system: self.target.0,
            target_component: self.target.1,
        })
    }

    fn request_msg(&self, seq: u16) -> MavMessage {
        MavMessage::MISSION_REQUEST_INT(mav::MISSION_REQUEST_INT_DATA {
            target_system: self.target.0,
            target_component: self.target.1,
            seq,
        })
    }

    fn finish(&mut self, r: Result<Vec<MissionItem>, MissionError>) -> MissionAction {
        self.state = DownloadState::Done;
        MissionAction::DownloadDone(r)
    }

    /// Advances the handshake.
    #[expect(
        clippy::match_same_arms,
        reason = "one arm per protocol situation reads as the fault table"
    )]
    pub fn handle(&mut self, event: MissionEvent) -> Vec<MissionAction> {
        use MissionAction::{Send, SetTimer};
        match (self.state, event) {
            (DownloadState::Done, _) => vec![],
            (DownloadState::Idle, MissionEvent::Start) => {
                self.state = DownloadState::ListRequested;
                vec![Send(self.list_msg()), SetTimer(self.timing.timeout)]
            }
            (DownloadState::Idle, _) => vec![],
            (DownloadState::ListRequested, MissionEvent::Count { count }) => {
                self.retries = 0;
                if count == 0 {
                    return vec![
                        Send(ack(
                            self.target,
                            mav::MavMissionResult::MAV_MISSION_ACCEPTED,
                        )),
                        self.finish(Ok(Vec::new())),
                    ];
                }
                self.items = Vec::with_capacity(usize::from(count));
                self.state = DownloadState::Requesting { next: 0, count };
                vec![
                    Send(self.request_msg(0)),
                    SetTimer(self.timing.item_timeout),
                ]
            }
            (DownloadState::Requesting { next, count }, MissionEvent::Item { seq, item }) => {
                if seq != next {
                    // Duplicate or out of order: the timer re-requests what we need.
                    return vec![];
                }
                self.items.push(item);
                self.retries = 0;
                let next = next + 1;
                if next == count {
                    let items = std::mem::take(&mut self.items);
                    return vec![
                        Send(ack(
                            self.target,
                            mav::MavMissionResult::MAV_MISSION_ACCEPTED,
                        )),
                        MissionAction::Progress {
                            done: count,
                            total: count,
                        },
                        self.finish(Ok(items)),
                    ];
                }
                self.state = DownloadState::Requesting { next, count };
                vec![
                    Send(self.request_msg(next)),
                    SetTimer(self.timing.item_timeout),
                    MissionAction::Progress {
                        done: next,
                        total: count,
                    },
                ]
            }
            (
                DownloadState::ListRequested | DownloadState::Requesting { .. },
                MissionEvent::Ack(r),
            ) if r != mav::MavMissionResult::MAV_MISSION_ACCEPTED => {
                vec![self.finish(Err(MissionError::Rejected(result_name(r))))]
            }
            (
                st @ (DownloadState::ListRequested | DownloadState::Requesting { .. }),
                MissionEvent::Timeout,
            ) => {
                self.retries += 1;
                if self.retries > self.timing.max_retries {
                    let stage = if st == DownloadState::ListRequested {
                        "the mission count"
                    } else {
                        "a mission item"
                    };
                    let attempts = self.retries;
                    return vec![self.finish(Err(MissionError::Timeout { stage, attempts }))];
                }
                match st {
                    DownloadState::Requesting { next, .. } => {
                        vec![
                            Send(self.request_msg(next)),
                            SetTimer(self.timing.item_timeout),
                        ]
                    }
                    _ => vec![Send(self.list_msg()), SetTimer(self.timing.timeout)],
                }
            }
            (DownloadState::ListRequested | DownloadState::Requesting { .. }, _) => vec![],
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mav::MavMissionResult as R;

    const T: (u8, u8) = (1, 1);

    fn items(n: usize) -> Vec<MissionItem> {
        (0..n)
            .map(|i| {
                MissionItem::global(
                    mav::MavCmd::MAV_CMD_NAV_WAYPOINT,
                    LatLon::new(47.0 + i as f64 * 1e-4, 8.0),
                    20.0,
                )
            })
            .collect()
    }

    fn sent(actions: &[MissionAction]) -> Vec<&MavMessage> {
        actions
            .iter()
            .filter_map(|a| {
                if let MissionAction::Send(m) = a {
                    Some(m)
                } else {
                    None
                }
            })
            .collect()
    }

    fn done_upload(actions: &[MissionAction]) -> Option<&Result<(), MissionError>> {
        actions.iter().find_map(|a| {
            if let MissionAction::UploadDone(r) = a {
                Some(r)
            } else {
                None
            }
        })
    }

    #[test]
    fn upload_happy_path_needs_the_accepted_ack() {
        let mut u = Upload::new(items(3), T);
        let a = u.handle(MissionEvent::Start);
        assert!(matches!(sent(&a)[0], MavMessage::MISSION_COUNT(c) if c.count == 3));
        assert!(a.contains(&MissionAction::SetTimer(TIMEOUT)));
        for seq in 0..3 {
            let a = u.handle(MissionEvent::Request { seq });
            assert!(matches!(sent(&a)[0], MavMessage::MISSION_ITEM_INT(i) if i.seq == seq));
            assert!(done_upload(&a).is_none(), "no success before the ACK");
        }
        let a = u.handle(MissionEvent::Ack(R::MAV_MISSION_ACCEPTED));
        assert_eq!(done_upload(&a), Some(&Ok(())));
        assert!(u.is_done());
        assert!(u.handle(MissionEvent::Timeout).is_empty());
    }

    #[test]
    fn upload_lost_count_is_resent_then_gives_up_after_five_retries() {
        let mut u = Upload::new(items(2), T);
        u.handle(MissionEvent::Start);
        for _ in 0..MAX_RETRIES {
            let a = u.handle(MissionEvent::Timeout);
            assert!(matches!(sent(&a)[0], MavMessage::MISSION_COUNT(_)));
            assert!(done_upload(&a).is_none());
        }
        let a = u.handle(MissionEvent::Timeout);
        assert!(matches!(
            done_upload(&a),
            Some(Err(MissionError::Timeout { attempts: 6, .. }))
        ));
        assert!(
            matches!(sent(&a)[0], MavMessage::MISSION_ACK(k) if k.mavtype == R::MAV_MISSION_OPERATION_CANCELLED)
        );
    }

    #[test]
    fn upload_lost_item_resends_the_last_item_and_resets_the_counter_per_item() {
        let mut u = Upload::new(items(3), T);
        u.handle(MissionEvent::Start);
        u.handle(MissionEvent::Request { seq: 0 });
        for _ in 0..MAX_RETRIES {
            let a = u.handle(MissionEvent::Timeout);
            assert!(matches!(sent(&a)[0], MavMessage::MISSION_ITEM_INT(i) if i.seq == 0));
        }
        // A new item resets the retry counter: five more timeouts are tolerated.
        u.handle(MissionEvent::Request { seq: 1 });
        for _ in 0..MAX_RETRIES {
            assert!(done_upload(&u.handle(MissionEvent::Timeout)).is_none());
        }
        assert!(done_upload(&u.handle(MissionEvent::Timeout)).is_some());
    }

    #[test]
    fn upload_duplicate_request_is_answered_again_without_progress() {
        let mut u = Upload::new(items(2), T);
        u.handle(MissionEvent::Start);
        u.handle(MissionEvent::Request { seq: 0 });
        let a = u.handle(MissionEvent::Request { seq: 0 });
        assert!(matches!(sent(&a)[0], MavMessage::MISSION_ITEM_INT(i) if i.seq == 0));
        assert!(
            !a.iter()
                .any(|x| matches!(x, MissionAction::Progress { .. }))
        );
    }

    #[test]
    fn upload_stale_request_after_the_last_item_does_not_derail_the_ack_retry() {
        let mut u = Upload::new(items(3), T);
        u.handle(MissionEvent::Start);
        for seq in 0..3 {
            u.handle(MissionEvent::Request { seq });
        }
        // A request for item 1, held back by the network, arrives after item 2 went out: it
        // is answered...
        let a = u.handle(MissionEvent::Request { seq: 1 });
        assert!(matches!(sent(&a)[0], MavMessage::MISSION_ITEM_INT(i) if i.seq == 1));
        // ...but the vehicle's ACK was lost, and the retry is the last item, which a finished
        // vehicle acknowledges again (item 1 it would ignore).
        let a = u.handle(MissionEvent::Timeout);
        assert!(matches!(sent(&a)[0], MavMessage::MISSION_ITEM_INT(i) if i.seq == 2));
        assert_eq!(
            done_upload(&u.handle(MissionEvent::Ack(R::MAV_MISSION_ACCEPTED))),
            Some(&Ok(()))
        );
    }

    #[test]
    fn upload_out_of_range_request_fails_and_tells_the_vehicle() {
        let mut u = Upload::new(items(2), T);
        u.handle(MissionEvent::Start);
        let a = u.handle(MissionEvent::Request { seq: 5 });
        assert_eq!(
            done_upload(&a),
            Some(&Err(MissionError::OutOfRange { seq: 5, count: 2 }))
        );
        assert!(
            matches!(sent(&a)[0], MavMessage::MISSION_ACK(k) if k.mavtype == R::MAV_MISSION_INVALID_SEQUENCE)
        );
    }

    #[test]
    fn upload_vehicle_nack_with_each_result_fails() {
        for r in [
            R::MAV_MISSION_ERROR,
            R::MAV_MISSION_UNSUPPORTED_FRAME,
            R::MAV_MISSION_UNSUPPORTED,
            R::MAV_MISSION_NO_SPACE,
            R::MAV_MISSION_INVALID,
            R::MAV_MISSION_INVALID_PARAM1,
            R::MAV_MISSION_INVALID_SEQUENCE,
            R::MAV_MISSION_DENIED,
            R::MAV_MISSION_OPERATION_CANCELLED,
        ] {
            for requested in [0, 1] {
                let mut u = Upload::new(items(3), T);
                u.handle(MissionEvent::Start);
                for seq in 0..requested {
                    u.handle(MissionEvent::Request { seq });
                }
                let a = u.handle(MissionEvent::Ack(r));
                assert!(
                    matches!(done_upload(&a), Some(Err(MissionError::Rejected(_)))),
                    "{r:?}"
                );
            }
        }
    }

    #[test]
    fn upload_early_accept_is_not_success_and_stale_accept_is_ignored() {
        let mut u = Upload::new(items(3), T);
        u.handle(MissionEvent::Start);
        assert!(
            u.handle(MissionEvent::Ack(R::MAV_MISSION_ACCEPTED))
                .is_empty()
        );
        u.handle(MissionEvent::Request { seq: 0 });
        assert!(matches!(
            done_upload(&u.handle(MissionEvent::Ack(R::MAV_MISSION_ACCEPTED))),
            Some(Err(_))
        ));
        // An empty upload (= clear) succeeds on the ACK of the count.
        let mut c = Upload::new(Vec::new(), T);
        c.handle(MissionEvent::Start);
        assert_eq!(
            done_upload(&c.handle(MissionEvent::Ack(R::MAV_MISSION_ACCEPTED))),
            Some(&Ok(()))
        );
    }

    fn done_download(actions: &[MissionAction]) -> Option<&Result<Vec<MissionItem>, MissionError>> {
        actions.iter().find_map(|a| {
            if let MissionAction::DownloadDone(r) = a {
                Some(r)
            } else {
                None
            }
        })
    }

    #[test]
    fn download_happy_path_with_lost_and_duplicate_items() {
        let src = items(3);
        let mut d = Download::new(T);
        assert!(matches!(
            sent(&d.handle(MissionEvent::Start))[0],
            MavMessage::MISSION_REQUEST_LIST(_)
        ));
        // Lost count: the list request is repeated.
        assert!(matches!(
            sent(&d.handle(MissionEvent::Timeout))[0],
            MavMessage::MISSION_REQUEST_LIST(_)
        ));
        let a = d.handle(MissionEvent::Count { count: 3 });
        assert!(matches!(sent(&a)[0], MavMessage::MISSION_REQUEST_INT(r) if r.seq == 0));
        assert!(a.contains(&MissionAction::SetTimer(ITEM_TIMEOUT)));
        d.handle(MissionEvent::Item {
            seq: 0,
            item: src[0],
        });
        // Duplicate of item 0 and out-of-order item 2 are ignored.
        assert!(
            d.handle(MissionEvent::Item {
                seq: 0,
                item: src[0]
            })
            .is_empty()
        );
        assert!(
            d.handle(MissionEvent::Item {
                seq: 2,
                item: src[2]
            })
            .is_empty()
        );
        // Lost item 1: re-requested on the 250 ms timer.
        assert!(
            matches!(sent(&d.handle(MissionEvent::Timeout))[0], MavMessage::MISSION_REQUEST_INT(r) if r.seq == 1)
        );
        d.handle(MissionEvent::Item {
            seq: 1,
            item: src[1],
        });
        let a = d.handle(MissionEvent::Item {
            seq: 2,
            item: src[2],
        });
        assert!(
            matches!(sent(&a)[0], MavMessage::MISSION_ACK(k) if k.mavtype == R::MAV_MISSION_ACCEPTED)
        );
        assert_eq!(done_download(&a), Some(&Ok(src)));
    }

    #[test]
    fn download_gives_up_and_reports_nacks() {
        let mut d = Download::new(T);
        d.handle(MissionEvent::Start);
        d.handle(MissionEvent::Count { count: 2 });
        for _ in 0..MAX_RETRIES {
            assert!(done_download(&d.handle(MissionEvent::Timeout)).is_none());
        }
        assert!(matches!(
            done_download(&d.handle(MissionEvent::Timeout)),
            Some(Err(MissionError::Timeout { .. }))
        ));
        let mut d = Download::new(T);
        d.handle(MissionEvent::Start);
        assert!(matches!(
            done_download(&d.handle(MissionEvent::Ack(R::MAV_MISSION_DENIED))),
            Some(Err(MissionError::Rejected(_)))
        ));
        let mut d = Download::new(T);
        d.handle(MissionEvent::Start);
        assert_eq!(
            done_download(&d.handle(MissionEvent::Count { count: 0 })),
            Some(&Ok(Vec::new()))
        );
    }

    #[test]
    fn waypoints_become_items_with_home_first_and_one_current() {
        use aviary_core::WaypointAction;
        use mav::MavCmd as C;
        let home = LatLon::new(47.0, 8.0);
        let wps = [
            Waypoint {
                pos: home,
                alt_rel_m: 30.0,
                action: WaypointAction::Takeoff,
            },
            Waypoint {
                pos: home.offset_ne(50.0, 0.0),
                alt_rel_m: 30.0,
                action: WaypointAction::CameraTriggerStart { distance_m: 12.5 },
            },
            Waypoint {
                pos: home.offset_ne(50.0, 50.0),
                alt_rel_m: 30.0,
                action: WaypointAction::CameraTriggerStop,
            },
            Waypoint {
                pos: home,
                alt_rel_m: 30.0,
                action: WaypointAction::ReturnToLaunch,
            },
        ];
        let items = items_from_waypoints(home, &wps);
        let cmds: Vec<_> = items.iter().map(|i| i.command).collect();
        // No waypoint is inserted before the camera items: the planner put one there.
        assert_eq!(
            cmds,
            vec![
                C::MAV_CMD_NAV_WAYPOINT,
                C::MAV_CMD_NAV_TAKEOFF,
                C::MAV_CMD_DO_SET_CAM_TRIGG_DIST,
                C::MAV_CMD_DO_SET_CAM_TRIGG_DIST,
                C::MAV_CMD_NAV_RETURN_TO_LAUNCH
            ]
        );
        assert!((items[2].params[0] - 12.5).abs() < f32::EPSILON);
        assert_eq!(items[2].frame, mav::MavFrame::MAV_FRAME_MISSION);
        let back = plan_items(&items);
        let list = mission_items(home, &wps, 0.0);
        assert_eq!(
            aviary_core::mission_items::first_difference(&list, &back, false),
            None
        );
        assert_eq!(items.iter().filter(|i| i.current).count(), 1);
        assert!(items[1].current);
        assert!((items[1].z - 30.0).abs() < f32::EPSILON);
    }
}
