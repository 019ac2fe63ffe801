//! Exercise s1.e6: wire the pipeline.
//!
//! - slide: slides/src/section1/part2/e06_consumers.md
//! - tests: `mod e06_consumers` in section1-pipelines/tests/part2.rs,
//!   run by `cargo xtask check s1.e6`
//! - stuck? `cargo xtask hint s1.e6` (each hint gives away a little more)
//!
//! producer -> consumers -> resource: each consumer pulls events with its demand and
//! processes them one at a time, so N consumers means at most N users of the resource.

use tokio::task::JoinSet;

use pipeline::{Demand, Processor, Producer};

/// Starts `consumers` consumers on `producer`. Each subscribes with `demand` and
/// processes its events one after the other; each ends when the producer is
/// closed and empty. The caller owns the tasks (dropping the set aborts them).
pub fn start_consumers(
    producer: &Producer,
    processor: Processor,
    consumers: usize,
    demand: Demand,
) -> JoinSet<()> {
    // TODO(s1.e6): for each consumer, subscribe to the producer and spawn (into a
    // JoinSet) a task that loops: next event -> `processor.process(event).await`.
    todo!("s1.e6: spawn `consumers` tasks, each pulling from its own subscription")
}
