//! Exercise s1.e4 (hard mode): load shedding. Slide: slides/src/section1/part1/e04_load_shedding.md
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
// ANCHOR: shed
pub async fn shed(State(resource): State<MockResource>, State(gate): State<ShedGate>) -> Response {
    // try_acquire never waits: admission is one atomic step, so two requests cannot
    // both see "14 users" and both get in (which `if resource.current() < 15` allows).
    match gate.permits().clone().try_acquire_owned() {
        Ok(_permit) => {
            // The permit lives until the end of this block: held exactly as long as
            // the resource is.
            resource.use_resource().await;
            "OK".into_response()
        }
        Err(_) => busy(gate.limit()),
    }
}
// ANCHOR_END: shed

// ANCHOR: busy
/// The refusal: cheap to build, honest about why, and telling the client when to retry.
fn busy(limit: usize) -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        [(header::RETRY_AFTER, "1")],
        format!("resource busy: {limit} requests already hold it, try again in a second\n"),
    )
        .into_response()
}
// ANCHOR_END: busy
