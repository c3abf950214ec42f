//! `aviary-planner` owns survey planning: reading survey areas (GeoJSON, KML/KMZ, ESRI
//! Shapefile) and validating them, the local metric frame ([`frame::LocalFrame`], transverse
//! Mercator around the area), camera math ([`camera::Camera`]), the flight patterns
//! (lawnmower with automatic angle, crosshatch, perimeter, spiral, expanding square), mission
//! estimates and sorties ([`Estimate`], [`Sortie`]), splitting a survey among drones, and the
//! plan file formats (QGroundControl `.plan`, `QGC WPL 110`, KML, GeoJSON, CSV), and terrain:
//! elevation lookups over SRTM, Terrarium and GeoTIFF data and missions that follow the ground
//! ([`terrain::follow_terrain`]).
//!
//! Principal entry points: [`Area::new`] (validation), [`plan_survey`], [`plan_split`],
//! [`formats::read_area_file`] and [`formats::write_plan_file`]. It speaks the domain types of
//! `aviary-core` (`LatLon`, `SurveyArea`, `Waypoint`) and depends on no other workspace crate.
//!
//! The planner is pure and deterministic: the same input gives the same bytes out. It does no
//! I/O besides reading and writing those file formats — no network, no database, no clock.
//! Independent parts of one plan (bearing candidates, candidate tours and their flights, a
//! crosshatch's second pass, coverage beside the sortie cuts) run on all cores through the
//! planner's own pool of `aviary-plan-<n>` threads (module `par`), joined before the call
//! returns; the result is the same whatever the number of cores ([`THREADS_ENV`] sets it,
//! `tests/threads.rs` checks it).

#![expect(
    clippy::many_single_char_names,
    reason = "geometry formulas read best with the textbook's one-letter names (a, b, p, q, u, v)"
)]
#![expect(
    clippy::doc_markdown,
    reason = "format and product names (GeoJSON, QGroundControl, MAVLink) are prose here, not code"
)]

pub mod area;
pub mod camera;
mod corners;
pub mod error;
pub mod estimate;
pub mod formats;
pub mod frame;
mod par;
pub use par::{THREADS_ENV, start as start_workers};
pub mod params;
mod patterns;
pub mod plan;
mod sweep;
pub mod terrain;
mod tour;
pub mod transit;

pub use area::Area;
pub use camera::{BUILTIN_CAMERAS, Camera, NamedCamera, builtin_camera};
pub use error::{PlanError, Result};
pub use estimate::{Estimate, RouteEstimate, Sortie, estimate_route, terrain_extra};
pub use frame::LocalFrame;
pub use params::{
    ARDUCOPTER_MAX_ITEMS, Airframe, Derived, PX4_MAX_ITEMS, Pattern, Spacing, SurveyParams,
};
pub use plan::{Plan, keep_inside, plan_path, plan_split, plan_survey};
pub use transit::NoFlyCrossing;
