//! Flying a mission under the core's supervisor: the glue between a `MAVLink` link (its events
//! and [`MissionRequest`]s) and [`aviary_core::supervisor::Supervisor`], shared by
//! `aviary fly` and the desktop's `logic`. The vehicle's reports become facts, the
//! supervisor's orders become link requests, the link's one result per request goes back in,
//! and every transition is stored with its cause. No UI and no threads here.

use aviary_core::mission_items::{AltitudeRef, PlanItem, cmd, mission_items_at, resume_items};
use aviary_core::preflight::PlanNeeds;
use aviary_core::supervisor::{MissionPhase, Order, Output, Supervisor};
use aviary_core::vehicle::VehicleFact;
use aviary_core::wire::CommandAction;
use aviary_core::{
    DroneId, DroneStatus, LatLon, MissionId, TelemetrySample, Waypoint, WaypointAction,
};
use aviary_links::mav::{
    ActionFailure, ActionKind, FailureCause, LinkEvent, MissionRequest, VehicleId, VehicleState,
};
use aviary_store::{Store, StoreError};
use chrono::{DateTime, Utc};

/// The facts a link event carries, with the vehicle they are about. Mode, armed, landed state,
/// current item, item reached, `STATUSTEXT` and link up/down come as the link's own
/// [`LinkEvent::Fact`]s (the link also sends `ItemReached`/`StatusText` events for other
/// readers: they are not facts twice); motion, battery and GPS are read from its state reports.
pub fn facts(event: &LinkEvent) -> Vec<(VehicleId, VehicleFact)> {
    match event {
        LinkEvent::Fact { id, fact } => vec![(*id, fact.clone())],
        LinkEvent::State(v) => state_facts(v).into_iter().map(|f| (v.id, f)).collect(),
        _ => Vec::new(),
    }
}

/// Motion, battery and GPS from a state report.
pub fn state_facts(v: &VehicleState) -> [VehicleFact; 3] {
    [
        VehicleFact::Motion {
            alt_rel_m: v.alt_rel_m,
            ground_speed_mps: v.ground_speed_mps,
        },
        VehicleFact::Battery {
            remaining_pct: v.battery_pct,
            voltage_v: v.battery_v,
        },
        VehicleFact::Gps {
            fix_type: v.gps_fix,
            satellites: v.gps_sats,
        },
    ]
}

/// The sequence number of a mission's own return item.
pub fn rtl_seq(items: &[PlanItem]) -> Option<u16> {
    items
        .iter()
        .rev()
        .find(|i| i.command == cmd::NAV_RETURN_TO_LAUNCH)
        .map(|i| i.seq)
}

/// The items a mission flies: home, takeoff, the planned speed, its waypoints and return,
/// their altitudes as `alt` says ([`altitude_ref`]).
pub fn items_for(
    home: LatLon,
    waypoints: &[Waypoint],
    speed_mps: f64,
    alt: AltitudeRef<'_>,
) -> Vec<PlanItem> {
    mission_items_at(home, waypoints, speed_mps, alt)
}

/// How a mission's altitudes go to the vehicle: above home for a mission planned above
/// home; for a terrain-following one above the terrain where the vehicle has terrain data
/// of its own (an `ArduPilot` with `TERRAIN_ENABLE` reporting `TERRAIN_REPORT`s: it then
/// keeps the height over the ground between waypoints too), else above mean sea level,
/// which every autopilot flies.
pub fn altitude_ref(
    terrain: Option<&aviary_core::PlannedTerrain>,
    vehicle_has_terrain: bool,
) -> AltitudeRef<'_> {
    match terrain {
        None => AltitudeRef::AboveHome,
        Some(t) if vehicle_has_terrain && !t.sea_level => AltitudeRef::Terrain {
            home_amsl_m: t.home_amsl_m,
            ground_amsl_m: &t.ground_amsl_m,
        },
        Some(t) => AltitudeRef::Amsl {
            home_amsl_m: t.home_amsl_m,
        },
    }
}

