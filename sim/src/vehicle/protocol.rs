//! What the vehicle receives: commands, mode changes, stream requests and the mission
//! protocol (server side).

use super::{
    CopterMode, Item, LatLon, MavMessage, Phase, STREAMABLE, Upload, Vehicle, id, mav, statustext,
};

impl Vehicle {
    // --- receive ------------------------------------------------------------------------

    /// Handles one received message from system `from_sys`/`from_comp`; returns the replies.
    pub fn handle(&mut self, from_sys: u8, from_comp: u8, msg: &MavMessage) -> Vec<MavMessage> {
        let mut out = Vec::new();
        let me = self.cfg.system_id;
        let for_me = |t: u8| t == 0 || t == me;
        match msg {
            MavMessage::HEARTBEAT(hb) if hb.mavtype == mav::MavType::MAV_TYPE_GCS => {
                self.last_gcs_heartbeat_wall_s = Some(self.wall_time_s);
            }
            MavMessage::COMMAND_LONG(c) if for_me(c.target_system) => {
                let p = [
                    c.param1, c.param2, c.param3, c.param4, c.param5, c.param6, c.param7,
                ];
                let (result, extra) = self.command(c.command, p, None, &mut out);
                out.push(ack(c.command, result, from_sys, from_comp));
                out.extend(extra);
            }
            MavMessage::COMMAND_INT(c) if for_me(c.target_system) => {
                let pos = (c.x != 0 || c.y != 0)
                    .then(|| LatLon::new(f64::from(c.x) / 1e7, f64::from(c.y) / 1e7));
                let p = [
                    c.param1,
                    c.param2,
                    c.param3,
                    c.param4,
                    f32::NAN,
                    f32::NAN,
                    c.z,
                ];
                let (result, extra) = self.command(c.command, p, pos, &mut out);
                out.push(ack(c.command, result, from_sys, from_comp));
                out.extend(extra);
            }
            MavMessage::SET_MODE(m) if for_me(m.target_system) => {
                if let Some(mode) = CopterMode::from_custom_mode(m.custom_mode) {
                    let _ = self.change_mode(mode, &mut out);
                }
            }
            MavMessage::REQUEST_DATA_STREAM(r) if for_me(r.target_system) => {
                self.request_data_stream(r);
            }
            MavMessage::MISSION_COUNT(m) if for_me(m.target_system) => {
                self.upload_start(m.count, (from_sys, from_comp), true, &mut out);
            }
            MavMessage::MISSION_ITEM_INT(m) if for_me(m.target_system) => {
                let item = Item {
                    command: m.command,
                    frame: m.frame,
                    params: [m.param1, m.param2, m.param3, m.param4],
                    x: m.x,
                    y: m.y,
                    z: m.z,
                };
                self.upload_item(m.seq, item, (from_sys, from_comp), &mut out);
            }
            MavMessage::MISSION_ITEM(m) if for_me(m.target_system) => {
                let item = Item {
                    command: m.command,
                    frame: m.frame,
                    params: [m.param1, m.param2, m.param3, m.param4],
                    x: (f64::from(m.x) * 1e7).round() as i32,
                    y: (f64::from(m.y) * 1e7).round() as i32,
                    z: m.z,
                };
                if let Some(up) = self.upload.as_mut() {
                    up.use_int = false;
                }
                self.upload_item(m.seq, item, (from_sys, from_comp), &mut out);
            }
            MavMessage::MISSION_REQUEST_LIST(m) if for_me(m.target_system) => {
                out.push(MavMessage::MISSION_COUNT(mav::MISSION_COUNT_DATA {
                    target_system: from_sys,
                    target_component: from_comp,
                    count: self.mission.len() as u16,
                }));
            }
            MavMessage::MISSION_REQUEST_INT(m) if for_me(m.target_system) => {
                if let Some(item) = self.mission_item(m.seq, from_sys, from_comp, true) {
                    out.push(item);
                } else {
                    out.push(mission_ack(
                        from_sys,
                        from_comp,
                        mav::MavMissionResult::MAV_MISSION_INVALID_SEQUENCE,
                    ));
                }
            }
            MavMessage::MISSION_REQUEST(m) if for_me(m.target_system) => {
                if let Some(item) = self.mission_item(m.seq, from_sys, from_comp, false) {
                    out.push(item);
                } else {
                    out.push(mission_ack(
                        from_sys,
                        from_comp,
                        mav::MavMissionResult::MAV_MISSION_INVALID_SEQUENCE,
                    ));
                }
            }
            MavMessage::MISSION_CLEAR_ALL(m) if for_me(m.target_system) => {
                self.mission.truncate(1);
                self.mission_version += 1;
                self.current_seq = 0;
                self.mission_complete = false;
                self.upload = None;
                out.push(mission_ack(
                    from_sys,
                    from_comp,
                    mav::MavMissionResult::MAV_MISSION_ACCEPTED,
                ));
            }
            MavMessage::TERRAIN_DATA(d) => {
                if let Some(t) = self.terrain.as_mut() {
                    t.store(d);
                }
            }
            MavMessage::TERRAIN_CHECK(c) if self.terrain.is_some() => {
                let at = aviary_core::terrain_grid::PointE7 {
                    lat_e7: c.lat,
                    lon_e7: c.lon,
                };
                out.push(self.terrain_report(at, false));
            }
            MavMessage::MISSION_SET_CURRENT(m) if for_me(m.target_system) => {
                // ArduPilot answers with MISSION_CURRENT either way (the old or the new item).
                self.set_current(m.seq, &mut out);
                if !out
                    .iter()
                    .any(|m| matches!(m, MavMessage::MISSION_CURRENT(_)))
                {
                    out.push(self.mission_current());
                }
            }
            _ => {}
        }
        out
    }

