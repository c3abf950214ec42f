//! The supervisor against scripted vehicle reports: every transition of the module diagram,
//! the failsafes with their reasons, and the drone's availability.

use super::*;
use crate::vehicle::{FlightMode, LandedState as L, ModeClass as C, VehicleFact as F};
use CommandAction as A;
use MissionPhase as P;

fn t(s: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap_or_default()
}

fn hb(name: &str, class: C, armed: bool) -> F {
    F::Heartbeat {
        mode: FlightMode {
            name: name.into(),
            class,
        },
        armed,
    }
}

/// A drone linked and idle on the ground in `mode`, with a planned 10-item mission whose
/// item 9 is its return.
struct Rig {
    s: Supervisor,
    now: i64,
    transitions: Vec<Transition>,
    alerts: Vec<SupervisorAlert>,
    requests: Vec<CommandAction>,
}

impl Rig {
    fn new(mode: (&str, C)) -> Self {
        let mut s = Supervisor::new(SupervisorConfig::default(), t(0));
        s.attach(P::Planned, 0, None, None);
        let mut r = Self {
            s,
            now: 0,
            transitions: Vec::new(),
            alerts: Vec::new(),
            requests: Vec::new(),
        };
        r.feed(F::LinkUp);
        r.feed(hb(mode.0, mode.1, false));
        r.feed(F::Landed { state: L::OnGround });
        r.feed(F::Gps {
            fix_type: 3,
            satellites: 10,
        });
        r
    }

    fn take(&mut self, out: Vec<Output>) {
        for o in out {
            match o {
                Output::Transition(tr) => self.transitions.push(tr),
                Output::Alert(a) => self.alerts.push(a),
                Output::Request { action } => self.requests.push(action),
                Output::Progress { .. } => {}
            }
        }
    }

    fn feed(&mut self, f: F) {
        self.now += 1;
        let out = self.s.fact(f, t(self.now));
        self.take(out);
    }

    fn ask(&mut self, a: A) -> Result<Order, Refusal> {
        self.now += 1;
        let (order, out) = self.s.request(a, t(self.now))?;
        self.take(out);
        Ok(order)
    }

    fn result(&mut self, a: A, r: Result<(), String>) {
        self.now += 1;
        let out = self.s.command_result(a, r, t(self.now));
        self.take(out);
    }

    fn phase(&self) -> P {
        self.s.phase().unwrap_or(P::Planned)
    }

    /// Start to in progress the way the link and an `ArduCopter` do it.
    fn launch(&mut self) {
        let order = self.ask(A::Start).expect("start accepted");
        assert!(order.upload);
        assert_eq!(self.phase(), P::Uploading);
        self.now += 1;
        let out = self.s.upload_result(Ok((10, Some(9))), t(self.now));
        self.take(out);
        assert_eq!(self.phase(), P::Launching);
        self.feed(hb("GUIDED", C::Guided, false));
        self.feed(hb("GUIDED", C::Guided, true));
        self.feed(hb("AUTO", C::Auto, true));
        self.result(A::Start, Ok(()));
        self.feed(F::Landed { state: L::Takeoff });
        self.feed(F::Landed { state: L::InAir });
        assert_eq!(self.phase(), P::InProgress);
        assert!(self.alerts.is_empty(), "{:?}", self.alerts);
    }

    fn reach(&mut self, upto: u16) {
        for seq in 1..=upto {
            self.feed(F::MissionCurrent { seq });
            self.feed(F::ItemReached { seq });
        }
    }

    fn land_and_disarm(&mut self, mode: (&str, C)) {
        self.feed(F::Landed { state: L::Landing });
        self.feed(F::Landed { state: L::OnGround });
        assert_eq!(self.phase(), P::Landed, "touchdown before disarm");
        assert!(!self.s.available(), "armed on the ground is not available");
        self.feed(hb(mode.0, mode.1, false));
    }

    fn path(&self) -> Vec<P> {
        self.transitions.iter().map(|t| t.to).collect()
    }
}

