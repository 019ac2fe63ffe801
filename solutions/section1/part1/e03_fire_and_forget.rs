//! Exercise s1.e3: fire and forget. Slide: slides/src/section1/part1/e03_fire_and_forget.md
//!
//! `GET /part1/async` starts the work and answers at once, without waiting for it.

use axum::extract::State;

use pipeline::mock_resource::MockResource;

/// `GET /part1/async`: start using the resource on a task of its own, answer `OK` now.
// ANCHOR: fire_and_forget
pub async fn fire_and_forget(State(resource): State<MockResource>) -> &'static str {
    // The task owns its clone of the resource handle, so it can outlive the request.
    // Dropping the JoinHandle detaches it: nobody will learn whether it worked, how
    // long it took, or how many are still running. That is what "forget" costs.
    tokio::spawn(async move {
        resource.use_resource().await;
    });
    "OK"
}
// ANCHOR_END: fire_and_forget