    pub(super) fn request_data_stream(&mut self, r: &mav::REQUEST_DATA_STREAM_DATA) {
        let ids: &[u32] = match r.req_stream_id as u32 {
            0 => &STREAMABLE,
            2 => &[
                id::SYS_STATUS,
                id::GPS_RAW_INT,
                id::MISSION_CURRENT,
                id::EXTENDED_SYS_STATE,
            ],
            6 => &[id::GLOBAL_POSITION_INT],
            10 => &[id::ATTITUDE],
            11 => &[id::VFR_HUD],
            12 => &[id::BATTERY_STATUS, id::WIND],
            _ => &[],
        };
        for &m in ids {
            let interval_s = (r.start_stop != 0 && r.req_message_rate != 0)
                .then(|| 1.0 / f64::from(r.req_message_rate));
            self.streams.set_interval(m, interval_s);
        }
    }

    /// Executes a command; returns its result and any messages to send after the ack.
    pub(super) fn command(
        &mut self,
        cmd: mav::MavCmd,
        p: [f32; 7],
        pos: Option<LatLon>,
        out: &mut Vec<MavMessage>,
    ) -> (mav::MavResult, Vec<MavMessage>) {
        use mav::MavCmd as C;
        use mav::MavResult::{
            MAV_RESULT_ACCEPTED, MAV_RESULT_DENIED, MAV_RESULT_FAILED,
            MAV_RESULT_TEMPORARILY_REJECTED, MAV_RESULT_UNSUPPORTED,
        };
        let mut after = Vec::new();
        let result = match cmd {
            C::MAV_CMD_COMPONENT_ARM_DISARM => {
                if p[0] > 0.5 {
                    if self.armed {
                        MAV_RESULT_ACCEPTED
                    } else if let Err(why) = self.arming_checks() {
                        out.push(statustext(mav::MavSeverity::MAV_SEVERITY_CRITICAL, &why));
                        MAV_RESULT_FAILED
                    } else {
                        self.armed = true;
                        self.auto_armed = false;
                        self.phase = Phase::Ground;
                        self.battery_failsafe = 0;
                        out.push(statustext(
                            mav::MavSeverity::MAV_SEVERITY_INFO,
                            "Arming motors",
                        ));
                        MAV_RESULT_ACCEPTED
                    }
                } else if self.phase == Phase::Ground || (p[1] - 21196.0).abs() < 0.5 {
                    self.disarm(out);
                    MAV_RESULT_ACCEPTED
                } else {
                    MAV_RESULT_DENIED
                }
            }
            C::MAV_CMD_NAV_TAKEOFF => {
                let alt = f64::from(p[6]);
                if self.mode != CopterMode::Guided
                    || !self.armed
                    || self.phase != Phase::Ground
                    || !alt.is_finite()
                    || alt <= 0.0
                {
                    MAV_RESULT_FAILED
                } else {
                    self.phase = Phase::Takeoff { alt_rel_m: alt };
                    self.hold_target = Some((self.kin.pos, alt));
                    self.auto_armed = true;
                    MAV_RESULT_ACCEPTED
                }
            }
            C::MAV_CMD_DO_SET_MODE => match CopterMode::from_custom_mode(p[1] as u32) {
                Some(mode) if (p[0] as u32) & 1 == 1 => self.change_mode(mode, out),
                _ => MAV_RESULT_UNSUPPORTED,
            },
            C::MAV_CMD_NAV_RETURN_TO_LAUNCH => self.change_mode(CopterMode::Rtl, out),
            C::MAV_CMD_NAV_LAND => self.change_mode(CopterMode::Land, out),
            C::MAV_CMD_MISSION_START => self.mission_start(p[0], out),
            C::MAV_CMD_DO_PAUSE_CONTINUE => {
                if matches!(self.mode, CopterMode::Auto | CopterMode::Guided)
                    && self.phase != Phase::Ground
                {
                    self.auto_paused = p[0] < 0.5;
                    self.hold_target = self.auto_paused.then(|| self.stop_point());
                    if self.mode == CopterMode::Guided && self.auto_paused {
                        self.guided_target = Some(self.stop_point());
                    }
                    MAV_RESULT_ACCEPTED
                } else {
                    MAV_RESULT_TEMPORARILY_REJECTED
                }
            }
            C::MAV_CMD_DO_REPOSITION => {
                if self.mode != CopterMode::Guided || self.phase == Phase::Ground {
                    MAV_RESULT_DENIED
                } else {
                    let alt = if p[6].is_finite() {
                        f64::from(p[6])
                    } else {
                        self.kin.alt_rel_m
                    };
                    self.guided_target = Some((pos.unwrap_or(self.kin.pos), alt));
                    MAV_RESULT_ACCEPTED
                }
            }
            C::MAV_CMD_DO_CHANGE_SPEED => {
                self.change_speed(p[1]);
                MAV_RESULT_ACCEPTED
            }
            C::MAV_CMD_DO_SET_MISSION_CURRENT => {
                let seq = p[0];
                if seq.is_finite() && seq >= 0.0 && self.set_current(seq as u16, out) {
                    MAV_RESULT_ACCEPTED
                } else {
                    MAV_RESULT_DENIED
                }
            }
            C::MAV_CMD_SET_MESSAGE_INTERVAL => {
                let m = p[0] as u32;
                let interval_us = p[1];
                if STREAMABLE.contains(&m) || m == id::HEARTBEAT {
                    if m != id::HEARTBEAT {
                        let interval_s = if interval_us < 0.0 {
                            None
                        } else if interval_us == 0.0 {
                            Some(0.25)
                        } else {
                            Some(f64::from(interval_us) / 1e6)
                        };
                        self.streams.set_interval(m, interval_s);
                        self.streams.restart(m);
                    }
                    MAV_RESULT_ACCEPTED
                } else {
                    MAV_RESULT_UNSUPPORTED
                }
            }
            C::MAV_CMD_REQUEST_MESSAGE => match self.message_by_id(p[0] as u32) {
                Some(m) => {
                    after.push(m);
                    MAV_RESULT_ACCEPTED
                }
                None => MAV_RESULT_UNSUPPORTED,
            },
            C::MAV_CMD_GET_HOME_POSITION => {
                after.push(self.home_position());
                MAV_RESULT_ACCEPTED
            }
            C::MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES => {
                after.push(self.autopilot_version());
                MAV_RESULT_ACCEPTED
            }
            _ => MAV_RESULT_UNSUPPORTED,
        };
        (result, after)
    }

