//! Exercise s3.e4: a poller that reports what the process costs, every period.
//!
//! - slide: slides/src/section3/part1/e04_poller.md
//! - tests: `mod e04_poller` in section3-production/tests/part1.rs,
//!   run by `cargo xtask check s3.e4`
//! - stuck? `cargo xtask hint s3.e4` (each hint gives away a little more)
//!
//! Counters and timings are recorded where things happen; a gauge of the whole
//! process (memory, tasks) has no such place, so something must look at it
//! regularly. That is all a poller is: a loop on a timer.

use std::time::Duration;

use metrics::gauge;
use observability::process::ProcessSample;
use tokio::time::{MissedTickBehavior, interval};

/// Samples the process every `period` (the first sample at once) and reports
/// `process.rss_bytes` and `process.live_tasks` as gauges. Runs until the task
/// running it is aborted.
///
/// `sample` is [`ProcessSample::now`] in a server; tests pass their own.
pub async fn poll_process(period: Duration, mut sample: impl FnMut() -> ProcessSample) {
    // TODO(s3.e4): slides/src/section3/part1/e04_poller.md
    todo!("every period: sample, then set the two gauges")
}
