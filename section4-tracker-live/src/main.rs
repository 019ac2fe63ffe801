//! `section4-tracker-live`: serve the presence channels on one or more nodes, and
//! measure what the walkthroughs quote (`experiment part1`, `experiment part2`).

mod experiment;

use std::sync::Arc;

use activity::ActivityStore;
use channels::endpoint::listen;
use channels::token::MIN_SECRET_KEY_BASE_LEN;
use channels::{CheckOrigin, LocalPubSub, PubSub, Server};
use clap::{Parser, Subcommand};
use live::feed::FeedDeps;
use live::presence::PresenceDeps;
use section3_reference::part2::e06_redis_pubsub::RedisPubSub;
use section4_tracker_live::Implementation;
use section4_tracker_live::app::PresenceNode;
use section4_tracker_live::live_app;
use serving::secret::LIVE_SECRET_ENV;
use serving::{Health, OriginFlags, Secret, ServeFlags, Shutdown};
use tracker::TrackerConfig;

#[derive(Parser)]
#[command(version, about = "Section 4: presence tracking and live views")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve `room:*` at /socket/websocket and the live pages (/feed, /feed/async,
    /// /presence?name=Ada); with --nodes 2, two nodes in one process (their trackers
    /// gossip over a shared pubsub, their feeds share one store), on two ports.
    Serve {
        /// Run the reference solution instead of your code in src/start/.
        #[arg(long)]
        solution: bool,
        /// Port of the first node (the next nodes take the next ports); 0 picks free
        /// ones and prints them.
        #[arg(long, default_value_t = 4000)]
        port: u16,
        /// Where to listen, and how long to drain on SIGTERM or Ctrl-C.
        #[command(flatten)]
        server: ServeFlags,
        /// Which web pages may open a socket, the channels' and the live pages'
        /// (`--allowed-origin`, repeatable).
        #[command(flatten)]
        origins: OriginFlags,
        /// How many nodes to start (1 to 4).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=4))]
        nodes: u8,
        /// Replicate through the Redis at this URL (`redis://127.0.0.1:6379`) with
        /// section 3's RedisPubSub, so nodes in several processes form one cluster.
        #[arg(long, env = "COURSE_REDIS_URL", hide_env_values = true)]
        redis: Option<String>,
        /// The feed's activity store: a SQLite file or a postgres:// URL (shared by
        /// the nodes of the process; processes may share a Postgres one).
        #[arg(
            long,
            env = "COURSE_DATABASE_URL",
            hide_env_values = true,
            default_value = live_app::DEMO_STORE_URL
        )]
        database: String,
        /// Name of the first node (the next ones are node1@..., node2@...); processes
        /// sharing a Redis need different names.
        #[arg(long, default_value = "app@127.0.0.1")]
        name: String,
    },
    /// Measurements that print a table for the walkthrough.
    Experiment {
        #[command(subcommand)]
        experiment: Experiment,
    },
}

#[derive(Subcommand)]
enum Experiment {
    /// Regenerate the figures of solutions/section4/part1.md (the tracker converging,
    /// on the hub and through Redis; the gate's savings; the tracker's costs), between
    /// its `experiment:part1` markers. About half a minute, loopback only.
    Part1,
    /// Regenerate the figures of solutions/section4/part2.md (a live view's bytes and
    /// render costs), between its `experiment:part2` markers. A few seconds.
    Part2,
    /// s4.e4: resource calls made and skipped by the tracker-gated pipeline, per share
    /// of watched topics (runs on tokio's paused clock: seconds of real time).
    Gated {
        /// Run the reference gate instead of yours.
        #[arg(long)]
        solution: bool,
        /// Sensor topics the readings go to.
        #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=100_000))]
        topics: u32,
        /// Percentage of topics watched; without it, 1, 10, 50 and 100.
        #[arg(long, value_parser = clap::value_parser!(u32).range(0..=100))]
        utilization: Option<u32>,
        /// Readings per topic.
        #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        per_topic: u32,
        /// Readings in flight at once (the worker pool's size).
        #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..=1000))]
        workers: u64,
    },
}

/// Runs the gated-pipeline experiment on a current-thread runtime with paused time.
fn gated_experiment(
    solution: bool,
    topics: u32,
    utilization: Option<u32>,
    per_topic: u32,
    workers: usize,
) -> anyhow::Result<()> {
    use section4_tracker_live::gated::{Handler, savings, savings_table};
    let handler = Handler::from(Implementation::from_solution_flag(solution));
    // Untouched start code panics on every reading: show the first panic, not 4,000.
    let first_panic_only = std::sync::Once::new();
    let report = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        first_panic_only.call_once(|| report(info))
    }));
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .start_paused(true)
        .build()?;
    let levels = utilization.map_or_else(|| vec![1, 10, 50, 100], |u| vec![u]);
    let mut rows = Vec::new();
    for level in levels {
        rows.push(runtime.block_on(savings(handler, topics, level, per_topic, workers))?);
    }
    print!("{}", savings_table(&rows, per_topic, workers));
    Ok(())
}

