//! s3.e3: pipeline delivery latency, from enqueue to the channel's push.
//!
//! An order is stamped when it enters the pipeline and carries the stamp to the
//! channel that pushes it, possibly on another node. The stamp is wall clock time:
//! the only clock two machines share, roughly. Both functions take the time as an
//! argument, so tests (and a replay) choose it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use metrics::{counter, histogram};

// ANCHOR: stamp
/// The stamp an order carries from the moment it is enqueued: `now` as whole
/// microseconds since the Unix epoch (0 for a clock set before 1970). A `u64` of
/// microseconds lasts half a million years and crosses any wire as a JSON number.
pub fn stamp(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH).map_or(0, |since| {
        u64::try_from(since.as_micros()).unwrap_or(u64::MAX)
    })
}
// ANCHOR_END: stamp

// ANCHOR: record
/// At the channel, when the order is pushed: records the time since it was stamped,
/// in milliseconds, as the histogram `pipeline.delivery_latency_ms`.
///
/// A stamp later than `now` means the clocks disagree (the enqueuing node's clock is
/// ahead of this one's): the true latency is unknown but not negative, so it is
/// recorded as 0, and counted as `pipeline.clock_skew` so a dashboard shows how
/// often the figure cannot be trusted.
pub fn record_delivery(enqueued_at_us: u64, now: SystemTime) {
    let enqueued_at = UNIX_EPOCH + Duration::from_micros(enqueued_at_us);
    let latency = match now.duration_since(enqueued_at) {
        Ok(latency) => latency,
        Err(_ahead) => {
            counter!("pipeline.clock_skew").increment(1);
            Duration::ZERO
        }
    };
    histogram!("pipeline.delivery_latency_ms").record(latency.as_secs_f64() * 1000.0);
}
// ANCHOR_END: record
