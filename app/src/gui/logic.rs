//! `logic` ingests, `ui` draws: this module drains background-job results (and, through the
//! backend, the store) into [`AppState`] on a time budget, raises alerts, and executes every
//! [`Command`] the UI emitted — the only place that calls the store, the simulator or a job.

use super::backend::Backend;
use super::command::{Command, ExportFormat};
use super::jobs::JobOutput;
use super::links::{Awaiting, PendingAction};
use super::planning;
use super::settings::Settings;
use super::state::{
    AlertKind, AppState, CommandOutcome, CommandRecord, DroneView, LINK_LOST_AFTER_S,
    LOW_BATTERY_PCT, LinkDetail, Replay, SimLogEntry, action_label,
};
use aviary_core::store::{MissionFilter, TelemetryRange};
use aviary_core::wire::CommandAction;
use aviary_core::{
    DroneId, DroneStatus, LatLon, Mission, MissionEvent, MissionId, MissionStatus, SurveyArea,
    TelemetrySample,
};
use aviary_links::mav::{CommandOutcome as MavOutcome, LinkEvent, MissionOp, VehicleId};
use aviary_links::mqtt::MqttLinkEvent;
use chrono::{DateTime, Utc};
use std::time::{Duration, Instant};

/// Time `logic` may spend draining events per frame.
pub const INGEST_BUDGET: Duration = Duration::from_millis(10);
/// How often fleet and missions are re-read from the store, seconds of clock time.
const REFRESH_EVERY_S: i64 = 1;
/// A drone farther than this outside its mission's area (and from home) breaks the geofence.
pub const GEOFENCE_MARGIN_M: f64 = 500.0;

/// What `logic` remembers between frames.
#[derive(Debug, Default)]
pub struct LogicMemory {
    last_refresh: Option<DateTime<Utc>>,
    /// Forces a store refresh on the next ingest.
    pub dirty: bool,
    /// Link drained first next time (round robin, so one busy link cannot starve the rest).
    next_link: usize,
}

/// Drains events into `state` for at most `budget`. Returns whether work is left over (the
/// caller asks for another frame).
pub fn ingest(
    state: &mut AppState,
    backend: &mut Backend,
    memory: &mut LogicMemory,
    budget: Duration,
) -> bool {
    let started = Instant::now();
    state.now = backend.clock.now();
    let mut more = false;
    while let Some((_, out)) = backend.jobs.try_recv() {
        apply_job_output(state, out);
        if started.elapsed() > budget {
            more = true;
            break;
        }
    }
    if !more {
        let mut start = memory.next_link;
        while let Some((link, event)) = backend.links.try_recv(start) {
            start = link + 1;
            apply_link_event(state, backend, link, event);
            if started.elapsed() > budget {
                more = true;
                break;
            }
        }
        memory.next_link = start;
        while !more && let Some((broker, event)) = backend.links.try_recv_mqtt() {
            apply_mqtt_event(state, backend, broker, event);
            more = started.elapsed() > budget;
        }
        if !more {
            more = super::fleet_server::drain(state, backend, started + budget);
        }
    }
    let due = memory
        .last_refresh
        .is_none_or(|t| (state.now - t).num_seconds() >= REFRESH_EVERY_S);
    if memory.dirty || due {
        memory.dirty = false;
        memory.last_refresh = Some(state.now);
        if let Err(e) = refresh_from_store(state, backend) {
            state.notice(format!("store: {e}"), true);
        }
    }
    evaluate_alerts(state);
    state.jobs = backend.jobs.views();
    more
}

/// Re-reads organisation, sites, drones, counts and open missions; fails paused missions past
/// their timeout.
pub fn refresh_from_store(
    state: &mut AppState,
    backend: &mut Backend,
) -> Result<(), aviary_core::store::StoreError> {
    for failed in backend.store.expire_paused_missions()? {
        state.raise_alert(
            AlertKind::CommandFailed,
            failed.drone_id,
            format!(
                "mission '{}' failed: paused longer than 5 minutes",
                failed.name
            ),
        );
    }
    let store = &backend.store;
    state.org = store.list_orgs()?.into_iter().next();
    state.sites = store.list_sites()?;
    let drones = store.list_drones(None, None)?;
    for d in drones {
        let site_name = state
            .sites
            .iter()
            .find(|s| s.id == d.site_id)
            .map(|s| s.name.clone())
            .unwrap_or_default();
        let simulated = backend.is_simulated(d.id);
        if let Some(v) = state.drones.get_mut(&d.id) {
            v.drone = d;
            v.site_name = site_name;
            v.simulated = simulated;
        } else {
            let mut v = DroneView::new(d, site_name);
            v.simulated = simulated;
            state.drones.insert(v.drone.id, v);
        }
    }
    state.fleet_counts.clear();
    for s in &state.sites {
        state
            .fleet_counts
            .insert(s.id, store.fleet_status_counts(s.id)?);
    }
    state.missions = store.list_missions(&MissionFilter {
        statuses: vec![
            MissionStatus::Planned,
            MissionStatus::InProgress,
            MissionStatus::Paused,
        ],
        ..MissionFilter::default()
    })?;
    // Something to look at on first start: the first site's open mission and its drone.
    if state.selected_mission.is_none() {
        let first_site = state.sites.first().map(|s| s.id);
        if let Some(m) = state
            .missions
            .iter()
            .find(|m| Some(m.site_id) == first_site)
        {
            state.selected_mission = Some(m.id);
            state.selected_drone = state.selected_drone.or(m.drone_id);
        }
    }
    // The selected mission stays in view after it ends, so its outcome can be read.
    if let Some(id) = state.selected_mission
        && !state.missions.iter().any(|m| m.id == id)
        && let Ok(m) = store.get_mission(id)
    {
        state.missions.push(m);
    }
    if state.plan.site.is_none() {
        state.plan.site = state.sites.first().map(|s| s.id);
    }
    if state.sim.add_site.is_none() {
        state.sim.add_site = state.sites.first().map(|s| s.id);
    }
    state.sim.running = backend.sim.is_some();
    state.sim.over_mqtt = backend.sim_mqtt.as_ref().map(|m| m.url.clone());
    Ok(())
}

