//! The app's MAVLink links (`aviary-links`): the link to the built-in simulated fleet and the
//! links configured in Settings. Maps vehicles (address + system id) to stored drones and
//! keeps, per drone, the mission supervisor that follows what the vehicle reports.

use aviary_core::mission_items::PlanItem;
use aviary_core::supervisor::Supervisor;
use aviary_core::wire::CommandAction;
use aviary_core::{DroneId, DroneStatus, MissionId};
use aviary_links::mav::{self, LinkConfig, LinkEvent, LinkEvents, LinkHandle, VehicleId};
use aviary_links::mqtt::{MqttLink, MqttLinkConfig, MqttLinkEvent};
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};

/// One running MAVLink link.
pub struct MavLink {
    /// Address string as configured (`udpin:…`).
    pub address: String,
    /// Request side.
    pub handle: LinkHandle,
    /// Event side, drained by `logic`.
    pub events: LinkEvents,
    /// Removed in Settings: stopped, its vehicles unbound; kept so link indices stay stable.
    pub closed: bool,
}

impl std::fmt::Debug for MavLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MavLink")
            .field("address", &self.address)
            .field("handle", &self.handle)
            .field("events", &self.events)
            .field("closed", &self.closed)
            .finish()
    }
}

/// A `MAVLink` drone under the core's mission supervisor: what the vehicle reports decides
/// its mission's phase and the drone's status (issue 14, "vehicle truth").
#[derive(Debug)]
pub struct Supervised {
    /// The supervisor, fed every fact the drone's link reports.
    pub sup: Supervisor,
    /// The mission it supervises (kept after the mission ended, so a failed one can resume).
    pub mission: Option<MissionId>,
    /// That mission's items as uploaded (home, takeoff, speed, waypoints, return).
    pub items: Vec<PlanItem>,
    /// The drone status last written to the store for it.
    pub status: Option<DroneStatus>,
    /// Operator commands waiting for the link's one result each, oldest first.
    pub pending: VecDeque<(uuid::Uuid, CommandAction)>,
}

/// One running MQTT drone link (a broker from Settings).
pub struct MqttBroker {
    /// Broker URL as configured.
    pub url: String,
    /// The link.
    pub link: MqttLink,
    /// Its events, drained by `logic`.
    pub events: std::sync::mpsc::Receiver<MqttLinkEvent>,
}

impl std::fmt::Debug for MqttBroker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MqttBroker")
            .field("url", &self.url)
            .field("link", &self.link)
            .field("events", &self.events)
            .finish()
    }
}

/// Every MAVLink link of the app and the vehicle ↔ drone mapping.
#[derive(Debug, Default)]
pub struct Links {
    /// Links, by index.
    pub links: Vec<MavLink>,
    /// Which vehicle on which link is which drone.
    pub by_vehicle: HashMap<(usize, VehicleId), DroneId>,
    /// The reverse.
    pub by_drone: BTreeMap<DroneId, (usize, VehicleId)>,
    /// The supervisor of each `MAVLink` drone heard from.
    pub supervised: BTreeMap<DroneId, Supervised>,
    /// Drones whose supervisor or binding changed since `logic` last copied the Monitor's
    /// views (`AppState::supervised`): only these are copied between full copies.
    pub supervised_changed: HashSet<DroneId>,
    /// Bindings changed wholesale (a link closed, the simulator stopped): the next copy of
    /// the views is a full one.
    pub bindings_changed: bool,
    /// New vehicles identified (their uid) but not yet placed: they join the fleet at the
    /// site nearest their first position (or the first site if none comes within a while).
    pub unplaced: HashMap<(usize, VehicleId), (Option<u64>, chrono::DateTime<chrono::Utc>)>,
    /// MQTT brokers.
    pub mqtt: Vec<MqttBroker>,
    /// Drones heard on an MQTT broker (index into `mqtt`).
    pub mqtt_drones: BTreeMap<DroneId, usize>,
    /// MQTT command id → the app's command id.
    pub mqtt_commands: HashMap<uuid::Uuid, uuid::Uuid>,
    /// The DEM (Settings → Terrain) every link answers `TERRAIN_REQUEST`s from.
    terrain: Option<mav::TerrainSource>,
}

