//! The desktop follows what the vehicle does (issue 14): the app's real state and logic, driven
//! headless (no window) on the system clock, with a link configured as in Settings and an
//! in-process simulated ArduCopter (`aviary_sim`, sped up) on real MAVLink over UDP.
//!
//! A mission completes only after landing and disarm; RTH keeps the drone busy until it has
//! landed; a low-battery or GPS failsafe ends the mission failed with its reason and an alert
//! in the vehicle's words; a start the vehicle refuses shows its words; a vehicle restarted on
//! a new port is the same drone; an app restarted mid-mission keeps following it.

use aviary_app::gui::app::{AviaryApp, MapTiles};
use aviary_app::gui::backend::{Backend, BackendOptions};
use aviary_app::gui::command::Command;
use aviary_app::gui::jobs::JobMode;
use aviary_app::gui::settings::Settings;
use aviary_app::gui::state::{AlertKind, CommandOutcome};
use aviary_core::mission::FailureReason;
use aviary_core::supervisor::MissionPhase;
use aviary_core::wire::CommandAction;
use aviary_core::{
    Clock, DroneId, DroneStatus, FlightPattern, LatLon, Mission, MissionId, MissionParams,
    MissionStatus, SurveyArea, SystemClock, Waypoint, WaypointAction,
};
use aviary_links::mav::VehicleId;
use aviary_sim::{DroneInfo, Fault, SimConfig, SimHandle, Simulator, StreamRates, VehicleConfig};
use aviary_store::{Store, StoreOptions};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Simulated seconds per wall second.
const SPEEDUP: f64 = 5.0;
/// The simulated vehicle's autopilot uid.
const UID: u64 = 0x00AB_CDEF_0123_4567;

struct Rig {
    app: AviaryApp,
    ctx: egui::Context,
    sim: SimHandle,
    vc: VehicleConfig,
    vehicle: DroneInfo,
    gcs: SocketAddr,
}

fn app_on(db: &Path) -> AviaryApp {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = Store::open(db, clock.clone(), StoreOptions::default()).expect("store");
    let options = BackendOptions {
        seed_demo: true,
        simulated_fleet: false,
        job_mode: JobMode::Inline,
    };
    let backend = Backend::new(store, clock, options, Arc::new(|| {}));
    AviaryApp::new(
        &egui::Context::default(),
        backend,
        Settings::default(),
        MapTiles::BasemapOnly,
    )
}

/// Opens a link as Settings would (`udpin:` on `address`) and returns its local address.
fn open_link(app: &mut AviaryApp, address: &str) -> SocketAddr {
    let link = app
        .backend
        .links
        .open(address, Arc::new(|| {}))
        .expect("link");
    app.backend.links.links[link]
        .handle
        .local_addr()
        .expect("local address")
}

/// The app with an empty fleet apart from the demo, a link, and one simulated vehicle
/// standing 40 m from the first demo site.
fn rig(dir: &Path, setup: impl FnOnce(&mut VehicleConfig)) -> Rig {
    let mut app = app_on(&dir.join("aviary.db"));
    let gcs = open_link(&mut app, "udpin:127.0.0.1:0");
    let mut cfg = SimConfig::new(gcs, 0);
    cfg.speedup = SPEEDUP;
    let sim = Simulator::spawn(cfg).expect("simulator");
    let site = app.state.sites.first().expect("demo site").location;
    let mut vc = VehicleConfig::new(1, site.offset_ne(40.0, 0.0));
    vc.uid = UID;
    vc.default_streams = Some(StreamRates {
        position_hz: 4.0,
        status_hz: 2.0,
    });
    setup(&mut vc);
    let vehicle = sim.add_drone_with(vc.clone()).expect("vehicle");
    Rig {
        app,
        ctx: egui::Context::default(),
        sim,
        vc,
        vehicle,
        gcs,
    }
}

impl Rig {
    /// One frame: logic, then the commands queued.
    fn step(&mut self) {
        self.app.logic_step(&self.ctx);
        self.app.handle_commands();
    }

