//! Exercise s4.e4: the tracker-gated pipeline.
//!
//! Before the expensive call, ask the tracker whether anyone watches the reading's
//! topic; if nobody does, skip the work.
//!
//! - slide: slides/src/section4/part1/e04_gated_pipeline.md
//! - tests: `mod e04_gated_pipeline` in section4-tracker-live/tests/gate.rs,
//!   run by `cargo xtask check s4.e4`
//! - stuck? `cargo xtask hint s4.e4` (each hint gives away a little more)

use channels::Broadcast;

use tracker::gated::{Outcome, READING_EVENT, SensorReading, Stage};
use tracker::presence::PresenceTracker;

/// True when at least one presence is tracked on `topic`, on any node that is up.
///
/// The tracker answers from this node's own copy: no network round trip per reading.
// TODO(s4.e4): ask the tracker; see slides/src/section4/part1/e04_gated_pipeline.md
pub async fn should_process(tracker: &PresenceTracker, topic: &str) -> bool {
    todo!("s4.e4: is anyone tracked on this topic?")
}

/// Handles one reading: skip it when nobody watches its topic; otherwise enrich it (the
/// expensive call, `stage.enrich`) and broadcast it as `reading` on its topic.
// TODO(s4.e4): gate, then enrich and broadcast; see slides/src/section4/part1/e04_gated_pipeline.md
pub async fn handle_reading(stage: &Stage, reading: SensorReading) -> Outcome {
    todo!("s4.e4: should_process, then stage.enrich and stage.pubsub.broadcast")
}
