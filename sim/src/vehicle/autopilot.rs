//! The autopilot proper: faults, guidance per mode, the AUTO mission, RTL, failsafes,
//! mode changes and arming checks.

use super::*;

impl Vehicle {
    // --- faults -----------------------------------------------------------------------

    /// Applies a fault now. Returns the messages the autopilot sends in reaction.
    pub fn inject(&mut self, fault: Fault) -> Vec<MavMessage> {
        let mut out = Vec::new();
        match fault {
            Fault::LinkLoss { active } => self.link_down = active,
            Fault::PacketLoss { pct } => self.packet_loss_pct = pct.clamp(0.0, 100.0),
            Fault::GpsLoss { active } => {
                self.gps_ok = !active;
                if active {
                    out.push(statustext(
                        mav::MavSeverity::MAV_SEVERITY_CRITICAL,
                        "GPS Glitch",
                    ));
                    if self.armed
                        && self.phase != Phase::Ground
                        && !matches!(self.mode, CopterMode::Land)
                    {
                        out.push(statustext(
                            mav::MavSeverity::MAV_SEVERITY_CRITICAL,
                            "EKF Failsafe: changed to LAND Mode",
                        ));
                        self.set_mode(CopterMode::Land);
                    }
                } else {
                    out.push(statustext(
                        mav::MavSeverity::MAV_SEVERITY_INFO,
                        "GPS Glitch cleared",
                    ));
                }
            }
            Fault::LowBattery { remaining_pct } => {
                self.battery_pct = remaining_pct.clamp(0.0, 100.0);
            }
            Fault::MotorFailure => {
                self.motor_failed = true;
                out.push(statustext(
                    mav::MavSeverity::MAV_SEVERITY_EMERGENCY,
                    "Motor failure: forced landing",
                ));
            }
            Fault::WindGust {
                speed_mps,
                towards_deg,
                duration_s,
            } => {
                let r = towards_deg.to_radians();
                self.gust = Some((
                    Environment {
                        wind_n_mps: speed_mps * r.cos(),
                        wind_e_mps: speed_mps * r.sin(),
                    },
                    duration_s,
                ));
            }
            Fault::Wind {
                speed_mps,
                towards_deg,
            } => {
                let r = towards_deg.to_radians();
                self.wind = Environment {
                    wind_n_mps: speed_mps * r.cos(),
                    wind_e_mps: speed_mps * r.sin(),
                };
            }
        }
        out
    }

    pub(super) fn guidance(&mut self, out: &mut Vec<MavMessage>) -> Guidance {
        if self.motor_failed && (self.armed || self.phase != Phase::Ground) {
            return Guidance::Uncontrolled { descent_mps: 3.0 };
        }
        if !self.armed {
            return Guidance::Idle;
        }
        let here = self.stop_point();
        match self.phase {
            Phase::Ground => {
                if self.mode == CopterMode::Auto {
                    self.auto_advance(out)
                } else {
                    Guidance::Idle
                }
            }
            Phase::Takeoff { alt_rel_m } => {
                if self.kin.alt_rel_m >= alt_rel_m - ALT_TOLERANCE_M * 0.5 {
                    self.phase = Phase::Flying;
                    if self.mode == CopterMode::Auto {
                        self.item_reached(out);
                        return self.auto_advance(out);
                    }
                    self.guided_target = Some((self.kin.pos, alt_rel_m));
                }
                let pos = self.hold_target.map_or(self.kin.pos, |h| h.0);
                Guidance::Hold { pos, alt_rel_m }
            }
            Phase::Flying => match self.mode {
                CopterMode::Auto => {
                    if self.auto_paused {
                        let (pos, alt) = *self.hold_target.get_or_insert(here);
                        Guidance::Hold {
                            pos,
                            alt_rel_m: alt,
                        }
                    } else {
                        self.auto_advance(out)
                    }
                }
                CopterMode::Guided => {
                    let (pos, alt) = *self.guided_target.get_or_insert(here);
                    Guidance::GoTo {
                        pos,
                        alt_rel_m: alt,
                        speed_mps: self.speed_mps,
                    }
                }
                CopterMode::Rtl => self.rtl_guidance(),
                CopterMode::Land => Guidance::Land {
                    pos: self.hold_target.get_or_insert(here).0,
                },
                CopterMode::Loiter
                | CopterMode::Brake
                | CopterMode::Stabilize
                | CopterMode::AltHold => {
                    let (pos, alt) = *self.hold_target.get_or_insert(here);
                    Guidance::Hold {
                        pos,
                        alt_rel_m: alt,
                    }
                }
            },
        }
    }

    /// Where the vehicle comes to rest if it brakes now at the acceleration limit.
    pub(super) fn stop_point(&self) -> (LatLon, f64) {
        let v = self.kin.ground_speed_mps();
        let d = v * v / (2.0 * self.cfg.limits.accel_mps2.max(0.1));
        let pos = if v > 0.1 {
            self.kin
                .pos
                .offset_ne(self.kin.vel_n_mps / v * d, self.kin.vel_e_mps / v * d)
        } else {
            self.kin.pos
        };
        (pos, self.kin.alt_rel_m)
    }

