//! The app's side of a link: [`LinkHandle`] sends requests over the bounded request channel,
//! [`LinkEvents`] receives events from the bounded event channel.

use super::{LinkError, LinkEvent, LinkStats, MissionOp, VehicleId, VehicleState};
use crate::mav::command::{self, Autopilot, CommandSpec};
use crate::mav::mission::MissionItem;
use crate::mav::sequence::MissionRequest;
use crate::mav::terrain::TerrainSource;
use aviary_core::LatLon;
use aviary_core::wire::CommandAction;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio::sync::mpsc;

pub(super) enum Request {
    Upload {
        id: VehicleId,
        items: Vec<MissionItem>,
        op: MissionOp,
    },
    Download {
        id: VehicleId,
    },
    Commands {
        id: VehicleId,
        specs: Vec<CommandSpec>,
    },
    Action {
        id: VehicleId,
        action: CommandAction,
        abort_lands: bool,
    },
    Streams {
        id: VehicleId,
        hz: u16,
    },
    MissionAction {
        id: VehicleId,
        request: MissionRequest,
    },
    TerrainCheck {
        id: VehicleId,
        at: LatLon,
    },
    SetTerrain(Option<TerrainSource>),
}

/// How to stop the runtime thread: a stop signal and the thread to join.
type Shutdown = (
    tokio::sync::oneshot::Sender<()>,
    std::thread::JoinHandle<()>,
);

/// The app's side of a link: send requests. Cheap to clone.
#[derive(Clone)]
pub struct LinkHandle {
    pub(super) tx: mpsc::Sender<Request>,
    pub(super) stats: Arc<LinkStats>,
    pub(super) vehicles: Arc<Mutex<HashMap<VehicleId, VehicleState>>>,
    pub(super) shutdown: Arc<Mutex<Option<Shutdown>>>,
    pub(super) local_addr: Option<SocketAddr>,
}

impl std::fmt::Debug for LinkHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LinkHandle")
            .field("local_addr", &self.local_addr)
            .finish_non_exhaustive()
    }
}

/// The app's receiving side: events, bounded.
#[derive(Debug)]
pub struct LinkEvents {
    pub(super) rx: mpsc::Receiver<LinkEvent>,
}

impl LinkEvents {
    /// Next event if one is queued (never blocks; for the UI's `logic`).
    pub fn try_recv(&mut self) -> Option<LinkEvent> {
        self.rx.try_recv().ok()
    }

    /// Waits for the next event (async contexts).
    pub async fn recv(&mut self) -> Option<LinkEvent> {
        self.rx.recv().await
    }