/// Records a telemetry sample from a link: live view, trail, plots, and the store.
pub fn ingest_sample(state: &mut AppState, backend: &Backend, mut sample: TelemetrySample) {
    let mission = state
        .missions
        .iter()
        .find(|m| m.drone_id == Some(sample.drone_id) && m.status.is_active())
        .map(|m| m.id);
    sample.mission_id = mission;
    if let Some(d) = state.drones.get_mut(&sample.drone_id) {
        d.push_sample(sample);
    }
    // A full queue drops and counts (see the writer's stats); the UI never blocks on disk.
    backend.store.telemetry().submit(sample);
}

/// Low battery, link lost and geofence alerts from the live view.
fn evaluate_alerts(state: &mut AppState) {
    let now = state.now;
    let mut raise: Vec<(AlertKind, DroneId, String)> = Vec::new();
    for (id, d) in &mut state.drones {
        let Some(live) = d.live else { continue };
        if (now - live.time).num_seconds() >= LINK_LOST_AFTER_S {
            if d.link_up {
                d.link_up = false;
                raise.push((
                    AlertKind::LinkLost,
                    *id,
                    format!(
                        "{}: no telemetry for {LINK_LOST_AFTER_S} s",
                        d.drone.serial_number
                    ),
                ));
            }
        } else {
            d.link_up = true;
        }
        if live.battery_pct < LOW_BATTERY_PCT {
            raise.push((
                AlertKind::LowBattery,
                *id,
                format!(
                    "{}: battery {:.0} %",
                    d.drone.serial_number, live.battery_pct
                ),
            ));
        }
    }
    for m in state
        .missions
        .iter()
        .filter(|m| m.status == MissionStatus::InProgress)
    {
        let Some(drone) = m.drone_id.and_then(|id| state.drones.get(&id)) else {
            continue;
        };
        let Some(live) = drone.live else { continue };
        if outside_geofence(&m.survey_area, drone.drone.home, live.pos) {
            raise.push((
                AlertKind::Geofence,
                drone.drone.id,
                format!(
                    "{} left the area of '{}'",
                    drone.drone.serial_number, m.name
                ),
            ));
        }
    }
    for (kind, drone, msg) in raise {
        state.raise_alert(kind, Some(drone), msg);
    }
}

/// Whether `pos` is more than [`GEOFENCE_MARGIN_M`] outside the area's bounding box and
/// farther than that from home (the transit from home to the area is allowed).
pub fn outside_geofence(area: &SurveyArea, home: LatLon, pos: LatLon) -> bool {
    if area.exterior.is_empty() || pos.distance_m(home) <= GEOFENCE_MARGIN_M {
        return false;
    }
    let (mut s, mut w, mut n, mut e) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for p in &area.exterior {
        s = s.min(p.lat_deg);
        n = n.max(p.lat_deg);
        w = w.min(p.lon_deg);
        e = e.max(p.lon_deg);
    }
    let clamped = LatLon::new(pos.lat_deg.clamp(s, n), pos.lon_deg.clamp(w, e));
    clamped.distance_m(pos) > GEOFENCE_MARGIN_M
}

fn apply_job_output(state: &mut AppState, out: JobOutput) {
    match out {
        JobOutput::Planned { revision, result } => match result {
            Ok(preview) => {
                state.plan.preview = Some((revision, preview));
                if revision == state.plan.revision {
                    state.plan.preview_error = None;
                }
            }
            Err(e) => {
                if revision == state.plan.revision {
                    state.plan.preview_error = Some(e);
                    state.plan.preview = None;
                }
            }
        },
        JobOutput::AreaImported(Ok((name, area))) => {
            let n = area.exterior.len();
            state.plan.set_vertices(area.exterior);
            state.plan.name.clone_from(&name);
            state.notice(format!("imported {name}: {n} vertices"), false);
        }
        JobOutput::AreaImported(Err(e)) => state.notice(format!("import failed: {e}"), true),
        JobOutput::NoFlyImported(Ok((name, zones))) => {
            let n = zones.len();
            state.plan.add_no_fly(zones.into_iter().map(|z| z.exterior));
            state.notice(format!("imported {n} no-fly zone(s) from {name}"), false);
        }
        JobOutput::NoFlyImported(Err(e)) => {
            state.notice(format!("no-fly import failed: {e}"), true);
        }
        JobOutput::Exported(Ok(path)) => {
            state.notice(format!("exported {}", path.display()), false);
        }
        JobOutput::Exported(Err(e)) => state.notice(format!("export failed: {e}"), true),
        JobOutput::TlogLoaded(Ok((title, samples))) => {
            state.notice(
                format!("loaded {title}: {} positions", samples.len()),
                false,
            );
            state.history.replay = Some(Replay {
                title,
                samples,
                t_s: 0.0,
                playing: false,
                speed: 1.0,
                waypoints: Vec::new(),
            });
        }
        JobOutput::TlogLoaded(Err(e)) => state.notice(format!("cannot replay: {e}"), true),
        JobOutput::ReportWritten(Ok(path)) => {
            state.notice(format!("report written: {}", path.display()), false);
            state.last_report = Some(path.display().to_string());
        }
        JobOutput::ReportWritten(Err(e)) => state.notice(format!("report failed: {e}"), true),
        JobOutput::OrgReportWritten(Ok(paths)) => {
            let list = paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ");
            state.notice(format!("organisation report written: {list}"), false);
            state.last_report = Some(list);
        }
        JobOutput::OrgReportWritten(Err(e)) => {
            state.notice(format!("organisation report failed: {e}"), true);
        }
        JobOutput::Cancelled => {}
    }
}