    pub(super) fn rtl_guidance(&mut self) -> Guidance {
        let home = self.cfg.home;
        let return_alt = self.cfg.rtl_alt_m.max(0.0);
        let dist = self.kin.pos.distance_m(home);
        if dist > WP_RADIUS_M {
            // Climb first (to RTL_ALT), then fly home at that altitude.
            let target_alt = self.kin.alt_rel_m.max(return_alt);
            if self.kin.alt_rel_m < return_alt - ALT_TOLERANCE_M {
                return Guidance::Hold {
                    pos: self.hold_target.get_or_insert((self.kin.pos, target_alt)).0,
                    alt_rel_m: return_alt,
                };
            }
            return Guidance::GoTo {
                pos: home,
                alt_rel_m: target_alt,
                speed_mps: self.cfg.cruise_speed_mps,
            };
        }
        Guidance::Land { pos: home }
    }

    /// Guidance for the current AUTO item; completes items and moves on.
    pub(super) fn auto_advance(&mut self, out: &mut Vec<MavMessage>) -> Guidance {
        loop {
            if self.current_seq == 0 {
                self.current_seq = 1;
            }
            let Some(item) = self.mission.get(usize::from(self.current_seq)).copied() else {
                // Mission complete: hold where we are (ArduCopter loiters at the last waypoint).
                let (pos, alt) = *self
                    .hold_target
                    .get_or_insert((self.kin.pos, self.kin.alt_rel_m));
                return if self.phase == Phase::Ground {
                    Guidance::Idle
                } else {
                    Guidance::Hold {
                        pos,
                        alt_rel_m: alt,
                    }
                };
            };
            self.announce_current(out);
            let alt = f64::from(item.z);
            match item.command {
                mav::MavCmd::MAV_CMD_NAV_TAKEOFF => {
                    if self.phase == Phase::Ground {
                        self.phase = Phase::Takeoff {
                            alt_rel_m: alt.max(1.0),
                        };
                        self.hold_target = Some((self.kin.pos, alt.max(1.0)));
                        return Guidance::Hold {
                            pos: self.kin.pos,
                            alt_rel_m: alt.max(1.0),
                        };
                    }
                    if self.kin.alt_rel_m >= alt - ALT_TOLERANCE_M {
                        self.item_reached(out);
                        continue;
                    }
                    return Guidance::Hold {
                        pos: self.hold_target.map_or(self.kin.pos, |h| h.0),
                        alt_rel_m: alt,
                    };
                }
                mav::MavCmd::MAV_CMD_NAV_WAYPOINT | mav::MavCmd::MAV_CMD_NAV_LOITER_UNLIM => {
                    if self.phase == Phase::Ground {
                        // ArduCopter does not take off on a plain waypoint: it stays on the ground.
                        return Guidance::Idle;
                    }
                    let target = item.pos().unwrap_or(self.kin.pos);
                    if self.kin.pos.distance_m(target) <= WP_RADIUS_M
                        && (self.kin.alt_rel_m - alt).abs() <= ALT_TOLERANCE_M
                        && item.command == mav::MavCmd::MAV_CMD_NAV_WAYPOINT
                    {
                        self.item_reached(out);
                        continue;
                    }
                    return Guidance::GoTo {
                        pos: target,
                        alt_rel_m: alt,
                        speed_mps: self.speed_mps,
                    };
                }
                mav::MavCmd::MAV_CMD_NAV_LAND => {
                    let target = item.pos().unwrap_or(self.kin.pos);
                    if self.kin.pos.distance_m(target) > WP_RADIUS_M {
                        return Guidance::GoTo {
                            pos: target,
                            alt_rel_m: self.kin.alt_rel_m,
                            speed_mps: self.speed_mps,
                        };
                    }
                    return Guidance::Land { pos: target };
                }
                mav::MavCmd::MAV_CMD_NAV_RETURN_TO_LAUNCH => {
                    self.item_reached(out);
                    self.set_mode(CopterMode::Rtl);
                    return self.rtl_guidance();
                }
                mav::MavCmd::MAV_CMD_DO_CHANGE_SPEED => {
                    if item.params[1] > 0.0 {
                        self.speed_mps =
                            f64::from(item.params[1]).min(self.cfg.limits.max_speed_mps);
                    }
                    self.item_reached(out);
                }
                // Camera, servo, ROI and other DO commands complete at once.
                _ => self.item_reached(out),
            }
        }
    }

    pub(super) fn announce_current(&mut self, out: &mut Vec<MavMessage>) {
        if self.last_mission_current_sent != Some(self.current_seq) {
            self.last_mission_current_sent = Some(self.current_seq);
            out.push(self.mission_current());
        }
    }

    pub(super) fn item_reached(&mut self, out: &mut Vec<MavMessage>) {
        if self.last_reached != Some(self.current_seq) {
            self.last_reached = Some(self.current_seq);
            out.push(MavMessage::MISSION_ITEM_REACHED(
                mav::MISSION_ITEM_REACHED_DATA {
                    seq: self.current_seq,
                },
            ));
        }
        self.hold_target = None;
        self.current_seq = self.current_seq.saturating_add(1);
        if usize::from(self.current_seq) < self.mission.len() {
            self.announce_current(out);
        }
    }

