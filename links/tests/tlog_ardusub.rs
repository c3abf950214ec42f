//! The tlog reader on a real ArduSub telemetry log (MIT-licensed, from
//! `bluerobotics/mavlink-server`): pymavlink reads 30,439 messages from it.

use aviary_links::mav::TlogReader;
use mavlink::dialects::ardupilotmega::MavMessage;
use std::path::Path;

#[test]
fn reads_every_message_of_the_ardusub_log() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/ardusub-mavlink-server.tlog");
    let mut reader = TlogReader::open(&path).expect("log present");
    let mut count = 0usize;
    let mut heartbeats = 0usize;
    let mut first_ts = None;
    let mut last_ts = 0;
    for rec in reader.by_ref() {
        count += 1;
        first_ts.get_or_insert(rec.timestamp_us);
        last_ts = rec.timestamp_us;
        if matches!(rec.frame.msg, MavMessage::HEARTBEAT(_)) {
            heartbeats += 1;
        }
    }
    let parsed_or_known = count as u64 + reader.unparsed_frames();
    assert_eq!(
        parsed_or_known,
        30_439,
        "decoded {count}, unparsed {}, skipped bytes {}",
        reader.unparsed_frames(),
        reader.skipped_bytes()
    );
    assert_eq!(reader.skipped_bytes(), 0);
    assert!(heartbeats > 100);
    let span_s = (last_ts - first_ts.unwrap_or(0)) as f64 / 1e6;
    assert!((240.0..250.0).contains(&span_s), "log spans {span_s} s");
}
