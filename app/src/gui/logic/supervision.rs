//! `MAVLink` drones under the core's mission supervisor: the vehicle's reports decide the
//! mission's phase and the drone's status, not what the app last commanded (issue 14).
//!
//! One [`Supervisor`] per drone (in [`crate::gui::links::Links::supervised`]), created when
//! the drone is first heard and seeded with the link's picture of the vehicle; fed every link
//! event's facts; ticked each frame. Its transitions are stored with their cause and shown,
//! its alerts raised with its text (the vehicle's own `STATUSTEXT` where it said something).
//! Operator actions go through [`Supervisor::request`] and reach the link as one
//! `mission_action` each, answered by one `ActionResult` (the same glue as `aviary fly`, in
//! [`crate::flight`]). Start runs the pre-flight checks first.

use super::records::{fail_command, record_confirmed};
use crate::flight;
use crate::gui::backend::Backend;
use crate::gui::links::Supervised;
use crate::gui::state::{
    AlertKind, AppState, CommandOutcome, CommandRecord, PreflightPrompt, SupervisedView,
    action_label,
};
use aviary_core::preflight::{PreflightConfig, blocking, preflight};
use aviary_core::supervisor::{
    AlertLevel, MissionPhase, Order, Output, Supervisor, SupervisorAlert, SupervisorConfig,
};
use aviary_core::vehicle::VehicleFact;
use aviary_core::wire::CommandAction;
use aviary_core::wire::action_name as action_str;
use aviary_core::{DroneId, DroneStatus, LatLon, Mission, MissionStatus, mission::FailureReason};
use aviary_links::mav::{LinkEvent, MissionOp, VehicleState};
use aviary_store::MissionFilter;
use chrono::{DateTime, Utc};
use std::collections::VecDeque;

// --- the supervisor of a drone ------------------------------------------------------------

/// Seeds `sup` with what the link knows of the vehicle now (the link's facts come on change
/// only, so a supervisor created late would otherwise miss the picture).
fn seed(sup: &mut Supervisor, v: &VehicleState, now: DateTime<Utc>) -> Vec<Output> {
    let mut out = Vec::new();
    out.extend(sup.fact(
        if v.link_up {
            VehicleFact::LinkUp
        } else {
            VehicleFact::LinkLost
        },
        now,
    ));
    out.extend(sup.fact(
        VehicleFact::Heartbeat {
            mode: v.flight_mode(),
            armed: v.armed,
        },
        now,
    ));
    out.extend(sup.fact(VehicleFact::Landed { state: v.landed }, now));
    for fact in flight::state_facts(v) {
        out.extend(sup.fact(fact, now));
    }
    out
}

/// Seeds the drone's supervisor from its link's current view of the vehicle (after a bind or
/// a rebind to a vehicle's new address).
pub(super) fn seed_from_link(state: &mut AppState, backend: &mut Backend, drone: DroneId) {
    let now = state.now;
    let Some(v) = backend
        .links
        .route(drone)
        .ok()
        .and_then(|(h, id)| h.vehicle(id))
    else {
        return;
    };
    ensure(backend, drone, now);
    let out = match backend.links.supervised.get_mut(&drone) {
        Some(s) => seed(&mut s.sup, &v, now),
        None => return,
    };
    apply_outputs(state, backend, drone, &out);
}

/// The drone's supervisor, created on first use: seeded from the link and, when the store
/// holds a mission of this drone in progress or paused (the app restarted mid-flight),
/// attached to it in its stored phase, so the app keeps following the vehicle.
fn ensure(backend: &mut Backend, drone: DroneId, now: DateTime<Utc>) -> &mut Supervised {
    if !backend.links.supervised.contains_key(&drone) {
        let mut sup = Supervisor::new(SupervisorConfig::default(), now);
        if let Some(v) = backend
            .links
            .route(drone)
            .ok()
            .and_then(|(h, id)| h.vehicle(id))
        {
            // No mission attached yet: these facts produce nothing worth showing.
            let _ = seed(&mut sup, &v, now);
        }
        let mut s = Supervised {
            sup,
            mission: None,
            items: Vec::new(),
            status: None,
            pending: VecDeque::new(),
        };
        attach_stored(backend, drone, &mut s);
        backend.links.supervised.insert(drone, s);
    }
    backend.links.supervised_changed.insert(drone);
    backend
        .links
        .supervised
        .get_mut(&drone)
        .unwrap_or_else(|| unreachable!("inserted above"))
}

