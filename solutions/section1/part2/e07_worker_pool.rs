//! Exercise s1.e7: a bounded worker pool. Slide: slides/src/section1/part2/e07_worker_pool.md
//!
//! GenStage's ConsumerSupervisor: one dispatcher takes events and starts one task per
//! event, never more than `concurrency` at once. Unlike N consumers, a slow event does
//! not hold up the events queued behind it in the same consumer.

use tokio::task::JoinSet;

use pipeline::{Processor, Subscription, failure_reason};

/// Runs the pool until the producer is closed and every started event is done.
///
/// At most `concurrency` events are processed at once (it comes from the
/// configuration: `serve --drain pool:N`, 10 by default). A task that panics is
/// counted as failed with its reason; the pool carries on.
// ANCHOR: run_pool
pub async fn run_pool(mut events: Subscription, processor: Processor, concurrency: usize) {
    let concurrency = concurrency.max(1);
    let mut tasks = JoinSet::new();
    loop {
        // Make room first, then take an event: while the pool is full, events stay
        // in the producer's buffer where the queue depth gauge can see them.
        if tasks.len() >= concurrency {
            if let Some(done) = tasks.join_next().await {
                record(&processor, done);
            }
            continue;
        }
        // Also reap tasks that finished meanwhile, so the set never grows beyond
        // the bound with finished-but-unjoined entries.
        while let Some(done) = tasks.try_join_next() {
            record(&processor, done);
        }
        let Some(event) = events.next().await else {
            break;
        };
        let processor = processor.clone();
        tasks.spawn(async move { processor.process(event).await });
    }
    while let Some(done) = tasks.join_next().await {
        record(&processor, done);
    }
}
// ANCHOR_END: run_pool

fn record(processor: &Processor, done: Result<(), tokio::task::JoinError>) {
    if let Err(error) = done {
        let reason = failure_reason(error);
        tracing::error!(%reason, "a pool worker crashed; its event is counted as failed");
        processor.metrics().failed(None, reason, false);
    }
}