    /// Steps until `done` (a real peer answers over UDP: bounded wait, not a fixed sleep).
    fn until(&mut self, what: &str, limit_s: u64, done: impl Fn(&AviaryApp) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(limit_s);
        while !done(&self.app) {
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; notices: {:#?}; alerts: {:#?}",
                self.app.state.notices,
                self.app.state.alerts
            );
            self.step();
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The drone the vehicle became, once identified and ready to fly.
    fn drone(&mut self) -> DroneId {
        let serial = format!("MAV-{UID:016X}");
        self.until("the vehicle joins the fleet", 60, |a| {
            a.state.drones.values().any(|d| {
                d.drone.serial_number == serial
                    && a.state
                        .supervised
                        .get(&d.drone.id)
                        .is_some_and(|s| s.available)
            })
        });
        let d = self
            .app
            .state
            .drones
            .values()
            .find(|d| d.drone.serial_number == serial)
            .expect("drone");
        // Filed under the site nearest its position, not named by its port.
        assert_eq!(
            Some(d.drone.site_id),
            self.app.state.sites.first().map(|s| s.id)
        );
        d.drone.id
    }

    /// Stores a small mission for `drone`: two survey waypoints 60 m out at 15 m.
    fn mission(&mut self, drone: DroneId) -> MissionId {
        let d = self.app.backend.store.get_drone(drone).expect("drone");
        let site = self
            .app
            .state
            .sites
            .iter()
            .find(|s| s.id == d.site_id)
            .expect("site")
            .clone();
        let home = self.vc.home;
        let wp = |pos: LatLon, action| Waypoint {
            pos,
            alt_rel_m: 15.0,
            action,
        };
        // As the planner writes them: take off, the survey, return.
        let waypoints = vec![
            wp(home, WaypointAction::Takeoff),
            wp(home.offset_ne(60.0, 0.0), WaypointAction::FlyThrough),
            wp(home.offset_ne(60.0, 40.0), WaypointAction::FlyThrough),
            wp(home, WaypointAction::ReturnToLaunch),
        ];
        let m = Mission {
            id: MissionId::new_random(),
            org_id: site.org_id,
            site_id: site.id,
            drone_id: Some(drone),
            name: "truth".into(),
            status: MissionStatus::Planned,
            survey_area: SurveyArea {
                exterior: waypoints[1..3].iter().map(|w| w.pos).collect(),
                holes: Vec::new(),
            },
            flight_pattern: FlightPattern::Lawnmower,
            parameters: MissionParams {
                altitude_m: 15.0,
                speed_mps: 6.0,
                ..MissionParams::default()
            },
            scheduled_start: None,
            actual_start: None,
            actual_end: None,
            paused_at: None,
            estimated_duration_s: 60.0,
            estimated_distance_m: 200.0,
            waypoints,
            created_by: None,
            created_at: self.app.backend.clock.now(),
        };
        self.app.backend.store.insert_mission(&m).expect("insert");
        self.app.state.selected_mission = Some(m.id);
        m.id
    }

    fn send(&mut self, mission: MissionId, action: CommandAction) {
        self.app
            .commands
            .send(Command::MissionControl { mission, action });
        self.step();
    }

    fn status(&self, mission: MissionId) -> MissionStatus {
        self.app
            .backend
            .store
            .get_mission(mission)
            .expect("mission")
            .status
    }

    fn phase(&self, mission: MissionId) -> (MissionPhase, Option<FailureReason>) {
        self.app
            .backend
            .store
            .mission_phase(mission)
            .expect("phase")
    }

    /// What the link reports of the vehicle bound to `drone` now: (armed, landed, alt).
    fn vehicle(&self, drone: DroneId) -> (bool, bool, f64) {
        let (handle, id) = self.app.backend.links.route(drone).expect("route");
        let v = handle.vehicle(id).expect("vehicle state");
        (
            v.armed,
            v.landed == aviary_core::vehicle::LandedState::OnGround,
            v.alt_rel_m,
        )
    }

    /// Starts `mission` and waits until the vehicle flies it above 10 m.
    fn start_and_climb(&mut self, drone: DroneId, mission: MissionId) {
        self.send(mission, CommandAction::Start);
        assert!(
            self.app.state.preflight.is_none(),
            "pre-flight refused: {:?}",
            self.app.state.preflight
        );
        self.until("the mission in progress above 10 m", 90, |a| {
            a.backend
                .store
                .mission_phase(mission)
                .is_ok_and(|(p, _)| p == MissionPhase::InProgress)
                && a.backend
                    .links
                    .route(drone)
                    .ok()
                    .and_then(|(h, id)| h.vehicle(id))
                    .is_some_and(|v| v.alt_rel_m > 10.0)
        });
    }
}

#[test]
fn a_mission_completes_only_after_landing_and_disarm() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut r = rig(dir.path(), |_| {});
    let drone = r.drone();
    let mission = r.mission(drone);
    r.start_and_climb(drone, mission);
    assert_eq!(
        r.app.backend.store.get_drone(drone).expect("drone").status,
        DroneStatus::InMission
    );
    // Every frame until the end: while the vehicle is armed or airborne the mission is not
    // completed and the drone is not available.
    let deadline = Instant::now() + Duration::from_mins(2);
    while r.status(mission) != MissionStatus::Completed {
        assert!(
            Instant::now() < deadline,
            "not completed: {:?}; {:#?}",
            r.phase(mission),
            r.app.state.notices
        );
        r.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    let (armed, landed, alt) = r.vehicle(drone);
    assert!(
        !armed && landed,
        "completed while armed={armed} landed={landed} alt={alt:.1}"
    );
    let phases: Vec<MissionPhase> = r
        .app
        .backend
        .store
        .mission_transitions(mission)
        .expect("transitions")
        .iter()
        .map(|t| t.to)
        .collect();
    let at = |p| phases.iter().position(|x| *x == p);
    assert!(
        at(MissionPhase::InProgress) < at(MissionPhase::Landed),
        "{phases:?}"
    );
    assert!(
        at(MissionPhase::Landed).is_some()
            && at(MissionPhase::Landed) < at(MissionPhase::Completed),
        "{phases:?}"
    );
    r.until("the drone available again", 10, |a| {
        a.backend
            .store
            .get_drone(drone)
            .is_ok_and(|d| d.status == DroneStatus::Available)
    });
    // The start's command record was confirmed by the link's result.
    let cmds = r
        .app
        .backend
        .store
        .mission_commands(mission)
        .expect("commands");
    assert_eq!(cmds.len(), 1);
    assert_eq!(cmds[0].ack.as_str(), "confirmed");
    let shown = r.app.state.missions.iter().find(|m| m.id == mission);
    assert_eq!(shown.map(|m| m.status), Some(MissionStatus::Completed));
}

#[test]
fn return_home_keeps_the_drone_busy_until_it_has_landed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut r = rig(dir.path(), |_| {});
    let drone = r.drone();
    let mission = r.mission(drone);
    r.start_and_climb(drone, mission);
    assert!(
        r.app.state.supervised[&drone]
            .allowed
            .contains(&CommandAction::Rth)
    );
    r.send(mission, CommandAction::Rth);
    r.until("RTH confirmed", 30, |a| {
        a.state
            .last_command(mission)
            .is_some_and(|c| c.action == CommandAction::Rth && c.outcome != CommandOutcome::Pending)
    });
    assert_eq!(
        r.app.state.last_command(mission).map(|c| c.outcome.clone()),
        Some(CommandOutcome::Confirmed)
    );
    let deadline = Instant::now() + Duration::from_mins(2);
    let mut saw_returning = false;
    while r.status(mission) != MissionStatus::Aborted {
        assert!(
            Instant::now() < deadline,
            "not ended: {:?}",
            r.phase(mission)
        );
        let (armed, landed, _) = r.vehicle(drone);
        if armed || !landed {
            // Still flying home: busy, not available, and no new start accepted.
            let view = &r.app.state.supervised[&drone];
            assert!(!view.available, "available while flying: {view:?}");
            assert_ne!(
                r.app.backend.store.get_drone(drone).expect("drone").status,
                DroneStatus::Available
            );
            saw_returning |= matches!(
                r.phase(mission).0,
                MissionPhase::Returning | MissionPhase::Landing
            );
        }
        r.step();
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(saw_returning, "the return was shown");
    let (armed, landed, _) = r.vehicle(drone);
    assert!(!armed && landed);
    r.until("the drone available after landing", 10, |a| {
        a.state.supervised.get(&drone).is_some_and(|s| s.available)
    });
}

/// A failsafe in flight: the mission ends failed with `reason`, and an alert carries the
/// vehicle's own words (`said`).
fn failsafe(fault: Fault, reason: FailureReason, said: &str) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut r = rig(dir.path(), |vc| {
        vc.battery_low_pct = 20.0;
        vc.battery_critical_pct = 10.0;
    });
    let drone = r.drone();
    let mission = r.mission(drone);
    r.start_and_climb(drone, mission);
    r.sim.inject_fault(r.vehicle.id, fault).expect("fault");
    r.until("the mission failed", 120, |a| {
        a.backend
            .store
            .get_mission(mission)
            .is_ok_and(|m| m.status == MissionStatus::Failed)
    });
    assert_eq!(r.phase(mission), (MissionPhase::Failed, Some(reason)));
    let alert = r
        .app
        .state
        .alerts
        .iter()
        .find(|a| a.drone == Some(drone) && a.message.contains(said));
    assert!(
        alert.is_some_and(|a| matches!(a.kind, AlertKind::VehicleFault | AlertKind::LowBattery)),
        "no alert with {said:?}: {:#?}",
        r.app.state.alerts
    );
    let shown = r.app.state.missions.iter().find(|m| m.id == mission);
    assert_eq!(shown.map(|m| m.status), Some(MissionStatus::Failed));
    // After the failsafe landed it, the vehicle is on the ground and disarmed.
    let (armed, landed, _) = r.vehicle(drone);
    assert!(!armed && landed);
}

#[test]
fn a_low_battery_failsafe_fails_the_mission_with_the_vehicles_words() {
    failsafe(
        Fault::LowBattery {
            remaining_pct: 15.0,
        },
        FailureReason::BatteryCritical,
        "Battery Failsafe",
    );
}

#[test]
fn a_gps_failsafe_fails_the_mission_with_the_vehicles_words() {
    failsafe(
        Fault::GpsLoss { active: true },
        FailureReason::GpsFailsafe,
        "EKF Failsafe",
    );
}

#[test]
fn a_start_the_vehicle_refuses_shows_its_words() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut r = rig(dir.path(), |vc| vc.battery_low_pct = 20.0);
    let drone = r.drone();
    let mission = r.mission(drone);
    r.sim
        .inject_fault(
            r.vehicle.id,
            Fault::LowBattery {
                remaining_pct: 15.0,
            },
        )
        .expect("fault");
    r.until("the low battery reported", 20, |a| {
        a.state
            .drones
            .get(&drone)
            .and_then(|d| d.live)
            .is_some_and(|s| s.battery_pct < 16.0)
    });
    // The pre-flight checks refuse first: not enough battery (a soft check).
    r.send(mission, CommandAction::Start);
    let prompt = r.app.state.preflight.clone().expect("pre-flight refusal");
    assert!(prompt.overridable, "{prompt:?}");
    assert!(
        prompt
            .checks
            .iter()
            .any(|c| !c.ok && c.kind == aviary_core::preflight::CheckKind::Battery),
        "{prompt:?}"
    );
    assert!(r.app.state.last_command(mission).is_none(), "nothing sent");
    // Overridden with a reason (audited), the vehicle itself refuses, in its words.
    r.app.commands.send(Command::StartOverride {
        mission,
        reason: "bench test".into(),
    });
    r.step();
    assert!(r.app.state.preflight.is_none());
    let audit = r.app.backend.store.audit_log().expect("audit");
    assert!(
        audit
            .iter()
            .any(|a| a.action == "preflight.override" && a.detail.contains("bench test")),
        "{audit:?}"
    );
    r.until("the start's result", 60, |a| {
        a.state
            .last_command(mission)
            .is_some_and(|c| c.outcome != CommandOutcome::Pending)
    });
    let outcome = r.app.state.last_command(mission).map(|c| c.outcome.clone());
    assert!(
        matches!(&outcome, Some(CommandOutcome::Failed(why)) if why.contains("PreArm: Battery")),
        "{outcome:?}"
    );
    assert!(
        r.app
            .state
            .alerts
            .iter()
            .any(|a| a.kind == AlertKind::CommandFailed && a.message.contains("PreArm: Battery")),
        "{:#?}",
        r.app.state.alerts
    );
    // Left as it was found: disarmed, on the ground, the mission not started.
    let (armed, landed, _) = r.vehicle(drone);
    assert!(!armed && landed);
    assert_eq!(r.status(mission), MissionStatus::Planned);
}

