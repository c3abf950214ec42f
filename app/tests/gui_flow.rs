//! The desktop app driven by label through `egui_kittest`, on the real app state: a temp-dir
//! store with the demo seed, the built-in simulated fleet on real UDP sockets behind the
//! real MAVLink link, and an injected manual clock. Plans a crosshatch by typing a polygon,
//! assigns a simulated drone, saves, then starts (overriding the soft pre-flight sortie check
//! with a typed reason), pauses, resumes and aborts the mission, checking the mission state
//! (as the vehicle reports it) and the command outcomes shown after each step.

use aviary_app::gui::app::AviaryApp;
use aviary_app::gui::settings::SimTransport;
use aviary_app::gui::state::{CommandOutcome, View};
use aviary_core::{DroneId, FlightPattern, MissionStatus};
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn app(dir: &std::path::Path, simulated_fleet: bool) -> AviaryApp {
    let start = chrono::DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
    AviaryApp::headless(&dir.join("aviary.db"), start, simulated_fleet).expect("store")
}

fn harness(app: AviaryApp) -> Harness<'static, AviaryApp> {
    Harness::builder()
        .with_size([1500.0, 950.0])
        .build_ui_state(|ui, app: &mut AviaryApp| app.frame_ui(ui), app)
}

/// Steps the harness until `done` holds; the simulated drone answers over real UDP, so this
/// waits for a real peer (bounded), it does not sleep a fixed time.
fn step_until(h: &mut Harness<'_, AviaryApp>, what: &str, done: impl Fn(&AviaryApp) -> bool) {
    let deadline = Instant::now() + Duration::from_mins(1);
    while !done(h.state()) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; notices: {:?}",
            h.state().state.notices
        );
        h.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    h.run_steps(2);
}

/// The polygon text for a ~300 m square next to the first site.
fn square_near_first_site(app: &AviaryApp) -> String {
    let site = app.state.sites.first().expect("a demo site").location;
    let a = site.offset_ne(100.0, 100.0);
    [
        a,
        a.offset_ne(0.0, 300.0),
        a.offset_ne(300.0, 300.0),
        a.offset_ne(300.0, 0.0),
    ]
    .iter()
    .map(|p| format!("{:.6}, {:.6}", p.lat_deg, p.lon_deg))
    .collect::<Vec<_>>()
    .join("; ")
}

