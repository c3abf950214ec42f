//! `aviary-sim`: Simulated ArduCopter-like vehicles behind real MAVLink sockets.
pub mod mqtt_drone;
