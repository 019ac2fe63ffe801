//! # `loadgen`: the course's load generator
//!
//! Like `ab` or `wrk`, but small enough to read, and it knows about the course's
//! servers: alongside latency and throughput it samples their `/stats`, so a report
//! also says how many users the resource had, and what the server spent in memory
//! and tasks to get there. Section 1's binary offers it as `load`, `compare` and
//! `experiment`; `cargo run -p loadgen --release -- load URL` runs it alone.
//!
//! - [`target`]: the URL, and the rule that only loopback may be loaded;
//! - [`client`]: a minimal HTTP/1.1 keep-alive connection;
//! - [`schedule`]: closed loop, or open loop at fixed intended times;
//! - [`runner`]: one task per connection, merged into a [`Report`];
//! - [`histogram`], [`report`], [`chart`]: the figures, as text, JSON and SVG;
//! - [`stats_sampler`], [`progress`]: what runs beside the load;
//! - [`args`], [`commands`]: the command line of `load` and `compare`;
//! - [`experiment`]: section 1's walkthrough figures, with the machine they were
//!   measured on (`figures::machine::Machine`, one description for every producer).

pub mod args;
pub mod chart;
pub mod client;
pub mod commands;
pub mod experiment;
pub mod histogram;
pub mod progress;
pub mod report;
pub mod runner;
pub mod schedule;
pub mod stats_sampler;
pub mod target;

pub use commands::LoadCommand;
pub use progress::Progress;
pub use report::Report;
pub use runner::{LoadConfig, run};
pub use target::Target;
