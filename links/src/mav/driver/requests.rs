//! The app's requests to a vehicle and the handshakes that answer them: mission upload and
//! download, commands, mission-action sequences, terrain answers.

use super::{
    Driver, LinkEvent, MissionOp, Owner, PendingCommand, PlanState, Request, Transfer, VehicleId,
    clock_now,
};
use crate::mav::command::{
    self, Autopilot, CommandEvent, CommandFailure, CommandOutcome, CommandSpec, CommandStep,
    CommandTransaction,
};
use crate::mav::mission::{
    Download, MissionAction, MissionError, MissionEvent, MissionItem, Upload,
};
use crate::mav::sequence::{
    ActionFailure, ActionKind, ActionSequence, FailureCause, MissionRequest, SeqEvent, SeqStep,
    VehicleView,
};
use crate::mav::terrain::{self};
use mav::MavMessage;
use mavlink::dialects::ardupilotmega as mav;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

impl Driver {
    /// Why a mission transfer with vehicle `id` cannot start (never heard, or lost), if so.
    fn transfer_refused(&self, id: VehicleId) -> Option<MissionError> {
        self.unreachable(id).map(|cause| match cause {
            FailureCause::NeverHeard => MissionError::NeverHeard(id.to_string()),
            _ => MissionError::VehicleLost(id.to_string()),
        })
    }

    pub(super) fn on_request(&mut self, r: Request) {
        match r {
            Request::Upload { id, items, op } => {
                if let Some(err) = self.transfer_refused(id) {
                    self.emit(LinkEvent::MissionDone {
                        id,
                        op,
                        result: Err(err),
                    });
                    return;
                }
                if let Err(e) = self.start_upload(id, items, op, Owner::App) {
                    self.emit(LinkEvent::MissionDone {
                        id,
                        op,
                        result: Err(e),
                    });
                }
            }
            Request::Download { id } => {
                if let Some(err) = self.transfer_refused(id) {
                    self.emit(LinkEvent::MissionDone {
                        id,
                        op: MissionOp::Download,
                        result: Err(err),
                    });
                    return;
                }
                let Some(v) = self.vehicles.get(&id) else {
                    return;
                };
                if v.transfer.is_some() {
                    self.emit(LinkEvent::MissionDone {
                        id,
                        op: MissionOp::Download,
                        result: Err(MissionError::Busy),
                    });
                    return;
                }
                let sm = Download::with_timing(
                    (id.system_id, v.state.component_id),
                    self.cfg.mission_timing,
                );
                self.start_transfer(id, Transfer::Download { sm }, Owner::App);
            }
            Request::Commands { id, specs } => self.start_commands(id, specs, Owner::App),
            Request::Action {
                id,
                action,
                abort_lands,
            } => {
                let autopilot = self
                    .vehicles
                    .get(&id)
                    .map_or(Autopilot::ArduPilot, |v| v.state.autopilot);
                let specs = command::action_commands(autopilot, action, abort_lands);
                self.start_commands(id, specs, Owner::App);
            }
            Request::Streams { id, hz } => self.request_streams(id, hz),
            Request::MissionAction { id, request } => self.start_sequence(id, &request),
            Request::TerrainCheck { id, at } => {
                if let Some(addr) = self.vehicles.get(&id).map(|v| v.addr) {
                    self.send_to(addr, &terrain::check(at));
                }
            }
            Request::SetTerrain(source) => self.cfg.terrain = source,
        }
    }

