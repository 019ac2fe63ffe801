//! Exercise s3.e6: section 2's `PubSub` across nodes, over Redis.
//!
//! - slide: slides/src/section3/part2/e06_redis_pubsub.md
//! - tests: `mod e06_redis_pubsub` in section3-production/tests/part2.rs,
//!   run by `cargo xtask check s3.e6`
//! - stuck? `cargo xtask hint s3.e6` (each hint gives away a little more)
//!
//! Every node keeps its own [`LocalPubSub`] for its own subscribers, and tells the
//! other nodes about each broadcast through one Redis channel. Channels cannot tell
//! the difference: they still call `broadcast` on an `Arc<dyn PubSub>`.

use std::sync::Arc;

use channels::pubsub::{Broadcast, Flushing, LocalPubSub, PubSub, Subscriber, SubscriberId};
use cluster::{DEFAULT_CHANNEL, Envelope, RedisLink};

/// A node of a cluster whose broadcasts travel through Redis.
pub struct RedisPubSub {
    node: String,
    local: Arc<LocalPubSub>,
    link: RedisLink,
}

impl RedisPubSub {
    /// Joins the cluster on the Redis at `url` as `node` (`backend@127.0.0.1`), on the
    /// default channel.
    pub async fn connect(url: &str, node: impl Into<String>) -> anyhow::Result<RedisPubSub> {
        Self::connect_on(url, DEFAULT_CHANNEL, node).await
    }

    /// Joins the cluster whose nodes share the Redis channel `channel`.
    pub async fn connect_on(
        url: &str,
        channel: &str,
        node: impl Into<String>,
    ) -> anyhow::Result<RedisPubSub> {
        let node = node.into();
        let local = Arc::new(LocalPubSub::named(node.clone()));
        let receiver = local.clone();
        let link = RedisLink::connect(url, channel, move |bytes| receive(&receiver, bytes)).await?;
        Ok(RedisPubSub { node, local, link })
    }

    /// The link to Redis: its counters (published, lost, received) and state.
    pub fn link(&self) -> &RedisLink {
        &self.link
    }

    /// This node's own subscribers.
    pub fn local(&self) -> &LocalPubSub {
        &self.local
    }
}

/// Hands a message from Redis to this node's subscribers, unless this node sent it
/// (it delivered its own broadcasts locally already: each message arrives once).
pub fn receive(local: &LocalPubSub, bytes: &[u8]) {
    // TODO(s3.e6): slides/src/section3/part2/e06_redis_pubsub.md
    todo!("decode the envelope; skip this node's own messages; deliver the rest locally")
}

impl PubSub for RedisPubSub {
    fn subscribe(&self, topic: &str, id: SubscriberId, subscriber: Arc<dyn Subscriber>) {
        self.local.subscribe(topic, id, subscriber);
    }

    fn unsubscribe(&self, topic: &str, id: SubscriberId) {
        self.local.unsubscribe(topic, id);
    }

    fn broadcast(&self, broadcast: Broadcast) -> usize {
        // TODO(s3.e6): tell the other nodes (an Envelope with from_node, through
        // self.link), then deliver to this node's subscribers
        todo!("publish to the cluster, deliver locally")
    }

    fn local_broadcast(&self, broadcast: Broadcast) -> usize {
        self.local.local_broadcast(broadcast)
    }

    fn node_name(&self) -> &str {
        &self.node
    }

    // A node that stops gracefully waits here for its last broadcasts (a tracker's
    // goodbye) to reach Redis before it exits.
    fn flush(&self) -> Flushing<'_> {
        Box::pin(self.link.flush())
    }
}
