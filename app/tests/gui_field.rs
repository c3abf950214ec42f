//! The desktop in the field (issue 18), driven by label through `egui_kittest` on the real app
//! state: the flight display of a simulated vehicle on real MAVLink, naturally sorted drone
//! lists, alerts grouped with a banner and a sound, and deletions that ask first while the
//! Monitor's buttons stay put, and the terrain status of a vehicle that reports one.

use aviary_app::gui::app::AviaryApp;
use aviary_app::gui::command::Command;
use aviary_app::gui::state::{AlertKind, AlertSeverity, FaultKind, TerrainStatus, View};
use aviary_core::{Drone, DroneId, DroneStatus, MissionId, MissionStatus};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT as _, Queryable as _};
use std::time::{Duration, Instant};

fn app(dir: &std::path::Path, simulated_fleet: bool) -> AviaryApp {
    let start = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    AviaryApp::headless(&dir.join("aviary.db"), start, simulated_fleet).expect("store")
}

fn harness(app: AviaryApp) -> Harness<'static, AviaryApp> {
    Harness::builder()
        .with_size([1600.0, 1000.0])
        .build_ui_state(|ui, app: &mut AviaryApp| app.frame_ui(ui), app)
}

/// Steps until `done` holds; the simulated vehicles answer over real UDP, so this waits for a
/// real peer (bounded), it does not sleep a fixed time to decide anything.
fn step_until(h: &mut Harness<'_, AviaryApp>, what: &str, done: impl Fn(&AviaryApp) -> bool) {
    let deadline = Instant::now() + Duration::from_mins(1);
    while !done(h.state()) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(2);
}

fn send(h: &mut Harness<'_, AviaryApp>, command: Command) {
    h.state_mut().commands.send(command);
    h.state_mut().handle_commands();
}

#[test]
fn flight_display_shows_what_the_simulated_vehicle_reports() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(app(dir.path(), true));
    h.run_steps(2);
    // A simulated vehicle whose attitude, home, AMSL altitude and battery have arrived.
    let ready = |a: &AviaryApp| {
        a.state
            .drones
            .values()
            .find(|d| {
                d.simulated
                    && d.link.attitude.is_some()
                    && d.link.home.is_some()
                    && d.link.alt_amsl_m.is_some()
                    && d.link.battery_v.is_some()
                    && d.link.battery_current_a.is_some()
            })
            .map(|d| d.drone.id)
    };
    step_until(&mut h, "a vehicle's full state", |a| ready(a).is_some());
    let drone = ready(h.state()).expect("ready");
    h.state_mut().state.selected_drone = Some(drone);
    h.state_mut().state.view = View::Monitor;
    h.run_steps(3);
    let d = h.state().state.drones[&drone].clone();
    h.get_by_label("Flight display");
    h.get_by_label_contains("Attitude: roll");
    h.get_by_label_contains("Heading: ");
    // The mode as the vehicle reports it, and its armed state.
    assert_eq!(d.link.mode, "STABILIZE");
    h.get_by_label("STABILIZE");
    h.get_by_label("DISARMED");
    h.get_by_label("Altitude (AMSL)");
    h.get_by_label(&format!(
        "{:.1} m",
        d.link.alt_amsl_m.expect("AMSL altitude")
    ));
    let battery = h.get_by_label_contains(" V · ");
    let text = battery
        .accesskit_node()
        .label()
        .filter(|l| !l.is_empty())
        .or_else(|| battery.value())
        .unwrap_or_default();
    assert!(text.ends_with(" A"), "battery shows V, % and A: {text}");
    h.get_by_label("RTK fixed · 10 satellites");
    h.get_by_label("To home");
    h.get_by_label("Mission item");
    h.get_by_label("Vehicle messages (0)");

    // GPS lost: the vehicle's own CRITICAL words reach the list, the fix reads "no fix".
    send(
        &mut h,
        Command::InjectFault {
            drone,
            fault: FaultKind::GpsLoss,
        },
    );
    step_until(&mut h, "the vehicle's GPS glitch message", |a| {
        a.state.drones[&drone]
            .link
            .messages
            .iter()
            .any(|m| m.text.contains("GPS Glitch") && m.severity == 2)
            && a.state.drones[&drone].link.gps_fix < 2
    });
    h.get_by_label_contains("CRITICAL  GPS Glitch or Compass error");
    h.get_by_label("no fix · 0 satellites");
}

