//! Simulated drones flown as MQTT clients and registered on a fleet server: one path for the
//! headless `aviary sim --mqtt URL --register SERVER` and for the desktop's built-in simulator
//! when Settings → Simulator says MQTT (`gui::backend::MqttSimFleet`).
//!
//! Registration goes through `aviary_links::fleet` (the site is found by name or created; a
//! drone whose serial number the server knows keeps the server's id); the drones themselves are
//! `aviary_sim::mqtt_drone` clients of the broker, publishing `drones/{id}/telemetry` and
//! obeying `drones/{id}/commands`, which the server ingests like any real drone's.

use aviary_core::wire::WireLatLon;
use aviary_core::{Drone, DroneId, LatLon};
use aviary_links::fleet::{DroneSpec, Registration};
use aviary_sim::mqtt_drone::{FleetOptions, MqttDroneError, MqttFleet};

/// Model name of drones simulated by `aviary sim`.
pub const CLI_MODEL: &str = "Aviary SimCopter";

/// One simulated drone.
#[derive(Debug, Clone, PartialEq)]
pub struct SimDrone {
    /// Its id, on MQTT and (unless the server already knew the serial number) on the server.
    pub id: DroneId,
    /// Serial number (unique in the organisation).
    pub serial_number: String,
    /// Model.
    pub model: String,
    /// Home position.
    pub home: LatLon,
}

impl From<&Drone> for SimDrone {
    /// A stored drone, simulated under its own id, serial number, model and home.
    fn from(d: &Drone) -> Self {
        Self {
            id: d.id,
            serial_number: d.serial_number.clone(),
            model: d.model.clone(),
            home: d.home,
        }
    }
}

fn wire(p: LatLon) -> WireLatLon {
    WireLatLon {
        lat: p.lat_deg,
        lon: p.lon_deg,
    }
}

/// The fleet-server registration of `drones` at the site `site_name` (created at `site_home`
/// in `timezone`, UTC when `None`, if the server has no site of that name).
pub fn registration(
    site_name: &str,
    site_home: LatLon,
    timezone: Option<String>,
    drones: &[SimDrone],
) -> Registration {
    Registration {
        site_name: site_name.to_owned(),
        site_location: wire(site_home),
        timezone,
        drones: drones
            .iter()
            .map(|d| DroneSpec {
                drone_id: d.id,
                serial_number: d.serial_number.clone(),
                model: d.model.clone(),
                home: wire(d.home),
            })
            .collect(),
    }
}

/// Flies `drones` as MQTT clients of the broker at `url`, each under its id from its home,
/// on the simulator's own thread until [`MqttFleet::shutdown`].
pub fn fly(
    url: &str,
    drones: &[SimDrone],
    telemetry_hz: f64,
    time_scale: f64,
) -> Result<MqttFleet, MqttDroneError> {
    let home = drones.first().map_or_else(LatLon::default, |d| d.home);
    aviary_sim::mqtt_drone::run(
        url,
        &FleetOptions {
            drones: drones.len() as u32,
            home,
            telemetry_hz,
            time_scale,
            ids: drones.iter().map(|d| d.id).collect(),
            homes: drones.iter().map(|d| d.home).collect(),
        },
    )
}

/// `count` drones for `aviary sim`: serial numbers `{prefix}-0001`…, fresh ids, homes 10 m
/// apart eastwards from `home`.
pub fn cli_fleet(count: u32, serial_prefix: &str, home: LatLon) -> Vec<SimDrone> {
    let metres_per_deg_lon = 111_320.0 * home.lat_deg.to_radians().cos().max(0.01);
    (0..count)
        .map(|i| SimDrone {
            id: DroneId::new_random(),
            serial_number: format!("{serial_prefix}-{:04}", i + 1),
            model: CLI_MODEL.to_owned(),
            home: LatLon::new(
                home.lat_deg,
                home.lon_deg + 10.0 * f64::from(i) / metres_per_deg_lon,
            ),
        })
        .collect()
}
