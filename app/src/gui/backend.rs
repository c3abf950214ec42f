//! What the window drives: the local store, background jobs and the built-in simulated
//! fleet. Owned by the app and used only from `logic` (never from `ui` code).

use super::jobs::{JobMode, Jobs};
use super::links::Links;
use super::seed;
use super::settings::{Settings, SimTransport};
use super::state::{FaultKind, View};
use crate::sim_mqtt::SimDrone;
use aviary_core::{Clock, Drone, DroneId, DroneStatus, SiteId};
use aviary_links::fleet::Registration;
use aviary_links::mav::VehicleId;
use aviary_sim::mqtt_drone::MqttFleet;
use aviary_sim::{DroneInfo, Fault, SimConfig, SimHandle, Simulator, StreamRates, VehicleConfig};
use aviary_store::{Store, StoreError};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Repaint delay where live data is drawn (map, tables, plots): at most 10 frames a second
/// from telemetry, milliseconds.
pub const LIVE_REPAINT_MS: u64 = 100;

/// How soon link events repaint `view`, milliseconds: views that draw live data follow it at
/// up to `live_hz` (Settings: 4 Hz by default, 1–10 Hz); Reports (jobs finishing) at 4 Hz;
/// the static Settings and Calendar once a second.
pub fn repaint_delay_ms(view: View, live_hz: u32) -> u64 {
    match view {
        View::Plan | View::Fleet | View::Monitor | View::History | View::Simulator => {
            1_000 / u64::from(live_hz.clamp(1, 10))
        }
        View::Reports => 250,
        View::Calendar | View::Settings => 1_000,
    }
}
/// How the backend starts.
#[derive(Debug, Clone, Copy)]
pub struct BackendOptions {
    /// Seed the demo organisation into an empty store.
    pub seed_demo: bool,
    /// Start the built-in simulated fleet.
    pub simulated_fleet: bool,
    /// How background jobs run.
    pub job_mode: JobMode,
}

/// The built-in simulated fleet: the simulator runtime and which stored drone each simulated
/// vehicle stands for.
pub struct SimFleet {
    handle: SimHandle,
    terrain: Option<aviary_sim::TerrainOptions>,
    by_drone: BTreeMap<DroneId, DroneInfo>,
    gcs_addr: SocketAddr,
}

impl std::fmt::Debug for SimFleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimFleet")
            .field("handle", &self.handle)
            .field("terrain", &self.terrain)
            .field("drones", &self.by_drone.len())
            .field("gcs_addr", &self.gcs_addr)
            .finish()
    }
}

impl SimFleet {
    /// Starts the simulator with one vehicle per given drone, each at the drone's home,
    /// sending MAVLink to `gcs_addr`.
    fn start(gcs_addr: SocketAddr, drones: &[Drone], terrain: bool) -> Result<Self, String> {
        let mut config = SimConfig::new(gcs_addr, 0);
        // `ArduPilot`'s defaults (100 m grid, asking every 2 s), on every drone added.
        config.terrain = terrain.then(aviary_sim::TerrainOptions::default);
        let terrain = config.terrain;
        let handle = Simulator::spawn(config).map_err(|e| e.to_string())?;
        let mut fleet = Self {
            handle,
            terrain,
            by_drone: BTreeMap::new(),
            gcs_addr,
        };
        for d in drones {
            fleet.add(d)?;
        }
        Ok(fleet)
    }

    /// Adds a vehicle for `drone`.
    fn add(&mut self, drone: &Drone) -> Result<DroneInfo, String> {
        let used: Vec<u8> = self.by_drone.values().map(|i| i.system_id).collect();
        let system_id = (1..=254u8)
            .find(|id| !used.contains(id))
            .ok_or("the simulator has 254 drones already")?;
        let mut vc = VehicleConfig::new(system_id, drone.home);
        vc.terrain = self.terrain;
        // Stream without being asked, so the map shows the fleet at once.
        vc.default_streams = Some(StreamRates {
            position_hz: 4.0,
            status_hz: 1.0,
        });
        vc.battery_low_pct = 20.0;
        let info = self.handle.add_drone_with(vc).map_err(|e| e.to_string())?;
        self.by_drone.insert(drone.id, info.clone());
        Ok(info)
    }

    /// Where the simulated drones send MAVLink.
    pub fn gcs_addr(&self) -> SocketAddr {
        self.gcs_addr
    }

    /// Simulated drones and their MAVLink identity.
    pub fn drones(&self) -> &BTreeMap<DroneId, DroneInfo> {
        &self.by_drone
    }
}