/// Why a link could not be opened or used.
#[derive(Debug, thiserror::Error)]
pub enum LinksError {
    /// Bad address string.
    #[error("{0}")]
    Address(#[from] mav::AddressError),
    /// Link failure.
    #[error("{0}")]
    Link(#[from] mav::LinkError),
    /// MQTT link failure.
    #[error("{0}")]
    Mqtt(#[from] aviary_links::mqtt::MqttLinkError),
    /// No link to that drone.
    #[error("no MAVLink link to this drone (not heard from yet)")]
    NoLink,
}

impl Links {
    /// Opens a link to `address`, answering terrain requests from the DEM of
    /// [`Links::set_terrain`]; returns its index.
    pub fn open(&mut self, address: &str, wake: mav::WakeFn) -> Result<usize, LinksError> {
        let config = self.link_config(address)?;
        self.open_with(address, config, wake)
    }

    /// The configuration [`Links::open`] gives a link to `address`: the links crate's
    /// defaults (event and request channel capacities, stream requests) and the DEM.
    pub fn link_config(&self, address: &str) -> Result<LinkConfig, LinksError> {
        let parsed: mav::LinkAddress = address.parse()?;
        Ok(LinkConfig {
            terrain: self.terrain.clone(),
            ..LinkConfig::new(parsed)
        })
    }

    /// Opens a link to `address` with `config` (from [`Links::link_config`], perhaps
    /// adjusted: `aviary bench live` asks for no streams); returns its index.
    pub fn open_with(
        &mut self,
        address: &str,
        config: LinkConfig,
        wake: mav::WakeFn,
    ) -> Result<usize, LinksError> {
        let (handle, events) = mav::spawn(config, wake)?;
        self.links.push(MavLink {
            address: address.to_owned(),
            handle,
            events,
            closed: false,
        });
        Ok(self.links.len() - 1)
    }

    /// Answers the autopilots' `TERRAIN_REQUEST`s from `source` on every open link and every
    /// link opened later (`None`: leave them unanswered). Returns the addresses of links that
    /// could not take it (closed meanwhile, or their request queue full).
    pub fn set_terrain(&mut self, source: Option<mav::TerrainSource>) -> Vec<String> {
        self.terrain = source;
        self.links
            .iter()
            .filter(|l| !l.closed)
            .filter(|l| l.handle.set_terrain(self.terrain.clone()).is_err())
            .map(|l| l.address.clone())
            .collect()
    }

    /// The DEM the links answer terrain requests from.
    pub fn terrain(&self) -> Option<&mav::TerrainSource> {
        self.terrain.as_ref()
    }

    /// Connects to an MQTT broker (`mqtt://host:1883`); returns its index.
    pub fn open_mqtt(&mut self, url: &str, wake: mav::WakeFn) -> Result<usize, LinksError> {
        let config = MqttLinkConfig::new(url)?;
        let (link, events) = MqttLink::spawn(config, wake)?;
        self.mqtt.push(MqttBroker {
            url: url.to_owned(),
            link,
            events,
        });
        Ok(self.mqtt.len() - 1)
    }

    /// Takes one MQTT event from any broker.
    pub fn try_recv_mqtt(&mut self) -> Option<(usize, MqttLinkEvent)> {
        self.mqtt
            .iter()
            .enumerate()
            .find_map(|(i, b)| b.events.try_recv().ok().map(|e| (i, e)))
    }

    /// Records that `vehicle` on link `link` is `drone`.
    /// A drone that was another vehicle before (a restarted UDP vehicle on a new port) loses
    /// its old route, so the old address's silence is not this drone's.
    pub fn bind(&mut self, link: usize, vehicle: VehicleId, drone: DroneId) {
        if let Some(old) = self.by_drone.get(&drone).copied() {
            self.by_vehicle.remove(&old);
        }
        self.by_vehicle.insert((link, vehicle), drone);
        self.by_drone.insert(drone, (link, vehicle));
        // Only this drone's view changes: no full copy of the fleet's views (a fleet powering
        // up binds a thousand drones a second).
        self.supervised_changed.insert(drone);
    }

    /// Forgets the vehicle of `drone` (a joining drone the store refused).
    pub fn unbind(&mut self, drone: DroneId) {
        if let Some(route) = self.by_drone.remove(&drone) {
            self.by_vehicle.remove(&route);
            self.supervised.remove(&drone);
            self.supervised_changed.insert(drone);
        }
    }

    /// The link and vehicle of a drone.
    pub fn route(&self, drone: DroneId) -> Result<(&LinkHandle, VehicleId), LinksError> {
        let (i, v) = self.by_drone.get(&drone).ok_or(LinksError::NoLink)?;
        let link = self
            .links
            .get(*i)
            .filter(|l| !l.closed)
            .ok_or(LinksError::NoLink)?;
        Ok((&link.handle, *v))
    }

    /// Takes one event from any link (round robin from `start`), with the link's index.
    pub fn try_recv(&mut self, start: usize) -> Option<(usize, LinkEvent)> {
        let n = self.links.len();
        for k in 0..n {
            let i = (start + k) % n;
            if self.links[i].closed {
                continue;
            }
            if let Some(e) = self.links[i].events.try_recv() {
                return Some((i, e));
            }
        }
        None
    }

    /// Stops link `link` (removed in Settings) and unbinds its vehicles; returns its address.
    pub fn close(&mut self, link: usize) -> Option<String> {
        let l = self.links.get_mut(link).filter(|l| !l.closed)?;
        l.handle.shutdown();
        l.closed = true;
        let address = l.address.clone();
        self.by_vehicle.retain(|(i, _), _| *i != link);
        self.by_drone.retain(|_, (i, _)| *i != link);
        self.unplaced.retain(|(i, _), _| *i != link);
        self.bindings_changed = true;
        Some(address)
    }

    /// Stops every link.
    pub fn shutdown(&self) {
        for l in &self.links {
            l.handle.shutdown();
        }
    }
}