#[test]
fn a_vehicle_restarted_on_a_new_port_is_the_same_drone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut r = rig(dir.path(), |_| {});
    let drone = r.drone();
    let (_, first) = *r.app.backend.links.by_drone.get(&drone).expect("bound");
    r.sim.remove_drone(r.vehicle.id).expect("stop the vehicle");
    r.vehicle = r.sim.add_drone_with(r.vc.clone()).expect("restart");
    assert_ne!(r.vehicle.local_addr, first.peer, "a new port");
    let new = VehicleId {
        peer: r.vehicle.local_addr,
        system_id: r.vc.system_id,
    };
    r.until("the drone rebound to the new port", 60, |a| {
        a.backend
            .links
            .by_drone
            .get(&drone)
            .is_some_and(|(_, v)| *v == new)
    });
    let serial = format!("MAV-{UID:016X}");
    let same: Vec<_> = r
        .app
        .backend
        .store
        .list_drones(None, None)
        .expect("drones")
        .into_iter()
        .filter(|d| d.serial_number.starts_with("MAV-"))
        .collect();
    assert_eq!(same.len(), 1, "{same:?}");
    assert_eq!(same[0].serial_number, serial);
    assert!(
        !same[0]
            .serial_number
            .contains(&first.peer.port().to_string()),
        "not named by port"
    );
    r.until("the drone ready again", 30, |a| {
        a.state.supervised.get(&drone).is_some_and(|s| s.available)
    });
}

