//! Exercise s1.e6: wire the pipeline. Slide: slides/src/section1/part2/e06_consumers.md
//!
//! producer -> consumers -> resource: each consumer pulls events with its demand and
//! processes them one at a time, so N consumers means at most N users of the resource.

use tokio::task::JoinSet;

use pipeline::{Demand, Processor, Producer};

/// Starts `consumers` consumers on `producer`. Each subscribes with `demand` and
/// processes its events one after the other; each ends when the producer is
/// closed and empty. The caller owns the tasks (dropping the set aborts them).
// ANCHOR: start_consumers
pub fn start_consumers(
    producer: &Producer,
    processor: Processor,
    consumers: usize,
    demand: Demand,
) -> JoinSet<()> {
    let mut tasks = JoinSet::new();
    for _ in 0..consumers {
        // A subscription per consumer: each asks for its own events, and an event
        // handed to one consumer is never seen by another.
        let mut events = producer.subscribe(demand);
        let processor = processor.clone();
        tasks.spawn(async move {
            // Awaiting each event before taking the next is what bounds this
            // consumer to one user of the resource.
            while let Some(event) = events.next().await {
                processor.process(event).await;
            }
        });
    }
    tasks
}
// ANCHOR_END: start_consumers
