//! Exercise s1.e2: the serial handler.
//!
//! - slide: slides/src/section1/part1/e02_serial.md
//! - tests: `mod e02_serial` in section1-pipelines/tests/part1.rs,
//!   run by `cargo xtask check s1.e2`
//! - stuck? `cargo xtask hint s1.e2` (each hint gives away a little more)
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