    /// Waits up to `timeout` for the next event (plain threads, tests, CLI).
    pub fn recv_timeout(&mut self, timeout: Duration) -> Option<LinkEvent> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            match self.rx.try_recv() {
                Ok(e) => return Some(e),
                Err(mpsc::error::TryRecvError::Disconnected) => return None,
                Err(mpsc::error::TryRecvError::Empty) => {
                    if std::time::Instant::now() >= deadline {
                        return None;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
        }
    }
}

impl LinkHandle {
    fn send(&self, r: Request) -> Result<(), LinkError> {
        self.tx.try_send(r).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => LinkError::Busy,
            mpsc::error::TrySendError::Closed(_) => LinkError::Closed,
        })
    }

    /// Our local socket address (UDP links), e.g. the port a `udpin:…:0` link bound.
    pub fn local_addr(&self) -> Option<SocketAddr> {
        self.local_addr
    }

    /// Counters.
    pub fn stats(&self) -> &LinkStats {
        &self.stats
    }

    /// Latest state of every known vehicle.
    pub fn vehicles(&self) -> Vec<VehicleState> {
        let mut v: Vec<_> = self
            .vehicles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .values()
            .cloned()
            .collect();
        v.sort_by_key(|s| s.id);
        v
    }

    /// Latest state of one vehicle.
    pub fn vehicle(&self, id: VehicleId) -> Option<VehicleState> {
        self.vehicles
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&id)
            .cloned()
    }

    /// Uploads `items` (home first). Result: [`LinkEvent::MissionDone`] with [`MissionOp::Upload`].
    /// Superseded for flying by [`LinkHandle::mission_action`] with
    /// [`MissionRequest::Start`], which uploads, verifies and starts in one request.
    pub fn upload_mission(&self, id: VehicleId, items: Vec<MissionItem>) -> Result<(), LinkError> {
        self.send(Request::Upload {
            id,
            items,
            op: MissionOp::Upload,
        })
    }

    /// Downloads the vehicle's mission. Result: [`LinkEvent::MissionDone`] with the items.
    pub fn download_mission(&self, id: VehicleId) -> Result<(), LinkError> {
        self.send(Request::Download { id })
    }

    /// Clears the vehicle's mission.
    pub fn clear_mission(&self, id: VehicleId) -> Result<(), LinkError> {
        self.send(Request::Upload {
            id,
            items: Vec::new(),
            op: MissionOp::Clear,
        })
    }

    /// Sends commands in order, each after the previous one is confirmed. Outcomes arrive as
    /// [`LinkEvent::Command`].
    pub fn commands(&self, id: VehicleId, specs: Vec<CommandSpec>) -> Result<(), LinkError> {
        self.send(Request::Commands { id, specs })
    }

    /// Arms the motors.
    pub fn arm(&self, id: VehicleId) -> Result<(), LinkError> {
        self.commands(id, vec![command::arm()])
    }

    /// Disarms the motors.
    pub fn disarm(&self, id: VehicleId) -> Result<(), LinkError> {
        self.commands(id, vec![command::disarm()])
    }

    /// Takes off to `alt_m` above home (vehicle in GUIDED and armed).
    pub fn takeoff(&self, id: VehicleId, alt_m: f32) -> Result<(), LinkError> {
        self.commands(id, vec![command::takeoff(alt_m)])
    }

    /// Changes flight mode to `custom_mode` (confirmed by heartbeat).
    pub fn set_mode(&self, id: VehicleId, custom_mode: u32) -> Result<(), LinkError> {
        let autopilot = self
            .vehicle(id)
            .map_or(Autopilot::ArduPilot, |v| v.autopilot);
        self.commands(id, vec![CommandSpec::set_mode(autopilot, custom_mode)])
    }

    /// A mission action (start, pause, resume, RTL, land, abort) mapped for the vehicle's
    /// flight stack. `abort_lands`: abort lands in place instead of returning home.
    /// Superseded by [`LinkHandle::mission_action`], which also makes the vehicle armable,
    /// confirms every step and undoes a failed start.
    pub fn action(
        &self,
        id: VehicleId,
        action: CommandAction,
        abort_lands: bool,
    ) -> Result<(), LinkError> {
        self.send(Request::Action {
            id,
            action,
            abort_lands,
        })
    }

    /// Runs a mission action as a whole on the vehicle (upload, mode changes, arming, start,
    /// each confirmed by ack and heartbeat; see [`super::sequence`]). `Ok`: exactly one
    /// [`LinkEvent::ActionResult`] follows. `Err`: nothing was sent — the vehicle is lost or
    /// was never heard ([`LinkError::VehicleLost`], [`LinkError::NeverHeard`]), or the link is
    /// busy or closed.
    ///
    /// This supersedes [`LinkHandle::action`], [`LinkHandle::commands`] and
    /// [`LinkHandle::upload_mission`] for mission control: the caller names no `MAV_CMD`.
    pub fn mission_action(&self, id: VehicleId, request: MissionRequest) -> Result<(), LinkError> {
        match self.vehicle(id) {
            None => return Err(LinkError::NeverHeard(id)),
            Some(v) if !v.link_up => return Err(LinkError::VehicleLost(id)),
            Some(_) => {}
        }
        self.send(Request::MissionAction { id, request })
    }

    /// Asks the vehicle for its terrain height at `at` (`TERRAIN_CHECK`); the answer arrives
    /// as [`VehicleState::terrain`]. A vehicle that lacks data there starts loading it.
    pub fn terrain_check(&self, id: VehicleId, at: LatLon) -> Result<(), LinkError> {
        self.send(Request::TerrainCheck { id, at })
    }

    /// Answers the vehicles' `TERRAIN_REQUEST`s from `source` from now on (`None`: leave them
    /// unanswered), as [`LinkConfig::terrain`] does from the start: the operator changed the
    /// DEM of a running ground station. Blocks already sent stay with the vehicles.
    pub fn set_terrain(&self, source: Option<TerrainSource>) -> Result<(), LinkError> {
        self.send(Request::SetTerrain(source))
    }

    /// Asks the vehicle to stream all telemetry at `hz`.
    pub fn request_streams(&self, id: VehicleId, hz: u16) -> Result<(), LinkError> {
        self.send(Request::Streams { id, hz })
    }

    /// Stops the link and joins its thread. Other clones become [`LinkError::Closed`].
    pub fn shutdown(&self) {
        let taken = self
            .shutdown
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some((stop, thread)) = taken {
            let _ = stop.send(());
            let _ = thread.join();
        }
    }
}
