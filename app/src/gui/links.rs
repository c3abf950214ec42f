//! The app's MAVLink links (`aviary-links`): the link to the built-in simulated fleet and the
//! links configured in Settings. Maps vehicles (address + system id) to stored drones and
//! tracks, per drone, the operator command waiting for the vehicle's confirmation.

use aviary_core::wire::CommandAction;
use aviary_core::{DroneId, MissionId};
use aviary_links::mav::{self, LinkConfig, LinkEvent, LinkEvents, LinkHandle, VehicleId};
use aviary_links::mqtt::{MqttLink, MqttLinkConfig, MqttLinkEvent};
use std::collections::{BTreeMap, HashMap};

/// One running MAVLink link.
pub struct MavLink {
    /// Address string as configured (`udpin:…`).
    pub address: String,
    /// Request side.
    pub handle: LinkHandle,
    /// Event side, drained by `logic`.
    pub events: LinkEvents,
}

impl std::fmt::Debug for MavLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MavLink")
            .field("address", &self.address)
            .field("handle", &self.handle)
            .field("events", &self.events)
            .finish()
    }
}

/// What a pending operator command is waiting for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Awaiting {
    /// The mission upload (Start uploads first, then starts).
    Upload,
    /// Confirmation of this `MAV_CMD` number (the last of the action's sequence).
    Command(u32),
}

/// An operator command in flight on a MAVLink link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingAction {
    /// The app's command id.
    pub cmd_id: uuid::Uuid,
    /// The action.
    pub action: CommandAction,
    /// The mission.
    pub mission: MissionId,
    /// What confirms it.
    pub awaiting: Awaiting,
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
    /// Operator commands in flight, per drone (one at a time).
    pub pending: BTreeMap<DroneId, PendingAction>,
    /// MQTT brokers.
    pub mqtt: Vec<MqttBroker>,
    /// Drones heard on an MQTT broker (index into `mqtt`).
    pub mqtt_drones: BTreeMap<DroneId, usize>,
    /// MQTT command id → the app's command id.
    pub mqtt_commands: HashMap<uuid::Uuid, uuid::Uuid>,
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
    /// Opens a link to `address`; returns its index.
    pub fn open(&mut self, address: &str, wake: mav::WakeFn) -> Result<usize, LinksError> {
        let parsed: mav::LinkAddress = address.parse()?;
        let (handle, events) = mav::spawn(LinkConfig::new(parsed), wake)?;
        self.links.push(MavLink {
            address: address.to_owned(),
            handle,
            events,
        });
        Ok(self.links.len() - 1)
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
    pub fn bind(&mut self, link: usize, vehicle: VehicleId, drone: DroneId) {
        self.by_vehicle.insert((link, vehicle), drone);
        self.by_drone.insert(drone, (link, vehicle));
    }

    /// The link and vehicle of a drone.
    pub fn route(&self, drone: DroneId) -> Result<(&LinkHandle, VehicleId), LinksError> {
        let (i, v) = self.by_drone.get(&drone).ok_or(LinksError::NoLink)?;
        let link = self.links.get(*i).ok_or(LinksError::NoLink)?;
        Ok((&link.handle, *v))
    }

    /// Takes one event from any link (round robin from `start`), with the link's index.
    pub fn try_recv(&mut self, start: usize) -> Option<(usize, LinkEvent)> {
        let n = self.links.len();
        for k in 0..n {
            let i = (start + k) % n;
            if let Some(e) = self.links[i].events.try_recv() {
                return Some((i, e));
            }
        }
        None
    }

    /// The `MAV_CMD` number that confirms `action` for `drone` (the last of its sequence).
    pub fn confirming_command(&self, drone: DroneId, action: CommandAction) -> Option<u32> {
        let (handle, vehicle) = self.route(drone).ok()?;
        let autopilot = handle
            .vehicle(vehicle)
            .map_or(mav::Autopilot::ArduPilot, |v| v.autopilot);
        mav::command::action_commands(autopilot, action, false)
            .last()
            .map(|s| s.command as u32)
    }

    /// Stops every link.
    pub fn shutdown(&self) {
        for l in &self.links {
            l.handle.shutdown();
        }
    }
}
