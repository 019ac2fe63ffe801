//! What `/stats` reports: the resource's counters, the part 2 pipeline's figures,
//! and what the process costs.
//!
//! The load generator samples this endpoint during a run, so a report can say not
//! only how fast the server answered but what it spent doing so (memory, tasks,
//! resource users). Reading it is cheap: a few atomics and one small file read.

use serde::{Deserialize, Serialize};

use crate::mock_resource::Usage;
use crate::{PipelineHandle, PipelineSnapshot};

/// The JSON body of `GET /stats`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Which implementation the server runs: `"start"` (the learner's) or `"solution"`.
    pub implementation: String,
    /// The mock resource's counters.
    pub resource: Usage,
    /// What the process costs right now.
    pub process: ProcessStats,
    /// The part 2 pipeline: its setup, gauges, counters and latency. Absent when
    /// read from a server that has no pipeline (another section's, say).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<PipelineStats>,
}

/// The `pipeline` object of `/stats`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PipelineStats {
    /// What drains it: `consumers:N` or `pool:N`.
    pub drain: String,
    /// What a push does when the buffer is full: `wait`, `reject` or `drop-oldest`.
    pub policy: String,
    /// Events in the producer's buffer right now (at most `capacity`).
    pub buffered: u64,
    /// Gauges, counters and latency.
    #[serde(flatten)]
    pub figures: PipelineSnapshot,
}

impl PipelineStats {
    /// Reads the figures of `pipeline` now.
    pub fn of(pipeline: &PipelineHandle) -> Self {
        let config = pipeline.config();
        PipelineStats {
            drain: config.drain.to_string(),
            policy: config.policy.name().to_string(),
            buffered: pipeline.producer().len() as u64,
            figures: pipeline.metrics().snapshot(),
        }
    }
}

/// Process-level figures, sampled when `/stats` is read.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProcessStats {
    /// Resident set size in bytes, from `/proc/self/statm` (`null` where that file does not exist).
    pub rss_bytes: Option<u64>,
    /// Tokio tasks alive in the server's runtime: one per open connection, plus any
    /// work a handler spawned and did not wait for.
    pub live_tasks: usize,
}

impl ProcessStats {
    /// Samples the current process and runtime.
    ///
    /// Must be called from inside a tokio runtime, as every handler is.
    pub fn sample() -> Self {
        ProcessStats {
            rss_bytes: rss_bytes(),
            live_tasks: tokio::runtime::Handle::current()
                .metrics()
                .num_alive_tasks(),
        }
    }
}

/// The resident set size of this process, in bytes.
///
/// Linux only: the second field of `/proc/self/statm` is resident pages. Other
/// systems get `None` rather than a made-up number.
pub fn rss_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let resident_pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(resident_pages * page_size())
}

fn page_size() -> u64 {
    // Every Linux platform this course runs on uses 4 KiB pages; reading the real
    // value would need libc for one number.
    4096
}
