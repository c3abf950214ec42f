//! What the driver does with what it receives: frames decoded, vehicles discovered,
//! identified and lost, their state and facts published.

use super::{
    Attitude, Driver, LinkEvent, MissionOp, ON_GROUND_ALT_M, ON_GROUND_SPEED_MPS, Owner,
    PendingCommand, PlanState, Transfer, Vehicle, VehicleId, VehicleState, VehicleType,
    WindEstimate, autopilot_of, clock_now, is_vehicle, now_us,
};
use crate::mav::codec::{self, Decoded, RxCounters};
use crate::mav::command::{self, CommandEvent, CommandFailure, CommandOutcome, CommandSpec};
use crate::mav::mission::{MissionError, MissionEvent, MissionItem};
use crate::mav::sequence::{FailureCause, SeqEvent};
use crate::mav::terrain::TerrainReport;
use aviary_core::LatLon;
use aviary_core::vehicle::{LandedState, VehicleFact};
use mav::MavMessage;
use mavlink::dialects::ardupilotmega as mav;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;

impl Driver {
    // --- receiving -----------------------------------------------------------------------

    pub(super) fn on_datagram(&mut self, from: SocketAddr, bytes: &[u8]) {
        let mut decoded = std::mem::take(&mut self.decoded);
        decoded.clear();
        let mut c = RxCounters::default();
        codec::decode_datagram(bytes, self.signing.as_ref(), &mut c, &mut decoded);
        self.stats.frames_rx.fetch_add(c.frames, Ordering::Relaxed);
        self.add_counters(c);
        for d in &decoded {
            self.on_frame(from, d);
        }
        self.decoded = decoded;
    }

