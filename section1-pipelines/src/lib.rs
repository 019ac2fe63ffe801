//! # Section 1: pipelines and back-pressure
//!
//! A slow shared resource ([`mock_resource::MockResource`], 500 ms per use) and the
//! ways a web server can put work in front of it:
//!
//! - **part 1**: serially inside the request, and fire-and-forget on a spawned task;
//!   then load shedding, refusing work the resource cannot take;
//! - **part 2**: a pipeline that pulls work with demand, a bounded worker pool,
//!   supervision, overload policies, and a coalescing cache ([`pipeline`], [`portal`]);
//!
//! The exercises live in [`start`] (yours) and [`solution`] (the reference); the rest
//! of the crate is provided infrastructure, meant to be read: the resource, the web
//! app, the live dashboard, `/stats`, and the load generator in [`load`].
//!
//! Run it: `cargo run -p section1-pipelines --release -- serve` and open
//! <http://127.0.0.1:4000/part1>.

pub mod app;
pub mod composition;
pub mod dashboard;
pub mod load;
pub mod mock_resource;
pub mod pipeline;
pub mod portal;
pub mod shed_gate;
pub mod solution;
pub mod start;
pub mod stats;

pub use app::{AppState, Implementation};
pub use mock_resource::MockResource;
