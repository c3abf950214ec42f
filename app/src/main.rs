//! `aviary`: with no arguments opens the desktop app; subcommands run headless tools
//! (`plan`, `sim`, `fly`, `bench`, `report`).

mod cli;

use clap::Parser;

/// mimalloc keeps freed pages for reuse: egui builds its vertex buffers anew every frame, and
/// with the system allocator a 1,000-drone frame spent a third of its time in page faults.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,walkers=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("aviary: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