// --- commands ----------------------------------------------------------------------------------

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
        } => {
            state.plan.requested_revision = revision;
            backend.jobs.spawn("Planning survey", move |progress| {
                let result = planning::plan_preview(&area, &no_fly, pattern, &params, home);
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
                parameters: params,
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
            mission_control(state, backend, mission, action);
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
        Command::AcknowledgeAlert(id) => acknowledge_alert(state, id),
        Command::ImportArea => {
            backend.jobs.spawn("Importing area", |_| {
                let picked = rfd::FileDialog::new()
                    .set_title("Import survey area")
                    .add_filter("Survey areas", &["geojson", "json", "kml", "kmz", "shp"])
                    .pick_file();
                match picked {
                    None => JobOutput::Cancelled,
                    Some(path) => JobOutput::AreaImported(import_area(&path)),
                }
            });
        }
        Command::ImportAreaFrom(path) => {
            backend.jobs.spawn("Importing area", move |_| {
                JobOutput::AreaImported(import_area(&path))
            });
        }
        Command::ImportNoFly => {
            backend.jobs.spawn("Importing no-fly zones", |_| {
                let picked = rfd::FileDialog::new()
                    .set_title("Import no-fly zones")
                    .add_filter("Zones", &["geojson", "json", "kml", "kmz", "shp"])
                    .pick_file();
                match picked {
                    None => JobOutput::Cancelled,
                    Some(path) => JobOutput::NoFlyImported(import_no_fly(&path)),
                }
            });
        }
        Command::ImportNoFlyFrom(path) => {
            backend.jobs.spawn("Importing no-fly zones", move |_| {
                JobOutput::NoFlyImported(import_no_fly(&path))
            });
        }
        Command::ExportPlan(format) => export_plan(state, backend, format),
        Command::SearchHistory {
            site,
            status,
            last_days,
        } => {
            let filter = MissionFilter {
                site_id: site,
                statuses: status.map(|s| vec![s]).unwrap_or_default(),
                from: (last_days > 0)
                    .then(|| state.now - chrono::Duration::days(i64::from(last_days))),
                limit: 500,
                ..MissionFilter::default()
            };
            match backend.store.list_missions(&filter) {
                Ok(found) => state.history.results = found,
                Err(e) => state.notice(format!("search failed: {e}"), true),
            }
        }
        Command::ReplayMission(id) => match backend.store.get_mission(id).and_then(|m| {
            backend.store.telemetry().flush()?;
            Ok((
                backend.store.mission_telemetry(id, TelemetryRange::all())?,
                m,
            ))
        }) {
            Ok((samples, _)) if samples.is_empty() => {
                state.notice("no telemetry stored for this mission", true);
            }
            Ok((samples, m)) => {
                state.history.replay = Some(Replay {
                    title: m.name,
                    samples,
                    t_s: 0.0,
                    playing: false,
                    speed: 1.0,
                    waypoints: m.waypoints,
                });
            }
            Err(e) => state.notice(format!("cannot load replay: {e}"), true),
        },
        Command::OpenTlog => {
            backend.jobs.spawn("Reading telemetry log", |_| {
                let picked = rfd::FileDialog::new()
                    .set_title("Open telemetry log")
                    .add_filter("MAVLink telemetry log", &["tlog"])
                    .pick_file();
                match picked {
                    None => JobOutput::Cancelled,
                    Some(path) => JobOutput::TlogLoaded(
                        super::tlog::read_tlog(&path)
                            .map(|s| {
                                (
                                    path.file_name()
                                        .map(|n| n.to_string_lossy().into_owned())
                                        .unwrap_or_default(),
                                    s,
                                )
                            })
                            .map_err(|e| e.to_string()),
                    ),
                }
            });
        }
        Command::AddSimDrone(site) => match backend.add_sim_drone(site) {
            Ok(d) => {
                sim_log(state, format!("added simulated drone {}", d.serial_number));
                memory.dirty = true;
            }
            Err(e) => state.notice(format!("cannot add drone: {e}"), true),
        },
        Command::RemoveSimDrone(drone) => {
            let label = state.drone_label(drone);
            match backend.remove_sim_drone(drone) {
                Ok(()) => sim_log(state, format!("removed simulated drone {label}")),
                Err(e) => state.notice(format!("cannot remove drone: {e}"), true),
            }
            memory.dirty = true;
        }
        Command::InjectFault { drone, fault } => {
            let label = state.drone_label(drone);
            match backend.inject_fault(drone, fault) {
                Ok(()) => {
                    state.sim.fault_at.insert(drone, state.now);
                    sim_log(state, format!("injected {} into {label}", fault.label()));
                }
                Err(e) => state.notice(format!("cannot inject fault: {e}"), true),
            }
        }
        Command::MissionReport(id) => mission_report(state, backend, id),
        Command::OrgReport(req) => org_report(state, backend, req),
        Command::ApplySimulator => {
            match backend.apply_simulator(settings) {
                Ok(what) => {
                    sim_log(state, what.clone());
                    state.notice(what, false);
                }
                Err(e) => state.notice(format!("cannot start the simulated fleet: {e}"), true),
            }
            // Already connected to a fleet server: register now rather than at the next login.
            if matches!(
                state.server.status,
                super::state::ServerStatus::Connected { .. }
            ) {
                super::fleet_server::register_sim_fleet(state, backend);
            }
            memory.dirty = true;
        }
        Command::SaveSettings => match settings.save() {
            Ok(path) => state.notice(format!("settings saved to {}", path.display()), false),
            Err(e) => state.notice(format!("cannot save settings: {e}"), true),
        },
        Command::ConnectServer {
            url,
            email,
            password,
        } => {
            super::fleet_server::connect(state, backend, &url, &email, &password);
            // The URL and e-mail are remembered; the password is not.
            if settings.fleet_server != url || settings.fleet_email != email {
                settings.fleet_server = url;
                settings.fleet_email = email;
                if let Err(e) = settings.save() {
                    state.notice(format!("cannot save settings: {e}"), true);
                }
            }
        }
        Command::DisconnectServer => super::fleet_server::disconnect(state, backend),
    }
}

/// Builds the report on this thread (the store lives here), writes the PDF on a job thread.
fn mission_report(state: &mut AppState, backend: &mut Backend, id: MissionId) {
    if let Err(e) = backend.store.telemetry().flush() {
        state.notice(format!("report: {e}"), true);
        return;
    }
    let report = match aviary_reports::load_mission_report(
        &backend.store,
        id,
        &aviary_reports::ReportOptions::default(),
    ) {
        Ok(r) => r,
        Err(e) => {
            state.notice(format!("report: {e}"), true);
            return;
        }
    };
    let name = state
        .mission(id)
        .map_or_else(|| "mission".to_owned(), |m| sanitize(&m.name));
    backend
        .jobs
        .spawn("Writing mission report", move |progress| {
            let picked = rfd::FileDialog::new()
                .set_title("Save mission report")
                .set_file_name(format!("{name}-report.pdf"))
                .add_filter("PDF", &["pdf"])
                .save_file();
            let Some(path) = picked else {
                return JobOutput::Cancelled;
            };
            progress.set(0.3);
            let written = aviary_reports::create_output(&path)
                .and_then(|mut out| {
                    aviary_reports::pdf::write_mission_pdf(&mut out, &report)?;
                    std::io::Write::flush(&mut out).map_err(|io| {
                        aviary_reports::ReportError::Write {
                            what: "mission PDF",
                            io,
                        }
                    })
                })
                .map(|()| path)
                .map_err(|e| e.to_string());
            JobOutput::ReportWritten(written)
        });
}

/// Title of the organisation-report job (one at a time).
pub const ORG_REPORT_JOB: &str = "Organisation report";

/// Starts the organisation report on a job thread: it opens its own connection to the store
/// file (the app's connection stays on this thread), reads and summarises the period, then
/// writes the PDF and the history CSV, reporting progress between the steps.
fn org_report(state: &mut AppState, backend: &mut Backend, req: super::command::OrgReportRequest) {
    if req.from > req.to {
        state.notice(
            format!("organisation report: {} is after {}", req.from, req.to),
            true,
        );
        return;
    }
    if !req.pdf && !req.csv {
        state.notice("organisation report: choose PDF, CSV or both", true);
        return;
    }
    if backend.jobs.is_running(ORG_REPORT_JOB) {
        state.notice("an organisation report is already being written", true);
        return;
    }
    // The job reads committed telemetry (missions whose result needs computing).
    if let Err(e) = backend.store.telemetry().flush() {
        state.notice(format!("organisation report: {e}"), true);
        return;
    }
    let db = backend.store.path().to_path_buf();
    let clock = std::sync::Arc::clone(&backend.clock);
    backend.jobs.spawn(ORG_REPORT_JOB, move |progress| {
        let dir = match req.out_dir.clone() {
            Some(d) => d,
            None => match rfd::FileDialog::new()
                .set_title("Folder for the organisation report")
                .pick_folder()
            {
                Some(d) => d,
                None => return JobOutput::Cancelled,
            },
        };
        JobOutput::OrgReportWritten(write_org_report(&db, clock, &req, &dir, progress))
    });
}

/// The organisation report's work, on the job thread.
fn write_org_report(
    db: &std::path::Path,
    clock: std::sync::Arc<dyn aviary_core::Clock>,
    req: &super::command::OrgReportRequest,
    dir: &std::path::Path,
    progress: &super::jobs::Progress,
) -> Result<Vec<std::path::PathBuf>, String> {
    use aviary_reports::{MaintenancePolicy, ReportError, ReportOptions};
    let day_start = |d: chrono::NaiveDate| d.and_time(chrono::NaiveTime::MIN).and_utc();
    let from = day_start(req.from);
    let to = day_start(req.to) + chrono::Duration::days(1);
    let stem = dir.join(format!("organisation-report-{}-{}", req.from, req.to));
    let pdf_path = stem.with_extension("pdf");
    let csv_path = stem.with_extension("csv");
    // Create the files first so a bad folder fails before the (longer) read.
    let pdf_out = req
        .pdf
        .then(|| aviary_reports::create_output(&pdf_path))
        .transpose()
        .map_err(|e| e.to_string())?;
    let csv_out = req
        .csv
        .then(|| aviary_reports::create_output(&csv_path))
        .transpose()
        .map_err(|e| e.to_string())?;
    progress.set(0.05);
    let store =
        aviary_core::store::Store::open(db, clock, aviary_core::store::StoreOptions::default())
            .map_err(|e| e.to_string())?;
    progress.set(0.15);
    let report = aviary_reports::summary::load_org_report(
        &store,
        from,
        to,
        aviary_reports::Grouping::Week,
        &ReportOptions::default(),
        &MaintenancePolicy::default(),
    )
    .map_err(|e| e.to_string())?;
    drop(store);
    progress.set(0.5);
    let mut written = Vec::new();
    if let Some(mut out) = pdf_out {
        report
            .write_pdf(&mut out)
            .and_then(|_pages| {
                std::io::Write::flush(&mut out).map_err(|io| ReportError::Write {
                    what: "organisation PDF",
                    io,
                })
            })
            .map_err(|e| e.to_string())?;
        written.push(pdf_path);
    }
    progress.set(0.85);
    if let Some(out) = csv_out {
        report.write_history_csv(out).map_err(|e| e.to_string())?;
        written.push(csv_path);
    }
    progress.set(1.0);
    Ok(written)
}

fn import_area(path: &std::path::Path) -> Result<(String, SurveyArea), String> {
    let area = planning::read_area(path)?;
    let name = path.file_stem().map_or_else(
        || "Imported area".to_owned(),
        |n| n.to_string_lossy().into_owned(),
    );
    Ok((name, area))
}

fn import_no_fly(path: &std::path::Path) -> Result<(String, Vec<SurveyArea>), String> {
    let zones = planning::read_areas(path)?;
    let name = path
        .file_name()
        .map_or_else(|| "file".to_owned(), |n| n.to_string_lossy().into_owned());
    Ok((name, zones))
}

fn export_plan(state: &mut AppState, backend: &mut Backend, format: ExportFormat) {
    let Some(preview) = state.plan.current_preview().cloned() else {
        state.notice(
            "nothing to export: draw an area and wait for the plan",
            true,
        );
        return;
    };
    let area = state.plan.area();
    let no_fly = state.plan.no_fly_areas();
    let default_name = format!("{}.{}", sanitize(&state.plan.name), format.extension());
    backend.jobs.spawn("Exporting plan", move |progress| {
        let picked = rfd::FileDialog::new()
            .set_title("Export plan")
            .set_file_name(&default_name)
            .add_filter(format.label(), &[format.extension()])
            .save_file();
        let Some(path) = picked else {
            return JobOutput::Cancelled;
        };
        progress.set(0.5);
        let r = planning::write_plan(
            &path,
            &area,
            &no_fly,
            &preview.waypoints,
            preview.home,
            preview.speed_mps,
        )
        .map(|()| path);
        JobOutput::Exported(r)
    });
}

fn sanitize(name: &str) -> String {
    let s: String = name
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() {
        "mission".to_owned()
    } else {
        s
    }
}

fn sim_log(state: &mut AppState, text: String) {
    state.notice(text.clone(), false);
    state.sim.log.push(SimLogEntry {
        time: state.now,
        text,
    });
}

fn acknowledge_alert(state: &mut AppState, id: u64) {
    let now = state.now;
    let Some(alert) = state.alerts.iter_mut().find(|a| a.id == id) else {
        return;
    };
    if alert.acknowledged_at.is_some() {
        return;
    }
    alert.acknowledged_at = Some(now);
    let (drone, kind) = (alert.drone, alert.kind);
    if let Some(drone) = drone
        && let Some(at) = state.sim.fault_at.get(&drone).copied()
    {
        let reaction_s = (now - at).num_milliseconds() as f64 / 1000.0;
        let label = state.drone_label(drone);
        sim_log(
            state,
            format!(
                "operator acknowledged '{}' on {label} {reaction_s:.1} s after the fault",
                kind.label()
            ),
        );
    }
}

/// The lifecycle event a confirmed command applies. Return-to-home ends the mission like an
/// abort (the drone leaves the survey); land likewise.
pub const fn mission_event(action: CommandAction) -> MissionEvent {
    match action {
        CommandAction::Start => MissionEvent::Start,
        CommandAction::Pause => MissionEvent::Pause,
        CommandAction::Resume => MissionEvent::Resume,
        CommandAction::Abort | CommandAction::Rth | CommandAction::Land => MissionEvent::Abort,
    }
}

/// Wire spelling of an action (as stored in the commands table).
pub const fn action_str(action: CommandAction) -> &'static str {
    match action {
        CommandAction::Start => "start",
        CommandAction::Pause => "pause",
        CommandAction::Resume => "resume",
        CommandAction::Abort => "abort",
        CommandAction::Rth => "rth",
        CommandAction::Land => "land",
    }
}

