//! `aviary`: with no arguments opens the desktop app; subcommands run headless tools
//! (`plan`, `sim`, `bench`, `report`).

mod cli;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aviary: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
