//! What a shard needs from the network: three PubSub primitives and a node name.
//!
//! The section 3 PubSub (local or over Redis) implements this in a later part; the tests
//! use the in-memory [`Hub`](super::hub::Hub). Sends never block the shard: an
//! implementation with a full outbound queue drops the message. The tracker repairs
//! lost gossip on its own (heartbeats carry clocks, gaps trigger transfer requests).

use std::sync::Arc;

use channels::pubsub::Flushing;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::Tracked;
use super::delta_generation::Transfer;
use super::replica::ReplicaRef;
use super::state::{Delta, VClock, pairs};

// ANCHOR: gossip
/// The messages shards exchange on their gossip topic. Serializable (with serde), so a
/// transport over Redis or any byte pipe can encode them as it likes.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(bound(serialize = "M: Serialize", deserialize = "M: Deserialize<'de>"))]
pub enum Gossip<M> {
    /// Every broadcast period: the changes since the last one (or nothing, every few
    /// silent periods) and the sender's clock, so receivers notice what they miss.
    Heartbeat {
        /// Sender.
        from: ReplicaRef,
        /// Local changes since the previous heartbeat, if any.
        delta: Option<Delta<Tracked<M>>>,
        /// The sender's clock over replicas it believes up.
        #[serde(with = "pairs")]
        clocks: VClock,
    },
    /// "You know things I don't: send them" (sent to one replica).
    TransferReq {
        /// Requester.
        from: ReplicaRef,
        /// The replica asked (a restarted node ignores requests for its previous self).
        to: ReplicaRef,
        /// The requester's clock: what it already has.
        #[serde(with = "pairs")]
        clocks: VClock,
    },
    /// The answer: a delta generation or the whole set.
    TransferAck {
        /// Sender.
        from: ReplicaRef,
        /// Requester.
        to: ReplicaRef,
        /// What it lacked.
        transfer: Transfer<Tracked<M>>,
    },
    /// The sender is shutting down on purpose: drop its presences now, as a
    /// permdown would after the permdown period. Its replica never comes back (a
    /// restart is a new replica), so forgetting it is final, and a later merge of
    /// its entries from a third node is ignored as coming from an unknown replica.
    GracefulPermdown {
        /// Sender.
        from: ReplicaRef,
    },
}
// ANCHOR_END: gossip

impl<M> Gossip<M> {
    /// The sending replica.
    pub fn from(&self) -> &ReplicaRef {
        match self {
            Gossip::Heartbeat { from, .. }
            | Gossip::TransferReq { from, .. }
            | Gossip::TransferAck { from, .. }
            | Gossip::GracefulPermdown { from } => from,
        }
    }

    /// A short name of the message kind, for logs and spies.
    pub fn kind(&self) -> GossipKind {
        match self {
            Gossip::Heartbeat { delta: Some(_), .. } => GossipKind::Heartbeat,
            Gossip::Heartbeat { delta: None, .. } => GossipKind::EmptyHeartbeat,
            Gossip::TransferReq { .. } => GossipKind::TransferReq,
            Gossip::TransferAck { .. } => GossipKind::TransferAck,
            Gossip::GracefulPermdown { .. } => GossipKind::GracefulPermdown,
        }
    }
}

/// The kinds of [`Gossip`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GossipKind {
    /// A heartbeat carrying a delta.
    Heartbeat,
    /// A heartbeat with only a clock.
    EmptyHeartbeat,
    /// A transfer request.
    TransferReq,
    /// A transfer answer.
    TransferAck,
    /// A graceful shutdown notice.
    GracefulPermdown,
}

// ANCHOR: transport
/// The three PubSub primitives a shard uses, plus the local node's name.
pub trait Transport<M>: Send + Sync + 'static {
    /// This node's name (stable across restarts).
    fn node(&self) -> &str;
    /// Starts receiving gossip published on `topic` (by other nodes, or sent directly to
    /// this node). Dropping the receiver unsubscribes. The queue is bounded.
    fn subscribe(&self, topic: &str) -> mpsc::Receiver<Arc<Gossip<M>>>;
    /// Publishes to every other node subscribed to `topic` (not to ourselves).
    fn broadcast_from(&self, topic: &str, message: Arc<Gossip<M>>);
    /// Sends to one node's subscriber of `topic`.
    fn direct_send(&self, node: &str, topic: &str, message: Arc<Gossip<M>>);
    /// Completes once what was sent so far has left this node (a transport that sends
    /// in the background waits for its queue), so a goodbye sent just before the
    /// process exits is not lost with it. Default: sends are done when they return.
    fn flush(&self) -> Flushing<'_> {
        Box::pin(std::future::ready(()))
    }
}
// ANCHOR_END: transport