fn mission_control(
    state: &mut AppState,
    backend: &mut Backend,
    mission: MissionId,
    action: CommandAction,
) {
    state.confirm = None;
    let m = match backend.store.get_mission(mission) {
        Ok(m) => m,
        Err(e) => {
            state.notice(format!("{}: {e}", action_label(action)), true);
            return;
        }
    };
    if let Err(e) = m.lifecycle().next(mission_event(action)) {
        state.notice(format!("{}: {e}", action_label(action)), true);
        return;
    }
    let Some(drone) = m.drone_id else {
        state.notice(
            format!(
                "{}: mission '{}' has no drone assigned",
                action_label(action),
                m.name
            ),
            true,
        );
        return;
    };
    let id = uuid::Uuid::new_v4();
    if let Err(e) =
        backend
            .store
            .record_command(id, drone, Some(mission), action_str(action), "pending", "")
    {
        state.notice(format!("cannot record command: {e}"), true);
        return;
    }
    state.commands.push(CommandRecord {
        id,
        action,
        mission,
        drone,
        sent_at: state.now,
        outcome: CommandOutcome::Pending,
    });
    // Training: how long after an injected fault did the operator act?
    if let Some(at) = state.sim.fault_at.remove(&drone) {
        let reaction_s = (state.now - at).num_milliseconds() as f64 / 1000.0;
        let label = state.drone_label(drone);
        sim_log(
            state,
            format!(
                "operator sent {} to {label} {reaction_s:.1} s after the fault",
                action_label(action)
            ),
        );
    }
    let sent = send_to_drone(state, backend, drone, &m, action, id);
    if let Err(reason) = sent {
        fail_command(state, backend, id, &reason);
    }
}