    pub(super) fn on_frame(&mut self, from: SocketAddr, d: &Decoded) {
        if let Some(t) = self.tlog.as_mut() {
            let _ = t.write(now_us(), &d.raw);
        }
        let Ok(system_id) = u8::try_from(d.header.system_id) else {
            return;
        };
        let id = VehicleId {
            peer: from,
            system_id,
        };
        if let MavMessage::HEARTBEAT(hb) = &d.msg {
            if !is_vehicle(hb) {
                return;
            }
            self.on_heartbeat(id, d.header.component_id, hb);
        }
        let Some(v) = self.vehicles.get_mut(&id) else {
            return;
        };
        // Link quality from sequence gaps (per component).
        let gap = v
            .last_seq
            .insert(d.header.component_id, d.header.sequence)
            .map_or(0, |prev| {
                d.header.sequence.wrapping_sub(prev).wrapping_sub(1)
            });
        let sample = if gap < 128 {
            1.0 / (1.0 + f64::from(gap))
        } else {
            1.0
        };
        v.state.link_quality_pct = v.state.link_quality_pct * 0.98 + sample * 100.0 * 0.02;
        let ours = |t: u8| t == 0 || t == self.cfg.gcs_system_id;
        match &d.msg {
            MavMessage::GLOBAL_POSITION_INT(p) => {
                self.stats.positions_rx.fetch_add(1, Ordering::Relaxed);
                let s = &mut v.state;
                s.pos = Some(LatLon::new(f64::from(p.lat) / 1e7, f64::from(p.lon) / 1e7));
                s.alt_rel_m = f64::from(p.relative_alt) / 1000.0;
                s.alt_amsl_m = f64::from(p.alt) / 1000.0;
                s.ground_speed_mps = f64::from(p.vx).hypot(f64::from(p.vy)) / 100.0;
                s.climb_mps = -f64::from(p.vz) / 100.0;
                if p.hdg != u16::MAX {
                    s.heading_deg = f64::from(p.hdg) / 100.0;
                }
                s.time_boot_ms = p.time_boot_ms;
                // A measurement (send → state latency of `aviary bench live`, mapped to Unix
                // time), so the system's monotonic clock, not the injected one.
                s.position_received = Some(std::time::Instant::now());
                self.infer_landed(id);
                self.emit_facts(id);
                self.publish_state(id);
            }
            MavMessage::SYS_STATUS(s) => {
                if s.battery_remaining >= 0 {
                    v.state.battery_pct = Some(f64::from(s.battery_remaining));
                }
                if s.voltage_battery != u16::MAX {
                    v.state.battery_v = Some(f64::from(s.voltage_battery) / 1000.0);
                }
                // 10 mA units; -1: the autopilot does not measure it.
                v.state.battery_current_a =
                    (s.current_battery >= 0).then(|| f64::from(s.current_battery) / 100.0);
                self.publish_state(id);
            }
            MavMessage::BATTERY_STATUS(b) if b.battery_remaining >= 0 => {
                v.state.battery_pct = Some(f64::from(b.battery_remaining));
                self.publish_state(id);
            }
            MavMessage::ATTITUDE(a) => {
                v.state.attitude = Some(Attitude {
                    roll_deg: f64::from(a.roll).to_degrees(),
                    pitch_deg: f64::from(a.pitch).to_degrees(),
                    yaw_deg: f64::from(a.yaw).to_degrees().rem_euclid(360.0),
                });
            }
            MavMessage::HOME_POSITION(h) => {
                v.state.home =
                    LatLon::checked(f64::from(h.latitude) / 1e7, f64::from(h.longitude) / 1e7).ok();
                v.state.home_alt_amsl_m = Some(f64::from(h.altitude) / 1000.0);
            }
            MavMessage::GPS_RAW_INT(g) => {
                v.state.gps_fix = g.fix_type as u8;
                v.state.gps_sats = g.satellites_visible;
                self.publish_state(id);
            }
            MavMessage::WIND(w) if w.speed.is_finite() && w.direction.is_finite() => {
                v.state.wind = Some(WindEstimate {
                    speed_mps: f64::from(w.speed),
                    from_deg: f64::from(w.direction).rem_euclid(360.0),
                });
                self.publish_state(id);
            }
            MavMessage::WIND_COV(w) => {
                if let Some(est) = WindEstimate::from_ne(f64::from(w.wind_x), f64::from(w.wind_y)) {
                    v.state.wind = Some(est);
                    self.publish_state(id);
                }
            }
            MavMessage::VFR_HUD(h) => {
                v.state.ground_speed_mps = f64::from(h.groundspeed);
                v.state.climb_mps = f64::from(h.climb);
                self.infer_landed(id);
                self.emit_facts(id);
                self.publish_state(id);
            }
            MavMessage::MISSION_CURRENT(m) => {
                let seq = m.seq;
                if v.state.mission_seq != seq {
                    v.state.mission_seq = seq;
                    self.emit_facts(id);
                    self.publish_state(id);
                }
                self.seq_event(id, SeqEvent::MissionCurrent(seq));
            }
            MavMessage::MISSION_ITEM_REACHED(r) => {
                let seq = r.seq;
                self.emit(LinkEvent::ItemReached { id, seq });
                self.emit(LinkEvent::Fact {
                    id,
                    fact: VehicleFact::ItemReached { seq },
                });
            }
            MavMessage::STATUSTEXT(t) => {
                let text = String::from_utf8_lossy(&t.text[..])
                    .trim_end_matches('\0')
                    .to_owned();
                let severity = t.severity as u8;
                self.emit(LinkEvent::StatusText {
                    id,
                    severity,
                    text: text.clone(),
                });
                self.emit(LinkEvent::Fact {
                    id,
                    fact: VehicleFact::StatusText {
                        severity,
                        text: text.clone(),
                    },
                });
                self.seq_event(id, SeqEvent::StatusText { severity, text });
            }
            MavMessage::EXTENDED_SYS_STATE(x) => {
                use mav::MavLandedState as L;
                let landed = match x.landed_state {
                    L::MAV_LANDED_STATE_ON_GROUND => LandedState::OnGround,
                    L::MAV_LANDED_STATE_IN_AIR => LandedState::InAir,
                    L::MAV_LANDED_STATE_TAKEOFF => LandedState::Takeoff,
                    L::MAV_LANDED_STATE_LANDING => LandedState::Landing,
                    L::MAV_LANDED_STATE_UNDEFINED => LandedState::Unknown,
                };
                if landed != LandedState::Unknown {
                    v.state.landed_reported = true;
                    if v.state.landed != landed {
                        v.state.landed = landed;
                        self.seq_event(id, SeqEvent::Landed(landed));
                        self.emit_facts(id);
                        self.publish_state(id);
                    }
                }
            }
            MavMessage::AUTOPILOT_VERSION(a) => {
                v.state.uid = (a.uid != 0).then_some(a.uid);
                if v.identify.is_some() {
                    self.identified(id);
                }
            }
            MavMessage::COMMAND_ACK(a) => {
                let (command, result) = (a.command, a.result);
                self.command_event(id, Some(command), CommandEvent::Ack(result));
            }
            MavMessage::MISSION_REQUEST_INT(r) if ours(r.target_system) => {
                self.mission_event(id, MissionEvent::Request { seq: r.seq });
            }
            #[expect(
                deprecated,
                reason = "ArduPilot and older stacks still request items with MISSION_REQUEST"
            )]
            MavMessage::MISSION_REQUEST(r) if ours(r.target_system) => {
                self.mission_event(id, MissionEvent::Request { seq: r.seq });
            }
            MavMessage::MISSION_COUNT(c) if ours(c.target_system) => {
                let count = c.count;
                self.mission_event(id, MissionEvent::Count { count });
                self.seq_event(id, SeqEvent::Count(count));
            }
            MavMessage::MISSION_ITEM_INT(i) if ours(i.target_system) => {
                let item = MissionItem {
                    command: i.command,
                    frame: i.frame,
                    current: i.current != 0,
                    autocontinue: i.autocontinue != 0,
                    params: [i.param1, i.param2, i.param3, i.param4],
                    x: i.x,
                    y: i.y,
                    z: i.z,
                };
                self.mission_event(id, MissionEvent::Item { seq: i.seq, item });
            }
            MavMessage::MISSION_ACK(a) if ours(a.target_system) => {
                self.mission_event(id, MissionEvent::Ack(a.mavtype));
            }
            MavMessage::TERRAIN_REQUEST(r) => {
                let addr = v.addr;
                if v.terrain_check_due.is_none() {
                    v.terrain_check_due = Some(clock_now(&*self.cfg.clock));
                }
                self.answer_terrain(addr, r);
            }
            MavMessage::TERRAIN_REPORT(r) => {
                v.state.terrain = Some(TerrainReport::from_mav(r));
                if v.terrain_check_due.is_none() {
                    v.terrain_check_due = Some(clock_now(&*self.cfg.clock));
                }
                self.publish_state(id);
            }
            _ => {}
        }
    }

    fn on_heartbeat(&mut self, id: VehicleId, component_id: u8, hb: &mav::HEARTBEAT_DATA) {
        let now = clock_now(&*self.cfg.clock);
        let autopilot = autopilot_of(hb);
        let armed = hb
            .base_mode
            .contains(mav::MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED);
        let mode = command::flight_mode(autopilot, hb.custom_mode);
        let mut discovered = false;
        let mut recovered = false;
        let v = self.vehicles.entry(id).or_insert_with(|| {
            discovered = true;
            Vehicle {
                state: VehicleState {
                    id,
                    component_id,
                    autopilot,
                    mode: String::new(),
                    custom_mode: hb.custom_mode,
                    armed,
                    pos: None,
                    alt_rel_m: 0.0,
                    alt_amsl_m: 0.0,
                    ground_speed_mps: 0.0,
                    climb_mps: 0.0,
                    heading_deg: 0.0,
                    battery_pct: None,
                    battery_v: None,
                    battery_current_a: None,
                    attitude: None,
                    home: None,
                    home_alt_amsl_m: None,
                    gps_fix: 0,
                    gps_sats: 0,
                    link_quality_pct: 100.0,
                    link_up: true,
                    last_heartbeat: now.into_std(),
                    time_boot_ms: 0,
                    position_received: None,
                    mission_seq: 0,
                    plan: PlanState::Unknown,
                    mode_class: mode.class,
                    landed: LandedState::Unknown,
                    landed_reported: false,
                    mission_total: None,
                    vehicle_type: VehicleType::from_mav_type(hb.mavtype),
                    uid: None,
                    wind: None,
                    terrain: None,
                },
                addr: id.peer,
                last_hb: now,
                last_seq: HashMap::new(),
                transfer: None,
                transfer_owner: Owner::App,
                commands: Vec::new(),
                dirty: false,
                sequence: None,
                seq_deadline: None,
                identify: None,
                last_fact: (None, LandedState::Unknown, None),
                terrain_check_due: None,
            }
        });
        if !v.state.link_up {
            v.state.link_up = true;
            recovered = true;
        }
        v.last_hb = now;
        v.state.last_heartbeat = now.into_std();
        v.state.component_id = component_id;
        v.state.autopilot = autopilot;
        v.state.custom_mode = hb.custom_mode;
        v.state.vehicle_type = VehicleType::from_mav_type(hb.mavtype);
        v.state.mode.clone_from(&mode.name);
        v.state.mode_class = mode.class;
        v.state.armed = armed;
        if discovered || recovered {
            // Whoever hears of the vehicle (back) finds it so in `LinkHandle::vehicle`.
            self.share_state(id);
        }
        if discovered {
            self.emit(LinkEvent::VehicleDiscovered { id, autopilot });
        }
        if recovered {
            self.emit(LinkEvent::LinkRecovered { id });
        }
        if discovered || recovered {
            self.emit(LinkEvent::Fact {
                id,
                fact: VehicleFact::LinkUp,
            });
            if let Some(hz) = self.cfg.request_streams_hz {
                self.request_streams(id, hz);
            }
            self.request_identity(id);
        }
        self.infer_landed(id);
        self.emit_facts(id);
        self.publish_state(id);
        self.command_event(
            id,
            None,
            CommandEvent::Heartbeat {
                custom_mode: hb.custom_mode,
            },
        );
        self.seq_event(id, SeqEvent::Heartbeat { armed });
    }

    /// Asks for `AUTOPILOT_VERSION` (the unique id) and `EXTENDED_SYS_STATE` (landed state).
    pub(super) fn request_identity(&mut self, id: VehicleId) {
        let Some(v) = self.vehicles.get_mut(&id) else {
            return;
        };
        let asked = v.identify.map_or(0, |(_, n)| n);
        if v.state.uid.is_none() {
            v.identify = Some((clock_now(&*self.cfg.clock), asked + 1));
        }
        let (addr, comp) = (v.addr, v.state.component_id);
        let target = (id.system_id, comp);
        let request = |msg_id: f32| {
            CommandSpec::long(
                mav::MavCmd::MAV_CMD_REQUEST_MESSAGE,
                [msg_id, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
            )
            .to_message(target, 0)
        };
        self.send_to(addr, &request(148.0));
        self.send_to(addr, &request(245.0));
        // And keep the landed state coming where the autopilot honours intervals (1 Hz).
        let interval = CommandSpec::long(
            mav::MavCmd::MAV_CMD_SET_MESSAGE_INTERVAL,
            [245.0, 1e6, 0.0, 0.0, 0.0, 0.0, 0.0],
        )
        .to_message(target, 0);
        self.send_to(addr, &interval);
    }

    /// Landed state where the vehicle does not report it: disarmed is on the ground; armed,
    /// low and slow is on the ground; anything else is in the air.
    fn infer_landed(&mut self, id: VehicleId) {
        let Some(v) = self.vehicles.get_mut(&id) else {
            return;
        };
        let s = &mut v.state;
        if s.landed_reported {
            return;
        }
        let landed = if !s.armed
            || (s.alt_rel_m < ON_GROUND_ALT_M && s.ground_speed_mps < ON_GROUND_SPEED_MPS)
        {
            LandedState::OnGround
        } else {
            LandedState::InAir
        };
        if landed != s.landed {
            s.landed = landed;
            self.seq_event(id, SeqEvent::Landed(landed));
        }
    }

    /// Sends the facts that changed since the last call.
    fn emit_facts(&mut self, id: VehicleId) {
        let Some(v) = self.vehicles.get_mut(&id) else {
            return;
        };
        let mut facts = Vec::new();
        let hb = Some((v.state.mode.clone(), v.state.armed));
        if v.last_fact.0 != hb {
            v.last_fact.0.clone_from(&hb);
            facts.push(VehicleFact::Heartbeat {
                mode: v.state.flight_mode(),
                armed: v.state.armed,
            });
        }
        if v.last_fact.1 != v.state.landed {
            v.last_fact.1 = v.state.landed;
            facts.push(VehicleFact::Landed {
                state: v.state.landed,
            });
        }
        if v.last_fact.2 != Some(v.state.mission_seq) {
            v.last_fact.2 = Some(v.state.mission_seq);
            facts.push(VehicleFact::MissionCurrent {
                seq: v.state.mission_seq,
            });
        }
        for fact in facts {
            self.emit(LinkEvent::Fact { id, fact });
        }
    }

    pub(super) fn identified(&mut self, id: VehicleId) {
        let Some(v) = self.vehicles.get_mut(&id) else {
            return;
        };
        v.identify = None;
        let ev = LinkEvent::VehicleIdentified {
            id,
            uid: v.state.uid,
            vehicle_type: v.state.vehicle_type,
        };
        self.emit(ev);
        self.publish_state(id);
    }

    /// The vehicle is lost: say so once, and fail at once whatever was waiting for it.
    pub(super) fn lose_vehicle(&mut self, id: VehicleId) {
        let Some(v) = self.vehicles.get_mut(&id) else {
            return;
        };
        if !v.state.link_up {
            return;
        }
        v.state.link_up = false;
        let cmds: Vec<PendingCommand> = v.commands.drain(..).collect();
        let transfer = v.transfer.take().map(|(t, _)| (t, v.transfer_owner));
        if transfer.is_some() {
            v.state.plan = PlanState::Unknown;
        }
        self.emit(LinkEvent::LinkLost { id });
        self.emit(LinkEvent::Fact {
            id,
            fact: VehicleFact::LinkLost,
        });
        for c in cmds {
            let outcome = CommandOutcome::Failed(CommandFailure::VehicleLost);
            match c.owner {
                Owner::App => self.emit(LinkEvent::Command {
                    id,
                    command: c.tx.spec().command,
                    outcome,
                }),
                Owner::Sequence => self.seq_event(id, SeqEvent::CommandDone(outcome)),
            }
        }
        if let Some((t, owner)) = transfer {
            let err = MissionError::VehicleLost(id.to_string());
            let op = match t {
                Transfer::Upload { op, .. } => op,
                Transfer::Download { .. } => MissionOp::Download,
            };
            match owner {
                Owner::App => self.emit(LinkEvent::MissionDone {
                    id,
                    op,
                    result: Err(err),
                }),
                Owner::Sequence => self.seq_event(id, SeqEvent::Uploaded(Err(err))),
            }
        }
        self.seq_event(id, SeqEvent::Abandon(FailureCause::VehicleLost));
        self.publish_state(id);
    }
}