#[test]
fn a_full_mission_completes_only_after_landing_and_disarm() {
    let mut r = Rig::new(("STABILIZE", C::Manual));
    assert!(r.s.available());
    r.launch();
    assert!(!r.s.available());
    assert_eq!(r.s.drone_status(), DroneStatus::InMission);
    r.reach(8);
    assert_eq!(
        r.phase(),
        P::InProgress,
        "the last survey item is not the end"
    );
    // The mission's own RTL item: still AUTO.
    r.feed(F::MissionCurrent { seq: 9 });
    assert_eq!(r.phase(), P::Returning);
    r.feed(F::Landed { state: L::Landing });
    assert_eq!(r.phase(), P::Landing);
    r.feed(F::ItemReached { seq: 9 });
    r.feed(F::Landed { state: L::OnGround });
    assert_eq!(r.phase(), P::Landed);
    r.feed(hb("AUTO", C::Auto, false));
    assert_eq!(r.phase(), P::Completed);
    assert!(r.s.available());
    assert_eq!(r.s.drone_status(), DroneStatus::Available);
    assert_eq!(
        r.path(),
        vec![
            P::Uploading,
            P::Ready,
            P::Launching,
            P::InProgress,
            P::Returning,
            P::Landing,
            P::Landed,
            P::Completed
        ]
    );
    assert!(r.alerts.is_empty(), "{:?}", r.alerts);
}

#[test]
fn rth_keeps_the_drone_busy_until_it_has_landed() {
    let mut r = Rig::new(("LOITER", C::Hold));
    r.launch();
    r.reach(3);
    r.ask(A::Rth).expect("rth accepted");
    r.result(A::Rth, Ok(()));
    assert_eq!(
        r.phase(),
        P::InProgress,
        "a confirmed command is not the vehicle's report"
    );
    r.feed(hb("RTL", C::Return, true));
    assert_eq!(r.phase(), P::Returning);
    assert!(!r.s.available());
    let refused = r.s.request(A::Start, t(100)).unwrap_err();
    assert!(refused.why.contains("returning"), "{refused}");
    r.land_and_disarm(("RTL", C::Return));
    assert_eq!(r.phase(), P::Aborted);
    assert!(r.s.available());
    assert!(
        r.alerts.is_empty(),
        "operator's RTL raises no alert: {:?}",
        r.alerts
    );
}

#[test]
fn a_battery_failsafe_fails_with_its_reason_and_the_vehicles_words() {
    let mut r = Rig::new(("GUIDED", C::Guided));
    r.launch();
    r.reach(4);
    r.feed(F::Battery {
        remaining_pct: Some(12.0),
        voltage_v: Some(10.4),
    });
    r.feed(F::StatusText {
        severity: 2,
        text: "Battery 1 is critical 10.40V used 4800 mAh".into(),
    });
    r.feed(hb("LAND", C::Land, true));
    assert_eq!(r.phase(), P::Landing);
    let alert = r
        .alerts
        .iter()
        .find(|a| a.text.starts_with("mode changed to LAND"))
        .expect("mode change alert");
    assert_eq!(alert.reason, Some(FailureReason::BatteryCritical));
    assert!(
        alert.text.contains("Battery 1 is critical"),
        "{}",
        alert.text
    );
    r.land_and_disarm(("LAND", C::Land));
    assert_eq!(r.phase(), P::Failed);
    let last = r.transitions.last().expect("a transition");
    assert_eq!(last.reason, Some(FailureReason::BatteryCritical));
    // Ready again (new battery): resume from the item after the last reached.
    r.feed(F::Battery {
        remaining_pct: Some(100.0),
        voltage_v: Some(12.6),
    });
    let order = r.ask(A::Resume).expect("resume after failsafe");
    assert_eq!(order.from_seq, Some(5));
    assert!(
        order.upload,
        "a resume from the ground uploads a mission with a takeoff"
    );
    assert_eq!(r.phase(), P::Uploading);
    r.now += 1;
    let out = r.s.upload_result(Ok((7, Some(6))), t(r.now));
    r.take(out);
    assert_eq!(r.phase(), P::Launching);
    r.feed(hb("AUTO", C::Auto, true));
    r.feed(F::Landed { state: L::InAir });
    assert_eq!(r.phase(), P::InProgress);
    r.reach(5);
    r.feed(F::MissionCurrent { seq: 6 });
    r.land_and_disarm(("AUTO", C::Auto));
    assert_eq!(r.phase(), P::Completed, "{:?}", r.transitions);
}

