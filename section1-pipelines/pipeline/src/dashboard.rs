//! The live dashboards: how many users hold the resource (`/part1`), and what the
//! pipeline is doing (`/part2`: queue depth, resource in use, average latency).
//!
//! The server samples the resource every 20 ms and streams a rolling average of
//! the last 11 samples to the page over Server-Sent Events. SSE is plain HTTP, one
//! way (server to browser), reconnects by itself, and needs no JavaScript library:
//! exactly what a gauge needs. Section 2 uses WebSockets where the browser talks back.
//!
//! # The streams
//!
//! | route | event | one message is | read by |
//! |---|---|---|---|
//! | `GET /part1/usage` | `usage` | a [`Sample`] of the resource | the `/part1` page (`dashboard.html`) |
//! | `GET /part2/usage` | `pipeline` | a [`PipelineSample`] of the pipeline and the resource | the `/part2` page (`dashboard_part2.html`) |
//!
//! Both answer `content-type: text/event-stream` and send one message every
//! [`SAMPLE_EVERY`] (20 ms) for as long as the client stays connected; a client that
//! reads too slowly skips samples rather than receiving a backlog. A message is an
//! `event:` line with the event name and a `data:` line with one JSON object:
//!
//! ```text
//! event: usage
//! data: {"average":1.5,"current":2,"peak":50,"total":3000,"implementation":"solution"}
//! ```
//!
//! Averages are over the last [`WINDOW`] samples (220 ms) of *this* connection: each
//! client gets its own stream, whose window starts when it connects. `peak`, `total`
//! and the pipeline's counters are since the server started, as in `/stats`. Between
//! messages axum's keep-alive comment (`:` every 15 s) keeps proxies from closing an
//! idle stream. Any SSE client can read them, not only the pages:
//! `curl -N http://127.0.0.1:4000/part1/usage` prints the raw stream.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::time::Duration;

use axum::Router;
use axum::extract::{FromRef, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, Redirect};
use axum::routing::get;
use futures::Stream;
use serde::Serialize;
use tokio_stream::StreamExt;
use tokio_stream::wrappers::IntervalStream;
use tokio_util::sync::CancellationToken;

use crate::mock_resource::MockResource;
use crate::{PipelineHandle, PipelineMetrics};

/// How often the dashboard samples the resource.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(20);
/// How many samples the rolling average covers (11 x 20 ms = the last 220 ms).
pub const WINDOW: usize = 11;

/// What the dashboards read: the resource, the pipeline, and which implementation
/// the server runs. Cheap to clone: every field is a handle.
#[derive(Clone, Debug)]
pub struct DashboardState {
    /// The resource whose users the gauges show.
    pub resource: MockResource,
    /// The part 2 pipeline whose queue and counters `/part2` shows.
    pub pipeline: PipelineHandle,
    /// `"start"` or `"solution"`, shown on the page.
    pub implementation: &'static str,
    /// Cancelled when the server shuts down: the event streams end then, so an open
    /// page does not hold the server's drain until its deadline (the page's
    /// `EventSource` reconnects to whatever serves the address next).
    pub closing: CancellationToken,
}

/// The dashboard's routes: the pages and their event streams.
///
/// Generic over the app's state so the dashboard does not depend on the app: any
/// state that can hand out a [`DashboardState`] (through [`FromRef`]) will do.
pub fn routes<S>() -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    DashboardState: FromRef<S>,
{
    Router::new()
        .route("/part1", get(page))
        .route("/part1/usage", get(usage_stream))
        .route("/part2", get(page_part2))
        .route("/part2/usage", get(pipeline_stream))
}

async fn page_part2() -> Html<&'static str> {
    Html(include_str!("dashboard_part2.html"))
}

