//! What the vehicle sends on its own: the HEARTBEAT, telemetry streams and the messages
//! `REQUEST_MESSAGE` asks for.

use super::{CopterMode, LatLon, MavMessage, STREAMABLE, Vehicle, flight, id, mav};
use rand::Rng;

/// The telemetry streams: each [`STREAMABLE`] message's interval (none: not streamed) and
/// when it is next due, in the order of [`STREAMABLE`]. Every tick of every simulated drone
/// walks them, so they are arrays, not maps keyed by message id.
#[derive(Debug, Clone, Default)]
pub(super) struct Streams {
    interval_s: [Option<f64>; STREAMABLE.len()],
    due_wall_s: [Option<f64>; STREAMABLE.len()],
}

impl Streams {
    fn slot(m: u32) -> Option<usize> {
        STREAMABLE.iter().position(|&s| s == m)
    }

    /// Streams message `m` every `interval_s` seconds, or stops it (`None`); other
    /// messages are not streamable and are ignored.
    pub(super) fn set_interval(&mut self, m: u32, interval_s: Option<f64>) {
        if let Some(i) = Self::slot(m) {
            self.interval_s[i] = interval_s;
        }
    }

    /// Message `m` is next due at once (its schedule starts again).
    pub(super) fn restart(&mut self, m: u32) {
        if let Some(i) = Self::slot(m) {
            self.due_wall_s[i] = None;
        }
    }
}

impl Vehicle {
    pub(super) fn streams(&mut self, out: &mut Vec<MavMessage>) {
        let now = self.wall_time_s;
        if now - self.last_heartbeat_wall_s >= 1.0 {
            self.last_heartbeat_wall_s = now;
            out.push(self.heartbeat());
        }
        for (i, m) in STREAMABLE.into_iter().enumerate() {
            let Some(interval) = self.streams.interval_s[i] else {
                continue;
            };
            let due = self.streams.due_wall_s[i].get_or_insert(now);
            if now + 1e-9 >= *due {
                // Catch up without bursting after a stall.
                *due = (*due + interval).max(now);
                if let Some(msg) = self.message_by_id(m) {
                    out.push(msg);
                }
            }
        }
    }

    // --- telemetry ----------------------------------------------------------------------

    pub(super) fn time_boot_ms(&self) -> u32 {
        (self.sim_time_s * 1000.0) as u32
    }

    /// A message by id, as `REQUEST_MESSAGE` and streams produce it.
    pub(super) fn message_by_id(&mut self, m: u32) -> Option<MavMessage> {
        Some(match m {
            id::HEARTBEAT => self.heartbeat(),
            id::SYS_STATUS => self.sys_status(),
            id::GPS_RAW_INT => self.gps_raw_int(),
            id::ATTITUDE => self.attitude(),
            id::GLOBAL_POSITION_INT => self.global_position_int(),
            id::MISSION_CURRENT => self.mission_current(),
            id::VFR_HUD => self.vfr_hud(),
            id::WIND => self.wind(),
            id::BATTERY_STATUS => self.battery_status(),
            id::HOME_POSITION => self.home_position(),
            id::AUTOPILOT_VERSION => self.autopilot_version(),
            id::EXTENDED_SYS_STATE => {
                MavMessage::EXTENDED_SYS_STATE(mav::EXTENDED_SYS_STATE_DATA {
                    vtol_state: mav::MavVtolState::MAV_VTOL_STATE_UNDEFINED,
                    landed_state: self.landed_state(),
                })
            }
            _ => return None,
        })
    }

    /// The HEARTBEAT this vehicle sends.
    pub fn heartbeat(&self) -> MavMessage {
        let mut base = mav::MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
            | mav::MavModeFlag::MAV_MODE_FLAG_STABILIZE_ENABLED;
        if self.armed {
            base |= mav::MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED;
        }
        if matches!(
            self.mode,
            CopterMode::Auto
                | CopterMode::Guided
                | CopterMode::Rtl
                | CopterMode::Loiter
                | CopterMode::Brake
        ) {
            base |= mav::MavModeFlag::MAV_MODE_FLAG_GUIDED_ENABLED;
        }
        if self.mode == CopterMode::Auto {
            base |= mav::MavModeFlag::MAV_MODE_FLAG_AUTO_ENABLED;
        }
        let status = if self.motor_failed || self.gcs_failsafe_active || self.battery_failsafe > 0 {
            mav::MavState::MAV_STATE_CRITICAL
        } else if self.armed {
            mav::MavState::MAV_STATE_ACTIVE
        } else {
            mav::MavState::MAV_STATE_STANDBY
        };
        MavMessage::HEARTBEAT(mav::HEARTBEAT_DATA {
            custom_mode: self.mode.custom_mode(),
            mavtype: mav::MavType::MAV_TYPE_QUADROTOR,
            autopilot: mav::MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
            base_mode: base,
            system_status: status,
            mavlink_version: 3,
        })
    }

