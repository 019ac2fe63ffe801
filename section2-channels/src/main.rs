//! `section2-channels`: serve the section's channels over WebSocket.

/// With `--features mimalloc`, the binary (server and lab alike) allocates with
/// mimalloc; the library never chooses an allocator for its users.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use clap::{Parser, Subcommand};
use section2_channels::SocketConfig;
use section2_channels::activity::{ActivityStore, DEFAULT_URL, seed_store};
use section2_channels::app::{App, Implementation};
use section2_channels::lab::WsFlags;

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
        /// Port on 127.0.0.1; 0 picks a free one and prints it.
        #[arg(long, default_value_t = 4000)]
        port: u16,
        /// The node name channels report (the `from_node` of s2.e3).
        #[arg(long, default_value = "app@127.0.0.1")]
        node: String,
        /// The WebSocket's buffers and limits per connection.
        #[command(flatten)]
        ws: WsFlags,
        /// The activity database: a SQLite file (the default) or a postgres:// URL.
        #[arg(long, default_value = DEFAULT_URL)]
        database: String,
        /// Generated activities to add when the feed is empty.
        #[arg(long, default_value_t = 50)]
        seed: usize,
    },
    /// Regenerate the walkthrough's measured figures (solutions/section2/part1.md).
    Experiment,
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
    /// The scale lab's scenarios (`cargo xtask bench` runs them all).
    #[command(subcommand)]
    Scale(Scale),
}

/// One scenario of the scale lab; each prints a summary and, with `--json`, one
/// JSON object as its last line.
#[derive(Subcommand)]
enum Scale {
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
    Broadcast(section2_channels::scale::broadcast::BroadcastArgs),
    /// Scenario 3: sustained fan-out, ours beside a raw tokio-tungstenite server.
    Fanout(section2_channels::scale::fanout::FanoutArgs),
    /// The server child the broadcast scenarios drive (commands on stdin).
    #[command(hide = true)]
    Server {
        /// Which server.
        #[arg(long, value_enum)]
        kind: section2_channels::scale::server::Kind,
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
        .init();
    match Cli::parse().command {
        Command::Serve {
            solution,
            port,
            node,
            ws,
            database,
            seed,
        } => {
            let implementation = if solution {
                Implementation::Solution
            } else {
                Implementation::Start
            };
            let config = ws.apply(SocketConfig::default());
            let store = ActivityStore::open(&database).await?;
            if seed > 0 && store.count().await? == 0 {
                seed_store(&store, seed, 2026).await?;
                println!("seeded the empty feed with {seed} generated activities");
            }
            let app = App::with_config(implementation, &node, store, config);
            let server = app.serve(port).await?;
            println!(
                "serving the {} implementation on http://{} (socket: ws://{}/socket/websocket?vsn=2.0.0, Ctrl-C to stop)",
                implementation.name(),
                server.addr(),
                server.addr()
            );
            tokio::signal::ctrl_c().await?;
            app.endpoint.shutdown();
            app.auth_endpoint.shutdown();
            server.stop().await;
            Ok(())
        }
        Command::MeasureIdle {
            connections,
            topic,
            read_buffer,
        } => {
            let m = section2_channels::lab::measure_idle(connections, &topic, read_buffer).await?;
            section2_channels::lab::print(&m, &topic);
            Ok(())
        }
        Command::Scale(scale) => run_scale(scale).await,
        Command::Experiment => {
            section2_channels::experiment::run(&section2_channels::experiment::walkthrough_dir())
                .await
        }
    }
}

async fn run_scale(scale: Scale) -> anyhow::Result<()> {
    use section2_channels::scale;
    match scale {
        Scale::Idle {
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
            result.finish(json);
        }
        Scale::Connect {
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
            result.finish(json);
        }
        Scale::Broadcast(args) => scale::broadcast::run(args).await?,
        Scale::Fanout(args) => scale::fanout::run(args).await?,
        Scale::Server { kind, size, ws } => {
            scale::server::run_child(kind, ws.apply(SocketConfig::default()), size).await?
        }
    }
    Ok(())
}
