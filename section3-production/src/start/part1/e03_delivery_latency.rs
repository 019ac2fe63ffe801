//! Exercise s3.e3: pipeline delivery latency, from enqueue to the channel's push.
//!
//! - slide: slides/src/section3/part1/e03_delivery_latency.md
//! - tests: `mod e03_delivery_latency` in section3-production/tests/part1.rs,
//!   run by `cargo xtask check s3.e3`
//! - stuck? `cargo xtask hint s3.e3` (each hint gives away a little more)
//!
//! An order is stamped when it enters the pipeline and carries the stamp to the
//! channel that pushes it to a browser, possibly on another node. The stamp is wall
//! clock time (`SystemTime`) as microseconds since the Unix epoch: the only clock two
//! machines share, roughly. A monotonic `Instant` means nothing on another machine.
//!
//! Both functions take the time as an argument instead of reading the clock, so the
//! tests can say exactly what time it is.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use metrics::{counter, histogram};

/// The stamp an order carries from the moment it is enqueued: `now` as whole
/// microseconds since the Unix epoch (0 for a clock set before 1970).
pub fn stamp(now: SystemTime) -> u64 {
    // TODO(s3.e3): slides/src/section3/part1/e03_delivery_latency.md
    todo!("microseconds since the Unix epoch")
}

/// At the channel, when the order is pushed: records how long it took since it was
/// stamped, in milliseconds (fractions kept), as the histogram
/// `pipeline.delivery_latency_ms`.
///
/// A stamp *later* than `now` means the two clocks disagree (another node's clock is
/// ahead): record 0, never a negative latency, and count it with the counter
/// `pipeline.clock_skew`.
pub fn record_delivery(enqueued_at_us: u64, now: SystemTime) {
    // TODO(s3.e3): the latency is `now` minus the stamp; mind the clock skew
    todo!("record the delivery latency")
}
