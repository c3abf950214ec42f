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
use super::fly_setup::{VehicleWait, identify, insert_mission, wait_for_terrain, wait_for_vehicle};
use anyhow::Context as _;
use aviary_app::flight;
use aviary_core::mission_items::{AltitudeRef, PlanItem};
use aviary_core::preflight::{PreflightConfig, blocking, preflight};
use aviary_core::supervisor::{MissionPhase, Output, Supervisor, SupervisorConfig};
use aviary_core::wire::CommandAction;
use aviary_core::{Clock, DroneId, DroneStatus, MissionId, MissionStatus, SystemClock};
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
    let wait = VehicleWait {
        link: &args.link,
        system_id: args.system_id,
        wait_s: args.wait_s,
    };
    let (vehicle, pos, uid) = wait_for_vehicle(&wait, &handle, &mut events, &mut sup, &clock)?;
    if !args.dem.is_empty() {
        wait_for_terrain(&wait, &handle, &mut events, &mut sup, &clock, vehicle);
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