#[test]
fn an_unknown_battery_reads_unknown_not_full() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(app(dir.path(), false));
    h.run_steps(2);
    let drone = *h.state().state.drones.keys().next().expect("a demo drone");
    {
        let d = h.state_mut().state.drones.get_mut(&drone).expect("drone");
        // A MAVLink vehicle that never sent a battery report: its sample carries the stored
        // 100 % as a fallback, which is not a measurement.
        d.link.link_quality_pct = Some(97.0);
        d.link.mode = "LOITER".into();
        d.link.battery_pct = None;
        let pos = d.drone.home.offset_ne(30.0, 40.0);
        d.push_sample(aviary_core::TelemetrySample {
            time: chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default(),
            mission_id: None,
            drone_id: drone,
            pos,
            alt_rel_m: 12.0,
            speed_mps: 0.0,
            heading_deg: 90.0,
            battery_pct: 100.0,
            signal_pct: 97.0,
            status: DroneStatus::Available,
        });
    }
    h.state_mut().state.selected_drone = Some(drone);
    h.state_mut().state.view = View::Monitor;
    h.run_steps(3);
    h.get_by_label("LOITER");
    h.get_by_label("Battery");
    assert!(
        h.query_by_label("100 %").is_none(),
        "an unknown battery is not shown full"
    );
    h.get_by_label("50 m"); // to home: 30 m north, 40 m east
    h.get_by_label("Attitude: unknown");
    h.get_by_label("Heading: 090°");
    assert!(
        h.query_all_by_label("unknown").count() >= 2,
        "battery and AMSL"
    );
}

fn add_drone(h: &mut Harness<'_, AviaryApp>, serial: &str) -> DroneId {
    let app = h.state_mut();
    let site = app.state.sites[0].clone();
    let drone = Drone {
        id: DroneId::new_random(),
        site_id: site.id,
        serial_number: serial.to_owned(),
        model: "test quad".to_owned(),
        status: DroneStatus::Available,
        battery_pct: 90,
        last_seen: None,
        home: site.location,
        firmware_version: "t".to_owned(),
        link: None,
        created_at: app.state.now,
    };
    app.backend
        .store
        .insert_drone(&drone)
        .expect("insert drone");
    drone.id
}

#[test]
fn drone_lists_are_in_natural_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(app(dir.path(), false));
    h.run_steps(2);
    for serial in ["ZZ-10", "ZZ-2", "ZZ-1", "ZZ-11", "ZZ-3"] {
        add_drone(&mut h, serial);
    }
    {
        let app = h.state_mut();
        aviary_app::gui::logic::refresh_from_store(&mut app.state, &mut app.backend)
            .expect("refresh");
    }
    h.state_mut().state.view = View::Fleet;
    h.state_mut().state.fleet.filter = "ZZ-".to_owned();
    h.run_steps(3);
    let top = |h: &Harness<'_, AviaryApp>, label: &str| h.get_by_label(label).rect().top();
    let order = ["ZZ-1", "ZZ-2", "ZZ-3", "ZZ-10", "ZZ-11"];
    for pair in order.windows(2) {
        assert!(
            top(&h, pair[0]) < top(&h, pair[1]),
            "{} is listed above {} in the Fleet table",
            pair[0],
            pair[1]
        );
    }
    let names: Vec<String> = aviary_app::gui::state::drones_by_name(&h.state().state.drones)
        .into_iter()
        .map(|d| d.drone.serial_number.clone())
        .filter(|s| s.starts_with("ZZ-"))
        .collect();
    assert_eq!(names, order);
}