#[test]
fn gps_loss_lands_and_fails_as_gps_failsafe() {
    let mut r = Rig::new(("GUIDED", C::Guided));
    r.launch();
    r.feed(F::Gps {
        fix_type: 1,
        satellites: 3,
    });
    r.feed(F::StatusText {
        severity: 2,
        text: "EKF Failsafe: changed to LAND Mode".into(),
    });
    r.feed(hb("LAND", C::Land, true));
    r.land_and_disarm(("LAND", C::Land));
    assert_eq!(r.phase(), P::Failed);
    assert_eq!(
        r.transitions.last().and_then(|t| t.reason),
        Some(FailureReason::GpsFailsafe)
    );
}

#[test]
fn link_loss_rtl_then_recovered_link_shows_the_failsafe() {
    let mut r = Rig::new(("GUIDED", C::Guided));
    r.launch();
    r.reach(2);
    r.feed(F::LinkLost);
    assert!(
        r.alerts
            .iter()
            .any(|a| a.reason == Some(FailureReason::ConnectionLost))
    );
    assert_eq!(r.s.drone_status(), DroneStatus::Offline);
    assert!(r.s.request(A::Pause, t(r.now + 1)).is_err());
    r.feed(F::LinkUp);
    r.feed(F::StatusText {
        severity: 2,
        text: "GCS Failsafe".into(),
    });
    r.feed(hb("RTL", C::Return, true));
    assert_eq!(r.phase(), P::Returning);
    r.land_and_disarm(("RTL", C::Return));
    assert_eq!(
        r.transitions.last().map(|t| (t.to, t.reason)),
        Some((P::Failed, Some(FailureReason::ConnectionLost)))
    );
}

#[test]
fn a_link_lost_for_good_fails_the_mission() {
    let mut r = Rig::new(("GUIDED", C::Guided));
    r.launch();
    r.feed(F::LinkLost);
    let lost_at = r.now;
    assert!(r.s.tick(t(lost_at + 299)).is_empty());
    let out = r.s.tick(t(lost_at + 300));
    r.take(out);
    assert_eq!(r.phase(), P::Failed);
    assert_eq!(
        r.transitions.last().and_then(|t| t.reason),
        Some(FailureReason::ConnectionLost)
    );
}

#[test]
fn a_pilot_switching_to_loiter_took_control_and_auto_resumes() {
    let mut r = Rig::new(("GUIDED", C::Guided));
    r.launch();
    r.reach(3);
    r.feed(hb("LOITER", C::Hold, true));
    assert_eq!(r.phase(), P::Paused);
    let alert = r.alerts.last().expect("alert");
    assert_eq!(alert.reason, Some(FailureReason::PilotTookControl));
    assert!(alert.text.contains("LOITER"), "{}", alert.text);
    let order = r.ask(A::Resume).expect("resume");
    assert_eq!(
        order.from_seq,
        Some(4),
        "resume from the item after the last reached"
    );
    r.result(A::Resume, Ok(()));
    r.feed(hb("AUTO", C::Auto, true));
    assert_eq!(r.phase(), P::InProgress);
}

#[test]
fn operator_pause_and_resume_follow_the_vehicle() {
    let mut r = Rig::new(("GUIDED", C::Guided));
    r.launch();
    r.ask(A::Pause).expect("pause");
    r.result(A::Pause, Ok(()));
    assert_eq!(r.phase(), P::InProgress);
    r.feed(hb("BRAKE", C::Hold, true));
    assert_eq!(r.phase(), P::Paused);
    let order = r.ask(A::Resume).expect("resume");
    assert_eq!(
        order.from_seq, None,
        "an operator's pause resumes where it stopped"
    );
    r.result(A::Resume, Ok(()));
    r.feed(hb("AUTO", C::Auto, true));
    assert_eq!(r.phase(), P::InProgress);
    assert!(r.alerts.is_empty(), "{:?}", r.alerts);
}

