//! Exercise s3.e9: rates from two snapshots of a node's counters, and the busiest channels.
//!
//! - slide: slides/src/section3/part2/e09_rates.md
//! - tests: `mod e09_rates` in section3-production/tests/top.rs,
//!   run by `cargo xtask check s3.e9`
//! - stuck? `cargo xtask hint s3.e9` (each hint gives away a little more)

pub use observability::observe::{Rates, Snapshot, TopicRate};

/// Rates between `previous` and `current`, and the `top` busiest topics.
pub fn rates(previous: &Snapshot, current: &Snapshot, top: usize) -> Rates {
    // TODO(s3.e9): the time between the two snapshots is the difference of their
    // `uptime_ms` (a smaller current uptime means the node restarted: measure from
    // zero). Each rate is a counter's increase divided by that time in seconds; a
    // counter that went down was reset, so its increase is its current value. Keep
    // the topics that broadcast, busiest first (ties by name), at most `top`.
    todo!("s3.e9: compute rates from two snapshots")
}
