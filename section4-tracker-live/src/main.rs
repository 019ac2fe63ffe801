//! `section4-tracker-live`: serve the presence channels on one or more nodes.

use std::sync::Arc;

use clap::{Parser, Subcommand};
use section2_channels::app::Implementation;
use section2_channels::{LocalPubSub, PubSub, Server};
use section4_tracker_live::app::PresenceNode;
use section4_tracker_live::live_app::{self, FeedDeps, PresenceDeps};
use section4_tracker_live::tracker::TrackerConfig;

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
        /// Port of the first node on 127.0.0.1 (the next nodes take the next ports);
        /// 0 picks free ones and prints them.
        #[arg(long, default_value_t = 4000)]
        port: u16,
        /// How many nodes to start (1 to 4).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u8).range(1..=4))]
        nodes: u8,
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
            nodes,
        } => {
            let implementation = if solution {
                Implementation::Solution
            } else {
                Implementation::Start
            };
            let cluster: Arc<dyn PubSub> = Arc::new(LocalPubSub::named("cluster"));
            let store = live_app::open_demo_store().await?;
            let mut servers = Vec::new();
            for index in 0..nodes {
                let name = if index == 0 {
                    "app@127.0.0.1".to_string()
                } else {
                    format!("node{index}@127.0.0.1")
                };
                let node = PresenceNode::start(
                    implementation,
                    cluster.clone(),
                    &name,
                    TrackerConfig::default(),
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
                    live_app::DEMO_SECRET_KEY_BASE,
                );
                if !pages.assets_installed() {
                    tracing::warn!(
                        "the live pages will stay static until the JavaScript clients are installed: npm ci --prefix section4-tracker-live/tests/live"
                    );
                }
                let routes = node.endpoint.routes("/socket").merge(pages.router());
                let server = Server::bind(node_port, routes).await?;
                println!(
                    "{name}: serving the {} implementation, ws://{addr}/socket/websocket?vsn=2.0.0, live pages at http://{addr}/feed and http://{addr}/presence?name=Ada",
                    implementation.name(),
                    addr = server.addr()
                );
                servers.push((node, server));
            }
            println!(
                "join room:<name> with {{\"user_id\": \"1\", \"name\": \"Alice\"}}; handle_diff lines are logged (Ctrl-C to stop)"
            );
            tokio::signal::ctrl_c().await?;
            for (node, server) in servers {
                node.endpoint.shutdown();
                server.stop().await;
            }
            Ok(())
        }
    }
}
