//! Injected faults, the failsafes they trip and the arming checks, with `ArduCopter` 4.x's own
//! STATUSTEXT wording (`ArduCopter/events.cpp`, `ekf_check.cpp`, `AP_Arming*.cpp`,
//! `AP_BattMonitor.cpp`) so a ground station can show the vehicle's words.

use super::{CopterMode, Environment, Fault, MavMessage, Phase, Vehicle, mav, statustext};

/// Severity `ArduCopter` announces failsafes with (`announce_failsafe`).
const FS_SEVERITY: mav::MavSeverity = mav::MavSeverity::MAV_SEVERITY_WARNING;
const CRITICAL: mav::MavSeverity = mav::MavSeverity::MAV_SEVERITY_CRITICAL;

impl Vehicle {
    // --- faults -----------------------------------------------------------------------

    /// Applies a fault now. Returns the messages the autopilot sends in reaction.
    pub fn inject(&mut self, fault: Fault) -> Vec<MavMessage> {
        let mut out = Vec::new();
        match fault {
            Fault::LinkLoss { active } => self.link_down = active,
            Fault::PacketLoss { pct } => self.packet_loss_pct = pct.clamp(0.0, 100.0),
            Fault::GpsLoss { active } => self.gps_fault(active, &mut out),
            Fault::LowBattery { remaining_pct } => {
                self.battery_pct = remaining_pct.clamp(0.0, 100.0);
            }
            Fault::MotorFailure => {
                self.motor_failed = true;
                out.push(statustext(
                    mav::MavSeverity::MAV_SEVERITY_EMERGENCY,
                    "Potential Thrust Loss (1)",
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

    /// GPS lost: the EKF's position goes bad and, in a mode that needs a position, the EKF
    /// failsafe lands (`FS_EKF_ACTION` 1). GPS back: both clear.
    fn gps_fault(&mut self, lost: bool, out: &mut Vec<MavMessage>) {
        self.gps_ok = !lost;
        if lost {
            out.push(statustext(CRITICAL, "GPS Glitch or Compass error"));
            out.push(statustext(CRITICAL, "EKF variance"));
            self.ekf_failsafe = true;
            if self.armed && self.phase != Phase::Ground && self.mode.requires_gps() {
                self.set_mode(CopterMode::Land);
                out.push(statustext(
                    CRITICAL,
                    &format!("EKF Failsafe: changed to {} Mode", self.mode.name()),
                ));
            }
        } else {
            out.push(statustext(CRITICAL, "Glitch cleared"));
            if self.ekf_failsafe {
                self.ekf_failsafe = false;
                out.push(statustext(CRITICAL, "EKF Failsafe Cleared"));
            }
        }
    }

    // --- failsafes --------------------------------------------------------------------

    pub(super) fn failsafes(&mut self, out: &mut Vec<MavMessage>) {
        self.battery_failsafe_check(out);
        self.gcs_failsafe_check(out);
    }

    /// `AP_BattMonitor` announces the level, then `Copter::handle_battery_failsafe` acts: low
    /// → RTL, critical → LAND (each once per flight), disarm if still on the ground.
    fn battery_failsafe_check(&mut self, out: &mut Vec<MavMessage>) {
        if !self.armed {
            return;
        }
        let (level, label, mode) =
            if self.battery_failsafe < 2 && self.battery_pct <= self.cfg.battery_critical_pct {
                (2, "critical", CopterMode::Land)
            } else if self.battery_failsafe < 1 && self.battery_pct <= self.cfg.battery_low_pct {
                (1, "low", CopterMode::Rtl)
            } else {
                return;
            };
        self.battery_failsafe = level;
        out.push(statustext(
            FS_SEVERITY,
            &format!(
                "Battery 1 is {label} {:.2}V used {:.0} mAh",
                self.battery_voltage_v(),
                self.cfg.pack.consumed_mah(self.battery_pct)
            ),
        ));
        if self.phase == Phase::Ground {
            out.push(statustext(FS_SEVERITY, "Battery Failsafe - Disarming"));
            self.disarm(out);
            return;
        }
        out.push(statustext(FS_SEVERITY, "Battery Failsafe"));
        // A critical failsafe lands even from RTL; a low one leaves a landing alone.
        let landing = matches!(self.mode, CopterMode::Land) || self.landing;
        if mode == CopterMode::Land && self.mode != CopterMode::Land
            || mode == CopterMode::Rtl && !landing && self.mode != CopterMode::Rtl
        {
            self.failsafe_mode(mode);
        }
    }

    /// `FS_GCS_ENABLE` 1: no heartbeat from the ground station for `FS_GCS_TIMEOUT` → RTL
    /// (only once a ground station has been heard, as `ArduPilot` does).
    fn gcs_failsafe_check(&mut self, out: &mut Vec<MavMessage>) {
        let Some(last) = self.last_gcs_heartbeat_wall_s else {
            return;
        };
        let lost = self.wall_time_s - last > self.cfg.gcs_failsafe_s;
        if lost && !self.gcs_failsafe_active {
            self.gcs_failsafe_active = true;
            if !self.armed {
                out.push(statustext(FS_SEVERITY, "GCS Failsafe"));
            } else if self.phase == Phase::Ground {
                out.push(statustext(FS_SEVERITY, "GCS Failsafe - Disarming"));
                self.disarm(out);
            } else if self.landing || self.mode == CopterMode::Land {
                out.push(statustext(FS_SEVERITY, "GCS Failsafe - Continuing Landing"));
            } else {
                out.push(statustext(FS_SEVERITY, "GCS Failsafe"));
                if self.mode != CopterMode::Rtl {
                    self.failsafe_mode(CopterMode::Rtl);
                }
            }
        } else if !lost && self.gcs_failsafe_active {
            self.gcs_failsafe_active = false;
            out.push(statustext(FS_SEVERITY, "GCS Failsafe Cleared"));
        }
    }

    /// `set_mode_RTL_or_land_with_pause`: RTL needs a position, otherwise LAND.
    fn failsafe_mode(&mut self, mode: CopterMode) {
        if mode.requires_gps() && !self.gps_ok {
            self.set_mode(CopterMode::Land);
        } else {
            self.set_mode(mode);
        }
    }

    // --- arming -----------------------------------------------------------------------

    /// `AP_Arming::arm`: the pre-arm checks (`PreArm: ...`), then the arm checks (`Arm: ...`).
    pub(super) fn arming_checks(&self) -> Result<(), String> {
        if self.mode.requires_gps() && !self.gps_ok {
            return Err("PreArm: GPS 1: Bad fix".into());
        }
        if self.battery_pct <= self.cfg.battery_low_pct {
            return Err("PreArm: Battery 1 below minimum arming voltage".into());
        }
        if self.motor_failed {
            return Err("PreArm: Motors: Check frame class and type".into());
        }
        self.terrain_pre_arm()?;
        if !self.mode.allows_arming() {
            return Err(format!("Arm: {} mode not armable", self.mode.name()));
        }
        Ok(())
    }
}