#[test]
fn plan_crosshatch_assign_save_then_start_pause_resume_abort() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(app(dir.path(), true));
    h.run_steps(2);
    assert_eq!(h.state().state.drones.len(), 12, "demo fleet seeded");

    // --- plan: type the polygon, choose crosshatch ---
    h.get_by_label("Plan").click();
    h.run_steps(2);
    assert_eq!(h.state().state.view, View::Plan);
    let polygon = square_near_first_site(h.state());
    h.get_by_label("Vertices (lat, lon per line)").focus();
    h.run_steps(1);
    h.get_by_label("Vertices (lat, lon per line)")
        .type_text(&polygon);
    h.run_steps(1);
    h.get_by_label("Apply vertices").click();
    h.run_steps(2);
    assert_eq!(
        h.state().state.plan.vertices.len(),
        4,
        "{:?}",
        h.state().state.plan.vertices_error
    );
    h.get_by_label("Crosshatch").click();
    h.run_steps(4);
    let plan = &h.state().state.plan;
    assert_eq!(plan.pattern, FlightPattern::Crosshatch);
    let preview = plan
        .current_preview()
        .expect("crosshatch planned for the current revision");
    assert!(preview.item_count > 10, "{preview:?}");
    h.get_by_label("Waypoints");

    // --- assign a simulated drone and save ---
    let first_site = h.state().state.sites[0].id;
    let drone = h
        .state()
        .state
        .drones
        .values()
        .filter(|d| {
            d.drone.site_id == first_site
                && d.simulated
                && d.drone.status == aviary_core::DroneStatus::Available
        })
        .map(|d| d.drone.clone())
        .min_by(|a, b| a.serial_number.cmp(&b.serial_number))
        .expect("an available simulated drone at the first site");
    h.get_by_value("— none —").click();
    h.run_steps(2);
    h.get_by_label(&format!("{} (available)", drone.serial_number))
        .click();
    h.run_steps(2);
    assert_eq!(h.state().state.plan.drone, Some(drone.id));
    h.run_steps(3);
    h.get_by_label("Save mission").click();
    h.run_steps(3);
    let mission = h
        .state()
        .state
        .selected_mission
        .expect("saved mission is selected");
    let stored = h
        .state()
        .backend
        .store
        .get_mission(mission)
        .expect("stored");
    assert_eq!(stored.status, MissionStatus::Planned);
    assert_eq!(stored.drone_id, Some(drone.id));
    assert_eq!(stored.flight_pattern, FlightPattern::Crosshatch);

    // --- monitor: start, pause, resume, abort ---
    h.get_by_label_contains("Monitor").click();
    h.run_steps(2);
    h.get_by_label("Mission status: planned");
    // Wait until the simulated drone has been heard on the MAVLink link.
    step_until(&mut h, "the drone's first telemetry", |a| {
        a.state
            .drones
            .get(&drone.id)
            .is_some_and(|d| d.live.is_some())
    });

    for (button, confirm, status, shown) in [
        ("Start", None, MissionStatus::InProgress, "Start: confirmed"),
        ("Pause", None, MissionStatus::Paused, "Pause: confirmed"),
        (
            "Resume",
            None,
            MissionStatus::InProgress,
            "Resume: confirmed",
        ),
        // The mission ends only once the vehicle has landed and disarmed: right after the
        // abort it is still in progress (returning) and the drone busy.
        (
            "Abort",
            Some("Confirm abort"),
            MissionStatus::InProgress,
            "Abort: confirmed",
        ),
    ] {
        h.get_by_label(button).click();
        h.run_steps(2);
        if button == "Start" {
            // The crosshatch needs two batteries: the pre-flight checks refuse the start
            // until the operator overrides the soft check with a reason.
            let prompt = h
                .state()
                .state
                .preflight
                .clone()
                .expect("pre-flight refusal");
            assert!(prompt.overridable, "{prompt:?}");
            assert!(h.state().state.last_command(mission).is_none());
            h.run_steps(2);
            h.get_by_label("Override reason").focus();
            h.run_steps(1);
            h.get_by_label("Override reason")
                .type_text("test field, two packs on the bench");
            h.run_steps(1);
            h.get_by_label("Start anyway").click();
            h.run_steps(2);
            let audit = h.state().backend.store.audit_log().expect("audit");
            assert!(
                audit.iter().any(|a| a.action == "preflight.override"
                    && a.detail.contains("two packs on the bench")),
                "{audit:?}"
            );
        }
        if let Some(confirm) = confirm {
            // Abort asks first; nothing is sent before the confirmation.
            assert!(
                h.state().state.confirm.is_some(),
                "abort asks for confirmation"
            );
            h.get_by_label(confirm).click();
            h.run_steps(1);
        }
        let last = h
            .state()
            .state
            .last_command(mission)
            .expect("command recorded")
            .clone();
        assert!(
            !matches!(last.outcome, CommandOutcome::Failed(_)),
            "{button} failed at once: {:?}",
            last.outcome
        );
        step_until(&mut h, shown, |a| {
            a.state
                .last_command(mission)
                .is_some_and(|c| c.outcome != CommandOutcome::Pending)
                && (matches!(
                    a.state.last_command(mission).map(|c| &c.outcome),
                    Some(CommandOutcome::Failed(_))
                ) || a
                    .backend
                    .store
                    .get_mission(mission)
                    .is_ok_and(|m| m.status == status))
        });
        let last = h
            .state()
            .state
            .last_command(mission)
            .expect("command")
            .clone();
        assert_eq!(
            last.outcome,
            CommandOutcome::Confirmed,
            "{button}: {:?}",
            last.outcome
        );
        h.get_by_label_contains(shown);
        let m = h
            .state()
            .backend
            .store
            .get_mission(mission)
            .expect("mission");
        assert_eq!(m.status, status, "after {button}");
        h.get_by_label(&format!("Mission status: {}", status.label()));
    }
    assert_ne!(
        h.state()
            .backend
            .store
            .get_drone(drone.id)
            .expect("drone")
            .status,
        aviary_core::DroneStatus::Available,
        "a returning drone is busy"
    );
    let cmds = h
        .state()
        .backend
        .store
        .mission_commands(mission)
        .expect("commands");
    let seen: Vec<(String, String)> = cmds
        .into_iter()
        .map(|c| (c.action, c.ack.as_str().to_owned()))
        .collect();
    assert_eq!(
        seen,
        [
            ("start", "confirmed"),
            ("pause", "confirmed"),
            ("resume", "confirmed"),
            ("abort", "confirmed")
        ]
        .map(|(a, s)| (a.to_owned(), s.to_owned()))
    );
}