/// The link request that carries out an accepted order. `items` go with a start that uploads
/// (and with a resume from the ground). A host keeps the items of a `Start` it sends
/// ([`uploaded_items`]) for [`upload_done`] and [`apply_action_result`].
/// A resume while the vehicle is on the ground (a failsafe landed it) is a start without an
/// upload from the order's item: arm, take off and continue.
pub fn link_request(order: &Order, items: &[PlanItem], on_ground: bool) -> MissionRequest {
    match order.action {
        CommandAction::Start => MissionRequest::Start {
            items: order.upload.then(|| items.to_vec()),
            from_seq: order.from_seq,
        },
        // On the ground again: after a failsafe landing the rest of the mission from
        // `from_seq` (with a takeoff first), or the next sortie of a mission flown in sorties.
        CommandAction::Resume if order.upload => MissionRequest::Start {
            items: Some(match order.from_seq {
                Some(from) => resume_items(items, from).unwrap_or_else(|| items.to_vec()),
                None => items.to_vec(),
            }),
            from_seq: None,
        },
        CommandAction::Resume if on_ground => MissionRequest::Start {
            items: None,
            from_seq: order.from_seq,
        },
        CommandAction::Resume => MissionRequest::Resume {
            from_seq: order.from_seq,
        },
        CommandAction::Pause => MissionRequest::Pause,
        CommandAction::Rth => MissionRequest::Rtl,
        CommandAction::Land => MissionRequest::Land,
        CommandAction::Abort => MissionRequest::Abort,
    }
}

/// The items a request uploads, if it uploads any: after a resume from the ground these are
/// the resume mission's, numbered anew.
pub fn uploaded_items(request: &MissionRequest) -> Option<&[PlanItem]> {
    match request {
        MissionRequest::Start {
            items: Some(items), ..
        } => Some(items),
        _ => None,
    }
}

/// Which operator action a link result answers.
pub const fn action_of(kind: ActionKind) -> CommandAction {
    match kind {
        ActionKind::Start => CommandAction::Start,
        ActionKind::Pause => CommandAction::Pause,
        ActionKind::Resume => CommandAction::Resume,
        ActionKind::Rtl => CommandAction::Rth,
        ActionKind::Land => CommandAction::Land,
        ActionKind::Abort => CommandAction::Abort,
    }
}

/// A failure in words, with what the vehicle said (verbatim) when it said anything.
pub fn failure_words(f: &ActionFailure) -> String {
    let mut s = format!("{} failed: {}", f.step, f.cause);
    if !f.vehicle_said.is_empty() {
        s.push_str(" (vehicle: ");
        s.push_str(&f.vehicle_said.join("; "));
        s.push(')');
    }
    if f.disarmed_again {
        s.push_str("; disarmed again");
    }
    s
}

/// The upload of a start finished (`done == total` of its progress): the mission is on the
/// vehicle and the supervisor moves on to launching.
pub fn upload_done(sup: &mut Supervisor, items: &[PlanItem], now: DateTime<Utc>) -> Vec<Output> {
    if sup.phase() != Some(MissionPhase::Uploading) {
        return Vec::new();
    }
    let n = u16::try_from(items.len()).unwrap_or(u16::MAX);
    sup.upload_result(Ok((n, rtl_seq(items))), now)
}

/// Feeds the link's result of a request to the supervisor.
pub fn apply_action_result(
    sup: &mut Supervisor,
    kind: ActionKind,
    result: &Result<(), ActionFailure>,
    items: &[PlanItem],
    now: DateTime<Utc>,
) -> Vec<Output> {
    let mut out = Vec::new();
    let upload_failed = matches!(
        result,
        Err(f) if matches!(
            f.cause,
            FailureCause::Mission(_) | FailureCause::CountMismatch { .. } | FailureCause::NoCount
                | FailureCause::BadItem(_)
        )
    );
    if kind == ActionKind::Start && sup.phase() == Some(MissionPhase::Uploading) {
        if let Err(f) = result
            && upload_failed
        {
            out.extend(sup.upload_result(Err(failure_words(f)), now));
            return out;
        }
        out.extend(upload_done(sup, items, now));
    }
    let r = result.as_ref().copied().map_err(failure_words);
    out.extend(sup.command_result(action_of(kind), r, now));
    out
}

