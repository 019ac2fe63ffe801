//! Exercise s3.e14 (hard mode): an observer worth the name: each connection's and
//! channel's rates from two samples, and the busiest by each measure.
//!
//! - slide: slides/src/section3/part3/e14_observer.md
//! - tests: `mod e14_observer` in section3-production/tests/top.rs,
//!   run by `cargo xtask check s3.e14`
//! - stuck? `cargo xtask hint s3.e14` (each hint gives away a little more)
//!
//! Section 2's framework now counts, per connection, the messages and bytes in and
//! out, its outbound queue and, per joined channel, the messages it handled and sent
//! and its mailbox depth (`channels::inspect`). A node samples every connection each
//! time `GET /observe/connections` is asked, and hands your `busiest` the previous
//! sample and the new one. `top` (press `c`) shows what you return: the busiest
//! connections by each measure, one of them opened with its channels.

pub use observability::observe::{
    Busiest, ChannelRate, ChannelSample, ConnectionRate, ConnectionSample, ConnectionsSample,
};

/// The busiest connections and channels between `previous` and `current`, at most
/// `top` in each list.
pub fn busiest(previous: &ConnectionsSample, current: &ConnectionsSample, top: usize) -> Busiest {
    // TODO(s3.e14): `elapsed_ms` is the difference of the two `uptime_ms` (a smaller
    // current uptime means the node restarted: measure from zero, ignore `previous`).
    // Match connections by `id` and channels by `topic`; each rate is a counter's
    // increase per second. Something younger than the interval (`age_ms <
    // elapsed_ms`) opened or joined since the previous look: count from zero over its
    // own age. No time, no rate (0, not NaN). Then four lists of connections (by
    // messages in, messages out, bytes in + out, outbound queue) and one of channels
    // (by mailbox depth): only those with some of it, most first, ties by id (channels:
    // by connection, then topic), at most `top`, without sorting all 20,000.
    todo!("s3.e14: rates per connection and channel, and the busiest by each measure")
}
