//! `section3-production`: a measured node, a dev StatsD sink, and cluster tools.

// `--features jemalloc`: the binary allocates with jemalloc, which returns freed pages
// to the kernel while the server is idle (why: section3_production::allocator).
#[cfg(feature = "jemalloc")]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

// jemalloc reads its options from a C global named `malloc_conf` (`_rjem_` prefixed
// in the `tikv-jemalloc-sys` build, which leaves the system's `malloc` alone).
#[cfg(feature = "jemalloc")]
#[allow(non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
static malloc_conf: Option<&'static std::ffi::c_char> =
    // SAFETY: a pointer to the first byte of a 'static NUL-terminated string.
    Some(unsafe { &*section3_production::allocator::JEMALLOC_OPTIONS.as_ptr() });

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use channels::endpoint::listen;
use channels::{CheckOrigin, Server, SocketConfig};
use clap::{Parser, Subcommand};
use observability::statsd_sink::StatsdSink;
use observability::telemetry::{self, DEFAULT_STATSD_PORT, Delivery, LogFormat};
use section3_production::Implementation;
use section3_production::node::{Node, NodeConfig};
use serving::{DEFAULT_DRAIN_TIMEOUT, OriginFlags, ServeFlags, Shutdown};

#[derive(Parser)]
#[command(
    version,
    about = "Section 3: telemetry, memory and a cluster over Redis"
)]
struct Cli {
    /// Log lines as text (default) or one JSON object per line. `RUST_LOG` filters.
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve section 2's channels at /socket/websocket, measured, as one cluster node.
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
        /// Which web pages may open a socket (`--allowed-origin`, repeatable).
        #[command(flatten)]
        origins: OriginFlags,
        /// This node's name (sent as `from_node` to the other nodes).
        #[arg(long, default_value = "app@127.0.0.1")]
        node: String,
        /// Join the cluster on this Redis (`redis://127.0.0.1:6379`); without it the
        /// node runs alone on the in-process pubsub.
        #[arg(long, env = "COURSE_REDIS_URL", hide_env_values = true)]
        redis: Option<String>,
        /// Where to send StatsD lines.
        #[arg(long, default_value_t = SocketAddr::from(([127, 0, 0, 1], DEFAULT_STATSD_PORT)))]
        statsd: SocketAddr,
        /// The feed's activity store; by default in memory, for as long as the node runs.
        #[arg(
            long,
            env = "COURSE_DATABASE_URL",
            hide_env_values = true,
            default_value = "sqlite::memory:"
        )]
        database: String,
        /// Let tokio-console attach (127.0.0.1:6669). Needs a build with the `console`
        /// feature and `RUSTFLAGS="--cfg tokio_unstable"`; without, says the command.
        #[arg(long)]
        console: bool,
    },
    /// Attach to a running node and watch it live: connections, topics, busiest
    /// channels, memory, rates and the cluster's nodes (`q` quits).
    Top {
        /// The node's HTTP address, as `serve` printed it.
        #[arg(default_value = "http://127.0.0.1:4000")]
        url: String,
        /// Compute the rates with the reference solution instead of your s3.e9.
        #[arg(long)]
        solution: bool,
    },
    /// A development StatsD server: prints every line it receives.
    StatsdSink {
        /// UDP port on 127.0.0.1; 0 picks a free one and prints it.
        #[arg(long, default_value_t = DEFAULT_STATSD_PORT)]
        port: u16,
    },
    /// A node without a web server: creates an activity every period and broadcasts
    /// it to the cluster (the `backend` of the two-node demo).
    Backend {
        /// Run the reference solution instead of your code in src/start/.
        #[arg(long)]
        solution: bool,
        /// This node's name.
        #[arg(long, default_value = "backend@127.0.0.1")]
        node: String,
        /// The cluster's Redis (`redis://127.0.0.1:6379`).
        #[arg(long, env = "COURSE_REDIS_URL", hide_env_values = true)]
        redis: String,
        /// Where activities are stored (`sqlite://activities.db`, `postgres://...`);
        /// by default an in-memory SQLite database that lives as long as the node.
        #[arg(
            long,
            env = "COURSE_DATABASE_URL",
            hide_env_values = true,
            default_value = "sqlite::memory:"
        )]
        database: String,
        /// Milliseconds between two activities.
        #[arg(long, default_value_t = 2000)]
        every_ms: u64,
    },
    /// What an idle connection costs the server: bytes per idle joined connection
    /// with tungstenite's default WebSocket settings and with the tuned ones (s3.e5).
    ConnCost {
        /// Idle joined connections to open (each needs a file descriptor per side).
        #[arg(long, default_value_t = 10_000)]
        connections: usize,
        /// Also measure your tuned settings (s3.e5, src/start/part1/e05_conn_cost.rs).
        #[arg(long)]
        yours: bool,
        /// Also write the figures into the walkthrough (solutions/section3/part1.md).
        #[arg(long)]
        walkthrough: bool,
    },
    /// Serve section 2's channels with exactly these WebSocket settings on a free
    /// port, and nothing else: the server `conn-cost` and the s3.e5 test measure.
    #[command(hide = true)]
    IdleServer {
        #[command(flatten)]
        ws: scale_lab::lab::WsFlags,
    },
    /// Calls to a member of a group on another node (s3.e11's reference): latency,
    /// and how long each failure takes to be reported.
    RemoteCall {
        /// The Redis to go through; without it a throwaway redis-server is started.
        #[arg(long)]
        redis: Option<String>,
        /// Calls measured one at a time.
        #[arg(long, default_value_t = 2000)]
        calls: usize,
        /// Calls in the concurrent burst.
        #[arg(long, default_value_t = 1000)]
        concurrent: usize,
        /// Also write the figures into the walkthrough (solutions/section3/part3.md).
        #[arg(long)]
        walkthrough: bool,
    },
    /// What hibernation gives back (s3.e10): bytes per idle joined connection with
    /// hibernation off and on, and the latency of the first message after it.
    HibernateCost {
        /// Idle joined connections to open (each needs a file descriptor per side).
        #[arg(long, default_value_t = 19_000)]
        connections: usize,
        /// The hibernation periods to measure, in milliseconds (each its own server).
        #[arg(long, value_delimiter = ',', default_values_t = [500, 5_000])]
        period_ms: Vec<u64>,
        /// Also measure your hook (s3.e10, src/start/part3/e10_hibernate.rs).
        #[arg(long)]
        yours: bool,
        /// Also write the figures into the walkthrough (solutions/section3/part3.md).
        #[arg(long)]
        walkthrough: bool,
    },
    /// Serve section 2's channels on a free port, hibernating through a hook: the
    /// server `hibernate-cost` measures.
    #[command(hide = true)]
    HibernateServer {
        #[command(flatten)]
        ws: scale_lab::lab::WsFlags,
        /// The hook connections hibernate through.
        #[arg(long, value_enum)]
        hook: section3_production::hibernate_cost::Hook,
        /// The hibernation period, in milliseconds.
        #[arg(long)]
        hibernate_after_ms: u64,
    },
    /// s3.e13: one user's creates all at once on several nodes sharing one limit in
    /// Redis: how many pass with the script and with a two-round-trip check, and
    /// what one check costs.
    ClusterLimit {
        /// The Redis to go through; without it a throwaway redis-server is started.
        #[arg(long)]
        redis: Option<String>,
        /// Run the reference solution instead of your s3.e13.
        #[arg(long)]
        solution: bool,
        /// Nodes sharing the limit.
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u64).range(1..=16))]
        nodes: u64,
        /// Creates by one user, all in flight at once.
        #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=100_000))]
        attempts: u64,
        /// The limit: creates per minute.
        #[arg(long, default_value_t = 10)]
        max: u32,
        /// Also write the figures into the walkthrough (solutions/section3/part3.md).
        #[arg(long)]
        walkthrough: bool,
    },
    /// One owner per id across three nodes (s3.e12's reference): upstream fetches
    /// for a crowd asking every node for one page, before and after the owner dies.
    ClusterPortal {
        /// The Redis to go through; without it a throwaway redis-server is started.
        #[arg(long)]
        redis: Option<String>,
        /// Concurrent requests per crowd, spread over the nodes.
        #[arg(long, default_value_t = 1000)]
        requests: usize,
        /// Also write the figures into the walkthrough (solutions/section3/part3.md).
        #[arg(long)]
        walkthrough: bool,
    },
    /// Measure broadcast latency from one node to another through Redis.
    ClusterLatency {
        /// The Redis to go through; without it a throwaway redis-server is started.
        #[arg(long)]
        redis: Option<String>,
        /// Measured messages, sent one at a time.
        #[arg(long, default_value_t = 10_000)]
        messages: u64,
        /// Also write the figures into the walkthrough (solutions/section3/part2.md).
        #[arg(long)]
        walkthrough: bool,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match &cli.command {
        // tokio-console's layer goes beside the log lines, or the node says how to build it.
        Command::Serve { console: true, .. } => {
            section3_production::console::init_tracing(cli.log_format)?
        }
        _ => telemetry::init_tracing(cli.log_format),
    }
    match cli.command {
        Command::Serve {
            solution,
            port,
            server: flags,
            origins,
            node,
            redis,
            statsd,
            database,
            console: _,
        } => {
            // First: a SIGTERM that comes as soon as the address is printed must be handled.
            let shutdown = Shutdown::on_signals(flags.drain_timeout)?;
            let implementation = Implementation::from_solution_flag(solution);
            // Immediate delivery: in class every measurement should show in the sink
            // as it happens. A production node would batch (Delivery::Batched).
            let recorder = telemetry::statsd_recorder(statsd, Some("rts"), Delivery::Immediate)?;
            metrics::set_global_recorder(recorder)
                .map_err(|_| anyhow::anyhow!("a metrics recorder was already installed"))?;
            let config = NodeConfig {
                name: node,
                redis_url: redis,
                implementation,
                database,
                check_origin: CheckOrigin::from_flags(&origins.allowed_origins)?,
            };
            let node = Node::start(&config).await?;
            let router = node.router_with(node.health().draining(&shutdown));
            let server = Server::spawn(listen(flags.addr(port))?, router)?;
            // A demo order every second: s3.e1's shop lines and, for a client joined to
            // `orders:demo`, s3.e3's delivery latency.
            let demo = node.start_demo_orders(implementation, Duration::from_secs(1));
            println!(
                "node {} serving the {} implementation: ws://{}/socket/websocket?vsn=2.0.0; \
                 {}; StatsD lines to {statsd}; a demo order every second on `orders:demo`; \
                 watch it with `top http://{}` (Ctrl-C to stop)",
                config.name,
                implementation.name(),
                server.addr(),
                match &config.redis_url {
                    Some(url) => format!("clustered through {url}"),
                    None => "alone (no --redis)".to_owned(),
                },
                server.addr(),
            );
            shutdown.triggered().await;
            drop(demo);
            // The goodbye first: the other nodes drop this one from their member
            // lists now, not when its heartbeat expires, and ask it nothing more.
            if let Some(queries) = &node.queries {
                shutdown.drain("cluster goodbye", queries.leave()).await;
            }
            // Every socket writes what it has queued and gets 1001 "going away"; the
            // server stops accepting and waits (until the drain deadline) for every
            // connection to end, so the close frames reach the clients.
            node.endpoint.shutdown();
            shutdown.drain("connections", server.shutdown()).await;
            node.store.close().await;
            tracing::info!("stopped");
            Ok(())
        }
        Command::Backend {
            solution,
            node,
            redis,
            database,
            every_ms,
        } => run_backend(solution, &node, &redis, &database, every_ms).await,
        Command::ClusterLimit {
            redis,
            solution,
            nodes,
            attempts,
            max,
            walkthrough,
        } => {
            use section3_production::cluster_limit as lab;
            // A throwaway redis-server unless one is given, stopped when this ends.
            let (url, _throwaway) = cluster::latency::ThrowawayRedis::unless_given(redis)?;
            let setup = lab::Setup {
                nodes: nodes as usize,
                attempts: attempts as usize,
                max,
                timed: 2000,
            };
            let implementation = Implementation::from_solution_flag(solution);
            let report = lab::measure(&url, implementation, setup).await?;
            println!(
                "{} creates by one user at once on {nodes} nodes, limit {max}: the script \
                 allowed {} (one check: p50 {} us, p99 {} us); two round trips allowed {} \
                 (p50 {} us, p99 {} us)",
                attempts,
                report.script_allowed,
                report.script_p50.as_micros(),
                report.script_p99.as_micros(),
                report.two_trips_allowed,
                report.two_trips_p50.as_micros(),
                report.two_trips_p99.as_micros(),
            );
            if walkthrough {
                let command = format!(
                    "cargo run -p section3-production --release -- cluster-limit{} --walkthrough",
                    if solution { " --solution" } else { "" }
                );
                let path = lab::write_walkthrough(&report, &command)?;
                println!("wrote the figures into {}", path.display());
            }
            Ok(())
        }
        Command::ClusterLatency {
            redis,
            messages,
            walkthrough,
        } => {
            use cluster::latency as lab;
            use section3_production::solution::part2::e06_redis_pubsub::RedisPubSub;

            // A throwaway redis-server unless one is given, stopped when this ends.
            let (url, _throwaway) = cluster::latency::ThrowawayRedis::unless_given(redis)?;
            // Two nodes on s3.e6's reference adapter, each with its own Redis connections.
            let app = Arc::new(RedisPubSub::connect(&url, "app@127.0.0.1").await?);
            let backend = RedisPubSub::connect(&url, "backend@127.0.0.1").await?;
            let report = lab::measure(app, &backend, messages, messages / 10).await?;
            println!(
                "cross-node broadcast through Redis at {url}: {}/{} delivered; \
                 p50 {} us, p99 {} us, p99.9 {} us, max {} us",
                report.delivered,
                report.sent,
                report.p50_us,
                report.p99_us,
                report.p999_us,
                report.max_us
            );
            // The same figures for the results page (`cargo xtask bench` reads the file).
            let figures = figures::section3::ClusterLatency {
                sent: report.sent,
                delivered: report.delivered,
                p50_us: report.p50_us,
                p99_us: report.p99_us,
                p999_us: report.p999_us,
                max_us: report.max_us,
            };
            let path = figures::write(&figures, None)?;
            eprintln!("figures: {}", path.display());
            if walkthrough {
                let path = lab::walkthrough_path();
                let text = std::fs::read_to_string(&path)?;
                let generated = lab::generated_section(&report, &lab::describe_machine());
                std::fs::write(&path, lab::replace_generated(&text, &generated)?)?;
                println!("wrote the figures into {}", path.display());
            }
            Ok(())
        }
        Command::RemoteCall {
            redis,
            calls,
            concurrent,
            walkthrough,
        } => {
            use section3_production::remote_lab;
            // A throwaway redis-server unless one is given, stopped when this ends.
            let (url, _throwaway) = cluster::latency::ThrowawayRedis::unless_given(redis)?;
            let report = remote_lab::remote_call(&url, calls, concurrent).await?;
            println!("{}", report.summary());
            if walkthrough {
                let command = format!(
                    "cargo run -p section3-production --release -- remote-call --calls {calls} \
                     --concurrent {concurrent} --walkthrough"
                );
                let table = report.table(&cluster::latency::describe_machine());
                remote_lab::write_walkthrough("remote-call", &command, &table)?;
            }
            Ok(())
        }
        Command::ClusterPortal {
            redis,
            requests,
            walkthrough,
        } => {
            use section3_production::remote_lab;
            // A throwaway redis-server unless one is given, stopped when this ends.
            let (url, _throwaway) = cluster::latency::ThrowawayRedis::unless_given(redis)?;
            let rows = remote_lab::cluster_portal(&url, requests).await?;
            let command = format!(
                "cargo run -p section3-production --release -- cluster-portal --requests {requests} \
                 --walkthrough"
            );
            let table = remote_lab::portal_table(&rows, &cluster::latency::describe_machine());
            println!("{table}");
            if walkthrough {
                remote_lab::write_walkthrough("cluster-portal", &command, &table)?;
            }
            Ok(())
        }
        Command::ConnCost {
            connections,
            yours,
            walkthrough,
        } => conn_cost(connections, yours, walkthrough).await,
        Command::IdleServer { ws } => {
            section3_production::conn_cost::serve_idle(ws.apply(SocketConfig::default())).await
        }
        Command::HibernateCost {
            connections,
            period_ms,
            yours,
            walkthrough,
        } => {
            let periods = period_ms.into_iter().map(Duration::from_millis).collect();
            hibernate_cost(connections, periods, yours, walkthrough).await
        }
        Command::HibernateServer {
            ws,
            hook,
            hibernate_after_ms,
        } => {
            let config = SocketConfig {
                hibernate_after: Some(Duration::from_millis(hibernate_after_ms)),
                ..ws.apply(SocketConfig::default())
            };
            section3_production::hibernate_cost::serve(config, hook).await
        }
        Command::Top { url, solution } => {
            let implementation = Implementation::from_solution_flag(solution);
            section3_production::top::run(&url, implementation).await
        }
        Command::StatsdSink { port } => {
            // Nothing to drain: a datagram not yet printed is lost like any UDP one.
            let shutdown = Shutdown::on_signals(Duration::ZERO)?;
            let mut sink = StatsdSink::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
            println!(
                "statsd-sink listening on udp://{} (Ctrl-C to stop)",
                sink.addr()
            );
            loop {
                tokio::select! {
                    line = sink.next_line() => println!("{}", line?),
                    () = shutdown.triggered() => return Ok(()),
                }
            }
        }
    }
}

