//! The desktop's own scheduler, for missions scheduled without a fleet server: while the app
//! runs, each local schedule's runs go through [`aviary_core::schedule::RunState`] on the
//! injected clock. At the lead time the pre-flight checks run (drone assigned, available,
//! landed, linked, battery, weather go or caution, no conflicting mission); at the start time
//! the app asks the operator to confirm, or starts unattended when Settings allow it (audited
//! as `schedule.unattended_start`). A run that cannot start is stored as missed with every
//! reason and raises an alert. Each run's state is stored as it changes, so a restart picks
//! up where it was; runs due while the app was closed are missed as late.

use super::LogicMemory;
use super::control::mission_control;
use crate::flight;
use crate::gui::backend::Backend;
use crate::gui::settings::Settings;
use crate::gui::state::{AlertKind, AppState, CalendarRow, RunPrompt};
use aviary_core::schedule::{
    LeadFacts, RunAction, RunKey, RunPhase, RunState, ScheduleSpec, SchedulerConfig,
};
use aviary_core::wire::CommandAction;
use aviary_core::{AuditEvent, DroneStatus, Mission, MissionId, MissionStatus};
use aviary_store::{LocalSchedule, StoredRun};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;

/// How far back runs are looked at (a run due earlier while the app was closed is not
/// recorded).
const LOOK_BACK_DAYS: i64 = 2;
/// How far ahead the calendar lists upcoming runs.
const CALENDAR_AHEAD_DAYS: i64 = 14;
/// How far back the calendar lists past runs.
const CALENDAR_BACK_DAYS: i64 = 30;
/// The calendar is rebuilt this often (clock seconds) when nothing changed.
const CALENDAR_EVERY_S: i64 = 5;

/// The scheduler's memory between frames.
#[derive(Debug, Default)]
pub struct SchedulerMemory {
    loaded: bool,
    /// Reload schedules and runs from the store on the next tick.
    pub dirty: bool,
    schedules: Vec<LocalSchedule>,
    runs: HashMap<RunKey, StoredRun>,
    calendar_at: Option<DateTime<Utc>>,
}

/// The scheduler's settings from the app's.
pub fn config(settings: &Settings) -> SchedulerConfig {
    SchedulerConfig {
        lead_time: Duration::minutes(i64::from(settings.schedule_lead_min.max(1))),
        unattended_starts: settings.unattended_starts,
        ..SchedulerConfig::default()
    }
}

/// One frame: every due run moves on; the calendar is rebuilt when something changed.
pub(super) fn tick(
    state: &mut AppState,
    backend: &mut Backend,
    settings: &Settings,
    memory: &mut LogicMemory,
) {
    let mem = &mut memory.scheduler;
    let now = state.now;
    let mut changed = false;
    if !mem.loaded || mem.dirty {
        load(state, backend, mem);
        changed = true;
    }
    let config = config(settings);
    let schedules = mem.schedules.clone();
    for sched in &schedules {
        // The site's forecast is kept fresh while a run is within a day, so the lead-time
        // check finds it (the service answers from its cache between fetches).
        if sched
            .spec
            .runs_from(now - config.grace)
            .next()
            .is_some_and(|r| r.at <= now + Duration::days(1))
        {
            super::weather::ask(state, backend, sched.site);
        }
        let from = (now - Duration::days(LOOK_BACK_DAYS)).max(sched.created_at);
        let runs: Vec<_> = sched
            .spec
            .runs_from(from)
            .take_while(|r| r.at <= now + config.lead_time)
            .collect();
        for planned in runs {
            let key = RunKey {
                schedule: sched.id,
                local_date: planned.local_date,
            };
            let run = mem.runs.entry(key).or_insert_with(|| StoredRun {
                state: RunState::new(key, planned.at),
                mission: None,
            });
            if run.state.phase.is_final() {
                continue;
            }
            if run.state.checks_due(now, &config) {
                super::weather::ask(state, backend, sched.site);
            }
            let before = run.state.phase.clone();
            let due = run.state.due;
            let action = run
                .state
                .tick(now, &config, || lead_facts(state, backend, sched, due));
            let moved = run.state.phase != before;
            changed |= moved;
            let Some(action) = action else {
                if moved {
                    save(state, backend, run);
                }
                continue;
            };
            let mut run = run.clone();
            act(state, backend, sched, &mut run, action, &config);
            save(state, backend, &run);
            mem.runs.insert(key, run);
            changed = true;
        }
    }
    if changed
        || mem
            .calendar_at
            .is_none_or(|t| (now - t).num_seconds() >= CALENDAR_EVERY_S)
    {
        mem.calendar_at = Some(now);
        calendar(state, backend, mem, &config);
    }
}

