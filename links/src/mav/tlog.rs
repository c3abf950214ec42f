//! Telemetry logs in the QGroundControl / Mission Planner `.tlog` format: each record is an
//! 8-byte big-endian timestamp (µs since the Unix epoch) followed by one `MAVLink` frame.

use super::codec::{self, Decoded};
use mavlink::MavlinkReader;
use mavlink::dialects::ardupilotmega::MavMessage;
use std::io::{BufWriter, Write};
use std::path::Path;

/// Errors of the telemetry log.
#[derive(Debug, thiserror::Error)]
pub enum TlogError {
    /// File could not be opened, read or written.
    #[error("telemetry log {path}: {source}")]
    Io {
        /// File path.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
}

/// Appends frames to a `.tlog`.
#[derive(Debug)]
pub struct TlogWriter {
    out: BufWriter<std::fs::File>,
    path: String,
}

impl TlogWriter {
    /// Creates (truncates) `path`.
    pub fn create(path: &Path) -> Result<Self, TlogError> {
        let p = path.display().to_string();
        let f = std::fs::File::create(path).map_err(|source| TlogError::Io {
            path: p.clone(),
            source,
        })?;
        Ok(Self {
            out: BufWriter::new(f),
            path: p,
        })
    }

    /// Writes one record: `timestamp_us` then the raw frame bytes.
    pub fn write(&mut self, timestamp_us: u64, frame: &[u8]) -> Result<(), TlogError> {
        let path = &self.path;
        self.out
            .write_all(&timestamp_us.to_be_bytes())
            .and_then(|()| self.out.write_all(frame))
            .map_err(|source| TlogError::Io {
                path: path.clone(),
                source,
            })
    }

    /// Flushes buffered records to disk.
    pub fn flush(&mut self) -> Result<(), TlogError> {
        let path = &self.path;
        self.out.flush().map_err(|source| TlogError::Io {
            path: path.clone(),
            source,
        })
    }
}

/// One record of a `.tlog`.
#[derive(Debug, Clone)]
pub struct TlogRecord {
    /// Timestamp, µs since the Unix epoch.
    pub timestamp_us: u64,
    /// The decoded frame (sender, message, raw bytes).
    pub frame: Decoded,
}

/// Replays a `.tlog` held in memory. Garbage between records is skipped and counted.
#[derive(Debug)]
pub struct TlogReader {
    data: Vec<u8>,
    pos: usize,
    skipped_bytes: u64,
    unparsed_frames: u64,
}

impl TlogReader {
    /// Reads the whole file at `path`.
    pub fn open(path: &Path) -> Result<Self, TlogError> {
        let data = std::fs::read(path).map_err(|source| TlogError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Ok(Self::from_bytes(data))
    }

    /// A reader over bytes already in memory.
    pub fn from_bytes(data: Vec<u8>) -> Self {
        Self {
            data,
            pos: 0,
            skipped_bytes: 0,
            unparsed_frames: 0,
        }
    }

    /// Bytes skipped because they did not form a timestamp + valid frame.
    pub fn skipped_bytes(&self) -> u64 {
        self.skipped_bytes
    }

    /// Frames with a valid checksum whose payload did not parse.
    pub fn unparsed_frames(&self) -> u64 {
        self.unparsed_frames
    }

    /// Tries a record at `pos`: returns its length and content if a frame starts right after
    /// the 8-byte timestamp.
    fn record_at(&self, pos: usize) -> Option<(usize, u64, Option<Decoded>)> {
        let ts: [u8; 8] = self.data.get(pos..pos + 8)?.try_into().ok()?;
        let start = pos + 8;
        let magic = *self.data.get(start)?;
        if magic != mavlink::MAV_STX_V2 && magic != mavlink::MAV_STX {
            return None;
        }
        let end = (start + mavlink::consts::MAX_FRAME_SIZE).min(self.data.len());
        let window = &self.data[start..end];
        let mut reader = MavlinkReader::with_capacity(mavlink::consts::MAX_FRAME_SIZE, window);
        let raw = reader.read_any_raw_message::<MavMessage>().ok()?;
        let decoded = codec::decode_raw(&raw);
        let len = match &raw {
            mavlink::MAVLinkMessageRaw::V1(r) => r.raw_bytes().len(),
            mavlink::MAVLinkMessageRaw::V2(r) => r.raw_bytes().len(),
        };
        // The frame must start exactly at the record boundary, not further on.
        if window.get(..len)? != raw_bytes(&raw) {
            return None;
        }
        Some((8 + len, u64::from_be_bytes(ts), decoded))
    }
}

fn raw_bytes(raw: &mavlink::MAVLinkMessageRaw) -> &[u8] {
    match raw {
        mavlink::MAVLinkMessageRaw::V1(r) => r.raw_bytes(),
        mavlink::MAVLinkMessageRaw::V2(r) => r.raw_bytes(),
    }
}

impl Iterator for TlogReader {
    type Item = TlogRecord;

    fn next(&mut self) -> Option<TlogRecord> {
        while self.pos + 8 < self.data.len() {
            match self.record_at(self.pos) {
                Some((len, timestamp_us, Some(frame))) => {
                    self.pos += len;
                    return Some(TlogRecord {
                        timestamp_us,
                        frame,
                    });
                }
                Some((len, _, None)) => {
                    self.pos += len;
                    self.unparsed_frames += 1;
                }
                None => {
                    self.pos += 1;
                    self.skipped_bytes += 1;
                }
            }
        }
        self.skipped_bytes += self.data.len().saturating_sub(self.pos) as u64;
        self.pos = self.data.len();
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mavlink::MavHeader;
    use mavlink::dialects::ardupilotmega as mav;

    #[test]
    fn written_records_read_back_with_timestamps_and_garbage_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tlog");
        let mut w = TlogWriter::create(&path).unwrap();
        let mut buf = Vec::new();
        for i in 0..10u8 {
            let msg = MavMessage::MISSION_CURRENT(mav::MISSION_CURRENT_DATA { seq: u16::from(i) });
            codec::encode(
                MavHeader {
                    system_id: 3,
                    component_id: 1,
                    sequence: i,
                },
                &msg,
                None,
                &mut buf,
            )
            .unwrap();
            w.write(1_700_000_000_000_000 + u64::from(i) * 1000, &buf)
                .unwrap();
        }
        w.flush().unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(b"\xfdtrailing junk");
        let mut r = TlogReader::from_bytes(bytes);
        let recs: Vec<_> = r.by_ref().collect();
        assert_eq!(recs.len(), 10);
        assert_eq!(recs[3].timestamp_us, 1_700_000_000_003_000);
        assert!(matches!(&recs[9].frame.msg, MavMessage::MISSION_CURRENT(c) if c.seq == 9));
        assert_eq!(r.skipped_bytes(), 14);
    }
}