#[test]
fn a_command_to_a_drone_without_link_fails_visibly() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(app(dir.path(), false));
    h.run_steps(2);
    h.get_by_label("Plan").click();
    h.run_steps(2);
    let polygon = square_near_first_site(h.state());
    h.get_by_label("Vertices (lat, lon per line)").focus();
    h.run_steps(1);
    h.get_by_label("Vertices (lat, lon per line)")
        .type_text(&polygon);
    h.get_by_label("Apply vertices").click();
    h.run_steps(4);
    let first_site = h.state().state.sites[0].id;
    let drone = h
        .state()
        .state
        .drones
        .values()
        .filter(|d| {
            d.drone.site_id == first_site && d.drone.status == aviary_core::DroneStatus::Available
        })
        .min_by(|a, b| a.drone.serial_number.cmp(&b.drone.serial_number))
        .map(|d| d.drone.clone())
        .expect("an available drone at the first site");
    h.get_by_value("— none —").click();
    h.run_steps(2);
    h.get_by_label(&format!("{} (available)", drone.serial_number))
        .click();
    h.run_steps(3);
    h.get_by_label("Save mission").click();
    h.run_steps(3);
    let mission = h.state().state.selected_mission.expect("mission saved");
    h.get_by_label_contains("Monitor").click();
    h.run_steps(2);
    h.get_by_label("Start").click();
    h.run_steps(2);
    let last = h
        .state()
        .state
        .last_command(mission)
        .expect("command")
        .clone();
    assert!(
        matches!(&last.outcome, CommandOutcome::Failed(why) if why.contains("no MAVLink link")),
        "{:?}",
        last.outcome
    );
    h.get_by_label_contains("Start: failed");
    assert_eq!(
        h.state()
            .backend
            .store
            .get_mission(mission)
            .expect("m")
            .status,
        MissionStatus::Planned,
        "state unchanged"
    );
    assert_eq!(
        h.state().state.open_alerts(),
        1,
        "a failed command raises an alert"
    );
    h.get_by_label("Acknowledge").click();
    h.run_steps(2);
    assert_eq!(h.state().state.open_alerts(), 0);
}

#[test]
fn every_view_draws_and_fleet_status_can_be_changed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(app(dir.path(), false));
    h.run_steps(2);
    for (tab, view, shown) in [
        ("Fleet", View::Fleet, "Last seen (UTC)"),
        ("History", View::History, "Open .tlog..."),
        ("Simulator", View::Simulator, "Simulator"),
        ("Reports", View::Reports, "Fleet by site"),
        ("Settings", View::Settings, "Save settings"),
        ("Plan", View::Plan, "Plan a survey"),
    ] {
        h.get_all_by_label(tab).next().expect("tab").click();
        h.run_steps(2);
        assert_eq!(h.state().state.view, view);
        assert!(
            h.query_all_by_label(shown).count() >= 1,
            "{tab} shows {shown}"
        );
    }
    h.get_all_by_label("Fleet").next().expect("tab").click();
    h.run_steps(2);
    let maintenance = |a: &AviaryApp| {
        a.state
            .drones
            .values()
            .filter(|d| d.drone.status == aviary_core::DroneStatus::Maintenance)
            .count()
    };
    let before = maintenance(h.state());
    h.get_all_by_label("Set maintenance")
        .next()
        .expect("a drone to take out of service")
        .click();
    h.run_steps(3);
    assert_eq!(maintenance(h.state()), before + 1);
    h.get_all_by_label("Set available")
        .next()
        .expect("a drone in maintenance")
        .click();
    h.run_steps(3);
    assert_eq!(maintenance(h.state()), before);
}

/// Whether the MQTT broker the CI starts (Mosquitto on 127.0.0.1:1883) is up. Without it the
/// test skips, and fails when `AVIARY_REQUIRE_SERVICES=1`.
fn broker_up() -> bool {
    let up = std::net::TcpStream::connect_timeout(
        &([127, 0, 0, 1], 1883).into(),
        Duration::from_secs(1),
    )
    .is_ok();
    let required = std::env::var("AVIARY_REQUIRE_SERVICES").is_ok_and(|v| v == "1");
    assert!(
        up || !required,
        "AVIARY_REQUIRE_SERVICES=1 but no MQTT broker on 127.0.0.1:1883"
    );
    up
}

