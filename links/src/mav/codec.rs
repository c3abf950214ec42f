//! Frames on and off the wire, through the `mavlink` crate (no hand-written framing): decode
//! a datagram or stream chunk into messages while counting what could not be decoded, check
//! `MAVLink` 2 signatures, encode (and sign) outgoing messages.

use mavlink::dialects::ardupilotmega::MavMessage;
use mavlink::{MAVLinkMessageRaw, MavHeader, MavlinkReader, Message, SigningData};

/// Message ids accepted unsigned on a signed link (the `MAVLink` signing spec's default:
/// `RADIO_STATUS`, which radios inject without a key).
pub const ALLOWED_UNSIGNED: [u32; 1] = [109];

/// One decoded frame.
#[derive(Debug, Clone)]
pub struct Decoded {
    /// Header (sender system/component, sequence).
    pub header: MavHeader,
    /// The message.
    pub msg: MavMessage,
    /// The frame bytes as received (for the telemetry log).
    pub raw: Vec<u8>,
}

/// Counters of the receive path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RxCounters {
    /// Frames decoded and accepted.
    pub frames: u64,
    /// Bytes that were not part of any valid frame (garbage, truncation, bad CRC, unknown id).
    pub malformed_bytes: u64,
    /// Frames with a valid CRC whose payload did not parse (e.g. an out-of-range enum).
    pub unparsed_frames: u64,
    /// Frames dropped because signing is on and they were unsigned, badly signed or replayed.
    pub rejected_signature: u64,
}

fn raw_bytes(raw: &MAVLinkMessageRaw) -> &[u8] {
    match raw {
        MAVLinkMessageRaw::V1(r) => r.raw_bytes(),
        MAVLinkMessageRaw::V2(r) => r.raw_bytes(),
    }
}

fn signature_ok(raw: &MAVLinkMessageRaw, signing: &SigningData) -> bool {
    match raw {
        MAVLinkMessageRaw::V1(r) => ALLOWED_UNSIGNED.contains(&u32::from(r.message_id())),
        MAVLinkMessageRaw::V2(r) => {
            if r.incompatibility_flags() & mavlink::consts::v2::IFLAG_SIGNED != 0 {
                signing.verify_signature(r)
            } else {
                ALLOWED_UNSIGNED.contains(&r.message_id())
            }
        }
    }
}

/// Decodes every frame in `bytes` (a datagram), appending to `out`. Never panics; anything
/// that is not a valid frame is counted in `counters.malformed_bytes` and skipped.
pub fn decode_datagram(
    bytes: &[u8],
    signing: Option<&SigningData>,
    counters: &mut RxCounters,
    out: &mut Vec<Decoded>,
) {
    let mut reader = MavlinkReader::new(bytes);
    let mut framed = 0usize;
    while let Ok(raw) = reader.read_any_raw_message::<MavMessage>() {
        framed += raw_bytes(&raw).len();
        if let Some(d) = accept_raw(&raw, signing, counters) {
            out.push(d);
        }
    }
    counters.malformed_bytes += bytes.len().saturating_sub(framed) as u64;
}

/// Checks the signature policy and parses one CRC-checked frame, counting the outcome.
pub fn accept_raw(
    raw: &MAVLinkMessageRaw,
    signing: Option<&SigningData>,
    counters: &mut RxCounters,
) -> Option<Decoded> {
    if let Some(s) = signing
        && !signature_ok(raw, s)
    {
        counters.rejected_signature += 1;
        return None;
    }
    let d = decode_raw(raw);
    if d.is_some() {
        counters.frames += 1;
    } else {
        counters.unparsed_frames += 1;
    }
    d
}

/// Parses a CRC-checked raw frame into a message.
pub fn decode_raw(raw: &MAVLinkMessageRaw) -> Option<Decoded> {
    let header = MavHeader {
        system_id: raw.system_id(),
        component_id: raw.component_id(),
        sequence: raw.sequence(),
    };
    let msg = MavMessage::parse(raw.version(), raw.message_id(), raw.payload()).ok()?;
    Some(Decoded {
        header,
        msg,
        raw: raw_bytes(raw).to_vec(),
    })
}

/// Encodes `msg` as a `MAVLink` 2 frame (signed when `signing` is given) into `buf`.
pub fn encode(
    header: MavHeader,
    msg: &MavMessage,
    signing: Option<&SigningData>,
    buf: &mut Vec<u8>,
) -> Result<(), mavlink::error::MessageWriteError> {
    buf.clear();
    mavlink::write_v2_msg_signed(buf, header, msg, signing).map(|_| ())
}

/// Message id of a message (re-exported for callers that only hold the enum).
pub fn message_id(msg: &MavMessage) -> u32 {
    msg.message_id()
}

#[cfg(test)]
mod tests {
    use super::*;
    use mavlink::SigningConfig;
    use mavlink::dialects::ardupilotmega as mav;
    use proptest::prelude::*;