#[test]
fn alerts_group_show_a_banner_sound_once_and_acknowledge_all() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(app(dir.path(), false));
    h.run_steps(2);
    h.state_mut().state.view = View::Fleet;
    {
        let s = &mut h.state_mut().state;
        for k in 0..1_000 {
            s.raise_alert(
                AlertKind::LinkLost,
                Some(DroneId::new_random()),
                format!("LL-{k}: no telemetry for 5 s"),
            );
        }
        s.raise_event_alert(
            AlertKind::VehicleFault,
            Some(DroneId::new_random()),
            "GPS Glitch",
        );
    }
    h.run_steps(2);
    // One sound for the whole batch, the critical one.
    assert_eq!(
        h.state().backend.sound.requested,
        vec![AlertSeverity::Critical]
    );
    // The banner shows in any view, the glitch on top of the flood.
    h.get_by_label_contains("CRITICAL · Vehicle fault · ");
    h.get_by_label("Acknowledge all (1001)");
    h.get_by_label("Show").click();
    h.run_steps(2);
    assert_eq!(h.state().state.view, View::Monitor);
    h.get_by_label("Critical · Link lost — 1000 open of 1000 on 1000 drones");
    h.get_by_label("Critical · Vehicle fault — 1 open of 1");
    // The banner's Acknowledge takes its group; the flood comes up next.
    h.get_by_label("Acknowledge").click();
    h.run_steps(2);
    assert_eq!(h.state().state.open_alerts(), 1_000);
    h.get_by_label_contains("CRITICAL · Link lost · ");
    h.get_by_label("Acknowledge all (1000)").click();
    h.run_steps(2);
    assert_eq!(h.state().state.open_alerts(), 0);
    assert!(
        h.query_by_label_contains("CRITICAL · ").is_none(),
        "banner gone"
    );

    // Muted critical alerts still show but do not sound; warnings still sound.
    h.state_mut().settings.mute_critical = true;
    h.state_mut().state.view = View::Settings;
    h.run_steps(2);
    let muted = h.get_by_label("Mute critical alerts (three beeps)");
    assert_eq!(
        muted.accesskit_node().toggled(),
        Some(egui::accesskit::Toggled::True)
    );
    h.state_mut()
        .state
        .raise_alert(AlertKind::Geofence, None, "left the area");
    h.run_steps(2);
    h.get_by_label_contains("CRITICAL · Geofence · left the area");
    assert_eq!(h.state().backend.sound.requested.len(), 1, "muted");
    h.state_mut()
        .state
        .raise_alert(AlertKind::LowBattery, None, "battery 18 %");
    h.run_steps(2);
    assert_eq!(
        h.state().backend.sound.requested,
        vec![AlertSeverity::Critical, AlertSeverity::Warning]
    );
}

/// A second planned mission beside the demo one, stored.
fn second_mission(h: &mut Harness<'_, AviaryApp>, name: &str) -> MissionId {
    let app = h.state_mut();
    let mut m = app.state.missions[0].clone();
    m.id = MissionId::new_random();
    name.clone_into(&mut m.name);
    m.drone_id = None;
    app.backend
        .store
        .insert_mission(&m)
        .expect("insert mission");
    aviary_app::gui::logic::refresh_from_store(&mut app.state, &mut app.backend).expect("refresh");
    m.id
}

#[test]
fn deletions_ask_first_and_monitor_buttons_stay_put() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(app(dir.path(), false));
    h.run_steps(2);
    assert!(!h.state().state.missions.is_empty(), "the demo mission");
    let first = h.state().state.missions[0].id;
    let b = second_mission(&mut h, "Second survey");
    let c = second_mission(&mut h, "Third survey");
    h.state_mut().state.view = View::Monitor;
    h.state_mut().state.selected_mission = Some(c);
    h.run_steps(3);
    let start = h.get_by_label("Start").rect();
    let delete = h.get_by_label("Delete plan").rect();
    // A finished mission drops out of the list (as the store refresh does): nothing moves.
    h.state_mut().state.missions.retain(|m| m.id != first);
    h.run_steps(3);
    assert_eq!(h.get_by_label("Start").rect(), start);
    assert_eq!(h.get_by_label("Delete plan").rect(), delete);

    // Delete plan asks; Cancel keeps the mission.
    h.get_by_label("Delete plan").click();
    h.run_steps(2);
    h.get_by_label("Delete plan?");
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    assert!(h.query_by_label("Delete plan?").is_none());
    // `None`: no longer in the store.
    let status = |h: &Harness<'_, AviaryApp>, id| {
        h.state()
            .backend
            .store
            .get_mission(id)
            .ok()
            .map(|m| m.status)
    };
    assert_eq!(status(&h, c), Some(MissionStatus::Planned));
    // Delete deletes.
    h.get_by_label("Delete plan").click();
    h.run_steps(2);
    h.get_by_label("Delete").click();
    h.run_steps(3);
    assert!(
        matches!(status(&h, c), None | Some(MissionStatus::Deleted)),
        "{:?}",
        status(&h, c)
    );
    assert_eq!(status(&h, b), Some(MissionStatus::Planned));
    assert!(!h.state().state.missions.iter().any(|m| m.id == c));
}

