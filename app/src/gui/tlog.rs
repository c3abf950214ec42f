//! Reading MAVLink telemetry logs (`.tlog`, as written by QGroundControl and MAVProxy) for
//! replay: each record is an 8-byte big-endian UNIX timestamp in microseconds followed by one
//! MAVLink v1 or v2 frame. Positions come from `GLOBAL_POSITION_INT`, speed and heading from
//! `VFR_HUD`, battery from `SYS_STATUS`. Frames with a bad checksum are skipped.

use aviary_core::{DroneId, DroneStatus, LatLon, TelemetrySample};
use chrono::DateTime;

const MSG_SYS_STATUS: u32 = 1;
const MSG_GLOBAL_POSITION_INT: u32 = 33;
const MSG_VFR_HUD: u32 = 74;

/// `CRC_EXTRA` of the messages read (from the MAVLink common definitions).
fn crc_extra(msg_id: u32) -> Option<u8> {
    match msg_id {
        MSG_SYS_STATUS => Some(124),
        MSG_GLOBAL_POSITION_INT => Some(104),
        MSG_VFR_HUD => Some(20),
        _ => None,
    }
}

/// MAVLink's X.25 CRC.
pub fn crc_x25(bytes: &[u8], mut crc: u16) -> u16 {
    for &b in bytes {
        let mut tmp = b ^ (crc & 0xff) as u8;
        tmp ^= tmp << 4;
        crc = (crc >> 8) ^ (u16::from(tmp) << 8) ^ (u16::from(tmp) << 3) ^ (u16::from(tmp) >> 4);
    }
    crc
}

/// Why a log could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TlogError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: std::path::PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// No position message in the file.
    #[error(
        "no GLOBAL_POSITION_INT messages found: not a MAVLink telemetry log, or a log without positions"
    )]
    NoPositions,
}

struct Frame<'a> {
    sys_id: u8,
    msg_id: u32,
    payload: std::borrow::Cow<'a, [u8]>,
    len: usize,
}

/// Parses one frame at the start of `b`; `None` if there is no valid frame there.
fn parse_frame(b: &[u8]) -> Option<Frame<'_>> {
    match *b.first()? {
        0xFD => {
            let len = usize::from(*b.get(1)?);
            let incompat = *b.get(2)?;
            let header = 10;
            let sig = if incompat & 1 == 1 { 13 } else { 0 };
            let total = header + len + 2 + sig;
            if b.len() < total {
                return None;
            }
            let msg_id = u32::from(b[7]) | (u32::from(b[8]) << 8) | (u32::from(b[9]) << 16);
            let extra = crc_extra(msg_id);
            if let Some(extra) = extra {
                let crc = crc_x25(&[extra], crc_x25(&b[1..header + len], 0xffff));
                let got = u16::from_le_bytes([b[header + len], b[header + len + 1]]);
                if crc != got {
                    return None;
                }
            }
            Some(Frame {
                sys_id: b[5],
                msg_id,
                payload: std::borrow::Cow::Borrowed(&b[header..header + len]),
                len: total,
            })
        }
        0xFE => {
            let len = usize::from(*b.get(1)?);
            let header = 6;
            let total = header + len + 2;
            if b.len() < total {
                return None;
            }
            let msg_id = u32::from(b[5]);
            if let Some(extra) = crc_extra(msg_id) {
                let crc = crc_x25(&[extra], crc_x25(&b[1..header + len], 0xffff));
                let got = u16::from_le_bytes([b[header + len], b[header + len + 1]]);
                if crc != got {
                    return None;
                }
            }
            Some(Frame {
                sys_id: b[3],
                msg_id,
                payload: std::borrow::Cow::Borrowed(&b[header..header + len]),
                len: total,
            })
        }
        _ => None,
    }
}

/// A field of a (zero-truncated, MAVLink 2) payload, padded with zeros.
fn field<const N: usize>(payload: &[u8], offset: usize) -> [u8; N] {
    let mut out = [0u8; N];
    for (i, o) in out.iter_mut().enumerate() {
        *o = payload.get(offset + i).copied().unwrap_or(0);
    }
    out
}

