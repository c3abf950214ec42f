//! Executes every [`Command`] the UI emitted, after the frame, in one place: store changes here,
//! the rest handed to the module of its role.

use super::chooser::{self, ChooserPurpose};
use super::{
    LogicMemory, alerts, control, files, link_events, offline_maps, reports, simulator, terrain,
};
use crate::gui::backend::Backend;
use crate::gui::command::Command;
use crate::gui::jobs::JobOutput;
use crate::gui::planning;
use crate::gui::settings::Settings;
use crate::gui::state::{AltitudeMode, AppState, Replay, ReplayMark};
use aviary_core::{Mission, MissionEvent, MissionId, MissionStatus, SiteId};
use aviary_store::{MissionFilter, TelemetryRange};

/// Executes one command.
pub fn handle_command(
    state: &mut AppState,
    backend: &mut Backend,
    settings: &mut Settings,
    memory: &mut LogicMemory,
    cmd: Command,
) {
    state.now = backend.clock.now();
    match cmd {
        Command::PlanPreview {
            revision,
            area,
            pattern,
            params,
            home,
            no_fly,
            alt_mode,
            terrain_tolerance_m,
        } => {
            state.plan.requested_revision = revision;
            let terrain = super::terrain::plan_terrain(backend, settings);
            backend.jobs.spawn("Planning survey", move |progress| {
                let result = if alt_mode == AltitudeMode::AboveSeaLevel {
                    // The terrain first: the camera's height over it sets the spacing.
                    let around: Vec<_> = area.exterior.iter().copied().chain(home).collect();
                    terrain.resolve_around(&around).and_then(|dem| {
                        let input = planning::PlanInput {
                            area: &area,
                            no_fly: &no_fly,
                            pattern,
                            params: &params,
                            home,
                        };
                        planning::at_sea_level(&input, dem.as_ref())
                    })
                } else {
                    planning::plan_preview(&area, &no_fly, pattern, &params, home).and_then(
                        |mut p| match terrain.resolve(&p) {
                            Ok(dem) => planning::over_terrain(
                                p,
                                dem.as_ref(),
                                (alt_mode, terrain_tolerance_m),
                                &params,
                            ),
                            Err(e) if alt_mode == AltitudeMode::AboveHome => {
                                p.warnings.push(format!("no terrain profile: {e}"));
                                Ok(p)
                            }
                            Err(e) => Err(e),
                        },
                    )
                };
                progress.set(1.0);
                JobOutput::Planned { revision, result }
            });
        }
        Command::SaveMission {
            name,
            site,
            drone,
            area,
            pattern,
            params,
            plan,
        } => {
            let Some(org) = state.org.as_ref().map(|o| o.id) else {
                state.notice("no organisation in the store", true);
                return;
            };
            let mission = Mission {
                id: MissionId::new_random(),
                org_id: org,
                site_id: site,
                drone_id: drone,
                name: name.clone(),
                status: MissionStatus::Planned,
                survey_area: area,
                flight_pattern: pattern,
                // A terrain-following plan keeps its ground for the report.
                parameters: aviary_core::MissionParams {
                    terrain: plan.terrain.as_ref().and_then(|t| t.planned.clone()),
                    ..params
                },
                scheduled_start: None,
                actual_start: None,
                actual_end: None,
                paused_at: None,
                estimated_duration_s: plan.duration_s,
                estimated_distance_m: plan.distance_m,
                waypoints: plan.waypoints,
                created_by: None,
                created_at: state.now,
            };
            match backend.store.insert_mission(&mission) {
                Ok(()) => {
                    state.selected_mission = Some(mission.id);
                    state.notice(format!("saved mission '{name}'"), false);
                    memory.dirty = true;
                }
                Err(e) => state.notice(format!("cannot save mission: {e}"), true),
            }
        }
        Command::AssignDrone { mission, drone } => {
            let r = backend.store.get_mission(mission).and_then(|mut m| {
                m.drone_id = Some(drone);
                backend.store.update_mission(&m)
            });
            match r {
                Ok(()) => state.notice(format!("assigned {}", state.drone_label(drone)), false),
                Err(e) => state.notice(format!("cannot assign drone: {e}"), true),
            }
            memory.dirty = true;
        }
        Command::DeleteMission(id) => {
            match backend
                .store
                .apply_mission_event(id, MissionEvent::Delete, None)
            {
                Ok(_) => state.notice("mission deleted", false),
                Err(e) => state.notice(format!("cannot delete: {e}"), true),
            }
            memory.dirty = true;
        }
        Command::MissionControl { mission, action } => {
            control::mission_control(state, backend, mission, action, None);
        }
        Command::StartOverride { mission, reason } => {
            control::mission_control(
                state,
                backend,
                mission,
                aviary_core::wire::CommandAction::Start,
                Some(&reason),
            );
        }
        Command::SetDroneStatus { drone, status } => {
            match backend.store.set_drone_status(drone, status) {
                Ok(()) => state.notice(
                    format!("{} is now {status}", state.drone_label(drone)),
                    false,
                ),
                Err(e) => state.notice(format!("cannot change status: {e}"), true),
            }
            memory.dirty = true;
        }
        Command::AcknowledgeAlert(id) => alerts::acknowledge_alerts(state, backend, &[id]),
        Command::AcknowledgeAlerts(ids) => alerts::acknowledge_alerts(state, backend, &ids),
        Command::ShowAlertHistory(query) => alerts::load_alert_history(state, backend, query),
        Command::PlayAlertSound(severity) => backend.sound.play(severity),
        Command::ImportArea if chooser::use_builtin(settings) => {
            chooser::open(state, memory, ChooserPurpose::ImportArea);
        }
        Command::ImportArea => files::pick_area(backend),
        Command::ImportAreaFrom(path) => files::import_area_from(backend, path),
        Command::ImportNoFly if chooser::use_builtin(settings) => {
            chooser::open(state, memory, ChooserPurpose::ImportNoFly);
        }
        Command::ImportNoFly => files::pick_no_fly(backend),
        Command::ImportNoFlyFrom(path) => files::import_no_fly_from(backend, path),
        Command::ImportMissionFrom(path) => files::import_mission_from(backend, path),
        Command::ExportPlan(format) if chooser::use_builtin(settings) => {
            if state.plan.current_preview().is_some() {
                chooser::open(state, memory, ChooserPurpose::ExportPlan(format));
            } else {
                files::export_plan(state, backend, format, None);
            }
        }
        Command::ExportPlan(format) => files::export_plan(state, backend, format, None),
        Command::SearchHistory {
            site,
            status,
            last_days,
        } => search_history(state, backend, site, status, last_days),
        Command::ReplayMission(id) => replay_mission(state, backend, id),
        Command::OpenTlog if chooser::use_builtin(settings) => {
            chooser::open(state, memory, ChooserPurpose::OpenTlog);
        }
        Command::OpenTlog => files::open_tlog(backend),
        Command::OpenTlogFrom(path) => files::open_tlog_from(backend, path),
        Command::AddSimDrone(site) => simulator::add_sim_drone(state, backend, memory, site),
        Command::RemoveSimDrone(drone) => {
            simulator::remove_sim_drone(state, backend, memory, drone);
        }
        Command::InjectFault { drone, fault } => {
            simulator::inject_fault(state, backend, drone, fault);
        }
        Command::MissionReport(id) if chooser::use_builtin(settings) => {
            chooser::open(state, memory, ChooserPurpose::MissionReport(id));
        }
        Command::MissionReport(id) => reports::mission_report(state, backend, id, None),
        Command::OrgReport(req) if req.out_dir.is_none() && chooser::use_builtin(settings) => {
            chooser::open(state, memory, ChooserPurpose::OrgReport(req));
        }
        Command::OrgReport(req) => reports::org_report(state, backend, req),
        Command::ChooserList(dir) => chooser::list(state, memory, dir),
        Command::ChooserHome => chooser::list(state, memory, chooser::home_dir()),
        Command::ChooserChoose(path) => chooser::choose(state, backend, memory, path),
        Command::ChooserCancel => chooser::cancel(state, memory),
        Command::ApplySimulator => simulator::apply_simulator(state, backend, settings, memory),
        Command::OfflineMapsList => offline_maps::list(state, settings),
        Command::OfflineMapsEstimate(area) => offline_maps::estimate(state, area),
        Command::OfflineMapsDownload { name, area } => {
            offline_maps::download(state, backend, settings, &name, area);
        }
        Command::OfflineMapsCancel => offline_maps::cancel(backend),
        Command::OfflineMapsDelete(name) => offline_maps::delete(state, settings, &name),
        Command::ChooseDem(used_for) if chooser::use_builtin(settings) => {
            chooser::open(state, memory, ChooserPurpose::Dem(used_for));
        }
        Command::ChooseDem(used_for) => terrain::pick(backend, used_for),
        Command::LoadDem { used_for, path } => terrain::load_from(backend, used_for, path),
        Command::ClearDem(used_for) => terrain::clear(state, backend, settings, used_for),
        Command::TerrainFromTiles => terrain::links_from_tiles(state, backend, settings),
        Command::SaveSettings => {
            match settings.save() {
                Ok(path) => state.notice(format!("settings saved to {}", path.display()), false),
                Err(e) => state.notice(format!("cannot save settings: {e}"), true),
            }
            link_events::apply_link_settings(state, backend, settings);
            let days = settings.telemetry_retention_days.max(1);
            if let Err(e) = backend
                .store
                .telemetry()
                .set_retention(chrono::Duration::days(i64::from(days)))
            {
                state.notice(format!("cannot change telemetry retention: {e}"), true);
            }
            memory.dirty = true;
        }
        Command::ConnectServer {
            url,
            email,
            password,
        } => {
            crate::gui::fleet_server::connect(state, backend, &url, &email, &password);
            // The URL and e-mail are remembered; the password is not.
            if settings.fleet_server != url || settings.fleet_email != email {
                settings.fleet_server = url;
                settings.fleet_email = email;
                if let Err(e) = settings.save() {
                    state.notice(format!("cannot save settings: {e}"), true);
                }
            }
        }
        Command::DisconnectServer => crate::gui::fleet_server::disconnect(state, backend),
        Command::SetWeatherLimits { model, limits } => {
            match backend.store.set_weather_limits(&model, limits.as_ref()) {
                Ok(()) => state.notice(
                    if limits.is_some() {
                        format!("weather limits for {model} stored")
                    } else {
                        format!("weather limits for {model} back to the defaults")
                    },
                    false,
                ),
                Err(e) => state.notice(format!("weather limits: {e}"), true),
            }
            super::weather::load_limits(state, backend, true);
        }
        Command::CreateSchedule { mission, spec } => {
            create_schedule(state, backend, memory, mission, spec);
        }
        Command::DeleteSchedule(id) => {
            if let Err(e) = backend.store.delete_schedule(id) {
                state.notice(format!("schedule not deleted: {e}"), true);
            }
            memory.scheduler.dirty = true;
        }
        Command::AnswerRun {
            schedule,
            local_date,
            confirm,
        } => {
            let key = aviary_core::schedule::RunKey {
                schedule,
                local_date,
            };
            super::scheduler::answer(state, backend, settings, memory, key, confirm);
        }
    }
}

