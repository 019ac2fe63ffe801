//! One load run: `c` connection tasks sharing a [`Schedule`], each recording into
//! its own histograms, merged into a [`Report`] at the end.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use crate::client::{Connection, encode_request};
use crate::histogram::Latencies;
use crate::progress::Progress;
use crate::report::{ErrorKind, Report, RunSettings, Timeline};
use crate::schedule::{Schedule, Ticket};
use crate::stats_sampler::{Sampler, ServerSummary};
use crate::target::Target;

/// At most this many (time, latency) points are kept for charts, across all
/// connections (16 MiB); the histograms keep counting after that.
const MAX_TIMELINE_POINTS: usize = 2_000_000;
/// After a failed connect, wait this long before the next try, so a dead server
/// costs a few hundred attempts a second rather than a spinning core.
const CONNECT_BACKOFF: Duration = Duration::from_millis(10);

/// What to run: the command line's `load` options, parsed.
#[derive(Clone, Debug)]
pub struct LoadConfig {
    /// Where to send the requests.
    pub target: Target,
    /// Concurrent connections (the pool, in open loop).
    pub connections: usize,
    /// Stop after this many requests.
    pub requests: Option<u64>,
    /// Stop starting requests after this long.
    pub duration: Option<Duration>,
    /// Open loop: intended requests per second.
    pub rate: Option<f64>,
    /// Reuse connections (HTTP keep-alive); false reconnects for every request.
    pub keepalive: bool,
    /// The longest one request may take before it counts as a timeout.
    pub timeout: Duration,
    /// Keep per-request points for a chart.
    pub timeline: bool,
    /// Keep sampling `/stats` this long after the last response, to see what the
    /// server still does once the clients are gone (detached work draining).
    pub settle: Duration,
}

/// One point of the timeline: when a request finished and how long it took.
#[derive(Clone, Copy, Debug)]
pub struct Point {
    /// Milliseconds from the start of the run to the response.
    pub at_ms: u32,
    /// Latency in microseconds (corrected, in open loop).
    pub latency_us: u32,
}

/// What one connection task saw.
#[derive(Default)]
struct Tally {
    latencies: Latencies,
    uncorrected: Latencies,
    errors: BTreeMap<ErrorKind, u64>,
    points: Vec<Point>,
}

/// Runs the load described by `config` and reports on it.
///
/// Every connection is opened before the clock starts (unless keep-alive is off,
/// when connecting is part of each request), and the run ends by itself: after
/// `requests`, or `duration`, with each request bounded by `timeout`.
pub async fn run(config: &LoadConfig, progress: &Progress) -> anyhow::Result<Report> {
    anyhow::ensure!(config.connections > 0, "need at least one connection");
    anyhow::ensure!(
        config.requests.is_some() || config.duration.is_some(),
        "give a request count (-n) or a duration (--duration), so the run ends"
    );
    let request = encode_request(&config.target, config.keepalive);
    let mut opened = Vec::with_capacity(config.connections);
    if config.keepalive {
        for _ in 0..config.connections {
            opened.push(Some(
                Connection::connect(&config.target, request.clone())
                    .await
                    .map_err(|e| anyhow::anyhow!("cannot connect to {}: {e}", config.target))?,
            ));
        }
    } else {
        opened.resize_with(config.connections, || None);
    }

    let start = Instant::now();
    let limit = config.requests.unwrap_or(u64::MAX);
    let schedule = Arc::new(match config.rate {
        Some(rate) => Schedule::open(start, rate, limit, config.duration),
        None => Schedule::closed(start, limit, config.duration),
    });
    let sampler = Sampler::start(&config.target, start).await;
    let done = Arc::new(AtomicU64::new(0));
    let ticker = progress.track(done.clone(), config.requests, config.duration);

    let points_each = if config.timeline {
        MAX_TIMELINE_POINTS / config.connections
    } else {
        0
    };
    let tasks: Vec<_> = opened
        .into_iter()
        .map(|conn| {
            let worker = Worker {
                schedule: schedule.clone(),
                target: config.target.clone(),
                request: request.clone(),
                keepalive: config.keepalive,
                timeout: config.timeout,
                points_max: points_each,
                done: done.clone(),
            };
            tokio::spawn(worker.run(conn))
        })
        .collect();

    let mut total = Tally::default();
    for task in tasks {
        let tally = task.await?;
        total.latencies.merge(&tally.latencies);
        total.uncorrected.merge(&tally.uncorrected);
        for (kind, n) in tally.errors {
            *total.errors.entry(kind).or_default() += n;
        }
        total.points.extend(tally.points);
    }
    let elapsed = start.elapsed();
    ticker.finish();
    let samples = match sampler {
        Some(sampler) => {
            tokio::time::sleep(config.settle).await;
            sampler.finish().await
        }
        None => Vec::new(),
    };

    let completed = total.latencies.count();
    let open_loop = schedule.is_open_loop();
    Ok(Report {
        settings: RunSettings {
            target: config.target.url.clone(),
            connections: config.connections,
            keepalive: config.keepalive,
            rate: config.rate,
            timeout_ms: config.timeout.as_millis() as u64,
        },
        completed,
        errors: total
            .errors
            .into_iter()
            .map(|(kind, n)| (kind.to_string(), n))
            .collect(),
        duration_s: elapsed.as_secs_f64(),
        requests_per_sec: completed as f64 / elapsed.as_secs_f64().max(1e-9),
        latency: total.latencies.summary(),
        uncorrected: open_loop.then(|| total.uncorrected.summary()),
        server: ServerSummary::from_samples(&samples),
        timeline: Timeline::new(total.points, samples),
    })
}