/// One message on the `/part2` stream.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PipelineSample {
    /// Events waiting (buffer and consumers' batches) at this sample.
    pub queue_depth: u64,
    /// Events in the producer's buffer at this sample (never above `capacity`).
    pub buffered: u64,
    /// The buffer's bound.
    pub capacity: u64,
    /// Resource users, rolling average over the last [`WINDOW`] samples.
    pub in_use_average: f64,
    /// Resource users at this sample.
    pub in_use: u64,
    /// Enqueue-to-done latency in ms: the rolling average, over the last [`WINDOW`]
    /// samples, of the mean latency of the events finished during each sample.
    /// Samples in which nothing finished do not count.
    pub latency_ms_average: f64,
    /// Counters since the server started.
    pub processed: u64,
    /// Evicted by drop-oldest.
    pub dropped: u64,
    /// Refused with 503.
    pub rejected: u64,
    /// Given up on.
    pub failed: u64,
    /// Which implementation the server runs.
    pub implementation: &'static str,
}

/// `GET /part2/usage`: the pipeline as Server-Sent Events, for the `/part2` page. One
/// `pipeline` event every [`SAMPLE_EVERY`] (20 ms), its data a [`PipelineSample`] as
/// JSON; see the module docs.
async fn pipeline_stream(
    State(state): State<DashboardState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let implementation = state.implementation;
    let pipeline = state.pipeline.clone();
    let samples = pipeline_samples(
        state.resource,
        pipeline.metrics().clone(),
        move || pipeline.producer().len() as u64,
        SAMPLE_EVERY,
    )
    .map(move |mut sample| {
        sample.implementation = implementation;
        Ok(Event::default()
            .event("pipeline")
            .json_data(sample)
            .expect("a PipelineSample always serialises"))
    });
    let samples = futures::StreamExt::take_until(samples, state.closing.cancelled_owned());
    Sse::new(samples).keep_alive(KeepAlive::default())
}

/// An endless stream of pipeline samples, one every `every`.
pub fn pipeline_samples(
    resource: MockResource,
    metrics: PipelineMetrics,
    buffered: impl Fn() -> u64 + Send + 'static,
    every: Duration,
) -> impl Stream<Item = PipelineSample> {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut in_use = RollingAverage::new(WINDOW);
    let mut latency = RollingAverage::new(WINDOW);
    let mut latency_now = 0.0;
    let (mut count_before, mut sum_before) = (None::<u64>, 0u64);
    IntervalStream::new(interval).map(move |_| {
        let usage = resource.usage();
        let snapshot = metrics.snapshot();
        let (count, sum) = (snapshot.latency.count, snapshot.latency.sum_us);
        // The mean of just the events finished since the previous sample: the
        // all-time mean would hide a recovery (or a collapse) behind old events.
        if let Some(before) = count_before {
            if count > before {
                let mean_ms = (sum - sum_before) as f64 / (count - before) as f64 / 1000.0;
                latency_now = latency.push(mean_ms);
            }
        }
        (count_before, sum_before) = (Some(count), sum);
        PipelineSample {
            queue_depth: snapshot.queue_depth,
            buffered: buffered(),
            capacity: snapshot.capacity,
            in_use_average: in_use.push(usage.current as f64),
            in_use: usage.current,
            latency_ms_average: latency_now,
            processed: snapshot.processed,
            dropped: snapshot.dropped,
            rejected: snapshot.rejected,
            failed: snapshot.failed,
            implementation: "",
        }
    })
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

/// `GET /part1/usage`: the resource's users as Server-Sent Events, for the `/part1`
/// gauge. One `usage` event every [`SAMPLE_EVERY`] (20 ms), its data a [`Sample`] as
/// JSON (`average` over this connection's last [`WINDOW`] samples, `current`, `peak`
/// and `total` since the server started, `implementation`); see the module docs.
async fn usage_stream(
    State(state): State<DashboardState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let implementation = state.implementation;
    let samples = samples(state.resource, SAMPLE_EVERY).map(move |mut sample| {
        sample.implementation = implementation;
        Ok(Event::default()
            .event("usage")
            .json_data(sample)
            .expect("a Sample always serialises"))
    });
    let samples = futures::StreamExt::take_until(samples, state.closing.cancelled_owned());
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
