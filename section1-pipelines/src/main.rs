//! `section1-pipelines`: serve the section's app, or load it and measure.

use std::time::Duration;

use clap::{Parser, Subcommand, ValueEnum};
use loadgen::{LoadCommand, experiment};
use pipeline::mock_resource::MockResource;
use pipeline::{Drain, OverflowPolicy, PipelineConfig};
use section1_pipelines::app::{self, AppState, Implementation};
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
        /// Port on 127.0.0.1; 0 picks a free one and prints it.
        #[arg(long, default_value_t = 4000)]
        port: u16,
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
            serve(solution, port, hold_ms, pipeline).await
        }
        Command::Load(command) => command.run().await,
        Command::Experiment {
            name: ExperimentName::Part1,
        } => experiment::part1(&experiment::walkthrough_dir()).await,
        Command::Experiment {
            name: ExperimentName::Part2,
        } => experiment::part2(&experiment::walkthrough_dir()).await,
    }
}

async fn serve(
    solution: bool,
    port: u16,
    hold_ms: u64,
    pipeline: PipelineConfig,
) -> anyhow::Result<()> {
    let implementation = Implementation::from_solution_flag(solution);
    let listener = TcpListener::bind(("127.0.0.1", port)).await?;
    let addr = listener.local_addr()?;
    let state = AppState::with_pipeline(
        MockResource::with_hold(Duration::from_millis(hold_ms)),
        implementation,
        pipeline,
    );
    println!(
        "serving the {} implementation on http://{addr} (dashboards: http://{addr}/part1 and /part2; \
         pipeline: {} buffer {} policy {}; Ctrl-C to stop)",
        implementation.name(),
        pipeline.drain,
        pipeline.capacity,
        pipeline.policy.name()
    );
    app::serve(listener, state, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await?;
    Ok(())
}
