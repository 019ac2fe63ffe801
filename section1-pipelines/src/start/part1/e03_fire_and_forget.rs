//! Exercise s1.e3: fire and forget.
//!
//! - slide: slides/src/section1/part1/e03_fire_and_forget.md
//! - tests: `mod e03_fire_and_forget` in section1-pipelines/tests/part1.rs,
//!   run by `cargo xtask check s1.e3`
//! - stuck? `cargo xtask hint s1.e3` (each hint gives away a little more)
//!
//! `GET /part1/async` starts the work and answers at once, without waiting for it.

use axum::extract::State;

use pipeline::mock_resource::MockResource;

/// `GET /part1/async`: start using the resource on a task of its own, answer `OK` now.
pub async fn fire_and_forget(State(resource): State<MockResource>) -> &'static str {
    // TODO(s1.e3): spawn a task that uses the resource, and answer "OK" without waiting for it.
    todo!("s1.e3: spawn the work on its own task, then answer \"OK\" at once")
}