async fn conn_cost(connections: usize, yours: bool, walkthrough: bool) -> anyhow::Result<()> {
    use section3_production::conn_cost::{self as lab, Measured};
    use section3_production::{solution as reference, start};

    let machine = figures::machine::Machine::describe().to_string();
    let untuned = SocketConfig::tungstenite_defaults();
    let mut configs = vec![
        ("tungstenite defaults", untuned.clone()),
        (
            "tuned (reference)",
            reference::part1::e05_conn_cost::tuned(untuned.clone()),
        ),
    ];
    if yours {
        configs.push(("tuned (yours)", start::part1::e05_conn_cost::tuned(untuned)));
    }
    let program = std::env::current_exe()?;
    let mut measured = Vec::new();
    for (name, config) in configs {
        eprintln!("measuring {name} with {connections} idle connections...");
        let measurement = lab::measure(&program, &config, connections).await?;
        scale_lab::lab::print(&measurement, lab::TOPIC);
        measured.push(Measured {
            name: name.to_owned(),
            config,
            measurement,
        });
    }
    // What a grown read buffer keeps: the reference again, each connection having
    // sent one large message before going idle.
    let config = reference::part1::e05_conn_cost::tuned(SocketConfig::tungstenite_defaults());
    let name = format!(
        "tuned (reference), after one {} KiB message each",
        lab::LARGE_MESSAGE_BYTES / 1024
    );
    eprintln!("measuring {name} with {connections} connections...");
    let measurement = lab::measure_after_large_message(&program, &config, connections).await?;
    scale_lab::lab::print(&measurement, lab::TOPIC);
    measured.push(Measured {
        name,
        config,
        measurement,
    });
    let generated = lab::report(&measured, &machine);
    println!("\n{generated}");
    if walkthrough {
        let path = lab::write_walkthrough(&generated)?;
        println!("wrote the figures into {}", path.display());
    }
    Ok(())
}

