//! A [`Transport`] over section 2's [`PubSub`]: the trackers of every node gossip on the
//! same publish/subscribe system the channels use, locally ([`LocalPubSub`]) or across
//! processes (section 3 puts Redis behind the same trait).
//!
//! [`LocalPubSub`]: channels::LocalPubSub
//!
//! Gossip travels as a JSON payload `{"node": sender, "gossip": ...}`:
//! - a broadcast goes to the shard's topic; every node subscribes to it and ignores what
//!   it sent itself (the sender's node name is in the payload, so this works whatever
//!   the PubSub does with `broadcast_from` across nodes);
//! - PubSub has no "send to one node", so a direct send is a broadcast on a topic only
//!   that node subscribes to: `<topic>@<node>`.
//!
//! Delivery never blocks the publisher (a PubSub rule): each subscription feeds a
//! bounded queue and drops when it is full; the tracker repairs lost gossip itself.

use std::marker::PhantomData;
use std::sync::Arc;

use channels::pubsub::{Broadcast, Flushing, PubSub, Subscriber, Subscription};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use tokio::sync::mpsc;

use super::transport::{Gossip, Transport};

/// Capacity of each gossip subscription's queue.
const INBOX_CAPACITY: usize = 1024;

/// The event name gossip broadcasts carry.
pub const GOSSIP_EVENT: &str = "tracker_gossip";

/// One node's tracker transport over a shared [`PubSub`].
pub struct PubSubTransport<M> {
    pubsub: Arc<dyn PubSub>,
    node: String,
    _meta: PhantomData<fn() -> M>,
}

impl<M> PubSubTransport<M> {
    /// A transport for the node `node` on `pubsub`. Several nodes may share one
    /// in-process pubsub (a cluster in one test), so the name is ours, not the pubsub's.
    pub fn new(pubsub: Arc<dyn PubSub>, node: impl Into<String>) -> Self {
        Self {
            pubsub,
            node: node.into(),
            _meta: PhantomData,
        }
    }

    /// The topic only `node` subscribes to, for direct sends.
    pub fn direct_topic(topic: &str, node: &str) -> String {
        format!("{topic}@{node}")
    }
}

impl<M: Serialize> PubSubTransport<M> {
    fn publish(&self, topic: &str, message: &Gossip<M>) {
        let gossip = match serde_json::to_value(message) {
            Ok(gossip) => gossip,
            Err(error) => {
                // Only a meta type whose Serialize fails gets here: a bug, not load.
                tracing::error!(%error, "tracker gossip could not be encoded; dropped");
                return;
            }
        };
        let mut payload = serde_json::Map::new();
        payload.insert("node".into(), Value::String(self.node.clone()));
        payload.insert("gossip".into(), gossip);
        self.pubsub
            .broadcast(Broadcast::new(topic, GOSSIP_EVENT, payload));
    }
}

/// Decodes gossip from other nodes into a shard's bounded queue.
struct GossipInbox<M> {
    node: String,
    tx: mpsc::Sender<Arc<Gossip<M>>>,
}

impl<M: DeserializeOwned + Send + Sync + 'static> Subscriber for GossipInbox<M> {
    fn deliver(&self, broadcast: &Arc<Broadcast>) {
        let payload = broadcast.payload();
        if broadcast.event() != GOSSIP_EVENT
            || payload.get("node").and_then(Value::as_str) == Some(self.node.as_str())
        {
            return;
        }
        let Some(gossip) = payload.get("gossip") else {
            tracing::warn!(topic = broadcast.topic(), "gossip without a body; ignored");
            return;
        };
        match Gossip::<M>::deserialize(gossip) {
            Ok(gossip) => {
                if self.tx.try_send(Arc::new(gossip)).is_err() {
                    tracing::debug!(node = %self.node, "tracker inbox full; gossip dropped");
                }
            }
            Err(error) => {
                tracing::warn!(%error, topic = broadcast.topic(), "malformed gossip; ignored")
            }
        }
    }
}

impl<M> Transport<M> for PubSubTransport<M>
where
    M: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    fn node(&self) -> &str {
        &self.node
    }

    fn subscribe(&self, topic: &str) -> mpsc::Receiver<Arc<Gossip<M>>> {
        let (tx, rx) = mpsc::channel(INBOX_CAPACITY);
        let inbox: Arc<dyn Subscriber> = Arc::new(GossipInbox {
            node: self.node.clone(),
            tx: tx.clone(),
        });
        let shared = Subscription::new(self.pubsub.clone(), topic, inbox.clone());
        let direct = Subscription::new(
            self.pubsub.clone(),
            Self::direct_topic(topic, &self.node),
            inbox,
        );
        // The trait promises that dropping the receiver unsubscribes: hold the
        // subscriptions until the queue closes. (`deliver` cannot unsubscribe itself:
        // it runs under the pubsub's read lock.)
        tokio::spawn(async move {
            tx.closed().await;
            drop((shared, direct));
        });
        rx
    }

    fn broadcast_from(&self, topic: &str, message: Arc<Gossip<M>>) {
        self.publish(topic, &message);
    }

    fn direct_send(&self, node: &str, topic: &str, message: Arc<Gossip<M>>) {
        self.publish(&Self::direct_topic(topic, node), &message);
    }

    fn flush(&self) -> Flushing<'_> {
        // Over Redis, a publish is queued; the goodbye must reach Redis before exit.
        self.pubsub.flush()
    }
}
