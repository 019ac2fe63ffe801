//! What a live node shows about itself: `GET /observe`, one JSON snapshot of its
//! counters, read by the `top` subcommand every second.
//!
//! Section 2's endpoint counts connections, but it keeps no list of topics. Rather
//! than change section 2, the node wraps its pubsub in [`ObservedPubSub`], which
//! sees every subscribe, unsubscribe and broadcast go by: subscribers per topic
//! (one per joined channel, plus one per socket for its `disconnect` topic) and a
//! broadcast counter per topic. Counters only; rates are computed by whoever reads
//! two snapshots (s3.e9), as StatsD or Prometheus would.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use channels::inspect::{ChannelSample, ConnectionSample};
use channels::pubsub::{Broadcast, Flushing, PubSub, Subscriber, SubscriberId};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// One look at a node: cumulative counters and current gauges.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The node's name (`app@127.0.0.1`).
    pub node: String,
    /// Milliseconds since the node started: the clock rates are computed on. It
    /// going backwards between two snapshots means the node restarted.
    pub uptime_ms: u64,
    /// Open socket connections (section 2's `Endpoint::connections`).
    pub connections: usize,
    /// Resident memory; `None` off Linux.
    pub rss_bytes: Option<u64>,
    /// Tokio tasks alive in the node's runtime.
    pub live_tasks: usize,
    /// Broadcasts this node has published since it started, every topic together.
    /// Never decreases while the node runs.
    pub broadcasts: u64,
    /// Every topic with at least one subscriber on this node, by name.
    pub topics: BTreeMap<String, TopicStats>,
    /// The cluster's members as this node sees them; `None` for a node running alone.
    pub cluster: Option<Vec<String>>,
}

/// One topic on one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopicStats {
    /// Local subscribers: joined channels (and sockets, on their own topic).
    pub subscribers: usize,
    /// Broadcasts published on this topic by this node since the topic appeared.
    /// A topic whose last subscriber leaves is forgotten (topics such as `user:42`
    /// come and go), so this counter can start again from zero.
    pub broadcasts: u64,
}

/// What happened between two snapshots, per second (computed by s3.e9's `rates`).
#[derive(Debug, Clone, PartialEq)]
pub struct Rates {
    /// Broadcasts per second on the whole node.
    pub broadcasts_per_sec: f64,
    /// The topics that broadcast in the interval, busiest first, at most `top` of them.
    pub busiest: Vec<TopicRate>,
}

/// One topic's rate over the interval.
#[derive(Debug, Clone, PartialEq)]
pub struct TopicRate {
    /// The topic (`feed`, `user:42`).
    pub topic: String,
    /// Broadcasts per second on it.
    pub per_sec: f64,
    /// Its subscribers in the current snapshot.
    pub subscribers: usize,
}

/// Every connection of a node at one moment (section 2's [`channels::inspect`]
/// counters), with the node's uptime: the clock rates are computed on.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ConnectionsSample {
    /// Milliseconds since the node started (see [`Snapshot::uptime_ms`]).
    pub uptime_ms: u64,
    /// Every open connection, by id.
    pub connections: Vec<ConnectionSample>,
}

/// The busiest connections and channels between two samples, by each measure, at
/// most `top` in each list (computed by s3.e14's `busiest`): what
/// `GET /observe/connections` answers and `top`'s connections view shows.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Busiest {
    /// Milliseconds between the two samples.
    pub elapsed_ms: u64,
    /// Connections open in the current sample, every one of them (the lists keep a few).
    pub connections: usize,
    /// Most messages received per second first.
    pub by_in: Vec<ConnectionRate>,
    /// Most messages sent per second first.
    pub by_out: Vec<ConnectionRate>,
    /// Most bytes per second, received and sent together, first.
    pub by_bytes: Vec<ConnectionRate>,
    /// Longest outbound queue first: the clients falling behind.
    pub by_queue: Vec<ConnectionRate>,
    /// Deepest mailbox first, every connection's channels together: the channels
    /// falling behind.
    pub channels_by_mailbox: Vec<ChannelRate>,
}

/// One connection over the interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectionRate {
    /// The endpoint's number for it (`conn` in its log lines).
    pub id: u64,
    /// Its socket id (`user_socket:42`), if `connect` gave one.
    pub socket_id: Option<String>,
    /// Milliseconds since it opened.
    pub age_ms: u64,
    /// Messages received per second.
    pub in_per_sec: f64,
    /// Messages sent per second.
    pub out_per_sec: f64,
    /// Bytes received per second.
    pub bytes_in_per_sec: f64,
    /// Bytes sent per second.
    pub bytes_out_per_sec: f64,
    /// Frames waiting in its outbound queue now.
    pub outbound_queued: usize,
    /// The outbound queue's capacity.
    pub outbound_capacity: usize,
    /// Each of its joined channels, by topic.
    pub channels: Vec<ChannelRate>,
}

/// One joined channel over the interval.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChannelRate {
    /// The connection it belongs to.
    pub connection: u64,
    /// Its topic.
    pub topic: String,
    /// Milliseconds since it was joined.
    pub age_ms: u64,
    /// Messages it took from its mailbox per second.
    pub in_per_sec: f64,
    /// Frames it sent itself (pushes, replies) per second.
    pub out_per_sec: f64,
    /// Messages waiting in its mailbox now.
    pub mailbox: usize,
    /// The mailbox's capacity.
    pub mailbox_capacity: usize,
}

