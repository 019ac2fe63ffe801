//! Exercise s1.e2: the serial handler. Slide: slides/src/section1/part1/e02_serial.md
//!
//! `GET /part1/serial` does its work inside the request: the client gets its answer
//! only once the resource is done with it.

use axum::extract::State;

use pipeline::mock_resource::MockResource;

/// `GET /part1/serial`: use the resource, then answer `OK`.
// ANCHOR: serial
pub async fn serial(State(resource): State<MockResource>) -> &'static str {
    // The request's task waits here; tokio runs other requests meanwhile, so 50
    // clients wait side by side, each for its own 500 ms.
    resource.use_resource().await;
    "OK"
}
// ANCHOR_END: serial
