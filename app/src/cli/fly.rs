//! `aviary fly`: one mission flown headless under the same supervisor and pre-flight checks as
//! the desktop. Connects, checks, uploads, starts; prints every check, transition, alert and
//! progress step (one JSON object per line with `--json`); reads `pause`, `resume`, `rtl`,
//! `land` and `abort` lines on stdin; records the drone, the mission, its telemetry and its
//! transitions in the local store, so `aviary report mission --latest` reports the flight.
//!
//! Exit codes: 0 the mission completed and the vehicle landed and disarmed; 3 a pre-flight
//! check refused the start; 1 anything else (aborted, failed, no vehicle), with the reason on
//! the last line.

use super::fly_out::{Out, Printer};
use anyhow::Context as _;
use aviary_app::flight;
use aviary_core::mission_items::{AltitudeRef, PlanItem};
use aviary_core::preflight::{PreflightConfig, blocking, preflight};
use aviary_core::supervisor::{MissionPhase, Output, Supervisor, SupervisorConfig};
use aviary_core::vehicle::VehicleFact;
use aviary_core::wire::CommandAction;
use aviary_core::{
    Clock, Drone, DroneId, DroneStatus, FlightPattern, LatLon, Mission, MissionId, MissionParams,
    MissionStatus, OrgId, Organization, Site, SiteId, SurveyArea, SystemClock,
};
use aviary_links::mav::{self, LinkConfig, LinkEvent, LinkEvents, LinkHandle, VehicleId};
use aviary_planner::formats::read_mission_file;
use aviary_store::{DEFAULT_RETENTION_DAYS, MissionFilter, Store, StoreOptions};
use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Exit code of a start refused by a pre-flight check.
pub const EXIT_PREFLIGHT: u8 = 3;

/// Arguments of `aviary fly`.
#[derive(Debug, clap::Args)]
pub struct FlyArgs {
    /// The vehicle's link: `udp:HOST:PORT` (listen), `udpout:HOST:PORT`, `tcp:HOST:PORT`,
    /// `serial:DEVICE:BAUD`.
    #[arg(long, value_name = "ADDR")]
    link: String,
    /// The mission: a QGroundControl `.plan` or `QGC WPL 110` file (as `aviary plan` writes).
    /// Repeat for a mission flown in sorties (`aviary plan` writes one file per sortie): after
    /// each sortie the vehicle lands and waits for a battery swap and `resume` on stdin.
    #[arg(long, value_name = "FILE", required = true)]
    plan: Vec<PathBuf>,
    /// Cruise speed, m/s (default: the plan's).
    #[arg(long)]
    speed_mps: Option<f64>,
    /// One JSON object per line instead of text.
    #[arg(long)]
    json: bool,
    /// Aviary database file (default: the desktop's).
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
    /// Fly this `MAVLink` system id (default: the first vehicle heard).
    #[arg(long)]
    system_id: Option<u8>,
    /// How long to wait for the vehicle's first heartbeat, seconds.
    #[arg(long, default_value_t = 30.0)]
    wait_s: f64,
    /// Start despite failed soft checks (battery, distance, sorties); the reason goes to the
    /// audit log.
    #[arg(long, value_name = "REASON")]
    override_checks: Option<String>,
    /// The survey must start within this distance of the drone's home, metres.
    #[arg(long, default_value_t = 5_000.0)]
    max_home_distance_m: f64,
    /// Battery kept in reserve at the end of a sortie, percent.
    #[arg(long, default_value_t = 20.0)]
    reserve_pct: f64,
    /// Add the weather pre-flight check: fetch the forecast for the drone's home from the
    /// Open-Meteo compatible endpoint (`--weather-url`, default the public one) and evaluate it
    /// for the mission's estimated window and height against the drone model's limits. Without
    /// it the weather check is skipped. A no-go is a soft failure (`--override-checks REASON`
    /// starts anyway, audited); caution and unknown (offline, stale) print a warning.
    #[arg(long)]
    weather: bool,
    /// The forecast endpoint for `--weather` (plain http).
    #[arg(long, value_name = "URL", requires = "weather")]
    weather_url: Option<String>,
    /// Drone model whose weather limits apply (default: the drone's model in the database).
    #[arg(long, value_name = "NAME", requires = "weather")]
    model: Option<String>,
    /// After a failsafe has landed the vehicle, wait this long for a `resume` line that
    /// continues the mission from the item after the last one reached, seconds (0: end).
    #[arg(long, default_value_t = 0.0)]
    resume_window_s: f64,
    /// Elevation data the link answers the autopilot's terrain requests from (`ArduPilot`
    /// with `TERRAIN_ENABLE`, as Mission Planner does): SRTM .hgt tiles (repeat for several)
    /// or one `GeoTIFF`, heights above mean sea level.
    #[arg(long, value_name = "FILE")]
    dem: Vec<PathBuf>,
}