async fn hibernate_cost(
    connections: usize,
    periods: Vec<Duration>,
    yours: bool,
    walkthrough: bool,
) -> anyhow::Result<()> {
    use section3_production::hibernate_cost::{self as lab, Hook};

    let machine = figures::machine::Machine::describe().to_string();
    let program = std::env::current_exe()?;
    let longest = periods
        .iter()
        .copied()
        .max()
        .unwrap_or(Duration::from_secs(1));
    // Hibernation off waits as long as the longest period, so every server is read
    // at least as long after its last connection joined.
    let mut runs = vec![(Hook::Off, longest)];
    for &period in &periods {
        runs.push((Hook::Reference, period));
        if yours {
            runs.push((Hook::Yours, period));
        }
    }
    let mut measured = Vec::new();
    for (hook, period) in runs {
        eprintln!(
            "measuring hibernation {hook:?} ({period:?}) with {connections} idle connections..."
        );
        let m = lab::measure(&program, hook, period, connections).await?;
        eprintln!(
            "{} B per idle connection, {} hibernating; first message p99 {:?}",
            m.per_connection_bytes().round(),
            m.hibernating,
            m.first.quantile(0.99)
        );
        measured.push(m);
    }
    let generated = lab::report(&measured, &machine);
    println!("\n{generated}");
    if walkthrough {
        let path = lab::write_walkthrough(&generated)?;
        println!("wrote the figures into {}", path.display());
    }
    Ok(())
}