/// A pubsub that counts what goes through it, then hands it to the real one.
///
/// Broadcasts that arrive from other nodes are delivered by the inner pubsub
/// directly and are not counted here: the rates are what *this* node publishes.
pub struct ObservedPubSub {
    inner: Arc<dyn PubSub>,
    topics: Mutex<BTreeMap<String, TopicStats>>,
    broadcasts: AtomicU64,
}

impl ObservedPubSub {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn PubSub>) -> ObservedPubSub {
        ObservedPubSub {
            inner,
            topics: Mutex::new(BTreeMap::new()),
            broadcasts: AtomicU64::new(0),
        }
    }

    /// Every topic with subscribers, and its counters.
    pub fn topics(&self) -> BTreeMap<String, TopicStats> {
        self.lock().clone()
    }

    /// Broadcasts published since the start.
    pub fn broadcasts(&self) -> u64 {
        self.broadcasts.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, TopicStats>> {
        self.topics.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count(&self, topic: &str) {
        self.broadcasts.fetch_add(1, Ordering::Relaxed);
        // Only topics somebody listens to are kept: counting broadcasts to topics
        // nobody joined would let any client grow the map without bound.
        if let Some(stats) = self.lock().get_mut(topic) {
            stats.broadcasts += 1;
        }
    }
}

impl PubSub for ObservedPubSub {
    fn subscribe(&self, topic: &str, id: SubscriberId, subscriber: Arc<dyn Subscriber>) {
        self.lock()
            .entry(topic.to_owned())
            .or_insert(TopicStats {
                subscribers: 0,
                broadcasts: 0,
            })
            .subscribers += 1;
        self.inner.subscribe(topic, id, subscriber);
    }

    fn unsubscribe(&self, topic: &str, id: SubscriberId) {
        {
            let mut topics = self.lock();
            if let Some(stats) = topics.get_mut(topic) {
                stats.subscribers = stats.subscribers.saturating_sub(1);
                if stats.subscribers == 0 {
                    topics.remove(topic);
                }
            }
        }
        self.inner.unsubscribe(topic, id);
    }

    fn broadcast(&self, broadcast: Broadcast) -> usize {
        self.count(broadcast.topic());
        self.inner.broadcast(broadcast)
    }

    fn local_broadcast(&self, broadcast: Broadcast) -> usize {
        self.count(broadcast.topic());
        self.inner.local_broadcast(broadcast)
    }

    fn node_name(&self) -> &str {
        self.inner.node_name()
    }

    fn flush(&self) -> Flushing<'_> {
        self.inner.flush()
    }
}

/// Fetches `{base}/observe` (`http://127.0.0.1:4000`) and parses the snapshot.
///
/// A hand-written HTTP/1.1 GET over a TCP stream: one request, `Connection: close`,
/// read to the end. Enough for a loopback dev tool; errors say what to check.
pub async fn fetch(base: &str) -> anyhow::Result<Snapshot> {
    get_json(base, "/observe").await
}

/// Fetches `{base}/observe/connections?top={top}`: the busiest connections and
/// channels since the previous time anyone asked (s3.e14). A node whose s3.e14 is
/// not done answers 501, and the error carries its explanation.
pub async fn fetch_connections(base: &str, top: usize) -> anyhow::Result<Busiest> {
    get_json(base, &format!("/observe/connections?top={top}")).await
}

async fn get_json<T: serde::de::DeserializeOwned>(base: &str, path: &str) -> anyhow::Result<T> {
    let authority = base
        .strip_prefix("http://")
        .ok_or_else(|| {
            anyhow::anyhow!("expected an http:// URL such as http://127.0.0.1:4000, got {base:?}")
        })?
        .trim_end_matches('/');
    let exchange = async {
        let mut stream = tokio::net::TcpStream::connect(authority).await?;
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut response = Vec::new();
        // Bounded: a snapshot is a few KiB; anything past 4 MiB is not a node.
        (&mut stream)
            .take(4 << 20)
            .read_to_end(&mut response)
            .await?;
        Ok::<_, std::io::Error>(response)
    };
    let response = tokio::time::timeout(Duration::from_secs(2), exchange)
        .await
        .map_err(|_| anyhow::anyhow!("{base} did not answer within 2 s"))?
        .map_err(|e| {
            anyhow::anyhow!("cannot reach a node at {base}: {e} (is `serve` running there?)")
        })?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| anyhow::anyhow!("{base} sent a truncated HTTP response"))?;
    let status = head.lines().next().unwrap_or_default();
    if status.contains(" 501 ") {
        // The node explains what it cannot serve yet (an exercise not done).
        anyhow::bail!("{}", body.trim());
    }
    if !status.contains(" 200 ") {
        anyhow::bail!("GET {base}{path} answered {status:?}: is this a section 3 node?");
    }
    serde_json::from_str(body).map_err(|e| {
        anyhow::anyhow!("GET {base}{path} sent JSON that is not what a section 3 node sends: {e}")
    })
}
