//! One node of the system: section 2's channels, measured, on a local or Redis pubsub.

use std::sync::Arc;
use std::time::Duration;

use section2_channels::activity::ActivityStore;
use section2_channels::app::{self, Implementation as Section2};
use section2_channels::endpoint::{Endpoint, Server};
use section2_channels::pubsub::{LocalPubSub, PubSub};

use crate::Implementation;
use crate::cluster::queries::{Answerer, ClusterQueries, Membership};
use crate::observe::{ObservedPubSub, Snapshot};
use crate::process::ProcessSample;

/// How a node is started.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// The node's name, sent as `from_node` (`app@127.0.0.1`).
    pub name: String,
    /// Redis to cluster through; `None` runs a single node on the in-process pubsub.
    pub redis_url: Option<String>,
    /// Which implementation of this section's exercises runs.
    pub implementation: Implementation,
    /// The activity store the feed channel reads and writes (`sqlite::memory:`,
    /// `sqlite://activities.db`, `postgres://...`).
    pub database: String,
}

/// A running node: its endpoint (and pubsub) and the process poller.
pub struct Node {
    /// The socket endpoint; its pubsub is local or Redis-backed.
    pub endpoint: Endpoint,
    /// Membership and questions to every node, when clustered.
    pub queries: Option<Arc<ClusterQueries>>,
    /// The pubsub the endpoint uses, counting topics and broadcasts for `/observe`.
    pub observed: Arc<ObservedPubSub>,
    name: String,
    started: tokio::time::Instant,
    poller: tokio::task::JoinHandle<()>,
}

impl Node {
    /// Starts the node: joins the cluster if a Redis URL is given, and starts the
    /// process poller (s3.e4) reporting every second.
    pub async fn start(config: &NodeConfig) -> anyhow::Result<Node> {
        let pubsub: Arc<dyn PubSub> = match (&config.redis_url, config.implementation) {
            (None, _) => Arc::new(LocalPubSub::named(config.name.clone())),
            (Some(url), Implementation::Start) => Arc::new(
                crate::start::part2::redis_pubsub::RedisPubSub::connect(url, &config.name).await?,
            ),
            (Some(url), Implementation::Solution) => Arc::new(
                crate::solution::part2::redis_pubsub::RedisPubSub::connect(url, &config.name)
                    .await?,
            ),
        };
        // Later sections build on the reference of earlier ones.
        // Section 2's channels (feed included) on this node's own activity store.
        let store = ActivityStore::open(&config.database).await?;
        let observed = Arc::new(ObservedPubSub::new(pubsub));
        let endpoint = Endpoint::builder(app::channels(Section2::Solution, store))
            .pubsub(observed.clone())
            .build();
        let period = Duration::from_secs(1);
        let poller = match config.implementation {
            Implementation::Start => tokio::spawn(crate::start::part1::poller::poll_process(
                period,
                ProcessSample::now,
            )),
            Implementation::Solution => tokio::spawn(crate::solution::part1::poller::poll_process(
                period,
                ProcessSample::now,
            )),
        };
        let queries = match &config.redis_url {
            None => None,
            Some(url) => {
                let counted = endpoint.clone();
                let answerer: Answerer = Arc::new(move |question: &str| match question {
                    "connected_users" => counted.connections().into(),
                    // A question this version does not know: an explicit null, so
                    // the asker sees the node answered but had nothing to say.
                    _ => serde_json::Value::Null,
                });
                Some(Arc::new(
                    ClusterQueries::connect(url, &config.name, Membership::default(), answerer)
                        .await?,
                ))
            }
        };
        Ok(Node {
            endpoint,
            queries,
            observed,
            name: config.name.clone(),
            started: tokio::time::Instant::now(),
            poller,
        })
    }

    /// What `GET /observe` answers: this node's counters and gauges right now.
    pub fn snapshot(&self) -> Snapshot {
        snapshot(
            &self.name,
            self.started,
            &self.endpoint,
            &self.observed,
            self.queries.as_deref(),
        )
    }

    /// Serves the socket at `/socket/websocket` on `127.0.0.1:port` (0 picks one),
    /// `GET /observe` (a [`Snapshot`], what `top` shows), and, when clustered, `GET /cluster/users`: every node's connected sockets,
    /// and the nodes that did not answer within 500 ms.
    pub async fn serve(&self, port: u16) -> std::io::Result<Server> {
        let mut routes = self.endpoint.routes("/socket");
        let (name, started, endpoint, observed, queries) = (
            self.name.clone(),
            self.started,
            self.endpoint.clone(),
            self.observed.clone(),
            self.queries.clone(),
        );
        routes = routes.route(
            "/observe",
            axum::routing::get(move || async move {
                axum::Json(snapshot(
                    &name,
                    started,
                    &endpoint,
                    &observed,
                    queries.as_deref(),
                ))
            }),
        );
        if let Some(queries) = self.queries.clone() {
            routes = routes.route(
                "/cluster/users",
                axum::routing::get(move || async move {
                    let gathered = queries
                        .ask("connected_users", Duration::from_millis(500))
                        .await;
                    axum::Json(serde_json::json!({
                        "answered": gathered.answered,
                        "missing": gathered.missing,
                    }))
                }),
            );
        }
        Server::bind(port, routes).await
    }
}

fn snapshot(
    name: &str,
    started: tokio::time::Instant,
    endpoint: &Endpoint,
    observed: &ObservedPubSub,
    queries: Option<&ClusterQueries>,
) -> Snapshot {
    let process = ProcessSample::now();
    Snapshot {
        node: name.to_owned(),
        uptime_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        connections: endpoint.connections(),
        rss_bytes: process.rss_bytes,
        live_tasks: process.live_tasks,
        broadcasts: observed.broadcasts(),
        topics: observed.topics(),
        cluster: queries.map(|q| q.members().into_iter().collect()),
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.poller.abort();
    }
}
