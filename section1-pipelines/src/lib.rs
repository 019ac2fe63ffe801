//! # Section 1: pipelines and back-pressure
//!
//! A slow shared resource (`pipeline::MockResource`, 500 ms per use) and the ways a
//! web server can put work in front of it:
//!
//! - **part 1**: serially inside the request, and fire-and-forget on a spawned task;
//!   then load shedding, refusing work the resource cannot take;
//! - **part 2**: a pipeline that pulls work with demand, a bounded worker pool,
//!   supervision, overload policies, a coalescing cache, and stages of different
//!   speed (whose throughput table [`experiment`] measures on a paused clock);
//!
//! The exercises live in [`start`] (yours) and [`solution`] (the reference); [`app`]
//! serves one or the other. The provided code they stand on is in crates of its own,
//! meant to be read: `pipeline` (the resource, the pipeline, the dashboards, `/stats`)
//! and `loadgen` (the load generator behind `load`, `compare` and `experiment`).
//!
//! Run it: `cargo run -p section1-pipelines --release -- serve` and open
//! <http://127.0.0.1:4000/part1>.

pub mod app;
pub mod experiment;
pub mod solution;
pub mod start;

pub use app::{AppState, Implementation};
