//! Exercise s1.e4 (hard mode): load shedding.
//!
//! - slide: slides/src/section1/part1/e04_load_shedding.md
//! - tests: `mod e04_load_shedding` in section1-pipelines/tests/part1.rs,
//!   run by `cargo xtask check s1.e4`
//! - stuck? `cargo xtask hint s1.e4` (each hint gives away a little more)
//!
//! `GET /part1/shed` works like `/part1/serial`, but refuses at once with
//! `503 Service Unavailable` while `SHED_AT` (15) requests already hold the resource,
//! instead of piling more users onto it.

use axum::extract::State;
use axum::response::Response;

#[allow(unused_imports)]
use axum::http::{StatusCode, header};
#[allow(unused_imports)]
use axum::response::IntoResponse;

use pipeline::mock_resource::MockResource;
use pipeline::shed_gate::ShedGate;

/// `GET /part1/shed`: `200 OK` after using the resource, or `503` at once when it is busy.
///
/// The 503 must say why (name the limit), and carry a `retry-after` header (in
/// seconds) so well-behaved clients back off instead of retrying in a tight loop.
pub async fn shed(State(resource): State<MockResource>, State(gate): State<ShedGate>) -> Response {
    // TODO(s1.e4): admit at most `gate.limit()` requests at once using `gate.permits()`;
    // admitted requests use the resource and answer "OK"; the rest get a 503 right away.
    todo!("s1.e4: admit through the gate, or answer 503 with a reason and retry-after")
}
