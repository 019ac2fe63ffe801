//! Exercise s3.e2: instrument the channels framework.
//!
//! - slide: slides/src/section3/part1/e02_channel_metrics.md
//! - tests: `mod e02_channel_metrics` in section3-production/tests/part1.rs,
//!   run by `cargo xtask check s3.e2`
//! - stuck? `cargo xtask hint s3.e2` (each hint gives away a little more)
//!
//! Section 2's framework emits telemetry *events* (a socket connected, a channel
//! joined, a message was handled...); it knows nothing about metrics. This handler is
//! installed on the endpoint (`EndpointBuilder::telemetry`) and turns each event into
//! measurements, Phoenix style:
//!
//! | event | measurement |
//! |---|---|
//! | `SocketConnected` | counter `channels.connects`, label `result` = `ok`; gauge `channels.sockets` set to the sockets open |
//! | `SocketRefused { reason }` | counter `channels.connects`, labels `result` = `error`, `reason` |
//! | `SocketClosed { .. }` | gauge `channels.sockets` set to the sockets open |
//! | `ChannelJoined { topic, result }` | counter `channels.joins`, labels `topic`, `result` (`result.as_str()`); when `Ok`, gauge `channels.joined` set to the channels joined |
//! | `ChannelLeft { .. }` | gauge `channels.joined` set to the channels joined |
//! | `HandleIn { topic, event, duration }` | histogram `channels.handle_in_ms` (milliseconds, fractions kept), labels `topic`, `event` (bounded) |
//! | `Pushed { topic, event }` | counter `channels.pushes`, labels `topic`, `event` |
//!
//! Labels in that order. `topic` is already the route pattern (`room:*`); `event` of
//! a `HandleIn` is whatever the client sent, so it goes through `self.events`.

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

impl TelemetryHandler for ChannelMetrics {
    fn handle(&self, event: &TelemetryEvent<'_>) {
        // TODO(s3.e2): slides/src/section3/part1/e02_channel_metrics.md
        // One `match event { .. }` arm per row of the table at the top of this file.
        todo!("turn each framework event into its measurement")
    }
}
