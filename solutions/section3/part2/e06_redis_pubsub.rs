//! s3.e6: section 2's `PubSub` across nodes, over Redis.
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

// ANCHOR: receive
/// Hands a message from Redis to this node's subscribers, unless this node sent it
/// (it delivered its own broadcasts locally already: each message arrives once).
pub fn receive(local: &LocalPubSub, bytes: &[u8]) {
    let envelope = match Envelope::decode(bytes) {
        Ok(envelope) => envelope,
        Err(error) => {
            // Someone else publishes on our channel, or a node runs another version:
            // say so and carry on, one bad message must not stop the subscription.
            tracing::warn!(%error, "ignoring a malformed cluster message");
            metrics::counter!("cluster.messages.malformed").increment(1);
            return;
        }
    };
    if envelope.from_node == local.node_name() {
        return;
    }
    metrics::counter!("cluster.messages.received").increment(1);
    local.local_broadcast(Broadcast::new(
        envelope.topic,
        envelope.event,
        envelope.payload,
    ));
}
// ANCHOR_END: receive

impl PubSub for RedisPubSub {
    fn subscribe(&self, topic: &str, id: SubscriberId, subscriber: Arc<dyn Subscriber>) {
        self.local.subscribe(topic, id, subscriber);
    }

    fn unsubscribe(&self, topic: &str, id: SubscriberId) {
        self.local.unsubscribe(topic, id);
    }

    // ANCHOR: broadcast
    fn broadcast(&self, broadcast: Broadcast) -> usize {
        let envelope = Envelope {
            from_node: self.node.clone(),
            topic: broadcast.topic().to_owned(),
            event: broadcast.event().to_owned(),
            payload: broadcast.payload().clone(),
        };
        // Queued, never awaited: a slow or absent Redis costs this node's subscribers
        // nothing, and the link counts what it could not send.
        self.link.publish(envelope.encode());
        // Local subscribers directly, not through a round trip to Redis: faster,
        // keeps `broadcast_from`'s sender skip, and works while Redis is down.
        self.local.local_broadcast(broadcast)
    }
    // ANCHOR_END: broadcast

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
