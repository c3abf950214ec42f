//! `aviary bench` (being built).

/// Subcommands of `aviary bench`.
#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Placeholder until the bench work lands.
    Pending,
}

pub fn run(_cmd: BenchCommand) -> anyhow::Result<()> {
    anyhow::bail!("`aviary bench` is being built")
}