#[test]
fn an_app_restarted_mid_mission_keeps_following_the_vehicle() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut r = rig(dir.path(), |_| {});
    let drone = r.drone();
    let mission = r.mission(drone);
    r.start_and_climb(drone, mission);
    // The app goes away; the vehicle flies on and comes back to a new app on the same port.
    r.app.backend.links.shutdown();
    r.app.backend.store.telemetry().flush().expect("flush");
    let gcs = r.gcs;
    let db = dir.path().join("aviary.db");
    let old = std::mem::replace(&mut r.app, app_on(&db));
    drop(old);
    let reopened = open_link(&mut r.app, &format!("udpin:{gcs}"));
    assert_eq!(reopened, gcs);
    r.until("the mission completed under the new app", 150, |a| {
        a.backend
            .store
            .get_mission(mission)
            .is_ok_and(|m| m.status == MissionStatus::Completed)
    });
    let (armed, landed, _) = r.vehicle(drone);
    assert!(!armed && landed);
}

#[test]
fn a_position_picks_the_nearest_site() {
    // The vehicle stands beside the second demo site: it is filed there, not at the first.
    let dir = tempfile::tempdir().expect("temp dir");
    let mut app = app_on(&dir.path().join("aviary.db"));
    let gcs = open_link(&mut app, "udpin:127.0.0.1:0");
    let second = app.state.sites.get(1).expect("a second demo site").clone();
    let mut cfg = SimConfig::new(gcs, 0);
    cfg.speedup = SPEEDUP;
    let sim = Simulator::spawn(cfg).expect("simulator");
    let mut vc = VehicleConfig::new(7, second.location.offset_ne(0.0, 50.0));
    vc.default_streams = Some(StreamRates {
        position_hz: 4.0,
        status_hz: 1.0,
    });
    sim.add_drone_with(vc).expect("vehicle");
    let ctx = egui::Context::default();
    let deadline = Instant::now() + Duration::from_mins(1);
    loop {
        app.logic_step(&ctx);
        app.handle_commands();
        if let Some(d) = app
            .state
            .drones
            .values()
            .find(|d| d.drone.model == "MAVLink vehicle")
        {
            assert_eq!(d.drone.site_id, second.id, "{:?}", d.drone);
            let home: LatLon = d.drone.home;
            assert!(home.distance_m(second.location) < 100.0);
            break;
        }
        assert!(Instant::now() < deadline, "{:#?}", app.state.notices);
        std::thread::sleep(Duration::from_millis(10));
    }
    sim.shutdown();
}

