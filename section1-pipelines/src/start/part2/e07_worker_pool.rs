//! Exercise s1.e7: a bounded worker pool.
//!
//! - slide: slides/src/section1/part2/e07_worker_pool.md
//! - tests: `mod e07_worker_pool` in section1-pipelines/tests/part2.rs,
//!   run by `cargo xtask check s1.e7`
//! - stuck? `cargo xtask hint s1.e7` (each hint gives away a little more)
//!
//! GenStage's ConsumerSupervisor: one dispatcher takes events and starts one task per
//! event, never more than `concurrency` at once. Unlike N consumers, a slow event does
//! not hold up the events queued behind it in the same consumer.

#[allow(unused_imports)]
use tokio::task::JoinSet;

#[allow(unused_imports)]
use pipeline::{Processor, Subscription, failure_reason};

/// Runs the pool until the producer is closed and every started event is done.
///
/// At most `concurrency` events are processed at once (it comes from the
/// configuration: `serve --drain pool:N`, 10 by default). A task that panics is
/// counted as failed with its reason; the pool carries on.
pub async fn run_pool(mut events: Subscription, processor: Processor, concurrency: usize) {
    // TODO(s1.e7): keep a JoinSet of at most `concurrency` tasks, one per event.
    // When it is full, wait for one to finish before taking the next event; when
    // the subscription ends, wait for the rest. Count a crashed task as failed.
    todo!("s1.e7: a JoinSet of at most `concurrency` tasks, one per event")
}
