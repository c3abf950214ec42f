//! `aviary report` (being built).

/// Subcommands of `aviary report`.
#[derive(Debug, clap::Subcommand)]
pub enum ReportCommand {
    /// Placeholder until the report work lands.
    Pending,
}

pub fn run(_cmd: ReportCommand) -> anyhow::Result<()> {
    anyhow::bail!("`aviary report` is being built")
}
