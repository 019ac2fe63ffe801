//! `section1-pipelines`: serve the section's app, or load it and measure.

use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use section1_pipelines::app::{self, AppState, Implementation};
use section1_pipelines::load::args::LoadArgs;
use section1_pipelines::load::{commands, experiment};
use section1_pipelines::mock_resource::MockResource;
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(
    version,
    about = "Section 1: a slow resource, served serially, fire-and-forget, and shed"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the app: dashboards at /part1, exercises at /part1/serial, /part1/async, /part1/shed.
    Serve {
        /// Run the reference solution instead of your code in src/start/.
        #[arg(long)]
        solution: bool,
        /// Port on 127.0.0.1; 0 picks a free one and prints it.
        #[arg(long, default_value_t = 4000)]
        port: u16,
        /// How long one use of the mock resource takes, in milliseconds.
        #[arg(long, default_value_t = MockResource::DEFAULT_HOLD.as_millis() as u64)]
        hold_ms: u64,
    },
    /// Load one URL and report latency, throughput and the server's /stats (the course's `ab`).
    ///
    /// Only this machine may be loaded (127.0.0.0/8, ::1, localhost).
    Load {
        /// The URL to load, e.g. http://127.0.0.1:4000/part1/serial
        url: String,
        #[command(flatten)]
        args: LoadArgs,
    },
    /// Run the same load against several URLs in turn; print each report and a summary table.
    Compare {
        /// The URLs, loaded one after the other.
        #[arg(required = true, num_args = 1..)]
        urls: Vec<String>,
        #[command(flatten)]
        args: LoadArgs,
    },
    /// Regenerate a walkthrough's measured figures (starts its own servers).
    Experiment {
        /// Which experiment to run.
        name: ExperimentName,
    },
}

/// The experiments `experiment` knows.
#[derive(Clone, Copy, ValueEnum)]
enum ExperimentName {
    /// serial vs fire-and-forget at 50 connections: solutions/section1/part1.md
    Part1,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();
    match Cli::parse().command {
        Command::Serve {
            solution,
            port,
            hold_ms,
        } => serve(solution, port, hold_ms).await,
        Command::Load { url, args } => commands::load(&url, &args).await.map(drop),
        Command::Compare { urls, args } => commands::compare(&urls, &args).await.map(drop),
        Command::Experiment {
            name: ExperimentName::Part1,
        } => experiment::part1(&experiment::walkthrough_dir()).await,
    }
}

async fn serve(solution: bool, port: u16, hold_ms: u64) -> anyhow::Result<()> {
    let implementation = if solution {
        Implementation::Solution
    } else {
        Implementation::Start
    };
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let state = AppState::new(
        MockResource::with_hold(Duration::from_millis(hold_ms)),
        implementation,
    );
    println!(
        "serving the {} implementation on http://{addr} (dashboard: http://{addr}/part1, Ctrl-C to stop)",
        implementation.name()
    );
    app::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
