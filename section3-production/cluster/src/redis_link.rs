//! A node's link to Redis: one connection to publish on, one subscribed.
//!
//! Redis PubSub is fire-and-forget: a message published while a node is not
//! subscribed is never delivered to it, and a message published while Redis is down
//! goes nowhere. The link does not hide that. It reconnects on its own, and it
//! **counts** what it could not send, so a dashboard shows the loss (at-most-once
//! delivery, stated rather than discovered).
//!
//! Publishing never waits: [`RedisLink::publish`] puts the message on a bounded queue
//! and a background task sends it. A broadcast from a channel must not stall because
//! Redis is slow or gone; when the queue is full, the message is dropped and counted.
//! A node about to exit waits for that queue with [`RedisLink::flush`], so its last
//! messages are not dropped with the process.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures::StreamExt;
use redis::AsyncCommands;
use redis::aio::{MultiplexedConnection, PubSub};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep, timeout};

/// Messages waiting to be published; beyond this they are dropped (and counted).
pub const OUTBOUND_QUEUE: usize = 10_000;
/// How long connecting to Redis may take before the attempt counts as failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long one PUBLISH may take; a stalled Redis must not stall the queue forever.
const PUBLISH_TIMEOUT: Duration = Duration::from_secs(2);
/// Reconnect delays double from the first to the last, so a Redis that is down for
/// a minute is not hammered by every node of the cluster.
const BACKOFF_FIRST: Duration = Duration::from_millis(50);
const BACKOFF_MAX: Duration = Duration::from_secs(2);

/// What the subscriber calls with each message's bytes.
type OnMessage = Box<dyn Fn(&[u8]) + Send + Sync>;

/// What the publisher task takes from its queue, in order.
enum Outgoing {
    /// A message to PUBLISH.
    Message(Vec<u8>),
    /// Everything queued before this has been published (or counted lost): say so.
    Flush(oneshot::Sender<()>),
}

/// What a link has done so far (monotonic counters).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Messages Redis accepted.
    pub published: u64,
    /// Messages that never reached Redis: queue full, Redis down, publish failed.
    pub lost: u64,
    /// Messages received on the subscription (this node's own included).
    pub received: u64,
    /// Times the subscription was re-established after a loss.
    pub resubscribed: u64,
}

#[derive(Default)]
struct Counters {
    /// The Redis channel, as a tag: broadcasts and heartbeats are lost separately.
    channel: String,
    published: AtomicU64,
    lost: AtomicU64,
    received: AtomicU64,
    resubscribed: AtomicU64,
}

impl Counters {
    fn lose(&self, why: &str) {
        self.lost.fetch_add(1, Ordering::Relaxed);
        metrics::counter!(
            "cluster.messages.lost",
            "reason" => why.to_owned(),
            "channel" => self.channel.clone()
        )
        .increment(1);
    }
}

/// A node's two connections to Redis, kept alive by background tasks.
///
/// Dropping the link stops both tasks.
pub struct RedisLink {
    outbound: mpsc::Sender<Outgoing>,
    counters: Arc<Counters>,
    subscribed: watch::Receiver<bool>,
    tasks: [JoinHandle<()>; 2],
}

