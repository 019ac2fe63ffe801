//! Exercise s1.e9: overload.
//!
//! - slide: slides/src/section1/part2/e09_overload.md
//! - tests: `mod e09_overload` in section1-pipelines/tests/part2.rs,
//!   run by `cargo xtask check s1.e9`
//! - stuck? `cargo xtask hint s1.e9` (each hint gives away a little more)
//!
//! `GET /part2/pipeline` puts an event into the pipeline and answers at once. What it
//! answers when the pipeline cannot take more depends on the producer's policy, and
//! must always be said clearly: a bounded queue only helps if its edge is visible.

use axum::extract::State;
#[allow(unused_imports)]
use axum::http::{StatusCode, header};
#[allow(unused_imports)]
use axum::response::{IntoResponse, Response};

#[allow(unused_imports)]
use pipeline::{Event, MAX_PUSH_WAIT, PipelineHandle, PushError};

/// `GET /part2/pipeline`: `202 Accepted` with the event's id once it is in the buffer;
/// `503` with `retry-after` and the buffer's bound when the buffer is full (reject
/// policy) or the pipeline is closed. Under the wait policy the answer is later, but
/// never more than [`MAX_PUSH_WAIT`] later: then it is a `503` saying how long it
/// waited. Under drop-oldest it is always 202 (an older event pays, and is counted).
pub async fn enqueue(State(pipeline): State<PipelineHandle>) -> Response {
    // TODO(s1.e9): push `Event::new()`, waiting at most MAX_PUSH_WAIT, and turn each
    // outcome into a response: Ok(id) -> 202 naming the id; Full { capacity } -> 503
    // with `retry-after` and a body naming the capacity; Closed -> 503 saying the
    // pipeline is closed; waited too long -> 503 with `retry-after` saying so.
    todo!("s1.e9: push the event; answer 202, or 503 with a clear reason")
}