#[test]
fn a_pause_that_times_out_sends_the_vehicle_home_and_fails() {
    let mut r = Rig::new(("GUIDED", C::Guided));
    r.launch();
    r.ask(A::Pause).expect("pause");
    r.result(A::Pause, Ok(()));
    r.feed(hb("BRAKE", C::Hold, true));
    let paused = r.now;
    assert!(r.s.tick(t(paused + 200)).is_empty());
    let out = r.s.tick(t(paused + 300));
    r.take(out);
    assert_eq!(r.requests, vec![A::Rth]);
    r.now = paused + 301;
    r.feed(hb("RTL", C::Return, true));
    assert_eq!(r.phase(), P::Returning);
    r.land_and_disarm(("RTL", C::Return));
    assert_eq!(
        r.transitions.last().map(|t| (t.to, t.reason)),
        Some((P::Failed, Some(FailureReason::PauseTimeout)))
    );
}

#[test]
fn a_refused_start_leaves_the_mission_ready_with_the_vehicles_words() {
    let mut r = Rig::new(("AUTO", C::Auto));
    r.ask(A::Start).expect("accepted");
    let out = r.s.upload_result(Ok((10, Some(9))), t(50));
    r.take(out);
    r.feed(F::StatusText {
        severity: 2,
        text: "PreArm: Need 3D Fix".into(),
    });
    r.result(A::Start, Err("PreArm: Need 3D Fix".into()));
    assert_eq!(r.phase(), P::Ready);
    assert!(
        r.alerts
            .iter()
            .any(|a| a.text == "start refused: PreArm: Need 3D Fix"),
        "{:?}",
        r.alerts
    );
    assert_eq!(
        r.s.vehicle().prearm_texts(t(r.now), Duration::seconds(30)),
        vec!["PreArm: Need 3D Fix".to_owned()]
    );
    // Ready again: a second start needs no upload.
    let order = r.ask(A::Start).expect("second start");
    assert!(!order.upload);
    assert_eq!(r.phase(), P::Launching);
}

#[test]
fn start_is_refused_unless_landed_disarmed_and_linked() {
    let mut r = Rig::new(("RTL", C::Return));
    r.feed(hb("RTL", C::Return, true));
    r.feed(F::Landed { state: L::InAir });
    let e = r.s.request(A::Start, t(100)).unwrap_err();
    assert!(e.why.contains("not landed and disarmed"), "{e}");
    assert!(e.why.contains("RTL"), "{e}");
    r.feed(F::Landed { state: L::OnGround });
    r.feed(hb("RTL", C::Return, false));
    assert!(r.s.request(A::Start, t(200)).is_ok());
    let mut lost = Rig::new(("LOITER", C::Hold));
    lost.feed(F::LinkLost);
    let e = lost.s.request(A::Start, t(300)).unwrap_err();
    assert!(e.why.contains("link lost"), "{e}");
}

#[test]
fn an_upload_failure_returns_to_planned_with_an_alert() {
    let mut r = Rig::new(("LOITER", C::Hold));
    r.ask(A::Start).expect("accepted");
    let out =
        r.s.upload_result(Err("vehicle refused item 4".into()), t(9));
    r.take(out);
    assert_eq!(r.phase(), P::Planned);
    let a = r.alerts.last().expect("alert");
    assert_eq!(a.reason, Some(FailureReason::UploadFailed));
    assert!(a.text.contains("item 4"));
}