#[test]
fn links_changed_in_settings_take_effect_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut app = app_on(&dir.path().join("aviary.db"));
    let mut settings = Settings {
        links: vec!["udpin:127.0.0.1:0".into()],
        ..Settings::default()
    };
    aviary_app::gui::logic::apply_link_settings(&mut app.state, &mut app.backend, &settings);
    let open: Vec<_> = app
        .backend
        .links
        .links
        .iter()
        .filter(|l| !l.closed)
        .collect();
    assert_eq!(open.len(), 1);
    let gcs = open[0].handle.local_addr().expect("listening");
    assert!(
        app.state
            .notices
            .iter()
            .any(|n| n.text == "link udpin:127.0.0.1:0 started")
    );
    // A vehicle on the new link joins the fleet without a restart.
    let mut cfg = SimConfig::new(gcs, 0);
    cfg.speedup = SPEEDUP;
    let sim = Simulator::spawn(cfg).expect("simulator");
    let site = app.state.sites.first().expect("site").location;
    let mut vc = VehicleConfig::new(3, site);
    vc.default_streams = Some(StreamRates {
        position_hz: 4.0,
        status_hz: 1.0,
    });
    sim.add_drone_with(vc).expect("vehicle");
    let ctx = egui::Context::default();
    let deadline = Instant::now() + Duration::from_mins(1);
    let drone = loop {
        app.logic_step(&ctx);
        if let Some(d) = app.backend.links.by_drone.keys().next() {
            break *d;
        }
        assert!(Instant::now() < deadline, "{:#?}", app.state.notices);
        std::thread::sleep(Duration::from_millis(10));
    };
    // Removed in Settings: stopped at once, its vehicle unbound.
    settings.links.clear();
    aviary_app::gui::logic::apply_link_settings(&mut app.state, &mut app.backend, &settings);
    assert!(app.backend.links.links.iter().all(|l| l.closed));
    assert!(!app.backend.links.by_drone.contains_key(&drone));
    assert!(
        app.state
            .notices
            .iter()
            .any(|n| n.text == "link udpin:127.0.0.1:0 stopped")
    );
    sim.shutdown();
}