/// Attaches the drone's stored in-progress or paused mission, in its stored phase.
fn attach_stored(backend: &Backend, drone: DroneId, s: &mut Supervised) {
    let store = &backend.store;
    let Ok(missions) = store.list_missions(&MissionFilter {
        drone_id: Some(drone),
        statuses: vec![MissionStatus::InProgress, MissionStatus::Paused],
        ..MissionFilter::default()
    }) else {
        return;
    };
    let Some(m) = missions.into_iter().next() else {
        return;
    };
    let phase = store
        .mission_phase(m.id)
        .map_or_else(|_| MissionPhase::from_status(m.status), |(p, _)| p);
    let home = store.get_drone(drone).map_or_else(
        |_| m.waypoints.first().map(|w| w.pos).unwrap_or_default(),
        |d| d.home,
    );
    let alt = flight::altitude_ref(m.parameters.terrain.as_ref(), false);
    let items = flight::items_for(home, &m.waypoints, m.parameters.speed_mps, alt);
    s.sup.attach(
        phase,
        u16::try_from(items.len()).unwrap_or(u16::MAX),
        flight::rtl_seq(&items),
        None,
    );
    tracing::info!(mission = %m.id, %phase, "following a mission stored as running");
    s.mission = Some(m.id);
    s.items = items;
}

// --- events and ticks ----------------------------------------------------------------------

/// One link event of the vehicle bound to `drone`: its facts go to the supervisor; an
/// upload's end and an action's result move the mission; the command record follows the
/// result.
pub(super) fn on_link_event(
    state: &mut AppState,
    backend: &mut Backend,
    drone: DroneId,
    event: &LinkEvent,
) {
    let now = state.now;
    let s = ensure(backend, drone, now);
    let mut out = Vec::new();
    for (_, fact) in flight::facts(event) {
        out.extend(s.sup.fact(fact, now));
    }
    let mut answered = None;
    match event {
        LinkEvent::MissionProgress {
            op: MissionOp::Upload,
            done,
            total,
            ..
        } if done == total => out.extend(flight::upload_done(&mut s.sup, &s.items, now)),
        LinkEvent::ActionResult {
            request, result, ..
        } => {
            out.extend(flight::apply_action_result(
                &mut s.sup, *request, result, &s.items, now,
            ));
            let action = flight::action_of(*request);
            if let Some(i) = s.pending.iter().position(|(_, a)| *a == action) {
                let (id, _) = s.pending.remove(i).unwrap_or_else(|| unreachable!());
                answered = Some((id, result.as_ref().err().map(flight::failure_words)));
            }
        }
        _ => {}
    }
    match answered {
        Some((id, None)) => record_confirmed(state, backend, id),
        Some((id, Some(why))) => fail_command(state, backend, id, &why),
        None => {}
    }
    apply_outputs(state, backend, drone, &out);
}

/// How often every supervisor is ticked, milliseconds of clock time; between, only those
/// changed since the last pass. A tick only acts on time (a pause past its timeout, a link
/// lost past its limit: minutes), so a quarter of a second late is nothing, while ticking
/// 5,000 supervisors on every pass held up the positions arriving meanwhile.
pub const FULL_TICK_MS: i64 = 250;

/// Ticks the supervisors (a pause past its timeout, a link lost past its limit: every one
/// each [`FULL_TICK_MS`], between only those changed since the last pass) and copies what the
/// Monitor draws into `state.supervised`.
///
/// Runs every pass, so its cost is per pass times the fleet: a tick with nothing to do
/// allocates nothing and only a tick with outputs goes through [`apply_outputs`]; the views
/// are copied in place, only for the drones whose supervisor changed since the last pass
/// ([`Links::supervised_changed`](crate::gui::links::Links::supervised_changed)), and in full
/// every [`FULL_VIEW_COPY_MS`] or when a binding changed.
pub(super) fn tick_all(state: &mut AppState, backend: &mut Backend) {
    let now = state.now;
    let full = state
        .supervisors_ticked_at
        .is_none_or(|t| now < t || (now - t).num_milliseconds() >= FULL_TICK_MS);
    let links = &mut backend.links;
    let tick = |drone: DroneId, s: &mut Supervised| {
        let out = s.sup.tick(now);
        (!out.is_empty()).then_some((drone, out))
    };
    let ticked: Vec<(DroneId, Vec<Output>)> = if full {
        state.supervisors_ticked_at = Some(now);
        links
            .supervised
            .iter_mut()
            .filter_map(|(drone, s)| tick(*drone, s))
            .collect()
    } else {
        let supervised = &mut links.supervised;
        links
            .supervised_changed
            .iter()
            .filter_map(|drone| tick(*drone, supervised.get_mut(drone)?))
            .collect()
    };
    for (drone, out) in ticked {
        apply_outputs(state, backend, drone, &out);
    }
    copy_views(state, backend);
}

