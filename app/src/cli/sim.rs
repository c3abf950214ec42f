//! `aviary sim` (being built; owned by the sim work).

/// Arguments of `aviary sim`.
#[derive(Debug, clap::Args)]
pub struct SimArgs {}

pub fn run(_args: SimArgs) -> anyhow::Result<()> {
    anyhow::bail!("`aviary sim` is being built")
}
