//! `loadgen`: the load generator on its own, for any server on this machine.
//!
//! Section 1's binary offers the same `load` and `compare` (plus `experiment`, which
//! needs that binary's `serve`); this one needs no section to build.

use clap::Parser;
use loadgen::LoadCommand;

#[derive(Parser)]
#[command(
    version,
    about = "The course's load generator: load one URL, or compare several"
)]
struct Cli {
    #[command(subcommand)]
    command: LoadCommand,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    Cli::parse().command.run().await
}
