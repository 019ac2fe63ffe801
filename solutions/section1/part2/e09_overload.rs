//! Exercise s1.e9: overload. Slide: slides/src/section1/part2/e09_overload.md
//!
//! `GET /part2/pipeline` puts an event into the pipeline and answers at once. What it
//! answers when the pipeline cannot take more depends on the producer's policy, and
//! must always be said clearly: a bounded queue only helps if its edge is visible.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};

use pipeline::{Event, MAX_PUSH_WAIT, PipelineHandle, PushError};

/// `GET /part2/pipeline`: `202 Accepted` with the event's id once it is in the buffer;
/// `503` with `retry-after` and the buffer's bound when the buffer is full (reject
/// policy) or the pipeline is closed. Under the wait policy the answer is later, but
/// never more than [`MAX_PUSH_WAIT`] later: then it is a `503` saying how long it
/// waited. Under drop-oldest it is always 202 (an older event pays, and is counted).
// ANCHOR: enqueue
pub async fn enqueue(State(pipeline): State<PipelineHandle>) -> Response {
    // Only the wait policy ever waits here; the timeout bounds it. Dropping the push
    // on timeout is safe: an event is either fully in the buffer or not at all.
    let Ok(pushed) = tokio::time::timeout(MAX_PUSH_WAIT, pipeline.push(Event::new())).await else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            format!(
                "pipeline full: waited {} s for room in the buffer; try again in a second\n",
                MAX_PUSH_WAIT.as_secs()
            ),
        )
            .into_response();
    };
    match pushed {
        Ok(id) => (StatusCode::ACCEPTED, format!("queued event {id}\n")).into_response(),
        Err(PushError::Full { capacity }) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "1")],
            format!(
                "pipeline full: {capacity} events are already waiting; try again in a second\n"
            ),
        )
            .into_response(),
        Err(PushError::Closed) => (
            StatusCode::SERVICE_UNAVAILABLE,
            "pipeline closed: it is shutting down and takes no more events\n",
        )
            .into_response(),
    }
}
// ANCHOR_END: enqueue