#[test]
fn mqtt_drone_flies_the_demo_mission_through_mosquitto() {
    if !broker_up() {
        eprintln!("skipped: no MQTT broker on 127.0.0.1:1883");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut app = app(dir.path(), false);
    app.backend
        .links
        .open_mqtt("mqtt://127.0.0.1:1883", Arc::new(|| {}))
        .expect("broker link");
    let mut h = harness(app);
    h.run_steps(2);
    // The demo mission of the first site is selected on start; its drone flies over MQTT.
    let mission = h
        .state()
        .state
        .selected_mission
        .expect("demo mission selected");
    let m = h
        .state()
        .backend
        .store
        .get_mission(mission)
        .expect("mission");
    let drone = m.drone_id.expect("demo mission has a drone");
    let home = h.state().state.drones[&drone].drone.home;
    let options = aviary_sim::mqtt_drone::FleetOptions {
        drones: 1,
        home,
        ids: vec![drone],
        time_scale: 5.0,
        ..Default::default()
    };
    let fleet = aviary_sim::mqtt_drone::run("mqtt://127.0.0.1:1883", &options)
        .expect("simulated MQTT drone");
    step_until(&mut h, "MQTT telemetry", |a| {
        a.state.drones.get(&drone).is_some_and(|d| d.live.is_some())
    });
    for (button, confirm, status) in [
        ("Start", None, MissionStatus::InProgress),
        ("Pause", None, MissionStatus::Paused),
        ("Abort", Some("Confirm abort"), MissionStatus::Aborted),
    ] {
        if button == "Pause" {
            // The MQTT autopilot pauses only on a survey leg: wait until it has climbed.
            step_until(&mut h, "the survey altitude", |a| {
                a.state.drones[&drone]
                    .live
                    .is_some_and(|s| s.alt_rel_m > 29.0)
            });
        }
        h.get_by_label(button).click();
        h.run_steps(2);
        if let Some(confirm) = confirm {
            h.get_by_label(confirm).click();
            h.run_steps(1);
        }
        step_until(&mut h, button, |a| {
            a.state
                .last_command(mission)
                .is_some_and(|c| c.outcome != CommandOutcome::Pending)
        });
        let last = h
            .state()
            .state
            .last_command(mission)
            .expect("command")
            .clone();
        assert_eq!(
            last.outcome,
            CommandOutcome::Confirmed,
            "{button}: {:?}",
            last.outcome
        );
        assert_eq!(
            h.state()
                .backend
                .store
                .get_mission(mission)
                .expect("m")
                .status,
            status,
            "after {button}"
        );
    }
    fleet.shutdown();
}

#[test]
fn settings_switch_the_simulator_to_mqtt_registered_and_back() {
    if !broker_up() {
        eprintln!("skipped: no MQTT broker on 127.0.0.1:1883");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let mut h = harness(app(dir.path(), true));
    h.run_steps(2);
    assert!(h.state().backend.sim.is_some(), "starts over MAVLink");
    h.get_all_by_label("Settings").next().expect("tab").click();
    h.run_steps(2);
    h.get_by_label("MQTT broker").click();
    h.run_steps(1);
    h.get_by_label("Register the simulated drones with the fleet server when connected")
        .click();
    h.run_steps(1);
    h.get_by_label("Apply simulator").click();
    h.run_steps(2);
    let settings = &h.state().settings;
    assert_eq!(
        (settings.sim_transport, settings.sim_register),
        (SimTransport::Mqtt, true)
    );
    let backend = &h.state().backend;
    assert!(backend.sim.is_none(), "the MAVLink simulator stopped");
    let mqtt = backend.sim_mqtt.as_ref().expect("MQTT simulator");
    assert_eq!(mqtt.url, "mqtt://127.0.0.1:1883");
    let ids: Vec<DroneId> = mqtt.drones.keys().copied().collect();
    assert_eq!(ids.len(), 12, "every demo drone flies over MQTT");
    // One registration per site, each drone under its own id and serial number.
    let registrations = backend.sim_registrations().expect("registrations");
    assert_eq!(registrations.len(), 3);
    for r in &registrations {
        assert_eq!(r.drones.len(), 4, "{}", r.site_name);
        assert!(r.drones.iter().all(|d| ids.contains(&d.drone_id)));
    }
    // The app hears every simulated drone back through its MQTT link on that broker.
    step_until(&mut h, "MQTT telemetry of every simulated drone", |a| {
        ids.iter().all(|id| {
            a.backend.links.mqtt_drones.contains_key(id)
                && a.state.drones.get(id).is_some_and(|d| d.live.is_some())
        })
    });
    assert!(
        h.query_by_label_contains("Running as MQTT clients of mqtt://127.0.0.1:1883")
            .is_some()
    );

    // And back to MAVLink: the vehicles are bound to the drones again.
    h.get_by_label("MAVLink (UDP)").click();
    h.run_steps(1);
    h.get_by_label("Apply simulator").click();
    h.run_steps(2);
    let backend = &h.state().backend;
    assert!(backend.sim_mqtt.is_none() && backend.sim.is_some());
    assert!(ids.iter().all(|id| backend.links.by_drone.contains_key(id)));
    assert!(backend.sim_registrations().expect("none").is_empty());
}