    /// Answers a `TERRAIN_REQUEST` with a `TERRAIN_DATA` per sub-grid the DEM covers.
    pub(super) fn answer_terrain(&mut self, addr: SocketAddr, r: &mav::TERRAIN_REQUEST_DATA) {
        self.stats
            .terrain_requests_rx
            .fetch_add(1, Ordering::Relaxed);
        let Some(source) = self.cfg.terrain.clone() else {
            return;
        };
        let answer = terrain::answer(&*source.0, r);
        self.stats
            .terrain_subgrids_missing
            .fetch_add(u64::from(answer.missing), Ordering::Relaxed);
        for data in answer.data {
            self.send_to(addr, &MavMessage::TERRAIN_DATA(data));
            self.stats.terrain_data_tx.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn start_upload(
        &mut self,
        id: VehicleId,
        items: Vec<MissionItem>,
        op: MissionOp,
        owner: Owner,
    ) -> Result<(), MissionError> {
        let Some(v) = self.vehicles.get(&id) else {
            return Err(MissionError::NeverHeard(id.to_string()));
        };
        if v.transfer.is_some() {
            return Err(MissionError::Busy);
        }
        let sm = Upload::with_timing(
            items,
            (id.system_id, v.state.component_id),
            self.cfg.mission_timing,
        );
        self.start_transfer(id, Transfer::Upload { sm, op }, owner);
        Ok(())
    }

    // --- mission actions -----------------------------------------------------------------

    fn start_sequence(&mut self, id: VehicleId, request: &MissionRequest) {
        let kind = request.kind();
        let fail_now = |this: &mut Self, cause: FailureCause| {
            this.emit(LinkEvent::ActionResult {
                id,
                request: kind,
                result: Err(ActionFailure {
                    vehicle: id,
                    step: kind.to_string(),
                    cause,
                    vehicle_said: Vec::new(),
                    disarmed_again: false,
                }),
            });
        };
        if let Some(cause) = self.unreachable(id) {
            fail_now(self, cause);
            return;
        }
        let Some(v) = self.vehicles.get(&id) else {
            return;
        };
        if let Some(running) = v.sequence.as_ref().map(ActionSequence::kind) {
            // Return, land and abort replace whatever runs; anything else waits its turn.
            if matches!(kind, ActionKind::Rtl | ActionKind::Land | ActionKind::Abort) {
                self.seq_event(id, SeqEvent::Abandon(FailureCause::Superseded(kind)));
                // A replaced sequence may still be disarming or collecting texts: report it now.
                self.finish_sequence_now(id);
            } else {
                fail_now(self, FailureCause::Busy(running));
                return;
            }
        }
        let Some(v) = self.vehicles.get_mut(&id) else {
            return;
        };
        let view = VehicleView {
            autopilot: v.state.autopilot,
            mode_class: v.state.mode_class,
            armed: v.state.armed,
            landed: v.state.landed,
        };
        v.sequence = Some(ActionSequence::new(id, request, view));
        v.seq_deadline = None;
        self.seq_event(id, SeqEvent::Start);
    }

    /// Reports a sequence that was abandoned but is still winding down, so a new one can start.
    fn finish_sequence_now(&mut self, id: VehicleId) {
        for _ in 0..3 {
            let still = self.vehicles.get(&id).is_some_and(|v| v.sequence.is_some());
            if !still {
                return;
            }
            self.seq_event(
                id,
                SeqEvent::Abandon(FailureCause::Superseded(ActionKind::Abort)),
            );
        }
    }

    /// Queues an event for the vehicle's running sequence and runs the queue (events the
    /// sequence causes while it runs are queued behind it, never handled re-entrantly).
    pub(super) fn seq_event(&mut self, id: VehicleId, event: SeqEvent) {
        if self.vehicles.get(&id).is_none_or(|v| v.sequence.is_none()) {
            return;
        }
        self.seq_inbox.push_back((id, event));
        if self.seq_running {
            return;
        }
        self.seq_running = true;
        while let Some((id, event)) = self.seq_inbox.pop_front() {
            let Some(v) = self.vehicles.get_mut(&id) else {
                continue;
            };
            let Some(seq) = v.sequence.as_mut() else {
                continue;
            };
            let kind = seq.kind();
            let steps = seq.handle(event);
            for step in steps {
                self.seq_step(id, kind, step);
            }
        }
        self.seq_running = false;
    }

    fn seq_step(&mut self, id: VehicleId, kind: ActionKind, step: SeqStep) {
        let Some(v) = self.vehicles.get_mut(&id) else {
            return;
        };
        let (addr, target) = (v.addr, (id.system_id, v.state.component_id));
        match step {
            SeqStep::Upload(items) => {
                if let Err(e) = self.start_upload(id, items, MissionOp::Upload, Owner::Sequence) {
                    self.seq_inbox.push_back((id, SeqEvent::Uploaded(Err(e))));
                }
            }
            SeqStep::RequestCount => {
                let msg = MavMessage::MISSION_REQUEST_LIST(mav::MISSION_REQUEST_LIST_DATA {
                    target_system: target.0,
                    target_component: target.1,
                });
                self.send_to(addr, &msg);
            }
            SeqStep::EndCount => {
                let msg = MavMessage::MISSION_ACK(mav::MISSION_ACK_DATA {
                    target_system: target.0,
                    target_component: target.1,
                    mavtype: mav::MavMissionResult::MAV_MISSION_ACCEPTED,
                });
                self.send_to(addr, &msg);
            }
            SeqStep::Command(spec) => self.start_commands(id, vec![spec], Owner::Sequence),
            SeqStep::SetCurrent(seq) => {
                #[expect(
                    deprecated,
                    reason = "ArduCopter 4.x and the simulator honour MISSION_SET_CURRENT, confirmed by MISSION_CURRENT"
                )]
                let msg = MavMessage::MISSION_SET_CURRENT(mav::MISSION_SET_CURRENT_DATA {
                    seq,
                    target_system: target.0,
                    target_component: target.1,
                });
                self.send_to(addr, &msg);
            }
            SeqStep::SetTimer(d) => v.seq_deadline = Some(clock_now(&*self.cfg.clock) + d),
            SeqStep::CancelTimer => v.seq_deadline = None,
            SeqStep::Done(result) => {
                v.sequence = None;
                v.seq_deadline = None;
                self.emit(LinkEvent::ActionResult {
                    id,
                    request: kind,
                    result,
                });
            }
        }
    }