    /// `MAV_CMD_MISSION_START` as `ArduCopter` handles it: only armed, switches to AUTO and
    /// starts the mission (from the top after a completed one, else where it stood).
    fn mission_start(&mut self, first: f32, out: &mut Vec<MavMessage>) -> mav::MavResult {
        use mav::MavResult::{MAV_RESULT_ACCEPTED, MAV_RESULT_FAILED};
        if !self.armed || self.mission.len() < 2 {
            return MAV_RESULT_FAILED;
        }
        let first = first as u16;
        if first >= 1 && usize::from(first) < self.mission.len() {
            self.current_seq = first;
            self.mission_complete = false;
        }
        if self.mission_complete {
            self.current_seq = 0;
            self.mission_complete = false;
        }
        let r = self.change_mode(CopterMode::Auto, out);
        if r == MAV_RESULT_ACCEPTED {
            self.auto_armed = true;
            self.auto_paused = false;
            self.last_reached = None;
            self.last_mission_current_sent = None;
            if self.current_seq != 0 {
                self.start_nav_from(self.current_seq, out);
            }
        }
        r
    }

    /// Re-requests the awaited item after `mission_rerequest_s` without one and gives up after
    /// `mission_upload_timeout_s` (`ArduPilot`'s `MissionItemProtocol::update`: 1 s and 8 s),
    /// keeping the previous mission. The vehicle's re-requests are half of the protocol's
    /// loss recovery: they rescue an upload whose request or item was lost while the ground
    /// station is still waiting.
    pub(super) fn upload_timeout(&mut self, out: &mut Vec<MavMessage>) {
        let now = self.wall_time_s;
        let (rerequest_s, give_up_s) = (
            self.cfg.mission_rerequest_s,
            self.cfg.mission_upload_timeout_s,
        );
        let Some(up) = self.upload.as_mut() else {
            return;
        };
        if now - up.last_item_wall_s > give_up_s {
            let partner = up.partner;
            self.upload = None;
            out.push(mission_ack(
                partner.0,
                partner.1,
                mav::MavMissionResult::MAV_MISSION_OPERATION_CANCELLED,
            ));
        } else if now - up.last_request_wall_s > rerequest_s {
            up.last_request_wall_s = now;
            out.push(mission_request(
                up.partner,
                up.items.len() as u16,
                up.use_int,
            ));
        }
    }