/// What a node's `/readyz` checks: the activity store answers and, with `--redis`,
/// the node's subscription is up (cut from Redis, it misses the other nodes'
/// presences and broadcasts).
fn readiness(store: &ActivityStore, redis: Option<Arc<RedisPubSub>>) -> Health {
    let store = store.clone();
    let health = Health::new().check("database", move || {
        let store = store.clone();
        async move { store.ping().await.map_err(|e| e.to_string()) }
    });
    match redis {
        None => health,
        Some(pubsub) => health.check("redis", move || {
            let linked = pubsub.link().is_subscribed();
            async move {
                if linked {
                    Ok(())
                } else {
                    Err("the Redis subscription is lost; reconnecting".to_owned())
                }
            }
        }),
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    // Each builds the runtimes it needs (paused and real time).
    match cli.command {
        Command::Experiment {
            experiment: Experiment::Part1,
        } => return experiment::run(experiment::Part::Part1),
        Command::Experiment {
            experiment: Experiment::Part2,
        } => return experiment::run(experiment::Part::Part2),
        _ => {}
    }
    if let Command::Experiment {
        experiment:
            Experiment::Gated {
                solution,
                topics,
                utilization,
                per_topic,
                workers,
            },
    } = cli.command
    {
        // Its own runtime: paused time needs a current-thread one.
        return gated_experiment(solution, topics, utilization, per_topic, workers as usize);
    }
    serve(cli)
}

#[tokio::main]
async fn serve(cli: Cli) -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        // Logs on stderr: stdout carries the address lines a parent process reads.
        .with_writer(std::io::stderr)
        .init();
    match cli.command {
        Command::Serve {
            solution,
            port,
            server: flags,
            origins,
            nodes,
            redis,
            name: first_name,
            database,
        } => {
            // First: a SIGTERM that comes as soon as an address is printed must be handled.
            let shutdown = Shutdown::on_signals(flags.drain_timeout)?;
            // One secret for every node: a page rendered by one node may connect to another.
            let live_secret = Secret::from_env(LIVE_SECRET_ENV);
            anyhow::ensure!(
                live_secret.expose().len() >= MIN_SECRET_KEY_BASE_LEN,
                "{LIVE_SECRET_ENV} must be at least {MIN_SECRET_KEY_BASE_LEN} bytes (use 64 random bytes)"
            );
            let check_origin = CheckOrigin::from_flags(&origins.allowed_origins)?;
            let implementation = Implementation::from_solution_flag(solution);
            let local: Arc<dyn PubSub> = Arc::new(LocalPubSub::named("cluster"));
            let store = live_app::open_demo_store(&database).await?;
            let mut running = Vec::new();
            for index in 0..nodes {
                let name = if index == 0 {
                    first_name.clone()
                } else {
                    format!("node{index}@127.0.0.1")
                };
                // One Redis connection per node, as if each were its own process.
                let redis_pubsub = match &redis {
                    None => None,
                    Some(url) => Some(Arc::new(RedisPubSub::connect(url, &name).await?)),
                };
                let cluster: Arc<dyn PubSub> = match &redis_pubsub {
                    None => local.clone(),
                    Some(link) => link.clone(),
                };
                let node = PresenceNode::start_with_origins(
                    implementation,
                    cluster.clone(),
                    &name,
                    TrackerConfig::default(),
                    check_origin.clone(),
                )?;
                let node_port = if port == 0 {
                    0
                } else {
                    port + u16::from(index)
                };
                let pages = live_app::live_pages(
                    implementation,
                    FeedDeps {
                        store: store.clone(),
                        pubsub: cluster.clone(),
                    },
                    PresenceDeps {
                        tracker: node.tracker.clone(),
                        pubsub: node.local.clone(),
                    },
                    live_secret.expose(),
                    check_origin.clone(),
                );
                if !pages.assets_installed() {
                    tracing::warn!(
                        "the live pages will stay static until the JavaScript clients are installed: npm ci --prefix section4-tracker-live/tests/live"
                    );
                }
                let health = readiness(&store, redis_pubsub.clone()).draining(&shutdown);
                let routes = node
                    .endpoint
                    .routes("/socket")
                    .merge(pages.router())
                    .merge(health.routes());
                let server = Server::spawn(listen(flags.addr(node_port))?, routes)?;
                println!(
                    "{name}: serving the {} implementation, ws://{addr}/socket/websocket?vsn=2.0.0, live pages at http://{addr}/feed and http://{addr}/presence?name=Ada",
                    implementation.name(),
                    addr = server.addr()
                );
                running.push((node, pages, server));
            }
            println!(
                "join room:<name> with {{\"user_id\": \"1\", \"name\": \"Alice\"}}; handle_diff lines are logged (Ctrl-C to stop)"
            );
            shutdown.triggered().await;
            // The goodbye first: each node removes its own presences from every peer
            // (the tracker's graceful permdown, flushed to Redis), so the other nodes
            // show these users leaving now, not after the down period.
            for (node, _, _) in &running {
                shutdown
                    .drain("tracker goodbye", node.tracker.graceful_permdown())
                    .await;
            }
            // Then every socket (channels and live views) writes what it has queued and
            // gets 1001 "going away"; each server stops accepting and waits, until the
            // drain deadline, for its connections to end.
            for (node, pages, _) in &running {
                node.endpoint.shutdown();
                pages.endpoint().shutdown();
            }
            for (_, _, server) in running {
                shutdown.drain("connections", server.shutdown()).await;
            }
            store.close().await;
            tracing::info!("stopped");
            Ok(())
        }
        Command::Experiment { .. } => unreachable!("handled in main"),
    }
}
