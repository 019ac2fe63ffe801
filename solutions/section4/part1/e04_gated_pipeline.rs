//! s4.e4: the tracker-gated pipeline. Before the expensive call, ask the tracker
//! whether anyone watches the reading's topic; if nobody does, skip the work.

use channels::Broadcast;

use tracker::gated::{Outcome, READING_EVENT, SensorReading, Stage};
use tracker::presence::PresenceTracker;

// ANCHOR: should_process
/// True when at least one presence is tracked on `topic`, on any node that is up.
///
/// The tracker answers from this node's own copy: no network round trip per reading.
/// `count` rather than `list`: it copies no metas, so a topic with ten thousand
/// watchers costs the same one lookup as a topic with one.
pub async fn should_process(tracker: &PresenceTracker, topic: &str) -> bool {
    tracker.count(topic).await > 0
}
// ANCHOR_END: should_process

// ANCHOR: handle_reading
/// Handles one reading: skip it when nobody watches its topic; otherwise enrich it (the
/// expensive call, `stage.enrich`) and broadcast it as `reading` on its topic.
pub async fn handle_reading(stage: &Stage, reading: SensorReading) -> Outcome {
    let topic = reading.topic();
    if !should_process(&stage.tracker, &topic).await {
        return Outcome::Skipped;
    }
    let payload = stage.enrich(&reading).await;
    // Someone may have left during the call: the broadcast then reaches nobody, which
    // is fine (at most one wasted call per reading, never a lost listener).
    let reached = stage
        .pubsub
        .broadcast(Broadcast::new(topic, READING_EVENT, payload));
    Outcome::Delivered { reached }
}
// ANCHOR_END: handle_reading
