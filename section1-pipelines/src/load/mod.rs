//! The course's load generator: `load`, `compare` and `experiment` on the command line.
//!
//! Like `ab` or `wrk`, but small enough to read, and it knows about this
//! section's server: alongside latency and throughput it samples `/stats`, so a
//! report also says how many users the resource had, and what the server spent
//! in memory and tasks to get there.
//!
//! - [`target`]: the URL, and the rule that only loopback may be loaded;
//! - [`client`]: a minimal HTTP/1.1 keep-alive connection;
//! - [`schedule`]: closed loop, or open loop at fixed intended times;
//! - [`runner`]: one task per connection, merged into a [`Report`];
//! - [`histogram`], [`report`], [`chart`]: the figures, as text, JSON and SVG;
//! - [`stats_sampler`], [`progress`]: what runs beside the load;
//! - [`args`], [`experiment`], [`machine`]: the command line and `experiment part1`.

pub mod args;
pub mod chart;
pub mod client;
pub mod commands;
pub mod experiment;
pub mod histogram;
pub mod machine;
pub mod progress;
pub mod report;
pub mod runner;
pub mod schedule;
pub mod stats_sampler;
pub mod target;

pub use progress::Progress;
pub use report::Report;
pub use runner::{LoadConfig, run};
pub use target::Target;
