//! # Section 3: production
//!
//! Measure a running system, see what it costs, and run it on several nodes:
//!
//! - **part 1, telemetry**: `tracing` logs with `RUST_LOG` filters (JSON on request),
//!   `metrics` exported to StatsD over UDP ([`telemetry`]), a dev StatsD sink to watch
//!   lines arrive ([`statsd_sink`]), section 2's framework measured through its
//!   telemetry events, an orders pipeline whose delivery latency is measured
//!   ([`delivery`]), what the process costs ([`process`]), and what one idle
//!   connection costs ([`conn_cost`]);
//! - **part 2, cluster**: section 2's channels on several nodes, their broadcasts
//!   carried by Redis ([`cluster`]); a live view of a node in the terminal
//!   ([`top`], reading the snapshot each node serves at `GET /observe`, [`observe`]).
//!
//! The exercises live in [`start`] (yours) and [`solution`] (the reference); the rest
//! of the crate is provided infrastructure, meant to be read. Section 2's channels
//! run from its **solution** module, so this section works even if you skipped it.
//!
//! Run it: `cargo run -p section3-production -- statsd-sink` in one terminal and
//! `cargo run -p section3-production -- serve` in another; watch the node with
//! `cargo run -p section3-production -- top http://127.0.0.1:4000`.

pub mod cluster;
pub mod conn_cost;
pub mod delivery;
pub mod feed;
pub mod node;
pub mod observe;
pub mod process;
pub mod solution;
pub mod start;
pub mod statsd_sink;
pub mod telemetry;
pub mod top;

/// Which code runs the exercises: yours or the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Implementation {
    /// Your code, in `src/start/`.
    Start,
    /// The reference, in `solutions/section3/`.
    Solution,
}

impl Implementation {
    /// `"start"` or `"solution"`.
    pub fn name(self) -> &'static str {
        match self {
            Implementation::Start => "start",
            Implementation::Solution => "solution",
        }
    }
}