/// Stores a new local schedule for a planned mission.
fn create_schedule(
    state: &mut AppState,
    backend: &Backend,
    memory: &mut LogicMemory,
    mission: MissionId,
    spec: aviary_core::schedule::ScheduleSpec,
) {
    let m = match backend.store.get_mission(mission) {
        Ok(m) if m.status == MissionStatus::Planned => m,
        Ok(m) => {
            state.calendar.form.error = Some(format!(
                "'{}' is {}: only a planned mission can be scheduled",
                m.name, m.status
            ));
            return;
        }
        Err(e) => {
            state.calendar.form.error = Some(e.to_string());
            return;
        }
    };
    let sched = aviary_store::LocalSchedule {
        id: uuid::Uuid::new_v4(),
        mission,
        site: m.site_id,
        spec,
        created_at: state.now,
    };
    match backend.store.save_schedule(&sched) {
        Ok(()) => {
            state.calendar.form.error = None;
            state.notice(format!("'{}' scheduled", m.name), false);
            memory.scheduler.dirty = true;
        }
        Err(e) => state.calendar.form.error = Some(e.to_string()),
    }
}

/// Searches the stored missions for the History view.
fn search_history(
    state: &mut AppState,
    backend: &Backend,
    site: Option<SiteId>,
    status: Option<MissionStatus>,
    last_days: u32,
) {
    let filter = MissionFilter {
        site_id: site,
        statuses: status.map(|s| vec![s]).unwrap_or_default(),
        from: (last_days > 0).then(|| state.now - chrono::Duration::days(i64::from(last_days))),
        limit: 500,
        ..MissionFilter::default()
    };
    match backend.store.list_missions(&filter) {
        Ok(found) => state.history.results = found,
        Err(e) => state.notice(format!("search failed: {e}"), true),
    }
}

/// Loads a stored mission's telemetry into the History view's replay.
fn replay_mission(state: &mut AppState, backend: &Backend, id: MissionId) {
    match backend.store.get_mission(id).and_then(|m| {
        backend.store.telemetry().flush()?;
        Ok((
            backend.store.mission_telemetry(id, TelemetryRange::all())?,
            backend.store.mission_transitions(id)?,
            m,
        ))
    }) {
        Ok((samples, _, _)) if samples.is_empty() => {
            state.notice("no telemetry stored for this mission", true);
        }
        Ok((samples, transitions, m)) => {
            state.focus_map_on(samples.iter().map(|s| s.pos));
            let timeline = transitions
                .into_iter()
                .map(|t| ReplayMark {
                    time: t.at,
                    label: t.to.label().to_owned(),
                    detail: t.cause,
                })
                .collect();
            state.history.replay = Some(Replay::new(m.name, samples, m.waypoints, timeline));
        }
        Err(e) => state.notice(format!("cannot load replay: {e}"), true),
    }
}
