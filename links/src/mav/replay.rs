//! A telemetry log (`.tlog`) read for replay: the vehicle's positions with its speed, heading
//! and battery as they were at each one, and its flight modes and arming over time — what a
//! ground station's replay draws along the track and in its timeline.
//!
//! Positions come from `GLOBAL_POSITION_INT`, speed from `VFR_HUD`, battery from `SYS_STATUS`,
//! the GPS fix from `GPS_RAW_INT`, modes and arming from the vehicle's `HEARTBEAT`s (a ground
//! station's own heartbeats in the log are not the vehicle's). A position reported without a GPS
//! fix (0°, 0°, or a fix below 2D) is left out and counted; a battery never reported stays
//! unknown (−1), never 100 %.

use super::command::flight_mode;
use super::driver::{autopilot_of, is_vehicle};
use super::tlog::TlogReader;
use aviary_core::{DroneId, DroneStatus, LatLon, TelemetrySample};
use chrono::{DateTime, Utc};
use mavlink::dialects::ardupilotmega::{self as mav, MavMessage};
use std::path::Path;

/// A flight mode or arming change of the vehicle.
#[derive(Debug, Clone, PartialEq)]
pub struct ModeChange {
    /// When the vehicle first reported it.
    pub time: DateTime<Utc>,
    /// Flight mode as the vehicle names it (`AUTO`, `RTL`, `LOITER`, `POSCTL`, …).
    pub mode: String,
    /// Armed.
    pub armed: bool,
}

/// What a log holds for replay.
#[derive(Debug, Clone, PartialEq)]
pub struct ReplayLog {
    /// Positions with a GPS fix, time-ordered.
    pub samples: Vec<TelemetrySample>,
    /// The vehicle's mode and arming changes, time-ordered (the first is its state at the
    /// log's first heartbeat).
    pub modes: Vec<ModeChange>,
    /// Positions left out because the vehicle had no GPS fix.
    pub positions_without_fix: usize,
    /// Bytes of the file that were not a timestamp followed by a valid frame.
    pub skipped_bytes: u64,
}

/// Why a log cannot be replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// No position message at all.
    #[error(
        "no GLOBAL_POSITION_INT messages found: not a MAVLink telemetry log, or a log without positions"
    )]
    NoPositions,
    /// Positions, but none with a GPS fix.
    #[error(
        "the log has {count} positions but the vehicle never had a GPS fix (all at 0°, 0° or without a 2D fix): nothing to show on the map"
    )]
    NoGpsFix {
        /// Positions reported without a fix.
        count: usize,
    },
}

/// Reads the log at `path` for replay.
pub fn read_replay(path: &Path) -> Result<ReplayLog, ReplayError> {
    let bytes = std::fs::read(path).map_err(|source| ReplayError::Io {
        path: path.display().to_string(),
        source,
    })?;
    parse_replay(bytes)
}

/// Reads a log held in memory for replay.
pub fn parse_replay(bytes: Vec<u8>) -> Result<ReplayLog, ReplayError> {
    let mut reader = TlogReader::from_bytes(bytes);
    let mut samples: Vec<TelemetrySample> = Vec::new();
    let mut modes: Vec<ModeChange> = Vec::new();
    let mut positions_without_fix = 0usize;
    let (mut speed_mps, mut battery_pct) = (0.0, -1.0);
    // The GPS fix type from `GPS_RAW_INT`, once the vehicle sent one.
    let mut gps_fix: Option<u8> = None;
    for rec in reader.by_ref() {
        let Some(time) = DateTime::from_timestamp_micros(rec.timestamp_us as i64) else {
            continue;
        };
        match &rec.frame.msg {
            MavMessage::HEARTBEAT(hb) if is_vehicle(hb) => {
                let mode = flight_mode(autopilot_of(hb), hb.custom_mode).name;
                let armed = hb
                    .base_mode
                    .contains(mav::MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED);
                if modes
                    .last()
                    .is_none_or(|m| m.mode != mode || m.armed != armed)
                {
                    modes.push(ModeChange { time, mode, armed });
                }
            }
            MavMessage::SYS_STATUS(s) if s.battery_remaining >= 0 => {
                battery_pct = f64::from(s.battery_remaining);
            }
            MavMessage::VFR_HUD(v) => speed_mps = f64::from(v.groundspeed),
            MavMessage::GPS_RAW_INT(g) => gps_fix = Some(g.fix_type as u8),
            MavMessage::GLOBAL_POSITION_INT(p) => {
                let no_fix = (p.lat == 0 && p.lon == 0) || gps_fix.is_some_and(|f| f < 2);
                let pos = LatLon::checked(f64::from(p.lat) / 1e7, f64::from(p.lon) / 1e7);
                let Ok(pos) = pos
                    .map_err(|_| ())
                    .and_then(|pos| if no_fix { Err(()) } else { Ok(pos) })
                else {
                    positions_without_fix += 1;
                    continue;
                };
                samples.push(TelemetrySample {
                    time,
                    mission_id: None,
                    drone_id: DroneId(uuid::Uuid::from_u128(u128::from(
                        rec.frame.header.system_id,
                    ))),
                    pos,
                    alt_rel_m: f64::from(p.relative_alt) / 1000.0,
                    speed_mps,
                    heading_deg: if p.hdg == u16::MAX {
                        0.0
                    } else {
                        f64::from(p.hdg) / 100.0
                    },
                    battery_pct,
                    signal_pct: 100.0,
                    status: DroneStatus::InMission,
                });
            }
            _ => {}
        }
    }
    if samples.is_empty() {
        return Err(if positions_without_fix > 0 {
            ReplayError::NoGpsFix {
                count: positions_without_fix,
            }
        } else {
            ReplayError::NoPositions
        });
    }
    samples.sort_by_key(|s| s.time);
    modes.sort_by_key(|m| m.time);
    Ok(ReplayLog {
        samples,
        modes,
        positions_without_fix,
        skipped_bytes: reader.skipped_bytes(),
    })
}