/// Reads a `.tlog` file.
pub fn read_tlog(path: &std::path::Path) -> Result<Vec<TelemetrySample>, TlogError> {
    let bytes = std::fs::read(path).map_err(|source| TlogError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    parse_tlog(&bytes)
}

/// Parses `.tlog` bytes into samples, one per `GLOBAL_POSITION_INT`, time-ordered.
pub fn parse_tlog(bytes: &[u8]) -> Result<Vec<TelemetrySample>, TlogError> {
    let mut out: Vec<TelemetrySample> = Vec::new();
    let (mut speed_mps, mut battery_pct) = (0.0, 100.0);
    let mut i = 0usize;
    while i + 8 < bytes.len() {
        let ts_us = u64::from_be_bytes(field::<8>(bytes, i));
        let Some(frame) = parse_frame(&bytes[i + 8..]) else {
            // Not a record boundary: resynchronise one byte further.
            i += 1;
            continue;
        };
        i += 8 + frame.len;
        let p = &frame.payload;
        match frame.msg_id {
            MSG_SYS_STATUS => {
                let remaining = i8::from_le_bytes(field::<1>(p, 30));
                if remaining >= 0 {
                    battery_pct = f64::from(remaining);
                }
            }
            MSG_VFR_HUD => speed_mps = f64::from(f32::from_le_bytes(field::<4>(p, 4))),
            MSG_GLOBAL_POSITION_INT => {
                let lat = f64::from(i32::from_le_bytes(field::<4>(p, 4))) / 1e7;
                let lon = f64::from(i32::from_le_bytes(field::<4>(p, 8))) / 1e7;
                let rel_alt_m = f64::from(i32::from_le_bytes(field::<4>(p, 16))) / 1000.0;
                let hdg = u16::from_le_bytes(field::<2>(p, 26));
                let Ok(pos) = LatLon::checked(lat, lon) else {
                    continue;
                };
                let Some(time) = DateTime::from_timestamp_micros(ts_us as i64) else {
                    continue;
                };
                out.push(TelemetrySample {
                    time,
                    mission_id: None,
                    drone_id: DroneId(uuid::Uuid::from_u128(u128::from(frame.sys_id))),
                    pos,
                    alt_rel_m: rel_alt_m,
                    speed_mps,
                    heading_deg: if hdg == u16::MAX {
                        0.0
                    } else {
                        f64::from(hdg) / 100.0
                    },
                    battery_pct,
                    signal_pct: 100.0,
                    status: DroneStatus::InMission,
                });
            }
            _ => {}
        }
    }
    if out.is_empty() {
        return Err(TlogError::NoPositions);
    }
    out.sort_by_key(|s| s.time);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A MAVLink 2 `GLOBAL_POSITION_INT` frame with a tlog timestamp.
    fn record_v2(ts_us: u64, lat_e7: i32, lon_e7: i32, hdg_cdeg: u16) -> Vec<u8> {
        let mut payload = Vec::new();
        payload.extend(1000u32.to_le_bytes());
        payload.extend(lat_e7.to_le_bytes());
        payload.extend(lon_e7.to_le_bytes());
        payload.extend(500_000i32.to_le_bytes());
        payload.extend(30_000i32.to_le_bytes());
        payload.extend([0u8; 6]);
        payload.extend(hdg_cdeg.to_le_bytes());
        let mut frame = vec![0xFD, payload.len() as u8, 0, 0, 7, 1, 1, 33, 0, 0];
        frame.extend(&payload);
        let crc = crc_x25(&[104], crc_x25(&frame[1..], 0xffff));
        frame.extend(crc.to_le_bytes());
        let mut rec = ts_us.to_be_bytes().to_vec();
        rec.extend(frame);
        rec
    }

    #[test]
    fn crc_matches_the_mavlink_reference() {
        // X.25 CRC of "123456789" is 0x906E (CRC-16/MCRF4XX, MAVLink's CRC).
        assert_eq!(crc_x25(b"123456789", 0xffff), 0x6F91);
    }

    #[test]
    fn reads_positions_skips_garbage_and_bad_crc() {
        let mut log = record_v2(1_700_000_000_000_000, 519_050_000, 44_660_000, 9000);
        log.extend([0x55, 0x12, 0x00]);
        let mut bad = record_v2(1_700_000_000_500_000, 1, 1, 0);
        let n = bad.len();
        bad[n - 1] ^= 0xff;
        log.extend(bad);
        log.extend(record_v2(
            1_700_000_001_000_000,
            519_060_000,
            44_670_000,
            18000,
        ));
        let s = parse_tlog(&log).expect("parse");
        assert_eq!(s.len(), 2);
        assert!((s[0].pos.lat_deg - 51.905).abs() < 1e-9);
        assert!((s[1].heading_deg - 180.0).abs() < 1e-9);
        assert!((s[0].alt_rel_m - 30.0).abs() < 1e-9);
        assert!(matches!(
            parse_tlog(b"not a log at all"),
            Err(TlogError::NoPositions)
        ));
    }
}