fn load(state: &mut AppState, backend: &Backend, mem: &mut SchedulerMemory) {
    mem.loaded = true;
    mem.dirty = false;
    let now = state.now;
    match backend.store.list_schedules() {
        Ok(s) => mem.schedules = s,
        Err(e) => state.notice(format!("schedules: {e}"), true),
    }
    match backend.store.runs_between(
        now - Duration::days(LOOK_BACK_DAYS + 1),
        now + Duration::days(1),
    ) {
        Ok(runs) => {
            mem.runs = runs.into_iter().map(|r| (r.state.key, r)).collect();
        }
        Err(e) => state.notice(format!("scheduled runs: {e}"), true),
    }
}

fn save(state: &mut AppState, backend: &Backend, run: &StoredRun) {
    if let Err(e) = backend.store.save_run(run) {
        state.notice(format!("scheduled run not stored: {e}"), true);
    }
}

/// What the checks of a run see: the template mission's drone as the window knows it now.
fn lead_facts(
    state: &AppState,
    backend: &Backend,
    sched: &LocalSchedule,
    due: DateTime<Utc>,
) -> LeadFacts {
    let template = backend.store.get_mission(sched.mission).ok();
    let drone = template.as_ref().and_then(|m| m.drone_id);
    let view = drone.and_then(|d| state.drones.get(&d));
    let supervised = drone.and_then(|d| state.supervised.get(&d));
    let needs = template.as_ref().map(|m| {
        let home = view.map_or_else(
            || m.waypoints.first().map(|w| w.pos).unwrap_or_default(),
            |v| v.drone.home,
        );
        let alt = flight::altitude_ref(m.parameters.terrain.as_ref(), false);
        let items = flight::items_for(home, &m.waypoints, m.parameters.speed_mps, alt);
        flight::plan_needs(
            home,
            &m.waypoints,
            m.parameters.speed_mps,
            items.len(),
            &aviary_planner::Airframe::default(),
        )
    });
    let weather = template.as_ref().map(|m| {
        super::weather::verdict(
            state,
            backend,
            m.site_id,
            drone,
            (
                due,
                due + Duration::seconds(m.estimated_duration_s.ceil() as i64),
            ),
            m.parameters.altitude_m,
        )
    });
    LeadFacts {
        drone: drone.map(|d| state.drone_label(d)),
        drone_status: view.map_or(DroneStatus::Offline, |v| v.drone.status),
        // A MAVLink drone's link is its heartbeat as the link hears it (real time); an MQTT
        // drone's is its latest telemetry.
        link_up: drone
            .and_then(|d| backend.links.route(d).ok())
            .and_then(|(h, v)| h.vehicle(v))
            .map_or_else(|| view.is_some_and(|v| v.link_up), |v| v.link_up),
        landed: supervised.map_or_else(|| view.is_some_and(|v| !v.link.armed), |s| s.available),
        battery_pct: view.and_then(|v| v.live.as_ref()).map(|l| l.battery_pct),
        battery_needed_pct: needs.map_or(0.0, |n| {
            n.first_sortie_battery_pct
                + aviary_core::preflight::PreflightConfig::default().battery_reserve_pct
        }),
        weather,
        conflicting_mission: drone.and_then(|d| {
            state
                .missions
                .iter()
                .find(|m| m.drone_id == Some(d) && m.status.is_active())
                .map(|m| m.name.clone())
        }),
    }
}

