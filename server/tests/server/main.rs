//! Fleet-server tests against the real PostgreSQL and Mosquitto on this machine (see
//! `common`): role × route matrix, token attacks, hostile input, the mission lifecycle with a
//! simulated MQTT drone, two instances sharing the load, audit chain, partitions, alerts, and
//! the desktop fleet client seeing a registered simulated fleet live, restarts and faults.

mod accounts;
mod acl;
mod audit_scope;
mod bench_tool;
mod cluster;
mod common;
mod fleet_client;
mod ingest;
mod isolation;
mod lifecycle;
mod private_broker;
mod restarts;
mod roles;
mod schedules;
mod security;
mod storage;
mod ws_revoke;