impl RedisLink {
    /// Connects to Redis at `url` (`redis://127.0.0.1:6379`), subscribes to `channel`
    /// and starts publishing. `on_message` gets the bytes of every message published
    /// on `channel` by any node, this one included; it runs on the subscriber task and
    /// must not block.
    ///
    /// Fails if Redis cannot be reached now: a node that starts without its cluster
    /// should say so at once. Later outages are survived.
    pub async fn connect(
        url: &str,
        channel: &str,
        on_message: impl Fn(&[u8]) + Send + Sync + 'static,
    ) -> anyhow::Result<RedisLink> {
        let client = redis::Client::open(url)?;
        let subscription = subscribe(&client, channel)
            .await
            .map_err(|e| anyhow::anyhow!("cannot subscribe on Redis at {url}: {e}"))?;
        let connection = publisher_connection(&client)
            .await
            .map_err(|e| anyhow::anyhow!("cannot connect to Redis at {url}: {e}"))?;

        let counters = Arc::new(Counters {
            channel: channel.to_owned(),
            ..Counters::default()
        });
        let (outbound, queue) = mpsc::channel(OUTBOUND_QUEUE);
        let (subscribed_tx, subscribed) = watch::channel(true);
        let subscriber = tokio::spawn(run_subscriber(
            client.clone(),
            channel.to_owned(),
            subscription,
            Box::new(on_message),
            counters.clone(),
            subscribed_tx,
        ));
        let publisher = tokio::spawn(run_publisher(
            client,
            channel.to_owned(),
            connection,
            queue,
            counters.clone(),
            subscribed.clone(),
        ));
        Ok(RedisLink {
            outbound,
            counters,
            subscribed,
            tasks: [subscriber, publisher],
        })
    }

    /// Queues `message` for publishing. Never waits; returns `false` (and counts the
    /// loss) when the queue is full.
    // ANCHOR: publish
    pub fn publish(&self, message: Vec<u8>) -> bool {
        match self.outbound.try_send(Outgoing::Message(message)) {
            Ok(()) => true,
            Err(_) => {
                self.counters.lose("queue_full");
                false
            }
        }
    }
    // ANCHOR_END: publish

    /// Completes once every message queued before the call has been published (Redis
    /// answered the PUBLISH) or counted lost: for a node about to exit, so its last
    /// messages leave before the process does. Waits for room if the queue is full;
    /// bound it with the drain deadline, since a Redis that is down answers nothing.
    pub async fn flush(&self) {
        let (done, published) = oneshot::channel();
        if self.outbound.send(Outgoing::Flush(done)).await.is_ok() {
            // An error: the publisher task has stopped, nothing more will leave.
            let _ = published.await;
        }
    }

    /// The link's counters so far.
    pub fn stats(&self) -> LinkStats {
        let c = &self.counters;
        LinkStats {
            published: c.published.load(Ordering::Relaxed),
            lost: c.lost.load(Ordering::Relaxed),
            received: c.received.load(Ordering::Relaxed),
            resubscribed: c.resubscribed.load(Ordering::Relaxed),
        }
    }

    /// Whether the subscription is up right now.
    pub fn is_subscribed(&self) -> bool {
        *self.subscribed.borrow()
    }

    /// Waits until the subscription is up (at once if it is), or `limit` passes;
    /// returns whether it is up.
    pub async fn wait_subscribed(&self, limit: Duration) -> bool {
        let mut subscribed = self.subscribed.clone();
        timeout(limit, subscribed.wait_for(|up| *up))
            .await
            .is_ok_and(|r| r.is_ok())
    }
}