/// How the run ended.
struct End {
    phase: MissionPhase,
    reason: Option<String>,
}

/// The flight in progress: link, supervisor, store rows.
struct Fly {
    clock: Arc<dyn Clock>,
    store: Store,
    handle: LinkHandle,
    vehicle: VehicleId,
    drone: DroneId,
    mission: MissionId,
    sup: Supervisor,
    items: Vec<PlanItem>,
    /// Each sortie's items (one entry for a mission flown in one go).
    sorties: Vec<Vec<PlanItem>>,
    out: Printer,
    last_progress: Option<(u16, u16)>,
    status: DroneStatus,
    /// The vehicle refused the start (why, in its words): the run ends.
    start_refused: Option<String>,
    /// After a failsafe, how long a `resume` line is awaited, seconds (0: end at once).
    resume_window_s: f64,
    resume_until: Option<Instant>,
    resume_offered: bool,
}

/// The weather verdict for the mission flown from `home` now: the forecast fetched on the
/// `aviary-weather-fetch` thread (a failed fetch gives "unknown" with the error), evaluated by
/// the same `aviary_core::weather::evaluate` as `aviary weather` and the desktop.
fn weather_verdict(
    args: &FlyArgs,
    home: aviary_core::LatLon,
    waypoints: &[aviary_core::Waypoint],
    speed_mps: f64,
    model: &str,
    clock: &Arc<dyn Clock>,
) -> aviary_core::weather::WeatherVerdict {
    use aviary_core::weather::{EvalConfig, Flight, WeatherLimits, evaluate};
    use aviary_links::weather::{DEFAULT_OPEN_METEO_URL, Provider, fetch_blocking};
    let provider = Provider::OpenMeteo {
        url: args
            .weather_url
            .clone()
            .unwrap_or_else(|| DEFAULT_OPEN_METEO_URL.into()),
    };
    let fetched = fetch_blocking(&provider, home, Duration::from_secs(10), Arc::clone(clock));
    let route = aviary_planner::estimate_route(
        home,
        waypoints,
        speed_mps,
        &aviary_planner::Airframe::default(),
    );
    let now = clock.now();
    let flight = Flight {
        model,
        limits: WeatherLimits::for_model(model),
        start: now,
        end: now + chrono::Duration::seconds(route.duration_s.ceil().max(60.0) as i64),
        max_alt_m: route.alt_rel_m,
    };
    let (report, error) = match fetched {
        Ok(r) => (Some(r), None),
        Err(e) => (None, Some(e.to_string())),
    };
    let mut verdict = evaluate(report.as_ref(), &flight, &EvalConfig::default(), now);
    if let (Some(e), Some(first)) = (&error, verdict.reasons.first_mut()) {
        first.text = format!("no weather data: {e}");
    }
    verdict
}