/// The built-in simulated fleet flown as MQTT clients of a broker (Settings → Simulator →
/// MQTT): the stored simulated drones under their own ids, heard back through the app's MQTT
/// link on that broker, and optionally registered on the fleet server.
#[derive(Debug)]
pub struct MqttSimFleet {
    fleet: MqttFleet,
    /// Broker URL.
    pub url: String,
    /// The simulated drones and their sites.
    pub drones: BTreeMap<DroneId, SiteId>,
    /// Register them on the fleet server whenever it is connected.
    pub register: bool,
}

/// Telemetry rate of the MQTT-simulated drones, Hz (the `MAVLink` ones stream positions at 4 Hz).
const MQTT_SIM_HZ: f64 = 4.0;

/// The app's backend.
pub struct Backend {
    /// The local store.
    pub store: Store,
    /// The injected clock.
    pub clock: Arc<dyn Clock>,
    /// Background jobs.
    pub jobs: Jobs,
    /// The simulated fleet over `MAVLink`, when running.
    pub sim: Option<SimFleet>,
    /// The simulated fleet over MQTT, when running (never both).
    pub sim_mqtt: Option<MqttSimFleet>,
    /// MAVLink links (the simulated fleet's first, then the configured ones).
    pub links: Links,
    /// Index of the simulated fleet's link.
    pub sim_link: Option<usize>,
    /// The simulated drones do terrain (Settings → Simulator), from the next (re)start.
    pub sim_terrain: bool,
    /// The Plan view's DEM (terrain following, the path's profile).
    pub plan_dem: Option<aviary_links::mav::TerrainSource>,
    /// Wakes the UI from other threads.
    pub wake: Arc<dyn Fn() + Send + Sync>,
    /// How soon a wake repaints the window, milliseconds ([`repaint_delay_ms`] of the view
    /// shown): events arriving meanwhile share one frame.
    pub repaint_delay_ms: Arc<AtomicU64>,
    /// The fleet-server client, started on the first connection.
    pub fleet: Option<FleetClient>,
    /// The weather service (links side, its own thread), started on first use.
    pub weather: Option<WeatherClient>,
    /// The running offline-map download (links side, the `aviary-tile-download` thread).
    pub tile_download: Option<aviary_links::tiles::Download>,
    /// Alert sounds (their own thread, started with the first sound).
    pub sound: super::sound::AlertSound,
    /// Spoken alerts (their own thread, started with the first phrase).
    pub speech: super::speech::AlertSpeech,
    /// Telemetry samples of this `logic` pass, handed to the store's writer together at its
    /// end ([`Backend::hand_over_telemetry`]): one wake-up of the writer per pass, not one
    /// per sample (50,000 a second with 5,000 drones at 10 Hz).
    pub telemetry_pass: Vec<aviary_core::TelemetrySample>,
    /// Vehicles that joined the fleet in this `logic` pass: bound and shown at once, filed in
    /// the store together at the pass's end (`logic::link_events::file_joined`), one
    /// transaction for all, before the pass's telemetry reaches the writer.
    pub joining: Vec<aviary_core::Drone>,
}

/// The weather service, its events and the endpoint it was started for.
pub struct WeatherClient {
    /// The service (fetches and caches per site on the `aviary-weather` thread).
    pub service: aviary_links::weather::WeatherService,
    /// Its events, drained by `logic`.
    pub events: std::sync::mpsc::Receiver<aviary_links::weather::WeatherEvent>,
    /// The forecast endpoint.
    pub url: String,
}

impl std::fmt::Debug for WeatherClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WeatherClient")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

/// The fleet-server client and its event receiver.
pub struct FleetClient {
    /// The link.
    pub link: aviary_links::fleet::FleetLink,
    /// Its events, drained by `logic`.
    pub events: std::sync::mpsc::Receiver<aviary_links::fleet::FleetEvent>,
}

impl std::fmt::Debug for FleetClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FleetClient").finish_non_exhaustive()
    }
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("store", &self.store)
            .field("sim", &self.sim)
            .finish_non_exhaustive()
    }
}

/// Errors of backend operations shown to the operator.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// Store failure.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Simulator failure.
    #[error("simulator: {0}")]
    Sim(String),
}

/// What only the `MAVLink` simulator can do.
const MAVLINK_ONLY: &str = "adding and removing drones and injecting faults need the MAVLink \
                            simulator (Settings, Simulator)";

