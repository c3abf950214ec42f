//! The `MAVLink` side of the ground-station link.
//!
//! - [`address`]: connection strings;
//! - [`codec`]: frames through the `mavlink` crate, malformed-byte accounting, signing;
//! - [`mission`] and [`command`]: I/O-free handshakes (`handle(event) -> actions`);
//! - [`sequence`]: a mission action (start, pause, resume, return, land, abort) as one
//!   I/O-free sequence of those handshakes, answered by one result;
//! - [`terrain`]: answers the autopilot's terrain requests from a DEM, decodes its reports;
//! - [`tlog`]: `.tlog` writer and reader; [`replay`]: a `.tlog` read for replay (positions,
//!   flight modes, arming, no-fix positions left out);
//! - [`driver`]: the runtime thread, sockets, timers and per-vehicle state behind
//!   [`LinkHandle`] and [`LinkEvents`].

pub mod address;
pub mod codec;
pub mod command;
pub mod driver;
pub mod mission;
pub mod replay;
pub mod sequence;
pub mod terrain;
pub mod tlog;

pub use address::{AddressError, LinkAddress};
pub use command::{
    Autopilot, CommandFailure, CommandOutcome, CommandSpec, flight_mode, mode_class,
};
pub use driver::{
    Attitude, EVENT_CAPACITY, LINK_LOST_AFTER, LinkConfig, LinkError, LinkEvent, LinkEvents,
    LinkHandle, LinkStats, MissionOp, PlanState, SERIAL_PEER, SigningKey, VehicleId, VehicleState,
    VehicleType, WakeFn, WindEstimate, spawn,
};
pub use mission::{
    MissionError, MissionItem, MissionTiming, items_from_waypoints, plan_items, upload_items,
};
pub use replay::{ModeChange, ReplayError, ReplayLog, mode_at, parse_replay, read_replay};
pub use sequence::{ActionFailure, ActionKind, FailureCause, MissionRequest};
pub use terrain::{TerrainReport, TerrainSource};
pub use tlog::{TlogReader, TlogRecord, TlogWriter};
