//! Command-line front end. Each subcommand lives in its own module with its clap `Args`
//! and a `run` function; this module only dispatches. With no subcommand, the desktop app
//! opens.

mod bench;
mod plan;
mod report;
mod sim;

use clap::{Parser, Subcommand};

/// Aviary: mission control for drone fleets.
#[derive(Debug, Parser)]
#[command(name = "aviary", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Plan a survey mission from an area file and write a plan file.
    Plan(Box<plan::PlanArgs>),
    /// Run simulated drones headless.
    Sim(sim::SimArgs),
    /// Benchmarks that need real sockets (live telemetry, fleet server).
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Mission and organisation reports (PDF, CSV).
    #[command(subcommand)]
    Report(report::ReportCommand),
}

/// Runs the parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        None => aviary_app::gui::run().map_err(anyhow::Error::from),
        Some(Command::Plan(a)) => plan::run(*a),
        Some(Command::Sim(a)) => sim::run(a),
        Some(Command::Bench(a)) => bench::run(a),
        Some(Command::Report(a)) => report::run(a),
    }
}