/// The mode in force at `time` (`None` before the first heartbeat).
pub fn mode_at(modes: &[ModeChange], time: DateTime<Utc>) -> Option<&ModeChange> {
    modes[..modes.partition_point(|m| m.time <= time)].last()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mav::codec;
    use mavlink::MavHeader;

    fn record(out: &mut Vec<u8>, t_s: f64, sys: u8, msg: &MavMessage) {
        let mut frame = Vec::new();
        let header = MavHeader {
            system_id: sys.into(),
            component_id: 1,
            sequence: 0,
        };
        codec::encode(header, msg, None, &mut frame).expect("encode");
        let ts_us = 1_800_000_000_000_000u64 + (t_s * 1e6) as u64;
        out.extend(ts_us.to_be_bytes());
        out.extend(frame);
    }

    fn heartbeat(custom_mode: u32, armed: bool, gcs: bool) -> MavMessage {
        MavMessage::HEARTBEAT(mav::HEARTBEAT_DATA {
            custom_mode,
            mavtype: if gcs {
                mav::MavType::MAV_TYPE_GCS
            } else {
                mav::MavType::MAV_TYPE_QUADROTOR
            },
            autopilot: if gcs {
                mav::MavAutopilot::MAV_AUTOPILOT_INVALID
            } else {
                mav::MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA
            },
            base_mode: if armed {
                mav::MavModeFlag::MAV_MODE_FLAG_SAFETY_ARMED
                    | mav::MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
            } else {
                mav::MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED
            },
            system_status: mav::MavState::MAV_STATE_ACTIVE,
            mavlink_version: 3,
        })
    }

    fn position(lat_deg: f64, lon_deg: f64) -> MavMessage {
        MavMessage::GLOBAL_POSITION_INT(mav::GLOBAL_POSITION_INT_DATA {
            lat: (lat_deg * 1e7) as i32,
            lon: (lon_deg * 1e7) as i32,
            relative_alt: 30_000,
            hdg: 9_000,
            ..Default::default()
        })
    }

    fn gps(fix: mav::GpsFixType) -> MavMessage {
        MavMessage::GPS_RAW_INT(mav::GPS_RAW_INT_DATA {
            fix_type: fix,
            ..Default::default()
        })
    }

    #[test]
    fn modes_arming_and_positions_with_a_fix() {
        let mut log = Vec::new();
        record(&mut log, 0.0, 255, &heartbeat(0, false, true));
        record(&mut log, 0.1, 1, &heartbeat(0, false, false)); // STABILIZE, disarmed
        record(&mut log, 0.2, 1, &gps(mav::GpsFixType::GPS_FIX_TYPE_NO_FIX));
        record(&mut log, 0.3, 1, &position(0.0, 0.0));
        record(&mut log, 1.0, 1, &gps(mav::GpsFixType::GPS_FIX_TYPE_3D_FIX));
        record(&mut log, 1.1, 1, &heartbeat(4, true, false)); // GUIDED, armed
        record(&mut log, 1.2, 1, &position(47.4, 8.5));
        record(&mut log, 1.3, 1, &heartbeat(4, true, false));
        record(&mut log, 2.0, 1, &heartbeat(3, true, false)); // AUTO
        record(&mut log, 2.1, 1, &position(47.401, 8.5));
        record(&mut log, 3.0, 255, &heartbeat(0, false, true));
        record(&mut log, 3.1, 1, &heartbeat(6, true, false)); // RTL
        let r = parse_replay(log).expect("replay");
        assert_eq!(r.samples.len(), 2);
        assert_eq!(r.positions_without_fix, 1);
        let names: Vec<(&str, bool)> = r.modes.iter().map(|m| (m.mode.as_str(), m.armed)).collect();
        assert_eq!(
            names,
            [
                ("STABILIZE", false),
                ("GUIDED", true),
                ("AUTO", true),
                ("RTL", true)
            ]
        );
        // No SYS_STATUS in the log: the battery is unknown, not full.
        assert!(r.samples.iter().all(|s| s.battery_pct < 0.0));
        let at = r.samples[1].time;
        assert_eq!(mode_at(&r.modes, at).map(|m| m.mode.as_str()), Some("AUTO"));
        assert!(mode_at(&r.modes, r.samples[0].time - chrono::Duration::seconds(5)).is_none());
    }

    #[test]
    fn a_log_without_a_fix_says_so() {
        let mut log = Vec::new();
        for k in 0..724 {
            record(&mut log, f64::from(k) * 0.2, 1, &position(0.0, 0.0));
        }
        let err = parse_replay(log).expect_err("no fix");
        assert!(matches!(err, ReplayError::NoGpsFix { count: 724 }), "{err}");
        assert!(err.to_string().contains("724 positions"), "{err}");
        assert!(matches!(
            parse_replay(b"not a log at all".to_vec()),
            Err(ReplayError::NoPositions)
        ));
    }
}
