//! `aviary-links`: every wire — `MAVLink`, MQTT and the fleet-server client — each on a tokio
//! runtime of its own, on a named thread.
//!
//! The app talks to a link only through bounded channels (a handle to send requests, a
//! receiver of events) and an injected wake-up closure `Arc<dyn Fn() + Send + Sync>`; this
//! crate never imports egui. Protocol handshakes are I/O-free state machines
//! (`handle(event) -> actions`) driven by a thin async driver.
//!
//! [`fleet`] is the fleet-server client: [`fleet::FleetLink::spawn`] logs in and polls the
//! organisation's sites and drones for the app.
//!
//! [`fleet_bench`] is the load tool behind `aviary bench fleet`: simulated drones publishing
//! through the broker to a running fleet server, measured from outside (ingest counters,
//! mission WebSocket, REST reads).
//!
//! [`tiles`] holds map tiles: URL-template sources, area downloads into stored sets on the
//! `aviary-tile-download` thread, and the map's disk-first tile loader on `aviary-tiles`.
//!
//! [`mav`] holds the `MAVLink` ground-station side: [`mav::spawn`] gives a [`mav::LinkHandle`]
//! and [`mav::LinkEvents`]. It depends on `aviary-core` only among Aviary crates; never on
//! `aviary-sim` (which it uses as a dev-dependency for loopback tests) nor on the app.

pub mod fleet;
pub mod fleet_bench;
pub mod mav;
pub mod mqtt;
pub mod tiles;
pub mod weather;
