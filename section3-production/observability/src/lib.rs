//! # observability: seeing what a running node does and costs
//!
//! Provided code, meant to be read (the README lists the files in reading order):
//!
//! - [`telemetry`]: where logs and measurements go: `tracing` to the terminal (text
//!   or JSON), `metrics` to StatsD over UDP, and [`telemetry::BoundedLabels`] for
//!   label values a client chose;
//! - [`statsd_sink`]: a development StatsD server that hands back every line;
//! - [`process`]: one sample of the process: resident memory and live tokio tasks;
//! - [`observe`]: the snapshot a node serves at `GET /observe`, the pubsub wrapper
//!   that counts topics and broadcasts for it, and the rates computed from two
//!   snapshots (by exercise s3.e9).

pub mod observe;
pub mod process;
pub mod statsd_sink;
pub mod telemetry;
