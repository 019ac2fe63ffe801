//! One node of the system: section 2's channels, measured, on a local or Redis pubsub.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use activity::ActivityStore;
use channels::CheckOrigin;
use channels::endpoint::{Endpoint, Server};
use channels::pubsub::{LocalPubSub, PubSub};
use channels::telemetry::{TelemetryEvent, TelemetryHandler};
use serde_json::Value;

use channels::inspect::Inspector;
use cluster::queries::{Answerer, ClusterQueries, Membership};
use cluster::scatter::Gathered;
use observability::observe::{Busiest, ConnectionsSample, ObservedPubSub, Snapshot};
use observability::process::ProcessSample;
use serving::Health;

use crate::Implementation;
use crate::delivery::{self, LatencyFns, OrderPipeline};

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
    /// Which web pages may open a socket (`serve --allowed-origin`; the default lets
    /// pages of the node's own host).
    pub check_origin: CheckOrigin,
}

/// A running node: its endpoint (and pubsub) and the process poller.
pub struct Node {
    /// The socket endpoint; its pubsub is local or Redis-backed.
    pub endpoint: Endpoint,
    /// Membership and questions to every node, when clustered.
    pub queries: Option<Arc<ClusterQueries>>,
    /// The pubsub the endpoint uses, counting topics and broadcasts for `/observe`.
    pub observed: Arc<ObservedPubSub>,
    /// The feed's activity store; `/readyz` checks it.
    pub store: ActivityStore,
    /// Every connection's counters (section 2's `channels::inspect`), sampled by
    /// `GET /observe/connections`.
    pub inspector: Arc<Inspector>,
    /// The sample the previous `GET /observe/connections` took: rates are computed
    /// from it to the next one (s3.e14).
    last_sample: Arc<Mutex<ConnectionsSample>>,
    implementation: Implementation,
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
                crate::start::part2::e06_redis_pubsub::RedisPubSub::connect(url, &config.name)
                    .await?,
            ),
            (Some(url), Implementation::Solution) => Arc::new(
                crate::solution::part2::e06_redis_pubsub::RedisPubSub::connect(url, &config.name)
                    .await?,
            ),
        };
        // Later sections build on the reference of earlier ones.
        // Section 2's channels (feed included) on this node's own activity store.
        let store = ActivityStore::open(&config.database).await?;
        let observed = Arc::new(ObservedPubSub::new(pubsub));
        // Section 2's channels plus the orders of s3.e3, measured by s3.e2.
        let router = delivery::route(
            section2_reference::channels(store.clone()),
            latency_fns(config.implementation),
        );
        let inspector = Inspector::new();
        let endpoint = Endpoint::builder(router)
            .pubsub(observed.clone())
            .inspector(inspector.clone())
            .telemetry(channel_metrics(config.implementation))
            .check_origin(config.check_origin.clone())
            .build();
        let period = Duration::from_secs(1);
        let poller = match config.implementation {
            Implementation::Start => tokio::spawn(crate::start::part1::e04_poller::poll_process(
                period,
                ProcessSample::now,
            )),
            Implementation::Solution => tokio::spawn(
                crate::solution::part1::e04_poller::poll_process(period, ProcessSample::now),
            ),
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
            store,
            inspector,
            last_sample: Arc::default(),
            implementation: config.implementation,
            name: config.name.clone(),
            started: tokio::time::Instant::now(),
            poller,
        })
    }

    /// Starts a demo shop: every `every`, an order for store `demo` goes through the
    /// orders pipeline (a client joined to `orders:demo` receives it, and s3.e3
    /// measures its delivery) and is measured by s3.e1's shop functions. Stops when
    /// the returned value is dropped.
    pub fn start_demo_orders(&self, implementation: Implementation, every: Duration) -> DemoOrders {
        let pipeline = OrderPipeline::spawn(
            self.endpoint.pubsub().clone(),
            64,
            latency_fns(implementation),
        );
        let task = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            // A fixed little catalogue: recognisable figures in the sink.
            let orders = [(1999, "card"), (500, "invoice"), (4250, "card")];
            for n in 0u64.. {
                ticks.tick().await;
                let (cents, payment) = orders[(n % 3) as usize];
                let order = channels::payload(serde_json::json!({
                    "order": n + 1, "cents": cents, "payment": payment,
                }));
                if pipeline.enqueue("demo", order).is_err() {
                    tracing::warn!("demo order dropped: the orders pipeline is full");
                }
                S3_E1.run(|| match implementation {
                    Implementation::Start => {
                        use crate::start::part1::e01_measurements as shop;
                        shop::order_placed();
                        shop::revenue(cents, payment);
                        shop::open_carts(3 + n % 4);
                    }
                    Implementation::Solution => {
                        use crate::solution::part1::e01_measurements as shop;
                        shop::order_placed();
                        shop::revenue(cents, payment);
                        shop::open_carts(3 + n % 4);
                    }
                });
            }
        });
        DemoOrders(task)
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

    /// What `/readyz` checks: the activity store answers and, when clustered, the
    /// node's subscription to Redis is up (a node cut from Redis serves its own
    /// clients but misses every other node's broadcasts).
    pub fn health(&self) -> Health {
        let store = self.store.clone();
        let health = Health::new().check("database", move || {
            let store = store.clone();
            async move { store.ping().await.map_err(|e| e.to_string()) }
        });
        match self.queries.clone() {
            None => health,
            Some(queries) => health.check("redis", move || {
                let linked = queries.is_linked();
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

    /// Serves [`Node::router`] on `127.0.0.1:port` (0 picks one).
    pub async fn serve(&self, port: u16) -> std::io::Result<Server> {
        Server::bind(port, self.router()).await
    }

    /// The socket at `/socket/websocket`, `GET /observe` (a [`Snapshot`], what `top`
    /// shows), the probes `/healthz` and `/readyz` ([`Node::health`]) and, when
    /// clustered, `GET /cluster/users`: every node's connected sockets, and the nodes
    /// that did not answer within 500 ms.
    pub fn router(&self) -> axum::Router {
        self.router_with(self.health())
    }

    /// The same routes with `health`'s probes (`serve` adds "not ready while draining").
    pub fn router_with(&self, health: Health) -> axum::Router {
        let mut routes = self.endpoint.routes("/socket").merge(health.routes());
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
        let connections = self.connections_route();
        routes = routes.route(
            "/observe/connections",
            axum::routing::get(
                move |query: axum::extract::Query<std::collections::HashMap<String, String>>| {
                    let top = query.get("top").and_then(|top| top.parse().ok());
                    async move { connections(top).map(axum::Json) }
                },
            ),
        );
        if let Some(queries) = self.queries.clone() {
            routes = routes.route(
                "/cluster/users",
                axum::routing::get(move || async move {
                    let limit = Duration::from_millis(500);
                    let gathered = ask(&queries, "connected_users", limit).await;
                    axum::Json(serde_json::json!({
                        "answered": gathered.answered,
                        "missing": gathered.missing,
                    }))
                }),
            );
        }
        routes
    }
}

impl Node {
    /// What `GET /observe/connections?top=N` answers: every connection sampled now,
    /// compared by s3.e14 (yours or the reference, as the node runs) with the
    /// previous request's sample, and the busiest `top` (at most 50) by each measure.
    pub fn busiest_connections(&self, top: usize) -> Result<Busiest, String> {
        (self.connections_route())(Some(top)).map_err(|(_, why)| why)
    }

    fn connections_route(
        &self,
    ) -> impl Fn(Option<usize>) -> Result<Busiest, (axum::http::StatusCode, String)>
    + Clone
    + Send
    + Sync
    + 'static {
        let (inspector, last, started, implementation) = (
            self.inspector.clone(),
            self.last_sample.clone(),
            self.started,
            self.implementation,
        );
        move |top: Option<usize>| {
            // Bounded: a screen shows ten; 20,000 connections never go in one answer.
            let top = top.unwrap_or(10).clamp(1, 50);
            let current = ConnectionsSample {
                uptime_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                connections: inspector.sample(),
            };
            // The previous sample is taken out (the lock is not held while ranking);
            // two viewers at once each get rates over a shorter interval, still right.
            let previous = std::mem::take(&mut *last.lock().unwrap_or_else(|e| e.into_inner()));
            let busiest = match implementation {
                Implementation::Start => S3_E14
                    .run(|| crate::start::part3::e14_observer::busiest(&previous, &current, top)),
                Implementation::Solution => Some(crate::solution::part3::e14_observer::busiest(
                    &previous, &current, top,
                )),
            };
            *last.lock().unwrap_or_else(|e| e.into_inner()) = current;
            busiest.ok_or((
                axum::http::StatusCode::NOT_IMPLEMENTED,
                "s3.e14 is not done yet: this node ranks connections with your \
                 src/start/part3/e14_observer.rs (`cargo xtask check s3.e14`; \
                 `serve --solution` runs the reference)"
                    .to_owned(),
            ))
        }
    }
}

/// Asks every node of the cluster `question` and gathers the answers that arrive
/// within `limit`, naming the nodes that did not answer. The gathering is s3.e8's
/// reference: a node's HTTP routes do not depend on whether yours is done.
pub async fn ask(queries: &ClusterQueries, question: &str, limit: Duration) -> Gathered<Value> {
    let mut question = queries.ask(question);
    crate::solution::part2::e08_scatter_gather::gather(
        &question.expected,
        &mut question.replies,
        limit,
    )
    .await
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

/// The demo shop's task (see [`Node::start_demo_orders`]); dropping it stops it.
pub struct DemoOrders(tokio::task::JoinHandle<()>);

impl Drop for DemoOrders {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One exercise's code as the node runs it: until the exercise is done its `todo!()`
/// panics, and the node turns that exercise's measurements off at the first panic
/// (saying so once) instead of failing a request or a task every time.
struct Exercise {
    id: &'static str,
    off: AtomicBool,
}

impl Exercise {
    const fn new(id: &'static str) -> Self {
        Exercise {
            id,
            off: AtomicBool::new(false),
        }
    }

    fn run<T>(&self, code: impl FnOnce() -> T) -> Option<T> {
        if self.off.load(Ordering::Relaxed) {
            return None;
        }
        match std::panic::catch_unwind(AssertUnwindSafe(code)) {
            Ok(value) => Some(value),
            Err(_) => {
                if !self.off.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        exercise = self.id,
                        "your {} panicked (not done yet?): its measurements are off until \
                         restart; `cargo xtask check {}` shows what is missing",
                        self.id,
                        self.id
                    );
                }
                None
            }
        }
    }
}

static S3_E1: Exercise = Exercise::new("s3.e1");
static S3_E2: Exercise = Exercise::new("s3.e2");
static S3_E3: Exercise = Exercise::new("s3.e3");
static S3_E14: Exercise = Exercise::new("s3.e14");

/// s3.e2's handler, yours (guarded) or the reference, measuring the endpoint.
fn channel_metrics(implementation: Implementation) -> Arc<dyn TelemetryHandler> {
    match implementation {
        Implementation::Start => {
            let handler = crate::start::part1::e02_channel_metrics::ChannelMetrics::new();
            Arc::new(move |event: &TelemetryEvent<'_>| {
                S3_E2.run(|| handler.handle(event));
            })
        }
        Implementation::Solution => {
            Arc::new(crate::solution::part1::e02_channel_metrics::ChannelMetrics::new())
        }
    }
}

/// s3.e3's functions, yours (guarded) or the reference.
fn latency_fns(implementation: Implementation) -> LatencyFns {
    fn stamp(now: SystemTime) -> u64 {
        S3_E3
            .run(|| crate::start::part1::e03_delivery_latency::stamp(now))
            .unwrap_or(0)
    }
    fn record(enqueued_at_us: u64, now: SystemTime) {
        S3_E3.run(|| {
            crate::start::part1::e03_delivery_latency::record_delivery(enqueued_at_us, now)
        });
    }
    match implementation {
        Implementation::Start => LatencyFns { stamp, record },
        Implementation::Solution => LatencyFns::of(Implementation::Solution),
    }
}
