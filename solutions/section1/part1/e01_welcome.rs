//! Exercise s1.e1: welcome. Slide: slides/src/section1/part1/e01_welcome.md
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
// ANCHOR: welcome
pub fn resource_hold() -> Duration {
    // Naming the constant (not typing 500) keeps this answer right if the resource changes.
    MockResource::DEFAULT_HOLD
}
// ANCHOR_END: welcome
