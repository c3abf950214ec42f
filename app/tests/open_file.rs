//! The file the app is started with (what a double-click on a `.plan` or `.tlog` in the file
//! manager passes: `aviary FILE`) and a file dropped on the window in any view open the same
//! way: a survey area or a mission in the Plan view, a telemetry log in History for replay;
//! anything else is refused in the window with what Aviary opens.

use aviary_app::gui::app::AviaryApp;
use aviary_app::gui::state::View;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;

fn app(dir: &std::path::Path) -> AviaryApp {
    let start = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    AviaryApp::headless(&dir.join("aviary.db"), start, false).expect("store")
}

fn harness(app: AviaryApp) -> Harness<'static, AviaryApp> {
    Harness::builder()
        .with_size([1500.0, 950.0])
        .build_ui_state(|ui, app: &mut AviaryApp| app.frame_ui(ui), app)
}

fn last_notice(h: &Harness<'_, AviaryApp>) -> (String, bool) {
    let n = h.state().state.notices.back().expect("a notice");
    (n.text.clone(), n.error)
}

/// Runs frames until the last notice starts with `prefix` (file jobs run in the background).
fn wait_for_notice(h: &mut Harness<'_, AviaryApp>, prefix: &str) -> (String, bool) {
    for _ in 0..400 {
        h.run_steps(1);
        if let Some(n) = h.state().state.notices.back()
            && n.text.starts_with(prefix)
        {
            return (n.text.clone(), n.error);
        }
        std::thread::yield_now();
    }
    panic!("no notice starting {prefix:?}; last: {:?}", last_notice(h));
}

/// MAVLink's X.25 checksum, written out here so the log below is built by hand, byte by byte,
/// as another tool would write it (not by the links crate that reads it).
fn crc_x25(bytes: &[u8], mut crc: u16) -> u16 {
    for &b in bytes {
        let mut tmp = b ^ (crc & 0xff) as u8;
        tmp ^= tmp << 4;
        crc = (crc >> 8) ^ (u16::from(tmp) << 8) ^ (u16::from(tmp) << 3) ^ (u16::from(tmp) >> 4);
    }
    crc
}

/// A MAVLink v1 `GLOBAL_POSITION_INT` frame (id 33, CRC extra 104) as a `.tlog` record.
fn position_record(time_us: u64, seq: u8, lat_deg: f64, lon_deg: f64, rel_alt_m: f64) -> Vec<u8> {
    let mut payload = Vec::with_capacity(28);
    payload.extend_from_slice(&(time_us / 1000).to_le_bytes()[..4]);
    payload.extend_from_slice(&((lat_deg * 1e7).round() as i32).to_le_bytes());
    payload.extend_from_slice(&((lon_deg * 1e7).round() as i32).to_le_bytes());
    payload.extend_from_slice(&(((rel_alt_m + 400.0) * 1000.0) as i32).to_le_bytes());
    payload.extend_from_slice(&((rel_alt_m * 1000.0) as i32).to_le_bytes());
    payload.extend_from_slice(&[0; 6]); // vx, vy, vz
    payload.extend_from_slice(&9000u16.to_le_bytes()); // heading 90°
    let mut frame = vec![0xFE, 28, seq, 1, 1, 33];
    frame.extend_from_slice(&payload);
    let crc = crc_x25(&[104], crc_x25(&frame[1..], 0xFFFF));
    frame.extend_from_slice(&crc.to_le_bytes());
    let mut record = time_us.to_be_bytes().to_vec();
    record.extend_from_slice(&frame);
    record
}

#[test]
fn the_start_file_opens_in_its_view_area_mission_and_log() {
    let dir = tempfile::tempdir().expect("temp dir");

    // A GeoJSON area: the Plan view with its vertices.
    let area = dir.path().join("north field.geojson");
    std::fs::write(
        &area,
        r#"{"type":"Polygon","coordinates":[[[8.50,47.40],[8.504,47.40],[8.504,47.403],[8.50,47.403],[8.50,47.40]]]}"#,
    )
    .expect("write area");
    let mut a = app(dir.path());
    assert_ne!(a.state.view, View::Plan, "the app starts elsewhere");
    a.open_file(&area);
    let mut h = harness(a);
    let (text, error) = wait_for_notice(&mut h, "imported");
    assert!(!error, "{text}");
    assert_eq!(h.state().state.view, View::Plan);
    assert_eq!(h.state().state.plan.vertices.len(), 4);
    // The map moved to the area and zoomed so that it fills the map.
    h.run_steps(2);
    let centre = h.state().map.memory.detached().expect("the map moved");
    assert!(
        (centre.y() - 47.4015).abs() < 1e-4 && (centre.x() - 8.502).abs() < 1e-4,
        "{centre:?}"
    );
    let zoom = h.state().map.memory.zoom();
    assert!((15.0..19.0).contains(&zoom), "zoom {zoom}");

    // A telemetry log: History with the replay loaded.
    let log = dir.path().join("flight 1.tlog");
    let mut bytes = Vec::new();
    for i in 0..20u8 {
        bytes.extend(position_record(
            1_800_000_000_000_000 + u64::from(i) * 100_000,
            i,
            47.40 + f64::from(i) * 1e-5,
            8.50,
            30.0,
        ));
    }
    std::fs::write(&log, bytes).expect("write tlog");
    h.state_mut().open_file(&log);
    let (text, error) = wait_for_notice(&mut h, "loaded flight 1.tlog");
    assert!(!error, "{text}");
    assert!(text.contains("20 positions"), "{text}");
    assert!(text.contains("0 mode changes"), "{text}");
    assert_eq!(h.state().state.view, View::History);
    let replay = h.state().state.history.replay.as_ref().expect("a replay");
    assert_eq!(replay.samples.len(), 20);
    h.run_steps(2);
    let centre = h.state().map.memory.detached().expect("the map moved");
    assert!((centre.y() - 47.400_095).abs() < 1e-5, "{centre:?}");
}