/// The drone status the store should hold for a supervised drone, keeping the operator's own
/// `Maintenance`/`Charging` while the vehicle is idle.
pub fn drone_status(sup: &Supervisor, stored: DroneStatus) -> DroneStatus {
    let s = sup.drone_status();
    match (stored, s) {
        (DroneStatus::Maintenance | DroneStatus::Charging, DroneStatus::Available) => stored,
        _ => s,
    }
}

/// Stores the transitions among `outputs` (phase, cause, times, result and audit row) and
/// returns the mission as stored after the last one.
pub fn record_transitions(
    store: &mut Store,
    mission: MissionId,
    outputs: &[Output],
) -> Result<Option<aviary_core::Mission>, StoreError> {
    let mut last = None;
    for o in outputs {
        if let Output::Transition(t) = o {
            last = Some(store.apply_transition(mission, t, None)?);
        }
    }
    Ok(last)
}

/// A telemetry sample from a state report, when it has a position.
pub fn sample(
    v: &VehicleState,
    drone: DroneId,
    mission: Option<MissionId>,
    status: DroneStatus,
    now: DateTime<Utc>,
) -> Option<TelemetrySample> {
    let pos = v.pos?;
    Some(TelemetrySample {
        time: now,
        mission_id: mission,
        drone_id: drone,
        pos,
        alt_rel_m: v.alt_rel_m,
        speed_mps: v.ground_speed_mps,
        heading_deg: v.heading_deg,
        battery_pct: v.battery_pct.unwrap_or(100.0),
        signal_pct: v.link_quality_pct,
        status,
    })
}

/// What a mission needs for the pre-flight checks: its items, the first sortie's battery
/// (the planner's energy model over the route), and how far the survey starts from home.
pub fn plan_needs(
    home: LatLon,
    waypoints: &[Waypoint],
    speed_mps: f64,
    items: usize,
    airframe: &aviary_planner::Airframe,
) -> PlanNeeds {
    let route = aviary_planner::estimate_route(home, waypoints, speed_mps, airframe);
    // The survey's own items, not the takeoff (written at home) or the return.
    let home_distance_m = waypoints
        .iter()
        .filter(|w| {
            w.pos != LatLon::default()
                && !matches!(
                    w.action,
                    WaypointAction::Takeoff | WaypointAction::ReturnToLaunch | WaypointAction::Land
                )
        })
        .map(|w| home.distance_m(w.pos))
        .fold(f64::INFINITY, f64::min);
    let usable_pct = 100.0 - airframe.reserve_pct;
    let sorties = if route.battery_pct <= usable_pct {
        1
    } else {
        (route.battery_pct / usable_pct.max(1.0)).ceil() as usize
    };
    PlanNeeds {
        items,
        first_sortie_battery_pct: if sorties > 1 {
            usable_pct
        } else {
            route.battery_pct
        },
        sorties,
        planned_sorties: 1,
        home_distance_m: if home_distance_m.is_finite() {
            home_distance_m
        } else {
            0.0
        },
        // The host adds the weather verdict when it fetched one (`aviary fly --weather`).
        weather: None,
    }
}

// --- pre-flight overrides ------------------------------------------------------------------