#[test]
fn status_words_are_for_people_and_stale_notices_clear() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(app(dir.path(), false));
    h.run_steps(2);
    assert!(!h.state().state.missions.is_empty(), "the demo mission");
    let m = h.state().state.missions[0].clone();
    h.state_mut().state.missions[0].status = MissionStatus::InProgress;
    h.state_mut().state.selected_mission = Some(m.id);
    h.state_mut().state.view = View::Monitor;
    h.run_steps(3);
    // "in progress" in the mission list and the mission's own status line, never the stored
    // spelling.
    h.get_by_label_contains(&format!("{} · in progress · ", m.name));
    h.get_by_label("Mission status: in progress");
    assert!(h.query_by_label_contains("in_progress").is_none());
    h.state_mut().state.view = View::Fleet;
    h.run_steps(3);
    assert!(h.query_by_label_contains("in_mission").is_none());

    // A finished upload's notice stands for ten seconds, an error for a minute; then the
    // status bar says "Ready" again.
    let now = h.state().state.now;
    let notice = |h: &mut Harness<'_, AviaryApp>, age_s: i64, error: bool, text: &str| {
        let n = &mut h.state_mut().state;
        n.notices.clear();
        n.notices.push_back(aviary_app::gui::state::Notice {
            time: now - chrono::Duration::seconds(age_s),
            text: text.to_owned(),
            error,
        });
        h.run_steps(2);
    };
    notice(&mut h, 3, false, "mission uploaded to MAV-1: 101 items");
    h.get_by_label_contains("mission uploaded to MAV-1: 101 items");
    notice(&mut h, 11, false, "mission uploaded to MAV-1: 101 items");
    assert!(h.query_by_label_contains("uploaded to MAV-1").is_none());
    h.get_by_label("Ready");
    notice(&mut h, 30, true, "cannot reach MAV-2");
    h.get_by_label_contains("cannot reach MAV-2");
    notice(&mut h, 61, true, "cannot reach MAV-2");
    assert!(h.query_by_label_contains("cannot reach MAV-2").is_none());
}

#[test]
fn plots_offer_a_window_and_show_the_latest_values() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(app(dir.path(), false));
    h.run_steps(2);
    let drone = *h.state().state.drones.keys().next().expect("a demo drone");
    let now = h.state().state.now;
    {
        let d = h.state_mut().state.drones.get_mut(&drone).expect("drone");
        // Three minutes at 1 Hz with the link silent for 20 s in the middle.
        for k in (0..180).filter(|k| !(80..100).contains(k)) {
            d.push_sample(aviary_core::TelemetrySample {
                time: now - chrono::Duration::seconds(180 - k),
                mission_id: None,
                drone_id: drone,
                pos: d.drone.home,
                alt_rel_m: 243.08,
                speed_mps: 4.0,
                heading_deg: 90.0,
                battery_pct: 81.0,
                signal_pct: 97.0,
                status: DroneStatus::InMission,
            });
        }
        assert_eq!(
            d.plot.iter().filter(|s| s.after_gap).count(),
            1,
            "the dropout is one gap"
        );
    }
    h.state_mut().state.selected_drone = Some(drone);
    h.state_mut().state.view = View::Monitor;
    h.run_steps(3);
    h.get_by_label("Altitude (m): 243.1");
    h.get_by_label("Battery (%): 81.0");
    assert_eq!(
        h.state().state.plot_window,
        aviary_app::gui::state::PlotWindow::Last2min
    );
    for label in ["30 s", "2 min", "10 min"] {
        h.get_by_label(label);
    }
    // (In this harness the first click on the plots' row is not delivered — checked by hand
    // in the real window under Xvfb, where one click switches — so the row is clicked twice.)
    h.get_by_label("10 min").click();
    h.run_steps(2);
    h.get_by_label("Whole flight").click();
    h.run_steps(2);
    assert_eq!(
        h.state().state.plot_window,
        aviary_app::gui::state::PlotWindow::Flight
    );
}