impl RedisLink {
    /// Stops both tasks: nothing more is published or received. Dropping the link
    /// does the same; this is for an owner that cannot drop it yet (the link's own
    /// callback may hold the last reference to its owner).
    pub fn close(&self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

impl Drop for RedisLink {
    fn drop(&mut self) {
        self.close();
    }
}

async fn subscribe(client: &redis::Client, channel: &str) -> redis::RedisResult<PubSub> {
    let mut pubsub = timeout(CONNECT_TIMEOUT, client.get_async_pubsub())
        .await
        .map_err(timed_out)??;
    // SUBSCRIBE returns once Redis confirmed it: from here on nothing published on
    // the channel is missed (while the connection lives).
    timeout(CONNECT_TIMEOUT, pubsub.subscribe(channel))
        .await
        .map_err(timed_out)??;
    Ok(pubsub)
}

async fn publisher_connection(client: &redis::Client) -> redis::RedisResult<MultiplexedConnection> {
    timeout(CONNECT_TIMEOUT, client.get_multiplexed_async_connection())
        .await
        .map_err(timed_out)?
}

fn timed_out(_: tokio::time::error::Elapsed) -> redis::RedisError {
    redis::RedisError::from(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "Redis did not answer in time",
    ))
}

/// Doubling delays between reconnect attempts, reset after a success.
struct Backoff(Duration);

impl Backoff {
    fn new() -> Self {
        Backoff(BACKOFF_FIRST)
    }
    fn next(&mut self) -> Duration {
        let now = self.0;
        self.0 = (self.0 * 2).min(BACKOFF_MAX);
        now
    }
}

async fn run_subscriber(
    client: redis::Client,
    channel: String,
    first: PubSub,
    on_message: OnMessage,
    counters: Arc<Counters>,
    subscribed: watch::Sender<bool>,
) {
    let mut current = Some(first);
    let mut backoff = Backoff::new();
    loop {
        let pubsub = match current.take() {
            Some(pubsub) => pubsub,
            None => match subscribe(&client, &channel).await {
                Ok(pubsub) => {
                    counters.resubscribed.fetch_add(1, Ordering::Relaxed);
                    metrics::counter!("cluster.redis.resubscribed").increment(1);
                    tracing::info!(channel, "subscribed to Redis again");
                    backoff = Backoff::new();
                    pubsub
                }
                Err(error) => {
                    tracing::debug!(%error, "Redis is still unreachable");
                    sleep(backoff.next()).await;
                    continue;
                }
            },
        };
        subscribed.send_replace(true);
        let mut messages = pubsub.into_on_message();
        while let Some(message) = messages.next().await {
            counters.received.fetch_add(1, Ordering::Relaxed);
            on_message(message.get_payload_bytes());
        }
        // The stream ends when the connection does (Redis restarted, network cut).
        // Everything published from now until we are subscribed again is lost to
        // this node; nothing can count it here, the publishers' side cannot either.
        subscribed.send_replace(false);
        tracing::warn!(channel, "lost the Redis subscription; reconnecting");
    }
}

async fn run_publisher(
    client: redis::Client,
    channel: String,
    first: MultiplexedConnection,
    mut queue: mpsc::Receiver<Outgoing>,
    counters: Arc<Counters>,
    subscribed: watch::Receiver<bool>,
) {
    let mut connection = Some(first);
    // Which subscription the connection was made alongside: when the subscriber has
    // reconnected since, Redis went away and this connection went with it, even if
    // it has not failed a PUBLISH yet.
    let mut made_at = counters.resubscribed.load(Ordering::Relaxed);
    let mut backoff = Backoff::new();
    let mut retry_at = Instant::now();
    while let Some(outgoing) = queue.recv().await {
        let message = match outgoing {
            Outgoing::Message(message) => message,
            Outgoing::Flush(done) => {
                // In order: every message before it has been handled.
                let _ = done.send(());
                continue;
            }
        };
        let generation = counters.resubscribed.load(Ordering::Relaxed);
        if generation != made_at || !*subscribed.borrow() {
            connection = None;
        }
        if connection.is_none() && Instant::now() >= retry_at {
            match publisher_connection(&client).await {
                Ok(fresh) => {
                    connection = Some(fresh);
                    made_at = generation;
                    backoff = Backoff::new();
                }
                Err(error) => {
                    tracing::debug!(%error, "cannot reconnect to Redis to publish");
                    // Until then, messages are dropped at once instead of each
                    // waiting for a connect timeout: a backlog would only deliver
                    // stale events late.
                    retry_at = Instant::now() + backoff.next();
                }
            }
        }
        let Some(live) = connection.as_mut() else {
            counters.lose("redis_down");
            continue;
        };
        match timeout(
            PUBLISH_TIMEOUT,
            live.publish::<_, _, i64>(&channel, message),
        )
        .await
        {
            Ok(Ok(_receivers)) => {
                counters.published.fetch_add(1, Ordering::Relaxed);
            }
            Ok(Err(error)) => {
                tracing::warn!(%error, "PUBLISH failed; the message is lost");
                counters.lose("publish_failed");
                connection = None;
            }
            Err(_) => {
                tracing::warn!("PUBLISH timed out; the message is lost");
                counters.lose("publish_timeout");
                connection = None;
            }
        }
    }
}