/// Runs `aviary fly`.
#[expect(
    clippy::needless_pass_by_value,
    reason = "the dispatcher hands each subcommand its arguments by value"
)]
pub fn run(args: FlyArgs) -> ExitCode {
    let mut out = Printer::new(args.json);
    match fly(&args, &mut out) {
        Ok(end) => {
            out.line(&Out::End {
                state: end.phase.as_str(),
                reason: end.reason.as_deref(),
            });
            if end.phase == MissionPhase::Completed {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            if let Some(Refused(why)) = e.downcast_ref::<Refused>() {
                out.line(&Out::End {
                    state: "refused",
                    reason: Some(why),
                });
                ExitCode::from(EXIT_PREFLIGHT)
            } else {
                out.line(&Out::End {
                    state: "error",
                    reason: Some(&format!("{e:#}")),
                });
                ExitCode::FAILURE
            }
        }
    }
}

/// The start was refused: by a pre-flight check, or by the vehicle itself.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct Refused(String);

fn fly(args: &FlyArgs, out: &mut Printer) -> anyhow::Result<End> {
    let mut docs = Vec::new();
    for path in &args.plan {
        let doc = read_mission_file(path)
            .with_context(|| format!("reading the plan {}", path.display()))?;
        if doc.items.is_empty() {
            anyhow::bail!("the plan {} has no mission items", path.display());
        }
        docs.push(doc);
    }
    let doc = docs[0].clone();
    let speed_mps = args.speed_mps.unwrap_or(doc.speed_mps);
    if !(0.5..=30.0).contains(&speed_mps) {
        anyhow::bail!("speed {speed_mps} m/s is outside 0.5–30 m/s (--speed-mps)");
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let store = match &args.db {
        Some(p) => Store::open(
            p,
            clock.clone(),
            StoreOptions::desktop(DEFAULT_RETENTION_DAYS),
        ),
        None => Store::open_default(clock.clone(), StoreOptions::desktop(DEFAULT_RETENTION_DAYS)),
    }
    .context("opening the Aviary database")?;
    let address: mav::LinkAddress = args
        .link
        .parse()
        .with_context(|| format!("link address {:?}", args.link))?;
    let mut link_config = LinkConfig::new(address);
    if !args.dem.is_empty() {
        let dem = super::terrain::load_dem(&args.dem).context("reading --dem")?;
        let source = mav::TerrainSource(Arc::from(dem));
        if !source.is_amsl() {
            tracing::warn!(
                dem = %source.0.describe(),
                "the DEM's heights are above the WGS84 ellipsoid, the autopilot expects them above mean sea level"
            );
        }
        link_config.terrain = Some(source);
    }
    // The DEM also gives a terrain plan's ground to the stored mission (for its report).
    let link_config_dem = link_config.terrain.clone();
    let (handle, mut events) = mav::spawn(link_config, Arc::new(|| {}))
        .with_context(|| format!("opening the link {}", args.link))?;

    let now = clock.now();
    let mut sup = Supervisor::new(SupervisorConfig::default(), now);
    let (vehicle, pos, uid) = wait_for_vehicle(args, &handle, &mut events, &mut sup, &clock)?;
    if !args.dem.is_empty() {
        wait_for_terrain(args, &handle, &mut events, &mut sup, &clock, vehicle);
    }
    let drone = identify(
        &store,
        &args.link,
        vehicle,
        uid,
        pos.unwrap_or(doc.home),
        &clock,
    )?;
    let drone_row = store.get_drone(drone.id)?;
    let home = pos.unwrap_or(drone_row.home);
    let sorties: Vec<Vec<PlanItem>> = docs
        .iter()
        .map(|d| {
            // A file planned over the terrain (absolute altitudes) goes up absolute.
            let alt = match d.alt_frame {
                aviary_planner::formats::AltitudeFrame::AboveHome => AltitudeRef::AboveHome,
                aviary_planner::formats::AltitudeFrame::Amsl { home_amsl_m } => {
                    AltitudeRef::Amsl { home_amsl_m }
                }
            };
            flight::items_for(home, &d.items, speed_mps, alt)
        })
        .collect();
    let items = sorties[0].clone();

    // Pre-flight checks, against what the vehicle reports now.
    let other = store
        .list_missions(&MissionFilter {
            drone_id: Some(drone.id),
            statuses: vec![MissionStatus::InProgress, MissionStatus::Paused],
            ..MissionFilter::default()
        })?
        .into_iter()
        .next()
        .map(|m| m.name);
    let airframe = aviary_planner::Airframe::default();
    let mut needs = flight::plan_needs(home, &doc.items, speed_mps, items.len(), &airframe);
    for d in &docs[1..] {
        let n = flight::plan_needs(home, &d.items, speed_mps, 0, &airframe);
        needs.sorties += n.sorties;
    }
    needs.planned_sorties = docs.len();
    if args.weather {
        let model = args.model.as_deref().unwrap_or(&drone_row.model);
        needs.weather = Some(weather_verdict(
            args, home, &doc.items, speed_mps, model, &clock,
        ));
    }
    let config = PreflightConfig {
        max_home_distance_m: args.max_home_distance_m,
        battery_reserve_pct: args.reserve_pct,
        ..PreflightConfig::default()
    };
    let now = clock.now();
    let checks = preflight(sup.vehicle(), other.as_deref(), &needs, &config, now);
    for c in &checks {
        out.line(&Out::Check(c));
    }
    let blocked = blocking(&checks, args.override_checks.is_some());
    if let Some(first) = blocked.first() {
        let words: Vec<String> = blocked
            .iter()
            .map(|c| format!("{:?}: {}", c.kind, c.detail).to_lowercase())
            .collect();
        let hint = if blocked.iter().all(|c| c.soft) {
            " (--override-checks REASON starts anyway)"
        } else {
            ""
        };
        let _ = first;
        return Err(Refused(format!("pre-flight: {}{hint}", words.join("; "))).into());
    }

    let whole = aviary_planner::formats::MissionDoc {
        items: docs.iter().flat_map(|d| d.items.iter().copied()).collect(),
        ..doc
    };
    let dem = link_config_dem.as_ref().map(|s| s.0.as_ref());
    let mission = insert_mission(
        &store,
        &drone_row,
        (&args.plan[0], &whole),
        speed_mps,
        dem,
        &clock,
    )?;
    if let Some(reason) = &args.override_checks
        && let Some(audit) = flight::override_audit(
            clock.now(),
            mission,
            &checks,
            needs.weather.as_ref(),
            &flight::os_account(),
            reason,
        )
    {
        store.append_audit(&audit)?;
    }

    let mut f = Fly {
        clock,
        store,
        handle,
        vehicle,
        drone: drone.id,
        mission,
        sup,
        items,
        sorties,
        out: std::mem::replace(out, Printer::new(args.json)),
        last_progress: None,
        status: DroneStatus::Available,
        start_refused: None,
        resume_window_s: args.resume_window_s,
        resume_until: None,
        resume_offered: false,
    };
    f.sup.attach(
        MissionPhase::Planned,
        u16::try_from(f.items.len()).unwrap_or(u16::MAX),
        flight::rtl_seq(&f.items),
        None,
    );
    let n = u16::try_from(f.sorties.len()).unwrap_or(u16::MAX);
    f.sup.set_sorties(1, n);
    f.operator(CommandAction::Start)?;
    let end = f.run(&mut events);
    *out = f.out;
    end
}

/// Waits for the vehicle's first heartbeat (and its identity, briefly), feeding what it
/// reports to the supervisor. Returns the vehicle, its position and its autopilot uid.
/// A vehicle that does terrain has its data once it reports nothing pending and no more
/// loaded for this long (`ArduPilot` asks for the next block only every 2 s and reports 0
/// pending in between, so only a count that stopped growing says it is done).
const TERRAIN_SETTLED: Duration = Duration::from_secs(3);
/// A vehicle that sent no `TERRAIN_REPORT` for this long does not do terrain.
const TERRAIN_SILENT: Duration = Duration::from_secs(3);

/// With `--dem`, waits (at most `--wait-s`) until a vehicle that does terrain has loaded the
/// blocks around it, so its "Waiting for Terrain data" pre-arm check does not refuse the
/// start. A vehicle that reports no terrain is not waited for; one still loading at the end
/// is started anyway and answers for itself.
fn wait_for_terrain(
    args: &FlyArgs,
    handle: &LinkHandle,
    events: &mut LinkEvents,
    sup: &mut Supervisor,
    clock: &Arc<dyn Clock>,
    id: VehicleId,
) {
    let start = Instant::now();
    let deadline = start + Duration::from_secs_f64(args.wait_s.max(0.1));
    // Since when the report says nothing pending with this many sub-grids loaded.
    let mut settled: Option<(Instant, u16)> = None;
    while Instant::now() < deadline {
        if let Some(ev) = events.recv_timeout(Duration::from_millis(100)) {
            let now = clock.now();
            for (vid, fact) in flight::facts(&ev) {
                if vid == id {
                    sup.fact(fact, now);
                }
            }
        }
        let terrain = handle.vehicle(id).and_then(|v| v.terrain);
        match terrain {
            None if start.elapsed() > TERRAIN_SILENT => return,
            None => {}
            Some(t) if t.pending == 0 => match settled {
                Some((since, loaded)) if loaded == t.loaded => {
                    if since.elapsed() >= TERRAIN_SETTLED {
                        return;
                    }
                }
                _ => settled = Some((Instant::now(), t.loaded)),
            },
            Some(_) => settled = None,
        }
    }
    tracing::warn!(
        "the vehicle is still loading terrain after {:.0} s",
        args.wait_s
    );
}

fn wait_for_vehicle(
    args: &FlyArgs,
    handle: &LinkHandle,
    events: &mut LinkEvents,
    sup: &mut Supervisor,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<(VehicleId, Option<LatLon>, Option<u64>)> {
    let deadline = Instant::now() + Duration::from_secs_f64(args.wait_s.max(0.1));
    let wanted = |id: VehicleId| args.system_id.is_none_or(|s| s == id.system_id);
    let mut found: Option<VehicleId> = None;
    let mut uid = None;
    let mut identified = false;
    let mut pos = None;
    let mut heard_at = None;
    while Instant::now() < deadline {
        let Some(ev) = events.recv_timeout(Duration::from_millis(100)) else {
            if let Some(at) = heard_at
                && Instant::now().duration_since(at) > Duration::from_secs(3)
                && pos.is_some()
            {
                break;
            }
            continue;
        };
        if let LinkEvent::VehicleIdentified { id, uid: u, .. } = &ev
            && found.is_none_or(|f| f == *id)
            && wanted(*id)
        {
            found = Some(*id);
            uid = *u;
            identified = true;
        }
        if let LinkEvent::State(v) = &ev
            && wanted(v.id)
            && found.is_none_or(|f| f == v.id)
        {
            found = Some(v.id);
            heard_at.get_or_insert_with(Instant::now);
            if v.pos.is_some() {
                pos = v.pos;
            }
        }
        if let Some(id) = found {
            let now = clock.now();
            for (vid, fact) in flight::facts(&ev) {
                if vid == id {
                    sup.fact(fact, now);
                }
            }
        }
        if identified && pos.is_some() && sup.vehicle().mode.is_some() {
            break;
        }
    }
    let Some(id) = found else {
        anyhow::bail!(
            "no vehicle heard on {} within {:.0} s",
            args.link,
            args.wait_s
        );
    };
    // The link's facts arrive on change only: seed the supervisor with the full picture.
    if let Some(v) = handle.vehicle(id) {
        let now = clock.now();
        sup.fact(VehicleFact::LinkUp, now);
        sup.fact(
            VehicleFact::Heartbeat {
                mode: v.flight_mode(),
                armed: v.armed,
            },
            now,
        );
        sup.fact(VehicleFact::Landed { state: v.landed }, now);
        for fact in flight::state_facts(&v) {
            sup.fact(fact, now);
        }
        pos = pos.or(v.pos);
        uid = uid.or(v.uid);
    }
    Ok((id, pos, uid))
}

/// The stored drone for this vehicle: found by its autopilot's unique id (or, without one,
/// by link and system id), else created at the site nearest its position.
fn identify(
    store: &Store,
    link: &str,
    vehicle: VehicleId,
    uid: Option<u64>,
    pos: LatLon,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<Drone> {
    let serial = match uid {
        Some(u) => format!("MAV-{u:016X}"),
        None => format!("MAV-{link}-{}", vehicle.system_id),
    };
    let drones = store.list_drones(None, None)?;
    if let Some(d) = drones.into_iter().find(|d| d.serial_number == serial) {
        return Ok(d);
    }
    let now = clock.now();
    let site = nearest_site(store, pos, now)?;
    let drone = Drone {
        id: DroneId::new_random(),
        site_id: site,
        serial_number: serial,
        model: "MAVLink vehicle".into(),
        status: DroneStatus::Available,
        battery_pct: 100,
        last_seen: Some(now),
        home: pos,
        firmware_version: String::new(),
        link: Some(link.to_owned()),
        created_at: now,
    };
    store.insert_drone(&drone)?;
    Ok(drone)
}

/// The site nearest `pos`; an empty store gets an organisation and a site there.
fn nearest_site(
    store: &Store,
    pos: LatLon,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<SiteId> {
    let sites = store.list_sites()?;
    if let Some(s) = sites.iter().min_by(|a, b| {
        a.location
            .distance_m(pos)
            .total_cmp(&b.location.distance_m(pos))
    }) {
        return Ok(s.id);
    }
    let org = if let Some(o) = store.list_orgs()?.into_iter().next() {
        o.id
    } else {
        let org = Organization {
            id: OrgId::new_random(),
            name: "Local".into(),
            created_at: now,
        };
        store.upsert_org(&org)?;
        org.id
    };
    let site = Site {
        id: SiteId::new_random(),
        org_id: org,
        name: "Field".into(),
        location: pos,
        timezone: chrono_tz::UTC,
        created_at: now,
    };
    store.upsert_site(&site)?;
    Ok(site.id)
}

/// What a stored mission keeps of a plan file written over the terrain (absolute
/// altitudes), with `dem` to read the ground under its waypoints: its height over the ground
/// at the median survey waypoint as the planned AGL, the lowest as its clearance.
fn planned_terrain(
    doc: &aviary_planner::formats::MissionDoc,
    dem: Option<&dyn aviary_planner::terrain::Elevation>,
) -> Option<aviary_core::PlannedTerrain> {
    let aviary_planner::formats::AltitudeFrame::Amsl { home_amsl_m } = doc.alt_frame else {
        return None;
    };
    let dem = dem?;
    let ground_amsl_m: Vec<Option<f64>> = doc
        .items
        .iter()
        .map(|w| {
            matches!(
                w.action,
                aviary_core::WaypointAction::FlyThrough | aviary_core::WaypointAction::Takeoff
            )
            .then(|| dem.elevation_m(w.pos).ok())
            .flatten()
        })
        .collect();
    let mut agl: Vec<f64> = doc
        .items
        .iter()
        .zip(&ground_amsl_m)
        .filter(|(w, _)| w.action == aviary_core::WaypointAction::FlyThrough)
        .filter_map(|(w, g)| g.map(|g| home_amsl_m + w.alt_rel_m - g))
        .collect();
    agl.sort_by(f64::total_cmp);
    let agl_m = *agl.get(agl.len() / 2)?;
    Some(aviary_core::PlannedTerrain {
        agl_m,
        tolerance_m: 0.0,
        min_clearance_m: agl.first().copied().unwrap_or(agl_m),
        home_amsl_m,
        ground_amsl_m,
        source: dem.describe(),
        sea_level: false,
    })
}

fn insert_mission(
    store: &Store,
    drone: &Drone,
    (plan, doc): (&std::path::Path, &aviary_planner::formats::MissionDoc),
    speed_mps: f64,
    dem: Option<&dyn aviary_planner::terrain::Elevation>,
    clock: &Arc<dyn Clock>,
) -> anyhow::Result<MissionId> {
    let site = store
        .list_sites()?
        .into_iter()
        .find(|s| s.id == drone.site_id)
        .context("the drone's site is missing")?;
    let route = aviary_planner::estimate_route(
        drone.home,
        &doc.items,
        speed_mps,
        &aviary_planner::Airframe::default(),
    );
    let name = plan
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("mission")
        .to_owned();
    let survey_area = doc.areas.first().cloned().unwrap_or_else(|| SurveyArea {
        exterior: doc.items.iter().map(|w| w.pos).collect(),
        holes: Vec::new(),
    });
    let m = Mission {
        id: MissionId::new_random(),
        org_id: site.org_id,
        site_id: site.id,
        drone_id: Some(drone.id),
        name,
        status: MissionStatus::Planned,
        survey_area,
        flight_pattern: FlightPattern::Lawnmower,
        // A plan over the terrain: its height over the ground, which the report compares
        // with the flight's.
        parameters: match planned_terrain(doc, dem) {
            Some(terrain) => MissionParams {
                altitude_m: terrain.agl_m,
                speed_mps,
                terrain: Some(terrain),
                ..MissionParams::default()
            },
            None => MissionParams {
                altitude_m: route.alt_rel_m,
                speed_mps,
                ..MissionParams::default()
            },
        },
        scheduled_start: None,
        actual_start: None,
        actual_end: None,
        paused_at: None,
        estimated_duration_s: route.duration_s,
        estimated_distance_m: route.distance_m,
        waypoints: doc.items.clone(),
        created_by: None,
        created_at: clock.now(),
    };
    store.insert_mission(&m)?;
    Ok(m.id)
}

/// Reads operator lines from stdin on a named thread.
fn stdin_commands() -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::sync_channel(16);
    let spawned = std::thread::Builder::new()
        .name("aviary-fly-stdin".into())
        .spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "stdin commands unavailable");
    }
    rx
}

impl Fly {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// An operator request: accepted ones go to the link, refusals are printed.
    fn operator(&mut self, action: CommandAction) -> anyhow::Result<()> {
        let now = self.now();
        match self.sup.request(action, now) {
            Ok((order, outputs)) => {
                if order.upload
                    && let Some((k, _)) = self.sup.sortie()
                    && let Some(items) = self.sorties.get(usize::from(k.saturating_sub(1)))
                {
                    self.items.clone_from(items);
                }
                self.outputs(&outputs)?;
                let on_ground = self.sup.vehicle().on_ground();
                let request = flight::link_request(&order, &self.items, on_ground);
                if let Some(up) = flight::uploaded_items(&request) {
                    self.items = up.to_vec();
                }
                if let Err(e) = self.handle.mission_action(self.vehicle, request) {
                    let outputs = self
                        .sup
                        .command_result(action, Err(e.to_string()), self.now());
                    self.outputs(&outputs)?;
                }
            }
            Err(refusal) => self.out.line(&Out::Refused {
                state: self.phase_str(),
                text: &refusal.to_string(),
            }),
        }
        Ok(())
    }

    fn phase_str(&self) -> &'static str {
        self.sup.phase().map_or("none", MissionPhase::as_str)
    }

    /// Prints and stores the supervisor's outputs; sends what it asks the vehicle to do.
    fn outputs(&mut self, outputs: &[Output]) -> anyhow::Result<()> {
        for o in outputs {
            match o {
                Output::Transition(t) => {
                    self.store.apply_transition(self.mission, t, None)?;
                    self.out.line(&Out::Transition(t));
                }
                Output::Alert(a) => self.out.line(&Out::Alert {
                    state: self.phase_str(),
                    alert: a,
                }),
                Output::Progress { item, of } => {
                    if self.last_progress != Some((*item, *of)) {
                        self.last_progress = Some((*item, *of));
                        self.out.line(&Out::Progress {
                            state: self.phase_str(),
                            item: *item,
                            of: *of,
                        });
                    }
                }
                Output::Request { action } => {
                    let request = flight::link_request(
                        &aviary_core::supervisor::Order {
                            action: *action,
                            upload: false,
                            from_seq: None,
                        },
                        &self.items,
                        false,
                    );
                    if let Err(e) = self.handle.mission_action(self.vehicle, request) {
                        self.out.line(&Out::Refused {
                            state: self.phase_str(),
                            text: &format!("sending {action:?}: {e}"),
                        });
                    }
                }
            }
        }
        let status = flight::drone_status(&self.sup, self.status);
        if status != self.status {
            self.status = status;
            self.store.set_drone_status(self.drone, status)?;
        }
        Ok(())
    }

    fn event(&mut self, ev: &LinkEvent) -> anyhow::Result<()> {
        let now = self.now();
        let mut outputs = Vec::new();
        for (id, fact) in flight::facts(ev) {
            if id == self.vehicle {
                outputs.extend(self.sup.fact(fact, now));
            }
        }
        match ev {
            LinkEvent::State(v) if v.id == self.vehicle => {
                let mission = self
                    .sup
                    .phase()
                    .filter(|p| p.is_flying())
                    .map(|_| self.mission);
                if let Some(s) = flight::sample(v, self.drone, mission, self.status, now) {
                    self.store.telemetry().submit(s);
                }
            }
            LinkEvent::MissionProgress {
                id,
                op: mav::MissionOp::Upload,
                done,
                total,
            } if *id == self.vehicle && done == total => {
                outputs.extend(flight::upload_done(&mut self.sup, &self.items, now));
            }
            LinkEvent::ActionResult {
                id,
                request,
                result,
            } if *id == self.vehicle => {
                outputs.extend(flight::apply_action_result(
                    &mut self.sup,
                    *request,
                    result,
                    &self.items,
                    now,
                ));
                if let Err(f) = result
                    && *request == mav::ActionKind::Start
                    && matches!(
                        self.sup.phase(),
                        Some(MissionPhase::Ready | MissionPhase::Planned)
                    )
                {
                    self.start_refused = Some(flight::failure_words(f));
                }
            }
            _ => {}
        }
        self.outputs(&outputs)
    }

    fn stdin_line(&mut self, line: &str) -> anyhow::Result<()> {
        let word = line.trim().to_ascii_lowercase();
        if word.is_empty() {
            return Ok(());
        }
        let action = match word.as_str() {
            "rtl" | "rth" | "return" => Some(CommandAction::Rth),
            w => CommandAction::parse(w),
        };
        if let Some(a) = action {
            return self.operator(a);
        }
        self.out.line(&Out::Refused {
            state: self.phase_str(),
            text: &format!("unknown command {word:?} (expected pause, resume, rtl, land or abort)"),
        });
        Ok(())
    }

    /// Flies until the mission ends (or the start is refused for good).
    /// After a failed mission: `true` while the resume window is open (the loop goes on and a
    /// `resume` line may restart the mission from the item after the last one reached).
    fn resume_window(&mut self) -> bool {
        if self.resume_window_s <= 0.0 {
            return false;
        }
        let now = Instant::now();
        let until = *self
            .resume_until
            .get_or_insert_with(|| now + Duration::from_secs_f64(self.resume_window_s));
        if !self.resume_offered && self.sup.allowed(CommandAction::Resume) {
            self.resume_offered = true;
            let from = self.sup.last_reached().map_or(1, |s| s.saturating_add(1));
            let text = format!(
                "the vehicle is down and ready: send resume within {:.0} s to continue from item {from}",
                until.saturating_duration_since(now).as_secs_f64()
            );
            self.out.line(&Out::Alert {
                state: self.phase_str(),
                alert: &aviary_core::supervisor::SupervisorAlert {
                    level: aviary_core::supervisor::AlertLevel::Info,
                    reason: None,
                    text,
                },
            });
        }
        now < until
    }

    fn run(&mut self, events: &mut LinkEvents) -> anyhow::Result<End> {
        let stdin = stdin_commands();
        loop {
            if let Some(ev) = events.recv_timeout(Duration::from_millis(100)) {
                self.event(&ev)?;
                while let Some(ev) = events.try_recv() {
                    self.event(&ev)?;
                }
            }
            while let Ok(line) = stdin.try_recv() {
                self.stdin_line(&line)?;
            }
            let outputs = self.sup.tick(self.now());
            self.outputs(&outputs)?;
            if self.sup.phase() != Some(MissionPhase::Failed) {
                self.resume_until = None;
                self.resume_offered = false;
            }
            match self.sup.phase() {
                // Down after a failsafe: the operator may resume from the next item once the
                // vehicle is ready again, within the window.
                Some(MissionPhase::Failed) if self.resume_window() => {}
                Some(p) if p.is_terminal() => {
                    self.store.telemetry().flush()?;
                    let stats = self.store.telemetry().stats();
                    if stats.lost() > 0 {
                        // Submitting never blocks the loop, so losses are told here, once.
                        tracing::error!(
                            lost = stats.lost(),
                            queue_full = stats.dropped_queue_full,
                            disk_full = stats.dropped_disk_full,
                            last_error = stats.last_error.as_deref().unwrap_or(""),
                            "telemetry samples not saved"
                        );
                    }
                    let (_, reason) = self.store.mission_phase(self.mission)?;
                    return Ok(End {
                        phase: p,
                        reason: reason.map(|r| r.describe().to_owned()),
                    });
                }
                // A start the vehicle refused leaves the mission ready (or planned after a
                // failed upload): nothing more will happen without an operator.
                Some(MissionPhase::Ready | MissionPhase::Planned) => {
                    if let Some(why) = self.start_refused.take() {
                        return Err(Refused(format!("the vehicle refused the start: {why}")).into());
                    }
                }
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use aviary_core::{LatLon, Waypoint, WaypointAction};
    use aviary_planner::formats::{AltitudeFrame, MissionDoc};
    use aviary_planner::terrain::{SrtmSet, SrtmTile};

    /// A 3″ tile N47E008 at 400 m everywhere but a 450 m square north of 47.6° N.
    fn dem() -> SrtmSet {
        let mut bytes = Vec::with_capacity(1201 * 1201 * 2);
        for row in 0..1201 {
            let lat = 48.0 - f64::from(row) / 1200.0;
            let h: i16 = if lat > 47.6 { 450 } else { 400 };
            for _ in 0..1201 {
                bytes.extend_from_slice(&h.to_be_bytes());
            }
        }
        let mut set = SrtmSet::new();
        set.insert(SrtmTile::from_bytes("N47E008.hgt", &bytes).expect("tile"));
        set
    }

    #[test]
    fn a_plan_over_the_terrain_keeps_its_ground_for_the_report() {
        let home = LatLon::new(47.5, 8.5);
        let wp = |lat: f64, alt_rel_m: f64, action| Waypoint {
            pos: LatLon::new(lat, 8.5),
            alt_rel_m,
            action,
        };
        let doc = MissionDoc {
            alt_frame: AltitudeFrame::Amsl { home_amsl_m: 400.0 },
            items: vec![
                wp(47.5, 40.0, WaypointAction::Takeoff),
                wp(47.55, 40.0, WaypointAction::FlyThrough),
                wp(
                    47.55,
                    40.0,
                    WaypointAction::CameraTriggerStart { distance_m: 10.0 },
                ),
                wp(47.65, 88.0, WaypointAction::FlyThrough),
                wp(47.7, 90.0, WaypointAction::FlyThrough),
                wp(47.5, 40.0, WaypointAction::ReturnToLaunch),
            ],
            home,
            areas: Vec::new(),
            no_fly: Vec::new(),
            speed_mps: 5.0,
            surveys: Vec::new(),
            rally_points: Vec::new(),
        };
        let dem = dem();
        let t = planned_terrain(&doc, Some(&dem)).expect("a terrain plan");
        assert!((t.home_amsl_m - 400.0).abs() < 1e-9);
        assert_eq!(
            t.ground_amsl_m,
            [
                Some(400.0),
                Some(400.0),
                None,
                Some(450.0),
                Some(450.0),
                None
            ]
        );
        // Over the ground: 40, 38 and 40 m; the median 40, the lowest 38.
        assert!((t.agl_m - 40.0).abs() < 1e-9, "{t:?}");
        assert!((t.min_clearance_m - 38.0).abs() < 1e-9, "{t:?}");
        // Above home, or without a DEM: nothing to keep.
        let flat = MissionDoc {
            alt_frame: AltitudeFrame::AboveHome,
            ..doc.clone()
        };
        assert!(planned_terrain(&flat, Some(&dem)).is_none());
        assert!(planned_terrain(&doc, None).is_none());
    }
}