#[test]
fn the_map_goes_to_coordinates_and_a_far_survey_is_flagged() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(app(dir.path(), false));
    h.state_mut().state.view = View::Plan;
    h.run_steps(2);
    // Go to coordinates: the map centres on the typed position.
    h.state_mut().map.goto_text = "48.8584, 2.2945".to_owned();
    h.get_by_label("Go").click();
    h.run_steps(3);
    let centre = h
        .state()
        .map
        .memory
        .detached()
        .expect("the map left its home");
    assert!(
        (centre.y() - 48.8584).abs() < 1e-3 && (centre.x() - 2.2945).abs() < 1e-3,
        "{centre:?}"
    );
    // A position that is not one says why, and the map stays.
    h.state_mut().map.goto_text = "91, 2".to_owned();
    h.get_by_label("Go").click();
    h.run_steps(2);
    let why = h.state().map.goto_error.clone().expect("an error");
    h.get_by_label(&why);
    assert!(why.contains("91"), "{why}");
    // A survey thousands of km from the assigned drone's home is flagged next to Save.
    let drone = *h.state().state.drones.keys().next().expect("a demo drone");
    {
        let st = &mut h.state_mut().state;
        st.plan.site = st.drones.get(&drone).map(|d| d.drone.site_id);
        st.plan.drone = Some(drone);
        st.plan.set_vertices(vec![
            aviary_core::LatLon::new(40.70, -74.00),
            aviary_core::LatLon::new(40.70, -73.99),
            aviary_core::LatLon::new(40.71, -73.99),
        ]);
    }
    h.run_steps(3);
    let warning = h.get_by_label_contains("'s home (pre-flight allows 5.0 km)");
    let text = warning
        .accesskit_node()
        .label()
        .filter(|l| !l.is_empty())
        .or_else(|| warning.value())
        .unwrap_or_default();
    assert!(text.starts_with("The survey is "), "{text}");
}

#[test]
fn the_built_in_chooser_imports_an_area_and_says_why_it_cannot() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fields = dir.path().join("fields");
    std::fs::create_dir(&fields).expect("mkdir");
    std::fs::write(
        fields.join("north field.geojson"),
        r#"{"type":"Polygon","coordinates":[[[8.50,47.40],[8.504,47.40],[8.504,47.403],[8.50,47.403],[8.50,47.40]]]}"#,
    )
    .expect("write area");
    std::fs::write(fields.join("notes.docx"), b"x").expect("write");
    let mut h = harness(app(dir.path(), false));
    h.state_mut().settings.file_dialog = aviary_app::gui::settings::FileDialogChoice::BuiltIn;
    h.state_mut().state.view = View::Plan;
    h.run_steps(2);
    send(&mut h, Command::ImportArea);
    h.run_steps(2);
    h.get_by_label("Import survey area or mission");
    // A folder that is not there: the chooser says why and stays.
    send(
        &mut h,
        Command::ChooserList(dir.path().join("no such folder")),
    );
    h.run_steps(2);
    h.get_by_label_contains("cannot open");
    send(&mut h, Command::ChooserList(fields.clone()));
    h.run_steps(2);
    assert!(
        h.query_by_label_contains("notes.docx").is_none(),
        "only area and mission files are listed"
    );
    // Open with nothing picked says what is missing.
    h.get_by_label("Open").click();
    h.run_steps(2);
    h.get_by_label("choose a file");
    h.get_by_label_contains("north field.geojson").click();
    h.run_steps(1);
    h.get_by_label("Open").click();
    step_until(&mut h, "the imported area", |a| {
        a.state.plan.vertices.len() == 4
    });
    assert!(h.state().state.chooser.is_none(), "the chooser closed");
    // Up goes to the parent folder next time.
    send(&mut h, Command::OpenTlog);
    h.run_steps(2);
    h.get_by_label("Up").click();
    h.run_steps(2);
    let listed = h.state().state.chooser.as_ref().map(|c| c.dir.clone());
    assert_eq!(listed.as_deref(), Some(dir.path()));
    h.get_by_label("fields/");
    // Home lists the user's home folder.
    h.get_by_label("Home").click();
    h.run_steps(2);
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        let listed = h.state().state.chooser.as_ref().map(|c| c.dir.clone());
        assert_eq!(listed, Some(std::path::PathBuf::from(home)));
    }
    h.get_by_label("Cancel").click();
    h.run_steps(2);
    assert!(h.state().state.chooser.is_none());
}