impl Backend {
    /// Hands this pass's telemetry samples to the store's writer in one message (a full
    /// queue drops and counts them; the status bar shows the loss).
    pub fn hand_over_telemetry(&mut self) {
        if !self.telemetry_pass.is_empty() {
            let samples = std::mem::take(&mut self.telemetry_pass);
            self.store.telemetry().submit_batch(samples);
        }
    }

    /// A backend on `store`: seeds the demo data if asked and the store is empty, starts the
    /// simulated fleet if asked. Simulator failures are logged and leave the app usable.
    pub fn new(
        store: Store,
        clock: Arc<dyn Clock>,
        options: BackendOptions,
        wake: Arc<dyn Fn() + Send + Sync>,
    ) -> Self {
        if options.seed_demo {
            match seed::seed_demo_if_empty(&store) {
                Ok(true) => {
                    tracing::info!(path = %store.path().display(), "seeded the demo organisation");
                }
                Ok(false) => {}
                Err(e) => tracing::error!(error = %e, "cannot seed the demo organisation"),
            }
        }
        let jobs = Jobs::new(options.job_mode, Arc::clone(&wake));
        let mut backend = Self {
            store,
            clock,
            jobs,
            sim: None,
            sim_mqtt: None,
            links: Links::default(),
            sim_link: None,
            sim_terrain: false,
            telemetry_pass: Vec::new(),
            joining: Vec::new(),
            plan_dem: None,
            fleet: None,
            weather: None,
            tile_download: None,
            sound: super::sound::AlertSound::default(),
            speech: super::speech::AlertSpeech::default(),
            wake,
            repaint_delay_ms: Arc::new(AtomicU64::new(LIVE_REPAINT_MS)),
        };
        if options.simulated_fleet
            && let Err(e) = backend.start_sim()
        {
            tracing::error!(error = %e, "cannot start the simulated fleet");
        }
        backend
    }

    /// The app's backend: settings decide about the simulator and the extra links; wakes
    /// `ctx`.
    pub fn start(
        store: Store,
        clock: Arc<dyn Clock>,
        settings: &Settings,
        ctx: egui::Context,
    ) -> Self {
        // The simulator starts below, once the backend knows whether its drones do terrain.
        let options = BackendOptions {
            seed_demo: true,
            simulated_fleet: false,
            job_mode: JobMode::Threads,
        };
        // Link events and finished jobs repaint after the shown view's delay, not at once:
        // a dozen drones' telemetry would otherwise repaint even a static Settings view at
        // 20 fps.
        let delay_ms = Arc::new(AtomicU64::new(LIVE_REPAINT_MS));
        let shared = Arc::clone(&delay_ms);
        let mut backend = Self::new(
            store,
            clock,
            options,
            Arc::new(move || {
                ctx.request_repaint_after(Duration::from_millis(shared.load(Ordering::Relaxed)));
            }),
        );
        backend.repaint_delay_ms = delay_ms;
        backend.sim_terrain = settings.sim_terrain;
        if settings.simulated_fleet
            && settings.sim_transport == SimTransport::Mavlink
            && let Err(e) = backend.start_sim()
        {
            tracing::error!(error = %e, "cannot start the simulated fleet");
        }
        for url in settings
            .mqtt_brokers
            .iter()
            .map(|a| a.trim())
            .filter(|a| !a.is_empty())
        {
            if let Err(e) = backend.links.open_mqtt(url, Arc::clone(&backend.wake)) {
                tracing::error!(%url, error = %e, "cannot connect to MQTT broker");
            }
        }
        for address in settings
            .links
            .iter()
            .map(|a| a.trim())
            .filter(|a| !a.is_empty())
        {
            if let Err(e) = backend.links.open(address, Arc::clone(&backend.wake)) {
                tracing::error!(%address, error = %e, "cannot open link");
            }
        }
        if settings.simulated_fleet
            && settings.sim_transport == SimTransport::Mqtt
            && let Err(e) = backend.start_sim_mqtt(&settings.sim_mqtt_broker, settings.sim_register)
        {
            tracing::error!(error = %e, "cannot start the simulated fleet over MQTT");
        }
        backend
    }