/// The longest the Monitor's views go without a full copy, milliseconds of clock time.
pub const FULL_VIEW_COPY_MS: i64 = 1_000;

/// Copies the supervisors' views for the Monitor (see [`tick_all`]).
fn copy_views(state: &mut AppState, backend: &mut Backend) {
    let links = &mut backend.links;
    let full = links.bindings_changed
        || state
            .supervised_copied_at
            .is_none_or(|t| (state.now - t).num_milliseconds().abs() >= FULL_VIEW_COPY_MS);
    if full {
        links.bindings_changed = false;
        links.supervised_changed.clear();
        state.supervised_copied_at = Some(state.now);
        state
            .supervised
            .retain(|d, _| links.supervised.contains_key(d) && links.by_drone.contains_key(d));
        for (drone, s) in &links.supervised {
            if links.by_drone.contains_key(drone) {
                update_view(state.supervised.entry(*drone).or_default(), s);
            }
        }
        return;
    }
    for drone in links.supervised_changed.drain() {
        match links.supervised.get(&drone) {
            Some(s) if links.by_drone.contains_key(&drone) => {
                update_view(state.supervised.entry(drone).or_default(), s);
            }
            _ => {
                state.supervised.remove(&drone);
            }
        }
    }
}

/// Copies a supervisor into its Monitor view, reusing the view's allocations.
fn update_view(view: &mut SupervisedView, s: &Supervised) {
    let v = s.sup.vehicle();
    view.mission = s.mission;
    view.phase = s.sup.phase();
    view.allowed.clear();
    view.allowed
        .extend(CommandAction::ALL.into_iter().filter(|a| s.sup.allowed(*a)));
    view.available = s.sup.available();
    let line = &mut view.vehicle;
    match &v.mode {
        Some(m) => line.mode.clone_from(&m.name),
        None => line.mode.clear(),
    }
    line.armed = v.armed;
    line.link_up = v.link_up;
    line.on_ground = v.on_ground();
    line.alt_rel_m = v.alt_rel_m;
}

/// The alert kind an alert of the supervisor is shown as.
fn alert_kind(a: &SupervisorAlert) -> AlertKind {
    match a.reason {
        Some(FailureReason::ConnectionLost) => AlertKind::LinkLost,
        Some(FailureReason::BatteryCritical) => AlertKind::LowBattery,
        Some(FailureReason::Geofence) => AlertKind::Geofence,
        Some(FailureReason::UploadFailed | FailureReason::PauseTimeout) => AlertKind::CommandFailed,
        None if a.text.contains(" refused: ") => AlertKind::CommandFailed,
        // GPS/EKF failsafe, a pilot's takeover, any other fault the vehicle reports.
        Some(
            FailureReason::VehicleFault
            | FailureReason::GpsFailsafe
            | FailureReason::PilotTookControl,
        )
        | None => AlertKind::VehicleFault,
    }
}

