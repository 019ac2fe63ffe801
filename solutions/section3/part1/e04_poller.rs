//! s3.e4: a poller that reports what the process costs, every period.
//!
//! Counters and timings are recorded where things happen; a gauge of the whole
//! process (memory, tasks) has no such place, so something must look at it
//! regularly. That is all a poller is: a loop on a timer.

use std::time::Duration;

use metrics::gauge;
use observability::process::ProcessSample;
use tokio::time::{MissedTickBehavior, interval};

// ANCHOR: poller
/// Samples the process every `period` (the first sample at once) and reports
/// `process.rss_bytes` and `process.live_tasks` as gauges. Runs until the task
/// running it is aborted.
///
/// `sample` is [`ProcessSample::now`] in a server; tests pass their own.
pub async fn poll_process(period: Duration, mut sample: impl FnMut() -> ProcessSample) {
    let mut ticks = interval(period);
    // After a stall (a blocked thread, a suspended laptop), report once and carry on
    // at the same rhythm; a burst of catch-up samples would only repeat one value.
    ticks.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        ticks.tick().await;
        let now = sample();
        // No reading is better than a made-up zero: a dashboard shows a gap.
        if let Some(rss) = now.rss_bytes {
            gauge!("process.rss_bytes").set(rss as f64);
        }
        gauge!("process.live_tasks").set(now.live_tasks as f64);
    }
}
// ANCHOR_END: poller