    /// Restarts the simulated fleet as `settings` say (off, `MAVLink`, or MQTT); returns what
    /// now runs, for the operator.
    pub fn apply_simulator(&mut self, settings: &Settings) -> Result<String, BackendError> {
        self.stop_sim();
        self.sim_terrain = settings.sim_terrain;
        if !settings.simulated_fleet {
            return Ok("the simulated fleet is off".to_owned());
        }
        match settings.sim_transport {
            SimTransport::Mavlink => {
                self.start_sim()?;
                Ok(format!(
                    "the simulated fleet flies over MAVLink{}",
                    if self.sim_terrain {
                        ", asking for terrain"
                    } else {
                        ""
                    }
                ))
            }
            SimTransport::Mqtt => {
                let url = settings.sim_mqtt_broker.trim();
                self.start_sim_mqtt(url, settings.sim_register)?;
                Ok(format!(
                    "the simulated fleet flies as MQTT clients of {url}{}",
                    if settings.sim_register {
                        ", registered on the fleet server when connected"
                    } else {
                        ""
                    }
                ))
            }
        }
    }

    /// Stops the simulated fleet, whichever transport it uses. The `MAVLink` simulator's link
    /// stays open (idle) for a restart; its vehicles are unbound from their drones.
    pub fn stop_sim(&mut self) {
        if let Some(sim) = self.sim.take() {
            for drone in sim.by_drone.keys() {
                if let Some(route) = self.links.by_drone.remove(drone) {
                    self.links.by_vehicle.remove(&route);
                }
            }
            self.links.bindings_changed = true;
            sim.handle.shutdown();
        }
        if let Some(m) = self.sim_mqtt.take() {
            m.fleet.shutdown();
        }
    }

    /// The stored drones the simulator flies (the demo model's).
    fn simulated_drones(&self) -> Result<Vec<Drone>, BackendError> {
        Ok(self
            .store
            .list_drones(None, None)?
            .into_iter()
            .filter(|d| d.model == seed::DEMO_MODEL)
            .collect())
    }

    /// Flies every simulated drone as an MQTT client of `url` and listens to that broker (the
    /// link opened once per URL, shared with Settings → MQTT brokers).
    pub fn start_sim_mqtt(&mut self, url: &str, register: bool) -> Result<(), BackendError> {
        let drones = self.simulated_drones()?;
        if !self.links.mqtt.iter().any(|b| b.url == url) {
            self.links
                .open_mqtt(url, Arc::clone(&self.wake))
                .map_err(|e| BackendError::Sim(format!("cannot listen to {url}: {e}")))?;
        }
        let specs: Vec<SimDrone> = drones.iter().map(SimDrone::from).collect();
        let fleet = crate::sim_mqtt::fly(url, &specs, MQTT_SIM_HZ, 1.0)
            .map_err(|e| BackendError::Sim(e.to_string()))?;
        tracing::info!(drones = drones.len(), %url, register, "simulated fleet started over MQTT");
        self.sim_mqtt = Some(MqttSimFleet {
            fleet,
            url: url.to_owned(),
            drones: drones.iter().map(|d| (d.id, d.site_id)).collect(),
            register,
        });
        Ok(())
    }

    /// Registrations of the MQTT-simulated drones on the fleet server, one per site (empty
    /// unless the fleet flies over MQTT with registration on).
    pub fn sim_registrations(&self) -> Result<Vec<Registration>, BackendError> {
        let Some(m) = self.sim_mqtt.as_ref().filter(|m| m.register) else {
            return Ok(Vec::new());
        };
        let drones = self.simulated_drones()?;
        let mut out = Vec::new();
        for site in self.store.list_sites()? {
            let at_site: Vec<SimDrone> = drones
                .iter()
                .filter(|d| d.site_id == site.id && m.drones.contains_key(&d.id))
                .map(SimDrone::from)
                .collect();
            if !at_site.is_empty() {
                out.push(crate::sim_mqtt::registration(
                    &site.name,
                    site.location,
                    Some(site.timezone.name().to_owned()),
                    &at_site,
                ));
            }
        }
        Ok(out)
    }

    /// Starts the simulator with a vehicle for every simulated drone in the store, and the
    /// MAVLink link it talks to.
    pub fn start_sim(&mut self) -> Result<(), BackendError> {
        let drones = self.simulated_drones()?;
        // The ground-station link listens on an ephemeral loopback port; the simulated drones
        // send there, exactly as SITL instances started with `--out udp:...` would. A restart
        // reuses it.
        let link = match self.sim_link {
            Some(link) => link,
            None => self
                .links
                .open("udpin:127.0.0.1:0", Arc::clone(&self.wake))
                .map_err(|e| BackendError::Sim(format!("cannot open the simulator link: {e}")))?,
        };
        let gcs_addr = self.links.links[link]
            .handle
            .local_addr()
            .ok_or_else(|| BackendError::Sim("the simulator link has no local address".into()))?;
        self.links.links[link].address = format!("udpin:{gcs_addr} (simulated fleet)");
        let fleet =
            SimFleet::start(gcs_addr, &drones, self.sim_terrain).map_err(BackendError::Sim)?;
        for (drone, info) in &fleet.by_drone {
            let vehicle = VehicleId {
                peer: info.local_addr,
                system_id: info.system_id,
            };
            self.links.bind(link, vehicle, *drone);
        }
        tracing::info!(drones = drones.len(), %gcs_addr, "simulated fleet started");
        self.sim = Some(fleet);
        self.sim_link = Some(link);
        Ok(())
    }