    fn start_transfer(&mut self, id: VehicleId, t: Transfer, owner: Owner) {
        if let Some(v) = self.vehicles.get_mut(&id) {
            v.transfer = Some((t, None));
            v.transfer_owner = owner;
            v.state.plan = PlanState::Transferring;
        }
        self.mission_event(id, MissionEvent::Start);
    }

    pub(super) fn mission_event(&mut self, id: VehicleId, event: MissionEvent) {
        let Some(v) = self.vehicles.get_mut(&id) else {
            return;
        };
        let Some((transfer, _)) = v.transfer.as_mut() else {
            return;
        };
        let (actions, op) = match transfer {
            Transfer::Upload { sm, op } => (sm.handle(event), *op),
            Transfer::Download { sm } => (sm.handle(event), MissionOp::Download),
        };
        let addr = v.addr;
        let mut finished = None;
        for a in actions {
            match a {
                MissionAction::Send(m) => self.send_to(addr, &m),
                MissionAction::SetTimer(d) => {
                    if let Some(v) = self.vehicles.get_mut(&id)
                        && let Some((_, dl)) = v.transfer.as_mut()
                    {
                        *dl = Some(clock_now(&*self.cfg.clock) + d);
                    }
                }
                MissionAction::Progress { done, total } => self.emit(LinkEvent::MissionProgress {
                    id,
                    op,
                    done,
                    total,
                }),
                MissionAction::UploadDone(r) => finished = Some(r.map(|()| Vec::new())),
                MissionAction::DownloadDone(r) => finished = Some(r),
            }
        }
        if let Some(result) = finished {
            let mut owner = Owner::App;
            if let Some(v) = self.vehicles.get_mut(&id) {
                let count = match (&v.transfer, &result) {
                    (Some((Transfer::Upload { sm, .. }, _)), Ok(_)) => Some(sm.len() as u16),
                    (_, Ok(items)) => Some(items.len() as u16),
                    _ => None,
                };
                v.transfer = None;
                owner = v.transfer_owner;
                v.state.plan =
                    count.map_or(PlanState::Unknown, |items| PlanState::Synced { items });
                v.state.mission_total = count.or(v.state.mission_total);
            }
            self.publish_state(id);
            match owner {
                Owner::App => self.emit(LinkEvent::MissionDone { id, op, result }),
                Owner::Sequence => {
                    self.seq_event(id, SeqEvent::Uploaded(result.map(|_| ())));
                }
            }
        }
    }

