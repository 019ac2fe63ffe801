//! The live dashboard: how many users hold the resource, as it happens.
//!
//! The server samples the resource every 20 ms and streams a rolling average of
//! the last 11 samples to the page over Server-Sent Events. SSE is plain HTTP, one
//! way (server to browser), reconnects by itself, and needs no JavaScript library:
//! exactly what a gauge needs. Section 2 uses WebSockets where the browser talks back.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, Redirect};
use axum::routing::get;
use futures::Stream;
use serde::Serialize;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::IntervalStream;

use crate::app::AppState;
use crate::mock_resource::MockResource;

/// How often the dashboard samples the resource.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(20);
/// How many samples the rolling average covers (11 x 20 ms = the last 220 ms).
pub const WINDOW: usize = 11;

/// The dashboard's routes: the page and its event stream.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/part1", get(page))
        .route("/part1/usage", get(usage_stream))
}

/// `GET /`: the section's landing page is the part 1 dashboard.
pub async fn index() -> Redirect {
    Redirect::temporary("/part1")
}

async fn page() -> Html<&'static str> {
    Html(include_str!("dashboard.html"))
}

/// One message on the stream: what the gauge shows.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Sample {
    /// The rolling average of users holding the resource over the last [`WINDOW`] samples.
    pub average: f64,
    /// Users holding the resource at this sample.
    pub current: u64,
    /// The most users at once since the server started.
    pub peak: u64,
    /// Uses finished since the server started.
    pub total: u64,
    /// Which implementation the server runs.
    pub implementation: &'static str,
}

async fn usage_stream(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let implementation = state.implementation.name();
    let samples = samples(state.resource, SAMPLE_EVERY).map(move |mut sample| {
        sample.implementation = implementation;
        Ok(Event::default()
            .event("usage")
            .json_data(sample)
            .expect("a Sample always serialises"))
    });
    Sse::new(samples).keep_alive(KeepAlive::default())
}

/// An endless stream of samples of `resource`, one every `every`.
///
/// Each connected page gets its own stream, so its rolling window starts when the
/// page connects. The stream ends when the page goes away (axum drops it).
pub fn samples(resource: MockResource, every: Duration) -> impl Stream<Item = Sample> {
    let mut interval = tokio::time::interval(every);
    // A page that was slow to read should see the present, not a burst of old samples.
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut window = RollingAverage::new(WINDOW);
    IntervalStream::new(interval).map(move |_| {
        let usage = resource.usage();
        Sample {
            average: window.push(usage.current as f64),
            current: usage.current,
            peak: usage.peak,
            total: usage.total,
            implementation: "",
        }
    })
}

/// The average of the last `capacity` values pushed.
#[derive(Debug)]
pub struct RollingAverage {
    values: VecDeque<f64>,
    capacity: usize,
    sum: f64,
}

impl RollingAverage {
    /// An empty window of `capacity` values (at least one).
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(1);
        RollingAverage {
            values: VecDeque::with_capacity(capacity),
            capacity,
            sum: 0.0,
        }
    }

    /// Adds a value, drops the oldest when full, and returns the new average.
    pub fn push(&mut self, value: f64) -> f64 {
        if self.values.len() == self.capacity {
            self.sum -= self.values.pop_front().unwrap_or(0.0);
        }
        self.values.push_back(value);
        self.sum += value;
        self.sum / self.values.len() as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rolling_average_forgets_the_oldest_value() {
        let mut avg = RollingAverage::new(3);
        assert_eq!(avg.push(3.0), 3.0);
        assert_eq!(avg.push(6.0), 4.5);
        assert_eq!(avg.push(9.0), 6.0);
        // 3.0 leaves the window.
        assert_eq!(avg.push(0.0), 5.0);
    }

    #[tokio::test(start_paused = true)]
    async fn samples_follow_the_resource() {
        let resource = MockResource::with_hold(Duration::from_millis(100));
        let mut stream = Box::pin(samples(resource.clone(), SAMPLE_EVERY));
        assert_eq!(stream.next().await.unwrap().current, 0);
        let user = tokio::spawn({
            let resource = resource.clone();
            async move { resource.use_resource().await }
        });
        let sample = stream.next().await.unwrap();
        assert_eq!(sample.current, 1);
        // One of two samples saw a user.
        assert_eq!(sample.average, 0.5);
        user.await.unwrap();
        let sample = stream.next().await.unwrap();
        assert_eq!((sample.current, sample.total), (0, 1));
    }
}