/// Hands a command to the drone's MAVLink link. Start first uploads the mission, then
/// starts it when the upload is done; the other actions go out at once.
fn send_to_drone(
    state: &AppState,
    backend: &mut Backend,
    drone: DroneId,
    mission: &Mission,
    action: CommandAction,
    cmd_id: uuid::Uuid,
) -> Result<(), String> {
    let label = state.drone_label(drone);
    if !backend.links.by_drone.contains_key(&drone)
        && let Some(broker) = backend
            .links
            .mqtt_drones
            .get(&drone)
            .and_then(|i| backend.links.mqtt.get(*i))
    {
        // MQTT drones run their stored mission themselves; the command carries the mission id.
        let link_id = broker
            .link
            .send_command(drone, action, Some(mission.id))
            .map_err(|e| e.to_string())?;
        backend.links.mqtt_commands.insert(link_id, cmd_id);
        return Ok(());
    }
    let (handle, vehicle) = backend
        .links
        .route(drone)
        .map_err(|_| format!("{label} has no MAVLink link"))?;
    let awaiting = if action == CommandAction::Start {
        let home = state.drones.get(&drone).map_or_else(
            || mission.waypoints.first().map(|w| w.pos).unwrap_or_default(),
            |d| d.drone.home,
        );
        let items = aviary_links::mav::items_from_waypoints(home, &mission.waypoints);
        handle
            .upload_mission(vehicle, items)
            .map_err(|e| e.to_string())?;
        Awaiting::Upload
    } else {
        let confirming = backend
            .links
            .confirming_command(drone, action)
            .ok_or("no MAVLink command for this action")?;
        handle
            .action(vehicle, action, false)
            .map_err(|e| e.to_string())?;
        Awaiting::Command(confirming)
    };
    backend.links.pending.insert(
        drone,
        PendingAction {
            cmd_id,
            action,
            mission: mission.id,
            awaiting,
        },
    );
    Ok(())
}