#[test]
fn after_a_restart_a_landed_vehicle_ends_the_stored_mission() {
    let mut s = Supervisor::new(SupervisorConfig::default(), t(0));
    s.attach(P::InProgress, 10, Some(9), Some(4));
    let mut out = s.fact(F::LinkUp, t(1));
    out.extend(s.fact(hb("LAND", C::Land, false), t(2)));
    out.extend(s.fact(F::Landed { state: L::OnGround }, t(3)));
    assert_eq!(s.phase(), Some(P::Failed));
    assert!(s.available());
    let mut fresh = Supervisor::new(SupervisorConfig::default(), t(0));
    fresh.attach(P::InProgress, 10, Some(9), None);
    assert!(fresh.tick(t(299)).is_empty());
    assert!(!fresh.tick(t(300)).is_empty(), "never heard after restart");
    assert_eq!(fresh.phase(), Some(P::Failed));
}

#[test]
fn phases_map_onto_the_stored_statuses_and_round_trip() {
    for p in P::ALL {
        assert_eq!(P::parse(p.as_str()), Some(p));
        assert_eq!(p.status().is_terminal(), p.is_terminal(), "{p}");
    }
    assert_eq!(P::Returning.status(), MissionStatus::InProgress);
    assert_eq!(P::Landed.status(), MissionStatus::InProgress);
    assert_eq!(P::Ready.status(), MissionStatus::Planned);
    assert_eq!(
        reason_in_text("Radio Failsafe"),
        Some(FailureReason::ConnectionLost)
    );
    assert_eq!(
        reason_in_text("Fence Breach"),
        Some(FailureReason::Geofence)
    );
    assert_eq!(reason_in_text("Mission: 3 WP"), None);
}

#[test]
fn a_mission_in_sorties_lands_waits_for_a_battery_swap_and_flies_the_next() {
    let mut r = Rig::new(("STABILIZE", C::Manual));
    r.s.set_sorties(1, 2);
    r.launch();
    assert_eq!(r.s.sortie(), Some((1, 2)));
    r.reach(8);
    r.feed(F::MissionCurrent { seq: 9 });
    r.land_and_disarm(("AUTO", C::Auto));
    // Down between sorties: still the mission's drone, not completed.
    assert_eq!(r.phase(), P::Landed);
    assert!(r.s.between_sorties());
    assert!(!r.s.available());
    assert_eq!(r.s.drone_status(), DroneStatus::InMission);
    assert!(
        r.alerts
            .iter()
            .any(|a| a.text.contains("swap the battery") && a.text.contains("sortie 2")),
        "{:?}",
        r.alerts
    );
    // Only resume (or abort) makes sense now.
    assert!(r.ask(A::Start).is_err());
    assert!(r.ask(A::Pause).is_err());
    let order = r.ask(A::Resume).expect("next sortie");
    assert!(order.upload, "the next sortie's items go up first");
    assert_eq!(r.phase(), P::Uploading);
    assert_eq!(r.s.sortie(), Some((2, 2)));
    r.now += 1;
    let out = r.s.upload_result(Ok((10, Some(9))), t(r.now));
    r.take(out);
    assert_eq!(r.phase(), P::Launching);
    r.feed(hb("GUIDED", C::Guided, true));
    r.feed(hb("AUTO", C::Auto, true));
    r.feed(F::Landed { state: L::InAir });
    assert_eq!(r.phase(), P::InProgress);
    r.reach(8);
    r.feed(F::MissionCurrent { seq: 9 });
    r.land_and_disarm(("AUTO", C::Auto));
    assert_eq!(r.phase(), P::Completed, "{:?}", r.transitions);
    assert!(r.s.available());
}

#[test]
fn abort_between_sorties_ends_the_mission_on_the_ground() {
    let mut r = Rig::new(("STABILIZE", C::Manual));
    r.s.set_sorties(1, 3);
    r.launch();
    r.reach(8);
    r.feed(F::MissionCurrent { seq: 9 });
    r.land_and_disarm(("AUTO", C::Auto));
    assert!(r.s.between_sorties());
    let order = r.ask(A::Abort).expect("abort accepted");
    assert!(!order.upload);
    assert_eq!(r.phase(), P::Aborted);
    assert!(r.s.available());
}