    pub(super) fn noisy_pos(&mut self) -> LatLon {
        if self.cfg.gps_noise_m <= 0.0 {
            return self.kin.pos;
        }
        // Sum of uniforms: close enough to a Gaussian for GPS jitter.
        let mut g = || {
            (0..4)
                .map(|_| self.rng.random_range(-1.0..1.0))
                .sum::<f64>()
                * 0.866
                * self.cfg.gps_noise_m
        };
        let (n, e) = (g(), g());
        self.kin.pos.offset_ne(n, e)
    }

    pub(super) fn global_position_int(&mut self) -> MavMessage {
        let pos = if self.gps_ok {
            self.noisy_pos()
        } else {
            self.kin.pos
        };
        MavMessage::GLOBAL_POSITION_INT(mav::GLOBAL_POSITION_INT_DATA {
            time_boot_ms: self.time_boot_ms(),
            lat: (pos.lat_deg * 1e7) as i32,
            lon: (pos.lon_deg * 1e7) as i32,
            alt: ((self.cfg.home_alt_amsl_m + self.kin.alt_rel_m) * 1000.0) as i32,
            relative_alt: (self.kin.alt_rel_m * 1000.0) as i32,
            vx: (self.kin.vel_n_mps * 100.0) as i16,
            vy: (self.kin.vel_e_mps * 100.0) as i16,
            vz: (-self.kin.climb_mps * 100.0) as i16,
            hdg: (self.kin.heading_deg * 100.0) as u16 % 36000,
        })
    }

    pub(super) fn gps_raw_int(&mut self) -> MavMessage {
        let pos = self.noisy_pos();
        // ArduCopter SITL's simulated u-blox: RTK fixed, 10 satellites, HDOP 1.21.
        let (fix, sats) = if self.gps_ok {
            (mav::GpsFixType::GPS_FIX_TYPE_RTK_FIXED, 10)
        } else {
            (mav::GpsFixType::GPS_FIX_TYPE_NO_FIX, 0)
        };
        let course = self
            .kin
            .vel_e_mps
            .atan2(self.kin.vel_n_mps)
            .to_degrees()
            .rem_euclid(360.0);
        MavMessage::GPS_RAW_INT(mav::GPS_RAW_INT_DATA {
            time_usec: (self.sim_time_s * 1e6) as u64,
            lat: if self.gps_ok {
                (pos.lat_deg * 1e7) as i32
            } else {
                0
            },
            lon: if self.gps_ok {
                (pos.lon_deg * 1e7) as i32
            } else {
                0
            },
            alt: ((self.cfg.home_alt_amsl_m + self.kin.alt_rel_m) * 1000.0) as i32,
            eph: if self.gps_ok { 121 } else { u16::MAX },
            epv: if self.gps_ok { 200 } else { u16::MAX },
            vel: (self.kin.ground_speed_mps() * 100.0) as u16,
            cog: (course * 100.0) as u16 % 36000,
            fix_type: fix,
            satellites_visible: sats,
        })
    }

    pub(super) fn attitude(&self) -> MavMessage {
        // Lean into the velocity: about 1° of pitch/roll per m/s.
        let h = self.kin.heading_deg.to_radians();
        let fwd = self.kin.vel_n_mps * h.cos() + self.kin.vel_e_mps * h.sin();
        let right = -self.kin.vel_n_mps * h.sin() + self.kin.vel_e_mps * h.cos();
        let yaw = if h > std::f64::consts::PI {
            h - 2.0 * std::f64::consts::PI
        } else {
            h
        };
        MavMessage::ATTITUDE(mav::ATTITUDE_DATA {
            time_boot_ms: self.time_boot_ms(),
            roll: (right * 0.0175) as f32,
            pitch: (-fwd * 0.0175) as f32,
            yaw: yaw as f32,
            rollspeed: 0.0,
            pitchspeed: 0.0,
            yawspeed: 0.0,
        })
    }

    /// ArduPilot's `WIND`: the wind the vehicle estimates, coming from `direction`.
    pub(super) fn wind(&self) -> MavMessage {
        let env = self.environment();
        let from_deg = (-env.wind_e_mps)
            .atan2(-env.wind_n_mps)
            .to_degrees()
            .rem_euclid(360.0);
        MavMessage::WIND(mav::WIND_DATA {
            direction: from_deg as f32,
            speed: env.wind_n_mps.hypot(env.wind_e_mps) as f32,
            speed_z: 0.0,
        })
    }

    pub(super) fn vfr_hud(&self) -> MavMessage {
        let env = self.environment();
        let air = (self.kin.vel_n_mps - env.wind_n_mps).hypot(self.kin.vel_e_mps - env.wind_e_mps);
        MavMessage::VFR_HUD(mav::VFR_HUD_DATA {
            airspeed: if self.armed { air as f32 } else { 0.0 },
            groundspeed: self.kin.ground_speed_mps() as f32,
            alt: (self.cfg.home_alt_amsl_m + self.kin.alt_rel_m) as f32,
            climb: self.kin.climb_mps as f32,
            heading: self.kin.heading_deg.round() as i16 % 360,
            throttle: if self.armed { 45 } else { 0 },
        })
    }