#[test]
fn a_failed_hard_check_blocks_the_start_even_with_a_reason() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut r = rig(dir.path(), |_| {});
    let drone = r.drone();
    let mission = r.mission(drone);
    r.sim
        .inject_fault(r.vehicle.id, Fault::GpsLoss { active: true })
        .expect("fault");
    r.until("the GPS fix lost", 30, |a| {
        a.state
            .drones
            .get(&drone)
            .is_some_and(|d| d.link.gps_fix < 3)
    });
    r.send(mission, CommandAction::Start);
    let prompt = r.app.state.preflight.clone().expect("pre-flight refusal");
    assert!(!prompt.overridable, "GPS is a hard check: {prompt:?}");
    assert!(
        r.app
            .state
            .notices
            .iter()
            .any(|n| n.error && n.text.contains("refused by pre-flight") && n.text.contains("GPS")),
        "{:#?}",
        r.app.state.notices
    );
    r.app.commands.send(Command::StartOverride {
        mission,
        reason: "I know better".into(),
    });
    r.step();
    assert!(r.app.state.preflight.is_some(), "still refused");
    assert!(r.app.state.last_command(mission).is_none(), "nothing sent");
    assert!(
        r.app
            .backend
            .store
            .audit_log()
            .expect("audit")
            .iter()
            .all(|a| a.action != "preflight.override")
    );
    assert_eq!(r.status(mission), MissionStatus::Planned);
}