#[test]
fn a_log_without_positions_or_an_unknown_file_is_an_error_in_the_window() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(app(dir.path()));
    h.run_steps(2);

    let junk = dir.path().join("empty.tlog");
    std::fs::write(&junk, b"not a log at all").expect("write");
    h.state_mut().open_file(&junk);
    let (text, error) = wait_for_notice(&mut h, "cannot replay");
    assert!(error, "{text}");
    assert!(
        text.contains("empty.tlog") && text.contains("GLOBAL_POSITION_INT"),
        "{text}"
    );
    assert!(h.state().state.history.replay.is_none());

    let before = h.state().state.view;
    let doc = dir.path().join("notes.docx");
    std::fs::write(&doc, b"x").expect("write");
    h.state_mut().open_file(&doc);
    let (text, error) = last_notice(&h);
    assert!(error, "{text}");
    assert!(
        text.starts_with("cannot open") && text.contains("notes.docx") && text.contains(".tlog"),
        "{text}"
    );
    assert_eq!(
        h.state().state.view,
        before,
        "a refused file changes no view"
    );
}

/// A MAVLink v1 `HEARTBEAT` frame (id 0, CRC extra 50) of an ArduCopter quadrotor.
fn heartbeat_record(time_us: u64, seq: u8, custom_mode: u32, armed: bool) -> Vec<u8> {
    let mut payload = custom_mode.to_le_bytes().to_vec();
    payload.push(2); // MAV_TYPE_QUADROTOR
    payload.push(3); // MAV_AUTOPILOT_ARDUPILOTMEGA
    payload.push(if armed { 0x80 | 0x01 } else { 0x01 }); // SAFETY_ARMED, CUSTOM_MODE_ENABLED
    payload.push(4); // MAV_STATE_ACTIVE
    payload.push(3);
    let mut frame = vec![0xFE, 9, seq, 1, 1, 0];
    frame.extend_from_slice(&payload);
    let crc = crc_x25(&[50], crc_x25(&frame[1..], 0xFFFF));
    frame.extend_from_slice(&crc.to_le_bytes());
    let mut record = time_us.to_be_bytes().to_vec();
    record.extend_from_slice(&frame);
    record
}

#[test]
fn a_replayed_log_shows_its_flight_modes_and_a_log_without_gps_says_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(app(dir.path()));
    h.run_steps(2);
    let t0 = 1_800_000_000_000_000u64;
    let mut bytes = heartbeat_record(t0, 0, 0, false); // STABILIZE, disarmed
    for i in 0..40u8 {
        let t = t0 + u64::from(i) * 500_000;
        if i == 10 {
            bytes.extend(heartbeat_record(t, i, 3, true)); // AUTO, armed
        }
        if i == 30 {
            bytes.extend(heartbeat_record(t, i, 6, true)); // RTL
        }
        bytes.extend(position_record(
            t + 1,
            i,
            47.40 + f64::from(i) * 1e-5,
            8.50,
            30.0,
        ));
    }
    let log = dir.path().join("modes.tlog");
    std::fs::write(&log, bytes).expect("write tlog");
    h.state_mut().open_file(&log);
    let (text, error) = wait_for_notice(&mut h, "loaded modes.tlog");
    assert!(!error, "{text}");
    assert!(text.contains("40 positions, 3 mode changes"), "{text}");
    let labels: Vec<String> = h
        .state()
        .state
        .history
        .replay
        .as_ref()
        .expect("a replay")
        .timeline
        .iter()
        .map(|m| m.label.clone())
        .collect();
    assert_eq!(labels, ["STABILIZE · disarmed", "AUTO", "RTL"]);
    h.run_steps(2);
    h.get_by_label("Mode: STABILIZE · disarmed (since 0:00)");
    // No SYS_STATUS in the log: the battery is unknown, not 100 %.
    h.get_by_label_contains("battery unknown");
    h.get_by_label("Battery (%)");
    // Scrubbing to 10 s: AUTO since 0:05 (RTL comes at 15 s).
    h.state_mut()
        .state
        .history
        .replay
        .as_mut()
        .expect("a replay")
        .t_s = 10.0;
    h.run_steps(2);
    h.get_by_label("Mode: AUTO (since 0:05)");

    // 724 positions at 0°, 0°: the vehicle never had a fix.
    let mut bytes = Vec::new();
    for i in 0..724u32 {
        bytes.extend(position_record(
            t0 + u64::from(i) * 200_000,
            i as u8,
            0.0,
            0.0,
            0.0,
        ));
    }
    let no_gps = dir.path().join("no gps.tlog");
    std::fs::write(&no_gps, bytes).expect("write tlog");
    h.state_mut().open_file(&no_gps);
    let (text, error) = wait_for_notice(&mut h, "cannot replay");
    assert!(error, "{text}");
    assert!(
        text.contains("724 positions") && text.contains("never had a GPS fix"),
        "{text}"
    );
}
