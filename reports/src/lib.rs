//! `aviary-reports` owns what Aviary says about missions after the fact: the mission report
//! computed from stored telemetry ([`mission::MissionReport`], [`mission::analyze`]), site
//! and organisation summaries over a period ([`summary::OrgSummary`], [`summary::summarize`])
//! with the mission history and the scheduled runs that were missed ([`missed`]), the
//! writers that turn them into CSV ([`csvout`]) and PDF ([`pdf`]) on any `std::io::Write`,
//! and [`output`], which puts the finished files on disk all or nothing (temporary file in
//! the target folder, fsync, rename).
//!
//! Principal types: [`MissionReport`], [`DataIssue`], [`Verdict`], [`MissionRecord`],
//! [`OrgSummary`], [`ReportError`].
//!
//! It reads through `aviary-store`'s [`Store`](aviary_store::Store) and may use
//! `aviary-planner`; it must not depend on `links`, `sim`, `app` or `server`, nor on egui,
//! a network client, an async runtime or the database driver directly. Reports never fail
//! on bad telemetry: gaps, disorder, duplicates, missing data and missions still in progress
//! are stated in the report.

pub mod coverage;
pub mod csvout;
pub mod error;
pub mod events;
pub mod format;
pub mod missed;
pub mod mission;
pub mod output;
pub mod pdf;
pub mod planned;
pub mod summary;
pub mod terrain;
pub mod testdata;

pub use error::ReportError;
pub use mission::{
    DataIssue, EventKind, MissionReport, ReportContext, ReportOptions, Verdict, analyze,
    load_mission_report,
};
pub use output::OutputFile;
pub use summary::{
    Grouping, HistoryFilter, MaintenancePolicy, MissionRecord, OrgSummary, summarize,
};
