//! The autopilot proper: guidance per mode, the AUTO mission, RTL, landing and mode changes,
//! following `ArduCopter` 4.7 (`mode_auto.cpp`, `mode_rtl.cpp`, `mode_land.cpp`, `AP_Mission`).

use super::{
    CopterMode, Guidance, Item, LatLon, MavMessage, Phase, Vehicle, WP_RADIUS_M, mav, statustext,
};
use crate::wpnav::{self, Track};

/// How close to a waypoint's altitude the vehicle must be to pass it, metres.
const ALT_TOLERANCE_M: f64 = 1.0;

/// `MAV_CMD_NAV_LAST`: commands up to this id navigate, the others are DO/CONDITION commands.
const NAV_LAST: u16 = 95;

impl Item {
    fn is_nav(&self) -> bool {
        self.command as u16 <= NAV_LAST
    }
}

/// Where an RTL (the mode, or the mission's `NAV_RETURN_TO_LAUNCH` item) stands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum RtlStage {
    /// Climbing to `RTL_ALT` above the current spot.
    Climb,
    /// Flying home at `WPNAV_SPEED`.
    Return,
    /// Hovering above home until `until_s` (`RTL_LOIT_TIME`).
    Loiter { until_s: f64 },
    /// Landing at home.
    Land,
}