#[test]
fn terrain_status_shows_only_when_the_vehicle_reports_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(app(dir.path(), false));
    h.run_steps(2);
    let drone = *h.state().state.drones.keys().next().expect("a demo drone");
    h.state_mut().state.selected_drone = Some(drone);
    h.state_mut().state.view = View::Monitor;
    h.run_steps(3);
    assert!(h.query_by_label("Terrain").is_none(), "no terrain row");

    let set = |h: &mut Harness<'_, AviaryApp>, t: TerrainStatus| {
        let d = h.state_mut().state.drones.get_mut(&drone).expect("drone");
        d.link.link_quality_pct = Some(97.0);
        d.link.terrain = Some(t);
    };
    set(
        &mut h,
        TerrainStatus {
            terrain_height_m: None,
            above_terrain_m: None,
            pending: 56,
            loaded: 0,
        },
    );
    h.run_steps(3);
    h.get_by_label("Terrain");
    h.get_by_label("no data here · 0 loaded · 56 pending");
    set(
        &mut h,
        TerrainStatus {
            terrain_height_m: Some(1203.4),
            above_terrain_m: Some(29.6),
            pending: 0,
            loaded: 504,
        },
    );
    h.run_steps(3);
    h.get_by_label("1203 m AMSL, 30 m above · 504 loaded · 0 pending");
}

#[test]
fn the_live_refresh_rate_chosen_in_settings_paces_the_live_views() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(app(dir.path(), false));
    h.state_mut().state.view = View::Monitor;
    h.run_steps(2);
    let delay_ms =
        |h: &Harness<'_, AviaryApp>| h.state().backend.repaint_delay_ms.load(Ordering::Relaxed);
    assert_eq!(delay_ms(&h), 250, "4 Hz by default: the telemetry rate");

    // Settings → Display → "2 Hz (battery saver)".
    h.state_mut().state.view = View::Settings;
    h.run_steps(2);
    assert_eq!(delay_ms(&h), 1_000, "a static view redraws once a second");
    h.get_by_role_and_label(egui::accesskit::Role::ComboBox, "Live refresh")
        .click();
    h.run_steps(2);
    h.get_by_label("2 Hz (battery saver)").click();
    h.run_steps(2);
    assert_eq!(h.state().settings.live_refresh_hz, 2);

    h.state_mut().state.view = View::Monitor;
    h.run_steps(2);
    assert_eq!(delay_ms(&h), 500, "the Monitor at 2 Hz");
    h.state_mut().state.view = View::Fleet;
    h.run_steps(2);
    assert_eq!(delay_ms(&h), 500, "the Fleet at 2 Hz");

    // A rate outside the list in a hand-edited settings file stays within 1–10 Hz.
    h.state_mut().settings.live_refresh_hz = 0;
    h.run_steps(2);
    assert_eq!(delay_ms(&h), 1_000);
    h.state_mut().settings.live_refresh_hz = 60;
    h.run_steps(2);
    assert_eq!(delay_ms(&h), 100);
}
