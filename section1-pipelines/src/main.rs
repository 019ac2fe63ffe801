//! `section1-pipelines`: serve the section's app, or load it and measure.

use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use loadgen::{LoadCommand, experiment};
use pipeline::mock_resource::MockResource;
use pipeline::{Drain, OverflowPolicy, PipelineConfig};
use section1_pipelines::app::{self, AppState, Implementation};
use serving::{ServeFlags, Shutdown};
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(
    version,
    about = "Section 1: a slow resource, served serially, fire-and-forget, shed, and through a back-pressured pipeline"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the app: dashboards at /part1 and /part2, exercises at /part1/serial,
    /// /part1/async, /part1/shed and /part2/pipeline.
    Serve {
        /// Run the reference solution instead of your code in src/start/.
        #[arg(long)]
        solution: bool,
        /// Port to listen on; 0 picks a free one and prints it.
        #[arg(long, default_value_t = 4000)]
        port: u16,
        /// Where to listen, and how long to drain on SIGTERM or Ctrl-C.
        #[command(flatten)]
        server: ServeFlags,
        /// How long one use of the mock resource takes, in milliseconds.
        #[arg(long, default_value_t = MockResource::DEFAULT_HOLD.as_millis() as u64)]
        hold_ms: u64,
        /// Part 2: how many events the pipeline's buffer holds.
        #[arg(long, default_value_t = PipelineConfig::DEFAULT_CAPACITY)]
        buffer: usize,
        /// Part 2: what /part2/pipeline does when the buffer is full: wait, reject or drop-oldest.
        #[arg(long, default_value = "reject")]
        policy: OverflowPolicy,
        /// Part 2: what drains the pipeline: consumers:N or pool:N (the pool's size is 10 unless set).
        #[arg(long, default_value = "pool:10")]
        drain: Drain,
    },
    // `load` and `compare`, from the load generator's crate.
    #[command(flatten)]
    Load(LoadCommand),
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
    /// fire-and-forget vs the pipeline, 1/3/10 consumers, 10x overload: solutions/section1/part2.md
    Part2,
    /// two stages of different speed, orders/s by workers per stage (paused clock): solutions/section1/part2.md
    Stages,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        // Logs on stderr: stdout carries what programs read (the address line, tables).
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve {
            solution,
            port,
            server,
            hold_ms,
            buffer,
            policy,
            drain,
        } => {
            let pipeline = PipelineConfig {
                capacity: buffer.max(1),
                policy,
                drain,
                ..PipelineConfig::default()
            };
            serve(solution, port, &server, hold_ms, pipeline).await
        }
        Command::Load(command) => command.run().await,
        Command::Experiment {
            name: ExperimentName::Part1,
        } => experiment::part1(&experiment::walkthrough_dir()).await,
        Command::Experiment {
            name: ExperimentName::Part2,
        } => experiment::part2(&experiment::walkthrough_dir()).await,
        // On a runtime of its own, with a paused clock: off this one's worker threads.
        Command::Experiment {
            name: ExperimentName::Stages,
        } => tokio::task::spawn_blocking(section1_pipelines::experiment::stages).await?,
    }
}

async fn serve(
    solution: bool,
    port: u16,
    server: &ServeFlags,
    hold_ms: u64,
    pipeline: PipelineConfig,
) -> anyhow::Result<()> {
    // Before anything is printed: a SIGTERM sent as soon as the address is known
    // must find its handler installed.
    let shutdown = Shutdown::on_signals(server.drain_timeout)?;
    let implementation = Implementation::from_solution_flag(solution);
    let listener = TcpListener::bind(server.addr(port)).await?;
    let addr = listener.local_addr()?;
    let state = AppState::with_pipeline(
        MockResource::with_hold(Duration::from_millis(hold_ms)),
        implementation,
        pipeline,
    )
    .closing_on(shutdown.token());
    println!(
        "serving the {} implementation on http://{addr} (dashboards: http://{addr}/part1 and /part2; \
         pipeline: {} buffer {} policy {}; Ctrl-C to stop)",
        implementation.name(),
        pipeline.drain,
        pipeline.capacity,
        pipeline.policy.name()
    );
    // Stops accepting at the signal and lets the requests in flight (a 500 ms hold
    // of the resource, a long poll of the dashboard) finish, within the drain deadline.
    serving::serve(listener, app::router(state), &shutdown).await?;
    tracing::info!("stopped");
    Ok(())
}
