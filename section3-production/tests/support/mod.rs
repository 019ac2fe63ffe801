//! Helpers of the telemetry tests: a StatsD listener on a port of the test's own,
//! and a recorder that captures every measurement. (A real `redis-server` comes from
//! the test kit: `testkit::redis::RedisServer`.)

#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};
use observability::statsd_sink::StatsdSink;
use observability::telemetry::{Delivery, statsd_recorder};

/// The prefix test recorders put before every metric name.
pub const PREFIX: &str = "test";

/// A StatsD listener bound on `127.0.0.1:0`, and a recorder sending to it.
pub struct StatsdCapture {
    pub sink: StatsdSink,
    pub recorder: metrics_exporter_statsd::StatsdRecorder,
}

impl StatsdCapture {
    pub async fn new() -> StatsdCapture {
        let sink = StatsdSink::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .expect("bind a UDP port for the test's StatsD listener");
        let recorder = statsd_recorder(sink.addr(), Some(PREFIX), Delivery::Immediate)
            .expect("build a StatsD recorder");
        StatsdCapture { sink, recorder }
    }

    /// Runs `record` with this capture's recorder as the one `metrics`' macros use.
    pub fn record<T>(&self, record: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&self.recorder, record)
    }

    /// The lines received, waiting up to a second for each of `expected`, then a
    /// little longer for any extra line (a duplicate must show up too).
    pub async fn lines(&mut self, expected: usize) -> Vec<String> {
        let mut lines = Vec::new();
        while lines.len() < expected {
            match tokio::time::timeout(Duration::from_secs(1), self.sink.next_line()).await {
                Ok(line) => lines.push(line.expect("read from the UDP socket")),
                Err(_) => return lines,
            }
        }
        while let Ok(line) =
            tokio::time::timeout(Duration::from_millis(100), self.sink.next_line()).await
        {
            lines.push(line.expect("read from the UDP socket"));
        }
        lines
    }
}

/// `name:VALUE|type|#tags` with the value replaced by `[value]`: what a snapshot pins
/// (names, types, tags) without the numbers.
pub fn redact_value(line: &str) -> String {
    match (line.find(':'), line.find('|')) {
        (Some(colon), Some(bar)) if colon < bar => {
            format!("{}:[value]{}", &line[..colon], &line[bar..])
        }
        _ => line.to_owned(),
    }
}

/// One measurement as the recorder saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub kind: &'static str,
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// A recorder that keeps every measurement in order (the `metrics` crate allows one
/// global recorder per process; tests install this one locally, per thread).
#[derive(Clone, Default)]
pub struct CaptureRecorder {
    recorded: Arc<Mutex<Vec<Recorded>>>,
}

impl CaptureRecorder {
    pub fn recorded(&self) -> Vec<Recorded> {
        self.recorded.lock().unwrap().clone()
    }

    /// The values set on the gauge `name`, in order.
    pub fn gauge_values(&self, name: &str) -> Vec<f64> {
        self.recorded()
            .into_iter()
            .filter(|r| r.kind == "gauge.set" && r.name == name)
            .map(|r| r.value)
            .collect()
    }

    fn handle(&self, kind: &'static str, key: &Key) -> Arc<Handle> {
        Arc::new(Handle {
            kind,
            name: key.name().to_owned(),
            labels: key
                .labels()
                .map(|l| (l.key().to_owned(), l.value().to_owned()))
                .collect(),
            recorded: self.recorded.clone(),
        })
    }
}

struct Handle {
    kind: &'static str,
    name: String,
    labels: Vec<(String, String)>,
    recorded: Arc<Mutex<Vec<Recorded>>>,
}

impl Handle {
    fn push(&self, op: &'static str, value: f64) {
        let kind = match (self.kind, op) {
            ("gauge", "set") => "gauge.set",
            ("gauge", "increment") => "gauge.increment",
            ("gauge", "decrement") => "gauge.decrement",
            ("counter", "absolute") => "counter.absolute",
            (kind, _) => kind,
        };
        self.recorded.lock().unwrap().push(Recorded {
            kind,
            name: self.name.clone(),
            labels: self.labels.clone(),
            value,
        });
    }
}

impl CounterFn for Handle {
    fn increment(&self, value: u64) {
        self.push("increment", value as f64);
    }
    fn absolute(&self, value: u64) {
        self.push("absolute", value as f64);
    }
}

impl GaugeFn for Handle {
    fn increment(&self, value: f64) {
        self.push("increment", value);
    }
    fn decrement(&self, value: f64) {
        self.push("decrement", value);
    }
    fn set(&self, value: f64) {
        self.push("set", value);
    }
}

impl HistogramFn for Handle {
    fn record(&self, value: f64) {
        self.push("record", value);
    }
}

impl Recorder for CaptureRecorder {
    fn describe_counter(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_gauge(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn describe_histogram(&self, _: KeyName, _: Option<Unit>, _: SharedString) {}
    fn register_counter(&self, key: &Key, _: &Metadata<'_>) -> Counter {
        Counter::from_arc(self.handle("counter", key))
    }
    fn register_gauge(&self, key: &Key, _: &Metadata<'_>) -> Gauge {
        Gauge::from_arc(self.handle("gauge", key))
    }
    fn register_histogram(&self, key: &Key, _: &Metadata<'_>) -> Histogram {
        Histogram::from_arc(self.handle("histogram", key))
    }
}