/// Stores and shows the supervisor's outputs; sends what it asks the vehicle to do; sets the
/// drone's status from the vehicle's (only on change).
fn apply_outputs(state: &mut AppState, backend: &mut Backend, drone: DroneId, outputs: &[Output]) {
    // Every change to a supervisor (a fact, a tick, an operator's request) ends here.
    backend.links.supervised_changed.insert(drone);
    // Every vehicle state of every drone comes through here, nearly always with no output:
    // the name is only looked up for the words of an alert or a failed request.
    let label = if outputs
        .iter()
        .any(|o| matches!(o, Output::Alert(_) | Output::Request { .. }))
    {
        state.drone_label(drone)
    } else {
        String::new()
    };
    let Some(mission) = backend.links.supervised.get(&drone).map(|s| s.mission) else {
        return;
    };
    for o in outputs {
        match o {
            Output::Transition(t) => {
                let Some(mission) = mission else { continue };
                match backend.store.apply_transition(mission, t, None) {
                    Ok(m) => {
                        if t.to.is_terminal() || t.reason.is_some() {
                            state.notice(
                                format!("mission '{}' {}: {}", m.name, t.to, t.cause),
                                t.to == MissionPhase::Failed,
                            );
                        }
                        show_mission(state, m);
                    }
                    Err(e) => state.notice(format!("mission state: {e}"), true),
                }
            }
            Output::Alert(a) => {
                let text = format!("{label}: {}", a.text);
                if a.level == AlertLevel::Info {
                    state.notice(text, false);
                } else {
                    state.raise_event_alert(alert_kind(a), Some(drone), text);
                }
            }
            Output::Progress { item, .. } => {
                if let Some(d) = state.drones.get_mut(&drone) {
                    d.link.current_item = Some(*item);
                }
            }
            Output::Request { action } => {
                let order = Order {
                    action: *action,
                    upload: false,
                    from_seq: None,
                };
                let items = backend
                    .links
                    .supervised
                    .get(&drone)
                    .map(|s| s.items.as_slice())
                    .unwrap_or_default();
                let request = flight::link_request(&order, items, false);
                let sent = backend
                    .links
                    .route(drone)
                    .map_err(|e| e.to_string())
                    .and_then(|(h, v)| h.mission_action(v, request).map_err(|e| e.to_string()));
                if let Err(e) = sent {
                    state.raise_alert(
                        AlertKind::CommandFailed,
                        Some(drone),
                        format!("{label}: sending {} failed: {e}", action_label(*action)),
                    );
                }
            }
        }
    }
    let Some(s) = backend.links.supervised.get_mut(&drone) else {
        return;
    };
    let stored = state
        .drones
        .get(&drone)
        .map_or(DroneStatus::Available, |d| d.drone.status);
    let status = flight::drone_status(&s.sup, stored);
    if s.status != Some(status) {
        s.status = Some(status);
        if status != stored {
            match backend.store.set_drone_status(drone, status) {
                Ok(()) => {
                    if let Some(d) = state.drones.get_mut(&drone) {
                        d.drone.status = status;
                    }
                }
                Err(e) => state.notice(format!("drone status: {e}"), true),
            }
        }
    }
}

/// Puts the stored mission into the Monitor's list.
fn show_mission(state: &mut AppState, m: Mission) {
    if let Some(slot) = state.missions.iter_mut().find(|x| x.id == m.id) {
        *slot = m;
    } else if state.selected_mission == Some(m.id) || m.status.is_active() {
        state.missions.push(m);
    }
}

// --- operator actions ----------------------------------------------------------------------

/// An operator action on mission `m` flown by `MAVLink` drone `drone`. Start runs the
/// pre-flight checks first (`override_reason`: the operator's reason to start despite failed
/// soft checks); then the supervisor accepts or refuses; an accepted order goes to the link as
/// one `mission_action`, recorded as a pending command until its result arrives.
pub(super) fn control(
    state: &mut AppState,
    backend: &mut Backend,
    m: &Mission,
    drone: DroneId,
    action: CommandAction,
    override_reason: Option<&str>,
) {
    let now = state.now;
    let label = state.drone_label(drone);
    let live = backend
        .links
        .route(drone)
        .ok()
        .and_then(|(h, v)| h.vehicle(v));
    let drone_home = state.drones.get(&drone).map(|d| d.drone.home);
    let mut outputs = Vec::new();
    if action == CommandAction::Start {
        let home = live
            .as_ref()
            .and_then(|v| v.pos)
            .or(drone_home)
            .unwrap_or_else(|| m.waypoints.first().map(|w| w.pos).unwrap_or_default());
        if !preflight_passes(state, backend, m, drone, home, override_reason) {
            return;
        }
        let s = ensure(backend, drone, now);
        let same = s.mission == Some(m.id)
            && matches!(
                s.sup.phase(),
                Some(MissionPhase::Planned | MissionPhase::Ready)
            );
        if !same {
            // Terrain frame where the vehicle has terrain of its own (it reports it).
            let vehicle_terrain = live.as_ref().is_some_and(|v| v.terrain.is_some());
            let alt = flight::altitude_ref(m.parameters.terrain.as_ref(), vehicle_terrain);
            let items = flight::items_for(home, &m.waypoints, m.parameters.speed_mps, alt);
            s.sup.detach();
            s.sup.attach(
                MissionPhase::Planned,
                u16::try_from(items.len()).unwrap_or(u16::MAX),
                flight::rtl_seq(&items),
                None,
            );
            s.mission = Some(m.id);
            s.items = items;
        }
    }
    let s = ensure(backend, drone, now);
    if s.mission != Some(m.id) {
        state.notice(
            format!(
                "{}: {label} is not flying mission '{}'",
                action_label(action),
                m.name
            ),
            true,
        );
        return;
    }
    let order = match s.sup.request(action, now) {
        Ok((order, out)) => {
            outputs.extend(out);
            order
        }
        Err(refusal) => {
            state.notice(format!("{label}: {refusal}"), true);
            state.raise_alert(
                AlertKind::CommandFailed,
                Some(drone),
                format!("{label}: {refusal}"),
            );
            return;
        }
    };
    let on_ground = s.sup.vehicle().on_ground();
    let request = flight::link_request(&order, &s.items, on_ground);
    let id = uuid::Uuid::new_v4();
    s.pending.push_back((id, action));
    if let Err(e) =
        backend
            .store
            .record_command(id, drone, Some(m.id), action_str(action), "pending", "")
    {
        state.notice(format!("cannot record command: {e}"), true);
    }
    state.commands.push(CommandRecord {
        id,
        action,
        mission: m.id,
        drone,
        sent_at: now,
        outcome: CommandOutcome::Pending,
    });
    let sent = backend
        .links
        .route(drone)
        .map_err(|e| e.to_string())
        .and_then(|(h, v)| h.mission_action(v, request).map_err(|e| e.to_string()));
    if let Err(why) = sent {
        if let Some(s) = backend.links.supervised.get_mut(&drone) {
            s.pending.retain(|(p, _)| *p != id);
            outputs.extend(s.sup.command_result(action, Err(why.clone()), now));
        }
        fail_command(state, backend, id, &why);
    }
    apply_outputs(state, backend, drone, &outputs);
}

