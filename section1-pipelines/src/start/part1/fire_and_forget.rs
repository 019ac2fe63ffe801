//! Exercise s1.e3: fire and forget. Slide: slides/src/section1/part1/fire_and_forget.md
//!
//! `GET /part1/async` starts the work and answers at once, without waiting for it.

use axum::extract::State;

use pipeline::mock_resource::MockResource;

/// `GET /part1/async`: start using the resource on a task of its own, answer `OK` now.
pub async fn fire_and_forget(State(resource): State<MockResource>) -> &'static str {
    // TODO(s1.e3): spawn a task that uses the resource, and answer "OK" without waiting for it.
    todo!("s1.e3: spawn the work on its own task, then answer \"OK\" at once")
}