/// The loop of one connection task.
struct Worker {
    schedule: Arc<Schedule>,
    target: Target,
    request: Arc<[u8]>,
    keepalive: bool,
    timeout: Duration,
    points_max: usize,
    done: Arc<AtomicU64>,
}

impl Worker {
    async fn run(self, mut conn: Option<Connection>) -> Tally {
        let mut tally = Tally::default();
        if self.points_max > 0 {
            tally.points.reserve(self.points_max.min(4096));
        }
        while let Some(ticket) = self.schedule.next() {
            if let Some(at) = ticket.intended {
                tokio::time::sleep_until(at).await;
            }
            let sent = Instant::now();
            let outcome = self.send(&mut conn).await;
            let finished = Instant::now();
            self.done.fetch_add(1, Ordering::Relaxed);
            match outcome {
                Ok(()) => self.record(&mut tally, ticket, sent, finished),
                Err(kind) => {
                    if kind == ErrorKind::Connect {
                        tokio::time::sleep(CONNECT_BACKOFF).await;
                    }
                    *tally.errors.entry(kind).or_default() += 1;
                }
            }
        }
        tally
    }

    /// One request, connecting first if there is no usable connection.
    async fn send(&self, slot: &mut Option<Connection>) -> Result<(), ErrorKind> {
        let attempt = async {
            let conn = match slot {
                Some(conn) if conn.is_reusable() => conn,
                _ => slot.insert(
                    Connection::connect(&self.target, self.request.clone())
                        .await
                        .map_err(|_| ErrorKind::Connect)?,
                ),
            };
            let response = conn.send(false).await.map_err(|_| ErrorKind::Io)?;
            if (200..300).contains(&response.status) {
                Ok(())
            } else {
                Err(ErrorKind::Status(response.status))
            }
        };
        let result = match tokio::time::timeout(self.timeout, attempt).await {
            Ok(result) => result,
            Err(_) => Err(ErrorKind::Timeout),
        };
        // A timed-out or failed connection is in an unknown state: start afresh.
        if !self.keepalive || matches!(result, Err(ErrorKind::Timeout | ErrorKind::Io)) {
            *slot = None;
        }
        result
    }

    fn record(&self, tally: &mut Tally, ticket: Ticket, sent: Instant, finished: Instant) {
        let uncorrected = finished - sent;
        // In open loop, count from when the request *should* have gone out.
        let latency = ticket.intended.map_or(uncorrected, |at| finished - at);
        tally.latencies.record(latency);
        tally.uncorrected.record(uncorrected);
        if tally.points.len() < self.points_max {
            tally.points.push(Point {
                at_ms: (finished - self.schedule.start()).as_millis() as u32,
                latency_us: latency.as_micros().min(u32::MAX as u128) as u32,
            });
        }
    }
}
