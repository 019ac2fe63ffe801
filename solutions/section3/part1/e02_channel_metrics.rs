//! s3.e2: instrument the channels framework.
//!
//! Section 2's framework emits telemetry *events*; this handler, installed on the
//! endpoint (`EndpointBuilder::telemetry`), turns each into measurements. The
//! framework never learns what a metric is, and another handler (logs, a test's
//! recorder) could listen instead.

use std::sync::atomic::{AtomicI64, Ordering};

use channels::telemetry::{JoinResult, TelemetryEvent, TelemetryHandler};
use metrics::{counter, gauge, histogram};
use observability::telemetry::BoundedLabels;

/// How many distinct `handle_in` event names are kept as labels.
pub const EVENT_LABELS: usize = 50;

/// Turns section 2's telemetry events into metrics.
#[derive(Debug)]
pub struct ChannelMetrics {
    /// Sockets open now. The StatsD exporter drops a gauge's `increment`: StatsD
    /// gauges are *set*, so the handler keeps the count and sets the gauge to it.
    sockets: AtomicI64,
    /// Channels joined now, same reason.
    channels: AtomicI64,
    /// Client-chosen event names, bounded before they become labels.
    events: BoundedLabels,
}

impl ChannelMetrics {
    /// Nothing open yet.
    pub fn new() -> Self {
        ChannelMetrics {
            sockets: AtomicI64::new(0),
            channels: AtomicI64::new(0),
            events: BoundedLabels::new(EVENT_LABELS),
        }
    }
}

impl Default for ChannelMetrics {
    fn default() -> Self {
        Self::new()
    }
}

// ANCHOR: gauge_count
/// Adds `delta` to `count` and sets the gauge `name` to the new value. Two events
/// racing on two threads may send their values in either order; the next event
/// corrects the gauge, which is good enough for a dashboard.
fn set_count(name: &'static str, count: &AtomicI64, delta: i64) {
    let now = count.fetch_add(delta, Ordering::Relaxed) + delta;
    gauge!(name).set(now as f64);
}
// ANCHOR_END: gauge_count

impl TelemetryHandler for ChannelMetrics {
    // ANCHOR: handle
    fn handle(&self, event: &TelemetryEvent<'_>) {
        match *event {
            TelemetryEvent::SocketConnected => {
                counter!("channels.connects", "result" => "ok").increment(1);
                set_count("channels.sockets", &self.sockets, 1);
            }
            TelemetryEvent::SocketRefused { reason } => {
                counter!("channels.connects", "result" => "error", "reason" => reason.to_owned())
                    .increment(1);
            }
            TelemetryEvent::SocketClosed { .. } => {
                set_count("channels.sockets", &self.sockets, -1);
            }
            TelemetryEvent::ChannelJoined { topic, result } => {
                counter!("channels.joins", "topic" => topic.to_owned(), "result" => result.as_str())
                    .increment(1);
                if result == JoinResult::Ok {
                    set_count("channels.joined", &self.channels, 1);
                }
            }
            TelemetryEvent::ChannelLeft { .. } => {
                set_count("channels.joined", &self.channels, -1);
            }
            TelemetryEvent::HandleIn {
                topic,
                event,
                duration,
            } => {
                // Milliseconds with their fractions: most handlers take well under one.
                histogram!(
                    "channels.handle_in_ms",
                    "topic" => topic.to_owned(),
                    "event" => self.events.label(event),
                )
                .record(duration.as_secs_f64() * 1000.0);
            }
            TelemetryEvent::Pushed { topic, event } => {
                counter!("channels.pushes", "topic" => topic.to_owned(), "event" => event.to_owned())
                    .increment(1);
            }
        }
    }
    // ANCHOR_END: handle
}