    fn heartbeat() -> MavMessage {
        MavMessage::HEARTBEAT(mav::HEARTBEAT_DATA {
            custom_mode: 4,
            mavtype: mav::MavType::MAV_TYPE_QUADROTOR,
            autopilot: mav::MavAutopilot::MAV_AUTOPILOT_ARDUPILOTMEGA,
            base_mode: mav::MavModeFlag::MAV_MODE_FLAG_CUSTOM_MODE_ENABLED,
            system_status: mav::MavState::MAV_STATE_STANDBY,
            mavlink_version: 3,
        })
    }

    fn frame(seq: u8) -> Vec<u8> {
        let mut b = Vec::new();
        encode(
            MavHeader {
                system_id: 7,
                component_id: 1,
                sequence: seq,
            },
            &heartbeat(),
            None,
            &mut b,
        )
        .unwrap();
        b
    }

    #[test]
    fn garbage_between_frames_is_counted_and_skipped() {
        let mut bytes = b"\x00\xfdjunk".to_vec();
        bytes.extend(frame(1));
        bytes.extend([0xfe, 0x03, 0x00]);
        bytes.extend(frame(2));
        let truncated = frame(3);
        bytes.extend(&truncated[..truncated.len() - 4]);
        let (mut c, mut out) = (RxCounters::default(), Vec::new());
        decode_datagram(&bytes, None, &mut c, &mut out);
        assert_eq!(out.len(), 2);
        assert_eq!(out[0].header.sequence, 1);
        assert_eq!(out[1].header.system_id, 7);
        assert_eq!(c.frames, 2);
        assert_eq!(c.malformed_bytes, (bytes.len() - 2 * frame(0).len()) as u64);
    }

    #[test]
    fn signing_accepts_signed_rejects_unsigned_and_replayed() {
        let key = [42u8; 32];
        let tx = SigningData::from_config(SigningConfig::new(key, 1, true, false));
        let rx = SigningData::from_config(SigningConfig::new(key, 1, true, false));
        let wrong = SigningData::from_config(SigningConfig::new([1u8; 32], 1, true, false));
        let mut signed = Vec::new();
        encode(
            MavHeader {
                system_id: 7,
                component_id: 1,
                sequence: 0,
            },
            &heartbeat(),
            Some(&tx),
            &mut signed,
        )
        .unwrap();
        let (mut c, mut out) = (RxCounters::default(), Vec::new());
        decode_datagram(&signed, Some(&rx), &mut c, &mut out);
        assert_eq!((out.len(), c.rejected_signature), (1, 0));
        // Replay of the very same frame: rejected.
        decode_datagram(&signed, Some(&rx), &mut c, &mut out);
        assert_eq!((out.len(), c.rejected_signature), (1, 1));
        // Unsigned: rejected. Wrong key: rejected.
        decode_datagram(&frame(5), Some(&rx), &mut c, &mut out);
        let mut other = Vec::new();
        encode(
            MavHeader {
                system_id: 8,
                component_id: 1,
                sequence: 0,
            },
            &heartbeat(),
            Some(&wrong),
            &mut other,
        )
        .unwrap();
        decode_datagram(&other, Some(&rx), &mut c, &mut out);
        assert_eq!((out.len(), c.rejected_signature), (1, 3));
        // RADIO_STATUS is allowed unsigned.
        let radio = MavMessage::RADIO_STATUS(mav::RADIO_STATUS_DATA {
            rxerrors: 0,
            fixed: 0,
            rssi: 200,
            remrssi: 190,
            txbuf: 90,
            noise: 10,
            remnoise: 12,
        });
        let mut rb = Vec::new();
        encode(
            MavHeader {
                system_id: 51,
                component_id: 68,
                sequence: 0,
            },
            &radio,
            None,
            &mut rb,
        )
        .unwrap();
        decode_datagram(&rb, Some(&rx), &mut c, &mut out);
        assert_eq!(out.len(), 2);
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]
        #[test]
        fn random_bytes_never_panic_and_are_accounted(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
            let (mut c, mut out) = (RxCounters::default(), Vec::new());
            decode_datagram(&bytes, None, &mut c, &mut out);
            let framed: usize = out.iter().map(|d| d.raw.len()).sum();
            prop_assert!(c.malformed_bytes as usize + framed <= bytes.len());
        }

        #[test]
        fn valid_frames_survive_random_noise_around_them(pre in proptest::collection::vec(any::<u8>(), 0..64), post in proptest::collection::vec(any::<u8>(), 0..64), seq in any::<u8>()) {
            // Noise without a start-of-frame marker cannot swallow the real frame.
            let pre: Vec<u8> = pre.into_iter().filter(|b| *b != 0xfd && *b != 0xfe).collect();
            let mut bytes = pre.clone();
            bytes.extend(frame(seq));
            bytes.extend(post);
            let (mut c, mut out) = (RxCounters::default(), Vec::new());
            decode_datagram(&bytes, None, &mut c, &mut out);
            prop_assert!(out.iter().any(|d| d.header.sequence == seq && d.header.system_id == 7));
        }
    }
}
