//! `aviary-app`: the Aviary desktop application and the `aviary` command line.
//!
//! The desktop app lives in [`gui`]: an eframe/egui window whose `logic` drains link, store and
//! background-job events into [`gui::state::AppState`] on a time budget, and whose `ui` draws
//! from that state and emits [`gui::command::Command`]s, handled after the frame in one place
//! ([`gui::logic`]). UI code never calls the store or a link.
//!
//! The app may depend on every workspace crate (core, planner, links, sim, reports, assets);
//! no other crate may depend on it.

pub mod dem;
pub mod flight;
pub mod gui;
pub mod sim_mqtt;