// --- link events -------------------------------------------------------------------------------

/// Applies one event of link `link`.
pub fn apply_link_event(
    state: &mut AppState,
    backend: &mut Backend,
    link: usize,
    event: LinkEvent,
) {
    let drone_of =
        |backend: &Backend, id: VehicleId| backend.links.by_vehicle.get(&(link, id)).copied();
    match event {
        LinkEvent::VehicleDiscovered { id, .. } => {
            if drone_of(backend, id).is_none() {
                register_vehicle(state, backend, link, id);
            }
        }
        LinkEvent::State(v) => {
            let Some(drone) = drone_of(backend, v.id) else {
                return;
            };
            if let Some(d) = state.drones.get_mut(&drone) {
                d.link = LinkDetail {
                    gps_fix: v.gps_fix,
                    satellites: v.gps_sats,
                    sensors_ok: v.gps_fix >= 3 && v.battery_pct.is_none_or(|b| b > 0.0),
                    armed: v.armed,
                    mode: v.mode.clone(),
                    current_item: Some(v.mission_seq),
                    status_text: std::mem::take(&mut d.link.status_text),
                };
            }
            let Some(pos) = v.pos else { return };
            let last_battery = state
                .drones
                .get(&drone)
                .map_or(100.0, DroneView::battery_pct);
            let status = state
                .drones
                .get(&drone)
                .map_or(DroneStatus::Available, |d| d.drone.status);
            let sample = TelemetrySample {
                time: state.now,
                mission_id: None,
                drone_id: drone,
                pos,
                alt_rel_m: v.alt_rel_m,
                speed_mps: v.ground_speed_mps,
                heading_deg: v.heading_deg,
                battery_pct: v.battery_pct.unwrap_or(last_battery),
                signal_pct: v.link_quality_pct,
                status,
            };
            ingest_sample(state, backend, sample);
        }
        LinkEvent::Command {
            id,
            command,
            outcome,
        } => {
            let Some(drone) = drone_of(backend, id) else {
                return;
            };
            let Some(p) = backend.links.pending.get(&drone).copied() else {
                return;
            };
            match outcome {
                MavOutcome::Failed(why) => {
                    backend.links.pending.remove(&drone);
                    fail_command(state, backend, p.cmd_id, &why.to_string());
                }
                MavOutcome::Confirmed if p.awaiting == Awaiting::Command(command as u32) => {
                    backend.links.pending.remove(&drone);
                    confirm_command(state, backend, p.cmd_id);
                }
                MavOutcome::Confirmed | MavOutcome::Pending => {}
            }
        }
        LinkEvent::MissionProgress {
            id, done, total, ..
        } => {
            if let Some(drone) = drone_of(backend, id) {
                let label = state.drone_label(drone);
                if done == total || done % 20 == 0 {
                    state.notice(
                        format!("uploading mission to {label}: {done}/{total}"),
                        false,
                    );
                }
            }
        }
        LinkEvent::MissionDone { id, op, result } => {
            let Some(drone) = drone_of(backend, id) else {
                return;
            };
            let Some(p) = backend.links.pending.get(&drone).copied() else {
                return;
            };
            if op != MissionOp::Upload || p.awaiting != Awaiting::Upload {
                return;
            }
            let started = match result {
                Ok(_) => backend
                    .links
                    .confirming_command(drone, p.action)
                    .ok_or_else(|| "no start command".to_owned())
                    .and_then(|c| {
                        let (handle, vehicle) =
                            backend.links.route(drone).map_err(|e| e.to_string())?;
                        handle
                            .action(vehicle, p.action, false)
                            .map_err(|e| e.to_string())?;
                        Ok(c)
                    }),
                Err(e) => Err(format!("mission upload failed: {e}")),
            };
            match started {
                Ok(c) => {
                    backend.links.pending.insert(
                        drone,
                        PendingAction {
                            awaiting: Awaiting::Command(c),
                            ..p
                        },
                    );
                }
                Err(why) => {
                    backend.links.pending.remove(&drone);
                    fail_command(state, backend, p.cmd_id, &why);
                }
            }
        }
        LinkEvent::ItemReached { id, seq } => {
            let Some(drone) = drone_of(backend, id) else {
                return;
            };
            if let Some(d) = state.drones.get_mut(&drone) {
                d.link.current_item = Some(seq);
            }
            let finished = state
                .missions
                .iter()
                .find(|m| {
                    m.drone_id == Some(drone)
                        && m.status == MissionStatus::InProgress
                        && usize::from(seq) >= m.waypoints.len()
                })
                .map(|m| m.id);
            if let Some(mission) = finished {
                match backend
                    .store
                    .apply_mission_event(mission, MissionEvent::Finish, None)
                {
                    Ok(m) => {
                        let _ = backend
                            .store
                            .set_drone_status(drone, DroneStatus::Available);
                        state.notice(format!("mission '{}' completed", m.name), false);
                        if let Some(slot) = state.missions.iter_mut().find(|x| x.id == m.id) {
                            *slot = m;
                        }
                    }
                    Err(e) => state.notice(format!("mission state: {e}"), true),
                }
            }
        }
        LinkEvent::LinkLost { id } => {
            let Some(drone) = drone_of(backend, id) else {
                return;
            };
            let label = state.drone_label(drone);
            if let Some(d) = state.drones.get_mut(&drone) {
                d.link_up = false;
            }
            state.raise_alert(
                AlertKind::LinkLost,
                Some(drone),
                format!("{label}: no heartbeat"),
            );
        }
        LinkEvent::LinkRecovered { id } => {
            if let Some(d) = drone_of(backend, id).and_then(|drone| state.drones.get_mut(&drone)) {
                d.link_up = true;
            }
        }
        LinkEvent::StatusText { id, severity, text } => {
            let Some(drone) = drone_of(backend, id) else {
                return;
            };
            let label = state.drone_label(drone);
            if severity <= 3 {
                state.raise_alert(
                    AlertKind::VehicleFault,
                    Some(drone),
                    format!("{label}: {text}"),
                );
            }
            if let Some(d) = state.drones.get_mut(&drone) {
                d.link.status_text = text;
            }
        }
        LinkEvent::TransportError(e) => {
            let address = backend
                .links
                .links
                .get(link)
                .map(|l| l.address.clone())
                .unwrap_or_default();
            state.notice(format!("link {address}: {e}"), true);
        }
    }
}