    // --- mission protocol (server side) ------------------------------------------------

    pub(super) fn upload_start(
        &mut self,
        count: u16,
        partner: (u8, u8),
        use_int: bool,
        out: &mut Vec<MavMessage>,
    ) {
        if count == 0 {
            self.mission.truncate(1);
            self.mission_version += 1;
            self.current_seq = 0;
            self.upload = None;
            out.push(mission_ack(
                partner.0,
                partner.1,
                mav::MavMissionResult::MAV_MISSION_ACCEPTED,
            ));
            return;
        }
        if count > 700 {
            out.push(mission_ack(
                partner.0,
                partner.1,
                mav::MavMissionResult::MAV_MISSION_NO_SPACE,
            ));
            return;
        }
        self.last_upload_count = None;
        self.upload = Some(Upload {
            count,
            items: Vec::with_capacity(usize::from(count)),
            partner,
            last_request_wall_s: self.wall_time_s,
            last_item_wall_s: self.wall_time_s,
            use_int,
        });
        out.push(mission_request(partner, 0, use_int));
    }

    pub(super) fn upload_item(
        &mut self,
        seq: u16,
        item: Item,
        from: (u8, u8),
        out: &mut Vec<MavMessage>,
    ) {
        let Some(up) = self.upload.as_mut() else {
            // A repeated last item after we finished: our ACK was lost, send it again.
            if self.last_upload_count.is_some_and(|n| seq + 1 == n) {
                out.push(mission_ack(
                    from.0,
                    from.1,
                    mav::MavMissionResult::MAV_MISSION_ACCEPTED,
                ));
            }
            return;
        };
        let expected = up.items.len() as u16;
        up.last_item_wall_s = self.wall_time_s;
        if seq != expected {
            // Duplicate or out of order: ask again for the one we need.
            up.last_request_wall_s = self.wall_time_s;
            out.push(mission_request(up.partner, expected, up.use_int));
            return;
        }
        if !matches!(
            item.frame,
            mav::MavFrame::MAV_FRAME_GLOBAL
                | mav::MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT
                | mav::MavFrame::MAV_FRAME_GLOBAL_INT
                | mav::MavFrame::MAV_FRAME_GLOBAL_RELATIVE_ALT_INT
                | mav::MavFrame::MAV_FRAME_GLOBAL_TERRAIN_ALT
                | mav::MavFrame::MAV_FRAME_GLOBAL_TERRAIN_ALT_INT
                | mav::MavFrame::MAV_FRAME_MISSION
        ) {
            let partner = up.partner;
            self.upload = None;
            out.push(mission_ack(
                partner.0,
                partner.1,
                mav::MavMissionResult::MAV_MISSION_UNSUPPORTED_FRAME,
            ));
            return;
        }
        up.items.push(item);
        if up.items.len() < usize::from(up.count) {
            up.last_request_wall_s = self.wall_time_s;
            out.push(mission_request(up.partner, expected + 1, up.use_int));
            return;
        }
        let Some(done) = self.upload.take() else {
            return;
        };
        let home = self.mission.first().copied();
        self.mission = done.items;
        self.mission_version += 1;
        // Item 0 is home: ArduPilot keeps its own home whatever the ground station sent.
        if let (Some(h), Some(first)) = (home, self.mission.first_mut()) {
            *first = h;
        }
        self.current_seq = 0;
        self.mission_complete = false;
        self.last_reached = None;
        self.last_upload_count = Some(done.count);
        out.push(mission_ack(
            done.partner.0,
            done.partner.1,
            mav::MavMissionResult::MAV_MISSION_ACCEPTED,
        ));
    }

