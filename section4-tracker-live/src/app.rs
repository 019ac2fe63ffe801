//! The section's app: a presence endpoint at `/socket` serving `room:*` with your
//! channel (start) or the reference (solution), on a tracker that gossips over a PubSub.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use channels::{Broadcast, ChannelRouter, CheckOrigin, Endpoint, LocalPubSub, PubSub};
use serde_json::Value;
use tracker::presence::{PresenceTracker, UserMeta};
use tracker::pubsub_transport::PubSubTransport;
use tracker::{ConfigError, Diff, Tracker, TrackerConfig};

use crate::Implementation;

/// The topics each exercise serves, for `implementation`, with `tracker` as shared state.
pub fn channels(implementation: Implementation, tracker: PresenceTracker) -> ChannelRouter {
    macro_rules! routes {
        ($imp:ident) => {{
            use crate::$imp::part1;
            ChannelRouter::new()
                .state(tracker)
                .channel::<part1::e01_presence_room::RoomChannel>("room:*")
                .channel::<part1::e03_presence_channel::ChatChannel>("chat:*")
        }};
    }
    match implementation {
        Implementation::Start => routes!(start),
        Implementation::Solution => routes!(solution),
    }
}

/// How many `handle_diff` lines a node keeps (the oldest go first).
pub const DIFF_LOG_CAPACITY: usize = 1000;

/// One node of the presence app: its endpoint and its tracker.
#[derive(Clone)]
pub struct PresenceNode {
    /// The socket endpoint (mount it with `endpoint.routes("/socket")`).
    pub endpoint: Endpoint,
    /// This node's tracker.
    pub tracker: PresenceTracker,
    /// This node's own pubsub (its channels' and live views' broadcasts).
    pub local: Arc<dyn PubSub>,
    diff_log: Arc<Mutex<VecDeque<String>>>,
}

impl PresenceNode {
    /// Starts node `node`, its tracker gossiping on `cluster` (the PubSub shared with
    /// the other nodes). Must run inside a tokio runtime: the shards are spawned on it.
    ///
    /// The node's channels get a pubsub of their own: several nodes in one process
    /// (tests, the two-port demo) must not see each other's channel broadcasts, only
    /// what their trackers replicate, as separate machines would.
    pub fn start(
        implementation: Implementation,
        cluster: Arc<dyn PubSub>,
        node: &str,
        config: TrackerConfig,
    ) -> Result<PresenceNode, ConfigError> {
        Self::start_with_origins(
            implementation,
            cluster,
            node,
            config,
            CheckOrigin::default(),
        )
    }

    /// The same, with the web pages allowed to open its socket decided by
    /// `check_origin` (`serve --allowed-origin`).
    pub fn start_with_origins(
        implementation: Implementation,
        cluster: Arc<dyn PubSub>,
        node: &str,
        config: TrackerConfig,
        check_origin: CheckOrigin,
    ) -> Result<PresenceNode, ConfigError> {
        let transport = Arc::new(PubSubTransport::new(cluster, node));
        let diff_log = Arc::new(Mutex::new(VecDeque::new()));
        let local: Arc<dyn PubSub> = Arc::new(LocalPubSub::named(node));
        let handler = {
            let diff_log = diff_log.clone();
            let node = node.to_owned();
            let local = local.clone();
            // Runs inside the tracker's shard: quick, never blocking.
            move |diff: &Diff<UserMeta>| {
                broadcast_presence_diffs(implementation, local.as_ref(), diff);
                live::presence::notify_presence_pages(local.as_ref(), diff);
                let lines = describe(implementation, &node, diff);
                let mut log = diff_log.lock().unwrap_or_else(|e| e.into_inner());
                for line in lines {
                    tracing::info!(target: "handle_diff", "{line}");
                    if log.len() == DIFF_LOG_CAPACITY {
                        log.pop_front();
                    }
                    log.push_back(line);
                }
            }
        };
        let tracker = Tracker::start("presence", transport, handler, config)?;
        let endpoint = Endpoint::builder(channels(implementation, tracker.clone()))
            .pubsub(local.clone())
            .check_origin(check_origin)
            .build();
        Ok(PresenceNode {
            endpoint,
            tracker,
            local,
            diff_log,
        })
    }

    /// The lines `handle_diff` produced on this node so far (s4.e2's `describe_diff`).
    pub fn diff_log(&self) -> Vec<String> {
        let log = self.diff_log.lock().unwrap_or_else(|e| e.into_inner());
        log.iter().cloned().collect()
    }
}

/// `implementation`'s s4.e2 description of a diff; a panic (the untouched `todo!()`)
/// becomes one line saying so, not a dead tracker shard.
fn describe(implementation: Implementation, node: &str, diff: &Diff<UserMeta>) -> Vec<String> {
    let describe = match implementation {
        Implementation::Start => crate::start::part1::e02_handle_diff::describe_diff,
        Implementation::Solution => crate::solution::part1::e02_handle_diff::describe_diff,
    };
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| describe(node, diff)))
        .unwrap_or_else(|_| vec![format!("{node}: describe_diff panicked (s4.e2 not done)")])
}

/// The topics whose diffs go to the clients as `presence_diff` (s4.e3's channel).
pub const PRESENCE_TOPICS: &str = "chat:";

/// Presence's half of `handle_diff`: each node tells its **own** subscribers
/// (`local_broadcast`), since every node runs this for every change.
fn broadcast_presence_diffs(
    implementation: Implementation,
    local: &dyn PubSub,
    diff: &Diff<UserMeta>,
) {
    let payload_of = match implementation {
        Implementation::Start => crate::start::part1::e03_presence_channel::presence_diff,
        Implementation::Solution => crate::solution::part1::e03_presence_channel::presence_diff,
    };
    for (topic, changes) in diff {
        if !topic.starts_with(PRESENCE_TOPICS) {
            continue;
        }
        let payload =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| payload_of(changes)));
        match payload {
            Ok(Value::Object(payload)) => {
                local.local_broadcast(Broadcast::new(topic.as_ref(), "presence_diff", payload));
            }
            Ok(other) => tracing::warn!(%topic, "presence_diff must be an object, got {other}"),
            Err(_) => tracing::warn!(%topic, "presence_diff panicked (s4.e3 not done)"),
        }
    }
}
