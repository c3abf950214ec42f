//! `aviary-core` owns Aviary's domain: organisations, sites, drones, missions, waypoints,
//! telemetry samples, users with roles, audit events; the mission lifecycle state machine
//! ([`mission::MissionLifecycle`]); the mission supervisor fed by vehicle facts
//! ([`supervisor`]); the one mission item list; the injected [`clock::Clock`]; and the wire
//! types shared by links and server. The local SQLite store lives in `aviary-store`.
//!
//! Principal types: [`geo::LatLon`], [`model::Drone`], [`model::Mission`],
//! [`model::TelemetrySample`], [`mission::MissionStatus`], [`auth::Role`].
//!
//! This crate depends on no other workspace crate, and on nothing that draws, talks to a
//! network, touches a file or runs an async runtime: it does no I/O. Everything is pure and
//! takes time from a [`clock::Clock`], never from the system clock directly.

pub mod auth;
pub mod clock;
pub mod geo;
pub mod mission;
pub mod mission_items;
pub mod model;
pub mod preflight;
pub mod samples;
pub mod schedule;
pub mod supervisor;
pub mod terrain_grid;
pub mod vehicle;
pub mod weather;
pub mod weather_feed;
pub mod weather_log;
pub mod wire;

pub use clock::{Clock, ManualClock, SystemClock};
pub use geo::LatLon;
pub use mission::{MissionEvent, MissionLifecycle, MissionStatus, TransitionError};
pub use model::*;
