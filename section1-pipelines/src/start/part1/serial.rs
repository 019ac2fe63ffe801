//! Exercise s1.e2: the serial handler. Slide: slides/src/section1/part1/serial.md
//!
//! `GET /part1/serial` does its work inside the request: the client gets its answer
//! only once the resource is done with it.

use axum::extract::State;

use pipeline::mock_resource::MockResource;

/// `GET /part1/serial`: use the resource, then answer `OK`.
pub async fn serial(State(resource): State<MockResource>) -> &'static str {
    // TODO(s1.e2): use the resource (it is async: await it), then answer "OK".
    todo!("s1.e2: use the resource, then answer \"OK\"")
}