/// Applies one event of MQTT broker `broker`.
fn apply_mqtt_event(
    state: &mut AppState,
    backend: &mut Backend,
    broker: usize,
    event: MqttLinkEvent,
) {
    let url = backend
        .links
        .mqtt
        .get(broker)
        .map(|b| b.url.clone())
        .unwrap_or_default();
    match event {
        MqttLinkEvent::Connected => state.notice(format!("connected to {url}"), false),
        MqttLinkEvent::ConnectionLost { error } => state.notice(format!("{url}: {error}"), true),
        MqttLinkEvent::Telemetry(t) => {
            if !state.drones.contains_key(&t.drone_id) {
                return;
            }
            backend.links.mqtt_drones.insert(t.drone_id, broker);
            let status = state
                .drones
                .get(&t.drone_id)
                .map_or(DroneStatus::Available, |d| d.drone.status);
            let Ok(pos) = LatLon::checked(t.position.lat, t.position.lon) else {
                return;
            };
            let sample = TelemetrySample {
                time: state.now,
                mission_id: None,
                drone_id: t.drone_id,
                pos,
                alt_rel_m: t.position.altitude,
                speed_mps: t.velocity.speed,
                heading_deg: t.velocity.heading,
                battery_pct: t.battery,
                signal_pct: 100.0,
                status,
            };
            ingest_sample(state, backend, sample);
        }
        MqttLinkEvent::DroneOnline(id) => {
            backend.links.mqtt_drones.insert(id, broker);
            if let Some(d) = state.drones.get_mut(&id) {
                d.link_up = true;
            }
        }
        MqttLinkEvent::DroneOffline { drone_id, .. } => {
            if let Some(d) = state.drones.get_mut(&drone_id) {
                d.link_up = false;
                let label = d.drone.serial_number.clone();
                state.raise_alert(
                    AlertKind::LinkLost,
                    Some(drone_id),
                    format!("{label}: offline on {url}"),
                );
            }
        }
        MqttLinkEvent::Command(report) => {
            let Some(cmd_id) = backend.links.mqtt_commands.remove(&report.cmd_id) else {
                return;
            };
            match report.outcome {
                aviary_links::mqtt::CommandOutcome::Executed => {
                    confirm_command(state, backend, cmd_id);
                }
                aviary_links::mqtt::CommandOutcome::Rejected { detail } => {
                    fail_command(state, backend, cmd_id, &format!("rejected: {detail}"));
                }
                aviary_links::mqtt::CommandOutcome::Unacknowledged => {
                    fail_command(state, backend, cmd_id, "no acknowledgement (not resent)");
                }
            }
        }
        MqttLinkEvent::Malformed { topic, error } => {
            state.notice(format!("{url} {topic}: {error}"), true);
        }
    }
}

