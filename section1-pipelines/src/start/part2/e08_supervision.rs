//! Exercise s1.e8 (hard mode): supervision.
//!
//! - slide: slides/src/section1/part2/e08_supervision.md
//! - tests: `mod e08_supervision` in section1-pipelines/tests/part2.rs,
//!   run by `cargo xtask check s1.e8`
//! - stuck? `cargo xtask hint s1.e8` (each hint gives away a little more)
//!
//! A worker pool that contains crashes: a worker that panics is replaced and its
//! event retried once; a second crash records the event as failed, with the panic as
//! its reason. Too many restarts too fast is a crash loop: the supervisor stops,
//! accounts for every event it still held, and says so.

#[allow(unused_imports)]
use std::collections::{HashMap, VecDeque};

#[allow(unused_imports)]
use tokio::task::JoinSet;
#[allow(unused_imports)]
use tokio::time::Instant;

#[allow(unused_imports)]
use pipeline::{CrashLoop, Event, Processor, RestartIntensity, Subscription, failure_reason};

/// Runs a supervised pool of at most `concurrency` workers until the producer is
/// closed and drained (`Ok`), or until restarts exceed `intensity` (`Err`).
///
/// Every event ends processed, or failed with a reason; none is lost without a count.
pub async fn supervise(
    mut events: Subscription,
    processor: Processor,
    concurrency: usize,
    intensity: RestartIntensity,
) -> Result<(), CrashLoop> {
    // TODO(s1.e8): like the pool, but remember which event each task holds
    // (`JoinSet::spawn` returns a handle with the task's id; `join_next_with_id`
    // says which task ended). On a panic: count a restart (`metrics().restarted()`),
    // retry the event once (`metrics().retried()`), and on a second panic record it
    // with `metrics().failed(Some(id), reason, false)`. More restarts than
    // `intensity` allows within its window: stop, count everything still held as
    // failed, and return `Err(CrashLoop { .. })`.
    todo!(
        "s1.e8: supervise the workers: restart, retry once, fail with a reason, stop a crash loop"
    )
}
