//! Section 3's figures: a broadcast from one node to another through Redis.

use serde::{Deserialize, Serialize};

use crate::Figures;

/// Cross-node broadcast latency through a Redis server, one message at a time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClusterLatency {
    /// Messages sent (after the unmeasured warm-up).
    pub sent: u64,
    /// Messages that arrived within a second.
    pub delivered: u64,
    /// Median latency of the arrived ones, microseconds.
    pub p50_us: u64,
    /// 99th percentile, microseconds.
    pub p99_us: u64,
    /// 99.9th percentile, microseconds.
    pub p999_us: u64,
    /// The slowest one, microseconds.
    pub max_us: u64,
}

impl Figures for ClusterLatency {
    const NAME: &'static str = "cluster-latency";
    const COMMAND: &'static str = "cargo run -p section3-production --release -- cluster-latency";
}

/// The Redis-restart hardening test: a node publishing every 2 ms to another
/// through a `redis-server` that is killed and restarted under the load.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedisRestartHardening {
    /// Messages the publisher was given in all.
    pub sent: u64,
    /// Messages Redis accepted.
    pub published: u64,
    /// Messages that never reached Redis, counted by the publisher.
    pub lost: u64,
    /// Messages the subscriber received (in order, never twice).
    pub received: u64,
    /// Messages sent after the last restart, every one of them delivered.
    pub tail: u64,
    /// Each restart, in order, as the publisher counted when both links were back.
    pub restarts: Vec<RestartCycle>,
}

/// The publisher's counts once both links were back after one restart.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestartCycle {
    /// Messages given to the publisher so far.
    pub sent: u64,
    /// Of those, accepted by Redis.
    pub published: u64,
    /// Of those, counted as lost.
    pub lost: u64,
    /// Times the publisher's subscription came back so far.
    pub resubscribed: u64,
}

impl RedisRestartHardening {
    /// Published while the subscriber was away: gone without a count on either
    /// side (at-most-once), seen only as the gap.
    pub fn lost_unseen(&self) -> u64 {
        self.published.saturating_sub(self.received)
    }
}

impl Figures for RedisRestartHardening {
    const NAME: &'static str = "hardening-redis-restart";
    const COMMAND: &'static str = "cargo test -p section3-production --release --test hardening";
}
