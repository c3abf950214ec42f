//! What the window drives: the local store, background jobs and the built-in simulated
//! fleet. Owned by the app and used only from `logic` (never from `ui` code).

use super::jobs::{JobMode, Jobs};
use super::links::Links;
use super::seed;
use super::state::FaultKind;
use aviary_core::store::{Store, StoreError};
use aviary_core::{Clock, Drone, DroneId, DroneStatus, SiteId};
use aviary_links::mav::VehicleId;
use aviary_sim::{DroneInfo, Fault, SimConfig, SimHandle, Simulator, StreamRates, VehicleConfig};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;

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
    by_drone: BTreeMap<DroneId, DroneInfo>,
    gcs_addr: SocketAddr,
}

impl std::fmt::Debug for SimFleet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SimFleet")
            .field("handle", &self.handle)
            .field("drones", &self.by_drone.len())
            .field("gcs_addr", &self.gcs_addr)
            .finish()
    }
}

impl SimFleet {
    /// Starts the simulator with one vehicle per given drone, each at the drone's home,
    /// sending MAVLink to `gcs_addr`.
    fn start(gcs_addr: SocketAddr, drones: &[Drone]) -> Result<Self, String> {
        let config = SimConfig::new(gcs_addr, 0);
        let handle = Simulator::spawn(config).map_err(|e| e.to_string())?;
        let mut fleet = Self {
            handle,
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

/// The app's backend.
pub struct Backend {
    /// The local store.
    pub store: Store,
    /// The injected clock.
    pub clock: Arc<dyn Clock>,
    /// Background jobs.
    pub jobs: Jobs,
    /// The simulated fleet, when running.
    pub sim: Option<SimFleet>,
    /// MAVLink links (the simulated fleet's first, then the configured ones).
    pub links: Links,
    /// Index of the simulated fleet's link.
    pub sim_link: Option<usize>,
    /// Wakes the UI from other threads.
    pub wake: Arc<dyn Fn() + Send + Sync>,
    /// The fleet-server client, started on the first connection.
    pub fleet: Option<FleetClient>,
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

impl Backend {
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
            links: Links::default(),
            sim_link: None,
            fleet: None,
            wake,
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
        settings: &super::settings::Settings,
        ctx: egui::Context,
    ) -> Self {
        let options = BackendOptions {
            seed_demo: true,
            simulated_fleet: settings.simulated_fleet,
            job_mode: JobMode::Threads,
        };
        let mut backend = Self::new(
            store,
            clock,
            options,
            Arc::new(move || ctx.request_repaint()),
        );
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
        backend
    }

    /// Starts the simulator with a vehicle for every simulated drone in the store, and the
    /// MAVLink link it talks to.
    pub fn start_sim(&mut self) -> Result<(), BackendError> {
        let drones: Vec<Drone> = self
            .store
            .list_drones(None, None)?
            .into_iter()
            .filter(|d| d.model == seed::DEMO_MODEL)
            .collect();
        // The ground-station link listens on an ephemeral loopback port; the simulated drones
        // send there, exactly as SITL instances started with `--out udp:...` would.
        let link = self
            .links
            .open("udpin:127.0.0.1:0", Arc::clone(&self.wake))
            .map_err(|e| BackendError::Sim(format!("cannot open the simulator link: {e}")))?;
        let gcs_addr = self.links.links[link]
            .handle
            .local_addr()
            .ok_or_else(|| BackendError::Sim("the simulator link has no local address".into()))?;
        self.links.links[link].address = format!("udpin:{gcs_addr} (simulated fleet)");
        let fleet = SimFleet::start(gcs_addr, &drones).map_err(BackendError::Sim)?;
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
            return Err(BackendError::Sim("the simulator is not running".into()));
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
            return Err(BackendError::Sim("the simulator is not running".into()));
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
        let sim = self
            .sim
            .as_ref()
            .ok_or_else(|| BackendError::Sim("the simulator is not running".into()))?;
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

    /// Whether `drone` is simulated by the running simulator.
    pub fn is_simulated(&self, drone: DroneId) -> bool {
        self.sim
            .as_ref()
            .is_some_and(|s| s.by_drone.contains_key(&drone))
    }
}