/// Carries out what the run asks for.
fn act(
    state: &mut AppState,
    backend: &mut Backend,
    sched: &LocalSchedule,
    run: &mut StoredRun,
    action: RunAction,
    config: &SchedulerConfig,
) {
    let name = backend
        .store
        .get_mission(sched.mission)
        .map_or_else(|_| "a deleted mission".to_owned(), |m| m.name);
    match action {
        RunAction::AskOperator => {
            state.calendar.prompts.push(RunPrompt {
                schedule: sched.id,
                local_date: run.state.key.local_date,
                text: format!(
                    "'{name}' is due now ({}). The pre-flight checks passed at the lead time.",
                    local_time(&sched.spec, run.state.due)
                ),
                reason: String::new(),
            });
            state.notice(
                format!("scheduled run of '{name}' is due: confirm the start"),
                false,
            );
        }
        RunAction::Start { unattended } => {
            if unattended {
                let audit = AuditEvent {
                    time: state.now,
                    user_id: None,
                    action: "schedule.unattended_start".into(),
                    target: sched.mission.to_string(),
                    detail: format!(
                        "scheduled run of '{name}' due {} started without an operator",
                        run.state.due.format("%Y-%m-%d %H:%M UTC")
                    ),
                };
                if let Err(e) = backend.store.append_audit(&audit) {
                    state.notice(format!("audit log: {e}"), true);
                }
            }
            start(state, backend, sched, run, config);
        }
        RunAction::Missed { alert } => missed(state, backend, sched, &name, &alert),
    }
}

fn missed(state: &mut AppState, backend: &Backend, sched: &LocalSchedule, name: &str, alert: &str) {
    let drone = backend
        .store
        .get_mission(sched.mission)
        .ok()
        .and_then(|m| m.drone_id);
    state.raise_event_alert(AlertKind::MissedRun, drone, format!("'{name}': {alert}"));
    state.notice(format!("'{name}': {alert}"), true);
}

/// Flies a copy of the schedule's mission now; a refused start makes the run missed.
fn start(
    state: &mut AppState,
    backend: &mut Backend,
    sched: &LocalSchedule,
    run: &mut StoredRun,
    _config: &SchedulerConfig,
) {
    let now = state.now;
    let copy = backend.store.get_mission(sched.mission).and_then(|t| {
        let m = Mission {
            id: MissionId::new_random(),
            name: format!("{} · {}", t.name, run.state.key.local_date),
            status: MissionStatus::Planned,
            scheduled_start: Some(run.state.due),
            actual_start: None,
            actual_end: None,
            paused_at: None,
            created_at: now,
            ..t
        };
        backend.store.insert_mission(&m).map(|()| m)
    });
    let m = match copy {
        Ok(m) => m,
        Err(e) => {
            refused(
                state,
                backend,
                sched,
                run,
                format!("mission not copied: {e}"),
            );
            return;
        }
    };
    run.mission = Some(m.id);
    state.missions.push(m.clone());
    let failed_before = state.commands.len();
    mission_control(state, backend, m.id, CommandAction::Start, None);
    let refused_by = if state.preflight.as_ref().is_some_and(|p| p.mission == m.id) {
        state.preflight.as_ref().map(|p| {
            p.checks
                .iter()
                .filter(|c| !c.ok)
                .map(|c| format!("{}: {}", c.kind.label(), c.detail))
                .collect::<Vec<_>>()
                .join("; ")
        })
    } else {
        state.commands[failed_before..]
            .iter()
            .find_map(|c| match &c.outcome {
                crate::gui::state::CommandOutcome::Failed(why) => Some(why.clone()),
                _ => None,
            })
    };
    if let Some(detail) = refused_by {
        refused(state, backend, sched, run, detail);
    }
}

fn refused(
    state: &mut AppState,
    backend: &Backend,
    sched: &LocalSchedule,
    run: &mut StoredRun,
    detail: String,
) {
    if let Some(RunAction::Missed { alert }) = run.state.start_refused(detail, state.now) {
        let name = backend
            .store
            .get_mission(sched.mission)
            .map_or_else(|_| "a deleted mission".to_owned(), |m| m.name);
        missed(state, backend, sched, &name, &alert);
    }
}

