//! `aviary-links`: Every wire: MAVLink, MQTT and fleet-server client, on a runtime of its own.
pub mod mqtt;