/// Who runs this program, for the audit log of a desktop or CLI without a sign-in: the
/// operating system's account (`USER`, or `USERNAME` on Windows).
pub fn os_account() -> String {
    ["USER", "USERNAME"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        .unwrap_or_else(|| "unknown account".to_owned())
}

/// The audit event of a start despite failed soft pre-flight checks (`None` when none
/// failed): action `preflight.override` on `mission`, and as JSON detail the operator, their
/// reason, every failed check with its finding and, when the weather was evaluated, its
/// verdict and reasons, so the log says who flew against which forecast and why.
pub fn override_audit(
    now: DateTime<Utc>,
    mission: aviary_core::MissionId,
    checks: &[aviary_core::preflight::Check],
    weather: Option<&aviary_core::weather::WeatherVerdict>,
    operator: &str,
    reason: &str,
) -> Option<aviary_core::AuditEvent> {
    let failed: Vec<serde_json::Value> = checks
        .iter()
        .filter(|c| !c.ok)
        .map(|c| serde_json::json!({ "check": c.kind.label(), "detail": c.detail }))
        .collect();
    if failed.is_empty() {
        return None;
    }
    let mut detail = serde_json::json!({
        "operator": operator,
        "reason": reason.trim(),
        "overridden": failed,
    });
    if let Some(w) = weather {
        detail["weather_verdict"] = w.verdict.as_str().into();
        detail["weather_reasons"] = w.reasons.iter().map(|r| r.text.clone()).collect();
    }
    Some(aviary_core::AuditEvent {
        time: now,
        user_id: None,
        action: "preflight.override".into(),
        target: mission.to_string(),
        detail: detail.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use aviary_core::supervisor::SupervisorConfig;

    fn order(action: CommandAction, upload: bool, from_seq: Option<u16>) -> Order {
        Order {
            action,
            upload,
            from_seq,
        }
    }

    #[test]
    fn orders_map_to_one_link_request_each() {
        let home = LatLon::new(47.0, 8.0);
        let wp = |north_m: f64, action| Waypoint {
            pos: home.offset_ne(north_m, 0.0),
            alt_rel_m: 50.0,
            action,
        };
        // 0 home, 1 takeoff, 2 speed, 3..5 waypoints, 6 return.
        let items = items_for(
            home,
            &[
                wp(0.0, WaypointAction::Takeoff),
                wp(50.0, WaypointAction::FlyThrough),
                wp(100.0, WaypointAction::FlyThrough),
                wp(150.0, WaypointAction::FlyThrough),
                wp(0.0, WaypointAction::ReturnToLaunch),
            ],
            6.0,
            AltitudeRef::AboveHome,
        );
        assert!(matches!(
            link_request(&order(CommandAction::Start, true, None), &items, true),
            MissionRequest::Start { items: Some(i), from_seq: None } if i.len() == items.len()
        ));
        assert!(matches!(
            link_request(&order(CommandAction::Resume, false, Some(4)), &items, false),
            MissionRequest::Resume { from_seq: Some(4) }
        ));
        let resume = link_request(&order(CommandAction::Resume, true, Some(4)), &items, true);
        let up = uploaded_items(&resume).expect("a resume from the ground uploads");
        assert_eq!(up[1].command, cmd::NAV_TAKEOFF, "{up:?}");
        // home, takeoff, speed, then items 4..=6 renumbered 3..=5.
        assert_eq!(up.len(), 6, "{up:?}");
        assert!(up[3].same_as(&PlanItem { seq: 3, ..items[4] }));
        assert_eq!(
            link_request(&order(CommandAction::Rth, false, None), &items, false),
            MissionRequest::Rtl
        );
        assert_eq!(
            link_request(&order(CommandAction::Abort, false, None), &items, false),
            MissionRequest::Abort
        );
        assert_eq!(rtl_seq(&items), Some(items.last().map_or(0, |i| i.seq)));
    }

    #[test]
    fn a_refused_upload_puts_the_mission_back_to_planned_with_the_reason() {
        let now = Utc::now();
        let mut sup = Supervisor::new(SupervisorConfig::default(), now);
        sup.fact(VehicleFact::LinkUp, now);
        sup.fact(
            VehicleFact::Heartbeat {
                mode: aviary_core::vehicle::FlightMode {
                    name: "STABILIZE".into(),
                    class: aviary_core::vehicle::ModeClass::Manual,
                },
                armed: false,
            },
            now,
        );
        sup.fact(
            VehicleFact::Landed {
                state: aviary_core::vehicle::LandedState::OnGround,
            },
            now,
        );
        sup.attach(MissionPhase::Planned, 0, None, None);
        let (o, _) = sup
            .request(CommandAction::Start, now)
            .expect("start accepted");
        assert!(o.upload);
        let failure = ActionFailure {
            vehicle: VehicleId {
                peer: "127.0.0.1:1".parse().expect("addr"),
                system_id: 1,
            },
            step: "upload".into(),
            cause: FailureCause::NoCount,
            vehicle_said: vec!["Mission: too many items".into()],
            disarmed_again: false,
        };
        let out = apply_action_result(&mut sup, ActionKind::Start, &Err(failure), &[], now);
        assert_eq!(sup.phase(), Some(MissionPhase::Planned));
        assert!(out.iter().any(|o| matches!(o, Output::Alert(a)
            if a.text.contains("Mission: too many items"))));
    }
}
