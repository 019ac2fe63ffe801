//! The section's app: a presence endpoint at `/socket` serving `room:*` with your
//! channel (start) or the reference (solution), on a tracker that gossips over a PubSub.

use std::sync::Arc;

use section2_channels::app::Implementation;
use section2_channels::{ChannelRouter, Endpoint, PubSub};

use crate::presence::{PresenceTracker, UserMeta};
use crate::tracker::pubsub_transport::PubSubTransport;
use crate::tracker::{ConfigError, Diff, Tracker, TrackerConfig};

/// The topics each exercise serves, for `implementation`, with `tracker` as shared state.
pub fn channels(implementation: Implementation, tracker: PresenceTracker) -> ChannelRouter {
    macro_rules! routes {
        ($imp:ident) => {{
            use crate::$imp::part1;
            ChannelRouter::new()
                .state(tracker)
                .channel::<part1::presence_room::RoomChannel>("room:*")
        }};
    }
    match implementation {
        Implementation::Start => routes!(start),
        Implementation::Solution => routes!(solution),
    }
}

/// One node of the presence app: its endpoint and its tracker.
#[derive(Clone)]
pub struct PresenceNode {
    /// The socket endpoint (mount it with `endpoint.routes("/socket")`).
    pub endpoint: Endpoint,
    /// This node's tracker.
    pub tracker: PresenceTracker,
}

impl PresenceNode {
    /// Starts node `node` on `pubsub` (shared with the other nodes of the cluster).
    /// Must run inside a tokio runtime: the tracker's shards are spawned on it.
    pub fn start(
        implementation: Implementation,
        pubsub: Arc<dyn PubSub>,
        node: &str,
        config: TrackerConfig,
    ) -> Result<PresenceNode, ConfigError> {
        let transport = Arc::new(PubSubTransport::new(pubsub.clone(), node));
        let handler = |_diff: &Diff<UserMeta>| {};
        let tracker = Tracker::start("presence", transport, handler, config)?;
        let endpoint = Endpoint::builder(channels(implementation, tracker.clone()))
            .pubsub(pubsub)
            .build();
        Ok(PresenceNode { endpoint, tracker })
    }
}
