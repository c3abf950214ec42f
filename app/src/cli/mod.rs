//! Command-line front end. Each subcommand lives in its own module with its clap `Args`
//! and a `run` function; this module only dispatches. With no subcommand, the desktop app
//! opens.

mod bench;
mod bench_live;
mod fly;
mod fly_out;
mod fly_setup;
mod plan;
mod report;
mod sim;
mod terrain;
mod weather;

use clap::{Parser, Subcommand};

/// Aviary: mission control for drone fleets.
#[derive(Debug, Parser)]
#[command(
    name = "aviary",
    version,
    about,
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Without a subcommand: a file to open in the window at start (a survey area, a `.plan`
    /// or WPL mission, a `.tlog`), as a double-click in the file manager passes it.
    #[arg(value_name = "FILE")]
    open: Option<std::path::PathBuf>,
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
    /// Fly one mission headless: checks, upload, start, every transition and alert as it
    /// happens; exits 0 only when the mission completed and the vehicle landed and disarmed.
    Fly(Box<fly::FlyArgs>),
    /// Mission and organisation reports (PDF, CSV).
    #[command(subcommand)]
    Report(report::ReportCommand),
    /// Weather go/no-go for a place and drone model: verdict, reasons with value, limit and
    /// unit, and the data's age.
    Weather(weather::WeatherArgs),
}

/// Runs the parsed command line and returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<std::process::ExitCode> {
    let done = |r: anyhow::Result<()>| r.map(|()| std::process::ExitCode::SUCCESS);
    match cli.command {
        None => done(aviary_app::gui::run(cli.open).map_err(anyhow::Error::from)),
        Some(Command::Plan(a)) => done(plan::run(*a)),
        Some(Command::Sim(a)) => done(sim::run(a)),
        Some(Command::Bench(a)) => done(bench::run(a)),
        Some(Command::Fly(a)) => Ok(fly::run(*a)),
        Some(Command::Report(a)) => done(report::run(a)),
        Some(Command::Weather(a)) => done(weather::run(a)),
    }
}