/// The operator's answer to a run waiting for confirmation.
pub(super) fn answer(
    state: &mut AppState,
    backend: &mut Backend,
    settings: &Settings,
    memory: &mut LogicMemory,
    key: RunKey,
    confirm: Result<(), String>,
) {
    state
        .calendar
        .prompts
        .retain(|p| (p.schedule, p.local_date) != (key.schedule, key.local_date));
    let config = config(settings);
    let mem = &mut memory.scheduler;
    let Some(sched) = mem.schedules.iter().find(|s| s.id == key.schedule).cloned() else {
        return;
    };
    let Some(mut run) = mem.runs.get(&key).cloned() else {
        return;
    };
    if let Some(action) = run.state.answer(confirm, state.now, &config) {
        act(state, backend, &sched, &mut run, action, &config);
    }
    save(state, backend, &run);
    mem.runs.insert(key, run);
    mem.calendar_at = None;
}

/// A run's local time at its site, e.g. `2027-03-29 09:00 CEST`.
pub fn local_time(spec: &ScheduleSpec, at: DateTime<Utc>) -> String {
    at.with_timezone(&spec.timezone)
        .format("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// Rebuilds the calendar: stored runs of the last days and the upcoming ones.
fn calendar(
    state: &mut AppState,
    backend: &Backend,
    mem: &SchedulerMemory,
    config: &SchedulerConfig,
) {
    let now = state.now;
    let names: HashMap<MissionId, String> = mem
        .schedules
        .iter()
        .filter_map(|s| {
            backend
                .store
                .get_mission(s.mission)
                .ok()
                .map(|m| (s.mission, m.name))
        })
        .collect();
    let stored = backend
        .store
        .runs_between(
            now - Duration::days(CALENDAR_BACK_DAYS),
            now + Duration::days(1),
        )
        .unwrap_or_default();
    let mut seen: std::collections::HashSet<RunKey> = std::collections::HashSet::new();
    let mut rows = Vec::new();
    let mut counts = std::collections::BTreeMap::new();
    for sched in &mem.schedules {
        let name = names
            .get(&sched.mission)
            .cloned()
            .unwrap_or_else(|| "a deleted mission".to_owned());
        let runs = stored
            .iter()
            .filter(|r| r.state.key.schedule == sched.id)
            .map(|r| mem.runs.get(&r.state.key).unwrap_or(r))
            .chain(
                mem.runs
                    .values()
                    .filter(|r| r.state.key.schedule == sched.id),
            );
        for r in runs {
            if !seen.insert(r.state.key) {
                continue;
            }
            let entry: &mut (u64, u64) = counts.entry(sched.site).or_default();
            match r.state.phase {
                RunPhase::Started { .. } => entry.0 += 1,
                RunPhase::Missed { .. } => entry.1 += 1,
                _ => {}
            }
            rows.push(row(state, sched, &name, &r.state, r.mission));
        }
        let upcoming = sched
            .spec
            .runs_from(now)
            .take_while(|r| r.at <= now + Duration::days(CALENDAR_AHEAD_DAYS))
            .take(64);
        for p in upcoming {
            let key = RunKey {
                schedule: sched.id,
                local_date: p.local_date,
            };
            if seen.insert(key) {
                rows.push(row(state, sched, &name, &RunState::new(key, p.at), None));
            }
        }
    }
    rows.sort_by_key(|r| r.due);
    let _ = config;
    state.calendar.rows = rows;
    state.calendar.counts = counts;
}

fn row(
    state: &AppState,
    sched: &LocalSchedule,
    name: &str,
    run: &RunState,
    mission: Option<MissionId>,
) -> CalendarRow {
    let detail = match &run.phase {
        RunPhase::Missed { reasons, .. } => reasons
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; "),
        RunPhase::Started { unattended, at } => {
            let status = mission
                .and_then(|m| state.mission(m))
                .map_or_else(String::new, |m| format!(", mission {}", m.status));
            format!(
                "started {}{}{status}",
                at.format("%H:%M UTC"),
                if *unattended { " unattended" } else { "" }
            )
        }
        RunPhase::Ready => "pre-flight checks passed".to_owned(),
        RunPhase::AwaitingConfirmation => "waiting for the operator".to_owned(),
        RunPhase::Upcoming => String::new(),
    };
    CalendarRow {
        schedule: sched.id,
        site: sched.site,
        mission_name: name.to_owned(),
        due: run.due,
        local: local_time(&sched.spec, run.due),
        phase: run.phase.as_str().to_owned(),
        detail,
    }
}