    pub(super) fn sys_status(&self) -> MavMessage {
        use mav::MavSysStatusSensor as S;
        let present = S::MAV_SYS_STATUS_SENSOR_3D_GYRO
            | S::MAV_SYS_STATUS_SENSOR_3D_ACCEL
            | S::MAV_SYS_STATUS_SENSOR_GPS
            | S::MAV_SYS_STATUS_SENSOR_BATTERY;
        let mut health = present;
        if !self.gps_ok {
            health.remove(S::MAV_SYS_STATUS_SENSOR_GPS);
        }
        MavMessage::SYS_STATUS(mav::SYS_STATUS_DATA {
            onboard_control_sensors_present: present,
            onboard_control_sensors_enabled: present,
            onboard_control_sensors_health: health,
            load: 250,
            voltage_battery: (self.battery_voltage_v() * 1000.0) as u16,
            current_battery: (self.battery_current_a() * 100.0) as i16,
            battery_remaining: self.battery_pct.round() as i8,
            drop_rate_comm: (self.packet_loss_pct * 100.0) as u16,
            errors_comm: 0,
            errors_count1: 0,
            errors_count2: 0,
            errors_count3: 0,
            errors_count4: 0,
        })
    }

    pub(super) fn battery_status(&self) -> MavMessage {
        let pack = self.cfg.pack;
        let cells = usize::from(pack.cells).clamp(1, 10);
        let mut voltages = [u16::MAX; 10];
        let cell_mv = (self.battery_voltage_v() * 1000.0 / cells as f64) as u16;
        voltages[..cells].fill(cell_mv);
        MavMessage::BATTERY_STATUS(mav::BATTERY_STATUS_DATA {
            current_consumed: pack.consumed_mah(self.battery_pct) as i32,
            energy_consumed: -1,
            temperature: i16::MAX,
            voltages,
            current_battery: (self.battery_current_a() * 100.0) as i16,
            id: 0,
            battery_function: mav::MavBatteryFunction::MAV_BATTERY_FUNCTION_ALL,
            mavtype: mav::MavBatteryType::MAV_BATTERY_TYPE_LIPO,
            battery_remaining: self.battery_pct.round() as i8,
        })
    }

    pub(super) fn home_position(&self) -> MavMessage {
        MavMessage::HOME_POSITION(mav::HOME_POSITION_DATA {
            latitude: (self.cfg.home.lat_deg * 1e7) as i32,
            longitude: (self.cfg.home.lon_deg * 1e7) as i32,
            altitude: (self.cfg.home_alt_amsl_m * 1000.0) as i32,
            x: 0.0,
            y: 0.0,
            z: 0.0,
            q: [1.0, 0.0, 0.0, 0.0],
            approach_x: 0.0,
            approach_y: 0.0,
            approach_z: 0.0,
        })
    }

    /// The current item; before a mission has started `ArduCopter` reports 0, after it has
    /// ended the last item it ran.
    pub(super) fn mission_current(&self) -> MavMessage {
        let last = u16::try_from(self.mission.len().saturating_sub(1)).unwrap_or(u16::MAX);
        MavMessage::MISSION_CURRENT(mav::MISSION_CURRENT_DATA {
            seq: self.current_seq.min(last),
        })
    }

    /// Current drawn from the pack, amperes (nothing when disarmed, as SITL).
    pub(super) fn battery_current_a(&self) -> f64 {
        let rate = flight::drain_rate_pct_per_s(&self.kin, self.armed, &self.cfg.battery);
        self.cfg.pack.current_a(rate)
    }

    /// Pack voltage now, sagging with the current drawn.
    pub(super) fn battery_voltage_v(&self) -> f64 {
        self.cfg
            .pack
            .voltage_v(self.battery_pct, self.battery_current_a())
    }

    pub(super) fn autopilot_version(&self) -> MavMessage {
        use mav::MavProtocolCapability as P;
        MavMessage::AUTOPILOT_VERSION(mav::AUTOPILOT_VERSION_DATA {
            capabilities: P::MAV_PROTOCOL_CAPABILITY_MISSION_FLOAT
                | P::MAV_PROTOCOL_CAPABILITY_MISSION_INT
                | P::MAV_PROTOCOL_CAPABILITY_COMMAND_INT
                | P::MAV_PROTOCOL_CAPABILITY_SET_POSITION_TARGET_GLOBAL_INT
                | P::MAV_PROTOCOL_CAPABILITY_MAVLINK2,
            uid: self.cfg.uid,
            // 4.7.0, FIRMWARE_VERSION_TYPE_OFFICIAL.
            flight_sw_version: 0x0407_00FF,
            middleware_sw_version: 0,
            os_sw_version: 0,
            board_version: 0,
            vendor_id: 0,
            product_id: 0,
            flight_custom_version: [0; 8],
            middleware_custom_version: [0; 8],
            os_custom_version: [0; 8],
        })
    }
}
