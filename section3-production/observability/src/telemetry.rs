//! Where measurements and logs go: `tracing` to the terminal (text or JSON), and
//! `metrics` to a StatsD server over UDP.
//!
//! Both are *facades*: code anywhere in the process calls `tracing::info!` or
//! `metrics::counter!` without knowing who listens. `main` decides once, here.

use std::net::{SocketAddr, UdpSocket};

use metrics_exporter_statsd::{StatsdBuilder, StatsdRecorder};
use tracing_subscriber::EnvFilter;

/// The StatsD port the course uses by default (the classic 8125 is often taken by a
/// real agent on a developer's machine; the training used 8126 for its dev sink too).
pub const DEFAULT_STATSD_PORT: u16 = 8126;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, with span fields (`socket_id`, `topic`, `event`) inline.
    #[default]
    Text,
    /// One JSON object per line, for a log pipeline (Loki, Elasticsearch, ...).
    Json,
}

/// Installs the global `tracing` subscriber.
///
/// `RUST_LOG` filters what is written (`RUST_LOG=section3_production=debug,info`);
/// without it, `info` and above. Call once, from `main`.
// ANCHOR: init_tracing
pub fn init_tracing(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder
            .json()
            // Span fields are what make a JSON line searchable by socket or topic.
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}
// ANCHOR_END: init_tracing

/// How the StatsD recorder sends its lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// One datagram per measurement, sent on the caller's thread: every line shows up
    /// in the sink at once. For class, tests and low rates.
    Immediate,
    /// Lines are queued to a background thread and packed into datagrams of up to
    /// 512 bytes: far fewer syscalls, at the price of a short delay. For production.
    Batched,
}

/// A StatsD recorder sending to `target`, every name prefixed with `prefix.`.
///
/// Install it with `metrics::set_global_recorder` (a server) or use it locally with
/// `metrics::with_local_recorder` (a test). Labels become DogStatsD tags
/// (`name:1|c|#key:value`).
pub fn statsd_recorder(
    target: SocketAddr,
    prefix: Option<&str>,
    delivery: Delivery,
) -> anyhow::Result<StatsdRecorder> {
    // ANCHOR: delivery
    let builder = match delivery {
        Delivery::Immediate => {
            let socket = UdpSocket::bind(("127.0.0.1", 0))?;
            let sink = cadence::UdpMetricSink::from(target, socket)?;
            StatsdBuilder::from(target.ip().to_string(), target.port()).with_sink(sink)
        }
        Delivery::Batched => StatsdBuilder::from(target.ip().to_string(), target.port())
            // Bounded: when StatsD is slower than the app, measurements are dropped,
            // the app is never slowed down or grown by its own telemetry.
            .with_queue_size(10_000)
            .with_buffer_size(512),
    };
    // ANCHOR_END: delivery
    Ok(builder.build(prefix)?)
}

/// Label values that come from outside (event names a client chose), bounded: the
/// first `limit` distinct values are kept as they are, any later one is reported as
/// [`BoundedLabels::OTHER`].
///
/// Each distinct label value is a time series the metrics backend stores and bills
/// for; a client pushing random event names must not be able to create thousands.
#[derive(Debug)]
pub struct BoundedLabels {
    limit: usize,
    seen: std::sync::Mutex<std::collections::HashSet<String>>,
}

impl BoundedLabels {
    /// What every value beyond the limit becomes.
    pub const OTHER: &'static str = "other";

    /// At most `limit` distinct values, plus [`BoundedLabels::OTHER`].
    pub fn new(limit: usize) -> Self {
        BoundedLabels {
            limit,
            seen: std::sync::Mutex::default(),
        }
    }

    // ANCHOR: bounded_labels
    /// `value` if it was seen before or there is room for it, else `"other"`.
    pub fn label(&self, value: &str) -> String {
        // A poisoned lock only means another thread panicked mid-insert; the set is
        // still a valid set.
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.contains(value) {
            return value.to_owned();
        }
        if seen.len() < self.limit {
            seen.insert(value.to_owned());
            return value.to_owned();
        }
        Self::OTHER.to_owned()
    }
    // ANCHOR_END: bounded_labels
}
