//! `scale-lab`: section 2's reference server, measured (memory per connection,
//! broadcast latency, fan-out, connect rate) and the walkthrough's figures.

/// With `--features mimalloc`, the binary (server and lab alike) allocates with
/// mimalloc; the library never chooses an allocator for its users. Either way the
/// allocator is wrapped in `heap::Counting`, which counts nothing unless the
/// hidden `heap-serve` command turns it on (one relaxed load per call otherwise).
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: scale_lab::heap::Counting<mimalloc::MiMalloc> =
    scale_lab::heap::Counting(mimalloc::MiMalloc);
#[cfg(not(feature = "mimalloc"))]
#[global_allocator]
static GLOBAL: scale_lab::heap::Counting<std::alloc::System> =
    scale_lab::heap::Counting(std::alloc::System);

use channels::SocketConfig;
use clap::{Parser, Subcommand};
use scale_lab::lab::WsFlags;
use scale_lab::scale;
use section2_reference::serve::ServeArgs;

#[derive(Parser)]
#[command(
    version,
    about = "Section 2's scale lab: the reference server, measured"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The lab's commands; each scenario prints a summary, writes its figures to
/// `target/figures/<scenario>.json` and, with `--json`, prints them as its last line.
#[derive(Subcommand)]
enum Command {
    /// Serve section 2's reference app: the server under test of `measure-idle`,
    /// `idle` and `connect` (started as a child process).
    Serve(ServeArgs),
    /// Regenerate a walkthrough's measured figures (solutions/section2/part1.md or
    /// part2.md, between its `experiment:` markers); loopback only, about a minute.
    Experiment {
        /// Which walkthrough.
        #[arg(value_enum)]
        part: scale_lab::experiment::Part,
    },
    /// Measure the server's memory per idle joined connection (starts its own server).
    MeasureIdle {
        /// How many idle connections to open (each needs a file descriptor per side).
        #[arg(long, default_value_t = 10_000)]
        connections: usize,
        /// The topic each connection joins.
        #[arg(long, default_value = "ping")]
        topic: String,
        /// The server's WebSocket read buffer per connection, in bytes.
        #[arg(long, default_value_t = SocketConfig::default().read_buffer_size)]
        read_buffer: usize,
    },
    /// Idle joined connections in steps up to 19,000: RSS and kernel memory per connection.
    Idle {
        /// The steps (connections held open at once), growing; default: the full or
        /// quick ladder up to 19,000.
        #[arg(long, value_delimiter = ',')]
        steps: Vec<usize>,
        /// The server's WebSocket buffers and limits per connection.
        #[command(flatten)]
        ws: WsFlags,
        /// A shorter run.
        #[arg(long)]
        quick: bool,
        /// Print the result as one JSON line last.
        #[arg(long)]
        json: bool,
    },
    /// Connect+join rate with open-loop arrivals, ramped until not sustained.
    Connect {
        /// Arrival rates to try, per second, in order; default: the full or quick ramp.
        #[arg(long, value_delimiter = ',')]
        rates: Vec<f64>,
        /// Seconds each rate runs (default: 3, or 2 with --quick).
        #[arg(long)]
        secs: Option<f64>,
        /// A shorter run.
        #[arg(long)]
        quick: bool,
        /// Run the ramp again against a raw tokio-tungstenite server (the baseline).
        #[arg(long)]
        with_raw: bool,
        /// Print the result as one JSON line last.
        #[arg(long)]
        json: bool,
    },
    /// Scenario 2: one message to N subscribers, publish-to-last-receive latency.
    Broadcast(scale_lab::scale::broadcast::BroadcastArgs),
    /// Scenario 3: sustained fan-out, ours beside a raw tokio-tungstenite server.
    Fanout(scale_lab::scale::fanout::FanoutArgs),
    /// `serve` with its live heap counted by allocation size: a line `heap` on stdin
    /// is answered with `heap <JSON>` on stdout (the experiment's heap profile).
    #[command(hide = true)]
    HeapServe(ServeArgs),
    /// The server child the broadcast scenarios drive (commands on stdin).
    #[command(hide = true)]
    Server {
        /// Which server.
        #[arg(long, value_enum)]
        kind: scale_lab::scale::server::Kind,
        /// Message size on the wire, in bytes.
        #[arg(long, default_value_t = 200)]
        size: usize,
        /// The WebSocket's buffers and limits per connection.
        #[command(flatten)]
        ws: WsFlags,
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
        Command::Serve(args) => {
            section2_reference::serve::serve(
                section2_reference::reference_routes(),
                args,
                "reference",
            )
            .await?
        }
        Command::MeasureIdle {
            connections,
            topic,
            read_buffer,
        } => {
            let m = scale_lab::lab::measure_idle(connections, &topic, read_buffer).await?;
            scale_lab::lab::print(&m, &topic);
        }
        Command::HeapServe(args) => {
            scale_lab::heap::enable();
            tokio::spawn(scale_lab::heap::answer_on_stdin());
            section2_reference::serve::serve(
                section2_reference::reference_routes(),
                args,
                "reference",
            )
            .await?
        }
        Command::Experiment { part } => scale_lab::experiment::run(part).await?,
        Command::Idle {
            steps,
            ws,
            quick,
            json,
        } => {
            let steps = if steps.is_empty() {
                scale::idle::steps(quick)
            } else {
                steps
            };
            let result = scale::idle::run(&steps, &ws.apply(SocketConfig::default())).await?;
            scale::idle::print(&result);
            result.finish(json)?;
        }
        Command::Connect {
            rates,
            secs,
            quick,
            with_raw,
            json,
        } => {
            let (default_rates, each) = scale::connect::ramp(quick);
            let rates = if rates.is_empty() {
                default_rates
            } else {
                rates
            };
            let each = secs.map_or(each, std::time::Duration::from_secs_f64);
            let result =
                scale::connect::run(&rates, each, &SocketConfig::default(), with_raw).await?;
            scale::connect::print(&result);
            result.finish(json)?;
        }
        Command::Broadcast(args) => scale::broadcast::run(args).await?,
        Command::Fanout(args) => scale::fanout::run(args).await?,
        Command::Server { kind, size, ws } => {
            scale::server::run_child(kind, ws.apply(SocketConfig::default()), size).await?
        }
    }
    Ok(())
}