async fn run_backend(
    solution: bool,
    node: &str,
    redis: &str,
    database: &str,
    every_ms: u64,
) -> anyhow::Result<()> {
    use activity::{ActivityGenerator, ActivityStore};
    use section3_production::{solution as reference, start};

    // Stops between two activities: the one being created is finished and broadcast.
    let shutdown = Shutdown::on_signals(DEFAULT_DRAIN_TIMEOUT)?;
    let store = ActivityStore::open(database).await?;
    let implementation = Implementation::from_solution_flag(solution).name();
    // The backend runs the same adapter as a web node: s3.e6, yours or the reference.
    let pubsub: Box<dyn channels::PubSub> = if solution {
        Box::new(reference::part2::e06_redis_pubsub::RedisPubSub::connect(redis, node).await?)
    } else {
        Box::new(start::part2::e06_redis_pubsub::RedisPubSub::connect(redis, node).await?)
    };
    println!(
        "node {node} ({implementation}, no web server) creating an activity every {every_ms} ms \
         through {redis} (Ctrl-C to stop)"
    );
    let mut generator = ActivityGenerator::from_os_rng();
    let mut ticks = tokio::time::interval(Duration::from_millis(every_ms.max(1)));
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            () = shutdown.triggered() => break,
        }
        let new = generator.next_activity();
        let created = if solution {
            reference::part2::e07_two_nodes::create_activity(&store, pubsub.as_ref(), new).await
        } else {
            start::part2::e07_two_nodes::create_activity(&store, pubsub.as_ref(), new).await
        };
        match created {
            Ok(activity) => println!(
                "created #{}: {} {}",
                activity.id, activity.who, activity.what
            ),
            Err(error) => tracing::warn!(%error, "could not create an activity"),
        }
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}
