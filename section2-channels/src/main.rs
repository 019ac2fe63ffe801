//! `section2-channels`: serve the section's channels over WebSocket.
//!
//! The scale lab (memory per connection, broadcast, fan-out, connect rate) and the
//! walkthroughs' experiments measure the reference: `cargo run -p scale-lab --release
//! -- experiment part1` (or `part2`) rewrites the figures of solutions/section2/part1.md
//! (or part2.md).

use clap::{Parser, Subcommand};
use section2_channels::app::{self, Implementation};
use section2_reference::serve::{ServeArgs, serve};

#[derive(Parser)]
#[command(
    version,
    about = "Section 2: Phoenix-compatible channels over WebSocket"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the socket at /socket/websocket and the demo page at /.
    Serve {
        /// Run the reference solution instead of your code in src/start/.
        #[arg(long)]
        solution: bool,
        #[command(flatten)]
        args: ServeArgs,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        // Logs on stderr: stdout's first line carries the address a parent process reads.
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve { solution, args } => {
            let implementation = Implementation::from_solution_flag(solution);
            serve(app::routes(implementation), args, implementation.name()).await
        }
    }
}
