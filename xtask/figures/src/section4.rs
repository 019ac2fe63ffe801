//! Section 4's benches: the tracker and the live view.

use serde::{Deserialize, Serialize};

use crate::Figures;

/// The tracker beside a plain `HashMap` doing the same work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrackerBench {
    /// Members of the listed topic.
    pub members: usize,
    /// `list` through the tracker, microseconds.
    pub list_tracker_us: f64,
    /// `list` on the replica state directly, microseconds.
    pub list_state_us: f64,
    /// The baseline: the `HashMap`'s values cloned, microseconds.
    pub list_hashmap_us: f64,
    /// `count` of the listed topic, microseconds.
    pub count_us: f64,
    /// `count` of a topic nobody watches, microseconds.
    pub count_unwatched_us: f64,
    /// `track` then `untrack` pairs per second through the tracker.
    pub track_untrack_per_sec: f64,
    /// The baseline: `HashMap` insert then remove pairs per second.
    pub hashmap_track_untrack_per_sec: f64,
    /// Merging a delta of `members` entries, microseconds.
    pub merge_us: f64,
    /// The baseline: `HashMap::extend` with the same entries, microseconds.
    pub hashmap_extend_us: f64,
}

impl Figures for TrackerBench {
    const NAME: &'static str = "s4-tracker";
    const COMMAND: &'static str = "cargo bench -p tracker --bench tracker";
}

/// One live view event: render, diff and encode the diff, beside rendering and
/// encoding the whole page.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LiveBench {
    /// Activities on the rendered feed.
    pub activities: usize,
    /// Render, diff against the last render, encode the diff: microseconds per event.
    pub diff_us: f64,
    /// The baseline: render and encode the whole page, microseconds per event.
    pub full_us: f64,
}

impl Figures for LiveBench {
    const NAME: &'static str = "s4-live";
    const COMMAND: &'static str = "cargo bench -p live --bench live";
}

/// The tracker's hardening test: a 3-node cluster (in-memory hub, paused clock)
/// where one node dies without a goodbye, then a new one joins, in cycles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KilledNodeHardening {
    /// Topics each node tracks presences on.
    pub topics: usize,
    /// Presences per topic per node.
    pub per_topic: usize,
    /// The gossip period, milliseconds.
    pub period_ms: f64,
    /// The down period a dead node's presences must leave within, milliseconds.
    pub down_period_ms: f64,
    /// Each kill and restart, in order (the cycles done so far when the test
    /// stopped early).
    pub cycles: Vec<KillCycle>,
}

/// One kill and restart of [`KilledNodeHardening`], in paused-clock time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KillCycle {
    /// The killed node's presences.
    pub presences: usize,
    /// How soon they were gone from both surviving replicas, milliseconds.
    pub gone_after_ms: f64,
    /// How soon the restarted node listed everything, milliseconds.
    pub caught_up_ms: f64,
}

impl Figures for KilledNodeHardening {
    const NAME: &'static str = "hardening-tracker";
    const COMMAND: &'static str = "cargo test -p tracker --release --test hardening";
}