    pub(super) fn failsafes(&mut self, out: &mut Vec<MavMessage>) {
        let airborne = self.armed && self.phase != Phase::Ground;
        // Battery: RTL at the low threshold, LAND at the critical one (each once).
        if airborne
            && self.battery_failsafe < 2
            && self.battery_pct <= self.cfg.battery_critical_pct
        {
            self.battery_failsafe = 2;
            out.push(statustext(
                mav::MavSeverity::MAV_SEVERITY_CRITICAL,
                "Battery failsafe: critical, LAND",
            ));
            self.set_mode(CopterMode::Land);
        } else if airborne
            && self.battery_failsafe < 1
            && self.battery_pct <= self.cfg.battery_low_pct
        {
            self.battery_failsafe = 1;
            out.push(statustext(
                mav::MavSeverity::MAV_SEVERITY_WARNING,
                "Battery failsafe: low, RTL",
            ));
            if !matches!(self.mode, CopterMode::Land | CopterMode::Rtl) {
                self.set_mode(CopterMode::Rtl);
            }
        }
        // GCS heartbeat: only once a GCS has been heard, as ArduPilot does.
        if let Some(last) = self.last_gcs_heartbeat_wall_s {
            let lost = self.wall_time_s - last > self.cfg.gcs_failsafe_s;
            if lost && !self.gcs_failsafe_active && airborne {
                self.gcs_failsafe_active = true;
                out.push(statustext(
                    mav::MavSeverity::MAV_SEVERITY_CRITICAL,
                    "GCS Failsafe: RTL",
                ));
                if !matches!(self.mode, CopterMode::Land | CopterMode::Rtl) {
                    self.set_mode(CopterMode::Rtl);
                }
            } else if !lost && self.gcs_failsafe_active {
                self.gcs_failsafe_active = false;
                out.push(statustext(
                    mav::MavSeverity::MAV_SEVERITY_INFO,
                    "GCS Failsafe Cleared",
                ));
            }
        }
    }

    pub(super) fn set_mode(&mut self, mode: CopterMode) {
        if self.mode == mode {
            return;
        }
        self.mode = mode;
        self.hold_target = None;
        self.auto_paused = false;
        if mode == CopterMode::Guided {
            self.guided_target = None;
        }
        if mode == CopterMode::Auto && self.phase != Phase::Ground {
            // Resume the mission where it stood (or from the start if it had finished).
            if usize::from(self.current_seq) >= self.mission.len() {
                self.current_seq = 1;
            }
        }
    }

    pub(super) fn disarm(&mut self, out: &mut Vec<MavMessage>, why: &str) {
        if self.armed {
            self.armed = false;
            out.push(statustext(mav::MavSeverity::MAV_SEVERITY_INFO, why));
        }
        self.phase = Phase::Ground;
        self.motor_failed = false;
        if matches!(self.mode, CopterMode::Land | CopterMode::Rtl) {
            self.mode = CopterMode::Land;
        }
    }

    pub(super) fn change_mode(
        &mut self,
        mode: CopterMode,
        out: &mut Vec<MavMessage>,
    ) -> mav::MavResult {
        use mav::MavResult::{MAV_RESULT_ACCEPTED, MAV_RESULT_FAILED};
        if matches!(
            mode,
            CopterMode::Auto
                | CopterMode::Guided
                | CopterMode::Loiter
                | CopterMode::Rtl
                | CopterMode::Brake
        ) && !self.gps_ok
        {
            out.push(statustext(
                mav::MavSeverity::MAV_SEVERITY_WARNING,
                "Mode change failed: requires position",
            ));
            return MAV_RESULT_FAILED;
        }
        if mode == CopterMode::Auto && self.mission.len() < 2 {
            out.push(statustext(
                mav::MavSeverity::MAV_SEVERITY_WARNING,
                "Mode change failed: no mission",
            ));
            return MAV_RESULT_FAILED;
        }
        self.set_mode(mode);
        if self.armed
            && self.phase == Phase::Ground
            && matches!(mode, CopterMode::Rtl | CopterMode::Land)
        {
            self.disarm(out, "Disarming motors");
        }
        MAV_RESULT_ACCEPTED
    }

    pub(super) fn arming_checks(&self) -> Result<(), &'static str> {
        if !self.gps_ok {
            return Err("PreArm: GPS: no fix");
        }
        if self.battery_pct <= self.cfg.battery_low_pct {
            return Err("PreArm: Battery below minimum arming capacity");
        }
        if self.motor_failed {
            return Err("PreArm: Motors: check failed");
        }
        if matches!(
            self.mode,
            CopterMode::Rtl | CopterMode::Land | CopterMode::Brake
        ) {
            return Err("Arm: Mode not armable");
        }
        if self.mode == CopterMode::Auto && self.mission.len() < 2 {
            return Err("Arm: Mission: no mission");
        }
        Ok(())
    }
}
