//! Section 1's benches: the pipeline, the mock resource, the load generator
//! against wrk and ab.

use serde::{Deserialize, Serialize};

use crate::Figures;

/// Events per second through the pipeline and through a raw bounded
/// `tokio::sync::mpsc`, best of interleaved runs in one process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PipelineBench {
    /// Events per measured run.
    pub events: u64,
    /// The runtime's worker threads.
    pub worker_threads: usize,
    /// Interleaved runs of each; the best one is kept.
    pub runs: u32,
    /// The baseline: producer, raw bounded mpsc, consumer.
    pub raw_mpsc_events_per_sec: f64,
    /// The pipeline drained by one consumer.
    pub consumer_events_per_sec: f64,
    /// The pipeline drained by a pool of 10.
    pub pool_events_per_sec: f64,
}

impl Figures for PipelineBench {
    const NAME: &'static str = "s1-pipeline";
    const COMMAND: &'static str = "cargo bench -p pipeline --bench pipeline";
}

/// One `use_resource` with a zero hold against a bare `sleep(0)`, per call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MockResourceBench {
    /// `use_resource()` with a zero hold, nanoseconds per call.
    pub use_resource_ns: f64,
    /// The baseline: `tokio::time::sleep(0)`, nanoseconds per call.
    pub sleep_ns: f64,
}

impl Figures for MockResourceBench {
    const NAME: &'static str = "s1-mock_resource";
    const COMMAND: &'static str = "cargo bench -p pipeline --bench mock_resource";
}

/// The course's load generator beside wrk (throughput) and ab (mean latency),
/// against the same server; `None` where the tool is not installed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoadgenVsWrk {
    /// `GET /hello` with keep-alive: ours against `wrk`.
    pub throughput: Option<Throughput>,
    /// `GET /part1/serial` with keep-alive: ours against `ab`.
    pub latency: Option<MeanLatency>,
}

/// Requests per second on the same endpoint, ours and wrk's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Throughput {
    /// Connections each tool keeps open.
    pub connections: u32,
    /// Seconds each tool runs.
    pub duration_secs: f64,
    /// wrk's requests per second (the baseline).
    pub wrk_req_per_sec: f64,
    /// Ours.
    pub ours_req_per_sec: f64,
}

/// Mean latency on the same endpoint and request count, ours and ab's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeanLatency {
    /// Connections each tool keeps open.
    pub connections: u32,
    /// Requests each tool sends.
    pub requests: u64,
    /// ab's mean time per request, milliseconds (the baseline).
    pub ab_mean_ms: f64,
    /// Ours.
    pub ours_mean_ms: f64,
}

impl Figures for LoadgenVsWrk {
    const NAME: &'static str = "loadgen-vs-wrk";
    const COMMAND: &'static str = "cargo bench -p loadgen --bench loadgen_vs_wrk";
}

/// What the overload hardening test (`tests/hardening.rs` of section 1) saw under
/// one overflow policy: the part 2 pipeline fed ten times what it can process, on
/// a paused clock. Each policy's test writes its own file, [`Self::name`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OverloadHardening {
    /// The overflow policy's name (`reject`, `drop-oldest`).
    pub policy: String,
    /// Seconds of (paused-clock) load: 10, or 600 with `HARDENING=long`.
    pub seconds: u64,
    /// The producer's buffer bound.
    pub capacity: usize,
    /// Workers in the pool.
    pub workers: usize,
    /// Events offered (one a millisecond).
    pub offered: u64,
    /// Events the pool processed.
    pub processed: u64,
    /// Events evicted from the buffer, counted (`drop-oldest`).
    pub dropped: u64,
    /// Events refused at the door, counted (`reject`).
    pub rejected: u64,
    /// Events whose worker panicked, counted.
    pub failed: u64,
    /// Poisoned events offered (about one in a hundred; only those may fail).
    pub poisoned: u64,
    /// The deepest the buffer got.
    pub max_queue_depth: usize,
}

impl OverloadHardening {
    /// The policies the test runs, by name: one file each.
    pub const POLICIES: [&'static str; 2] = ["reject", "drop-oldest"];
    /// The command that writes the files (`HARDENING=long` for the long version).
    pub const COMMAND: &'static str = "cargo test -p section1-pipelines --release --test hardening";

    /// The file's name (without `.json`) of `policy`'s run.
    pub fn name(policy: &str) -> String {
        format!("hardening-s1-{policy}")
    }

    /// Writes this run's file, [`Self::name`] of its policy.
    pub fn write(&self) -> std::io::Result<std::path::PathBuf> {
        crate::write_as(&Self::name(&self.policy), Self::COMMAND, None, self)
    }

    /// Events offered and neither processed nor counted as shed or failed (0 when
    /// every event is accounted for).
    pub fn unaccounted(&self) -> u64 {
        self.offered
            .saturating_sub(self.processed + self.dropped + self.rejected + self.failed)
    }
}
