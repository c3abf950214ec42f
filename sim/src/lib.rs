//! `aviary-sim`: simulated `ArduCopter`-like drones behind real `MAVLink` 2 sockets.
//!
//! The crate owns three layers, each testable alone:
//! - [`flight`]: the flight model, a pure function of `(state, guidance, dt)` (kinematics with
//!   acceleration and turn limits, climb/descent rates, wind, battery drain);
//! - [`wpnav`]: `ArduCopter`-like waypoint navigation (legs flown along the track with its
//!   acceleration and corner slowing), pure as well;
//! - [`vehicle`]: one autopilot as a ground station sees it (HEARTBEAT with `ArduCopter` custom
//!   modes, telemetry streams, the mission protocol server side, commands, arming checks,
//!   failsafes, `ArduPilot`'s terrain requests and reports when [`TerrainOptions`] are given,
//!   injectable [`Fault`]s), I/O-free: messages in, messages out;
//! - [`runtime`]: [`Simulator::spawn`] runs a fleet on a tokio runtime on the named thread
//!   `aviary-sim`, one UDP socket per drone (see the port scheme in [`runtime`]), with a
//!   [`SimHandle`] to add/remove drones and inject faults at run time.
//!
//! It may depend on `aviary-core` only among Aviary crates: never on `aviary-links` (the
//! links tests use this crate as a dev-dependency, not the other way round) and never on a
//! UI crate.

pub mod flight;
pub mod runtime;
pub mod vehicle;
pub mod wpnav;

pub use runtime::{
    DroneCounters, DroneInfo, DroneSnapshot, SimConfig, SimError, SimHandle, Simulator,
};
pub use vehicle::{
    CopterMode, Fault, StoredItem, StreamRates, TerrainOptions, Tick, Vehicle, VehicleConfig,
};
pub mod mqtt_drone;
