//! `aviary plan` (being built; owned by the plan work).

/// Arguments of `aviary plan`.
#[derive(Debug, clap::Args)]
pub struct PlanArgs {}

pub fn run(_args: PlanArgs) -> anyhow::Result<()> {
    anyhow::bail!("`aviary plan` is being built")
}