/// A vehicle nobody knows yet on a configured link: it joins the fleet as a drone at the
/// first site, named after its system id and address.
fn register_vehicle(state: &mut AppState, backend: &mut Backend, link: usize, id: VehicleId) {
    let link_name = format!("mavlink:{id}");
    let existing = state
        .drones
        .values()
        .find(|d| d.drone.link.as_deref() == Some(link_name.as_str()))
        .map(|d| d.drone.id);
    if let Some(drone) = existing {
        backend.links.bind(link, id, drone);
        return;
    }
    let Some(site) = state.sites.first() else {
        return;
    };
    let drone = aviary_core::Drone {
        id: DroneId::new_random(),
        site_id: site.id,
        serial_number: format!("MAV-{}-{}", id.system_id, id.peer.port()),
        model: "MAVLink vehicle".to_owned(),
        status: DroneStatus::Available,
        battery_pct: 100,
        last_seen: Some(state.now),
        home: site.location,
        firmware_version: "unknown".to_owned(),
        link: Some(link_name),
        created_at: state.now,
    };
    match backend.store.insert_drone(&drone) {
        Ok(()) => {
            backend.links.bind(link, id, drone.id);
            state.notice(
                format!(
                    "new vehicle {id} joined the fleet as {}",
                    drone.serial_number
                ),
                false,
            );
        }
        Err(e) => state.notice(format!("cannot register vehicle {id}: {e}"), true),
    }
}

/// The drone confirmed command `id`: the mission changes state.
pub fn confirm_command(state: &mut AppState, backend: &mut Backend, id: uuid::Uuid) {
    let Some(rec) = state.commands.iter_mut().find(|c| c.id == id) else {
        return;
    };
    if rec.outcome != CommandOutcome::Pending {
        return;
    }
    rec.outcome = CommandOutcome::Confirmed;
    let (mission, drone, action) = (rec.mission, rec.drone, rec.action);
    let _ = backend.store.record_command(
        id,
        drone,
        Some(mission),
        action_str(action),
        "confirmed",
        "",
    );
    match backend
        .store
        .apply_mission_event(mission, mission_event(action), None)
    {
        Ok(m) => {
            let status = match m.status {
                MissionStatus::InProgress => Some(DroneStatus::InMission),
                s if s.is_terminal() => Some(DroneStatus::Available),
                _ => None,
            };
            if let Some(s) = status {
                let _ = backend.store.set_drone_status(drone, s);
            }
            if let Some(slot) = state.missions.iter_mut().find(|x| x.id == m.id) {
                *slot = m;
            }
        }
        Err(e) => state.notice(format!("mission state: {e}"), true),
    }
}

/// Command `id` was refused or timed out.
pub fn fail_command(state: &mut AppState, backend: &mut Backend, id: uuid::Uuid, reason: &str) {
    let Some(rec) = state.commands.iter_mut().find(|c| c.id == id) else {
        return;
    };
    rec.outcome = CommandOutcome::Failed(reason.to_owned());
    let (mission, drone, action) = (rec.mission, rec.drone, rec.action);
    let _ = backend.store.record_command(
        id,
        drone,
        Some(mission),
        action_str(action),
        "failed",
        reason,
    );
    let label = state.drone_label(drone);
    state.raise_alert(
        AlertKind::CommandFailed,
        Some(drone),
        format!("{} on {label} failed: {reason}", action_label(action)),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn geofence_allows_area_and_home() {
        let area = SurveyArea {
            exterior: vec![
                LatLon::new(0.0, 0.0),
                LatLon::new(0.0, 0.01),
                LatLon::new(0.01, 0.01),
                LatLon::new(0.01, 0.0),
            ],
            holes: vec![],
        };
        let home = LatLon::new(-0.05, 0.0);
        assert!(!outside_geofence(&area, home, LatLon::new(0.005, 0.005)));
        assert!(!outside_geofence(&area, home, home.offset_ne(100.0, 0.0)));
        assert!(outside_geofence(&area, home, LatLon::new(0.05, 0.05)));
    }
}