impl Vehicle {
    /// Chooses what the airframe does this sub-step, advancing the mission as items complete.
    pub(super) fn guidance(&mut self, dt: f64, out: &mut Vec<MavMessage>) -> Guidance {
        if self.motor_failed && (self.armed || self.phase != Phase::Ground) {
            return Guidance::Uncontrolled { descent_mps: 3.0 };
        }
        if !self.armed {
            return Guidance::Idle;
        }
        let here = self.stop_point();
        match self.phase {
            Phase::Ground => {
                if self.mode == CopterMode::Auto && self.auto_armed && !self.mission_complete {
                    self.auto_guidance(dt, out)
                } else {
                    Guidance::Idle
                }
            }
            Phase::Takeoff { alt_rel_m } => {
                if self.kin.alt_rel_m >= alt_rel_m - ALT_TOLERANCE_M * 0.5 {
                    self.phase = Phase::Flying;
                    if self.mode == CopterMode::Auto {
                        self.nav_reached(out);
                        return self.auto_guidance(dt, out);
                    }
                    self.guided_target = Some((self.kin.pos, alt_rel_m));
                }
                let pos = self.hold_target.map_or(self.kin.pos, |h| h.0);
                Guidance::Hold { pos, alt_rel_m }
            }
            Phase::Flying => match self.mode {
                CopterMode::Auto if !self.auto_paused => self.auto_guidance(dt, out),
                CopterMode::Guided => {
                    let (pos, alt) = *self.guided_target.get_or_insert(here);
                    Guidance::GoTo {
                        pos,
                        alt_rel_m: alt,
                        speed_mps: self.speed_mps,
                    }
                }
                CopterMode::Rtl => self.rtl_guidance(dt),
                CopterMode::Land => Guidance::Land {
                    pos: self.hold_target.get_or_insert(here).0,
                },
                CopterMode::Auto
                | CopterMode::Loiter
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

    /// A fresh straight leg from here, entered at the part of the current velocity that
    /// already points along it.
    fn track_from_here(&self, to: LatLon) -> Track {
        let mut t = Track::new(self.kin.pos, to, 0.0);
        let b = t.bearing_deg.to_radians();
        t.speed_mps = (self.kin.vel_n_mps * b.cos() + self.kin.vel_e_mps * b.sin()).max(0.0);
        t
    }

    /// Follows `track` towards its end at `cruise_mps`, arriving at `exit_mps`. Returns the
    /// guidance and, once the end is passed, the distance flown beyond it.
    fn fly_track(
        &mut self,
        dt: f64,
        to: LatLon,
        alt_rel_m: f64,
        cruise_mps: f64,
        exit_mps: f64,
    ) -> (Guidance, Option<f64>) {
        let mut track = match self.track.take() {
            Some(t) if t.to.distance_m(to) < 0.01 => t,
            _ => {
                self.track_from_alt_m = self.kin.alt_rel_m;
                self.track_from_here(to)
            }
        };
        let over = track.advance(dt, cruise_mps, exit_mps, &self.cfg.nav);
        let (vel_n_mps, vel_e_mps) = track.velocity_ne();
        // `AC_WPNav`: the target moves along the straight 3D line between the waypoints, so
        // the altitude changes in step with the distance flown, not at full climb rate first.
        let done = if track.length_m > 0.0 {
            (track.along_m / track.length_m).clamp(0.0, 1.0)
        } else {
            1.0
        };
        let g = Guidance::Follow {
            pos: track.pos(),
            vel_n_mps,
            vel_e_mps,
            alt_rel_m: self.track_from_alt_m + (alt_rel_m - self.track_from_alt_m) * done,
        };
        self.track = Some(track);
        (g, over)
    }

    // --- RTL --------------------------------------------------------------------------

    /// `ModeRTL`: climb to `RTL_ALT` if lower, fly home at `WPNAV_SPEED`, hover
    /// `RTL_LOIT_TIME`, land. Also flies the mission's own RTL item (the mode stays AUTO).
    pub(super) fn rtl_guidance(&mut self, dt: f64) -> Guidance {
        let home = self.cfg.home;
        let return_alt = self.cfg.rtl_alt_m.max(self.rtl_return_alt_m);
        loop {
            match self.rtl {
                RtlStage::Climb => {
                    if self.kin.alt_rel_m >= return_alt - ALT_TOLERANCE_M * 0.5 {
                        self.rtl = RtlStage::Return;
                        self.track = None;
                        continue;
                    }
                    let pos = self.hold_target.get_or_insert(self.stop_point()).0;
                    return Guidance::Hold {
                        pos,
                        alt_rel_m: return_alt,
                    };
                }
                RtlStage::Return => {
                    let (g, over) =
                        self.fly_track(dt, home, return_alt, self.cfg.cruise_speed_mps, 0.0);
                    if over.is_none() {
                        return g;
                    }
                    self.track = None;
                    self.rtl = RtlStage::Loiter {
                        until_s: self.sim_time_s + self.cfg.rtl_loiter_s,
                    };
                }
                RtlStage::Loiter { until_s } => {
                    if self.sim_time_s < until_s {
                        return Guidance::Hold {
                            pos: home,
                            alt_rel_m: return_alt,
                        };
                    }
                    self.rtl = RtlStage::Land;
                }
                RtlStage::Land => return Guidance::Land { pos: home },
            }
        }
    }

    /// Starts an RTL from where the vehicle is now.
    pub(super) fn start_rtl(&mut self) {
        self.rtl = RtlStage::Climb;
        self.rtl_return_alt_m = self.kin.alt_rel_m;
        self.track = None;
        self.hold_target = None;
    }

    // --- AUTO -------------------------------------------------------------------------

    /// Guidance for the current AUTO item; completes items and moves on.
    fn auto_guidance(&mut self, dt: f64, out: &mut Vec<MavMessage>) -> Guidance {
        if self.current_seq == 0 {
            self.start_nav_from(1, out);
        }
        loop {
            if self.mission_complete {
                return self.exit_mission(out);
            }
            let Some(item) = self.mission.get(usize::from(self.current_seq)).copied() else {
                self.mission_complete = true;
                continue;
            };
            let Some(alt) = self.item_alt_rel_m(&item) else {
                // ArduCopter: "Failsafe: Terrain data missing", then RTL.
                out.push(statustext(
                    mav::MavSeverity::MAV_SEVERITY_CRITICAL,
                    "Failsafe: Terrain data missing",
                ));
                self.set_mode(CopterMode::Rtl);
                return self.rtl_guidance(dt);
            };
            match item.command {
                mav::MavCmd::MAV_CMD_NAV_TAKEOFF => {
                    let alt = alt.max(1.0);
                    if self.phase == Phase::Ground {
                        self.phase = Phase::Takeoff { alt_rel_m: alt };
                        self.hold_target = Some((self.kin.pos, alt));
                    } else if self.kin.alt_rel_m >= alt - ALT_TOLERANCE_M {
                        self.nav_reached(out);
                        continue;
                    }
                    return Guidance::Hold {
                        pos: self.hold_target.map_or(self.kin.pos, |h| h.0),
                        alt_rel_m: alt,
                    };
                }
                mav::MavCmd::MAV_CMD_NAV_RETURN_TO_LAUNCH => {
                    // Reached only on touchdown (see `land_complete`).
                    return self.rtl_guidance(dt);
                }
                mav::MavCmd::MAV_CMD_NAV_LAND => {
                    let target = item.pos().unwrap_or(self.kin.pos);
                    if self.kin.pos.distance_m(target) > WP_RADIUS_M && !self.landing {
                        let here_alt = self.kin.alt_rel_m;
                        let (g, over) = self.fly_track(dt, target, here_alt, self.speed_mps, 0.0);
                        if over.is_none() {
                            return g;
                        }
                    }
                    self.track = None;
                    return Guidance::Land { pos: target };
                }
                mav::MavCmd::MAV_CMD_NAV_LOITER_UNLIM => {
                    let target = item.pos().unwrap_or(self.kin.pos);
                    let (g, over) = self.fly_track(dt, target, alt, self.speed_mps, 0.0);
                    if over.is_none() {
                        return g;
                    }
                    return Guidance::Hold {
                        pos: target,
                        alt_rel_m: alt,
                    };
                }
                _ if !item.is_nav() => {
                    // Only reached when a mission starts at a DO item: run it and go on.
                    self.start_nav_from(self.current_seq, out);
                }
                _ => {
                    // NAV_WAYPOINT and the other NAV items with a position.
                    if self.phase == Phase::Ground {
                        // ArduCopter does not take off on a plain waypoint: it stays on the ground.
                        return Guidance::Idle;
                    }
                    let target = item.pos().unwrap_or(self.kin.pos);
                    // param1: hold time of a waypoint, loiter time of LOITER_TIME.
                    let hold_s = if matches!(
                        item.command,
                        mav::MavCmd::MAV_CMD_NAV_LOITER_TIME | mav::MavCmd::MAV_CMD_NAV_WAYPOINT
                    ) {
                        f64::from(item.params[0]).max(0.0)
                    } else {
                        0.0
                    };
                    if let Some(until) = self.wp_hold_until_s {
                        if self.sim_time_s < until {
                            return Guidance::Hold {
                                pos: target,
                                alt_rel_m: alt,
                            };
                        }
                        self.nav_reached(out);
                        continue;
                    }
                    let exit = if hold_s > 0.0 {
                        0.0
                    } else {
                        self.exit_speed_mps(target, alt)
                    };
                    let (g, over) = self.fly_track(dt, target, alt, self.speed_mps, exit);
                    let Some(over) = over else { return g };
                    if (self.kin.alt_rel_m - alt).abs() > ALT_TOLERANCE_M || hold_s > 0.0 {
                        // Wait over the waypoint for the altitude or the hold time.
                        self.track = None;
                        self.wp_hold_until_s = Some(self.sim_time_s + hold_s);
                        return Guidance::Hold {
                            pos: target,
                            alt_rel_m: alt,
                        };
                    }
                    let speed = self.track.map_or(0.0, |t| t.speed_mps);
                    self.nav_reached(out);
                    self.carry_into_next_leg(target, alt, speed, over);
                }
            }
        }
    }

    /// The altitude above home an item asks for, by its frame: above home as it is, above
    /// mean sea level less home's, above the terrain plus the terrain's height over home
    /// (`None` while the terrain there is not loaded, or terrain is off).
    pub(super) fn item_alt_rel_m(&mut self, item: &Item) -> Option<f64> {
        use mav::MavFrame as F;
        let z = f64::from(item.z);
        match item.frame {
            F::MAV_FRAME_GLOBAL | F::MAV_FRAME_GLOBAL_INT => Some(z - self.cfg.home_alt_amsl_m),
            F::MAV_FRAME_GLOBAL_TERRAIN_ALT | F::MAV_FRAME_GLOBAL_TERRAIN_ALT_INT => {
                let at = item.pos().unwrap_or(self.kin.pos);
                let ground = self
                    .terrain
                    .as_mut()?
                    .height_m(aviary_core::terrain_grid::PointE7::from_latlon(at))?;
                Some(ground + z - self.cfg.home_alt_amsl_m)
            }
            _ => Some(z),
        }
    }

    /// [`Self::item_alt_rel_m`] without asking for terrain (a look ahead must not load
    /// blocks): the terrain frame from the blocks already held.
    fn item_alt_rel_m_cached(&self, item: &Item) -> Option<f64> {
        use mav::MavFrame as F;
        let z = f64::from(item.z);
        match item.frame {
            F::MAV_FRAME_GLOBAL | F::MAV_FRAME_GLOBAL_INT => Some(z - self.cfg.home_alt_amsl_m),
            F::MAV_FRAME_GLOBAL_TERRAIN_ALT | F::MAV_FRAME_GLOBAL_TERRAIN_ALT_INT => {
                let at = item.pos()?;
                let ground = self
                    .terrain
                    .as_ref()?
                    .peek_height_m(aviary_core::terrain_grid::PointE7::from_latlon(at))?;
                Some(ground + z - self.cfg.home_alt_amsl_m)
            }
            _ => Some(z),
        }
    }

    /// Starts the next leg at the waypoint just passed, keeping the speed and the distance
    /// already flown beyond it.
    fn carry_into_next_leg(&mut self, from: LatLon, from_alt_m: f64, speed_mps: f64, over_m: f64) {
        self.track_from_alt_m = from_alt_m;
        self.track = self
            .mission
            .get(usize::from(self.current_seq))
            .filter(|i| i.is_nav())
            .and_then(Item::pos)
            .map(|to| {
                let mut t = Track::new(from, to, speed_mps);
                t.along_m = over_m.min(t.length_m);
                t
            });
    }

    /// Speed to pass the current waypoint at: a corner speed when the next NAV item is another
    /// waypoint at about the same altitude, else stop.
    fn exit_speed_mps(&self, target: LatLon, alt: f64) -> f64 {
        let Some(next) = self.next_nav_after(self.current_seq) else {
            return 0.0;
        };
        let Some(item) = self.mission.get(usize::from(next)) else {
            return 0.0;
        };
        let passing = matches!(
            item.command,
            mav::MavCmd::MAV_CMD_NAV_WAYPOINT | mav::MavCmd::MAV_CMD_NAV_SPLINE_WAYPOINT
        );
        let next_alt = self.item_alt_rel_m_cached(item);
        match (passing, item.pos(), self.track) {
            (true, Some(next_pos), Some(track))
                if next_alt.is_some_and(|a| (a - alt).abs() <= ALT_TOLERANCE_M) =>
            {
                wpnav::corner_speed_mps(
                    track.bearing_deg,
                    target.bearing_deg(next_pos),
                    self.speed_mps,
                    &self.cfg.nav,
                )
            }
            _ => 0.0,
        }
    }

    fn next_nav_after(&self, seq: u16) -> Option<u16> {
        (usize::from(seq) + 1..self.mission.len())
            .find(|&i| self.mission[i].is_nav())
            .and_then(|i| u16::try_from(i).ok())
    }

    /// `AP_Mission::advance_current_nav_cmd`: runs the DO items from `seq` up to the next NAV
    /// item, makes that the current item, then runs the DO items that follow it (`ArduPilot`
    /// starts them with their NAV item, not when it is reached).
    pub(super) fn start_nav_from(&mut self, seq: u16, out: &mut Vec<MavMessage>) {
        let mut i = usize::from(seq.max(1));
        while let Some(item) = self.mission.get(i).copied() {
            if item.is_nav() {
                break;
            }
            self.run_do(i, item, out);
            i += 1;
        }
        if i >= self.mission.len() {
            self.mission_complete = true;
            return;
        }
        self.current_seq = u16::try_from(i).unwrap_or(u16::MAX);
        self.wp_hold_until_s = None;
        self.hold_target = None;
        self.announce_current(out);
        if self.mission[i].command == mav::MavCmd::MAV_CMD_NAV_RETURN_TO_LAUNCH {
            self.start_rtl();
        }
        let mut j = i + 1;
        while let Some(item) = self.mission.get(j).copied() {
            if item.is_nav() {
                break;
            }
            self.run_do(j, item, out);
            j += 1;
        }
    }

    /// Executes a DO/CONDITION item at once and reports it reached, as `ArduCopter` does.
    fn run_do(&mut self, seq: usize, item: Item, out: &mut Vec<MavMessage>) {
        if item.command == mav::MavCmd::MAV_CMD_DO_CHANGE_SPEED {
            self.change_speed(item.params[1]);
        }
        out.push(MavMessage::MISSION_ITEM_REACHED(
            mav::MISSION_ITEM_REACHED_DATA {
                seq: u16::try_from(seq).unwrap_or(u16::MAX),
            },
        ));
    }

    /// `DO_CHANGE_SPEED`'s speed (param2, m/s): the new waypoint speed; -1 or 0 keep it.
    pub(super) fn change_speed(&mut self, speed_mps: f32) {
        if speed_mps > 0.0 {
            self.speed_mps = f64::from(speed_mps).min(self.cfg.limits.max_speed_mps);
        }
    }

    pub(super) fn announce_current(&mut self, out: &mut Vec<MavMessage>) {
        if self.last_mission_current_sent != Some(self.current_seq) {
            self.last_mission_current_sent = Some(self.current_seq);
            out.push(self.mission_current());
        }
    }

    /// The current NAV item is complete: report it and move to the next one.
    pub(super) fn nav_reached(&mut self, out: &mut Vec<MavMessage>) {
        let seq = self.current_seq;
        if self.last_reached != Some(seq) {
            self.last_reached = Some(seq);
            if self.mission.get(usize::from(seq)).map(|i| i.command)
                == Some(mav::MavCmd::MAV_CMD_NAV_WAYPOINT)
            {
                out.push(statustext(
                    mav::MavSeverity::MAV_SEVERITY_INFO,
                    &format!("Reached command #{seq}"),
                ));
            }
            out.push(MavMessage::MISSION_ITEM_REACHED(
                mav::MISSION_ITEM_REACHED_DATA { seq },
            ));
        }
        self.hold_target = None;
        self.wp_hold_until_s = None;
        match self.next_nav_after(seq) {
            Some(next) => self.start_nav_from(next, out),
            None => self.mission_complete = true,
        }
    }

    /// `ModeAuto::exit_mission`: hover where the mission ended, or disarm if on the ground.
    fn exit_mission(&mut self, out: &mut Vec<MavMessage>) -> Guidance {
        self.track = None;
        if self.phase == Phase::Ground {
            if self.armed {
                self.disarm(out);
            }
            return Guidance::Idle;
        }
        let (pos, alt) = *self.hold_target.get_or_insert(self.stop_point());
        Guidance::Hold {
            pos,
            alt_rel_m: alt,
        }
    }

    /// The land detector fired (`LAND_DETECTOR_TRIGGER_SEC` after touchdown): the mission's
    /// LAND or RTL item is complete, and `ArduCopter` disarms.
    pub(super) fn land_complete(&mut self, out: &mut Vec<MavMessage>) {
        self.phase = Phase::Ground;
        self.touchdown_s = None;
        self.landing = false;
        self.track = None;
        if self.mode == CopterMode::Auto && !self.mission_complete {
            let landing_item = self
                .mission
                .get(usize::from(self.current_seq))
                .map(|i| i.command);
            if matches!(
                landing_item,
                Some(mav::MavCmd::MAV_CMD_NAV_LAND | mav::MavCmd::MAV_CMD_NAV_RETURN_TO_LAUNCH)
            ) {
                self.nav_reached(out);
            }
        }
        self.disarm(out);
    }

    // --- modes and arming state -------------------------------------------------------

    pub(super) fn set_mode(&mut self, mode: CopterMode) {
        if self.mode == mode {
            return;
        }
        self.mode = mode;
        self.hold_target = None;
        self.auto_paused = false;
        self.track = None;
        self.wp_hold_until_s = None;
        match mode {
            CopterMode::Guided => self.guided_target = None,
            CopterMode::Rtl => self.start_rtl(),
            // Resume the mission at its current item (`AP_Mission::resume`), restarting an RTL
            // item from where the vehicle is now.
            CopterMode::Auto
                if self
                    .mission
                    .get(usize::from(self.current_seq))
                    .map(|i| i.command)
                    == Some(mav::MavCmd::MAV_CMD_NAV_RETURN_TO_LAUNCH) =>
            {
                self.start_rtl();
            }
            _ => {}
        }
    }

    /// Disarms the motors; the mode stays what it was (a vehicle that landed in RTL or AUTO
    /// sits disarmed in RTL or AUTO, where it cannot be armed again).
    pub(super) fn disarm(&mut self, out: &mut Vec<MavMessage>) {
        if self.armed {
            self.armed = false;
            out.push(statustext(
                mav::MavSeverity::MAV_SEVERITY_INFO,
                "Disarming motors",
            ));
        }
        self.auto_armed = false;
        // `AP_Arming_Copter::disarm` resets the mission (`AP_Mission::reset`): the next start
        // runs it from the top, not from the item an RTL, LAND or failsafe interrupted (which
        // would be refused on the ground: "Auto: Missing Takeoff Cmd"). MISSION_CURRENT then
        // reports 0, as `get_current_nav_index` does with no current command. A completed
        // mission already restarts from the top and keeps reporting the last item it ran.
        if !self.mission_complete && self.current_seq != 0 {
            self.current_seq = 0;
            self.last_reached = None;
            self.announce_current(out);
        }
        self.phase = Phase::Ground;
        self.motor_failed = false;
        self.touchdown_s = None;
        self.landing = false;
        self.track = None;
    }

    /// A mode change asked for by the ground station (`SET_MODE`, `DO_SET_MODE`, RTL, LAND).
    pub(super) fn change_mode(
        &mut self,
        mode: CopterMode,
        out: &mut Vec<MavMessage>,
    ) -> mav::MavResult {
        use mav::MavResult::{MAV_RESULT_ACCEPTED, MAV_RESULT_FAILED};
        let failed = |out: &mut Vec<MavMessage>, why: &str| {
            out.push(statustext(
                mav::MavSeverity::MAV_SEVERITY_WARNING,
                &format!("Mode change to {} failed: {why}", mode.name()),
            ));
            MAV_RESULT_FAILED
        };
        if mode == self.mode {
            return MAV_RESULT_ACCEPTED;
        }
        if mode.requires_gps() && !self.gps_ok {
            return failed(out, "requires position");
        }
        if mode == CopterMode::Auto {
            if self.mission.len() < 2 {
                return failed(out, "init failed");
            }
            if self.armed && self.phase == Phase::Ground && !self.starts_with_takeoff() {
                out.push(statustext(
                    mav::MavSeverity::MAV_SEVERITY_CRITICAL,
                    "Auto: Missing Takeoff Cmd",
                ));
                return failed(out, "init failed");
            }
        }
        self.set_mode(mode);
        if self.armed
            && self.phase == Phase::Ground
            && matches!(mode, CopterMode::Rtl | CopterMode::Land)
        {
            self.disarm(out);
        }
        MAV_RESULT_ACCEPTED
    }

    /// `AP_Mission::starts_with_takeoff_cmd`: the next NAV item from where the mission would
    /// resume is a takeoff.
    fn starts_with_takeoff(&self) -> bool {
        let from = if self.mission_complete || self.current_seq == 0 {
            1
        } else {
            usize::from(self.current_seq)
        };
        self.mission
            .iter()
            .skip(from)
            .find(|i| i.is_nav())
            .is_some_and(|i| i.command == mav::MavCmd::MAV_CMD_NAV_TAKEOFF)
    }

    /// Makes `seq` the current item (`MISSION_SET_CURRENT`, `DO_SET_MISSION_CURRENT`): flying
    /// in AUTO the vehicle heads there at once, otherwise the mission resumes there.
    pub(super) fn set_current(&mut self, seq: u16, out: &mut Vec<MavMessage>) -> bool {
        if seq == 0 || usize::from(seq) >= self.mission.len() {
            return false;
        }
        self.mission_complete = false;
        self.last_reached = None;
        self.track = None;
        self.last_mission_current_sent = None;
        if self.mode == CopterMode::Auto && self.phase != Phase::Ground {
            self.start_nav_from(seq, out);
        } else {
            self.current_seq = seq;
            self.announce_current(out);
        }
        true
    }
}