    /// Reports a command outcome to whoever asked.
    fn command_outcome(
        &mut self,
        id: VehicleId,
        command: mav::MavCmd,
        owner: Owner,
        outcome: CommandOutcome,
    ) {
        match owner {
            Owner::App => self.emit(LinkEvent::Command {
                id,
                command,
                outcome,
            }),
            Owner::Sequence if outcome != CommandOutcome::Pending => {
                self.seq_event(id, SeqEvent::CommandDone(outcome));
            }
            Owner::Sequence => {}
        }
    }

    fn start_commands(&mut self, id: VehicleId, specs: Vec<CommandSpec>, owner: Owner) {
        let mut specs: VecDeque<CommandSpec> = specs.into();
        let Some(first) = specs.pop_front() else {
            return;
        };
        let failure = match self.vehicles.get(&id) {
            None => Some(CommandFailure::UnknownVehicle),
            Some(v) if !v.state.link_up => Some(CommandFailure::VehicleLost),
            Some(v)
                if v.commands
                    .iter()
                    .any(|c| c.tx.spec().command == first.command) =>
            {
                Some(CommandFailure::Duplicate)
            }
            Some(_) => None,
        };
        if let Some(f) = failure {
            self.command_outcome(id, first.command, owner, CommandOutcome::Failed(f));
            return;
        }
        let Some(v) = self.vehicles.get_mut(&id) else {
            return;
        };
        let tx = CommandTransaction::new(
            first,
            (id.system_id, v.state.component_id),
            v.state.autopilot,
        );
        v.commands.push(PendingCommand {
            tx,
            deadline: None,
            then: specs,
            owner,
        });
        let idx = v.commands.len() - 1;
        self.drive_command(id, idx, CommandEvent::Start);
    }

    /// Feeds `event` to the pending commands of `id` (all of them, or those for `command`).
    pub(super) fn command_event(
        &mut self,
        id: VehicleId,
        command: Option<mav::MavCmd>,
        event: CommandEvent,
    ) {
        let Some(v) = self.vehicles.get(&id) else {
            return;
        };
        let targets: Vec<usize> = v
            .commands
            .iter()
            .enumerate()
            .filter(|(_, c)| command.is_none_or(|cmd| c.tx.spec().command == cmd))
            .map(|(i, _)| i)
            .collect();
        // Back to front so removals do not shift the remaining indices.
        for idx in targets.into_iter().rev() {
            self.drive_command(id, idx, event);
        }
    }

    pub(super) fn drive_command(&mut self, id: VehicleId, idx: usize, event: CommandEvent) {
        let Some(v) = self.vehicles.get_mut(&id) else {
            return;
        };
        let Some(pc) = v.commands.get_mut(idx) else {
            return;
        };
        let steps = pc.tx.handle(event);
        let command = pc.tx.spec().command;
        let owner = pc.owner;
        let addr = v.addr;
        let mut outcome_final = None;
        for s in steps {
            match s {
                CommandStep::Send(m) => self.send_to(addr, &m),
                CommandStep::SetTimer(d) => {
                    if let Some(pc) = self
                        .vehicles
                        .get_mut(&id)
                        .and_then(|v| v.commands.get_mut(idx))
                    {
                        pc.deadline = Some(clock_now(&*self.cfg.clock) + d);
                    }
                }
                CommandStep::Outcome(o) => {
                    let done = !matches!(o, CommandOutcome::Pending);
                    if owner == Owner::App {
                        self.emit(LinkEvent::Command {
                            id,
                            command,
                            outcome: o.clone(),
                        });
                    }
                    if done {
                        outcome_final = Some(o);
                    }
                }
            }
        }
        if let Some(o) = outcome_final {
            let Some(v) = self.vehicles.get_mut(&id) else {
                return;
            };
            if idx < v.commands.len() {
                let pc = v.commands.remove(idx);
                if pc.owner == Owner::Sequence {
                    // Removed first, so the sequence's next command is never a "duplicate".
                    self.command_outcome(id, command, Owner::Sequence, o);
                } else if o == CommandOutcome::Confirmed && !pc.then.is_empty() {
                    self.start_commands(id, pc.then.into(), Owner::App);
                }
            }
        }
    }
}