    /// Adds a simulated drone at `site`: a stored drone plus its simulated vehicle.
    pub fn add_sim_drone(&mut self, site: SiteId) -> Result<Drone, BackendError> {
        let Some(sim) = self.sim.as_mut() else {
            return Err(self.not_running());
        };
        let sites = self.store.list_sites()?;
        let site = sites
            .iter()
            .find(|s| s.id == site)
            .ok_or_else(|| BackendError::Sim("unknown site".into()))?;
        let existing = self.store.list_drones(Some(site.id), None)?;
        let n = existing.len();
        let now = self.clock.now();
        let drone = Drone {
            id: DroneId::new_random(),
            site_id: site.id,
            serial_number: format!(
                "SIM-{}-{:02}",
                &site.name.chars().take(3).collect::<String>().to_uppercase(),
                n + 1
            ),
            model: seed::DEMO_MODEL.to_owned(),
            status: DroneStatus::Available,
            battery_pct: 100,
            last_seen: None,
            home: site.location.offset_ne(-30.0, 40.0 * n as f64),
            firmware_version: "ArduCopter V4.5 (sim)".to_owned(),
            link: Some("sim".to_owned()),
            created_at: now,
        };
        self.store.insert_drone(&drone)?;
        let info = sim.add(&drone).map_err(BackendError::Sim)?;
        if let Some(link) = self.sim_link {
            self.links.bind(
                link,
                VehicleId {
                    peer: info.local_addr,
                    system_id: info.system_id,
                },
                drone.id,
            );
        }
        Ok(drone)
    }

    /// Stops a simulated drone (its link goes silent) and marks it offline.
    pub fn remove_sim_drone(&mut self, drone: DroneId) -> Result<(), BackendError> {
        let Some(sim) = self.sim.as_mut() else {
            return Err(self.not_running());
        };
        let info = sim
            .by_drone
            .remove(&drone)
            .ok_or_else(|| BackendError::Sim("not a simulated drone".into()))?;
        sim.handle
            .remove_drone(info.id)
            .map_err(|e| BackendError::Sim(e.to_string()))?;
        self.store.set_drone_status(drone, DroneStatus::Offline)?;
        Ok(())
    }

    /// Injects a fault into a simulated drone.
    pub fn inject_fault(&self, drone: DroneId, fault: FaultKind) -> Result<(), BackendError> {
        let sim = self.sim.as_ref().ok_or_else(|| self.not_running())?;
        let info = sim
            .by_drone
            .get(&drone)
            .ok_or_else(|| BackendError::Sim("not a simulated drone".into()))?;
        let fault = match fault {
            FaultKind::LinkLoss => Fault::LinkLoss { active: true },
            FaultKind::LinkRestore => Fault::LinkLoss { active: false },
            FaultKind::GpsLoss => Fault::GpsLoss { active: true },
            FaultKind::LowBattery => Fault::LowBattery {
                remaining_pct: 15.0,
            },
            FaultKind::Wind => Fault::Wind {
                speed_mps: 12.0,
                towards_deg: 90.0,
            },
            FaultKind::MotorFailure => Fault::MotorFailure,
        };
        sim.handle
            .inject_fault(info.id, fault)
            .map_err(|e| BackendError::Sim(e.to_string()))
    }

    fn not_running(&self) -> BackendError {
        BackendError::Sim(if self.sim_mqtt.is_some() {
            MAVLINK_ONLY.into()
        } else {
            "the simulator is not running".into()
        })
    }

    /// Whether `drone` is simulated by the running simulator (either transport).
    pub fn is_simulated(&self, drone: DroneId) -> bool {
        self.sim
            .as_ref()
            .is_some_and(|s| s.by_drone.contains_key(&drone))
            || self
                .sim_mqtt
                .as_ref()
                .is_some_and(|m| m.drones.contains_key(&drone))
    }
}