/// Runs the pre-flight checks of a start. A refusal is shown (every check with its detail)
/// and `false` returned; an override of failed soft checks is written to the audit log.
fn preflight_passes(
    state: &mut AppState,
    backend: &mut Backend,
    m: &Mission,
    drone: DroneId,
    home: LatLon,
    override_reason: Option<&str>,
) -> bool {
    let now = state.now;
    let other = backend
        .store
        .list_missions(&MissionFilter {
            drone_id: Some(drone),
            statuses: vec![MissionStatus::InProgress, MissionStatus::Paused],
            ..MissionFilter::default()
        })
        .unwrap_or_default()
        .into_iter()
        .find(|x| x.id != m.id)
        .map(|x| x.name);
    let alt = flight::altitude_ref(m.parameters.terrain.as_ref(), false);
    let items = flight::items_for(home, &m.waypoints, m.parameters.speed_mps, alt);
    let mut needs = flight::plan_needs(
        home,
        &m.waypoints,
        m.parameters.speed_mps,
        items.len(),
        &aviary_planner::Airframe::default(),
    );
    let (weather, report) = super::weather::for_start(state, backend, m, drone, now);
    needs.weather = Some(weather.clone());
    let s = ensure(backend, drone, now);
    let checks = preflight(
        s.sup.vehicle(),
        other.as_deref(),
        &needs,
        &PreflightConfig::default(),
        now,
    );
    let overridden = override_reason.is_some_and(|r| !r.trim().is_empty());
    let blocked = blocking(&checks, overridden);
    if !blocked.is_empty() {
        let words: Vec<String> = blocked
            .iter()
            .map(|c| format!("{}: {}", c.kind.label(), c.detail))
            .collect();
        state.notice(
            format!(
                "Start of '{}' refused by pre-flight: {}",
                m.name,
                words.join("; ")
            ),
            true,
        );
        state.preflight = Some(PreflightPrompt {
            mission: m.id,
            overridable: blocked.iter().all(|c| c.soft),
            checks,
            reason: String::new(),
        });
        return false;
    }
    state.preflight = None;
    let forecast = aviary_core::weather_log::StartForecast::new(weather, report.as_ref(), now);
    if let Err(e) = backend.store.put_start_forecast(m.id, &forecast) {
        state.notice(format!("weather at start not stored: {e}"), true);
    }
    if let Some(reason) = override_reason.filter(|_| overridden) {
        let operator = state.operator_name();
        if let Some(audit) = flight::override_audit(
            now,
            m.id,
            &checks,
            needs.weather.as_ref(),
            &operator,
            reason,
        ) {
            if let Err(e) = backend.store.append_audit(&audit) {
                state.notice(format!("audit log: {e}"), true);
            }
            let failed: Vec<&str> = checks
                .iter()
                .filter(|c| !c.ok)
                .map(|c| c.kind.label())
                .collect();
            state.notice(
                format!(
                    "pre-flight {} overridden by {operator} for '{}': {}",
                    failed.join(", "),
                    m.name,
                    reason.trim()
                ),
                false,
            );
        }
    }
    true
}

/// Whether `drone` flies over `MAVLink` (bound to a vehicle on a link) and so is supervised.
pub(super) fn is_mavlink(backend: &Backend, drone: DroneId) -> bool {
    backend.links.by_drone.contains_key(&drone)
}
