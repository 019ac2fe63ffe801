//! Exercise s1.e1: welcome.
//!
//! - slide: slides/src/section1/part1/e01_welcome.md
//! - tests: `mod e01_welcome` in section1-pipelines/tests/part1.rs,
//!   run by `cargo xtask check s1.e1`
//! - stuck? `cargo xtask hint s1.e1` (each hint gives away a little more)
//!
//! Every exercise in this course looks like this file: a function with a `todo!()`
//! and a `TODO(<id>)` comment. Replace the `todo!()` with real code, save, and run
//! `cargo xtask check`: it runs the exercise's tests and shows you what they saw.

use std::time::Duration;

#[allow(unused_imports)]
use pipeline::mock_resource::MockResource;

/// How long one use of the mock resource holds it, by default.
///
/// Everything in section 1 follows from this number, so start by finding it:
/// open `section1-pipelines/pipeline/src/mock_resource.rs` and read `MockResource`.
pub fn resource_hold() -> Duration {
    // TODO(s1.e1): return the mock resource's default hold time (do not type the number: use the constant).
    todo!("s1.e1: return MockResource's default hold time")
}