    pub(super) fn mission_item(
        &self,
        seq: u16,
        to_sys: u8,
        to_comp: u8,
        as_int: bool,
    ) -> Option<MavMessage> {
        let it = self.mission.get(usize::from(seq))?;
        let current = u8::from(seq == self.current_seq);
        Some(if as_int {
            MavMessage::MISSION_ITEM_INT(mav::MISSION_ITEM_INT_DATA {
                param1: it.params[0],
                param2: it.params[1],
                param3: it.params[2],
                param4: it.params[3],
                x: it.x,
                y: it.y,
                z: it.z,
                seq,
                command: it.command,
                target_system: to_sys,
                target_component: to_comp,
                frame: it.frame,
                current,
                autocontinue: 1,
            })
        } else {
            MavMessage::MISSION_ITEM(mav::MISSION_ITEM_DATA {
                param1: it.params[0],
                param2: it.params[1],
                param3: it.params[2],
                param4: it.params[3],
                x: (f64::from(it.x) / 1e7) as f32,
                y: (f64::from(it.y) / 1e7) as f32,
                z: it.z,
                seq,
                command: it.command,
                target_system: to_sys,
                target_component: to_comp,
                frame: it.frame,
                current,
                autocontinue: 1,
            })
        })
    }
}

fn ack(command: mav::MavCmd, result: mav::MavResult, to_sys: u8, to_comp: u8) -> MavMessage {
    let _ = (to_sys, to_comp); // target fields are MAVLink 2 extensions, not generated here.
    MavMessage::COMMAND_ACK(mav::COMMAND_ACK_DATA { command, result })
}

fn mission_ack(to_sys: u8, to_comp: u8, result: mav::MavMissionResult) -> MavMessage {
    MavMessage::MISSION_ACK(mav::MISSION_ACK_DATA {
        target_system: to_sys,
        target_component: to_comp,
        mavtype: result,
    })
}

fn mission_request(partner: (u8, u8), seq: u16, use_int: bool) -> MavMessage {
    if use_int {
        MavMessage::MISSION_REQUEST_INT(mav::MISSION_REQUEST_INT_DATA {
            target_system: partner.0,
            target_component: partner.1,
            seq,
        })
    } else {
        MavMessage::MISSION_REQUEST(mav::MISSION_REQUEST_DATA {
            target_system: partner.0,
            target_component: partner.1,
            seq,
        })
    }
}
